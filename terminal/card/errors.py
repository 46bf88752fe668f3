"""Typed errors raised by card sessions. Nothing above the session reads a status word."""

from __future__ import annotations

import enum

from card_applet_spec.constants import SW
from terminal.card.connection import CardConnectionError, CardRemovedError, ReaderUnavailableError


class CardSessionError(Exception):
    """Base class for everything a card session raises (besides connection errors)."""


class MalformedResponseError(CardSessionError):
    """The card answered 9000 but the data does not follow the contract."""


class CardRefusal(enum.Enum):
    """Why the card refused a command: the typed reason layers above the session use (never the SW)."""

    WRONG_PIN = "wrong_pin"  # 63Cx
    PIN_BLOCKED = "pin_blocked"  # 6983
    HOLDER_MISMATCH = "holder_mismatch"  # 6984: PIN reset, the NIK typed does not match the card's holder
    HOLDER_CHECK_BLOCKED = "holder_check_blocked"  # 6983 to RESET RETRY COUNTER: no holder-check tries
    PIN_REQUIRED = "pin_required"  # 6982
    WRONG_STATE = "wrong_state"  # 6985 (life cycle, exhausted counter)
    NOT_SELECTED = "not_selected"  # 6986
    APPLICATION_NOT_FOUND = "application_not_found"  # 6A82
    DATA_NOT_FOUND = "data_not_found"  # 6A88
    AUTHENTICATION_FAILED = "authentication_failed"  # 6300
    WRONG_LENGTH = "wrong_length"  # 6700
    WRONG_PARAMETERS = "wrong_parameters"  # 6A86
    WRONG_DATA = "wrong_data"  # 6A80
    INSUFFICIENT_BALANCE = "insufficient_balance"  # 9101
    COUNTER_MISMATCH = "counter_mismatch"  # 9102
    GRANT_NOT_VALID_NOW = "grant_not_valid_now"  # 9103
    SEQUENCE_NOT_NEWER = "sequence_not_newer"  # 9104
    WRONG_KIND = "wrong_kind"  # 9105
    PROTOCOL = "protocol"  # 6E00, 6D00, 6883, 6884, 6A84: the card could not take the command as sent
    CARD_FAULT = "card_fault"  # 6F00, 6581: the card failed internally
    UNKNOWN_STATUS = "unknown_status"  # a status word SPEC §7 does not define


class ApduError(CardSessionError):
    """The card refused a command with a status word; ``refusal`` says why (``sw`` is for logs only)."""

    refusal: CardRefusal = CardRefusal.UNKNOWN_STATUS

    def __init__(self, sw: int, message: str = "") -> None:
        self.sw = sw
        super().__init__(f"{message or 'card refused the command'} (SW {sw:04X})")


class InvalidPinError(ApduError):
    refusal = CardRefusal.WRONG_PIN

    def __init__(self, sw: int, attempts_remaining: int) -> None:
        self.attempts_remaining = attempts_remaining
        super().__init__(sw, f"wrong PIN, {attempts_remaining} tries left")


class PinBlockedError(ApduError):
    refusal = CardRefusal.PIN_BLOCKED

    def __init__(self, sw: int = SW.PIN_BLOCKED) -> None:
        super().__init__(sw, "PIN blocked")


class HolderMismatchError(ApduError):
    """PIN reset refused: the holder reference (from the NIK the clerk typed) is not the card's (6984)."""

    refusal = CardRefusal.HOLDER_MISMATCH


class HolderCheckBlockedError(ApduError):
    """PIN reset refused: the card's holder-check tries are used up (6983 to RESET RETRY COUNTER)."""

    refusal = CardRefusal.HOLDER_CHECK_BLOCKED

    def __init__(self, sw: int = SW.PIN_BLOCKED) -> None:
        super().__init__(sw, "holder check blocked on this card")


class PinRequiredError(ApduError):
    """Security status not satisfied: the command needs a verified PIN first."""

    refusal = CardRefusal.PIN_REQUIRED


class WrongStateError(ApduError):
    """The card's life-cycle state does not allow the command (blocked, terminated, not personalised)."""

    refusal = CardRefusal.WRONG_STATE


class NotSelectedError(WrongStateError):
    """No application selected in this session (6986): the card did not run the command."""

    refusal = CardRefusal.NOT_SELECTED


class ApplicationNotFoundError(ApduError):
    """The KHBS applet is not on this card."""

    refusal = CardRefusal.APPLICATION_NOT_FOUND


class DataNotFoundError(ApduError):
    """Referenced data not found (no grant for the program, unknown key id, object not present)."""

    refusal = CardRefusal.DATA_NOT_FOUND


class AuthorisationFailedError(ApduError):
    """The card rejected an issuer or terminal signature."""

    refusal = CardRefusal.AUTHENTICATION_FAILED


class InsufficientBalanceError(ApduError):
    refusal = CardRefusal.INSUFFICIENT_BALANCE


class CounterMismatchError(ApduError):
    """The expected transaction counter is stale: the card's state moved on."""

    refusal = CardRefusal.COUNTER_MISMATCH


class GrantNotValidNowError(ApduError):
    refusal = CardRefusal.GRANT_NOT_VALID_NOW


class SequenceNotNewerError(ApduError):
    """A grant or status change with a sequence number not newer than the card's (loaded twice/replayed)."""

    refusal = CardRefusal.SEQUENCE_NOT_NEWER


class WrongKindError(ApduError):
    refusal = CardRefusal.WRONG_KIND


class WrongLengthError(ApduError):
    """The card found the command's length wrong (6700)."""

    refusal = CardRefusal.WRONG_LENGTH


class IncorrectParametersError(ApduError):
    """P1 or P2 not accepted (6A86)."""

    refusal = CardRefusal.WRONG_PARAMETERS


class WrongDataError(ApduError):
    """The command data is not accepted (6A80)."""

    refusal = CardRefusal.WRONG_DATA


class ProtocolError(ApduError):
    """The card could not take the command as sent: class, instruction, chaining (6E00, 6D00, 68xx, 6A84)."""

    refusal = CardRefusal.PROTOCOL


class CardFaultError(ApduError):
    """The card reports an internal failure (6F00, 6581)."""

    refusal = CardRefusal.CARD_FAULT


class UnknownStatusError(ApduError):
    """A status word SPEC §7 does not define: the card does not follow the contract."""


_BY_SW: dict[int, tuple[type[ApduError], str]] = {
    SW.SECURITY_STATUS_NOT_SATISFIED: (PinRequiredError, "PIN verification required"),
    SW.CONDITIONS_NOT_SATISFIED: (WrongStateError, "not allowed in the card's current state"),
    SW.HOLDER_MISMATCH: (HolderMismatchError, "holder reference does not match the card"),
    SW.COMMAND_NOT_ALLOWED: (NotSelectedError, "application not selected"),
    SW.FILE_NOT_FOUND: (ApplicationNotFoundError, "KHBS application not found"),
    SW.DATA_NOT_FOUND: (DataNotFoundError, "referenced data not found"),
    SW.AUTHENTICATION_FAILED: (AuthorisationFailedError, "signature rejected by the card"),
    SW.INSUFFICIENT_BALANCE: (InsufficientBalanceError, "insufficient balance"),
    SW.COUNTER_MISMATCH: (CounterMismatchError, "transaction counter mismatch"),
    SW.GRANT_NOT_VALID_NOW: (GrantNotValidNowError, "entitlement not valid at this time"),
    SW.SEQUENCE_NOT_NEWER: (SequenceNotNewerError, "sequence number not newer than the card's"),
    SW.WRONG_KIND: (WrongKindError, "operation does not fit the program's kind"),
    SW.WRONG_LENGTH: (WrongLengthError, "wrong length"),
    SW.INCORRECT_P1P2: (IncorrectParametersError, "incorrect parameters P1-P2"),
    SW.WRONG_DATA: (WrongDataError, "command data not accepted"),
    SW.CLA_NOT_SUPPORTED: (ProtocolError, "class not supported"),
    SW.INS_NOT_SUPPORTED: (ProtocolError, "instruction not supported"),
    SW.LAST_COMMAND_EXPECTED: (ProtocolError, "command chain broken"),
    SW.CHAINING_NOT_SUPPORTED: (ProtocolError, "command chaining not supported"),
    SW.NOT_ENOUGH_MEMORY: (ProtocolError, "command data too long"),
    SW.NO_PRECISE_DIAGNOSIS: (CardFaultError, "card error, no precise diagnosis"),
    SW.MEMORY_FAILURE: (CardFaultError, "card memory failure"),
}


def error_for_sw(sw: int) -> ApduError:
    """Map a non-9000 status word to its typed error."""
    if sw == SW.PIN_BLOCKED:
        return PinBlockedError(sw)
    if sw & 0xFFF0 == 0x63C0:
        return InvalidPinError(sw, sw & 0x0F)
    cls, message = _BY_SW.get(sw, (UnknownStatusError, "status word not defined by the SPEC"))
    return cls(sw, message)


class DebitRefusal(enum.Enum):
    """SPEC §5.12: the DEBIT refusals a card returns *before* its one commit (the card is unchanged)."""

    CARD_STATE = "card_state"  # 6985: not OPERATIONAL (step 1) or the counter is exhausted (step 10)
    PIN_NOT_VERIFIED = "pin_not_verified"  # 6982 (step 4: no PIN verified; step 6: MAC not under its key)
    NO_GRANT = "no_grant"  # 6A88 (step 6)
    COUNTER_MISMATCH = "counter_mismatch"  # 9102 (step 7)
    NOT_VALID_NOW = "not_valid_now"  # 9103 (step 8)
    ZERO_AMOUNT = "zero_amount"  # 6A80 (step 9: CASH or QUANTITY with amount 0)
    INSUFFICIENT_BALANCE = "insufficient_balance"  # 9101 (step 9)
    AMOUNT_FOR_CHECK_IN = "amount_for_check_in"  # 9105 (step 9: ELIGIBILITY or APPLICATION with an amount)


class DebitRefused(CardSessionError):
    """The card refused a DEBIT before committing anything (SPEC §5.12)."""

    def __init__(self, reason: DebitRefusal, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"card refused the debit: {reason.value}" + (f" ({detail})" if detail else ""))


class NoDebitAuthorisationError(DebitRefused):
    """Raised by the session *before sending* a DEBIT: no VERIFY of this session holds an unspent DEBIT key
    (SPEC §6.6, §6.14) — no VERIFY yet, a VERIFY made for another purpose, or its key already spent on a
    DEBIT. Nothing was sent: the card is unchanged. Verify the PIN for the DEBIT first."""

    def __init__(self, detail: str = "no VERIFY of this session authorises a DEBIT") -> None:
        super().__init__(DebitRefusal.PIN_NOT_VERIFIED, detail)


#: Card refusals §5.12 returns before the commit whatever the DEBIT asked.
_DEBIT_REFUSED: dict[CardRefusal, DebitRefusal] = {
    CardRefusal.WRONG_STATE: DebitRefusal.CARD_STATE,
    CardRefusal.PIN_REQUIRED: DebitRefusal.PIN_NOT_VERIFIED,
    CardRefusal.DATA_NOT_FOUND: DebitRefusal.NO_GRANT,
    CardRefusal.COUNTER_MISMATCH: DebitRefusal.COUNTER_MISMATCH,
    CardRefusal.GRANT_NOT_VALID_NOW: DebitRefusal.NOT_VALID_NOW,
    CardRefusal.INSUFFICIENT_BALANCE: DebitRefusal.INSUFFICIENT_BALANCE,
}


def debit_refusal(err: CardSessionError, *, amount: int, check_in: bool) -> DebitRefused | None:
    """The before-commit refusal ``err`` stands for, answering a DEBIT of ``amount``; None otherwise.

    None means the card may have committed: the outcome is unknown and only its log can tell. That is
    every answer §5.12 does not list, and the listed ones whose condition cannot hold for the DEBIT the
    terminal sent: ``6700`` and ``6A86`` (the session always sends 29 bytes with P1 P2 = 00 00), ``6A80``
    unless the amount was 0 for a CASH or QUANTITY grant, ``9105`` unless an amount was sent for a
    check-in. ``check_in`` is the kind the card signed for the programme in INTERNAL AUTHENTICATE.
    """
    if isinstance(err, DebitRefused):
        return err
    if not isinstance(err, ApduError):
        return None
    reason = _DEBIT_REFUSED.get(err.refusal)
    if err.refusal is CardRefusal.WRONG_DATA and amount == 0 and not check_in:
        reason = DebitRefusal.ZERO_AMOUNT
    elif err.refusal is CardRefusal.WRONG_KIND and amount != 0 and check_in:
        reason = DebitRefusal.AMOUNT_FOR_CHECK_IN
    return DebitRefused(reason, str(err)) if reason is not None else None


__all__ = [
    "ApduError",
    "ApplicationNotFoundError",
    "AuthorisationFailedError",
    "CardConnectionError",
    "CardFaultError",
    "CardRefusal",
    "CardRemovedError",
    "CardSessionError",
    "CounterMismatchError",
    "DataNotFoundError",
    "DebitRefusal",
    "DebitRefused",
    "GrantNotValidNowError",
    "HolderCheckBlockedError",
    "HolderMismatchError",
    "IncorrectParametersError",
    "InsufficientBalanceError",
    "InvalidPinError",
    "MalformedResponseError",
    "NoDebitAuthorisationError",
    "NotSelectedError",
    "PinBlockedError",
    "PinRequiredError",
    "ProtocolError",
    "ReaderUnavailableError",
    "SequenceNotNewerError",
    "UnknownStatusError",
    "WrongDataError",
    "WrongKindError",
    "WrongLengthError",
    "WrongStateError",
    "debit_refusal",
    "error_for_sw",
]

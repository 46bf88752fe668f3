"""Typed errors raised by card sessions. Nothing above the session reads a status word."""

from __future__ import annotations

from card_applet_spec.constants import SW
from terminal.card.connection import CardConnectionError, CardRemovedError, ReaderUnavailableError


class CardSessionError(Exception):
    """Base class for everything a card session raises (besides connection errors)."""


class MalformedResponseError(CardSessionError):
    """The card answered 9000 but the data does not follow the contract."""


class ApduError(CardSessionError):
    """The card refused a command with a status word."""

    def __init__(self, sw: int, message: str = "") -> None:
        self.sw = sw
        super().__init__(f"{message or 'card refused the command'} (SW {sw:04X})")


class InvalidPinError(ApduError):
    def __init__(self, sw: int, attempts_remaining: int) -> None:
        self.attempts_remaining = attempts_remaining
        super().__init__(sw, f"wrong PIN, {attempts_remaining} tries left")


class PinBlockedError(ApduError):
    def __init__(self, sw: int = SW.PIN_BLOCKED) -> None:
        super().__init__(sw, "PIN blocked")


class PinRequiredError(ApduError):
    """Security status not satisfied: the command needs a verified PIN first."""


class WrongStateError(ApduError):
    """The card's life-cycle state does not allow the command (blocked, terminated, not personalised)."""


class ApplicationNotFoundError(ApduError):
    """The KHBS applet is not on this card."""


class DataNotFoundError(ApduError):
    """Referenced data not found (no grant for the program, unknown key id, object not present)."""


class AuthorisationFailedError(ApduError):
    """The card rejected an issuer or terminal signature."""


class InsufficientBalanceError(ApduError):
    pass


class CounterMismatchError(ApduError):
    """The expected transaction counter is stale: the card's state moved on."""


class GrantNotValidNowError(ApduError):
    pass


class SequenceNotNewerError(ApduError):
    """A grant or status change with a sequence number not newer than the card's (loaded twice/replayed)."""


class WrongKindError(ApduError):
    pass


_BY_SW: dict[int, tuple[type[ApduError], str]] = {
    SW.SECURITY_STATUS_NOT_SATISFIED: (PinRequiredError, "PIN verification required"),
    SW.CONDITIONS_NOT_SATISFIED: (WrongStateError, "not allowed in the card's current state"),
    SW.COMMAND_NOT_ALLOWED: (WrongStateError, "application not selected"),
    SW.FILE_NOT_FOUND: (ApplicationNotFoundError, "KHBS application not found"),
    SW.DATA_NOT_FOUND: (DataNotFoundError, "referenced data not found"),
    SW.AUTHENTICATION_FAILED: (AuthorisationFailedError, "signature rejected by the card"),
    SW.INSUFFICIENT_BALANCE: (InsufficientBalanceError, "insufficient balance"),
    SW.COUNTER_MISMATCH: (CounterMismatchError, "transaction counter mismatch"),
    SW.GRANT_NOT_VALID_NOW: (GrantNotValidNowError, "entitlement not valid at this time"),
    SW.SEQUENCE_NOT_NEWER: (SequenceNotNewerError, "sequence number not newer than the card's"),
    SW.WRONG_KIND: (WrongKindError, "operation does not fit the program's kind"),
}


def error_for_sw(sw: int) -> ApduError:
    """Map a non-9000 status word to its typed error."""
    if sw == SW.PIN_BLOCKED:
        return PinBlockedError(sw)
    if sw & 0xFFF0 == 0x63C0:
        return InvalidPinError(sw, sw & 0x0F)
    cls, message = _BY_SW.get(sw, (ApduError, ""))
    return cls(sw, message)


__all__ = [
    "ApduError",
    "ApplicationNotFoundError",
    "AuthorisationFailedError",
    "CardConnectionError",
    "CardRemovedError",
    "CardSessionError",
    "CounterMismatchError",
    "DataNotFoundError",
    "GrantNotValidNowError",
    "InsufficientBalanceError",
    "InvalidPinError",
    "MalformedResponseError",
    "PinBlockedError",
    "PinRequiredError",
    "ReaderUnavailableError",
    "SequenceNotNewerError",
    "WrongKindError",
    "WrongStateError",
    "error_for_sw",
]

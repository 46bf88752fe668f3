"""Redemption at the counter: tap, PIN, debit, store, print — crash-safe through the ledger.

Steps (each a fault point for tests): verify the card for the program (freshness per program) →
settle any open intents of this card from its log → check the amount against the card-signed
balance → holder PIN → INTENT durably stored (with the exact record the card must sign) → card DEBIT →
record checked field by field and stored → receipt printed.

Every failure of :meth:`RedemptionService.tap` and :meth:`RedemptionService.redeem` is recorded in the
ledger's failures with its :class:`~terminal.failures.FailureReason` (or the verdict's
:class:`~terminal.verify.Reason`) before it is raised, as a :class:`RedemptionError` or — when the card
left or failed before anything could be debited — as the card's own typed error.

After a DEBIT was sent, only a refusal SPEC §5.12 returns before the card's commit may close the intent,
and only once the card's signed state, read again, confirms it; every other answer leaves the intent
open for the card's log to settle.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import NoReturn, Protocol

from sqlalchemy.exc import SQLAlchemyError

from card_applet_spec import constants as c
from card_applet_spec.credential import Credential, CredentialError, decode_credential
from province.receipt_qr import (
    ReceiptKind,
    ReceiptSigner,
    ReceiptSigningError,
    TerminalAttestation,
    attestation_matches,
)
from terminal.card.connection import CardConnectionError
from terminal.card.errors import (
    CardSessionError,
    DebitRefusal,
    DebitRefused,
    InvalidPinError,
    MalformedResponseError,
    PinBlockedError,
    debit_refusal,
)
from terminal.card.session import KhbsSession, SignedTx
from terminal.entitlements import Entitlement, Status
from terminal.failures import FailureReason
from terminal.ledger import (
    Entry,
    Intent,
    Ledger,
    LedgerError,
    ReceiptState,
    ReconcileReport,
    RecordMismatch,
    State,
    record_type_for,
)
from terminal.pending import PendingUpdates, apply_pending
from terminal.tap import TapResult, check_tap
from terminal.verify import Reason, Verdict, Verifier, verify_der, verify_tx

log = logging.getLogger(__name__)

FaultHook = Callable[[str], None]
FAULT_POINTS = ("before_intent", "after_intent", "after_debit", "after_commit", "after_print")
#: A refusal's code: the terminal's own, or the verifier's reason for a card that is not VALID.
RefusalCode = FailureReason | Reason
#: What a confirmed before-commit DEBIT refusal is recorded as.
_DEBIT_REFUSAL_REASON = {
    DebitRefusal.INSUFFICIENT_BALANCE: FailureReason.INSUFFICIENT_BALANCE,
    DebitRefusal.COUNTER_MISMATCH: FailureReason.COUNTER_MISMATCH,
    DebitRefusal.NO_GRANT: FailureReason.NOT_ENROLLED,
    DebitRefusal.NOT_VALID_NOW: FailureReason.NOT_VALID_NOW,
}


def _no_fault(point: str) -> None:
    return None


def card_failure(exc: BaseException) -> FailureReason:
    """The failure code of a card or reader error (connection lost, malformed answer, refusal)."""
    if isinstance(exc, CardConnectionError):
        return FailureReason.CARD_REMOVED
    if isinstance(exc, MalformedResponseError):
        return FailureReason.CARD_ANSWER_MALFORMED
    return FailureReason.CARD_ERROR


def _log_problem(cred: Credential, card_log: list[SignedTx], counter: int) -> str | None:
    """What is wrong with a card's log (None: nothing). A genuine log holds this card's signed
    records of the last min(counter, 16) transactions, newest first, counters consecutive down from the
    counter the card signed in this tap's INTERNAL AUTHENTICATE (SPEC §5.12, §5.13)."""
    forged = sum(1 for tx in card_log if not verify_tx(cred, tx))
    if forged:
        return f"{forged} of {len(card_log)} records are not this card's"
    expected = list(range(counter, max(counter - c.LOG_CAPACITY, 0), -1))
    if [tx.record.tx_counter for tx in card_log] != expected:
        return f"records do not run down from the card's counter {counter}"
    return None


class PrintFailed(Exception):
    """The receipt could not be printed; ``reason`` is a short code (offline, paper_out, ...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(detail or reason)


class ReceiptSink(Protocol):
    """Port: prints the receipt for a committed ledger entry, or raises PrintFailed.

    For a voided entry the receipt is its void slip (``terminal.receipt.receipt_from_entry``)."""

    def print_entry(self, entry: Entry, *, copy: bool = False) -> None: ...


@dataclass(frozen=True)
class Counter:
    """Who redeems where: the logged-in clerk at this terminal."""

    terminal_id: str
    site: str
    clerk_id: str
    clerk_name: str = ""

    def __post_init__(self) -> None:
        if len(self.terminal_id.encode("ascii")) != c.TERMINAL_ID_LEN:
            raise ValueError("terminal id is 8 ASCII characters")


class RedemptionError(Exception):
    """A redemption failed; the failure was recorded in the ledger with ``reason``."""

    def __init__(self, reason: RefusalCode, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")


class RedemptionRefused(RedemptionError):
    """Nothing was debited; ``reason`` is the failure code stored in the ledger."""

    def __init__(
        self,
        reason: RefusalCode,
        detail: str,
        *,
        tries_left: int | None = None,
        data_age_s: float | None = None,
    ) -> None:
        self.tries_left = tries_left
        self.data_age_s = data_age_s  # how old the revocation data was, for "data too old" refusals
        super().__init__(reason, detail)


class DebitInterrupted(RedemptionError):
    """The DEBIT's outcome is unknown (card pulled, an answer the SPEC does not allow, a record that
    fails its signature): the intent stays open and the card's log settles it at the next tap."""

    def __init__(
        self,
        redemption_id: str,
        reason: FailureReason = FailureReason.DEBIT_OUTCOME_UNKNOWN,
        detail: str = "",
    ) -> None:
        self.redemption_id = redemption_id
        super().__init__(
            reason, detail or f"card removed during debit; tap again to finish ({redemption_id})"
        )


class DebitNotTrusted(RedemptionError):
    """The card signed a record for this redemption that is not the one asked for (a relay or a
    forged card shifted it). Nothing is printed; the intent is UNRESOLVED with the record kept as
    evidence for the centre to audit."""

    def __init__(self, redemption_id: str, fields: tuple[str, ...], detail: str) -> None:
        self.redemption_id = redemption_id
        self.fields = fields
        super().__init__(FailureReason.RECORD_MISMATCH, detail)


@dataclass(frozen=True, eq=False)
class Authorisation:
    """The holder's PIN verified for one DEBIT of ``amount`` of ``entitlement`` in ``session`` (whose
    VERIFY holds the DEBIT key, SPEC §6.14), after the check ``tap`` of that same session."""

    session: KhbsSession
    tap: TapResult
    entitlement: Entitlement
    amount: int


@dataclass(frozen=True)
class Redemption:
    entry: Entry
    receipt_printed: bool
    receipt_error: str | None = None


class RedemptionService:
    def __init__(
        self,
        ledger: Ledger,
        verifier: Verifier,
        counter: Counter,
        receipts: ReceiptSink | None = None,
        *,
        clock: Callable[[], float] = time.time,
        rng: Callable[[int], bytes] = os.urandom,
        fault: FaultHook = _no_fault,
        pending: PendingUpdates | None = None,
        receipt_signer: ReceiptSigner | None = None,
    ) -> None:
        self.pending = pending
        self.receipt_signer = receipt_signer
        self.ledger = ledger
        self.verifier = verifier
        self.counter = counter
        self.receipts = receipts
        self.clock = clock
        self.rng = rng
        self.fault = fault
        #: The one authorisation :meth:`complete` may spend (None: none open).
        self._authorised: Authorisation | None = None

    # -- failures ---------------------------------------------------------------------------------
    def _record(
        self,
        reason: RefusalCode,
        detail: str,
        serial: bytes | None,
        program: int | None,
        redemption_id: str | None = None,
    ) -> None:
        """Record a failure; a ledger that cannot even record it is logged, never raised over it."""
        try:
            self.ledger.record_failure(
                reason.value,
                detail,
                terminal_id=self.counter.terminal_id,
                card_serial=serial,
                program=program,
                clerk_id=self.counter.clerk_id,
                redemption_id=redemption_id,
            )
        except SQLAlchemyError as exc:
            log.error("recording failure %s (%s) failed: %s", reason.value, detail, exc)

    @contextmanager
    def _card_step(self, step: str, serial: bytes | None, program: int | None) -> Iterator[None]:
        """Record any card or reader error of this step, then let the typed error go on."""
        try:
            yield
        except (CardConnectionError, CardSessionError) as exc:
            self._record(card_failure(exc), f"{step}: {exc}", serial, program)
            raise

    # -- tap --------------------------------------------------------------------------------------
    def tap(self, session: KhbsSession, program: int | None = None) -> tuple[TapResult, ReconcileReport]:
        """Verify the card, settle any open intents it has here, and load issuer updates waiting for it.

        The card's log is read only when an intent is open; the card is read again only when
        something changed, so an ordinary tap stays at three APDUs. A card or reader error is recorded
        and raised as the card's typed error.
        """
        with self._card_step("tap", None, program):
            result = self._check(session, program)
        report = ReconcileReport()
        serial = result.card_serial
        cred = result.result.credential
        if not (result.result.genuine and serial and result.auth and cred):
            return result, report
        changed = False
        if self.ledger.has_open_intents(serial):
            # The card's log is trustworthy even when the card is now revoked or blocked.
            with self._card_step("READ LOG", serial, program):
                card_log = session.read_log()
            problem = _log_problem(cred, card_log, result.auth.body.tx_counter)
            if problem is not None:  # a relay or a broken card: settle nothing from this log
                self._record(FailureReason.LOG_RECORD_NOT_GENUINE, f"READ LOG: {problem}", serial, program)
            else:
                report = self.ledger.reconcile(serial, card_log, result.auth.body.tx_counter)
                self._print_recovered(report)
                changed = report.changed
        if self.pending is not None and self.pending.has_for(serial):
            with self._card_step("issuer updates", serial, program):
                changed = bool(apply_pending(session, self.pending, serial, self.clock())) or changed
        if changed:  # balances or state moved: read the card again
            with self._card_step("tap again", serial, program):
                result = self._check(session, program)
        return result, report

    def _check(self, session: KhbsSession, program: int | None) -> TapResult:
        return check_tap(session, self.verifier, self.clock(), program=program, challenge=self.rng(16))

    def _print_recovered(self, report: ReconcileReport) -> None:
        for rid in report.recovered:
            self.print_receipt(self.ledger.get(rid))

    # -- redeem -----------------------------------------------------------------------------------
    def _refuse(
        self,
        reason: RefusalCode,
        detail: str,
        serial: bytes | None,
        program: int,
        *,
        tries_left: int | None = None,
        data_age_s: float | None = None,
    ) -> NoReturn:
        self._record(reason, detail, serial, program)
        raise RedemptionRefused(reason, detail, tries_left=tries_left, data_age_s=data_age_s)

    def _check_entitlement(self, tap: TapResult, program: int, amount: int) -> Entitlement:
        serial = tap.card_serial
        ent = next((e for e in tap.entitlements if e.program == program), None)
        if ent is None or ent.status is Status.NOT_ENROLLED:
            self._refuse(
                FailureReason.NOT_ENROLLED, "holder has no entitlement for this program", serial, program
            )
        assert ent is not None
        if ent.status is Status.EXPIRED:
            self._refuse(FailureReason.ENTITLEMENT_EXPIRED, "entitlement period is over", serial, program)
        if ent.kind in (c.Kind.CASH, c.Kind.QUANTITY):
            if amount <= 0:
                self._refuse(FailureReason.BAD_AMOUNT, "amount must be positive", serial, program)
            if ent.remaining is None or amount > ent.remaining:
                self._refuse(
                    FailureReason.INSUFFICIENT_BALANCE,
                    f"asked {amount}, left {ent.remaining}",
                    serial,
                    program,
                )
        elif amount != 0:
            self._refuse(
                FailureReason.BAD_AMOUNT, "eligibility services record a visit, no amount", serial, program
            )
        return ent

    def redeem(self, session: KhbsSession, program: int, amount: int, pin: str) -> Redemption:
        """Tap, holder PIN, DEBIT in one go (5 APDUs): :meth:`authorise`, then :meth:`complete`."""
        return self.complete(self.authorise(session, program, amount, pin))

    def authorise(self, session: KhbsSession, program: int, amount: int, pin: str) -> Authorisation:
        """Everything before the DEBIT (4 APDUs): the card verified for the program, the amount checked
        against its signed balance, and the holder's PIN verified (VERIFY) in this card session.

        A wrong PIN is refused here, before the clerk confirms. The DEBIT key of this VERIFY stays in
        ``session``; only :meth:`complete` with the returned authorisation spends it, once.
        """
        self._authorised = None  # a new VERIFY: an earlier authorisation no longer counts
        tap, report = self.tap(session, program)
        serial = tap.card_serial
        if report.recovered or report.unresolved:
            # An interrupted redemption of this card was just completed from its log (and its receipt
            # printed): debiting again now would serve the holder twice. The clerk confirms first.
            self._refuse(
                FailureReason.PREVIOUS_REDEMPTION_SETTLED,
                "interrupted redemption completed: " + ", ".join(report.recovered or report.unresolved),
                serial,
                program,
            )
        if serial is not None and tap.result.genuine and self.ledger.has_open_intents(serial):
            # the card's log could not settle an earlier redemption: it may have been served already
            self._refuse(
                FailureReason.PREVIOUS_REDEMPTION_OPEN,
                "an interrupted redemption of this card is not settled yet: tap the card again",
                serial,
                program,
            )
        if tap.verdict is not Verdict.VALID or tap.auth is None or tap.raw_credential is None:
            reason: RefusalCode = tap.result.reason or FailureReason.CARD_REFUSED
            self._refuse(
                reason,
                tap.result.detail or tap.verdict.value,
                serial,
                program,
                data_age_s=tap.result.data_age_s,
            )
        assert tap.auth is not None and tap.raw_credential is not None and serial is not None
        ent = self._check_entitlement(tap, program, amount)
        cred = tap.result.credential
        assert cred is not None  # a VALID verdict always carries its verified credential
        try:
            session.verify_pin(pin, cred.claims.card_key)  # sealed to the key the verifier checked
        except InvalidPinError as err:
            self._refuse(
                FailureReason.WRONG_PIN, str(err), serial, program, tries_left=err.attempts_remaining
            )
        except PinBlockedError as err:
            self._refuse(FailureReason.PIN_BLOCKED, str(err), serial, program, tries_left=0)
        except ValueError as err:  # not 4-8 digits: nothing sent to the card
            self._refuse(FailureReason.BAD_PIN_FORMAT, str(err), serial, program)
        except CardConnectionError as err:  # card gone before any DEBIT: nothing debited
            self._record(FailureReason.CARD_REMOVED, f"VERIFY: {err}", serial, program)
            raise
        except CardSessionError as err:  # any other answer to VERIFY: nothing debited
            self._refuse(card_failure(err), f"VERIFY: {err}", serial, program)
        self._authorised = Authorisation(session, tap, ent, amount)
        return self._authorised

    def complete(self, authorised: Authorisation) -> Redemption:
        """The DEBIT the holder's PIN was verified for (the 5th APDU), in the same card session.

        Refused (CARD_REMOVED, nothing sent) unless ``authorised`` is the latest authorisation, not yet
        spent or released, and its session still holds the unspent DEBIT key of that VERIFY: a card
        swapped or reset since then, or a session opened anew, fails closed; a card swapped under the same
        session cannot check the DEBIT's MAC (SPEC §5.12), and the intent stays for its log to settle.
        """
        current, self._authorised = self._authorised, None
        tap, program = authorised.tap, authorised.entitlement.program
        if current is not authorised or not authorised.session.debit_authorised:
            self._refuse(
                FailureReason.CARD_REMOVED,
                "no holder PIN verified for this DEBIT in this card session: ask for the PIN again",
                tap.card_serial,
                program,
            )
        return self._debit(authorised.session, tap, authorised.entitlement, authorised.amount)

    def release(self) -> None:
        """The clerk cancelled after the holder's PIN: the authorisation is void, and a SELECT ends the
        card's verification (a card already gone is fine)."""
        authorised, self._authorised = self._authorised, None
        if authorised is not None:
            with suppress(CardConnectionError, CardSessionError):
                authorised.session.select()

    def _debit(self, session: KhbsSession, tap: TapResult, ent: Entitlement, amount: int) -> Redemption:
        assert tap.auth is not None and tap.raw_credential is not None and tap.result.credential is not None
        cred = tap.result.credential
        serial = cred.claims.card_serial
        balance = next((b for b in tap.auth.body.balances if b.program == ent.program), None)
        if balance is None:  # the entitlements come from these balances: cannot happen
            self._refuse(FailureReason.NOT_ENROLLED, "no signed balance for the program", serial, ent.program)
        tx_type = record_type_for(balance.kind)
        check_in = tx_type == c.TxType.CHECK_IN
        self.fault("before_intent")
        intent = Intent(
            card_serial=serial,
            program=ent.program,
            amount=amount,
            unit=ent.unit or 0,
            clerk_id=self.counter.clerk_id,
            terminal_id=self.counter.terminal_id,
            site=self.counter.site,
            nonce=self.rng(c.NONCE_LEN),
            terminal_time=int(self.clock()),
            expected_counter=tap.auth.body.tx_counter,
            tx_type=tx_type,
            grant_seq=balance.grant_seq,
            expected_balance_after=balance.remaining if check_in else balance.remaining - amount,
            credential=tap.raw_credential,
            holder_name=cred.claims.name,
            nik_masked=cred.claims.nik_masked,
            data_age_s=tap.result.data_age_s,
            clerk_name=self.counter.clerk_name,
        )
        rid = self.ledger.open_intent(intent)
        self.fault("after_intent")
        try:
            tx = session.debit(
                program=ent.program,
                amount=amount,
                terminal_id=self.counter.terminal_id.encode("ascii"),
                nonce=intent.nonce,
                terminal_time=intent.terminal_time,
                expected_counter=intent.expected_counter,
            )
        except (CardConnectionError, CardSessionError) as exc:
            refused = (
                debit_refusal(exc, amount=amount, check_in=check_in)
                if isinstance(exc, CardSessionError)
                else None
            )
            if refused is None:  # the card may have debited: only its log can tell
                reason = (
                    FailureReason.CARD_REMOVED
                    if isinstance(exc, CardConnectionError)
                    else FailureReason.DEBIT_OUTCOME_UNKNOWN
                )
                self._interrupted(rid, intent, reason, f"DEBIT: {exc}")
            return self._confirm_refusal(session, rid, intent, refused)
        self.fault("after_debit")
        return self._store(rid, intent, cred, tx)

    def _interrupted(self, rid: str, intent: Intent, reason: FailureReason, detail: str) -> NoReturn:
        self._record(reason, detail, intent.card_serial, intent.program, rid)
        raise DebitInterrupted(rid, reason, detail)

    def _store(self, rid: str, intent: Intent, cred: Credential, tx: SignedTx) -> Redemption:
        if not verify_tx(cred, tx):  # not this card's signature: settle from its log at the next tap
            self._interrupted(
                rid, intent, FailureReason.RECORD_NOT_GENUINE, "DEBIT answer not signed by the card"
            )
        try:
            entry = self.ledger.commit_record(rid, tx)
        except RecordMismatch as exc:
            if "terminal_nonce" in exc.fields:  # not a record of this DEBIT at all: the log will tell
                self._interrupted(rid, intent, FailureReason.RECORD_MISMATCH, str(exc))
            self.ledger.flag_mismatch(rid, tx, exc)  # records the failure
            raise DebitNotTrusted(rid, exc.fields, str(exc)) from exc
        except (LedgerError, SQLAlchemyError) as exc:  # the card debited; the intent stays open
            log.error("storing the card's record of %s failed: %s", rid, exc)
            self._interrupted(rid, intent, FailureReason.RECORD_NOT_STORED, f"storing the record: {exc}")
        self.fault("after_commit")
        printed, error = self.print_receipt(entry)
        self.fault("after_print")
        return Redemption(self.ledger.get(rid), printed, error)

    def _confirm_refusal(
        self, session: KhbsSession, rid: str, intent: Intent, refused: DebitRefused
    ) -> Redemption:
        """A refusal SPEC §5.12 returns before the commit, but a status word is not signed: read the
        card's signed state and log again (one tap) and let them settle the intent. Only when they show
        the card never debited is it refused; if they show our record, the redemption stands."""
        serial, program = intent.card_serial, intent.program
        try:
            self.tap(session, program)  # records its own card failures
        except (CardConnectionError, CardSessionError) as exc:
            self._interrupted(
                rid, intent, FailureReason.DEBIT_OUTCOME_UNKNOWN, f"{refused}; confirming: {exc}"
            )
        entry = self.ledger.get(rid)
        if entry.state is State.ABANDONED:
            self._refuse(
                _DEBIT_REFUSAL_REASON.get(refused.reason, FailureReason.CARD_REFUSED),
                str(refused),
                serial,
                program,
            )
        if entry.state is State.COMMITTED:  # the card's log has our record: the refusal was false
            self._record(
                FailureReason.REFUSAL_CONTRADICTED,
                f"{refused}, but the card's log has the record",
                serial,
                program,
                rid,
            )
            return Redemption(entry, entry.receipt_state is ReceiptState.PRINTED, entry.receipt_error)
        if entry.state is State.UNRESOLVED:  # recorded by the reconciliation
            raise DebitNotTrusted(rid, (), f"{refused}; {entry.note}")
        self._interrupted(
            rid, intent, FailureReason.DEBIT_OUTCOME_UNKNOWN, f"{refused}; the card could not confirm it"
        )

    # -- receipts ------------------------------------------------------------------------------------
    def print_receipt(self, entry: Entry, *, copy: bool = False) -> tuple[bool, str | None]:
        """Print (or reprint) a committed entry's receipt; a fault is recorded, never raised.

        The entry is read again from the ledger (a void since the caller read it turns the receipt into
        the void slip), and the terminal's receipt attestation is made once and kept (:meth:`_attest`).
        """
        if self.receipts is None:
            return False, "no printer"
        entry = self.ledger.get(entry.id)
        if not entry.voided:
            entry = self._attest(entry)
        try:
            self.receipts.print_entry(entry, copy=copy)
        except Exception as exc:  # a receipt problem never undoes or hides a committed redemption
            err = (
                exc if isinstance(exc, PrintFailed) else PrintFailed("error", f"{type(exc).__name__}: {exc}")
            )
            if not entry.voided:
                self.ledger.mark_receipt(entry.id, ReceiptState.FAILED, err.reason)
            self._record_receipt_failure(entry, "printer_" + err.reason, str(err))
            return False, err.reason
        if not entry.voided:
            self.ledger.mark_receipt(entry.id, ReceiptState.PRINTED)
        return True, None

    def reprint(self, entry_id: str) -> tuple[bool, str | None]:
        """A numbered copy (time, clerk and copy number recorded first); a voided entry's copy is its
        void slip marked as a copy — never a valid receipt."""
        self.ledger.record_reprint(entry_id, self.counter.clerk_id, self.counter.clerk_name)
        return self.print_receipt(self.ledger.get(entry_id), copy=True)

    def void(self, entry_id: str, reason: str) -> tuple[str, bool, str | None]:
        """Void a committed redemption (signed by this terminal) and print its void slip.

        Returns (void id, slip printed, printer error). A slip that does not print is recorded as a
        failure; the void stands.
        """
        entry = self.ledger.get(entry_id)
        attestation = None
        if entry.record is not None and entry.signature is not None and self._card_signed(entry):
            attestation = self._sign(entry, ReceiptKind.VOIDED)
        vid = self.ledger.void(
            entry_id,
            reason,
            self.counter.clerk_id,
            clerk_name=self.counter.clerk_name,
            attestation=attestation,
        )
        printed, error = self.print_receipt(self.ledger.get(entry_id))
        return vid, printed, error

    def _card_signed(self, entry: Entry) -> bool:
        """The entry's record carries its card's signature (the ledger file is not trusted)."""
        if entry.record is None or entry.signature is None:
            return False
        try:
            card_key = decode_credential(entry.credential).claims.card_key
        except CredentialError:
            return False
        return verify_der(card_key, entry.signature, c.DOMAIN_TX + entry.record)

    def _sign(self, entry: Entry, kind: ReceiptKind) -> TerminalAttestation | None:
        if self.receipt_signer is None or entry.record is None or entry.signature is None:
            self._record_receipt_failure(entry, "receipt_unsigned", "no receipt-signing key on this terminal")
            return None
        try:
            return self.receipt_signer.attest(kind, entry.record, entry.signature)
        except ReceiptSigningError as exc:
            self._record_receipt_failure(entry, "receipt_unsigned", str(exc))
            return None

    def _attest(self, entry: Entry) -> Entry:
        """The entry with this terminal's receipt attestation: the stored one if it is one for this
        record, else a new one (stored) — made only for a record its card's key signed."""
        assert entry.record is not None and entry.signature is not None
        stored = entry.attestation
        if stored is not None and attestation_matches(
            stored, ReceiptKind.RECEIPT, entry.record, entry.signature
        ):
            return entry
        if not self._card_signed(entry):
            self._record_receipt_failure(entry, "receipt_unsigned", "the stored record is not card-signed")
            return entry
        attestation = self._sign(entry, ReceiptKind.RECEIPT)
        if attestation is None:
            return entry
        self.ledger.store_attestation(entry.id, attestation)
        return self.ledger.get(entry.id)

    def _record_receipt_failure(self, entry: Entry, reason: str, detail: str) -> None:
        try:
            self.ledger.record_failure(
                reason,
                detail,
                terminal_id=self.counter.terminal_id,
                card_serial=entry.card_serial,
                program=entry.program,
                clerk_id=self.counter.clerk_id,
                redemption_id=entry.id,
            )
        except SQLAlchemyError as exc:
            log.error("recording receipt failure %s (%s) failed: %s", reason, detail, exc)

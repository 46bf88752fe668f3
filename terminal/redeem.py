"""Redemption at the counter: tap, PIN, debit, store, print — crash-safe through the ledger.

Steps (each a fault point for tests): verify the card for the program (freshness per program) →
settle any open intents of this card from its log → check the amount against the card-signed
balance → holder PIN → INTENT durably stored → card DEBIT → record verified and stored → receipt
printed. Every refusal is recorded as a failure with its reason and raised as RedemptionRefused.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, Protocol

from sqlalchemy.exc import SQLAlchemyError

from card_applet_spec import constants as c
from terminal.card.connection import CardConnectionError
from terminal.card.errors import (
    ApduError,
    CounterMismatchError,
    InsufficientBalanceError,
    InvalidPinError,
    MalformedResponseError,
    PinBlockedError,
)
from terminal.card.session import KhbsSession
from terminal.entitlements import Entitlement, Status
from terminal.ledger import Entry, Intent, Ledger, LedgerError, ReceiptState, ReconcileReport, State
from terminal.pending import PendingUpdates, apply_pending
from terminal.tap import TapResult, check_tap
from terminal.verify import Verdict, Verifier, verify_tx

log = logging.getLogger(__name__)

FaultHook = Callable[[str], None]
#: DEBIT refusals that SPEC §5.12 returns before the card commits anything: the card is unchanged.
REFUSED_BEFORE_COMMIT = frozenset(
    {
        c.SW.WRONG_LENGTH,
        c.SW.INCORRECT_P1P2,
        c.SW.SECURITY_STATUS_NOT_SATISFIED,
        c.SW.CONDITIONS_NOT_SATISFIED,
        c.SW.DATA_NOT_FOUND,
        c.SW.WRONG_DATA,
        c.SW.INSUFFICIENT_BALANCE,
        c.SW.COUNTER_MISMATCH,
        c.SW.GRANT_NOT_VALID_NOW,
        c.SW.WRONG_KIND,
    }
)
FAULT_POINTS = ("before_intent", "after_intent", "after_debit", "after_commit", "after_print")


def _no_fault(point: str) -> None:
    return None


class PrintFailed(Exception):
    """The receipt could not be printed; ``reason`` is a short code (offline, paper_out, ...)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(detail or reason)


class ReceiptSink(Protocol):
    """Port: prints the receipt for a committed ledger entry, or raises PrintFailed."""

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


class RedemptionRefused(Exception):
    """Nothing was debited; ``reason`` is the failure code stored in the ledger."""

    def __init__(
        self, reason: str, detail: str, *, tries_left: int | None = None, data_age_s: float | None = None
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.tries_left = tries_left
        self.data_age_s = data_age_s  # how old the revocation data was, for "data too old" refusals
        super().__init__(f"{reason}: {detail}")


class DebitInterrupted(Exception):
    """The card left during DEBIT: the intent stays open and is settled at the card's next tap."""

    def __init__(self, redemption_id: str) -> None:
        self.redemption_id = redemption_id
        super().__init__(f"card removed during debit; tap again to finish ({redemption_id})")


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
    ) -> None:
        self.pending = pending
        self.ledger = ledger
        self.verifier = verifier
        self.counter = counter
        self.receipts = receipts
        self.clock = clock
        self.rng = rng
        self.fault = fault

    # -- tap --------------------------------------------------------------------------------------
    def tap(self, session: KhbsSession, program: int | None = None) -> tuple[TapResult, ReconcileReport]:
        """Verify the card, settle any open intents it has here, and load issuer updates waiting for it.

        The card's log is read only when an intent is open; the card is read again only when
        something changed, so an ordinary tap stays at three APDUs.
        """
        result = self._check(session, program)
        report = ReconcileReport()
        serial = result.card_serial
        cred = result.result.credential
        if not (result.result.genuine and serial and result.auth and cred):
            return result, report
        changed = False
        if self.ledger.has_open_intents(serial):
            # The card's log is trustworthy even when the card is now revoked or blocked.
            log = [tx for tx in session.read_log() if verify_tx(cred, tx)]
            report = self.ledger.reconcile(serial, log, result.auth.body.tx_counter)
            self._print_recovered(report)
            changed = report.changed
        if self.pending is not None and self.pending.has_for(serial):
            changed = bool(apply_pending(session, self.pending, serial, self.clock())) or changed
        if changed:  # balances or state moved: read the card again
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
        reason: str,
        detail: str,
        serial: bytes | None,
        program: int,
        *,
        tries_left: int | None = None,
        data_age_s: float | None = None,
    ) -> NoReturn:
        self.ledger.record_failure(
            reason,
            detail,
            terminal_id=self.counter.terminal_id,
            card_serial=serial,
            program=program,
            clerk_id=self.counter.clerk_id,
        )
        raise RedemptionRefused(reason, detail, tries_left=tries_left, data_age_s=data_age_s)

    def _check_entitlement(self, tap: TapResult, program: int, amount: int) -> Entitlement:
        serial = tap.card_serial
        ent = next((e for e in tap.entitlements if e.program == program), None)
        if ent is None or ent.status is Status.NOT_ENROLLED:
            self._refuse("not_enrolled", "holder has no entitlement for this program", serial, program)
        assert ent is not None
        if ent.status is Status.EXPIRED:
            self._refuse("entitlement_expired", "entitlement period is over", serial, program)
        if ent.kind in (c.Kind.CASH, c.Kind.QUANTITY):
            if amount <= 0:
                raise RedemptionRefused("bad_amount", "amount must be positive")
            if ent.remaining is None or amount > ent.remaining:
                self._refuse("insufficient_balance", f"asked {amount}, left {ent.remaining}", serial, program)
        elif amount != 0:
            raise RedemptionRefused("bad_amount", "eligibility services record a visit, no amount")
        return ent

    def redeem(self, session: KhbsSession, program: int, amount: int, pin: str) -> Redemption:
        tap, report = self.tap(session, program)
        serial = tap.card_serial
        if report.recovered or report.unresolved:
            # An interrupted redemption of this card was just completed from its log (and its receipt
            # printed): debiting again now would serve the holder twice. The clerk confirms first.
            raise RedemptionRefused(
                "previous_redemption_settled",
                "interrupted redemption completed: " + ", ".join(report.recovered or report.unresolved),
            )
        if tap.verdict is not Verdict.VALID or tap.auth is None or tap.raw_credential is None:
            reason = tap.result.reason.value if tap.result.reason else tap.verdict.value
            self._refuse(
                reason, tap.result.detail or reason, serial, program, data_age_s=tap.result.data_age_s
            )
        assert tap.auth is not None and tap.raw_credential is not None and serial is not None
        ent = self._check_entitlement(tap, program, amount)
        try:
            session.verify_pin(pin)
        except InvalidPinError as err:
            self._refuse("wrong_pin", str(err), serial, program, tries_left=err.attempts_remaining)
        except PinBlockedError as err:
            self._refuse("pin_blocked", str(err), serial, program, tries_left=0)
        except ValueError as err:  # not 4-8 digits: nothing sent to the card
            raise RedemptionRefused("bad_pin_format", str(err)) from err
        return self._debit(session, tap, ent, amount)

    def _debit(self, session: KhbsSession, tap: TapResult, ent: Entitlement, amount: int) -> Redemption:
        assert tap.auth is not None and tap.raw_credential is not None and tap.result.credential is not None
        cred = tap.result.credential
        serial = cred.claims.card_serial
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
            credential=tap.raw_credential,
            holder_name=cred.claims.name,
            nik_masked=cred.claims.nik_masked,
            data_age_s=tap.result.data_age_s,
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
        except (CardConnectionError, MalformedResponseError) as exc:
            # The card may or may not have debited: only its log can tell. Keep the intent open.
            raise DebitInterrupted(rid) from exc
        except ApduError as err:
            if err.sw not in REFUSED_BEFORE_COMMIT:  # unknown outcome: only the card's log can tell
                raise DebitInterrupted(rid) from err
            self.ledger.close_intent(rid, State.ABANDONED, f"card refused: {err}")
            reason = "insufficient_balance" if isinstance(err, InsufficientBalanceError) else "card_refused"
            if isinstance(err, CounterMismatchError):
                reason = "counter_mismatch"
            self._refuse(reason, str(err), serial, ent.program)
        self.fault("after_debit")
        if not verify_tx(cred, tx):
            raise DebitInterrupted(rid)  # a record we cannot trust: settle from the log at next tap
        try:
            entry = self.ledger.commit_record(rid, tx)
        except (LedgerError, SQLAlchemyError) as exc:  # the card debited; the intent stays open
            log.error("storing the card's record of %s failed: %s", rid, exc)
            raise DebitInterrupted(rid) from exc
        self.fault("after_commit")
        printed, error = self.print_receipt(entry)
        self.fault("after_print")
        return Redemption(self.ledger.get(rid), printed, error)

    # -- receipts ------------------------------------------------------------------------------------
    def print_receipt(self, entry: Entry, *, copy: bool = False) -> tuple[bool, str | None]:
        """Print (or reprint) a committed entry's receipt; a fault is recorded, never raised."""
        if self.receipts is None:
            return False, "no printer"
        try:
            self.receipts.print_entry(entry, copy=copy)
        except Exception as exc:  # a receipt problem never undoes or hides a committed redemption
            err = (
                exc if isinstance(exc, PrintFailed) else PrintFailed("error", f"{type(exc).__name__}: {exc}")
            )
            self.ledger.mark_receipt(entry.id, ReceiptState.FAILED, err.reason)
            self.ledger.record_failure(
                "printer_" + err.reason,
                str(err),
                terminal_id=self.counter.terminal_id,
                card_serial=entry.card_serial,
                program=entry.program,
                clerk_id=self.counter.clerk_id,
                redemption_id=entry.id,
            )
            return False, err.reason
        self.ledger.mark_receipt(entry.id, ReceiptState.PRINTED)
        return True, None

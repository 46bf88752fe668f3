"""The clerk counter's state machine, without Qt: login, tap → holder → service → amount → holder PIN
(verified by the card) → confirm → DEBIT → receipt; reprint, void, end-of-day report, PIN unblock; the
card leaving at any step; wrong clerk PINs throttled (``ClerkDirectory.login``) and the clerk logged out
after ``idle_logout_s`` with nobody at the counter, both recorded.

The holder's PIN is checked before the clerk confirms: the first half of the redemption
(``KhbsTerminal.authorise_redemption``: SELECT, GET DATA, INTERNAL AUTHENTICATE, VERIFY) runs when the
PIN is entered, the DEBIT (``complete_redemption``, the 5th APDU) when the clerk confirms, in the same
card session; cancelling, the card leaving or the session ending voids the authorisation.

:class:`CounterFlow` keeps the decisions the counter UI used to make in its slots. The UI adapts: it
hands the flow the clerk's and the card's events (:meth:`login`, :meth:`card_inserted`,
:meth:`choose`, ...), runs the flow's jobs on its worker thread (:class:`Worker`) and renders the step
the flow shows (:class:`CounterView`) from what the flow remembers. Every card, printer and database
call runs in a job; a job's answer that arrives after the session moved on (the card left, the clerk
went home) is dropped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from card_applet_spec.constants import Kind
from terminal.app import KhbsTerminal, TerminalStatus
from terminal.clerks import Clerk, ClerkDirectory, ClerkEvent, LoginResult, LoginStatus
from terminal.counter_flow_types import (
    CARD_JOB_STEPS,
    CLERK_TASK_STEPS,
    HOLDER_STEPS,
    PLAIN_REFUSALS,
    RESET_PROBLEMS,
    CardLinkPort,
    CounterView,
    Notice,
    Printed,
    Refused,
    ResetProblem,
    ResultKind,
    Step,
    TxMessage,
    Worker,
    wrong_pin_tries,
)
from terminal.entitlements import Entitlement, Status
from terminal.failures import FailureReason
from terminal.ledger import DayTotals, Entry, LedgerError, ReconcileReport
from terminal.readers import CardInserted
from terminal.receipt import ReceiptPrinter
from terminal.redeem import Authorisation, DebitInterrupted, Redemption, RedemptionRefused
from terminal.tap import TapResult
from terminal.verify import Verdict

T = TypeVar("T")
P = ParamSpec("P")
log = logging.getLogger(__name__)

#: How many of the latest redemptions the transactions step lists.
RECENT = 30
#: Seconds with nobody touching the counter before the clerk is logged out (and the holder forgotten).
IDLE_LOGOUT_S = 90.0


def activity(method: Callable[Concatenate[CounterFlow, P], T]) -> Callable[Concatenate[CounterFlow, P], T]:
    """A clerk's or holder's action: the idle clock starts again."""

    def wrapper(self: CounterFlow, /, *args: P.args, **kwargs: P.kwargs) -> T:
        self.touch()
        return method(self, *args, **kwargs)

    wrapper.__doc__, wrapper.__name__ = method.__doc__, method.__name__
    return wrapper


class CounterFlow:
    """One counter: the clerk logged in (or not), the holder's card in the reader, and the step."""

    def __init__(
        self,
        terminal: KhbsTerminal,
        clerks: ClerkDirectory,
        link: CardLinkPort,
        worker: Worker,
        view: CounterView,
        *,
        printer: Callable[[], ReceiptPrinter | None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        idle_logout_s: float = IDLE_LOGOUT_S,
    ) -> None:
        self.terminal, self.clerks, self.link, self.worker, self.view = terminal, clerks, link, worker, view
        self.printer = printer
        self.clock, self.idle_logout_s = clock, idle_logout_s
        self.last_activity = clock()
        self.step = Step.LOGIN
        self.clerk: Clerk | None = None
        #: The last login attempt's outcome, while the login step shows it.
        self.login_result: LoginResult | None = None
        #: The card in the reader (re-read after a transaction; read later if it came while the clerk
        #: was busy elsewhere).
        self.card: CardInserted | None = None
        self.card_unread = False
        #: A redemption is under way: card events wait for its own outcome.
        self.busy = False
        self._generation = 0
        self.notice: Notice | None = None
        self._clear_holder()
        self.last_entry: Entry | None = None
        self.entries: list[Entry] = []
        self.tx_message: tuple[TxMessage, str | None] | None = None
        self.report: tuple[DayTotals, int, bool] | None = None
        self.report_printed: Printed | None = None

    def _clear_holder(self) -> None:
        self.tap: TapResult | None = None
        self.settled: ReconcileReport | None = None
        self.entitlement: Entitlement | None = None
        self.amount = 0
        #: The holder's PIN verified for the chosen service and amount: what the clerk's confirm spends.
        self.authorised: Authorisation | None = None
        self._new_pin = ""
        self.reset_nik = ""
        self.pin_tries: int | None = None
        self.pin_mismatch = False
        self.result: ResultKind | None = None
        self.redemption: Redemption | None = None
        self.receipt: Printed | None = None
        self.refused: Refused | None = None
        self.reset_problem: ResetProblem | None = None
        self.void_entry: Entry | None = None
        self.processing_redemption = False

    # -- plumbing -----------------------------------------------------------------------------------
    def _go(self, step: Step) -> None:
        self.step = step
        self.view.show_step(step)

    def _submit(
        self,
        work: Callable[[], T],
        done: Callable[[T], None],
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run ``work`` on the worker; its answer is dropped if the session moved on meanwhile."""
        generation = self._generation
        on_error = failed if failed is not None else self._failed

        def ok(result: Any) -> None:
            if generation == self._generation:
                done(result)

        def err(exc: BaseException) -> None:
            if generation == self._generation:
                on_error(exc)

        self.worker.submit(work, ok, err)

    def _background(self, work: Callable[[], object]) -> None:
        self.worker.submit(work, lambda _r: None, lambda exc: log.warning("counter job failed: %s", exc))

    def _forget_jobs(self) -> None:
        self._generation += 1

    def _release(self) -> None:
        """No DEBIT may follow the holder's verified PIN any more."""
        if self.authorised is not None:
            self.authorised = None
            self._background(self.terminal.cancel_redemption)

    def _forget_holder(self) -> None:
        self._release()
        self._clear_holder()
        self.view.forget_holder()

    def _end_session(self) -> None:
        """Drop the late answers of running jobs, forget the holder, close the link to the card."""
        self._forget_jobs()
        self._forget_holder()
        self._background(self.link.close)

    # -- the idle logout ---------------------------------------------------------------------------------
    def touch(self) -> None:
        """Someone is at the counter (the UI calls it for every press, the flow for every action)."""
        self.last_activity = self.clock()

    def tick(self) -> None:
        """Called every second or so: log the clerk out after ``idle_logout_s`` with nobody around."""
        if self.clerk is None or self.busy or self.step in CARD_JOB_STEPS:
            return  # a job of the card decides first; its result step is idle-checked again
        if self.clock() - self.last_activity >= self.idle_logout_s:
            self._idle_logout()

    def _idle_logout(self) -> None:
        assert self.clerk is not None
        terminal, clerk_id, step = self.terminal, self.clerk.clerk_id, self.step
        detail = f"no activity for {self.idle_logout_s:.0f} s ({step.value})"
        self._background(lambda: terminal.record_clerk_event(ClerkEvent.IDLE_LOGOUT, clerk_id, detail))
        self.clerk = None
        self.card_unread = self.card is not None  # a card still there is read again after the next login
        self._end_session()
        self.notice = Notice.IDLE_LOGOUT
        self.login_result = None
        self._go(Step.LOGIN)

    # -- login ----------------------------------------------------------------------------------------
    @activity
    def login(self, clerk_id: str, pin: str) -> None:
        clerks, terminal = self.clerks, self.terminal

        def check() -> LoginResult:
            result = clerks.login(clerk_id, pin)
            if result.locked_now:
                detail = f"locked for {result.retry_in_s:.0f} s after wrong clerk PINs"
                terminal.record_clerk_event(ClerkEvent.LOCKED_OUT, clerk_id.strip(), detail)
            return result

        def checked(result: LoginResult) -> None:
            if result.status is not LoginStatus.OK or result.clerk is None:
                self.login_result, self.notice = result, None
                self._go(Step.LOGIN)
                if result.locked_now:
                    self.view.status_changed()
                return
            self.clerk, self.login_result = result.clerk, None
            self.terminal.login(result.clerk.clerk_id, result.clerk.name)
            self.go_home()

        self._submit(check, checked)

    @activity
    def logout(self) -> None:
        self.clerk, self.login_result, self.notice = None, None, None
        self._forget_holder()
        self._go(Step.LOGIN)

    # -- the card -------------------------------------------------------------------------------------
    @activity
    def card_inserted(self, event: CardInserted) -> None:
        self.card = event
        if self.busy:
            return
        if self.clerk is None or self.step in CLERK_TASK_STEPS:
            self.card_unread = True  # not now: read when the clerk comes back to the counter screen
            return
        self._read_card(event)

    def _read_card(self, event: CardInserted) -> None:
        self.card_unread = False
        self.notice = None
        self._forget_jobs()
        self._forget_holder()
        self._go(Step.READING)
        link, terminal = self.link, self.terminal
        self._submit(lambda: terminal.tap_and_settle(link.open(event)), self._tapped)

    @activity
    def card_removed(self) -> None:
        self.card, self.card_unread = None, False
        if self.busy:
            return  # the redemption's own outcome (done, or DebitInterrupted) decides what comes next
        if self.step in HOLDER_STEPS:
            self.go_home(Notice.CARD_LIFTED)
        elif self.step is Step.REFUSAL:
            self.go_home()

    def _tapped(self, answer: tuple[TapResult, ReconcileReport]) -> None:
        tap, settled = answer
        if tap.result.verdict is not Verdict.VALID:
            self._refuse(Refused(tap=tap))
            return
        self.tap, self.settled = tap, settled
        self._go(Step.HOLDER)
        if settled.changed:
            self.view.status_changed()

    # -- the redemption -------------------------------------------------------------------------------
    @activity
    def choose(self, program: int) -> None:
        if self.tap is None:
            return
        e = next((x for x in self.tap.entitlements if int(x.program) == program), None)
        if e is None or e.status not in (Status.ACTIVE, Status.REGISTERED, Status.ACCEPTED):
            return
        self.entitlement = e
        if e.kind in (Kind.CASH, Kind.QUANTITY):  # an amount; eligibility services record a visit
            self._go(Step.AMOUNT)
        else:
            self.amount_chosen(0)

    @activity
    def back_to_holder(self) -> None:
        self._release()
        self._go(Step.HOLDER)

    @activity
    def amount_chosen(self, amount: int) -> None:
        self.amount = amount
        if self.tap is not None and self.tap.auth is not None and self.tap.auth.body.pin_tries == 0:
            self._refuse(Refused(pin_blocked=True))  # the card signed that its PIN is blocked
            return
        self.pin_tries = None
        self._go(Step.HOLDER_PIN)

    @activity
    def pin_entered(self, pin: str) -> None:
        if self.step is Step.HOLDER_PIN:
            self._verify_holder_pin(pin)
        elif self.step is Step.NEW_PIN:
            self._new_pin = pin
            self._go(Step.NEW_PIN_AGAIN)
        elif self.step is Step.NEW_PIN_AGAIN:
            if pin != self._new_pin:
                self._new_pin = ""
                self._ask_new_pin(mismatch=True)
                return
            self._reset_pin(pin)

    def _verify_holder_pin(self, pin: str) -> None:
        """The card checks the PIN now, before the clerk confirms (VERIFY: the 4th APDU)."""
        if self.tap is None or self.entitlement is None:
            return
        terminal, link = self.terminal, self.link
        program, amount = int(self.entitlement.program), self.amount
        self._release()
        self._go(Step.VERIFYING)

        def verified(authorised: Authorisation) -> None:
            self.authorised = authorised
            self._go(Step.CONFIRM)

        self._submit(
            lambda: terminal.authorise_redemption(link.current(), program, amount, pin),
            verified,
            self._redemption_failed,
        )

    @activity
    def pin_cancelled(self) -> None:
        self._new_pin = ""
        self._go(Step.HOLDER if self.tap is not None else Step.HOME)

    @activity
    def confirm(self) -> None:
        """The clerk confirms: the DEBIT the holder's PIN was verified for (the 5th APDU)."""
        authorised, self.authorised = self.authorised, None
        if authorised is None or self.step is not Step.CONFIRM:
            return
        terminal = self.terminal
        self.busy = True
        self.processing_redemption = True
        self._go(Step.PROCESSING)

        def done(redemption: Redemption) -> None:
            self.busy = False
            self.last_entry = redemption.entry
            self.result, self.redemption = ResultKind.REDEEMED, redemption
            self.receipt = Printed(redemption.receipt_printed, redemption.receipt_error)
            self._go(Step.RESULT)
            self.view.status_changed()

        def failed(exc: BaseException) -> None:
            self.busy = False
            self.view.status_changed()
            self._redemption_failed(exc)

        self._submit(lambda: terminal.complete_redemption(authorised), done, failed)

    def _redemption_failed(self, exc: BaseException) -> None:
        if isinstance(exc, DebitInterrupted):
            self.result, self.redemption, self.receipt = ResultKind.INTERRUPTED, None, None
            self._go(Step.RESULT)
            return
        tries = wrong_pin_tries(exc)
        if tries:
            self.pin_tries = tries
            self._go(Step.HOLDER_PIN)
            return
        if (
            isinstance(exc, RedemptionRefused)
            and isinstance(exc.reason, FailureReason)
            and exc.reason in PLAIN_REFUSALS
        ):
            self._refuse(Refused(plain=exc.reason))
            return
        self._failed(exc)

    @activity
    def cancel_confirm(self) -> None:
        self._release()
        self._go(Step.HOLDER)

    @activity
    def after_result(self) -> None:
        """Back to the holder with fresh balances while the card is still there, else home."""
        if self.card is not None:
            self._read_card(self.card)
        else:
            self.go_home()

    @activity
    def reprint_last(self) -> None:
        if self.last_entry is None:
            return
        terminal, rid = self.terminal, self.last_entry.id

        def done(answer: tuple[bool, str | None]) -> None:
            self.receipt = Printed(*answer)
            self._go(self.step)
            self.view.status_changed()

        self._submit(lambda: terminal.reprint(rid), done)

    # -- PIN reset --------------------------------------------------------------------------------------
    @activity
    def start_pin_reset(self) -> None:
        if self.tap is None:
            return
        self.reset_problem = None
        self._go(Step.RESET)

    @activity
    def reset_checked(self, nik: str) -> None:
        """The clerk checked the e-KTP and typed its NIK: the holder chooses the new PIN."""
        self.reset_nik = nik
        self._ask_new_pin()

    def _ask_new_pin(self, mismatch: bool = False) -> None:
        self.pin_mismatch = mismatch
        self._go(Step.NEW_PIN)

    def _reset_pin(self, pin: str) -> None:
        terminal, link, tap, nik = self.terminal, self.link, self.tap, self.reset_nik
        self._new_pin = ""
        if tap is None or not nik:
            return
        self.processing_redemption = False
        self._go(Step.PROCESSING)

        def done(_answer: object) -> None:
            self.result = ResultKind.PIN_RESET
            self._go(Step.RESULT)

        def failed(exc: BaseException) -> None:
            problem = next((p for kind, p in RESET_PROBLEMS.items() if isinstance(exc, kind)), None)
            if problem is None:
                self._failed(exc)
                return
            self.reset_problem = problem
            self._go(Step.RESET)

        # the same card session as the check tap: INTERNAL AUTHENTICATE, then the bound reset (SPEC §9.5)
        self._submit(lambda: terminal.reset_pin(link.current(), tap, nik, pin), done, failed)

    # -- transactions, voids, report --------------------------------------------------------------------
    @activity
    def open_transactions(self, message: tuple[TxMessage, str | None] | None = None) -> None:
        terminal = self.terminal

        def show(entries: list[Entry]) -> None:
            self.entries, self.tx_message = entries, message
            self._go(Step.TRANSACTIONS)

        self._submit(lambda: terminal.recent(RECENT), show)

    @activity
    def reprint(self, entry_id: str) -> None:
        terminal = self.terminal

        def done(answer: tuple[bool, str | None]) -> None:
            printed, error = answer
            self.view.status_changed()
            self.open_transactions(
                (TxMessage.REPRINTED, None) if printed else (TxMessage.REPRINT_NOT_PRINTED, error)
            )

        self._submit(lambda: terminal.reprint(entry_id), done)

    @activity
    def ask_void(self, entry_id: str) -> None:
        entry = next((e for e in self.entries if e.id == entry_id), None)
        if entry is not None:
            self.void_entry = entry
            self._go(Step.VOID)

    @activity
    def void(self, entry_id: str, reason: str) -> None:
        terminal = self.terminal

        def failed(exc: BaseException) -> None:
            if isinstance(exc, LedgerError):
                self.open_transactions((TxMessage.VOID_REFUSED, None))
            else:
                self._failed(exc)

        def done(answer: tuple[str, bool, str | None]) -> None:
            _vid, printed, error = answer
            self.view.status_changed()
            self.open_transactions(
                (TxMessage.VOIDED, None) if printed else (TxMessage.VOIDED_SLIP_NOT_PRINTED, error)
            )

        self._submit(lambda: terminal.void_slip(entry_id, reason), done, failed)

    @activity
    def open_report(self) -> None:
        terminal, can_print = self.terminal, self.printer() is not None

        def collect() -> tuple[DayTotals, int]:
            status: TerminalStatus = terminal.status()
            return terminal.end_of_day(), status.receipts_pending

        def show(answer: tuple[DayTotals, int]) -> None:
            self.report, self.report_printed = (answer[0], answer[1], can_print), None
            self._go(Step.REPORT)

        self._submit(collect, show)

    @activity
    def print_report(self) -> None:
        terminal, printer = self.terminal, self.printer()
        if printer is None:
            return

        def printed(ok: Printed) -> None:
            self.report_printed = ok
            self._go(Step.REPORT)

        self._submit(
            lambda: printer.print_report(terminal.end_of_day_report()),
            lambda _r: printed(Printed(True)),
            lambda exc: printed(Printed(False, exc)),
        )

    # -- endings -----------------------------------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        self._refuse(Refused(error=exc))

    def _refuse(self, refused: Refused) -> None:
        self.refused = refused
        self._go(Step.REFUSAL)

    @activity
    def refusal_back(self) -> None:
        if self.tap is not None and self.card is not None:
            self._go(Step.HOLDER)
        else:
            self.go_home()

    @activity
    def go_home(self, notice: Notice | None = None) -> None:
        self._end_session()
        self.notice = notice
        self._go(Step.HOME)
        self.view.status_changed()
        if self.card_unread and self.card is not None and self.clerk is not None:
            self._read_card(self.card)

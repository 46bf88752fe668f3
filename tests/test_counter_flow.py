"""The counter's state machine without Qt: the demo world's cards, the real terminal core, recording fakes
for the screens, the worker and the printer."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from card_applet_spec import constants as c
from card_applet_spec.reference_card import CardTorn, ReferenceCard
from terminal.card.connection import InProcessConnection
from terminal.card.errors import InvalidPinError
from terminal.card.session import KhbsSession
from terminal.clerks import ClerkDirectory
from terminal.counter_flow import CounterFlow
from terminal.counter_flow_types import Notice, Refused, ResetProblem, ResultKind, Step, TxMessage
from terminal.demo import DEMO_CARDS, DEMO_PIN, DemoWorld
from terminal.ledger import State
from terminal.readers import CardInserted
from terminal.receipt import EndOfDayReport, PaperLevel, PrinterStatus
from terminal.redeem import RedemptionRefused
from tests.support.counter import RecordingPrinter
from tests.support.flow import Link, Queue, View
from tests.support.world import card_key

NOW = 1_781_488_800  # 2026-06-15 09:00 WIB


@pytest.fixture(scope="module")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("world")
    DemoWorld(path, clock=lambda: NOW).provision()
    return path


@dataclass
class ReportPrinter:
    reports: list[EndOfDayReport] = field(default_factory=list)

    def status(self) -> PrinterStatus:
        raise NotImplementedError

    def print_receipt(self, receipt: Any) -> PrinterStatus:
        raise NotImplementedError

    def print_report(self, report: EndOfDayReport) -> PrinterStatus:
        self.reports.append(report)
        return PrinterStatus(online=True, paper=PaperLevel.OK)


@dataclass
class Counter:
    flow: CounterFlow
    world: DemoWorld
    worker: Queue
    view: View
    link: Link
    receipts: RecordingPrinter
    reports: ReportPrinter
    clock: list[float]
    sequence: int = 0

    def card(self, name: str) -> ReferenceCard:
        return self.world.card(name)

    def tap(self, card: Any) -> None:
        self.sequence += 1
        event = CardInserted("R", b"", lambda: InProcessConnection(card, (CardTorn,)), sequence=self.sequence)
        self.flow.card_inserted(event)
        self.worker.drain()

    def do(self, action: Callable[[], None]) -> None:
        action()
        self.worker.drain()

    def serve(self, name: str = "siti") -> ReferenceCard:
        self.do(lambda: self.flow.login("rina", "1234"))
        card = self.card(name)
        self.tap(card)
        return card

    @property
    def apdus(self) -> int:
        assert self.link.connection is not None
        return self.link.connection.apdus


@pytest.fixture
def counter(world_template: Path, tmp_path: Path) -> Iterator[Counter]:
    shutil.copytree(world_template, tmp_path / "world")
    world = DemoWorld(tmp_path / "world", clock=lambda: NOW)
    receipts, reports = RecordingPrinter(), ReportPrinter()
    clerks = ClerkDirectory(iterations=1000, clock=lambda: NOW)
    clerks.add("rina", "Rina Marlina", "1234")
    worker, view, link, clock = Queue(), View(), Link(), [0.0]
    flow = CounterFlow(
        world.terminal(receipts, clerk_id=""),
        clerks,
        link,
        worker,
        view,
        printer=lambda: reports,
        clock=lambda: clock[0],
        idle_logout_s=90,
    )
    yield Counter(flow, world, worker, view, link, receipts, reports, clock)
    world.engine.dispose()


def test_login_wrong_then_right(counter: Counter) -> None:
    flow = counter.flow
    counter.do(lambda: flow.login("rina", "9999"))
    assert flow.step is Step.LOGIN and flow.login_result is not None and flow.clerk is None
    counter.do(lambda: flow.login("rina", "1234"))
    assert flow.step is Step.HOME and flow.clerk is not None and flow.login_result is None
    assert flow.terminal.counter.clerk_id == "rina"


def test_cash_redemption_pin_verified_before_confirm_in_five_apdus(counter: Counter) -> None:
    flow = counter.flow
    card = counter.serve()
    assert flow.step is Step.HOLDER and flow.tap is not None
    counter.do(lambda: flow.choose(c.Program.BLT))
    assert flow.step is Step.AMOUNT
    counter.do(lambda: flow.amount_chosen(150_000))
    assert flow.step is Step.HOLDER_PIN and flow.entitlement is not None and flow.amount == 150_000
    before = counter.apdus
    counter.view.steps.clear()
    counter.do(lambda: flow.pin_entered(DEMO_PIN))
    assert counter.view.steps == [Step.VERIFYING, Step.CONFIRM] and flow.authorised is not None
    assert counter.apdus - before == 4  # SELECT, GET DATA, INTERNAL AUTHENTICATE, VERIFY
    assert card.state.grant_for(c.Program.BLT).remaining == 600_000  # type: ignore[union-attr]
    counter.do(flow.confirm)
    assert counter.apdus - before == 5  # ... and the DEBIT: the redemption's budget
    assert flow.step is Step.RESULT and flow.result is ResultKind.REDEEMED and flow.redemption is not None
    assert flow.redemption.entry.state is State.COMMITTED and flow.receipt is not None and flow.receipt.ok
    assert counter.receipts.printed == [(flow.redemption.entry.id, False)]
    assert card.state.grant_for(c.Program.BLT).remaining == 450_000  # type: ignore[union-attr]
    counter.do(flow.after_result)  # the card is still there: its fresh balances
    assert flow.step is Step.HOLDER and flow.tap is not None
    blt = next(e for e in flow.tap.entitlements if e.program == c.Program.BLT)
    assert blt.remaining == 450_000


def test_wrong_pin_is_found_before_confirm(counter: Counter) -> None:
    flow = counter.flow
    counter.serve()
    counter.do(lambda: flow.choose(c.Program.BLT))
    counter.do(lambda: flow.amount_chosen(50_000))
    counter.view.steps.clear()
    counter.do(lambda: flow.pin_entered("000000"))
    assert counter.view.steps == [Step.VERIFYING, Step.HOLDER_PIN] and flow.pin_tries == 2
    assert flow.authorised is None and Step.CONFIRM not in counter.view.steps
    assert [f.reason for f in flow.terminal.ledger.list_failures()] == ["wrong_pin"]
    counter.do(lambda: flow.pin_entered(DEMO_PIN))
    assert flow.step is Step.CONFIRM


def test_a_visit_has_no_amount_step(counter: Counter) -> None:
    flow = counter.flow
    counter.serve()
    counter.do(lambda: flow.choose(c.Program.KESEHATAN))
    assert flow.step is Step.HOLDER_PIN and flow.amount == 0


def test_cancel_at_confirm_voids_the_authorisation(counter: Counter) -> None:
    flow = counter.flow
    card = counter.serve()
    counter.do(lambda: flow.choose(c.Program.BLT))
    counter.do(lambda: flow.amount_chosen(50_000))
    counter.do(lambda: flow.pin_entered(DEMO_PIN))
    authorised = flow.authorised
    assert authorised is not None
    counter.do(flow.cancel_confirm)
    assert flow.step is Step.HOLDER and flow.authorised is None
    assert not authorised.session.debit_authorised  # the card's verification ended too (SELECT)
    with pytest.raises(RedemptionRefused) as err:  # a stale authorisation spends nothing
        flow.terminal.complete_redemption(authorised)
    assert err.value.reason == "card_removed"
    counter.do(flow.confirm)  # nothing to confirm any more
    assert flow.step is Step.HOLDER
    assert flow.terminal.recent() == [] and card.state.tx_counter == 0


def test_card_lifted_after_the_pin_ends_the_session(counter: Counter) -> None:
    flow = counter.flow
    counter.serve()
    counter.do(lambda: flow.choose(c.Program.BLT))
    counter.do(lambda: flow.amount_chosen(50_000))
    counter.do(lambda: flow.pin_entered(DEMO_PIN))
    forgotten = counter.view.forgotten
    counter.do(flow.card_removed)
    assert flow.step is Step.HOME and flow.notice is Notice.CARD_LIFTED
    assert flow.tap is None and flow.authorised is None and counter.view.forgotten > forgotten
    assert flow.terminal.recent() == []


def test_card_swapped_between_verify_and_debit_fails_closed(counter: Counter) -> None:
    """Another card under the same session (a relay's swap): it cannot check the DEBIT's MAC, nothing
    is taken from either card and nothing is committed."""

    class Swappable:  # what the reader's field holds: the relay decides
        def __init__(self, card: ReferenceCard) -> None:
            self.card, self.atr = card, card.atr

        def reset(self) -> None:
            self.card.reset()

        def transmit(self, apdu: bytes) -> bytes:
            return bytes(self.card.transmit(apdu))

    flow = counter.flow
    counter.do(lambda: flow.login("rina", "1234"))
    siti = counter.card("siti")
    field_ = Swappable(siti)
    counter.tap(field_)
    counter.do(lambda: flow.choose(c.Program.BLT))
    counter.do(lambda: flow.amount_chosen(100_000))
    counter.do(lambda: flow.pin_entered(DEMO_PIN))
    assert flow.step is Step.CONFIRM
    darto = counter.card("darto")
    darto.reset()
    field_.card = darto
    darto_before = darto.state.tx_counter
    counter.do(flow.confirm)
    assert flow.result is ResultKind.INTERRUPTED  # the outcome is the card's log to tell: nothing printed
    assert all(e.state is not State.COMMITTED for e in flow.terminal.recent())
    assert siti.state.grant_for(c.Program.BLT).remaining == 600_000  # type: ignore[union-attr]
    assert darto.state.tx_counter == darto_before
    counter.do(flow.card_removed)
    counter.do(flow.after_result)
    counter.tap(siti)  # Siti's own log settles it: never debited
    assert [e.state for e in flow.terminal.recent()] == [State.ABANDONED]
    assert siti.state.grant_for(c.Program.BLT).remaining == 600_000  # type: ignore[union-attr]


def test_card_pulled_during_the_debit_is_settled_at_the_next_tap(counter: Counter) -> None:
    class TornAfterDebit:
        def __init__(self, card: ReferenceCard) -> None:
            self.card, self.atr = card, card.atr

        def reset(self) -> None:
            self.card.reset()

        def transmit(self, apdu: bytes) -> bytes:
            response = bytes(self.card.transmit(apdu))
            if apdu[1] == c.INS_DEBIT:
                raise CardTorn("pulled after the debit")
            return response

    flow = counter.flow
    counter.do(lambda: flow.login("rina", "1234"))
    siti = counter.card("siti")
    counter.tap(TornAfterDebit(siti))
    counter.do(lambda: flow.choose(c.Program.BLT))
    counter.do(lambda: flow.amount_chosen(200_000))
    counter.do(lambda: flow.pin_entered(DEMO_PIN))
    counter.do(flow.confirm)
    assert flow.step is Step.RESULT and flow.result is ResultKind.INTERRUPTED
    assert [e.state for e in flow.terminal.recent()] == [State.INTENT]
    counter.do(flow.card_removed)
    assert flow.step is Step.RESULT  # the clerk reads "tap again to finish" first
    counter.do(flow.after_result)
    assert flow.step is Step.HOME
    counter.tap(siti)
    assert flow.step is Step.HOLDER and flow.settled is not None and flow.settled.recovered
    assert [e.state for e in flow.terminal.recent()] == [State.COMMITTED]


def test_refused_card_then_removed(counter: Counter) -> None:
    flow = counter.flow
    counter.serve("agus")  # revoked
    assert flow.step is Step.REFUSAL and flow.refused is not None and flow.refused.tap is not None
    counter.do(flow.card_removed)
    assert flow.step is Step.HOME and flow.notice is None


def test_late_answer_of_a_lifted_card_is_dropped(counter: Counter) -> None:
    flow = counter.flow
    counter.do(lambda: flow.login("rina", "1234"))
    siti = counter.card("siti")
    event = CardInserted("R", b"", lambda: InProcessConnection(siti, (CardTorn,)), sequence=1)
    flow.card_inserted(event)
    assert flow.step is Step.READING
    flow.card_removed()  # before the read's answer comes back
    counter.worker.drain()
    assert flow.step is Step.HOME and flow.tap is None


def test_card_arriving_during_the_clerks_tasks_is_read_on_the_way_home(counter: Counter) -> None:
    flow = counter.flow
    counter.do(lambda: flow.login("rina", "1234"))
    counter.do(flow.open_transactions)
    assert flow.step is Step.TRANSACTIONS
    counter.tap(counter.card("siti"))
    assert flow.step is Step.TRANSACTIONS and flow.card_unread
    counter.do(flow.go_home)
    assert flow.step is Step.HOLDER and flow.tap is not None


def test_blocked_pin_then_unblock_with_the_ektp_nik(counter: Counter) -> None:
    flow = counter.flow
    maria = counter.card("maria")
    session = KhbsSession(InProcessConnection(maria, (CardTorn,)))
    session.select()
    for _ in range(3):
        with pytest.raises(InvalidPinError):
            session.verify_pin("000000", card_key(session))
    maria.reset()
    counter.serve("maria")
    counter.do(lambda: flow.choose(c.Program.KESEHATAN))
    assert flow.step is Step.REFUSAL and flow.refused == Refused(pin_blocked=True)
    counter.do(flow.start_pin_reset)
    assert flow.step is Step.RESET
    counter.do(lambda: flow.reset_checked("6202016309880003"))  # a mistyped NIK: the card refuses it
    counter.do(lambda: flow.pin_entered("2468"))
    assert flow.step is Step.NEW_PIN_AGAIN
    counter.do(lambda: flow.pin_entered("2468"))
    assert flow.step is Step.RESET and flow.reset_problem is ResetProblem.NIK_MISMATCH
    nik = next(d.holder.nik for d in DEMO_CARDS if d.name == "maria")
    counter.do(lambda: flow.reset_checked(nik))
    counter.do(lambda: flow.pin_entered("2468"))
    counter.do(lambda: flow.pin_entered("1357"))  # a typo: start again
    assert flow.step is Step.NEW_PIN and flow.pin_mismatch
    counter.do(lambda: flow.pin_entered("2468"))
    counter.do(lambda: flow.pin_entered("2468"))
    assert flow.step is Step.RESULT and flow.result is ResultKind.PIN_RESET


def test_reprint_void_and_end_of_day(counter: Counter) -> None:
    flow = counter.flow
    counter.serve()
    counter.do(lambda: flow.choose(c.Program.BLT))
    counter.do(lambda: flow.amount_chosen(100_000))
    counter.do(lambda: flow.pin_entered(DEMO_PIN))
    counter.do(flow.confirm)
    entry = flow.last_entry
    assert entry is not None
    counter.do(flow.reprint_last)
    assert counter.receipts.printed == [(entry.id, False), (entry.id, True)]
    counter.do(flow.go_home)
    counter.do(flow.open_transactions)
    assert [e.id for e in flow.entries] == [entry.id]
    counter.do(lambda: flow.reprint(entry.id))
    assert flow.step is Step.TRANSACTIONS and flow.tx_message == (TxMessage.REPRINTED, None)
    counter.do(lambda: flow.ask_void(entry.id))
    assert flow.step is Step.VOID and flow.void_entry is not None and flow.void_entry.id == entry.id
    counter.do(lambda: flow.void(entry.id, "Jumlah salah dimasukkan"))
    assert flow.tx_message == (TxMessage.VOIDED, None)
    counter.do(lambda: flow.void(entry.id, "again"))
    assert flow.tx_message == (TxMessage.VOID_REFUSED, None)
    counter.do(flow.open_report)
    assert flow.step is Step.REPORT and flow.report is not None and flow.report[0].voids == 1
    counter.do(flow.print_report)
    assert flow.report_printed is not None and flow.report_printed.ok and len(counter.reports.reports) == 1


def test_idle_logout_forgets_the_holder_and_is_recorded(counter: Counter) -> None:
    flow = counter.flow
    counter.serve()
    counter.do(lambda: flow.choose(c.Program.BLT))
    counter.do(lambda: flow.amount_chosen(50_000))
    counter.do(lambda: flow.pin_entered(DEMO_PIN))
    assert flow.step is Step.CONFIRM
    counter.clock[0] += 89
    counter.do(flow.tick)
    assert flow.step is Step.CONFIRM
    counter.clock[0] += 1
    counter.do(flow.tick)
    assert flow.step is Step.LOGIN and flow.clerk is None and flow.notice is Notice.IDLE_LOGOUT
    assert flow.tap is None and flow.authorised is None and flow.entitlement is None
    failures = flow.terminal.ledger.list_failures()
    assert [(f.reason, f.clerk_id) for f in failures] == [("clerk_idle_logout", "rina")]
    assert flow.terminal.recent() == []
    counter.do(lambda: flow.login("rina", "1234"))  # the card still there is read afresh
    assert flow.step is Step.HOLDER


def test_no_idle_logout_while_logged_out_or_busy(counter: Counter) -> None:
    flow = counter.flow
    counter.clock[0] += 1000
    counter.do(flow.tick)
    assert flow.step is Step.LOGIN and flow.terminal.ledger.list_failures() == []
    counter.serve()
    counter.do(lambda: flow.choose(c.Program.BLT))
    counter.do(lambda: flow.amount_chosen(50_000))
    counter.do(lambda: flow.pin_entered(DEMO_PIN))
    flow.confirm()  # the DEBIT job is queued, not yet run
    counter.clock[0] += 1000
    flow.tick()
    assert flow.step is Step.PROCESSING and flow.clerk is not None
    counter.worker.drain()
    assert flow.step is Step.RESULT


def test_lockout_is_recorded(counter: Counter) -> None:
    flow, now = counter.flow, [float(NOW)]
    flow.clerks.clock = lambda: now[0]
    for pin in ("1111", "2222", "3333", "4444", "5555"):
        now[0] += 60  # past each wait
        counter.do(lambda pin=pin: flow.login("rina", pin))  # type: ignore[misc]
    assert flow.step is Step.LOGIN and flow.login_result is not None and flow.login_result.locked_now
    failures = flow.terminal.ledger.list_failures()
    assert [(f.reason, f.clerk_id) for f in failures] == [("clerk_locked_out", "rina")]
    now[0] += 60
    counter.do(lambda: flow.login("rina", "1234"))  # locked: the right PIN is not even checked
    assert flow.clerk is None and flow.login_result is not None

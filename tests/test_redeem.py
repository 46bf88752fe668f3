"""Redemption at the counter through the real session and reference cards (in process)."""

from __future__ import annotations

import datetime as dt

import pytest

from card_applet_spec import constants as c
from card_applet_spec.reference_card import CardTorn
from province.clock import WIB
from terminal.ledger import ReceiptState, State
from terminal.redeem import DebitInterrupted, RedemptionRefused
from terminal.verify import Reason, Verdict
from tests.support.counter import RecordingPrinter, service
from tests.support.world import NOW, PIN, StaticStatuses, connect, make_card


def test_cash_redemption_is_signed_stored_and_printed() -> None:
    card, _ = make_card()
    printer = RecordingPrinter()
    svc = service(printer=printer)
    session = connect(card)
    done = svc.redeem(session, c.Program.BLT, 250_000, PIN)
    assert session.apdu_count == 5
    e = done.entry
    assert (e.state, e.amount, e.balance_after, e.tx_counter) == (State.COMMITTED, 250_000, 350_000, 1)
    assert e.receipt_state is ReceiptState.PRINTED and printer.printed == [(e.id, False)]
    assert e.nik_masked == "6271********0001" and e.record_id
    assert card.state.grant_for(c.Program.BLT).remaining == 350_000  # type: ignore[union-attr]


def test_check_in_for_eligibility_service() -> None:
    card, _ = make_card()
    done = service().redeem(connect(card), c.Program.KESEHATAN, 0, PIN)
    assert done.entry.state is State.COMMITTED and done.entry.amount == 0
    assert card.state.tx_counter == 1


@pytest.mark.parametrize(
    ("program", "amount", "reason"),
    [
        (c.Program.BLT, 700_000, "insufficient_balance"),
        (c.Program.PERUMAHAN_GURU, 0, "not_enrolled"),
    ],
)
def test_refusals_are_recorded_with_their_reason(program: int, amount: int, reason: str) -> None:
    card, _ = make_card()
    svc = service()
    with pytest.raises(RedemptionRefused) as err:
        svc.redeem(connect(card), program, amount, PIN)
    assert err.value.reason == reason
    assert [f.reason for f in svc.ledger.list_failures()] == [reason]
    assert card.state.tx_counter == 0


def test_wrong_pin_counts_down_and_blocks() -> None:
    card, _ = make_card()
    svc = service()
    tries = []
    for _ in range(3):
        with pytest.raises(RedemptionRefused) as err:
            svc.redeem(connect(card), c.Program.BLT, 1000, "000000")
        tries.append((err.value.reason, err.value.tries_left))
    assert tries == [("wrong_pin", 2), ("wrong_pin", 1), ("wrong_pin", 0)]
    with pytest.raises(RedemptionRefused) as err:
        svc.redeem(connect(card), c.Program.BLT, 1000, PIN)
    assert err.value.reason == "pin_blocked"
    assert sorted(f.reason for f in svc.ledger.list_failures()) == ["pin_blocked"] + ["wrong_pin"] * 3


def test_revoked_card_refused_and_recorded() -> None:
    card, _ = make_card(status_index=5)
    svc = service(statuses=StaticStatuses({5: 1}))
    with pytest.raises(RedemptionRefused) as err:
        svc.redeem(connect(card), c.Program.BLT, 1000, PIN)
    assert err.value.reason is Reason.REVOKED


def test_stale_data_refuses_cash_but_allows_health() -> None:
    card, _ = make_card()
    svc = service(statuses=StaticStatuses(issued_at=NOW - 3 * 86400))
    with pytest.raises(RedemptionRefused) as err:
        svc.redeem(connect(card), c.Program.BLT, 1000, PIN)
    assert err.value.reason is Reason.REVOCATION_DATA_STALE
    assert svc.redeem(connect(card), c.Program.KESEHATAN, 0, PIN).entry.state is State.COMMITTED


def test_printer_fault_keeps_the_redemption_and_queues_the_receipt() -> None:
    card, _ = make_card()
    printer = RecordingPrinter(fail_with="paper_out")
    svc = service(printer=printer)
    done = svc.redeem(connect(card), c.Program.SEMBAKO, 5_000, PIN)
    assert done.entry.state is State.COMMITTED and not done.receipt_printed
    assert done.entry.receipt_state is ReceiptState.FAILED
    assert [f.reason for f in svc.ledger.list_failures()] == ["printer_paper_out"]
    assert [e.id for e in svc.ledger.receipts_pending()] == [done.entry.id]
    printer.fail_with = None
    assert svc.print_receipt(done.entry, copy=True) == (True, None)
    assert svc.ledger.receipts_pending() == []


def test_void_is_a_compensating_record() -> None:
    card, _ = make_card()
    svc = service()
    done = svc.redeem(connect(card), c.Program.BLT, 100_000, PIN)
    svc.ledger.void(done.entry.id, "salah jumlah / wrong amount", "clerk-7")
    entry = svc.ledger.get(done.entry.id)
    assert entry.state is State.COMMITTED and entry.voided  # the original stays
    totals = svc.ledger.day_totals(dt.date(2027, 1, 1), WIB)
    assert totals.voids == 1 and totals.per_program == {}


class _Tear:
    """Card-store fault hook: the card leaves the field at ``point`` of the next armed write."""

    def __init__(self, point: str) -> None:
        self.point, self.armed, self.used = point, False, False

    def arm_after_intent(self, step: str) -> None:
        if step == "after_intent" and not self.used:
            self.armed = self.used = True

    def __call__(self, point: str) -> None:
        if self.armed and point == self.point:
            self.armed = False
            raise CardTorn(point)


@pytest.mark.parametrize("point", ["write_begin", "before_rename", "after_rename"])
def test_card_torn_during_debit_is_settled_at_next_tap(point: str) -> None:
    card, _ = make_card()
    tear = _Tear(point)
    card.store.fault = tear  # type: ignore[attr-defined]
    svc = service(fault=tear.arm_after_intent)
    with pytest.raises(DebitInterrupted):
        svc.redeem(connect(card), c.Program.BLT, 100_000, PIN)
    card.reset()  # power back: RAM lost, EEPROM as committed
    debited = point == "after_rename"
    assert card.state.tx_counter == (1 if debited else 0)
    result, report = svc.tap(connect(card))
    assert result.verdict is Verdict.VALID
    assert (len(report.recovered), len(report.abandoned)) == ((1, 0) if debited else (0, 1))
    committed = svc.ledger.committed_for_card(card.state.serial)
    assert len(committed) == card.state.tx_counter
    assert [e.record for e in committed] == [entry.record for entry in card.state.log]
    # and the counter goes on normally
    svc.redeem(connect(card), c.Program.BLT, 1_000, PIN)
    assert len(svc.ledger.committed_for_card(card.state.serial)) == card.state.tx_counter

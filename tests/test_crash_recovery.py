"""Fault injection: the redemption process killed at every step, the card pulled at every point.

After a restart and the next tap of the card, the ledger equals the card's log and counters: no
redemption lost, none doubled.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from card_applet_spec import constants as c
from card_applet_spec.reference_card import FileStore, ReferenceCard
from terminal.card.connection import CardRemovedError, InProcessConnection
from terminal.card.session import KhbsSession
from terminal.ledger import State
from terminal.redeem import FAULT_POINTS, DebitInterrupted
from terminal.verify import Verdict
from tests.support.counter import service
from tests.support.crash_child import CRASH_EXIT
from tests.support.world import PIN, connect, make_card

ROOT = Path(__file__).resolve().parents[1]
START = 600_000
AMOUNT = 100_000


def assert_ledger_equals_card(svc, card: ReferenceCard) -> None:  # type: ignore[no-untyped-def]
    serial = card.state.serial
    assert svc.ledger.open_intents(serial) == []
    committed = svc.ledger.committed_for_card(serial)
    assert len(committed) == card.state.tx_counter
    assert sorted(e.record for e in committed) == sorted(e.record for e in card.state.log)
    spent = sum(e.amount for e in committed if e.program == c.Program.BLT)
    assert card.state.grant_for(c.Program.BLT).remaining == START - spent  # type: ignore[union-attr]


@pytest.mark.parametrize("step", FAULT_POINTS)
def test_process_killed_at_each_step(tmp_path: Path, step: str) -> None:
    card_file, db = tmp_path / "card.cbor", tmp_path / "ledger.db"
    make_card(path=card_file)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run(
        [sys.executable, "-m", "tests.support.crash_child", str(card_file), str(db), step],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == CRASH_EXIT, child.stderr.decode()

    card = ReferenceCard(FileStore(card_file))  # the card, carried to the next terminal session
    svc = service(db)
    debited = step not in ("before_intent", "after_intent")
    assert card.state.tx_counter == int(debited)
    result, report = svc.tap(connect(card))
    assert result.verdict is Verdict.VALID
    if step == "after_debit":  # died before storing the record: recovered from the card's log
        assert len(report.recovered) == 1
        assert [e.receipt_state.value for e in svc.ledger.committed_for_card(card.state.serial)] == [
            "printed"
        ]
    if step == "after_intent":
        assert len(report.abandoned) == 1
    assert_ledger_equals_card(svc, card)
    svc.redeem(connect(card), c.Program.BLT, AMOUNT, PIN)  # business as usual
    assert_ledger_equals_card(svc, card)


class _DropDebitResponse:
    """The card executes DEBIT, then leaves before its answer reaches the terminal."""

    def __init__(self, card: ReferenceCard) -> None:
        self.inner = InProcessConnection(card)

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.inner.send_and_receive(apdu)
        if apdu[1] == c.INS_DEBIT:
            raise CardRemovedError("card left after DEBIT")
        return data, sw

    def close(self) -> None:
        self.inner.close()


def test_card_pulled_after_debit_before_answer(tmp_path: Path) -> None:
    card, _ = make_card(path=tmp_path / "card.cbor")
    svc = service(tmp_path / "ledger.db")
    with pytest.raises(DebitInterrupted) as err:
        svc.redeem(KhbsSession(_DropDebitResponse(card)), c.Program.BLT, AMOUNT, PIN)
    assert svc.ledger.get(err.value.redemption_id).state is State.INTENT
    card.reset()
    _, report = svc.tap(connect(card))
    assert report.recovered == (err.value.redemption_id,)
    assert_ledger_equals_card(svc, card)


def test_intent_on_one_card_untouched_by_another(tmp_path: Path) -> None:
    a, _ = make_card(path=tmp_path / "a.cbor")
    b, _ = make_card("budi", serial=2, path=tmp_path / "b.cbor")
    svc = service(tmp_path / "ledger.db")
    with pytest.raises(DebitInterrupted):
        svc.redeem(KhbsSession(_DropDebitResponse(a)), c.Program.BLT, AMOUNT, PIN)
    svc.redeem(connect(b), c.Program.BLT, AMOUNT, PIN)
    assert len(svc.ledger.open_intents(a.state.serial)) == 1
    a.reset()
    svc.tap(connect(a))
    assert_ledger_equals_card(svc, a)
    assert_ledger_equals_card(svc, b)

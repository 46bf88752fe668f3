"""The main terminal flows through the real stack: reference card → vpcd → pcscd → pyscard → session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from card_applet_spec import constants as c
from card_applet_spec.reference_card import CardTorn, FileStore, ReferenceCard
from drivers.pcsc import PcscConnection, wait_for_card
from terminal.card.session import KhbsSession
from terminal.ledger import State
from terminal.redeem import DebitInterrupted
from terminal.tap import check_tap
from terminal.verify import Reason, Verdict
from tests.conftest import READER_STATE_TIMEOUT_S, VPCD_READER
from tests.support.counter import service
from tests.support.world import NOW, PIN, StaticStatuses, make_card, verifier

pytestmark = pytest.mark.pcsc
ConnectCard = Callable[[ReferenceCard], PcscConnection]


def test_check_tap_is_three_apdus_and_valid(connect_card: ConnectCard) -> None:
    card, _ = make_card()
    session = KhbsSession(connect_card(card))
    result = check_tap(session, verifier(), NOW)
    assert result.verdict is Verdict.VALID
    assert session.apdu_count == 3
    assert result.entitlements[0].remaining_text == "Rp 600.000"


def test_revoked_card_through_pcsc(connect_card: ConnectCard) -> None:
    card, _ = make_card(status_index=9)
    result = check_tap(KhbsSession(connect_card(card)), verifier(StaticStatuses({9: 1})), NOW)
    assert (result.verdict, result.result.reason) == (Verdict.INVALID, Reason.REVOKED)


def test_redemption_through_pcsc(connect_card: ConnectCard, tmp_path: Path) -> None:
    card, _ = make_card(path=tmp_path / "card.cbor")
    svc = service(tmp_path / "ledger.db")
    session = KhbsSession(connect_card(card))
    done = svc.redeem(session, c.Program.BLT, 200_000, PIN)
    assert session.apdu_count == 5
    assert (done.entry.state, done.entry.balance_after, done.entry.tx_counter) == (
        State.COMMITTED,
        400_000,
        1,
    )
    assert card.state.grant_for(c.Program.BLT).remaining == 400_000  # type: ignore[union-attr]


class _PulledAtDebit(ReferenceCard):
    """Leaves the reader as its DEBIT is committed (after the write: the debit happened)."""

    def __init__(self, path: Path) -> None:
        super().__init__(FileStore(path))
        self.pull = True

    def transmit(self, apdu: bytes) -> bytes:
        response = super().transmit(apdu)
        if self.pull and apdu[1] == c.INS_DEBIT:
            self.pull = False
            raise CardTorn("card left the field after DEBIT")
        return response


def test_card_pulled_during_debit_is_settled_at_next_tap(
    connect_card: ConnectCard, vpcd_slot: object, tmp_path: Path
) -> None:
    make_card(path=tmp_path / "card.cbor")
    card = _PulledAtDebit(tmp_path / "card.cbor")
    svc = service(tmp_path / "ledger.db")
    with pytest.raises(DebitInterrupted) as err:
        svc.redeem(KhbsSession(connect_card(card)), c.Program.BLT, 100_000, PIN)
    assert svc.ledger.get(err.value.redemption_id).state is State.INTENT
    vpcd_slot.remove()  # type: ignore[attr-defined]
    assert wait_for_card(VPCD_READER, present=False, timeout=READER_STATE_TIMEOUT_S)
    card.reset()
    result, report = svc.tap(KhbsSession(connect_card(card)))
    assert result.verdict is Verdict.VALID
    assert report.recovered == (err.value.redemption_id,)
    assert len(svc.ledger.committed_for_card(card.state.serial)) == card.state.tx_counter == 1

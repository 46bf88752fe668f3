"""The adversary between card and reader, through the real stack (card → vpcd → pcscd → pyscard →
session): an emulator in the reader's field that relays to a genuine card and changes what passes.

The in-process versions of these attacks, with every field and status word, are in
``tests/test_redeem_adversary.py``; here they run once through PC/SC, where timing, chaining and the
reader's own status handling could hide or change them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from card_applet_spec import constants as c
from card_applet_spec.reference_card import FileStore, ReferenceCard
from drivers.pcsc import PcscConnection, wait_for_card
from terminal.card.session import KhbsSession
from terminal.failures import FailureReason
from terminal.ledger import State
from terminal.redeem import DebitInterrupted, DebitNotTrusted
from terminal.verify import Verdict
from tests.conftest import READER_STATE_TIMEOUT_S, VPCD_READER
from tests.support.counter import RecordingPrinter, service
from tests.support.relay import remac, shift_time
from tests.support.world import NOW, PIN, make_card

pytestmark = pytest.mark.pcsc
ConnectCard = Callable[[ReferenceCard], PcscConnection]
Rewrite = Callable[[bytes], bytes]


class FieldRelay(ReferenceCard):
    """A genuine card behind an emulator: the first DEBIT is rewritten on its way in (``command``)
    and/or its answer replaced after the card executed it (``answer``: data + SW)."""

    def __init__(self, path: Path, *, command: Rewrite | None = None, answer: bytes | None = None) -> None:
        super().__init__(FileStore(path))
        self.command, self.answer = command, answer
        self.armed = True

    def transmit(self, apdu: bytes) -> bytes:
        if not (self.armed and len(apdu) > 1 and apdu[1] == c.INS_DEBIT):
            return super().transmit(apdu)
        self.armed = False
        if self.command is not None:  # a cloned-key emulator re-MACs what it changed (tests/support/relay.py)
            key = self._s.debit_key
            apdu = remac(key, self.command(apdu)) if key is not None else self.command(apdu)
        response = super().transmit(apdu)
        return self.answer if self.answer is not None else response


def _reasons(svc: object) -> list[str]:
    return sorted(f.reason for f in svc.ledger.list_failures(limit=None))  # type: ignore[attr-defined]


def test_relay_shifting_the_signed_time_gets_no_receipt_through_pcsc(
    connect_card: ConnectCard, tmp_path: Path
) -> None:
    make_card(path=tmp_path / "card.cbor")
    card = FieldRelay(tmp_path / "card.cbor", command=shift_time(-3600))
    printer = RecordingPrinter()
    svc = service(tmp_path / "ledger.db", printer=printer)
    with pytest.raises(DebitNotTrusted) as err:
        svc.redeem(KhbsSession(connect_card(card)), c.Program.BLT, 100_000, PIN)
    assert err.value.fields == ("terminal_time",)
    entry = svc.ledger.get(err.value.redemption_id)
    assert entry.state is State.UNRESOLVED and entry.terminal_time == NOW
    assert printer.printed == [] and svc.ledger.committed_for_card(card.state.serial) == []
    assert _reasons(svc) == [FailureReason.RECORD_MISMATCH]


def test_a_wrong_data_answer_after_the_commit_is_settled_from_the_log_through_pcsc(
    connect_card: ConnectCard, vpcd_slot: object, tmp_path: Path
) -> None:
    """The card debited, the emulator says 6A80 ("wrong data": not a before-commit refusal for a
    non-zero amount): the intent stays open, and the next tap settles it from the card's signed log."""
    make_card(path=tmp_path / "card.cbor")
    card = FieldRelay(tmp_path / "card.cbor", answer=b"\x6a\x80")
    svc = service(tmp_path / "ledger.db")
    with pytest.raises(DebitInterrupted) as err:
        svc.redeem(KhbsSession(connect_card(card)), c.Program.BLT, 100_000, PIN)
    rid = err.value.redemption_id
    assert svc.ledger.get(rid).state is State.INTENT  # not "refused": the card may have debited
    assert card.state.tx_counter == 1
    vpcd_slot.remove()  # type: ignore[attr-defined]
    assert wait_for_card(VPCD_READER, present=False, timeout=READER_STATE_TIMEOUT_S)
    card.reset()
    result, report = svc.tap(KhbsSession(connect_card(card)))
    assert result.verdict is Verdict.VALID and report.recovered == (rid,)
    assert svc.ledger.get(rid).state is State.COMMITTED
    assert FailureReason.DEBIT_OUTCOME_UNKNOWN in _reasons(svc)

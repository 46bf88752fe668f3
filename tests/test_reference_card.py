"""The reference card's storage: state survives restarts, and tearing (the card pulled in the middle of
a write) leaves the old state or the new one — never half — at every point of the write."""

from __future__ import annotations

from pathlib import Path

import pytest

from card_applet_spec import constants as c
from card_applet_spec.reference_card import CardTorn, FileStore, ReferenceCard
from card_applet_spec.reference_card.state import StateFileError, state_from_bytes
from terminal.card.connection import CardRemovedError
from tests.support.world import NOW, PIN, connect, make_card

SELECT = bytes([0, c.INS_SELECT, 4, 0, len(c.AID)]) + c.AID


def select_and_verify(card: ReferenceCard, pin: str = PIN) -> None:
    """SELECT, then VERIFY the PIN enciphered to the card key (SPEC §5.7) through a session."""
    session = connect(card)
    session.select()
    session.read_credential()
    session.verify_pin(pin)


def debit_apdu(amount: int, counter: int) -> bytes:
    data = bytes([c.Program.BLT]) + amount.to_bytes(4, "big") + b"T6271001" + b"\x01" * 8
    data += NOW.to_bytes(4, "big") + counter.to_bytes(4, "big")
    return bytes([0x80, c.INS_DEBIT, 0, 0, len(data)]) + data + b"\x00"


class TearAt:
    def __init__(self, point: str) -> None:
        self.point, self.armed = point, False

    def __call__(self, point: str) -> None:
        if self.armed and point == self.point:
            self.armed = False
            raise CardTorn(point)


@pytest.mark.parametrize(
    ("point", "debited"),
    [("write_begin", False), ("write_half", False), ("before_rename", False), ("after_rename", True)],
)
def test_tearing_during_debit_leaves_old_or_new_state(tmp_path: Path, point: str, debited: bool) -> None:
    path = tmp_path / "card.cbor"
    make_card(path=path)
    tear = TearAt(point)
    card = ReferenceCard(FileStore(path, fault=tear))
    before = card.state
    select_and_verify(card)
    tear.armed = True
    with pytest.raises(CardTorn):
        card.transmit(debit_apdu(100_000, 0))
    after = ReferenceCard(FileStore(path)).state  # power back on: what the EEPROM holds
    if debited:
        assert (after.tx_counter, len(after.log)) == (1, 1)
        assert after.grant_for(c.Program.BLT).remaining == 500_000  # type: ignore[union-attr]
    else:
        assert after == before
    # whatever the tear left behind (a half-written temporary file), the card works on
    card = ReferenceCard(FileStore(path))
    select_and_verify(card)
    assert card.transmit(debit_apdu(1_000, after.tx_counter))[-2:] == b"\x90\x00"


def test_pin_try_is_spent_even_if_the_card_is_pulled_before_the_answer(tmp_path: Path) -> None:
    path = tmp_path / "card.cbor"
    make_card(path=path)

    class PullAfterDecrement:
        calls = 0

        def __call__(self, point: str) -> None:
            if point == "after_rename":
                self.calls += 1
                if self.calls == 1:  # the decrement is committed; the comparison never runs
                    raise CardTorn(point)

    card = ReferenceCard(FileStore(path, fault=PullAfterDecrement()))
    with pytest.raises(CardRemovedError):
        select_and_verify(card, "000000")
    assert ReferenceCard(FileStore(path)).state.pin_tries == c.PIN_MAX_TRIES - 1


def test_card_file_survives_restart_and_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "card.cbor"
    card, issued = make_card(path=path)
    again = ReferenceCard(FileStore(path))
    assert again.state == card.state and again.state.serial == issued.serial
    with pytest.raises(StateFileError):
        state_from_bytes(b"\xa1\x61v\x02")
    with pytest.raises(StateFileError):
        state_from_bytes(b"not cbor at all")

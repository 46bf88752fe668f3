"""Batch issuance on two readers at once through a real pcscd: the vpcd virtual readers "Virtual PCD 00 00"
and "Virtual PCD 00 01", each with its own blank reference cards put on and taken off as an operator
would (kartu.issuance.pcsc_slot's take-off wait included)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from card_applet_spec import constants as c
from card_applet_spec.credential import decode_credential
from card_applet_spec.reference_card import ReferenceCard
from kartu.issuance import IssueRequest, ReaderSlot, pcsc_slot
from terminal.card.connection import Connection
from tests.conftest import READER_STATE_TIMEOUT_S, VPCD_PORT, VPCD_READER
from tests.server.helpers import PIN
from tests.server.test_issuance_parallel import NIKS, station_with_citizens

if TYPE_CHECKING:
    from drivers.pcscd import PcscdService
    from drivers.vpcd import VirtualCardSlot

pytestmark = pytest.mark.pcsc

SECOND_READER = "Virtual PCD 00 01"


@pytest.fixture
def two_slots(pcscd: PcscdService) -> Iterator[list[tuple[str, VirtualCardSlot]]]:
    from drivers.pcsc import wait_for_card
    from drivers.vpcd import VirtualCardSlot

    readers = [(VPCD_READER, VPCD_PORT), (SECOND_READER, VPCD_PORT + 1)]
    for name, _port in readers:
        if not wait_for_card(name, present=False, timeout=READER_STATE_TIMEOUT_S):
            pytest.fail(f"{name!r} still holds a card from something else", pytrace=False)
    slots = [(name, VirtualCardSlot(port=port)) for name, port in readers]
    yield slots
    for name, slot in slots:
        slot.close()
        assert wait_for_card(name, present=False, timeout=READER_STATE_TIMEOUT_S), f"{name} did not empty"


def operated(
    name: str, slot: VirtualCardSlot, cards: list[ReferenceCard], start: threading.Barrier
) -> ReaderSlot:
    """``pcsc_slot(name)`` with an operator: a new blank card is put on before each connect, and taken
    off after each card (then the slot's own wait sees the reader empty)."""
    real = pcsc_slot(name, timeout=READER_STATE_TIMEOUT_S)
    first = [True]

    def next_card() -> Connection:
        if first[0]:
            first[0] = False
            start.wait(timeout=10)
        counter = itertools.count(1)
        seed = 7000 + 100 * len(cards) + (1 if name == SECOND_READER else 0)
        card = ReferenceCard(rng=lambda n: (seed * 1_000_003 + next(counter)).to_bytes(n, "big"))
        cards.append(card)
        slot.insert(card)
        return real.next_card()

    def release() -> None:
        slot.remove()
        real.release()

    return ReaderSlot(name, next_card, release)


def test_two_vpcd_readers_personalise_concurrently(
    tmp_path: Path, two_slots: list[tuple[str, VirtualCardSlot]]
) -> None:
    station = station_with_citizens(tmp_path)
    start = threading.Barrier(2)
    cards: dict[str, list[ReferenceCard]] = {name: [] for name, _slot in two_slots}
    readers = [operated(name, slot, cards[name], start) for name, slot in two_slots]
    outcomes, figures = station.issue_parallel([IssueRequest(nik, PIN) for nik in NIKS], readers)
    assert [o.error for o in outcomes] == [None] * 6
    assert figures.issued == 6 and all(n >= 1 for n in figures.per_reader.values()), figures
    assert {name: len(made) for name, made in cards.items()} == figures.per_reader
    for made in cards.values():
        assert all(card.state.life_cycle == c.LifeCycle.OPERATIONAL for card in made)
    on_cards = {
        decode_credential(card.state.credential).claims.card_serial.hex()
        for m in cards.values()
        for card in m
    }
    assert on_cards == {o.result.serial for o in outcomes if o.result}

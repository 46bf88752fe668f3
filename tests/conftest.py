"""Shared fixtures. PC/SC: a real pcscd with the vpcd virtual reader, and a card slot on it.

PC/SC tests fail (never skip) when pcscd or vsmartcard-vpcd is missing: CI installs both. Driver imports
happen inside the fixtures, so test modules that do not use PC/SC never need pyscard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from drivers.pcsc import PcscConnection
    from drivers.pcscd import PcscdService
    from drivers.vpcd import VirtualCard, VirtualCardSlot

VPCD_READER = "Virtual PCD 00 00"
VPCD_PORT = 35963
#: pcscd polls presence every ~400 ms: a card change shows within this many seconds.
READER_STATE_TIMEOUT_S = 3.0


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PcscdService]:
    """The machine's pcscd (reused when running; else ``pcscd -f`` started here and stopped at the end)."""
    from drivers.pcscd import PcscdUnavailableError, ensure_pcscd

    log_path = tmp_path_factory.mktemp("pcscd") / "pcscd.log"
    try:
        service = ensure_pcscd(VPCD_READER, log_path=log_path)
    except PcscdUnavailableError as exc:
        pytest.fail(f"PC/SC tests need pcscd with the vpcd reader: {exc}", pytrace=False)
    yield service
    service.stop()


@pytest.fixture
def vpcd_slot(pcscd: PcscdService) -> Iterator[VirtualCardSlot]:
    """An empty card slot on "Virtual PCD 00 00"; at teardown the card is removed and the reader is empty."""
    from drivers.pcsc import wait_for_card
    from drivers.vpcd import VirtualCardSlot

    if not wait_for_card(VPCD_READER, present=False, timeout=READER_STATE_TIMEOUT_S):
        pytest.fail(f"{VPCD_READER!r} still holds a card from something else", pytrace=False)
    slot = VirtualCardSlot(port=VPCD_PORT)
    yield slot
    slot.close()
    assert wait_for_card(VPCD_READER, present=False, timeout=READER_STATE_TIMEOUT_S), "reader did not empty"


@pytest.fixture
def connect_card(vpcd_slot: VirtualCardSlot) -> Iterator[Callable[[VirtualCard], PcscConnection]]:
    """``connect_card(card)``: insert ``card`` into the vpcd slot and return a PcscConnection to it."""
    from drivers.pcsc import connect

    opened: list[PcscConnection] = []

    def insert_and_connect(card: VirtualCard) -> PcscConnection:
        vpcd_slot.insert(card)
        connection = connect(VPCD_READER, timeout=READER_STATE_TIMEOUT_S)
        opened.append(connection)
        return connection

    yield insert_and_connect
    for connection in opened:
        connection.close()

"""The PC/SC driver end to end: reference card → vpcd → pcscd → pyscard → PcscConnection."""

from __future__ import annotations

import logging
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from card_applet_spec import constants as c
from card_applet_spec.redaction import format_command
from card_applet_spec.reference_card import CardTorn, ReferenceCard
from drivers import pcsc
from drivers.pcsc import PcscConnection, connect, translate_error, wait_for_card
from drivers.vpcd import DEFAULT_READER as VPCD_READER
from drivers.vpcd import VirtualCard, VirtualCardSlot, VpcdUnavailableError
from terminal.card.connection import (
    CardConnectionError,
    CardRemovedError,
    Connection,
    ReaderUnavailableError,
)

SELECT = bytes([0x00, c.INS_SELECT, 0x04, 0x00, len(c.AID)]) + c.AID + b"\x00"
ConnectCard = Callable[[VirtualCard], PcscConnection]
READER_STATE_TIMEOUT_S = 3.0  # pcscd polls presence every ~400 ms


class TearableCard(ReferenceCard):
    """A reference card that loses power (raises CardTorn) on the next command once ``tear`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.tear = False
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1
        super().reset()

    def transmit(self, apdu: bytes) -> bytes:
        if self.tear:
            raise CardTorn("simulated power loss")
        return super().transmit(apdu)


def _vpcd_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("vpcd-card")]


# -- through pcscd + vpcd -------------------------------------------------------------------------


@pytest.mark.pcsc
def test_select_returns_fci_and_atr(connect_card: ConnectCard) -> None:
    connection = connect_card(ReferenceCard())
    assert isinstance(connection, Connection)
    assert connection.atr == bytes.fromhex("3B80800101")
    data, sw = connection.send_and_receive(SELECT)
    assert sw == 0x9000
    assert data[0] == 0x6F
    assert c.AID in data


@pytest.mark.pcsc
def test_select_round_trip_median_well_under_5_ms(connect_card: ConnectCard) -> None:
    connection = connect_card(ReferenceCard())
    times = []
    for _ in range(200):
        start = time.perf_counter()
        _, sw = connection.send_and_receive(SELECT)
        times.append(time.perf_counter() - start)
        assert sw == 0x9000
    assert statistics.median(times) < 0.005  # ~0.2 ms expected; 40 ms means TCP_QUICKACK is not working


@pytest.mark.pcsc
def test_removal_mid_session_raises(vpcd_slot: VirtualCardSlot, connect_card: ConnectCard) -> None:
    connection = connect_card(ReferenceCard())
    assert connection.send_and_receive(SELECT)[1] == 0x9000
    vpcd_slot.remove()
    with pytest.raises(CardRemovedError):
        connection.send_and_receive(SELECT)
    assert wait_for_card(VPCD_READER, present=False, timeout=READER_STATE_TIMEOUT_S)
    with pytest.raises(CardRemovedError):
        connection.send_and_receive(SELECT)


@pytest.mark.pcsc
def test_torn_card_is_seen_as_removed(vpcd_slot: VirtualCardSlot, connect_card: ConnectCard) -> None:
    card = TearableCard()
    connection = connect_card(card)
    assert connection.send_and_receive(SELECT)[1] == 0x9000
    card.tear = True
    with pytest.raises(CardRemovedError):
        connection.send_and_receive(SELECT)
    assert isinstance(vpcd_slot.last_error, CardTorn)
    assert not vpcd_slot.inserted
    assert wait_for_card(VPCD_READER, present=False, timeout=READER_STATE_TIMEOUT_S)


@pytest.mark.pcsc
def test_reinsert_after_removal(vpcd_slot: VirtualCardSlot, connect_card: ConnectCard) -> None:
    card = ReferenceCard()
    first = connect_card(card)
    assert first.send_and_receive(SELECT)[1] == 0x9000
    vpcd_slot.remove()
    assert wait_for_card(VPCD_READER, present=False, timeout=READER_STATE_TIMEOUT_S)
    second = connect_card(card)
    assert second.send_and_receive(SELECT)[1] == 0x9000
    with pytest.raises(CardRemovedError):
        first.send_and_receive(SELECT)  # the old handle belongs to the card that left


@pytest.mark.pcsc
def test_torn_card_can_be_reinserted(vpcd_slot: VirtualCardSlot, connect_card: ConnectCard) -> None:
    card = TearableCard()
    connection = connect_card(card)
    card.tear = True
    with pytest.raises(CardRemovedError):
        connection.send_and_receive(SELECT)
    assert wait_for_card(VPCD_READER, present=False, timeout=READER_STATE_TIMEOUT_S)
    card.tear = False
    assert connect_card(card).send_and_receive(SELECT)[1] == 0x9000


@pytest.mark.pcsc
def test_reset_on_disconnect_resets_the_card(connect_card: ConnectCard) -> None:
    card = TearableCard()
    connection = connect_card(card)
    before = card.resets
    connection.close(reset_card=True)
    assert card.resets > before
    with pytest.raises(CardConnectionError):
        connection.send_and_receive(SELECT)  # closed


@pytest.mark.pcsc
def test_no_card_in_time_raises_card_removed(vpcd_slot: VirtualCardSlot) -> None:
    start = time.monotonic()
    with pytest.raises(CardRemovedError, match="no card"):
        connect(VPCD_READER, timeout=0.3)
    assert time.monotonic() - start < 2.0


@pytest.mark.pcsc
def test_unknown_reader_raises_reader_unavailable(pcscd: object) -> None:
    with pytest.raises(ReaderUnavailableError):
        connect("No Such Reader 00 00", timeout=0.3)


@pytest.mark.pcsc
def test_list_readers_has_the_virtual_reader(pcscd: object) -> None:
    assert VPCD_READER in pcsc.list_readers()


@pytest.mark.pcsc
def test_pin_bytes_never_logged(caplog: pytest.LogCaptureFixture, connect_card: ConnectCard) -> None:
    connection = connect_card(ReferenceCard())
    connection.send_and_receive(SELECT)
    pin = bytes.fromhex("313937353034")
    with caplog.at_level(logging.DEBUG, logger="drivers"):
        connection.send_and_receive(bytes([0x00, c.INS_VERIFY, 0x00, 0x81, len(pin)]) + pin)
    text = caplog.text.upper()
    assert "REDACTED" in text
    assert pin.hex(" ").upper() not in text and pin.hex().upper() not in text
    assert "00 20 00 81" in text


@pytest.mark.pcsc
def test_slot_threads_end_and_double_insert_is_refused(vpcd_slot: VirtualCardSlot) -> None:
    vpcd_slot.insert(ReferenceCard())
    with pytest.raises(RuntimeError):
        vpcd_slot.insert(ReferenceCard())
    assert vpcd_slot.inserted and len(_vpcd_threads()) == 1
    vpcd_slot.remove()
    vpcd_slot.remove()  # idempotent
    assert not vpcd_slot.inserted and _vpcd_threads() == []


# -- error translation without pcscd ----------------------------------------------------------------


def test_no_pcscd_service_raises_reader_unavailable() -> None:
    """A real 'service not available': libpcsclite pointed at a socket that does not exist."""
    code = (
        "from drivers import pcsc\n"
        "from terminal.card.connection import ReaderUnavailableError\n"
        "for call in (pcsc.list_readers, lambda: pcsc.connect('Virtual PCD 00 00', timeout=0.2),\n"
        "             lambda: pcsc.wait_for_card('Virtual PCD 00 00')):\n"
        "    try:\n"
        "        call()\n"
        "    except ReaderUnavailableError as exc:\n"
        "        print('unavailable', exc)\n"
    )
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": "/nonexistent/pcscd.comm"}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all("0x8010001D" in line for line in lines), result.stdout


def test_fake_no_service_error_is_translated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("drivers.pcsc.scard.SCardEstablishContext", lambda scope: [0x8010001D, 0])
    with pytest.raises(ReaderUnavailableError, match="0x8010001D"):
        pcsc.list_readers()
    with pytest.raises(ReaderUnavailableError):
        connect(VPCD_READER, timeout=0.1)


def test_pyscard_exception_does_not_escape(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> object:
        raise pcsc.PyscardError("SWIG failure")

    monkeypatch.setattr("drivers.pcsc.scard.SCardEstablishContext", broken)
    with pytest.raises(CardConnectionError, match="SWIG failure"):
        pcsc.list_readers()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0x8010001D, ReaderUnavailableError),  # no service
        (0x8010001E, ReaderUnavailableError),  # service stopped
        (0x8010002E, ReaderUnavailableError),  # no readers
        (0x80100009, ReaderUnavailableError),  # unknown reader
        (0x80100017, ReaderUnavailableError),  # reader unavailable
        (0x80100069, CardRemovedError),  # removed
        (0x80100067, CardRemovedError),  # unpowered
        (0x80100068, CardRemovedError),  # reset
        (0x80100066, CardRemovedError),  # unresponsive
        (0x80100016, CardRemovedError),  # transaction failed (card pulled mid-exchange)
        (0x8010000C, CardRemovedError),  # no smart card
        (0x80100008, CardConnectionError),  # insufficient buffer
        (0x8010000B, CardConnectionError),  # sharing violation
    ],
)
def test_translate_error(code: int, expected: type[CardConnectionError]) -> None:
    error = translate_error(code, "transmit")
    assert type(error) is expected
    assert f"0x{code:08X}" in str(error)


def test_pin_commands_are_redacted() -> None:
    for ins in (0x20, 0x24, 0x2C):
        text = format_command(bytes([0x00, ins, 0x00, 0x81, 0x04]) + b"1234")
        assert "31 32 33 34" not in text and "redacted" in text
    assert format_command(SELECT) == SELECT.hex(" ").upper()


def test_slot_without_vpcd_raises() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(VpcdUnavailableError, match="pcscd"):
        VirtualCardSlot(ReferenceCard(), port=port)
    assert _vpcd_threads() == []

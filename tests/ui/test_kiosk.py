"""The citizen kiosk, end to end through the real terminal core and the demo world's reference cards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from card_applet_spec import constants as c
from card_applet_spec.reference_card import CardTorn
from kiosk_ui.backend import Backend
from kiosk_ui.i18n import Language
from kiosk_ui.kiosk import KioskWindow
from kiosk_ui.presenting import Refusal
from terminal.card.connection import InProcessConnection
from terminal.card.session import KhbsSession
from tests.ui.helpers import DEMO_PIN, all_text, click, remove, running, tap, tap_card, visible_text

FULL_NIK = "6271034512870001"  # Siti's NIK in the demo world: never on screen
MASKED_NIK = "6271********0001"


@pytest.fixture
def kiosk(qtbot: Any, backend: Backend, language: Language) -> Iterator[KioskWindow]:
    with running(qtbot, KioskWindow(backend, language)) as window:
        qtbot.waitUntil(lambda: window.bridge.last is not None)
        yield window


def enter_pin(qtbot: Any, window: Any, pin: str) -> None:
    for digit in pin:
        click(qtbot, window, f"key_{digit}")
    click(qtbot, window, "key_ok")


def test_attract_screen_shows_reader_state(kiosk: KioskWindow) -> None:
    assert kiosk.current == "attract"
    text = visible_text(kiosk)
    assert "Tempelkan kartu Anda" in text
    assert "Pembaca kartu siap" in text


def test_whole_citizen_flow(qtbot: Any, kiosk: KioskWindow, backend: Backend, wait_screen: Callable) -> None:
    # a redemption earlier today, so the card's own log has something to show
    siti = backend.card("siti").card
    session = KhbsSession(InProcessConnection(siti, (CardTorn,)))
    backend.terminal.redeem(session, c.Program.BLT, 150_000, DEMO_PIN)
    siti.reset()

    tap(backend, "siti")
    wait_screen(kiosk, "services")
    text = visible_text(kiosk)
    assert "Halo, Siti Rahmawati" in text
    assert MASKED_NIK in text and FULL_NIK not in all_text(kiosk)
    assert "Sisa Rp 450.000" in text  # BLT after the redemption
    assert "Sisa 10 kg" in text  # sembako untouched
    assert len([t for t in kiosk.services.tiles if t.entitlement is not None]) == 8
    qtbot.waitUntil(lambda: bool(kiosk.latencies_ms))  # the tiles were painted, and the latency measured
    assert kiosk.latencies_ms[-1] < 5000

    # a service with a balance: how to claim, and the card's own log
    qtbot.mouseClick(kiosk.services.tiles[0], Qt.MouseButton.LeftButton)
    wait_screen(kiosk, "detail")
    qtbot.waitUntil(lambda: bool(kiosk.detail.findChildren(QLabel, "historyRow")))
    rows = [w.text() for w in kiosk.detail.findChildren(QLabel, "historyRow")]
    assert any("Rp 150.000" in r and "sisa Rp 450.000" in r for r in rows), rows
    assert "kantor pos" in kiosk.findChild(QLabel, "howToClaim").text()
    assert not kiosk.detail.cat_panel.isVisibleTo(kiosk.detail)
    click(qtbot, kiosk, "detail_back")
    wait_screen(kiosk, "services")

    # training: the catalogue for the holder's city, and "register interest" queued offline
    qtbot.mouseClick(kiosk.services.tiles[int(c.Program.PELATIHAN) - 1], Qt.MouseButton.LeftButton)
    wait_screen(kiosk, "detail")
    qtbot.waitUntil(lambda: bool(kiosk.detail.row_buttons))
    # rows added to a shown layout become visible on a queued event: wait for them, not for the dict
    qtbot.waitUntil(lambda: all(b.isVisibleTo(kiosk) for b in kiosk.detail.row_buttons.values()))
    text = visible_text(kiosk)
    assert "Wirausaha kuliner lokal" in text  # Palangka Raya (6271)
    assert "Pelatihan menjahit dasar" in text  # province-wide
    assert "Budidaya ikan keramba" not in text  # Pulang Pisau: another regency
    item_id = next(iter(kiosk.detail.row_buttons))
    click(qtbot, kiosk, f"register_{item_id}")
    qtbot.waitUntil(lambda: "Minat Anda tercatat" in visible_text(kiosk))
    queued = backend.terminal.catalogue.unsynced_interests()
    assert [i.item_id for i in queued] == [item_id]
    assert backend.terminal.status().uploads_pending >= 1
    click(qtbot, kiosk, "detail_back")

    # personal details only after the PIN; a wrong PIN says how many tries are left
    click(qtbot, kiosk, "show_personal")
    wait_screen(kiosk, "pin")
    assert "Siti" not in kiosk.pin.pad.display.text()
    enter_pin(qtbot, kiosk, "999999")
    qtbot.waitUntil(lambda: "Sisa 2 kali" in kiosk.pin.message.text())
    assert kiosk.current == "pin"
    enter_pin(qtbot, kiosk, DEMO_PIN)
    wait_screen(kiosk, "personal")
    shown = visible_text(kiosk)
    assert MASKED_NIK in shown
    assert FULL_NIK not in all_text(kiosk)
    assert "6271030101090001" not in all_text(kiosk)  # the family card number is masked too
    assert "Perempuan" in shown  # from the NIK's day + 40

    # card removed: back to the start, nothing of Siti left on any screen
    remove(backend)
    wait_screen(kiosk, "attract")
    everything = all_text(kiosk)
    assert "Siti" not in everything
    assert "6271" not in everything
    assert "450.000" not in everything


def test_idle_timeout_returns_to_attract_and_clears(
    qtbot: Any, backend: Backend, language: Language, wait_screen: Callable
) -> None:
    with running(qtbot, KioskWindow(backend, language, idle_s=0.3)) as window:
        tap(backend, "siti")
        wait_screen(window, "services")
        qtbot.mouseClick(window.services.tiles[1], Qt.MouseButton.LeftButton)
        wait_screen(window, "detail")
        wait_screen(window, "attract", timeout=3000)
        assert "Siti" not in all_text(window)
        assert "Silakan ambil kartu Anda" in visible_text(window)  # the card is still on the reader
        remove(backend)
        qtbot.waitUntil(lambda: "Silakan ambil" not in visible_text(window))


@pytest.mark.parametrize(
    ("card", "kind", "title"),
    [
        ("agus", Refusal.REVOKED_OR_BLOCKED, "Kartu diblokir"),
        ("rahmat", Refusal.EXPIRED, "Kartu sudah tidak berlaku"),
        ("klon", Refusal.NOT_GENUINE, "Kartu tidak asli"),
        ("other", Refusal.UNKNOWN_CARD, "Kartu tidak dikenal"),
    ],
)
def test_refusal_screens_for_bad_cards(
    qtbot: Any,
    kiosk: KioskWindow,
    backend: Backend,
    wait_screen: Callable,
    card: str,
    kind: Refusal,
    title: str,
) -> None:
    tap(backend, card)
    wait_screen(kiosk, "refusal")
    assert kiosk.refusal.info is not None and kiosk.refusal.info.kind is kind
    text = visible_text(kiosk)
    assert title in text
    assert "Apa yang perlu dilakukan" in text
    assert kiosk.refusal.next_step.text()
    assert "Error" not in text and "Traceback" not in text and "0x" not in text
    assert kiosk.refusal.detail.text() == ""  # no technical detail for citizens
    remove(backend)
    wait_screen(kiosk, "attract")


def test_pin_blocked_after_three_wrong_pins(
    qtbot: Any, kiosk: KioskWindow, backend: Backend, wait_screen: Callable
) -> None:
    tap(backend, "maria")
    wait_screen(kiosk, "services")
    click(qtbot, kiosk, "show_personal")
    enter_pin(qtbot, kiosk, "111111")
    qtbot.waitUntil(lambda: "Sisa 2 kali" in kiosk.pin.message.text())
    enter_pin(qtbot, kiosk, "111111")
    qtbot.waitUntil(lambda: "Tinggal 1 kali" in kiosk.pin.message.text())
    enter_pin(qtbot, kiosk, "111111")
    wait_screen(kiosk, "refusal")
    assert "PIN terkunci" in visible_text(kiosk)
    assert "e-KTP" in kiosk.refusal.next_step.text()
    remove(backend)
    wait_screen(kiosk, "attract")
    # next visit: the card says its PIN is blocked, so the pad is not even offered
    tap(backend, "maria")
    wait_screen(kiosk, "services")
    click(qtbot, kiosk, "show_personal")
    wait_screen(kiosk, "refusal")
    assert kiosk.refusal.info is not None and kiosk.refusal.info.kind is Refusal.PIN_BLOCKED


def test_reader_missing_and_back(
    qtbot: Any, kiosk: KioskWindow, backend: Backend, wait_screen: Callable
) -> None:
    assert backend.demo is not None
    backend.demo.unplug()
    wait_screen(kiosk, "refusal")
    assert "Pembaca kartu tidak ditemukan" in visible_text(kiosk)
    click(qtbot, kiosk, "refusal_back")  # nothing to go back to while there is no reader
    assert kiosk.current == "refusal"
    backend.demo.plug()
    wait_screen(kiosk, "attract")
    assert "Pembaca kartu siap" in visible_text(kiosk)


def test_data_too_old_says_how_old(
    qtbot: Any, kiosk: KioskWindow, backend: Backend, wait_screen: Callable
) -> None:
    assert backend.clock is not None
    backend.clock.offset = 8 * 86_400 + 3 * 3600  # no sync for 8 days
    tap(backend, "siti")
    wait_screen(kiosk, "refusal")
    assert kiosk.refusal.info is not None and kiosk.refusal.info.kind is Refusal.DATA_TOO_OLD
    text = visible_text(kiosk)
    assert "Belum bisa memeriksa kartu" in text
    assert "8 hari 3 jam" in text
    assert "Kartu Anda tidak ditolak" in text


class TornAt:
    """A card that loses power on a chosen instruction (the holder pulled it away)."""

    def __init__(self, card: Any, ins: int) -> None:
        self.card, self.ins = card, ins
        self.atr = card.atr

    def reset(self) -> None:
        self.card.reset()

    def transmit(self, apdu: bytes) -> bytes:
        if apdu[1] == self.ins:
            raise CardTorn("pulled")
        return bytes(self.card.transmit(apdu))


def test_card_pulled_while_reading(
    qtbot: Any, kiosk: KioskWindow, backend: Backend, wait_screen: Callable
) -> None:
    tap_card(backend, TornAt(backend.card("siti").card, c.INS_INTERNAL_AUTHENTICATE), (CardTorn,))
    wait_screen(kiosk, "refusal")
    assert kiosk.refusal.info is not None and kiosk.refusal.info.kind is Refusal.CARD_LOST
    assert "Tempelkan kartu lagi" in visible_text(kiosk)


def test_unexpected_error_is_plain_words(
    qtbot: Any, kiosk: KioskWindow, backend: Backend, wait_screen: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(session: object, program: object = None) -> None:
        raise RuntimeError("database is locked\nTraceback (most recent call last): ...")

    monkeypatch.setattr(backend.terminal, "tap", broken)
    tap(backend, "siti")
    wait_screen(kiosk, "refusal")
    text = visible_text(kiosk)
    assert "Terjadi gangguan" in text
    assert "Traceback" not in all_text(kiosk) and "database" not in all_text(kiosk)


def test_english_toggle(qtbot: Any, kiosk: KioskWindow, backend: Backend, wait_screen: Callable) -> None:
    click(qtbot, kiosk, "lang_en")
    qtbot.waitUntil(lambda: "Tap your card" in visible_text(kiosk))
    assert "Card reader ready" in visible_text(kiosk)
    tap(backend, "siti")
    wait_screen(kiosk, "services")
    text = visible_text(kiosk)
    assert "Hello, Siti Rahmawati" in text
    assert "Direct cash assistance" in text
    assert "Left Rp 600.000" in text
    click(qtbot, kiosk, "lang_id")
    qtbot.waitUntil(lambda: "Halo, Siti Rahmawati" in visible_text(kiosk))
    assert "Bantuan Langsung Tunai" in visible_text(kiosk)


def test_two_cards_one_holder_at_a_time(
    qtbot: Any, backend: Backend, language: Language, wait_screen: Callable
) -> None:
    from terminal.readers import DemoReaders

    readers = DemoReaders(["Reader A", "Reader B"])
    backend.readers = backend.demo = readers
    with running(qtbot, KioskWindow(backend, language), size=None) as window:
        readers.tap(backend.card("siti").card, "Reader A")
        wait_screen(window, "services")
        readers.tap(backend.card("darto").card, "Reader B")  # someone else's card on the second reader
        qtbot.wait(200)
        assert "Siti Rahmawati" in visible_text(window) and "Sudarto" not in visible_text(window)
        readers.remove("Reader A")
        wait_screen(window, "attract")


@pytest.mark.pcsc
def test_kiosk_on_a_real_pcsc_reader(
    qtbot: Any, backend: Backend, language: Language, vpcd_slot: Any, wait_screen: Callable
) -> None:
    """The same kiosk on pcscd + vpcd through the reader supervisor: tap, tiles, remove, attract."""
    from drivers.reader_supervisor import ReaderSupervisor

    backend.readers = ReaderSupervisor()
    backend.demo = None
    with running(qtbot, KioskWindow(backend, language), size=None) as window:
        qtbot.waitUntil(
            lambda: window.bridge.last is not None and bool(window.bridge.last.readers), timeout=5000
        )
        assert "Pembaca kartu siap" in visible_text(window)
        vpcd_slot.insert(backend.card("siti").card)
        wait_screen(window, "services", timeout=5000)
        assert "Halo, Siti Rahmawati" in visible_text(window)
        vpcd_slot.remove()
        wait_screen(window, "attract", timeout=5000)
        assert "Siti" not in all_text(window)

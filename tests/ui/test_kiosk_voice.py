"""The kiosk's voice and the holder's session: tones, "Dengarkan", headphone mode, "Masih di sini?", and
every card a fresh session (the language back to Bahasa Indonesia)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from drivers.audio import EspeakAudio, render_speech
from kiosk_ui import texts
from kiosk_ui.backend import Backend
from kiosk_ui.i18n import Language
from kiosk_ui.kiosk import KioskWindow
from terminal.audio import Sound, VoiceMode
from terminal.speech import Script
from tests.test_audio import check_speech_wav, copying_player
from tests.ui.helpers import DEMO_PIN, click, remove, running, tap, visible_text


class RecordingAudio:
    """``terminal.audio.AudioOut`` that keeps what it was asked to play."""

    def __init__(self) -> None:
        self.tones: list[Sound] = []
        self.said: list[Script] = []
        self.stops = 0

    def tone(self, sound: Sound) -> None:
        self.tones.append(sound)

    def say(self, script: Script) -> None:
        self.said.append(script)

    def stop(self) -> None:
        self.stops += 1

    def close(self) -> None:
        return None

    @property
    def last(self) -> str:
        return self.said[-1].text if self.said else ""


@pytest.fixture
def audio(backend: Backend) -> RecordingAudio:
    backend.audio = recording = RecordingAudio()
    return recording


@pytest.fixture
def kiosk(qtbot: Any, backend: Backend, language: Language, audio: RecordingAudio) -> Iterator[KioskWindow]:
    with running(qtbot, KioskWindow(backend, language)) as window:
        qtbot.waitUntil(lambda: window.bridge.last is not None)
        yield window


def enter_pin(qtbot: Any, window: Any, pin: str) -> None:
    for digit in pin:
        click(qtbot, window, f"key_{digit}")
    click(qtbot, window, "key_ok")


def test_tones_on_card_detected_done_and_refused(
    kiosk: KioskWindow, backend: Backend, audio: RecordingAudio, wait_screen: Callable
) -> None:
    tap(backend, "siti")
    wait_screen(kiosk, "services")
    assert audio.tones == [Sound.CARD, Sound.DONE]
    assert audio.said == []  # button mode: nothing said unless asked
    remove(backend)
    wait_screen(kiosk, "attract")
    tap(backend, "agus")  # a blocked card
    wait_screen(kiosk, "refusal")
    assert audio.tones[2:] == [Sound.CARD, Sound.REFUSED]


def test_dengarkan_says_the_screen_and_the_entitlements(
    qtbot: Any, kiosk: KioskWindow, backend: Backend, audio: RecordingAudio, wait_screen: Callable
) -> None:
    assert kiosk.voice.button is not None and kiosk.voice.button.isVisibleTo(kiosk)
    click(qtbot, kiosk, "listen")
    qtbot.waitUntil(lambda: bool(audio.said))
    assert audio.last.startswith("Tempelkan kartu Anda. Letakkan kartu di atas pembaca")
    # pressed once: the rest of this holder's session speaks by itself
    tap(backend, "siti")
    wait_screen(kiosk, "services")
    qtbot.waitUntil(lambda: "Bantuan Langsung Tunai" in audio.last)
    said = audio.last
    assert "Bantuan Langsung Tunai, sisa enam ratus ribu rupiah, berlaku sampai lima belas Juli" in said
    assert "Operasi Pasar Sembako Murah, sisa sepuluh kilogram" in said
    assert "Siti" not in said  # a loudspeaker: the name is not said aloud
    assert not any(ch.isdigit() for ch in said)
    assert audio.said[-1].lang == "id"

    qtbot.mouseClick(kiosk.services.tiles[0], Qt.MouseButton.LeftButton)
    wait_screen(kiosk, "detail")
    qtbot.waitUntil(lambda: "kantor pos" in audio.last)
    assert audio.last.startswith("Bantuan Langsung Tunai, sisa enam ratus ribu rupiah")

    # the card leaves: silence, and the next holder starts without speech
    stops = audio.stops
    remove(backend)
    wait_screen(kiosk, "attract")
    assert audio.stops > stops and not kiosk.voice.session_auto
    count = len(audio.said)
    tap(backend, "darto")
    wait_screen(kiosk, "services")
    qtbot.wait(50)
    assert len(audio.said) == count


def test_english_is_spoken_in_english_and_the_next_card_starts_in_indonesian(
    qtbot: Any, kiosk: KioskWindow, backend: Backend, audio: RecordingAudio, wait_screen: Callable
) -> None:
    click(qtbot, kiosk, "lang_en")
    tap(backend, "siti")
    wait_screen(kiosk, "services")
    click(qtbot, kiosk, "listen")
    qtbot.waitUntil(lambda: bool(audio.said))
    assert audio.said[-1].lang == "en"
    assert "Direct cash assistance, left six hundred thousand rupiah, valid until the fifteenth of July" in (
        audio.last
    )
    remove(backend)
    wait_screen(kiosk, "attract")
    assert kiosk.language.current == "id" and texts.language() == "id"
    assert "Tempelkan kartu Anda" in visible_text(kiosk)
    assert kiosk.header.lang_id.isChecked()


def test_headphone_mode_speaks_every_screen_but_never_secrets(
    qtbot: Any, backend: Backend, language: Language, audio: RecordingAudio, wait_screen: Callable
) -> None:
    backend.voice = VoiceMode.AUTO
    with running(qtbot, KioskWindow(backend, language)) as kiosk:
        qtbot.waitUntil(lambda: kiosk.bridge.last is not None)
        tap(backend, "siti")
        wait_screen(kiosk, "services")
        qtbot.waitUntil(lambda: "Bantuan Langsung Tunai" in audio.last)
        assert audio.last.startswith("Halo, Siti Rahmawati.")  # headphones: the name may be said
        assert not any("Membaca kartu" in s.text for s in audio.said)  # too short to speak
        click(qtbot, kiosk, "show_personal")
        wait_screen(kiosk, "pin")
        qtbot.waitUntil(lambda: "Masukkan PIN" in audio.last)
        enter_pin(qtbot, kiosk, "999999")
        qtbot.waitUntil(lambda: "PIN salah. Sisa dua kali mencoba" in audio.last)
        assert audio.tones[-1] is Sound.REFUSED
        enter_pin(qtbot, kiosk, DEMO_PIN)
        wait_screen(kiosk, "personal")
        qtbot.waitUntil(lambda: "disamarkan" in audio.last)
        everything = " ".join(s.text for s in audio.said)
        for secret in ("6271", "enam ribu dua ratus", "satu dua tiga", "Perempuan", "Palangka"):
            assert secret not in everything


def test_still_here_countdown_stay_and_timeout(
    qtbot: Any, backend: Backend, language: Language, audio: RecordingAudio, wait_screen: Callable
) -> None:
    with running(qtbot, KioskWindow(backend, language, idle_s=2.5, warn_s=2.0)) as kiosk:
        qtbot.waitUntil(lambda: kiosk.bridge.last is not None)
        click(qtbot, kiosk, "lang_en")
        tap(backend, "siti")
        wait_screen(kiosk, "services")
        qtbot.waitUntil(kiosk.still_here.isVisible, timeout=3000)
        shown = visible_text(kiosk.still_here)
        assert "Still there?" in shown and "2 seconds" in shown, shown
        click(qtbot, kiosk, "stay")
        assert not kiosk.still_here.isVisible() and kiosk.current == "services"
        assert kiosk.language.current == "en"  # staying keeps the session as it was
        qtbot.waitUntil(kiosk.still_here.isVisible, timeout=3000)
        wait_screen(kiosk, "attract", timeout=4000)
        assert not kiosk.still_here.isVisible()
        assert kiosk.language.current == "id"  # the timeout ends the session: back to Indonesian
        shown = visible_text(kiosk)
        assert "Silakan ambil kartu Anda" in shown  # the card is still on the reader ...
        assert "Tempelkan kartu" not in shown  # ... so not "tap your card" at the same time
        assert "Siti" not in visible_text(kiosk)
        remove(backend)
        qtbot.waitUntil(lambda: "Tempelkan kartu Anda" in visible_text(kiosk))
        assert "Silakan ambil" not in visible_text(kiosk)


def test_a_language_left_chosen_on_the_start_screen_goes_back(
    qtbot: Any, backend: Backend, language: Language, audio: RecordingAudio
) -> None:
    with running(qtbot, KioskWindow(backend, language, idle_s=0.3, warn_s=0.1)) as kiosk:
        click(qtbot, kiosk, "lang_en")
        assert "Tap your card" in visible_text(kiosk)
        qtbot.waitUntil(lambda: kiosk.language.current == "id", timeout=3000)
        assert "Tempelkan kartu Anda" in visible_text(kiosk)
        assert not kiosk.still_here.isVisible()  # nobody's session: no question asked


def test_done_button_asks_only_to_take_the_card(
    qtbot: Any, kiosk: KioskWindow, backend: Backend, wait_screen: Callable
) -> None:
    tap(backend, "siti")
    wait_screen(kiosk, "services")
    click(qtbot, kiosk, "done")
    wait_screen(kiosk, "attract")
    shown = visible_text(kiosk)
    assert "Silakan ambil kartu Anda" in shown and "Tempelkan kartu" not in shown


def test_the_services_speech_renders_to_audio(
    qtbot: Any, kiosk: KioskWindow, backend: Backend, wait_screen: Callable, tmp_path: Path
) -> None:
    """What "Dengarkan" says on the services screen, through espeak-ng into a WAV file."""
    tap(backend, "siti")
    wait_screen(kiosk, "services")
    script = kiosk.voice.script()
    assert "enam ratus ribu rupiah" in script.text
    check_speech_wav(render_speech(script, tmp_path / "services.wav"), script)


def test_a_busy_player_never_holds_up_a_card(
    qtbot: Any, backend: Backend, language: Language, wait_screen: Callable, tmp_path: Path
) -> None:
    """Headphone mode with the real driver and a player stuck on its first sound: the card is read, the
    tiles painted and the card removed all the same."""
    out, release = tmp_path / "out", tmp_path / "release"
    out.mkdir()
    backend.audio = EspeakAudio(player=copying_player(out, wait_for=release), workdir=tmp_path / "work")
    backend.voice = VoiceMode.AUTO
    with running(qtbot, KioskWindow(backend, language)) as kiosk:
        qtbot.waitUntil(lambda: kiosk.bridge.last is not None)
        tap(backend, "siti")
        wait_screen(kiosk, "services")
        qtbot.waitUntil(lambda: bool(kiosk.latencies_ms))
        remove(backend)
        wait_screen(kiosk, "attract")
        tap(backend, "darto")
        wait_screen(kiosk, "services")
        assert not (out / "stream.raw").exists()  # the player has taken nothing meanwhile
        release.touch()


def test_headphone_mode_follows_the_language_and_ends_in_indonesian(
    qtbot: Any, backend: Backend, language: Language, audio: RecordingAudio, wait_screen: Callable
) -> None:
    backend.voice = VoiceMode.AUTO
    with running(qtbot, KioskWindow(backend, language)) as kiosk:
        qtbot.waitUntil(lambda: kiosk.bridge.last is not None)
        tap(backend, "siti")
        wait_screen(kiosk, "services")
        qtbot.waitUntil(lambda: "Bantuan Langsung Tunai" in audio.last)
        click(qtbot, kiosk, "lang_en")  # the same screen, said again in English
        qtbot.waitUntil(lambda: "Direct cash assistance" in audio.last)
        assert audio.said[-1].lang == "en"
        count = len(audio.said)
        remove(backend)
        wait_screen(kiosk, "attract")
        qtbot.waitUntil(lambda: len(audio.said) > count)
        qtbot.wait(50)
        assert [s.text for s in audio.said[count:]] == [
            "Tempelkan kartu Anda. Letakkan kartu di atas pembaca untuk melihat hak dan sisa bantuan Anda."
        ]

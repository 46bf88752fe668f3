"""The kiosk's sound through the real engine and a player that writes files instead of a sound card:
speech rendered by espeak-ng is real audio of a plausible length; tones and speech go to the player as one
stream, from a thread of their own that the caller never waits for; no engine or no sound card is
silence and one log line."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.audio import AudioUnavailable, EspeakAudio, render_speech, speech_samples, wav_samples
from terminal.audio import RATE, Sound, tone_wav
from terminal.speech import Script, lines_script

BLT = Script(
    "id",
    (
        "Bantuan Langsung Tunai, sisa enam ratus ribu rupiah, berlaku sampai tiga puluh satu Desember "
        "dua ribu dua puluh enam",
    ),
)


def _rms(frames: bytes) -> float:
    samples = [int.from_bytes(frames[i : i + 2], "little", signed=True) for i in range(0, len(frames), 2)]
    return float((sum(s * s for s in samples) / max(1, len(samples))) ** 0.5)


def check_speech_samples(frames: bytes, script: Script, rate: int = RATE) -> float:
    """Non-empty, loud enough, and as long as the words take to say (0.15 to 1 s a word)."""
    seconds = len(frames) / 2 / rate
    words = len(script.text.split())
    assert 0.15 * words < seconds < 1.0 * words, (seconds, words)
    assert _rms(frames) > 300  # speech, not silence
    return seconds


def check_speech_wav(path: Path, script: Script) -> float:
    with wave.open(str(path)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return check_speech_samples(w.readframes(w.getnframes()), script, w.getframerate())


@pytest.mark.parametrize(
    "script",
    [
        BLT,
        lines_script("id", "Tempelkan kartu Anda", "Letakkan kartu di atas pembaca untuk melihat hak Anda."),
        lines_script("en", "Tap your card", "Put your card on the reader to see your entitlements."),
    ],
    ids=["entitlement", "attract-id", "attract-en"],
)
def test_espeak_renders_a_screens_speech(tmp_path: Path, script: Script) -> None:
    check_speech_wav(render_speech(script, tmp_path / "out.wav"), script)


def test_longer_text_takes_longer(tmp_path: Path) -> None:
    short = render_speech(Script("id", ("Membaca kartu",)), tmp_path / "short.wav")
    long = render_speech(BLT, tmp_path / "long.wav")
    assert check_speech_wav(long, BLT) > check_speech_wav(short, Script("id", ("Membaca kartu",)))


def copying_player(into: Path, wait_for: Path | None = None) -> list[str]:
    """A "player" that writes the samples it is given to ``into/stream.raw`` (after ``wait_for`` exists)."""
    code = (
        "import pathlib, sys, time\n"
        f"into, wait = pathlib.Path({str(into)!r}), {str(wait_for) if wait_for else ''!r}\n"
        "(into / 'started').touch()\n"
        "while wait and not pathlib.Path(wait).exists(): time.sleep(0.01)\n"
        "with open(into / 'stream.raw', 'wb') as out:\n"
        "    while chunk := sys.stdin.buffer.read1(65536):\n"
        "        out.write(chunk); out.flush()\n"
    )
    return [sys.executable, "-c", code]


def stream(into: Path) -> bytes:
    path = into / "stream.raw"
    return path.read_bytes() if path.exists() else b""


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    pause = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        pause.wait(0.02)
    raise AssertionError("timed out")


def tone(sound: Sound) -> bytes:
    return wav_samples(tone_wav(sound))


def speech(script: Script) -> bytes:
    engine = shutil.which("espeak-ng")
    assert engine is not None
    return speech_samples(script, espeak=engine)


def test_tones_and_speech_play_in_order_as_one_stream(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    audio = EspeakAudio(player=copying_player(out), workdir=tmp_path / "work")
    expected = tone(Sound.CARD) + speech(BLT) + tone(Sound.DONE)
    try:
        audio.tone(Sound.CARD)
        audio.say(BLT)
        audio.tone(Sound.DONE)
        wait_until(lambda: len(stream(out)) >= len(expected))
    finally:
        audio.close()
    assert audio.played == 3
    assert stream(out) == expected
    check_speech_samples(speech(BLT), BLT)


def test_the_caller_never_waits_for_sound(tmp_path: Path) -> None:
    """tone() and say() return while the player takes nothing (it waits for a file the test creates only
    after they returned): the audio thread waits, not the caller."""
    out, release = tmp_path / "out", tmp_path / "release"
    out.mkdir()
    audio = EspeakAudio(player=copying_player(out, wait_for=release), workdir=tmp_path / "work")
    try:
        audio.tone(Sound.CARD)
        wait_until(lambda: (out / "started").exists())
        for sound in (Sound.REFUSED, Sound.DONE, Sound.REFUSED, Sound.DONE):
            audio.tone(sound)  # more than the pipe holds: the audio thread is stuck writing
        audio.say(BLT)
        assert stream(out) == b""  # the player has taken nothing, and yet every call returned
        release.touch()
        wait_until(lambda: audio.played == 6)
    finally:
        audio.close()


def test_new_speech_cuts_old_speech_short_but_not_tones(tmp_path: Path) -> None:
    out, release = tmp_path / "out", tmp_path / "release"
    out.mkdir()
    audio = EspeakAudio(player=copying_player(out, wait_for=release), workdir=tmp_path / "work")
    first = Script("id", ("Membaca kartu. Jangan angkat kartu dulu. Tunggu sebentar.",))
    try:
        audio.tone(Sound.CARD)
        wait_until(lambda: (out / "started").exists())
        audio.say(first)
        audio.tone(Sound.DONE)
        audio.say(BLT)  # the first speech stops where it is
        release.touch()
        wait_until(lambda: stream(out).endswith(speech(BLT)))
    finally:
        audio.close()
    got = stream(out)
    assert got.startswith(tone(Sound.CARD)) and tone(Sound.DONE) in got
    assert len(got) < len(tone(Sound.CARD) + speech(first) + tone(Sound.DONE) + speech(BLT))


def test_no_engine_means_tones_only_and_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    audio = EspeakAudio(player=copying_player(out), workdir=tmp_path / "work")
    audio.espeak = None  # as on a machine without espeak-ng
    with caplog.at_level(logging.WARNING, logger="drivers.audio"):
        try:
            for _ in range(3):
                audio.say(BLT)
                audio.tone(Sound.DONE)
            wait_until(lambda: audio.played == 3)
        finally:
            audio.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "drivers.audio"]
    assert len(lines) == 1 and "espeak-ng" in lines[0]
    assert stream(out) == tone(Sound.DONE) * 3


def test_no_sound_card_is_silence_and_one_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    failing = [sys.executable, "-c", "import sys; sys.exit('aplay: no soundcards found...')"]
    audio = EspeakAudio(player=failing, workdir=tmp_path / "work")
    with caplog.at_level(logging.WARNING, logger="drivers.audio"):
        try:
            for sound in (Sound.CARD, Sound.DONE, Sound.REFUSED, Sound.DONE, Sound.REFUSED):
                audio.tone(sound)  # more than the pipe holds: the player's end is certain to be seen
            audio.say(BLT)
            wait_until(lambda: bool(caplog.records))
            for sound in Sound:
                audio.tone(sound)
        finally:
            audio.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "drivers.audio"]
    assert len(lines) == 1 and "no soundcards found" in lines[0], lines


def test_no_player_at_all(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    audio = EspeakAudio(player=["/nonexistent/aplay"], workdir=tmp_path / "work")
    with caplog.at_level(logging.WARNING, logger="drivers.audio"):
        audio.tone(Sound.CARD)
        audio.tone(Sound.CARD)
        wait_until(lambda: bool(caplog.records))
        audio.say(BLT)
        audio.close()
    assert len([r for r in caplog.records if r.name == "drivers.audio"]) == 1


def test_render_without_engine_is_a_typed_error(tmp_path: Path) -> None:
    with pytest.raises(AudioUnavailable):
        render_speech(BLT, tmp_path / "x.wav", espeak="/nonexistent/espeak-ng")

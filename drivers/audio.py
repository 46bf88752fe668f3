"""Sound out of the kiosk (``terminal.audio.AudioOut``): espeak-ng says the words, and one long-running
player (``aplay``, else ``paplay`` or ``pw-cat``) plays the tones and the speech as one stream of 16-bit
22 050 Hz mono samples, from a thread of its own.

Nothing waits for sound but that thread: the UI thread only queues (a lock, a list append, a notify), and
no process is started on a card event (the player is already running; espeak-ng runs niced, once per
thing said, after the screen it speaks for is shown). Speech replaces speech (a new screen cuts the last
one short); tones queue. No espeak-ng: tones only, one log line. No player or no sound card: silence and
one log line; the player is tried again every ``RETRY_S`` (a headset plugged in later works).

:func:`render_speech` writes what espeak-ng says to a WAV file (tests, diagnostics).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from terminal.audio import RATE, Sound, tone_wav
from terminal.speech import Script

log = logging.getLogger(__name__)

#: espeak-ng voices for the kiosk's languages.
VOICES = {"id": "id", "en": "en"}
#: Words per minute: a little slower than espeak-ng's 175, for first-time listeners.
WORDS_PER_MINUTE = 150
#: Players that take raw samples on stdin, in order of preference (ALSA directly: no desktop session).
PLAYERS: tuple[tuple[str, ...], ...] = (
    ("aplay", "-q", "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", str(RATE)),
    ("paplay", "--raw", "--format=s16le", "--channels=1", f"--rate={RATE}"),
    ("pw-cat", "--playback", "--format", "s16", "--channels", "1", "--rate", str(RATE), "-"),
)
RENDER_TIMEOUT_S = 30.0
#: After the player failed (no sound card): silence for this long, then try again.
RETRY_S = 30.0
#: Samples are written in pieces this long, so new speech cuts old speech short within about that.
CHUNK_S = 0.1
#: The pipe to the player holds this much (Linux): little audio is queued out of reach of a cut.
PIPE_BYTES = 8192


class AudioUnavailable(RuntimeError):
    """No speech engine, no player, or the player/engine failed (no sound card, ...). ``part``: "engine"
    or "player"."""

    def __init__(self, part: str, message: str) -> None:
        self.part = part
        super().__init__(message)


def find_player() -> tuple[str, ...] | None:
    for command in PLAYERS:
        if shutil.which(command[0]):
            return command
    return None


def _espeak_command(engine: str, script: Script, wpm: int, out: str) -> list[str]:
    nice = shutil.which("nice")
    prefix = [nice, "-n", "10"] if nice else []  # the kiosk's own work comes first
    return [*prefix, engine, "-v", VOICES[script.lang], "-s", str(wpm), *out.split(), "--", script.text]


def _run_espeak(
    command: list[str], on_start: Callable[[subprocess.Popen[bytes]], None] | None = None
) -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr); ``on_start`` gets the process (to end it early: a negative code)."""
    try:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except OSError as exc:
        raise AudioUnavailable("engine", f"espeak-ng: {exc}") from None
    if on_start is not None:
        on_start(proc)
    try:
        out, err = proc.communicate(timeout=RENDER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AudioUnavailable("engine", f"espeak-ng took more than {RENDER_TIMEOUT_S:.0f} s") from None
    return proc.returncode, out, err


def render_speech(
    script: Script, path: Path, *, espeak: str | None = None, wpm: int = WORDS_PER_MINUTE
) -> Path:
    """Write ``script`` spoken by espeak-ng to the WAV file ``path``. Raises :class:`AudioUnavailable`."""
    engine = espeak or shutil.which("espeak-ng")
    if engine is None:
        raise AudioUnavailable("engine", "espeak-ng not found (Debian package espeak-ng)")
    code, _out, err = _run_espeak(_espeak_command(engine, script, wpm, f"-w {path}"))
    if code != 0 or not path.exists():  # (it exits 0 when it cannot write the file)
        raise AudioUnavailable("engine", f"espeak-ng exited {code}: {_first_line(err)}")
    return path


def speech_samples(
    script: Script,
    *,
    espeak: str,
    wpm: int = WORDS_PER_MINUTE,
    on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
) -> bytes:
    """What espeak-ng says, as 16-bit mono samples at :data:`RATE`; b"" if it was ended early (through
    ``on_start``'s process). Raises :class:`AudioUnavailable`."""
    code, out, err = _run_espeak(_espeak_command(espeak, script, wpm, "--stdout"), on_start)
    if code < 0:
        return b""
    if code != 0:
        raise AudioUnavailable("engine", f"espeak-ng exited {code}: {_first_line(err)}")
    return wav_samples(out)


def wav_samples(wav: bytes) -> bytes:
    """The samples of a 16-bit mono :data:`RATE` WAV (as espeak-ng streams it: sizes unknown, so the data
    runs to the end). Raises :class:`AudioUnavailable` for anything else."""
    fmt, data = wav.find(b"fmt "), wav.find(b"data")
    if wav[:4] != b"RIFF" or fmt < 0 or data < 0 or len(wav) < fmt + 24:
        raise AudioUnavailable("engine", "espeak-ng gave no WAV")
    _tag, channels, rate, _bps, _align, bits = struct.unpack_from("<HHIIHH", wav, fmt + 8)
    if (channels, rate, bits) != (1, RATE, 16):
        raise AudioUnavailable("engine", f"WAV of {channels} ch, {rate} Hz, {bits} bit: not 1, {RATE}, 16")
    samples = wav[data + 8 :]
    return samples[: len(samples) // 2 * 2]


def _first_line(data: bytes) -> str:
    lines = [x for x in data.decode("utf-8", "replace").splitlines() if x.strip()]
    return lines[0].strip() if lines else "no message"


@dataclass(frozen=True)
class _Item:
    tone: Sound | None = None
    script: Script | None = None


class EspeakAudio:
    """``terminal.audio.AudioOut`` through espeak-ng and a raw-sample player; its thread starts at the first
    sound.

    ``espeak``: the engine's path (default: ``espeak-ng`` on PATH); ``player``: the command that plays raw
    16-bit mono samples at :data:`RATE` from stdin (default: :func:`find_player`).
    """

    def __init__(
        self,
        *,
        espeak: str | None = None,
        player: Sequence[str] | None = None,
        workdir: Path | None = None,
        wpm: int = WORDS_PER_MINUTE,
    ) -> None:
        self.espeak = espeak if espeak is not None else shutil.which("espeak-ng")
        self.player = tuple(player) if player is not None else find_player()
        self.wpm = wpm
        self._workdir = workdir
        self._queue: list[_Item] = []
        self._cond = threading.Condition()
        self._generation = 0  # bumped by say()/stop(): older speech stops at its next piece
        self._thread: threading.Thread | None = None
        self._closed = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._render: subprocess.Popen[bytes] | None = None  # espeak-ng at work, if it is
        self._retry_at = 0.0
        self._warned: set[str] = set()
        #: Sounds written to the player to the end (tests and diagnostics).
        self.played = 0

    # -- the port (any thread; never blocks on sound) ----------------------------------------------------
    def tone(self, sound: Sound) -> None:
        self._put(_Item(tone=sound), replace_speech=False)

    def say(self, script: Script) -> None:
        if script:
            self._put(_Item(script=script), replace_speech=True)

    def stop(self) -> None:
        with self._cond:
            self._queue.clear()
            self._generation += 1
            self._cut_render()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._generation += 1
            self._cut_render()
            self._cond.notify_all()
            thread, proc = self._thread, self._proc
        if proc is not None:
            proc.kill()  # a write blocked on a stuck player returns
        if thread is not None:
            thread.join(timeout=5)

    def _put(self, item: _Item, *, replace_speech: bool) -> None:
        with self._cond:
            if self._closed:
                return
            if replace_speech:
                self._queue = [x for x in self._queue if x.script is None]
                self._generation += 1
                self._cut_render()
            self._queue.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kiosk-audio", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _cut_render(self) -> None:
        """(Lock held.) Speech being made for what was replaced is not needed: end espeak-ng."""
        if self._render is not None and self._render.poll() is None:
            self._render.terminate()

    # -- the audio thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._closed or bool(self._queue))
                    if self._closed:
                        return
                    item = self._queue.pop(0)
                    generation = self._generation
                try:
                    self._play_item(item, generation)
                except AudioUnavailable as exc:
                    self._warn(exc.part, str(exc))
                except Exception:  # the audio thread outlives any surprise; the UI never sees one
                    log.exception("audio: unexpected error")
        finally:
            self._end_player()

    def _play_item(self, item: _Item, generation: int) -> None:
        if self._proc is None and time.monotonic() < self._retry_at:
            return  # the player is failing: no sound (and no speech made for nothing) until the retry
        if item.tone is not None:
            self._write(wav_samples(tone_wav(item.tone)), None)
            return
        assert item.script is not None
        if self.espeak is None:
            raise AudioUnavailable("engine", "espeak-ng not found (Debian package espeak-ng): tones only")

        def started(proc: subprocess.Popen[bytes]) -> None:
            with self._cond:
                self._render = proc
                if self._closed or generation != self._generation:
                    proc.terminate()  # replaced before it began

        try:
            samples = speech_samples(item.script, espeak=self.espeak, wpm=self.wpm, on_start=started)
        finally:
            with self._cond:
                self._render = None
        if samples:
            self._write(samples, generation)

    def _write(self, samples: bytes, generation: int | None) -> None:
        """Samples to the player in pieces; speech (``generation``) stops when it was replaced."""
        stdin = self._player()
        if stdin is None:
            return
        step = int(RATE * CHUNK_S) * 2
        try:
            for start in range(0, len(samples), step):
                if self._closed or (generation is not None and generation != self._generation):
                    return
                stdin.write(samples[start : start + step])
                stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            if self._closed:
                return
            self._player_failed()
            return
        self.played += 1

    def _player(self) -> IO[bytes] | None:
        """The running player's stdin, starting it if needed; None while it is failing (silence)."""
        if self._closed:
            return None
        proc = self._proc
        if proc is not None and proc.poll() is None and proc.stdin is not None:
            return proc.stdin
        if proc is not None:
            self._player_failed()
        if time.monotonic() < self._retry_at:
            return None
        if self.player is None:
            self._retry_at = time.monotonic() + RETRY_S
            raise AudioUnavailable("player", "no player for raw samples found (aplay, paplay or pw-cat)")
        if self._workdir is None:
            self._workdir = Path(tempfile.mkdtemp(prefix="khbs-audio-"))
        self._workdir.mkdir(parents=True, exist_ok=True)
        with open(self._workdir / "player.log", "wb") as errors:
            try:
                proc = subprocess.Popen(
                    list(self.player), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors
                )
            except OSError as exc:
                self._retry_at = time.monotonic() + RETRY_S
                raise AudioUnavailable("player", f"{self.player[0]}: {exc}") from None
        assert proc.stdin is not None
        with contextlib.suppress(OSError, AttributeError):  # Linux: keep little queued out of reach
            fcntl.fcntl(proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        with self._cond:
            self._proc = proc
            if self._closed:
                proc.kill()
        return proc.stdin

    def _player_failed(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.kill()
        code = proc.wait()
        if self._closed:
            return  # close() ended it
        self._retry_at = time.monotonic() + RETRY_S
        message = ""
        if self._workdir is not None:
            with contextlib.suppress(OSError):
                message = _first_line((self._workdir / "player.log").read_bytes())
        self._warn("player", f"{self.player[0] if self.player else 'player'} exited {code}: {message}")

    def _end_player(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(OSError, ValueError):
                if proc.stdin is not None:
                    proc.stdin.close()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _warn(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("audio: %s (silent until it works)", message)

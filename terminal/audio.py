"""The kiosk's sound: a port the UI calls (:class:`AudioOut`), the tones as WAV, and when to speak.

The UI never waits for sound: :meth:`AudioOut.tone` and :meth:`AudioOut.say` queue and return at once;
an implementation plays on its own thread (``drivers.audio.EspeakAudio``: espeak-ng for speech, WAV files
through the system's player). No audio device or no speech engine is silence and one log line, never an
error on screen. :class:`Silence` is the port's null implementation.

The tones are generated here (Python's ``wave``), so every sound goes through the same path: a WAV file
played by the same player.
"""

from __future__ import annotations

import enum
import io
import math
import struct
import wave
from functools import cache
from typing import Protocol

from terminal.speech import Script

RATE = 22_050


class Sound(enum.Enum):
    """The three tones: a card was detected, something went well, something was refused."""

    CARD = "card"
    DONE = "done"
    REFUSED = "refused"


class VoiceMode(enum.StrEnum):
    """When the kiosk speaks: never, when the citizen presses "Dengarkan", or on every screen (a kiosk
    with a headphone jack: the audio is private)."""

    OFF = "off"
    BUTTON = "button"
    AUTO = "auto"


class AudioOut(Protocol):
    """Where sound goes. Every method returns at once; none raises for a missing device or engine."""

    def tone(self, sound: Sound) -> None:
        """Queue a tone (after whatever is queued; it does not cut speech short)."""

    def say(self, script: Script) -> None:
        """Say ``script`` now: what was being said, or waiting to be said, is dropped (tones are kept)."""

    def stop(self) -> None:
        """Silence: drop everything queued and cut what is playing (the holder's session ended)."""

    def close(self) -> None:
        """Stop and release the player (the app is closing)."""


class Silence:
    """No sound at all (``[devices] voice = "off"``, or no audio wanted)."""

    def tone(self, sound: Sound) -> None:
        return None

    def say(self, script: Script) -> None:
        return None

    def stop(self) -> None:
        return None

    def close(self) -> None:
        return None


#: Each tone as notes: (frequency in Hz, or 0 for a pause; milliseconds).
NOTES: dict[Sound, tuple[tuple[float, int], ...]] = {
    Sound.CARD: ((1046.5, 90),),  # one short high C: "I felt your card"
    Sound.DONE: ((784.0, 110), (0, 30), (1046.5, 160)),  # rising G → C: "done"
    Sound.REFUSED: ((440.0, 180), (0, 40), (311.1, 280)),  # falling A → E flat: "no"
}


@cache
def tone_wav(sound: Sound, rate: int = RATE) -> bytes:
    """The tone as a mono 16-bit WAV file: sine notes with 8 ms fades (no clicks), at half volume."""
    frames = bytearray()
    fade = int(rate * 0.008)
    for freq, ms in NOTES[sound]:
        n = int(rate * ms / 1000)
        for i in range(n):
            envelope = min(1.0, i / fade, (n - 1 - i) / fade) if fade else 1.0
            value = 0.5 * envelope * math.sin(2 * math.pi * freq * i / rate) if freq else 0.0
            frames += struct.pack("<h", int(value * 32767))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()

"""Kiosk benchmark: cold start to the attract screen, and card event to the service tiles painted.

``python -m benchmarks.kiosk [--taps N] [--starts N]`` (Qt offscreen). Ends with ONE JSON line:

- ``cold_start_s``: process start → first paint of the attract screen, median of ``--starts`` runs of
  ``kartu kiosk --first-paint-and-quit`` on an already provisioned data directory (the kiosk's
  steady state: it starts every morning on yesterday's data). The very first start, which also
  personalises the demo cards, is reported as ``cold_start_first_run_s``. Target ≤ 1 s.
- ``event_to_paint_ms``: the reader's card-inserted event (its ``seen_at`` stamp, taken in the reader
  thread) → the first paint of the tiles screen, p95 over ``--taps`` taps of an in-process reference card
  through the whole stack (reader thread → Qt signal → worker thread: connect, SELECT, credential,
  INTERNAL AUTHENTICATE, verification, ledger → Qt signal → eight tiles rendered → painted). Target ≤ 50 ms.
  The kiosk runs with its real sound (``--voice auto``, the default here: headphone mode, the tones and
  every screen spoken by espeak-ng into the running player, from the audio thread): speech must not slow
  a paint. The player is aplay on ALSA's null device (the same work for the kiosk, no sound card
  needed). ``--voice off`` measures without sound.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]


def one_start(data: Path) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    started = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "kartu", "kiosk", "--first-paint-and-quit", "--data", str(data)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    for line in out.stdout.splitlines():
        if line.startswith("FIRST_PAINT "):
            return float(line.split()[1]) - started
    raise RuntimeError(
        f"the kiosk did not report its first paint (exit {out.returncode}): {out.stderr[-2000:]}"
    )


def cold_start(starts: int) -> tuple[float, float, list[float]]:
    with tempfile.TemporaryDirectory(prefix="khbs-bench-") as tmp:
        data = Path(tmp) / "data"
        first = one_start(data)
        runs = [one_start(data) for _ in range(starts)]
    return first, statistics.median(runs), runs


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def event_to_paint(taps: int, voice: str = "auto") -> list[float]:
    from PySide6.QtCore import QEventLoop, QTimer

    from drivers.audio import PLAYERS, EspeakAudio
    from kartu.compose import demo_backend, use_voice
    from kiosk_ui.app import application
    from kiosk_ui.i18n import Language
    from kiosk_ui.kiosk import KioskWindow

    def spin_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("kiosk did not respond")
            loop = QEventLoop()
            QTimer.singleShot(1, loop.quit)
            loop.exec()

    app = application()
    language = Language(app)
    with tempfile.TemporaryDirectory(prefix="khbs-bench-") as tmp:
        backend = demo_backend(workdir=Path(tmp))
        use_voice(backend, voice)
        if voice != "off":
            aplay = PLAYERS[0]
            backend.audio = EspeakAudio(player=(aplay[0], "-D", "null", *aplay[1:]))
        window = KioskWindow(backend, language)
        window.resize(1280, 800)
        window.show()
        window.start()

        def more_latencies_than(n: int) -> Callable[[], bool]:
            return lambda: len(window.latencies_ms) > n

        try:
            spin_until(lambda: window.bridge.last is not None)
            card = backend.card("siti")
            demo = backend.demo
            assert demo is not None
            for _ in range(taps + 1):  # the first tap warms caches (icons, fonts): not counted
                before = len(window.latencies_ms)
                demo.tap(card.card, torn=card.torn)
                spin_until(more_latencies_than(before))
                demo.remove()
                spin_until(lambda: window.current == "attract")
        finally:
            window.shutdown()
            window.close()
    return window.latencies_ms[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--taps", type=int, default=60)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--voice", choices=("off", "button", "auto"), default="auto")
    args = parser.parse_args(argv)
    first, cold, runs = cold_start(args.starts)
    print(
        f"cold start: first run {first:.3f} s (personalises the demo cards), "
        f"then {[round(r, 3) for r in runs]}"
    )
    latencies = event_to_paint(args.taps, args.voice)
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(
        f"event to paint over {len(latencies)} taps: "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(latencies):.1f} ms"
    )
    result = {
        "cold_start_s": round(cold, 3),
        "cold_start_first_run_s": round(first, 3),
        "event_to_paint_ms": round(p95, 1),
        "event_to_paint_p50_ms": round(p50, 1),
        "taps": len(latencies),
        "voice": args.voice,
        "targets": {"cold_start_s": 1.0, "event_to_paint_ms": 50.0},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

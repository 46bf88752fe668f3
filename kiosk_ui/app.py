"""The app's options and its run loop: ``kartu kiosk`` / ``kartu demo`` parse the options with
:func:`parse_args`, build a :class:`~kiosk_ui.backend.Backend` (``kartu.compose``) and call :func:`run`."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from kiosk_ui import texts
from kiosk_ui.backend import Backend
from kiosk_ui.fullscreen import show_kiosk
from kiosk_ui.i18n import Language
from kiosk_ui.theme import STYLE, app_font, palette

log = logging.getLogger(__name__)
SIZE = (1280, 800)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="kartu kiosk", description="Kartu Huma Betang Sejahtera kiosk and counter"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--demo", action="store_true", help="in-process demo cards and a demo panel (default)"
    )
    source.add_argument("--pcsc", action="store_true", help="real card readers through PC/SC (pcscd)")
    parser.add_argument(
        "--mode", choices=("kiosk", "counter"), default="kiosk", help="citizen kiosk or clerk counter"
    )
    parser.add_argument("--lang", choices=("id", "en"), default="id", help="start language (default: id)")
    parser.add_argument(
        "--voice",
        choices=("off", "button", "auto"),
        default="button",
        help="kiosk speech: off, on the Dengarkan button (default), or every screen (headphone jack)",
    )
    parser.add_argument(
        "--fullscreen",
        action="store_true",
        help="kiosk mode: the whole screen (also without a window manager: a bare X server, cage), "
        "frameless, no way to close it (a kiosk always is in production)",
    )
    parser.add_argument(
        "--data-dir",
        "--data",
        dest="data",
        type=Path,
        default=None,
        help="data directory (default: a fresh one)",
    )
    parser.add_argument(
        "--printer",
        metavar="SPEC",
        help="a real receipt printer: serial:/dev/ttyUSB0[:BAUD], tcp:HOST[:PORT], usb:VID:PID or file:PATH "
        "(append @58 for 58 mm paper); default: receipts to a text file",
    )
    parser.add_argument("--no-demo-panel", action="store_true", help="hide the demo panel")
    # benchmarks: print the epoch time of the first paint of the start screen, then quit
    parser.add_argument("--first-paint-and-quit", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "kartu"])
    assert isinstance(app, QApplication)
    app.setPalette(palette(app.palette()))
    app.setStyleSheet(STYLE)
    app.setFont(app_font())
    app.setApplicationName("Kartu Huma Betang Sejahtera")
    return app


def build_window(backend: Backend, language: Language, mode: str) -> QWidget:
    if mode == "counter":
        from kiosk_ui.counter import CounterWindow

        return CounterWindow(backend, language)
    from kiosk_ui.kiosk import KioskWindow

    return KioskWindow(backend, language)


def run(backend: Backend, args: argparse.Namespace) -> int:
    """Show the kiosk or counter window on ``backend`` until it closes (``args`` from :func:`parse_args`)."""
    app = application()
    language = Language(app)
    language.set(args.lang)
    texts.set_language(args.lang)
    window = build_window(backend, language, args.mode)
    window.resize(*SIZE)
    if args.first_paint_and_quit:
        screen = window.attract  # type: ignore[attr-defined]

        def covered() -> None:  # what the kiosk covers, once settled (a bare X server, cage)
            g, s = window.geometry(), window.screen().geometry()
            print(f"WINDOW {g.x()} {g.y()} {g.width()} {g.height()}", flush=True)
            print(f"SCREEN {s.x()} {s.y()} {s.width()} {s.height()}", flush=True)
            app.exit(0)  # exit, not quit: a kiosk refuses to close

        def painted() -> None:
            if screen.paint_hooks and screen.paint_hooks[-1] is painted:
                screen.paint_hooks.pop()
            print(f"FIRST_PAINT {time.time():.6f}", flush=True)
            QTimer.singleShot(500 if args.fullscreen else 0, covered if args.fullscreen else app.quit)

        screen.paint_hooks.append(painted)
    if args.fullscreen:
        show_kiosk(window)  # the whole screen, with or without a window manager; no way out
    else:
        window.show()
    panel = None
    if backend.demo is not None and not args.no_demo_panel and not args.first_paint_and_quit:
        from kiosk_ui.demo_panel import DemoPanel

        panel = DemoPanel(backend)
        panel.move(window.x() + 40, window.y() + 40)
        panel.show()
    window.start()  # type: ignore[attr-defined]
    if backend.sync is not None and not args.first_paint_and_quit:
        backend.sync.start()  # a round now, then by itself (interval, backoff, freshness, redemptions)
    try:
        return app.exec()
    finally:
        if backend.sync is not None:
            backend.sync.stop()
        window.shutdown()  # type: ignore[attr-defined]
        if panel is not None:
            panel.close()

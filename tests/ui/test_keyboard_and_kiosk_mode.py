"""The physical keyboard wherever a keypad is shown (digits, Backspace and Enter go to the pad, not to a
text field nobody chose), and kiosk mode (``--fullscreen``): the whole screen, frameless, on top, no way
out — offscreen, on a bare X server (Xvfb) and under cage (the Wayland kiosk compositor), when present."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from card_applet_spec import constants as c
from kiosk_ui.backend import Backend
from kiosk_ui.counter import CounterWindow
from kiosk_ui.fullscreen import KIOSK_FLAGS, show_kiosk
from kiosk_ui.i18n import Language
from kiosk_ui.kiosk import KioskWindow
from tests.ui.helpers import DEMO_PIN, click, running, tap

ROOT = Path(__file__).resolve().parents[2]


def typed(qtbot: Any, window: QWidget, text: str) -> None:
    """Keys as a keyboard sends them: to the focused widget, else to the window."""
    for ch in text:
        target = QApplication.focusWidget() or window
        key = {"\n": Qt.Key.Key_Return, "\b": Qt.Key.Key_Backspace}.get(ch)
        if key is not None:
            qtbot.keyClick(target, key)
        else:
            qtbot.keyClicks(target, ch)


def test_counter_login_by_keyboard(
    qtbot: Any, backend: Backend, language: Language, wait_screen: Callable[[Any, str], None]
) -> None:
    with running(qtbot, CounterWindow(backend, language), (1024, 768)) as counter:
        field = counter.login.clerk_id
        assert field.focusPolicy() == Qt.FocusPolicy.ClickFocus  # never focused by itself
        qtbot.keyClicks(field, "rina")  # the clerk touched the ID field and types the ID
        qtbot.keyClick(field, Qt.Key.Key_Return)  # Enter hands the keyboard to the PIN pad
        assert field.text() == "rina" and not field.hasFocus()
        typed(qtbot, counter, "12\b34")
        assert counter.login.pad.pin == "134"
        assert counter.login.clerk_id.text() == "rina"  # digits never went into the ID field
        typed(qtbot, counter, "\b\b234\n")
        wait_screen(counter, "home")


def test_counter_amount_and_holder_pin_by_keyboard(
    qtbot: Any, backend: Backend, language: Language, wait_screen: Callable[[Any, str], None]
) -> None:
    with running(qtbot, CounterWindow(backend, language), (1024, 768)) as counter:
        click(qtbot, counter, "clerk_rina")
        typed(qtbot, counter, "1234\n")
        wait_screen(counter, "home")
        tap(backend, "siti")
        wait_screen(counter, "holder")
        counter.choose_program(int(c.Program.SEMBAKO))
        wait_screen(counter, "amount")
        typed(qtbot, counter, "2.55\b\n")
        assert counter.amount_screen.pad.text == "2,5"
        wait_screen(counter, "pin")
        typed(qtbot, counter, DEMO_PIN + "\n")
        wait_screen(counter, "confirm")


def test_kiosk_pin_by_keyboard_and_escape_does_nothing(
    qtbot: Any, backend: Backend, language: Language, wait_screen: Callable[[Any, str], None]
) -> None:
    with running(qtbot, KioskWindow(backend, language), (1024, 768)) as kiosk:
        qtbot.waitUntil(lambda: kiosk.bridge.last is not None)
        tap(backend, "siti")
        wait_screen(kiosk, "services")
        kiosk.ask_pin()
        typed(qtbot, kiosk, "99\b\b")
        assert kiosk.pin.pad.pin == ""
        qtbot.keyClick(kiosk, Qt.Key.Key_Escape)
        assert kiosk.current == "pin"
        typed(qtbot, kiosk, DEMO_PIN + "\n")
        wait_screen(kiosk, "personal")


def test_kiosk_mode_offscreen(qtbot: Any, backend: Backend, language: Language) -> None:
    window = KioskWindow(backend, language)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    lock = show_kiosk(window)
    try:
        window.start()
        qtbot.waitUntil(window.isVisible)
        assert window.windowFlags() & KIOSK_FLAGS == KIOSK_FLAGS
        assert window.geometry() == window.screen().geometry()
        assert not window.close()  # a close request (Alt+F4 through a window manager) is refused
        closing = QCloseEvent()
        QApplication.sendEvent(window, closing)
        assert not closing.isAccepted() and window.isVisible() and lock.refused == 2
        for key, mods in (
            (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
            (Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier),
        ):
            event = QKeyEvent(QEvent.Type.KeyPress, key, mods)
            assert lock.eventFilter(window, event)  # eaten before anything can act on it
        assert window.isVisible()
    finally:
        lock.release()
        window.shutdown()
    assert window.close()


def _kiosk_run(env: dict[str, str], cwd: Path) -> dict[str, list[int]]:
    out = subprocess.run(
        [str(ROOT / ".venv/bin/kartu"), "kiosk", "--fullscreen", "--first-paint-and-quit",
         "--data-dir", str(cwd / "data")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr[-3000:]
    lines = [line.split() for line in out.stdout.splitlines()]
    return {w[0]: [int(x) for x in w[1:]] for w in lines if w and w[0] in ("WINDOW", "SCREEN")}


def _base_env(home: Path) -> dict[str, str]:
    hidden = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_RUNTIME_DIR")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), PYTHONPATH=str(ROOT))
    return env


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="no Xvfb (apt install xvfb)")
def test_kiosk_covers_a_bare_x_server(tmp_path: Path) -> None:
    """No window manager: the window still covers the whole 1024x768 screen."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    try:
        with os.fdopen(read) as f:
            display = f.readline().strip()
        assert display, "Xvfb did not start"
        env = {**_base_env(tmp_path), "DISPLAY": f":{display}", "QT_QPA_PLATFORM": "xcb"}
        seen = _kiosk_run(env, tmp_path)
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=30)
    assert seen["SCREEN"] == [0, 0, 1024, 768]
    assert seen["WINDOW"] == seen["SCREEN"]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("cage") is None or shutil.which("Xwayland") is None, reason="no cage + Xwayland"
)
def test_kiosk_covers_the_screen_under_cage() -> None:
    """cage's headless backend (no display hardware): the kiosk window is the whole output. cage refuses
    to run as root, so as root it runs as nobody and the app (root's interpreter) joins its socket."""
    as_root = os.geteuid() == 0
    with tempfile.TemporaryDirectory(prefix="khbs-cage-") as tmp:
        run = Path(tmp) / "run"
        run.mkdir(mode=0o700)
        env = _base_env(Path(tmp))
        compositor_env = {
            **env, "XDG_RUNTIME_DIR": str(run), "WLR_BACKENDS": "headless", "WLR_RENDERER": "pixman",
            "WLR_LIBINPUT_NO_DEVICES": "1",
        }  # fmt: skip
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if as_root else []
        if as_root:
            os.chown(tmp, 65534, 65534)
            os.chown(run, 65534, 65534)
        cage = subprocess.Popen(
            [*prefix, "cage", "--", "sleep", "120"],
            env=compositor_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while not (run / "wayland-0").exists():
                assert cage.poll() is None, "cage did not start"
                assert time.monotonic() < deadline, "cage did not open its socket"
                time.sleep(0.1)
            app_env = {**env, "XDG_RUNTIME_DIR": str(run), "WAYLAND_DISPLAY": "wayland-0",
                       "QT_QPA_PLATFORM": "wayland"}  # fmt: skip
            data = Path(tempfile.mkdtemp(prefix="khbs-cage-data-"))
            try:
                seen = _kiosk_run(app_env, data)
            finally:
                shutil.rmtree(data, ignore_errors=True)
        finally:
            cage.terminate()
            cage.wait(timeout=30)
    assert seen["SCREEN"][2:] == seen["WINDOW"][2:] and seen["SCREEN"][2] > 0

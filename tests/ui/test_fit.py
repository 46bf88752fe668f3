"""Every screen fits every supported panel size (1024x768, 1280x800, 1366x768, 1920x1080) in both
languages: the screenshot walk-through renders each screen at each size and ``kiosk_ui.fit`` walks the
visible widget tree (nothing cut off by the window or its parent, no two widgets on top of each other, no
clipped or elided text, no button too small to touch, no citizen's text under 20 px). The same walk
makes the screenshots in docs/ (1024x768 and 1280x800)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from kiosk_ui import fit
from kiosk_ui.backend import Backend
from kiosk_ui.i18n import Language
from kiosk_ui.kiosk import KioskWindow
from kiosk_ui.widgets import Header
from tests.ui.helpers import running

KIOSK_SCREENS = {"attract", "reading", "services", "detail", "pin", "personal", "refusal"}
COUNTER_SCREENS = {
    "login", "home", "reading", "holder", "amount", "pin", "confirm", "processing", "result", "refusal",
    "transactions", "void", "report", "reset",
}  # fmt: skip


def test_every_screen_fits_every_size_in_both_languages(tmp_path: Path, app: QApplication) -> None:
    from kartu.screenshots import SHOT_SIZES, generate

    shots = generate(tmp_path, check=True)
    assert not shots.problems, "\n".join(shots.problems[:60])
    assert shots.checked >= 35 * len(fit.SIZES) * 2  # every shot, every size, both languages
    assert set(shots.screens["kiosk"]) >= KIOSK_SCREENS, set(shots.screens["kiosk"])
    assert set(shots.screens["counter"]) >= COUNTER_SCREENS, set(shots.screens["counter"])
    names = {f.stem for f in shots.files}
    for expected in ("kiosk_01_attract", "kiosk_03_services", "kiosk_21_en_services", "counter_01_login"):
        assert expected in names
    for size in SHOT_SIZES:
        files = sorted((tmp_path / f"{size[0]}x{size[1]}").glob("*.png"))
        assert len(files) >= 35
        for f in files:
            image = QImage(str(f))
            assert (image.width(), image.height()) == size, f.name


def test_the_checker_sees_what_does_not_fit(qtbot: Any, app: QApplication) -> None:
    """A label too narrow for its text, a widget sticking out, two on top of each other."""
    window = QWidget()
    qtbot.addWidget(window)
    window.resize(300, 200)
    wide = QLabel("Kartu Huma Betang Sejahtera dan teks panjang", window)
    wide.setGeometry(0, 0, 100, 40)
    out = QLabel("x", window)
    out.setGeometry(250, 150, 100, 100)
    under = QLabel("y", window)
    under.setGeometry(50, 20, 60, 60)
    window.show()
    found = "\n".join(fit.problems(window))
    assert "text needs" in found and "sticks out" in found and "overlaps" in found


def test_language_buttons_are_large_and_apart(qtbot: Any, backend: Backend, language: Language) -> None:
    for size in fit.SIZES:
        with running(qtbot, KioskWindow(backend, language), size) as window:
            qtbot.waitUntil(lambda w=window: w.bridge.last is not None)  # type: ignore[misc]
            header = window.findChild(Header)
            assert header is not None
            a, b = header.lang_id.geometry(), header.lang_en.geometry()
            assert a.height() >= 60 and b.height() >= 60, (a, b)
            assert b.left() - a.right() >= 24, (a, b)
            assert not fit.problems(header, citizen=True)

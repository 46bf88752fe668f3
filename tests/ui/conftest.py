"""UI tests: pytest-qt in Qt's offscreen platform, through the real terminal core and the demo world."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from kartu.compose import demo_backend
from kiosk_ui import texts
from kiosk_ui.app import application
from kiosk_ui.backend import Backend
from kiosk_ui.i18n import Language
from tests.ui.helpers import NOW


@pytest.fixture
def app(qapp: QApplication) -> QApplication:
    return application()


@pytest.fixture
def language(app: QApplication) -> Iterator[Language]:
    lang = Language(app)
    texts.set_language("id")
    yield lang
    lang.set("id")
    texts.set_language("id")


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    backend = demo_backend(workdir=tmp_path / "world", now=NOW)
    yield backend


@pytest.fixture
def wait_screen(qtbot: Any) -> Callable[[Any, str], None]:
    def wait(window: Any, name: str, timeout: int = 5000) -> None:
        qtbot.waitUntil(lambda: window.current == name, timeout=timeout)

    return wait

"""Helpers for the UI tests: run a window, tap and remove demo cards, press buttons, read what a window
shows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QPushButton, QWidget

from kiosk_ui.backend import Backend
from kiosk_ui.shell import CardWindow

#: 2026-06-15 09:00 WIB: a fixed moment, so dates on screen (and in screenshots) do not move.
NOW = 1_781_488_800
DEMO_PIN = "123456"

W = TypeVar("W", bound=CardWindow)


@contextmanager
def running(qtbot: Any, window: W, size: tuple[int, int] | None = (1280, 800)) -> Iterator[W]:
    """``window`` shown (at ``size``, unless None) and watching the readers; shut down afterwards."""
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    window.show()
    window.start()
    try:
        yield window
    finally:
        window.shutdown()


def tap(backend: Backend, key: str) -> None:
    card = backend.card(key)
    assert backend.demo is not None
    backend.demo.tap(card.card, torn=card.torn)


def tap_card(backend: Backend, card: Any, torn: tuple[type[BaseException], ...] = ()) -> None:
    assert backend.demo is not None
    backend.demo.tap(card, torn=torn)


def remove(backend: Backend) -> None:
    assert backend.demo is not None
    backend.demo.remove()


def click(qtbot: Any, window: Any, name: str) -> None:
    widget = window.findChild(QPushButton, name)
    assert widget is not None, name
    assert widget.isEnabled(), f"{name} is disabled"
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def all_text(widget: QWidget) -> str:
    """Every text on every label and button under ``widget`` (visible or not)."""
    parts = [w.text() for w in widget.findChildren(QLabel)]
    parts += [w.text() for w in widget.findChildren(QAbstractButton)]
    return "\n".join(parts)


def visible_text(widget: QWidget) -> str:
    parts = [w.text() for w in widget.findChildren(QLabel) if w.isVisibleTo(widget)]
    parts += [w.text() for w in widget.findChildren(QAbstractButton) if w.isVisibleTo(widget)]
    return "\n".join(parts)

"""Helpers for the UI tests: tap and remove demo cards, read what a window shows."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QAbstractButton, QLabel, QWidget

from kiosk_ui.backend import Backend

#: 2026-06-15 09:00 WIB: a fixed moment, so dates on screen (and in screenshots) do not move.
NOW = 1_781_488_800
DEMO_PIN = "123456"


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


def all_text(widget: QWidget) -> str:
    """Every text on every label and button under ``widget`` (visible or not)."""
    parts = [w.text() for w in widget.findChildren(QLabel)]
    parts += [w.text() for w in widget.findChildren(QAbstractButton)]
    return "\n".join(parts)


def visible_text(widget: QWidget) -> str:
    parts = [w.text() for w in widget.findChildren(QLabel) if w.isVisibleTo(widget)]
    parts += [w.text() for w in widget.findChildren(QAbstractButton) if w.isVisibleTo(widget)]
    return "\n".join(parts)

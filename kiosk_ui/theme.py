"""Look: large type, high contrast (WCAG AAA for body text), touch-sized targets, one style sheet."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QFont, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

INK = "#111827"  # body text on white: contrast 17:1
MUTED = "#374151"  # secondary text: 10:1
PAPER = "#FFFFFF"
CANVAS = "#F3F4F6"
GREEN = "#0B5D3B"  # primary (Kalteng green): white text 7.9:1
GREEN_LIGHT = "#DCF2E6"
RED = "#9B1C1C"  # refusals: white text 8.3:1
RED_LIGHT = "#FDE2E2"
AMBER = "#7A4B00"  # warnings (text on light amber)
AMBER_LIGHT = "#FFF1C2"
BLUE = "#1E3A8A"
GREY_LIGHT = "#E5E7EB"

BASE_PT = 17
MIN_TOUCH = 72  # px: the smallest button edge

ICONS = Path(__file__).with_name("icons")

STYLE = f"""
QWidget {{ color: {INK}; font-size: {BASE_PT}pt; }}
QMainWindow, QStackedWidget, #screen {{ background: {CANVAS}; }}
#header {{ background: {GREEN}; }}
#header QLabel {{ color: white; }}
#title {{ font-size: 30pt; font-weight: 700; }}
#subtitle {{ font-size: 20pt; color: {MUTED}; }}
#huge {{ font-size: 44pt; font-weight: 800; }}
#small {{ font-size: 13pt; color: {MUTED}; }}
QPushButton {{
    background: {PAPER}; border: 3px solid {INK}; border-radius: 14px;
    padding: 10px 22px; min-height: {MIN_TOUCH - 26}px; font-size: 18pt; font-weight: 600;
}}
QPushButton:pressed {{ background: {GREY_LIGHT}; }}
QPushButton:disabled {{ color: #6B7280; border-color: #9CA3AF; background: {GREY_LIGHT}; }}
QPushButton[role="primary"] {{ background: {GREEN}; color: white; border-color: {GREEN}; }}
QPushButton[role="primary"]:disabled {{ background: #9CA3AF; border-color: #9CA3AF; color: white; }}
QPushButton[role="danger"] {{ background: {RED}; color: white; border-color: {RED}; }}
QPushButton[role="key"] {{
    font-size: 28pt; font-weight: 700; min-width: 90px; min-height: 64px; padding: 4px;
}}
QPushButton[role="danger"]:disabled {{ background: #E5E7EB; color: #6B7280; border-color: #9CA3AF; }}
QPushButton[role="lang"] {{
    background: transparent; color: white; border: 2px solid white; font-size: 15pt;
    min-height: 36px; padding: 4px 14px;
}}
QPushButton[role="lang"]:checked {{ background: white; color: {GREEN}; }}
#tile {{ background: {PAPER}; border: 3px solid {INK}; border-radius: 16px; }}
#tile[state="inactive"] {{ background: {GREY_LIGHT}; border-color: #6B7280; }}
#tile[state="attention"] {{ border-color: {RED}; }}
#chip {{ border-radius: 10px; padding: 2px 10px; font-size: 13pt; font-weight: 700; }}
#chip[tone="ok"] {{ background: {GREEN}; color: white; }}
#chip[tone="off"] {{ background: #4B5563; color: white; }}
#chip[tone="bad"] {{ background: {RED}; color: white; }}
#chip[tone="info"] {{ background: {BLUE}; color: white; }}
#panel {{ background: {PAPER}; border: 2px solid #9CA3AF; border-radius: 14px; }}
#refusal {{ background: {RED_LIGHT}; border: 4px solid {RED}; border-radius: 18px; }}
#notice {{ background: {AMBER_LIGHT}; border: 3px solid {AMBER}; border-radius: 14px; }}
#success {{ background: {GREEN_LIGHT}; border: 3px solid {GREEN}; border-radius: 14px; }}
#statusbar {{ background: {INK}; }}
#statusbar QLabel {{ color: white; font-size: 13pt; }}
#pinDisplay {{
    font-size: 40pt; font-weight: 800; letter-spacing: 10px; background: {PAPER};
    border: 3px solid {INK}; border-radius: 12px; padding: 6px; min-height: 70px;
}}
QLineEdit {{
    font-size: 20pt; border: 3px solid {INK}; border-radius: 10px; padding: 6px; background: {PAPER};
}}
QCheckBox {{ font-size: 18pt; spacing: 14px; }}
QCheckBox::indicator {{ width: 40px; height: 40px; }}
QTableWidget {{ font-size: 14pt; background: {PAPER}; gridline-color: #D1D5DB; }}
QHeaderView::section {{
    font-size: 13pt; font-weight: 700; background: {GREY_LIGHT}; padding: 6px; border: none;
}}
QScrollArea {{ border: none; background: transparent; }}
QScrollBar:vertical {{ width: 28px; }}
"""


def app_font() -> QFont:
    font = QFont("DejaVu Sans")
    font.setPointSize(BASE_PT)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    return font


_cache: dict[tuple[str, int], QPixmap] = {}


def icon(name: str, size: int = 64) -> QPixmap:
    """An SVG icon from kiosk_ui/icons rendered crisply at ``size`` px (cached)."""
    key = (name, size)
    if key not in _cache:
        path = ICONS / f"{name}.svg"
        renderer = QSvgRenderer(QByteArray(path.read_bytes()) if path.exists() else QByteArray())
        pixmap = QPixmap(QSize(size, size))
        pixmap.fill(Qt.GlobalColor.transparent)
        if renderer.isValid():
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            renderer.render(painter, QRectF(0, 0, size, size))
            painter.end()
        _cache[key] = pixmap
    return _cache[key]

"""Look: large type, WCAG AA contrast or better for every text and control (most body text AAA),
touch-sized targets, one style sheet.

Every colour the app paints with is defined here; :data:`PAIRS` lists every text and control colour on
each surface it is drawn on, and ``tests/ui/test_theme.py`` computes their contrast (WCAG 2.x relative
luminance) against :data:`MINIMUM`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPixmap
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
GREY = "#4B5563"  # "not enrolled" chip, disabled text: 6.1:1 on GREY_LIGHT
GREY_LINE = "#6B7280"  # borders of inactive tiles and disabled buttons: 3.9:1 on GREY_LIGHT, 4.4:1 on CANVAS
PANEL_LINE = "#9CA3AF"  # decorative panel outlines (not a control: no contrast minimum)
GRID_LINE = "#D1D5DB"  # table grid lines (decorative)
WHITE = "#FFFFFF"

BASE_PT = 17
MIN_TOUCH = 72  # px: the smallest button edge
#: The smallest text size a citizen sees: 15 pt = 20 px at 96 dpi.
SMALL_PT = 15

ICONS = Path(__file__).with_name("icons")


class Use(enum.Enum):
    """What a colour pair is for, and so its WCAG AA minimum."""

    TEXT = "text"  # normal text: 4.5:1
    LARGE_TEXT = "large text"  # ≥ 18 pt, or ≥ 14 pt bold: 3:1
    CONTROL = "control"  # a control's outline or state against what is around it: 3:1


MINIMUM = {Use.TEXT: 4.5, Use.LARGE_TEXT: 3.0, Use.CONTROL: 3.0}


@dataclass(frozen=True)
class Pair:
    what: str
    fg: str
    bg: str
    use: Use = Use.TEXT


#: Every text and control colour on each surface it is drawn on (the style sheet below, and the colours
#: screens set on their own labels). Checked as normal text even where the text is large.
PAIRS: tuple[Pair, ...] = (
    Pair("body text", INK, CANVAS),
    Pair("body text on a panel", INK, PAPER),
    Pair("secondary text", MUTED, CANVAS),
    Pair("secondary text on a panel", MUTED, PAPER),
    Pair("secondary text on an inactive tile", MUTED, GREY_LIGHT),
    Pair("secondary text on a notice", MUTED, AMBER_LIGHT),
    Pair("header text", WHITE, GREEN),
    Pair("language button", WHITE, GREEN),
    Pair("language button outline", WHITE, GREEN, Use.CONTROL),
    Pair("chosen language", GREEN, WHITE),
    Pair("button", INK, PAPER),
    Pair("button outline", INK, CANVAS, Use.CONTROL),
    Pair("pressed button", INK, GREY_LIGHT),
    Pair("disabled button", GREY, GREY_LIGHT),
    Pair("disabled button outline", GREY_LINE, CANVAS, Use.CONTROL),
    Pair("primary button", WHITE, GREEN),
    Pair("primary button on a panel", GREEN, PAPER, Use.CONTROL),
    Pair("danger button", WHITE, RED),
    Pair("danger button on the canvas", RED, CANVAS, Use.CONTROL),
    Pair("tile outline", INK, CANVAS, Use.CONTROL),
    Pair("inactive tile outline", GREY_LINE, CANVAS, Use.CONTROL),
    Pair("inactive tile text", INK, GREY_LIGHT),
    Pair("tile needing attention", RED, CANVAS, Use.CONTROL),
    Pair("chip: active", WHITE, GREEN),
    Pair("chip: not enrolled", WHITE, GREY),
    Pair("chip: refused", WHITE, RED),
    Pair("chip: information", WHITE, BLUE),
    Pair("refusal title", RED, RED_LIGHT),
    Pair("refusal text", INK, RED_LIGHT),
    Pair("refusal outline", RED, CANVAS, Use.CONTROL),
    Pair("error message", RED, CANVAS),
    Pair("error message on a panel", RED, PAPER),
    Pair("warning text", AMBER, CANVAS),
    Pair("notice text", INK, AMBER_LIGHT),
    Pair("notice outline", AMBER, CANVAS, Use.CONTROL),
    Pair("success text", GREEN, CANVAS),
    Pair("success text on a panel", GREEN, PAPER),
    Pair("success body", INK, GREEN_LIGHT),
    Pair("status bar", WHITE, INK),
    Pair("PIN and amount display", INK, PAPER),
    Pair("text field", INK, PAPER),
    Pair("text field placeholder", MUTED, PAPER),
    Pair("text field outline", INK, CANVAS, Use.CONTROL),
    Pair("checkbox outline", INK, PAPER, Use.CONTROL),
    Pair("checkbox ticked", GREEN, PAPER, Use.CONTROL),
    Pair("checkbox tick", WHITE, GREEN, Use.CONTROL),
    Pair("table text", INK, PAPER),
    Pair("table heading", INK, GREY_LIGHT),
    Pair("selected table row", WHITE, GREEN),
    Pair("selected table row against the others", GREEN, PAPER, Use.CONTROL),
)


def luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of ``#RRGGBB``."""
    channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#RRGGBB`` colours (1 to 21)."""
    low, high = sorted((luminance(a), luminance(b)))
    return (high + 0.05) / (low + 0.05)


TICK = (ICONS / "tick.svg").as_posix()

STYLE = f"""
QWidget {{ color: {INK}; font-size: {BASE_PT}pt; }}
QMainWindow, QStackedWidget, #screen {{ background: {CANVAS}; }}
#header {{ background: {GREEN}; }}
#header QLabel {{ color: {WHITE}; }}
#title {{ font-size: 28pt; font-weight: 700; }}
#subtitle {{ font-size: 19pt; color: {MUTED}; }}
#huge {{ font-size: 40pt; font-weight: 800; }}
#small {{ font-size: {SMALL_PT}pt; color: {MUTED}; }}
QPushButton {{
    background: {PAPER}; color: {INK}; border: 3px solid {INK}; border-radius: 14px;
    padding: 8px 20px; min-height: {MIN_TOUCH - 22}px; font-size: 18pt; font-weight: 600;
}}
QPushButton:pressed {{ background: {GREY_LIGHT}; }}
QPushButton:disabled {{ color: {GREY}; border: 3px dashed {GREY_LINE}; background: {GREY_LIGHT}; }}
QPushButton[role="primary"] {{ background: {GREEN}; color: {WHITE}; border-color: {GREEN}; }}
QPushButton[role="primary"]:disabled {{
    background: {GREY_LIGHT}; color: {GREY}; border: 3px dashed {GREY_LINE};
}}
QPushButton[role="danger"] {{ background: {RED}; color: {WHITE}; border-color: {RED}; }}
QPushButton[role="danger"]:disabled {{
    background: {GREY_LIGHT}; color: {GREY}; border: 3px dashed {GREY_LINE};
}}
QPushButton[role="key"] {{
    font-size: 26pt; font-weight: 700; min-width: 80px; min-height: 58px; padding: 2px;
}}
QPushButton[role="lang"] {{
    background: transparent; color: {WHITE}; border: 3px solid {WHITE}; font-size: {SMALL_PT}pt;
    min-height: 50px; min-width: 0px; padding: 2px 16px;
}}
QPushButton[role="lang"]:checked {{ background: {WHITE}; color: {GREEN}; }}
#tile {{ background: {PAPER}; border: 3px solid {INK}; border-radius: 16px; }}
#tile[state="inactive"] {{ background: {GREY_LIGHT}; border-color: {GREY_LINE}; }}
#tile[state="attention"] {{ border-color: {RED}; }}
#chip {{ border-radius: 10px; padding: 2px 8px; font-size: {SMALL_PT}pt; font-weight: 700; }}
#chip[tone="ok"] {{ background: {GREEN}; color: {WHITE}; }}
#chip[tone="off"] {{ background: {GREY}; color: {WHITE}; }}
#chip[tone="bad"] {{ background: {RED}; color: {WHITE}; }}
#chip[tone="info"] {{ background: {BLUE}; color: {WHITE}; }}
#panel {{ background: {PAPER}; border: 2px solid {PANEL_LINE}; border-radius: 14px; }}
#refusal {{ background: {RED_LIGHT}; border: 4px solid {RED}; border-radius: 18px; }}
#notice {{ background: {AMBER_LIGHT}; border: 3px solid {AMBER}; border-radius: 14px; }}
#success {{ background: {GREEN_LIGHT}; border: 3px solid {GREEN}; border-radius: 14px; }}
#statusbar {{ background: {INK}; }}
#statusbar QLabel {{ color: {WHITE}; font-size: 13pt; }}
#pinDisplay {{
    font-size: 36pt; font-weight: 800; letter-spacing: 10px; background: {PAPER};
    border: 3px solid {INK}; border-radius: 12px; padding: 4px; min-height: 60px;
}}
QLineEdit {{
    font-size: 20pt; color: {INK}; border: 3px solid {INK}; border-radius: 10px; padding: 6px;
    background: {PAPER};
}}
QCheckBox {{ font-size: 18pt; spacing: 14px; }}
QCheckBox::indicator {{
    width: 34px; height: 34px; border: 3px solid {INK}; border-radius: 6px; background: {PAPER};
}}
QCheckBox::indicator:checked {{ background: {GREEN}; border-color: {GREEN}; image: url({TICK}); }}
QTableWidget {{
    font-size: 14pt; color: {INK}; background: {PAPER}; gridline-color: {GRID_LINE};
    selection-background-color: {GREEN}; selection-color: {WHITE};
}}
QTableWidget::item:selected {{ background: {GREEN}; color: {WHITE}; }}
QHeaderView::section {{
    font-size: 13pt; font-weight: 700; color: {INK}; background: {GREY_LIGHT}; padding: 6px; border: none;
}}
QScrollArea {{ border: none; background: transparent; }}
QScrollBar:vertical {{ width: 28px; }}
"""


def palette(base: QPalette) -> QPalette:
    """The app's palette: the colours the style sheet cannot set (placeholder text, selection)."""
    pal = QPalette(base)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        pal.setColor(group, QPalette.ColorRole.PlaceholderText, QColor(MUTED))
        pal.setColor(group, QPalette.ColorRole.Highlight, QColor(GREEN))
        pal.setColor(group, QPalette.ColorRole.HighlightedText, QColor(WHITE))
    return pal


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

"""Does a window fit its screen? A walk over the visible widget tree that lists what a person would see as
broken: a widget cut off by the window or its parent, two widgets on top of each other, a text that does
not fit its label or button (clipped or elided), a table cell too narrow for its text, a button too small
to touch, a citizen's text under 20 px.

``problems(window)`` returns plain lines (empty: it fits). The fit test (``tests/ui/test_fit.py``) and
``python -m kartu.screenshots --check`` run it on every screen at every supported size, in both languages.
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtCore import QRect
from PySide6.QtGui import QFontInfo, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QCheckBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QWidget,
)

#: The panel sizes a kiosk or counter must work at.
SIZES: tuple[tuple[int, int], ...] = ((1024, 768), (1280, 800), (1366, 768), (1920, 1080))
#: The smallest touch target edge, px.
MIN_TARGET = 56
#: The smallest text on a citizen's screen, px.
MIN_CITIZEN_TEXT_PX = 20


def _name(w: QWidget) -> str:
    text = ""
    if isinstance(w, QLabel | QAbstractButton):
        text = w.text().replace("\n", " ")[:40]
    return f"{type(w).__name__}#{w.objectName() or '?'}" + (f" {text!r}" if text else "")


def _children(w: QWidget) -> list[QWidget]:
    return [c for c in w.children() if isinstance(c, QWidget) and not c.isWindow() and c.isVisible()]


def _walk(w: QWidget) -> Iterator[QWidget]:
    """Every visible widget under ``w`` a person looks at (a scroll area's inside, not its machinery)."""
    for child in _children(w):
        yield child
        if isinstance(child, QScrollArea):
            inner = child.widget()
            if inner is not None and inner.isVisible():
                yield inner
                yield from _walk(inner)
        elif isinstance(child, QAbstractScrollArea | QProgressBar):
            continue  # tables, line edits' internals: checked as a whole below
        else:
            yield from _walk(child)


def _text_problem(w: QWidget) -> str | None:
    rect = w.contentsRect()
    if isinstance(w, QLabel):
        text = w.text()
        if not text:
            return None if w.pixmap().isNull() or w.sizeHint().width() <= w.width() else "picture cut"
        fm = QFontMetrics(w.font())
        margin = 2 * w.margin() + max(w.indent(), 0)
        if w.wordWrap():
            longest = max((fm.horizontalAdvance(word) for word in text.split()), default=0)
            if longest + margin > rect.width():
                return f"a word is wider ({longest}) than the label ({rect.width()})"
            need = w.heightForWidth(w.width())
            if need > w.height():
                return f"wrapped text needs {need} px height, has {w.height()}"
            return None
        hint = w.sizeHint()
        if hint.width() > w.width() or fm.height() > rect.height():
            return f"text needs {hint.width()}x{hint.height()}, has {w.width()}x{w.height()}"
        return None
    if isinstance(w, QAbstractButton | QLineEdit):
        hint = w.minimumSizeHint() if isinstance(w, QLineEdit) else w.sizeHint()
        if isinstance(w, QAbstractButton) and w.text():
            fm = QFontMetrics(w.font())
            lines = w.text().replace("&&", "&").split("\n")
            need = max(fm.horizontalAdvance(line) for line in lines)
            if need > rect.width() or (isinstance(w, QCheckBox) and hint.width() > w.width()):
                return f"text needs {max(need, hint.width())} px, has {w.width()}"
        if hint.height() > w.height():
            return f"needs {hint.height()} px height, has {w.height()}"
    return None


def _table_problems(table: QTableWidget) -> Iterator[str]:
    fm = QFontMetrics(table.font())
    for column in range(table.columnCount()):
        width = table.columnWidth(column)
        header = table.horizontalHeaderItem(column)
        texts = [header.text()] if header is not None else []
        for row in range(table.rowCount()):
            item = table.item(row, column)
            if item is not None:
                texts.append(item.text())
        for text in texts:
            need = fm.horizontalAdvance(text) + 6  # the item's text margins
            if need > width:
                yield f"{_name(table)} column {column}: {text!r} needs {need} px, has {width}"
    viewport = table.viewport()
    if table.horizontalHeader().length() > viewport.width():
        yield f"{_name(table)}: columns wider than the table"


def problems(window: QWidget, *, citizen: bool = False) -> list[str]:
    """What does not fit on ``window`` as it is shown now (``citizen``: also text under 20 px)."""
    found: list[str] = []
    for w in [window, *_walk(window)]:
        parent = w.parentWidget()
        area = parent.parentWidget() if parent is not None else None
        if isinstance(area, QScrollArea) and area.widget() is w:
            # a scroll area's inside may be taller than its view (it scrolls), never wider
            if w.width() > parent.width():  # type: ignore[union-attr]
                found.append(f"{_name(w)} is wider than its scroll area")
            if w.height() > parent.height() and not area.verticalScrollBar().isVisible():  # type: ignore[union-attr]
                found.append(f"{_name(w)} is taller than its scroll area, which cannot scroll")
        elif w is not window and parent is not None:
            inside = parent.rect()
            if not inside.contains(w.geometry()):
                found.append(
                    f"{_name(w)} at {_rect(w.geometry())} sticks out of {_name(parent)} {_rect(inside)}"
                )
        siblings = _children(w)
        for i, a in enumerate(siblings):
            for b in siblings[i + 1 :]:
                if a.geometry().intersects(b.geometry()):
                    found.append(
                        f"{_name(a)} {_rect(a.geometry())} overlaps {_name(b)} {_rect(b.geometry())}"
                    )
        problem = _text_problem(w)
        if problem is not None:
            found.append(f"{_name(w)}: {problem}")
        if isinstance(w, QTableWidget):
            found.extend(_table_problems(w))
        touch = isinstance(w, QAbstractButton) and not isinstance(w, QCheckBox)
        if touch and min(w.width(), w.height()) < MIN_TARGET:
            found.append(f"{_name(w)}: {w.width()}x{w.height()} is too small to touch")
        if citizen and isinstance(w, QLabel | QAbstractButton | QLineEdit) and _has_text(w):
            px = QFontInfo(w.font()).pixelSize()
            if px < MIN_CITIZEN_TEXT_PX:
                found.append(f"{_name(w)}: {px} px text on a citizen's screen")
    return found


def too_big(window: QWidget, size: tuple[int, int]) -> list[str]:
    """What keeps ``window`` from shrinking to ``size``: each part (a stacked screen too, shown or not)
    whose minimum is larger, with its largest children."""
    found = []
    for part in window.findChildren(QWidget):
        if part.isWindow() or not isinstance(part.parentWidget(), QStackedWidget | type(window)):
            continue
        hint = part.minimumSizeHint()
        if hint.width() > size[0] or hint.height() > size[1]:
            found.append(f"{_name(part)} {type(part).__name__} needs {hint.width()}x{hint.height()}")
    return found


def _has_text(w: QWidget) -> bool:
    if isinstance(w, QLineEdit):
        return True
    return bool(w.text())  # type: ignore[attr-defined]


def _rect(r: QRect) -> str:
    return f"({r.x()},{r.y()} {r.width()}x{r.height()})"

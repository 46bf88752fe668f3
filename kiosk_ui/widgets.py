"""Touch widgets shared by the kiosk and the counter: header, buttons, PIN pad, numpad, service tiles,
fact grids."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from card_applet_spec import constants as c
from kiosk_ui import texts
from kiosk_ui.qtcompat import emit
from kiosk_ui.theme import icon
from terminal.entitlements import Entitlement, Status

translate = QCoreApplication.translate


def label(
    text: str = "", name: str = "", *, wrap: bool = True, align: Qt.AlignmentFlag | None = None
) -> QLabel:
    widget = QLabel(text)
    if name:
        widget.setObjectName(name)
    widget.setWordWrap(wrap)
    if align is not None:
        widget.setAlignment(align)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    return widget


def icon_label(name: str, size: int) -> QLabel:
    widget = QLabel()
    widget.setPixmap(icon(name, size))
    widget.setFixedSize(size, size)
    return widget


def button(
    text: str = "", role: str = "", on_click: Callable[[], None] | None = None, name: str = ""
) -> QPushButton:
    widget = QPushButton(text)
    if role:
        widget.setProperty("role", role)
    if name:
        widget.setObjectName(name)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    widget.setCursor(Qt.CursorShape.PointingHandCursor)
    if on_click is not None:
        widget.clicked.connect(lambda _checked=False: on_click())
    return widget


def restyle(widget: QWidget) -> None:
    """Re-apply the style sheet after a dynamic property changed."""
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


class Screen(QWidget):
    """One full screen. ``retranslate()`` redraws every text; ``clear()`` forgets whatever it showed."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("screen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        #: Called after every paint (latency measurements). Plain callables, not a Qt signal: emitting a
        #: signal from inside paintEvent leaks a reference to ``True`` per paint in PySide6 6.12 (found by
        #: watching sys.getrefcount(True) fall until the interpreter aborted at exit).
        self.paint_hooks: list[Callable[[], None]] = []
        #: The on-screen pad the physical keyboard types on while this screen is shown (None: no pad).
        self.keypad: PinPad | NumPad | None = None

    def retranslate(self) -> None:
        return None

    def clear(self) -> None:
        return None

    def key(self, event: QKeyEvent) -> bool:
        """A physical key pressed on this screen (no text field took it): True when used."""
        return self.keypad is not None and self.keypad.isVisible() and self.keypad.key(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        for hook in self.paint_hooks:
            hook()


class Header(QFrame):
    """Green title bar: the programme's name over a context line, the language switch (two buttons at
    least 60 px tall, well apart)."""

    language_requested = Signal(str)

    #: px between the two language buttons
    LANG_GAP = 28

    def __init__(self, with_language: bool = True) -> None:
        super().__init__()
        self.setObjectName("header")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedHeight(88)
        row = QHBoxLayout(self)
        row.setContentsMargins(20, 8, 20, 8)
        row.setSpacing(14)
        row.addWidget(icon_label("card_tap", 56))
        words = QVBoxLayout()
        words.setSpacing(0)
        words.addStretch(1)
        # on one line where there is room, on two where the header's buttons need it (1024 px)
        self.title = label("Kartu Huma Betang Sejahtera", wrap=True)
        self._title_pt = 0
        self._size_title(1280)
        self.title.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        words.addWidget(self.title)
        self.context = label("", wrap=False)
        self.context.setObjectName("headerContext")
        self.context.setStyleSheet("font-size: 13pt;")
        self.context.hide()
        words.addWidget(self.context)
        words.addStretch(1)
        row.addLayout(words, 1)
        self.lang_id = button(
            "Bahasa Indonesia", "lang", lambda: emit(self.language_requested, "id"), "lang_id"
        )
        self.lang_en = button("English", "lang", lambda: emit(self.language_requested, "en"), "lang_en")
        for b in (self.lang_id, self.lang_en):
            b.setCheckable(True)
            b.setVisible(with_language)
        row.addWidget(self.lang_id)
        row.addSpacing(self.LANG_GAP - row.spacing())
        row.addWidget(self.lang_en)
        self.show_language("id")

    def _size_title(self, width: int) -> None:
        pt = 19 if width >= 1200 else 16  # 16 pt (21 px) on two lines at 1024 px
        if pt != self._title_pt:
            self._title_pt = pt
            self.title.setStyleSheet(f"font-size: {pt}pt; font-weight: 800;")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._size_title(event.size().width())

    def set_context(self, text: str) -> None:
        """The line under the title (the counter: who is logged in where); "" hides it."""
        self.context.setText(text)
        self.context.setVisible(bool(text))

    def show_language(self, lang: str) -> None:
        self.lang_id.setChecked(lang == "id")
        self.lang_en.setChecked(lang == "en")


class Chip(QLabel):
    def __init__(self, text: str = "", tone: str = "info") -> None:
        super().__init__(text)
        self.setObjectName("chip")
        self.set_tone(tone)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)

    def set_tone(self, tone: str) -> None:
        self.setProperty("tone", tone)
        restyle(self)


def _pad_key(event: QKeyEvent) -> str | None:
    """The pad key a physical key stands for: "0"–"9", ",", "back", "ok"; None for any other key."""
    key = event.key()
    if key in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
        return "back"
    if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        return "ok"
    mods = event.modifiers() & ~(Qt.KeyboardModifier.KeypadModifier | Qt.KeyboardModifier.ShiftModifier)
    if mods != Qt.KeyboardModifier.NoModifier:
        return None
    text = event.text()
    if len(text) == 1 and text.isascii() and text.isdigit():
        return text
    if text in (",", "."):
        return ","
    return None


class PinPad(QWidget):
    """An on-screen PIN pad: digits are shown as dots, never echoed; 4–8 digits."""

    submitted = Signal(str)
    cancelled = Signal()

    def __init__(self, min_digits: int = c.PIN_MIN_DIGITS, max_digits: int = c.PIN_MAX_DIGITS) -> None:
        super().__init__()
        self.min_digits, self.max_digits = min_digits, max_digits
        self._pin = ""
        column = QVBoxLayout(self)
        column.setSpacing(12)
        self.display = label("", "pinDisplay", wrap=False, align=Qt.AlignmentFlag.AlignCenter)
        self.display.setAccessibleName("PIN")
        column.addWidget(self.display)
        grid = QGridLayout()
        grid.setSpacing(12)
        self.keys: dict[str, QPushButton] = {}
        for i, key in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "back", "0", "ok"]):
            b = button(key if key.isdigit() else "", "key", partial(self.press, key), f"key_{key}")
            self.keys[key] = b
            grid.addWidget(b, i // 3, i % 3)
        self.keys["ok"].setProperty("role", "primary")
        self.keys["ok"].setStyleSheet("font-size: 22pt;")
        self.keys["back"].setStyleSheet("font-size: 22pt;")
        column.addLayout(grid)
        self.cancel = button("", "", lambda: emit(self.cancelled), "pin_cancel")
        column.addWidget(self.cancel)
        self.retranslate()
        self._refresh()

    def retranslate(self) -> None:
        self.keys["back"].setText(translate("PinPad", "⌫ Hapus"))
        self.keys["ok"].setText(translate("PinPad", "OK"))
        self.cancel.setText(translate("PinPad", "Batal"))

    @property
    def pin(self) -> str:
        return self._pin

    def press(self, key: str) -> None:
        if key == "back":
            self._pin = self._pin[:-1]
        elif key == "ok":
            if len(self._pin) >= self.min_digits:
                pin, self._pin = self._pin, ""
                self._refresh()
                emit(self.submitted, pin)
                return
        elif key.isdigit() and len(self._pin) < self.max_digits:
            self._pin += key
        self._refresh()

    def key(self, event: QKeyEvent) -> bool:
        """A physical key pressed while this pad is shown: digits, Backspace and Enter work as on the pad.
        True when the key was the pad's."""
        name = _pad_key(event)
        if name is None or name == "," or not self.isEnabled():
            return False
        target = self.keys[name]
        if target.isEnabled():
            target.click()
        return True

    def enter(self, pin: str) -> None:
        """Type a whole PIN and press OK (tests, benchmarks)."""
        for digit in pin:
            self.press(digit)
        self.press("ok")

    def clear(self) -> None:
        self._pin = ""
        self._refresh()

    def _refresh(self) -> None:
        self.display.setText("●" * len(self._pin) if self._pin else "")
        self.keys["ok"].setEnabled(len(self._pin) >= self.min_digits)


class NumPad(QWidget):
    """A numpad for amounts and quantities (with a decimal comma when ``decimals``)."""

    changed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._text = ""
        self.decimals = False
        grid = QGridLayout(self)
        grid.setSpacing(10)
        self.keys: dict[str, QPushButton] = {}
        for i, key in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", ",", "0", "back"]):
            b = button("⌫" if key == "back" else key, "key", partial(self.press, key), f"num_{key}")
            self.keys[key] = b
            grid.addWidget(b, i // 3, i % 3)

    @property
    def text(self) -> str:
        return self._text

    def set_decimals(self, on: bool) -> None:
        self.decimals = on
        self.keys[","].setEnabled(on)

    def press(self, key: str) -> None:
        if key == "back":
            self._text = self._text[:-1]
        elif key == ",":
            if self.decimals and "," not in self._text:
                self._text = (self._text or "0") + ","
        elif len(self._text) < 12 and not (self._text == "0" and key == "0"):
            self._text = key if self._text == "0" else self._text + key
        emit(self.changed, self._text)

    def key(self, event: QKeyEvent) -> bool:
        """A physical key: digits, comma or full stop, Backspace (Enter is the screen's own)."""
        name = _pad_key(event)
        if name is None or name == "ok" or not self.isEnabled():
            return False
        target = self.keys[name]
        if target.isEnabled():
            target.click()
        return True

    def type(self, text: str) -> None:
        for ch in text:
            self.press(ch)

    def clear(self) -> None:
        self._text = ""
        emit(self.changed, "")


class ServiceTile(QFrame):
    """One of the eight services: icon, status, name, what is left, until when. Tap to open.

    A tile narrower than :attr:`NARROW` px shows the service's short name (four tiles a row at 1024 px).
    """

    clicked = Signal(int)

    NARROW = 250

    def __init__(self, program: int, compact: bool = False) -> None:
        super().__init__()
        self.program = program
        self.setObjectName("tile")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setMinimumHeight(150 if compact else 240)
        self.compact = compact
        self.narrow = compact
        self.entitlement: Entitlement | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(8 if compact else 12, 8, 8 if compact else 12, 8)
        column.setSpacing(4)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.icon = QLabel()
        self.icon_size = 40 if compact else 52
        self.icon.setFixedSize(self.icon_size, self.icon_size)
        self.chip = Chip()
        if compact:  # the clerk's narrow tiles: the status beside the icon
            self.chip.setStyleSheet("font-size: 12pt;")
            top = QHBoxLayout()
            top.setSpacing(6)
            top.addWidget(self.icon)
            top.addWidget(self.chip, 0, Qt.AlignmentFlag.AlignVCenter)
            top.addStretch(1)
            column.addLayout(top)
        else:  # the citizen's: the status on a line of its own, in 20 px text
            column.addWidget(self.icon)
            column.addWidget(self.chip, 0, Qt.AlignmentFlag.AlignLeft)
        self.name = label("", wrap=True)
        self.name.setStyleSheet(f"font-size: {14 if compact else 16}pt; font-weight: 700;")
        column.addWidget(self.name)
        self.remaining = label("", wrap=True)
        self.remaining.setStyleSheet(f"font-size: {14 if compact else 17}pt; font-weight: 800;")
        column.addWidget(self.remaining)
        self.period = label("", "small", wrap=True)
        if compact:
            self.period.setStyleSheet("font-size: 12pt;")
        column.addWidget(self.period)
        column.addStretch(1)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        narrow = self.compact or event.size().width() < self.NARROW
        if narrow != self.narrow:
            self.narrow = narrow
            self.show_entitlement(self.entitlement)

    def show_entitlement(self, e: Entitlement | None) -> None:
        self.entitlement = e
        if e is None:
            for w in (self.name, self.remaining, self.period, self.chip):
                w.setText("")
            self.chip.hide()
            self.icon.clear()
            return
        self.chip.show()
        self.icon.setPixmap(icon(e.info.icon, self.icon_size))
        self.name.setText(texts.program_name(e.info, short=self.narrow))
        self.chip.setText(texts.status_text(e))
        self.chip.set_tone(texts.status_tone(e))
        self.remaining.setText(texts.remaining_text(e))
        period = texts.period_text(e, short=self.narrow)
        self.period.setText(period if e.status is not Status.NOT_ENROLLED else "")
        self.setProperty("state", "inactive" if e.status is Status.NOT_ENROLLED else "")
        restyle(self)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            emit(self.clicked, self.program)
        super().mouseReleaseEvent(event)


class ServiceGrid(QGridLayout):
    """The eight services' tiles (``tiles``), four to a row."""

    def __init__(self, spacing: int, compact: bool = False) -> None:
        super().__init__()
        self.setSpacing(spacing)
        self.tiles = [ServiceTile(int(p), compact=compact) for p in c.Program]
        for i, tile in enumerate(self.tiles):
            self.addWidget(tile, i // 4, i % 4)

    def show_entitlements(self, entitlements: Iterable[Entitlement]) -> None:
        """Each tile its program's entitlement; a tile without one is left empty."""
        by_program = {int(e.program): e for e in entitlements}
        for tile in self.tiles:
            tile.show_entitlement(by_program.get(tile.program))

    def retranslate(self) -> None:
        for tile in self.tiles:
            tile.show_entitlement(tile.entitlement)


class FactGrid(QGridLayout):
    """Rows of facts: a key in grey, its value large and bold (object names ``<name>_<row>``)."""

    def __init__(self, rows: int, name: str, value_pt: int, *, wrap_values: bool = True) -> None:
        super().__init__()
        self.keys = [label("", wrap=False) for _ in range(rows)]
        self.values = [label("", wrap=wrap_values) for _ in range(rows)]
        for i, (k, v) in enumerate(zip(self.keys, self.values, strict=True)):
            k.setStyleSheet("font-size: 19pt; color: #374151;")
            v.setStyleSheet(f"font-size: {value_pt}pt; font-weight: 800;")
            v.setObjectName(f"{name}_{i}")
            self.addWidget(k, i, 0)
            self.addWidget(v, i, 1)

    def show_keys(self, words: list[str]) -> None:
        for k, text in zip(self.keys, words, strict=True):
            k.setText(text)

    def show_values(self, words: list[str] | None) -> None:
        """One text a row; None: every value empty."""
        for v, text in zip(self.values, words or [""] * len(self.values), strict=True):
            v.setText(text)


def scroll(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setWidget(widget)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.viewport().setAutoFillBackground(False)
    widget.setAutoFillBackground(False)
    if not widget.objectName():
        widget.setObjectName("scrollInner")
    widget.setStyleSheet(f"#{widget.objectName()} {{ background: transparent; }}")
    return area


def panel(name: str = "panel") -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName(name)
    frame.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(24, 18, 24, 18)
    layout.setSpacing(10)
    return frame, layout


def clear_layout(layout: QVBoxLayout | QGridLayout | QHBoxLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item is None:
            break
        widget = item.widget()
        if widget is not None:
            widget.setParent(None)
            widget.deleteLater()
        elif item.layout() is not None:
            clear_layout(item.layout())  # type: ignore[arg-type]


class IdleTimer(QTimer):
    """Single-shot inactivity timer; restart() on every touch."""

    def __init__(self, seconds: float, on_timeout: Callable[[], None]) -> None:
        super().__init__()
        self.setSingleShot(True)
        self.setInterval(int(seconds * 1000))
        self.timeout.connect(on_timeout)

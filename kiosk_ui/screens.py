"""Screens shared by the kiosk and the counter: waiting for a card, reading, refusal, PIN entry."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from kiosk_ui import texts
from kiosk_ui.i18n import QT_TRANSLATE_NOOP
from kiosk_ui.presenting import RefusalInfo
from kiosk_ui.qtcompat import emit
from kiosk_ui.theme import icon
from kiosk_ui.widgets import PinPad, Screen, button, icon_label, label, panel
from terminal.readers import ReaderKind, ReadersChanged

translate = QCoreApplication.translate


def reader_line(event: ReadersChanged | None) -> tuple[str, bool]:
    """("Pembaca kartu siap", True) or a plain-words problem, for the attract screen and status bar."""
    if event is None:
        return translate("Readers", "Menghubungkan pembaca kartu…"), False
    if not event.service_up:
        return translate("Readers", "Layanan pembaca kartu berhenti, sedang dipulihkan…"), False
    if not event.readers:
        return translate("Readers", "Pembaca kartu tidak ditemukan"), False
    kinds = {r.kind for r in event.readers}
    if kinds == {ReaderKind.CONTACT}:
        text = translate("Readers", "Pembaca kartu siap: masukkan kartu ke slot")
    else:
        text = translate("Readers", "Pembaca kartu siap")
    if len(event.readers) > 1:
        text += f" ({len(event.readers)})"
    return text, True


class AttractScreen(Screen):
    """ "Tempelkan kartu Anda": big, with the reader's state underneath."""

    def __init__(self, counter: bool = False) -> None:
        super().__init__()
        self.counter = counter
        self.readers: ReadersChanged | None = None
        self.hint_key = ""
        column = QVBoxLayout(self)
        column.setContentsMargins(60, 20 if counter else 40, 60, 20 if counter else 40)
        column.addStretch(1)
        self.picture = icon_label("card_tap", 170 if counter else 260)
        column.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        self.title = label("", "huge", align=Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.title)
        self.subtitle = label("", "subtitle", align=Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.subtitle)
        column.addSpacing(24)
        row = QHBoxLayout()
        row.addStretch(1)
        self.reader_icon = QLabel()
        row.addWidget(self.reader_icon)
        self.reader_text = label("", wrap=True)
        self.reader_text.setObjectName("readerState")
        self.reader_text.setStyleSheet("font-size: 19pt; font-weight: 700;")
        row.addWidget(self.reader_text)
        row.addStretch(1)
        column.addLayout(row)
        self.hint = label("", align=Qt.AlignmentFlag.AlignCenter)
        self.hint.setStyleSheet("font-size: 22pt; font-weight: 700; color: #7A4B00;")
        column.addWidget(self.hint)
        column.addStretch(1)
        self.retranslate()

    def set_readers(self, event: ReadersChanged | None) -> None:
        self.readers = event
        self.retranslate()

    def set_hint(self, key: str) -> None:
        """ "" (none) or "take_card": the last holder's card is still on the reader."""
        self.hint_key = key
        self.retranslate()

    def retranslate(self) -> None:
        if self.counter:
            self.title.setText(translate("Attract", "Minta warga menempelkan kartu"))
            self.subtitle.setText(translate("Attract", "Kartu dibaca otomatis begitu ditempelkan."))
        elif self.hint_key == "take_card":  # never "tap your card" and "take your card" at once
            self.title.setText(translate("Attract", "Silakan ambil kartu Anda dari pembaca."))
            self.subtitle.setText("")
        else:
            self.title.setText(translate("Attract", "Tempelkan kartu Anda"))
            self.subtitle.setText(
                translate(
                    "Attract", "Letakkan kartu di atas pembaca untuk melihat hak dan sisa bantuan Anda."
                )
            )
        text, ok = reader_line(self.readers)
        self.reader_text.setText(text)
        self.reader_text.setStyleSheet(
            f"font-size: 19pt; font-weight: 700; color: {'#0B5D3B' if ok else '#9B1C1C'};"
        )
        self.reader_icon.setPixmap(icon("reader" if ok else "reader_missing", 44))
        self.hint.setText(
            translate("Attract", "Silakan ambil kartu Anda dari pembaca.")
            if self.hint_key == "take_card" and self.counter
            else ""
        )


class ReadingScreen(Screen):
    def __init__(self) -> None:
        super().__init__()
        column = QVBoxLayout(self)
        column.addStretch(1)
        column.addWidget(icon_label("card_tap", 200), 0, Qt.AlignmentFlag.AlignHCenter)
        self.title = label("", "huge", align=Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.title)
        self.subtitle = label("", "subtitle", align=Qt.AlignmentFlag.AlignCenter)
        column.addWidget(self.subtitle)
        bar = QProgressBar()
        bar.setRange(0, 0)  # busy
        bar.setTextVisible(False)
        bar.setFixedSize(520, 26)
        column.addWidget(bar, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(1)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Reading", "Membaca kartu…"))
        self.subtitle.setText(translate("Reading", "Jangan angkat kartu dulu."))


class RefusalScreen(Screen):
    """A plain-words refusal: what happened, and what to do next. Never a code or a traceback."""

    back = Signal()

    def __init__(self, counter: bool = False) -> None:
        super().__init__()
        self.counter = counter
        self.info: RefusalInfo | None = None
        self.extra: list[tuple[str, Callable[[], None], str]] = []
        column = QVBoxLayout(self)
        column.setContentsMargins(40, 20, 40, 20)
        column.addStretch(1)
        box, inner = panel("refusal")
        top = QHBoxLayout()
        self.picture = QLabel()
        top.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        self.title = label("", "title")
        self.title.setStyleSheet("font-size: 30pt; font-weight: 800; color: #9B1C1C;")
        words.addWidget(self.title)
        self.body = label("")
        self.body.setStyleSheet("font-size: 21pt;")
        words.addWidget(self.body)
        top.addLayout(words, 1)
        inner.addLayout(top)
        column.addWidget(box)
        column.addSpacing(18)
        steps, steps_layout = panel()
        self.next_title = label("", wrap=False)
        self.next_title.setStyleSheet("font-size: 19pt; font-weight: 800;")
        steps_layout.addWidget(self.next_title)
        self.next_step = label("")
        self.next_step.setObjectName("nextStep")
        self.next_step.setStyleSheet("font-size: 21pt;")
        steps_layout.addWidget(self.next_step)
        column.addWidget(steps)
        self.detail = label("", "small")
        column.addWidget(self.detail)
        column.addSpacing(12)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self.extra_buttons: list[QPushButton] = []
        self.back_button = button("", "primary", lambda: emit(self.back), "refusal_back")
        self.back_button.setMinimumWidth(300)
        self.buttons.addWidget(self.back_button)
        self.buttons.addStretch(1)
        column.addLayout(self.buttons)
        column.addStretch(1)

    def show_refusal(
        self, info: RefusalInfo, extra: list[tuple[str, Callable[[], None], str]] | None = None
    ) -> None:
        self.info = info
        for b in self.extra_buttons:
            b.setParent(None)
        self.extra_buttons = []
        self.extra = extra or []
        for _text, action, name in self.extra:
            b = button("", "", action, name)
            self.buttons.insertWidget(1, b)
            self.extra_buttons.append(b)
        self.retranslate()

    def retranslate(self) -> None:
        self.next_title.setText(translate("Refusal", "Apa yang perlu dilakukan:"))
        self.back_button.setText(
            translate("Refusal", "Kembali") if self.counter else translate("Refusal", "Selesai")
        )
        for b, (text, _a, _n) in zip(self.extra_buttons, self.extra, strict=True):
            b.setText(translate("Counter", text))
        if self.info is None:
            return
        words = texts.refusal_text(self.info, counter=self.counter)
        self.picture.setPixmap(icon(words.icon, 120))
        self.title.setText(words.title)
        self.body.setText(words.body)
        self.next_step.setText(words.next_step)
        # the clerk sees the technical reason in small print; the citizen never does
        self.detail.setText(self.info.detail if self.counter and self.info.detail else "")

    def clear(self) -> None:
        self.info = None
        for w in (self.title, self.body, self.next_step, self.detail):
            w.setText("")


class PinScreen(Screen):
    """PIN entry on the on-screen pad, with a plain-words message (wrong PIN, tries left)."""

    submitted = Signal(str)
    cancelled = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.title_source = ("Pin", QT_TRANSLATE_NOOP("Pin", "Masukkan PIN kartu Anda"))
        self.subtitle_source = (
            "Pin",
            QT_TRANSLATE_NOOP("Pin", "PIN tidak akan terlihat di layar. Tutupi tangan Anda saat menekan."),
        )
        self.message_source: tuple[str, str] | None = None
        self.message_args: dict[str, object] = {}
        #: What the entered PIN is for (the counter asks for several in a row).
        self.mode = ""
        row = QHBoxLayout(self)
        row.setContentsMargins(40, 20, 40, 20)
        left = self.column = QVBoxLayout()  # the column left of the pad (subclasses add to it)
        left.addStretch(1)
        left.addWidget(icon_label("lock", 120))
        self.title = label("", "title")
        left.addWidget(self.title)
        self.subtitle = label("", "subtitle")
        left.addWidget(self.subtitle)
        self.message = label("")
        self.message.setObjectName("pinMessage")
        self.message.setStyleSheet("font-size: 22pt; font-weight: 800; color: #9B1C1C;")
        left.addWidget(self.message)
        left.addStretch(1)
        row.addLayout(left, 1)
        row.addSpacing(24)
        self.pad = self.keypad = PinPad()
        self.pad.setFixedWidth(400)
        self.pad.submitted.connect(self.submitted)
        self.pad.cancelled.connect(self.cancelled)
        row.addWidget(self.pad)
        self.busy = False

    def ask(self, title: tuple[str, str], subtitle: tuple[str, str] | None = None) -> None:
        self.title_source = title
        if subtitle is not None:
            self.subtitle_source = subtitle
        self.message_source = None
        self.pad.clear()
        self.retranslate()

    def say(self, message: tuple[str, str] | None, **args: object) -> None:
        self.message_source = message
        self.message_args = args
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate(*self.title_source))
        self.subtitle.setText(translate(*self.subtitle_source))
        self.message.setText(
            translate(*self.message_source).format(**self.message_args) if self.message_source else ""
        )
        self.pad.retranslate()

    def clear(self) -> None:
        self.pad.clear()
        self.message_source = None
        self.message.setText("")


def pin_tries_message(tries: int | None) -> tuple[str, str]:
    if tries == 1:
        return ("Pin", QT_TRANSLATE_NOOP("Pin", "PIN salah. Tinggal 1 kali lagi sebelum PIN terkunci."))
    return ("Pin", QT_TRANSLATE_NOOP("Pin", "PIN salah. Sisa {tries} kali mencoba."))

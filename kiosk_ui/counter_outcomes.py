"""The counter's status bar, the result of a transaction, and the PIN unblock's e-KTP check."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from card_applet_spec import constants as c
from kiosk_ui import texts
from kiosk_ui.i18n import QT_TRANSLATE_NOOP
from kiosk_ui.presenting import (
    needs_amount,
)
from kiosk_ui.qtcompat import emit
from kiosk_ui.screens import reader_line
from kiosk_ui.theme import icon
from kiosk_ui.widgets import (
    Screen,
    button,
    icon_label,
    label,
    panel,
)
from province.programs import PROGRAMS
from terminal.app import TerminalStatus
from terminal.counter_flow_types import ResetProblem
from terminal.ledger import Entry
from terminal.readers import ReadersChanged
from terminal.tap import TapResult

translate = QCoreApplication.translate


# -- the status bar ----------------------------------------------------------------------------------------


class StatusStrip(QFrame):
    """Always visible: reader, printer, data age / last sync, uploads and receipts waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("statusbar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedHeight(56)
        row = QGridLayout(self)  # two by two: fits 1024 px in either language
        row.setContentsMargins(20, 4, 20, 4)
        row.setHorizontalSpacing(28)
        row.setVerticalSpacing(0)
        self.reader = label("", wrap=False)
        self.reader.setObjectName("status_reader")
        self.printer = label("", wrap=False)
        self.printer.setObjectName("status_printer")
        self.data = label("", wrap=False)
        self.data.setObjectName("status_data")
        self.pending = label("", wrap=False)
        self.pending.setObjectName("status_pending")
        for i, w in enumerate((self.reader, self.printer, self.data, self.pending)):
            row.addWidget(w, i % 2, i // 2)
        row.setColumnStretch(2, 1)
        self.readers: ReadersChanged | None = None
        self.status: TerminalStatus | None = None
        self.printer_state: tuple[str, str | None] | None = None
        self.now = 0.0

    def show_readers(self, event: ReadersChanged | None) -> None:
        self.readers = event
        self.retranslate()

    def show_status(self, status: TerminalStatus, printer: tuple[str, str | None], now: float) -> None:
        self.status, self.printer_state, self.now = status, printer, now
        self.retranslate()

    def retranslate(self) -> None:
        text, ok = reader_line(self.readers)
        self.reader.setText(("● " if ok else "▲ ") + text)
        if self.printer_state is None:
            self.printer.setText(translate("Status", "Printer: memeriksa…"))
        else:
            state, code = self.printer_state
            if state == "ok":
                self.printer.setText("● " + translate("Status", "Printer siap"))
            elif state == "none":
                self.printer.setText("▲ " + translate("Status", "Tidak ada printer"))
            elif state == "unknown":
                self.printer.setText("● " + translate("Status", "Printer (status tidak diketahui)"))
            else:
                self.printer.setText(
                    "▲ "
                    + translate("Status", "Printer: {fault}").format(fault=texts.printer_fault_text(code))
                )
        s = self.status
        if s is None:
            self.data.setText("")
            self.pending.setText("")
            return
        if s.data_age_s is None:
            data = "▲ " + translate("Status", "Data status: belum ada")
        else:
            data = "● " + translate("Status", "Data status: {age}").format(age=texts.age_text(s.data_age_s))
        if s.last_sync is not None:
            data += " · " + translate("Status", "sinkron {age} lalu").format(
                age=texts.age_text(self.now - s.last_sync)
            )
        else:
            data += " · " + translate("Status", "belum pernah sinkron")
        self.data.setText(data)
        self.pending.setText(
            translate("Status", "Belum terkirim: {n} · Struk tertunda: {r}").format(
                n=s.uploads_pending, r=s.receipts_pending
            )
        )


class ResultScreen(Screen):
    """Done (receipt printed or waiting for the printer), or "tap the card again to finish"."""

    done = Signal()
    reprint = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.kind = ""
        self.entry: Entry | None = None
        self.print_error: str | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(40, 20, 40, 20)
        column.addStretch(1)
        self.box, inner = panel("success")
        top = QHBoxLayout()
        self.picture = QLabel()
        top.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        self.title = label("")
        self.title.setObjectName("resultTitle")
        self.title.setStyleSheet("font-size: 30pt; font-weight: 800;")
        words.addWidget(self.title)
        self.body = label("")
        self.body.setObjectName("resultBody")
        self.body.setStyleSheet("font-size: 21pt;")
        words.addWidget(self.body)
        top.addLayout(words, 1)
        inner.addLayout(top)
        column.addWidget(self.box)
        self.printer_box, printer_inner = panel("notice")
        self.printer_text = label("")
        self.printer_text.setObjectName("printerProblem")
        self.printer_text.setStyleSheet("font-size: 19pt; font-weight: 700;")
        printer_inner.addWidget(self.printer_text)
        self.reprint_button = button("", "primary", lambda: emit(self.reprint), "result_reprint")
        printer_inner.addWidget(self.reprint_button, 0, Qt.AlignmentFlag.AlignLeft)
        column.addWidget(self.printer_box)
        self.done_button = button("", "primary", lambda: emit(self.done), "result_done")
        self.done_button.setMinimumWidth(300)
        column.addSpacing(12)
        column.addWidget(self.done_button, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(1)

    def show_redeemed(self, entry: Entry, printed: bool, error: str | None) -> None:
        self.kind, self.entry, self.print_error = "redeemed", entry, None if printed else (error or "error")
        self.retranslate()

    def show_printed(self, printed: bool, error: str | None) -> None:
        self.print_error = None if printed else (error or "error")
        self.retranslate()

    def show_interrupted(self) -> None:
        self.kind, self.entry, self.print_error = "interrupted", None, None
        self.retranslate()

    def show_pin_reset(self) -> None:
        self.kind, self.entry, self.print_error = "pin_reset", None, None
        self.retranslate()

    def retranslate(self) -> None:
        self.reprint_button.setText(translate("Result", "Cetak ulang struk"))
        self.done_button.setText(translate("Result", "Selesai"))
        self.printer_box.setVisible(self.print_error is not None)
        if self.print_error is not None:
            self.printer_text.setText(
                translate(
                    "Result",
                    "Struk belum tercetak: {fault}. Transaksi sudah tersimpan. Perbaiki printer, lalu tekan "
                    "Cetak ulang struk.",
                ).format(fault=texts.printer_fault_text(self.print_error))
            )
        if self.kind == "redeemed" and self.entry is not None:
            e = self.entry
            self._tone("success", "check")
            self.title.setText(translate("Result", "Berhasil"))
            if needs_amount(e.program):
                body = translate("Result", "{amount} dari {program}. Sisa: {left}.").format(
                    amount=texts.amount_text(e.unit, e.amount),
                    program=texts.program_name(PROGRAMS[c.Program(e.program)]),
                    left=texts.amount_text(e.unit, e.balance_after),
                )
            else:
                body = translate("Result", "Kunjungan {program} tercatat.").format(
                    program=texts.program_name(PROGRAMS[c.Program(e.program)])
                )
            if self.print_error is None:
                body += " " + translate("Result", "Struk sudah dicetak.")
            self.body.setText(body)
        elif self.kind == "interrupted":
            self._tone("notice", "card_tap")
            self.title.setText(translate("Result", "Tempelkan kartu lagi untuk menyelesaikan"))
            self.body.setText(
                translate(
                    "Result",
                    "Kartu terangkat saat transaksi. Minta warga menempelkan kartu lagi: "
                    "mesin akan memeriksa "
                    "catatan di kartu dan menyelesaikannya. Jangan ulangi transaksi sebelum itu.",
                )
            )
        elif self.kind == "pin_reset":
            self._tone("success", "check")
            self.title.setText(translate("Result", "PIN baru aktif"))
            self.body.setText(
                translate("Result", "PIN kartu sudah dibuka dan diganti. Warga dapat memakainya sekarang.")
            )

    def _tone(self, name: str, picture: str) -> None:
        self.box.setObjectName(name)
        self.box.style().unpolish(self.box)
        self.box.style().polish(self.box)
        self.picture.setPixmap(icon(picture, 110))

    def clear(self) -> None:
        self.kind, self.entry, self.print_error = "", None, None
        self.title.setText("")
        self.body.setText("")
        self.printer_box.hide()


#: What the reset screen says when the card refuses the reset (context "Reset").
RESET_PROBLEMS: dict[ResetProblem, str] = {
    ResetProblem.NIK_MISMATCH: QT_TRANSLATE_NOOP(
        "Reset", "NIK tidak cocok dengan kartu ini. Periksa e-KTP dan ketik ulang NIK-nya."
    ),
    ResetProblem.HOLDER_CHECK_BLOCKED: QT_TRANSLATE_NOOP(
        "Reset", "Terlalu banyak NIK salah: PIN kartu ini hanya bisa dibuka oleh kantor penerbit."
    ),
    ResetProblem.NOT_THE_CHECKED_CARD: QT_TRANSLATE_NOOP(
        "Reset", "Kartu di pembaca bukan kartu yang diperiksa. Tempelkan kartu warga lagi."
    ),
}


class PinResetScreen(Screen):
    """The clerk checks the holder's e-KTP and types its NIK before the holder chooses a new PIN.

    The card checks the NIK itself (SPEC §5.9: holder_ref in the enciphered reset), so a reset meant
    for the checked holder cannot open another card.
    """

    proceed = Signal()
    back = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.tap: TapResult | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(40, 12, 40, 12)
        column.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(icon_label("lock", 80))
        words = QVBoxLayout()
        self.title = label("", "title")
        words.addWidget(self.title)
        self.who = label("", "subtitle")
        words.addWidget(self.who)
        row.addLayout(words, 1)
        column.addLayout(row)
        box, inner = panel()
        self.steps = label("")
        inner.addWidget(self.steps)
        self.nik_label = label("")
        inner.addWidget(self.nik_label)
        self.nik = QLineEdit()
        self.nik.setObjectName("reset_nik")
        self.nik.setMaxLength(16)
        self.nik.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        inner.addWidget(self.nik)
        self.checked = QCheckBox()
        self.checked.setObjectName("ektp_checked")
        inner.addWidget(self.checked)
        self.problem = label("", "reset_problem")
        inner.addWidget(self.problem)
        self._problem: str = ""
        column.addWidget(box)
        buttons = QHBoxLayout()
        self.back_button = button("", "", lambda: emit(self.back), "reset_back")
        self.next_button = button("", "primary", lambda: emit(self.proceed), "reset_next")
        self.next_button.setEnabled(False)
        self.checked.toggled.connect(self._update)
        self.nik.textChanged.connect(self._update)
        buttons.addWidget(self.back_button)
        buttons.addStretch(1)
        buttons.addWidget(self.next_button)
        column.addLayout(buttons)
        column.addStretch(1)
        self.retranslate()

    @property
    def nik_value(self) -> str:
        """The NIK typed from the e-KTP: 16 digits, or "" while it is not complete."""
        text = self.nik.text().strip()
        return text if len(text) == 16 and text.isascii() and text.isdigit() else ""

    def _update(self) -> None:
        self.next_button.setEnabled(self.checked.isChecked() and bool(self.nik_value))

    def ask(self, tap: TapResult) -> None:
        self.tap = tap
        self.checked.setChecked(False)
        self.nik.clear()
        self._problem = ""
        self.retranslate()

    def say(self, problem: str) -> None:
        """Back on this screen after the card refused the reset: why, in the clerk's language."""
        self._problem = problem
        self.checked.setChecked(False)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Reset", "Buka blokir dan ganti PIN"))
        self.steps.setText(
            translate(
                "Reset",
                "1. Minta e-KTP warga.\n2. Cocokkan nama, foto dan NIK di e-KTP dengan kartu ini.\n"
                "3. Ketik NIK dari e-KTP: kartu memeriksanya sendiri.\n"
                "4. Warga memilih PIN baru sendiri di layar (4 sampai 8 angka). "
                "Petugas tidak boleh melihatnya.",
            )
        )
        self.nik_label.setText(translate("Reset", "NIK di e-KTP (16 angka)"))
        self.nik.setPlaceholderText(translate("Reset", "Ketik 16 angka NIK"))
        self.problem.setText(translate("Reset", self._problem) if self._problem else "")
        self.checked.setText(translate("Reset", "e-KTP sudah saya periksa dan cocok dengan pemegang kartu"))
        self.back_button.setText(translate("Reset", "Kembali"))
        self.next_button.setText(translate("Reset", "Lanjut: warga memilih PIN baru"))
        if self.tap is not None:
            self.who.setText(f"{self.tap.holder_name} · NIK {self.tap.nik_masked}")

    def clear(self) -> None:
        self.tap = None
        self.checked.setChecked(False)
        self.nik.clear()
        self._problem = ""
        self.problem.setText("")
        self.who.setText("")

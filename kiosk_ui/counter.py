"""The clerk counter: login, tap → holder summary → program → amount → holder PIN → confirm → receipt.

Also: reprint, void with a reason, the end-of-day report (shown, and printed when there is a printer),
PIN unblock/reset after the clerk ticked "e-KTP checked", and recoverable faults — a printer fault
leaves the receipt pending with a "print again" button; a card pulled during the debit says "tap the
card again to finish" and the core settles it at that next tap. A status bar always shows the reader,
the printer, the data age / last sync and what is waiting to be uploaded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal, SignalInstance
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from card_applet_spec import constants as c
from kiosk_ui import texts
from kiosk_ui.backend import Backend, end_of_day_report, printer_state
from kiosk_ui.i18n import QT_TRANSLATE_NOOP, Language
from kiosk_ui.presenting import (
    Refusal,
    RefusalInfo,
    needs_amount,
    pin_tries_left,
    printer_fault,
    refusal_for_tap,
    region_name,
    wib,
    wrong_pin_tries,
)
from kiosk_ui.qtcompat import emit
from kiosk_ui.screens import AttractScreen, ReadingScreen, pin_tries_message, reader_line
from kiosk_ui.shell import CardWindow
from kiosk_ui.theme import icon
from kiosk_ui.widgets import (
    FactGrid,
    NumPad,
    PinPad,
    Screen,
    ServiceGrid,
    button,
    clear_layout,
    icon_label,
    label,
    panel,
)
from province.clock import WIB
from province.programs import PROGRAMS, parse_amount
from terminal.app import NotTheCheckedCard, TerminalStatus
from terminal.card.errors import HolderCheckBlockedError, HolderMismatchError
from terminal.clerks import Clerk
from terminal.entitlements import Entitlement, Status
from terminal.failures import FailureReason
from terminal.ledger import DayTotals, Entry, LedgerError, ReceiptState, ReconcileReport, State
from terminal.readers import CardInserted, ReadersChanged
from terminal.redeem import DebitInterrupted, Redemption, RedemptionRefused
from terminal.tap import TapResult

translate = QCoreApplication.translate


# -- the status bar ----------------------------------------------------------------------------------------


class StatusStrip(QFrame):
    """Always visible: reader, printer, data age / last sync, uploads and receipts waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("statusbar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedHeight(52)
        row = QHBoxLayout(self)
        row.setContentsMargins(20, 4, 20, 4)
        row.setSpacing(28)
        self.reader = label("", wrap=False)
        self.reader.setObjectName("status_reader")
        self.printer = label("", wrap=False)
        self.printer.setObjectName("status_printer")
        self.data = label("", wrap=False)
        self.data.setObjectName("status_data")
        self.pending = label("", wrap=False)
        self.pending.setObjectName("status_pending")
        for w in (self.reader, self.printer, self.data, self.pending):
            row.addWidget(w)
        row.addStretch(1)
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


# -- screens -----------------------------------------------------------------------------------------------


class LoginScreen(Screen):
    """Clerk id (a button per known clerk, or typed) and PIN on the pad."""

    login = Signal(str, str)

    def __init__(self, clerks: list[Clerk]) -> None:
        super().__init__()
        self.clerks = clerks
        self.failed = False
        row = QHBoxLayout(self)
        row.setContentsMargins(60, 30, 60, 30)
        left = QVBoxLayout()
        left.addStretch(1)
        self.title = label("", "title")
        left.addWidget(self.title)
        self.subtitle = label("", "subtitle")
        left.addWidget(self.subtitle)
        self.clerk_id = QLineEdit()
        self.clerk_id.setObjectName("clerk_id")
        left.addWidget(self.clerk_id)
        grid = QGridLayout()
        for i, clerk in enumerate(clerks):
            b = button(
                f"{clerk.name} ({clerk.clerk_id})",
                "",
                partial(self.clerk_id.setText, clerk.clerk_id),
                f"clerk_{clerk.clerk_id}",
            )
            grid.addWidget(b, i // 2, i % 2)
        left.addLayout(grid)
        self.message = label("")
        self.message.setStyleSheet("font-size: 20pt; font-weight: 800; color: #9B1C1C;")
        left.addWidget(self.message)
        left.addStretch(1)
        row.addLayout(left, 1)
        row.addSpacing(40)
        self.pad = PinPad()
        self.pad.setFixedWidth(440)
        self.pad.cancel.hide()
        self.pad.submitted.connect(lambda pin: emit(self.login, self.clerk_id.text(), pin))
        row.addWidget(self.pad)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Login", "Masuk petugas"))
        self.subtitle.setText(translate("Login", "Pilih atau ketik ID petugas, lalu masukkan PIN petugas."))
        self.clerk_id.setPlaceholderText(translate("Login", "ID petugas"))
        self.message.setText(translate("Login", "ID atau PIN petugas salah.") if self.failed else "")
        self.pad.retranslate()

    def clear(self) -> None:
        self.failed = False
        self.clerk_id.clear()
        self.pad.clear()
        self.retranslate()


class HomeScreen(Screen):
    """Waiting for a card, with the clerk's other tasks."""

    def __init__(self) -> None:
        super().__init__()
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 20)
        self.attract = AttractScreen(counter=True)
        column.addWidget(self.attract, 1)
        self.notice = label("", align=Qt.AlignmentFlag.AlignCenter)
        self.notice.setObjectName("homeNotice")
        self.notice.setStyleSheet("font-size: 20pt; font-weight: 800; color: #7A4B00;")
        column.addWidget(self.notice)
        row = QHBoxLayout()
        row.setContentsMargins(40, 0, 40, 0)
        self.transactions = button("", "", None, "open_transactions")
        self.report = button("", "", None, "open_report")
        self.logout = button("", "", None, "logout")
        for b in (self.transactions, self.report):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.logout)
        column.addLayout(row)
        self.notice_source: tuple[str, str] | None = None
        self.retranslate()

    def say(self, source: tuple[str, str] | None) -> None:
        self.notice_source = source
        self.retranslate()

    def retranslate(self) -> None:
        self.attract.retranslate()
        self.transactions.setText(translate("Home", "Transaksi hari ini"))
        self.report.setText(translate("Home", "Laporan akhir hari"))
        self.logout.setText(translate("Home", "Keluar"))
        self.notice.setText(translate(*self.notice_source) if self.notice_source else "")


class HolderScreen(Screen):
    """The holder: photo placeholder, name, masked NIK, PIN state, the eight services to choose from."""

    choose = Signal(int)
    reset_pin = Signal()
    done = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.tap: TapResult | None = None
        self.report: ReconcileReport | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(24, 16, 24, 16)
        row.setSpacing(20)
        left_frame, left = panel()
        left_frame.setFixedWidth(360)
        left.addWidget(icon_label("person", 170), 0, Qt.AlignmentFlag.AlignHCenter)
        self.photo_note = label("", "small", align=Qt.AlignmentFlag.AlignCenter)
        left.addWidget(self.photo_note)
        self.name = label("")
        self.name.setObjectName("holderName")
        self.name.setStyleSheet("font-size: 24pt; font-weight: 800;")
        left.addWidget(self.name)
        self.nik = label("", wrap=False)
        self.nik.setObjectName("holderNik")
        self.nik.setStyleSheet("font-size: 19pt;")
        left.addWidget(self.nik)
        self.region = label("", "small")
        left.addWidget(self.region)
        self.pin_state = label("")
        self.pin_state.setObjectName("pinState")
        self.pin_state.setStyleSheet("font-size: 17pt; font-weight: 700;")
        left.addWidget(self.pin_state)
        left.addStretch(1)
        self.reset_button = button("", "", lambda: emit(self.reset_pin), "reset_pin")
        self.reset_button.setStyleSheet("font-size: 15pt;")
        left.addWidget(self.reset_button)
        self.done_button = button("", "primary", lambda: emit(self.done), "holder_done")
        left.addWidget(self.done_button)
        row.addWidget(left_frame)
        right = QVBoxLayout()
        self.banner = label("")
        self.banner.setObjectName("settleBanner")
        self.banner.setStyleSheet(
            "background: #FFF1C2; border: 3px solid #7A4B00; border-radius: 12px; padding: 10px; "
            "font-size: 17pt; font-weight: 700;"
        )
        right.addWidget(self.banner)
        self.prompt = label("", "subtitle")
        right.addWidget(self.prompt)
        self.grid = ServiceGrid(12, compact=True)
        self.tiles = self.grid.tiles
        for tile in self.tiles:
            tile.clicked.connect(self.choose)
        right.addLayout(self.grid, 1)
        row.addLayout(right, 1)
        self.retranslate()

    def show_holder(self, tap: TapResult, report: ReconcileReport | None) -> None:
        self.tap, self.report = tap, report
        self.grid.show_entitlements(tap.entitlements)
        self.retranslate()

    def retranslate(self) -> None:
        self.photo_note.setText(translate("Holder", "Foto: cocokkan dengan e-KTP"))
        self.reset_button.setText(translate("Holder", "Buka blokir / ganti PIN"))
        self.done_button.setText(translate("Holder", "Selesai"))
        self.prompt.setText(translate("Holder", "Pilih layanan yang diambil:"))
        tap = self.tap
        if tap is None:
            for w in (self.name, self.nik, self.region, self.pin_state, self.banner):
                w.setText("")
            self.banner.hide()
            return
        self.name.setText(tap.holder_name)
        self.nik.setText(f"NIK {tap.nik_masked}")
        cred = tap.result.credential
        self.region.setText(region_name(cred.claims.region) if cred else "")
        tries = pin_tries_left(tap)
        if tries == 0:
            self.pin_state.setText(translate("Holder", "PIN terkunci: buka blokir setelah memeriksa e-KTP."))
            self.pin_state.setStyleSheet("font-size: 17pt; font-weight: 800; color: #9B1C1C;")
            self.reset_button.setProperty("role", "danger")
        else:
            self.pin_state.setText(translate("Holder", "PIN aktif (sisa {n} kali mencoba)").format(n=tries))
            self.pin_state.setStyleSheet("font-size: 17pt; font-weight: 700; color: #0B5D3B;")
            self.reset_button.setProperty("role", "")
        self.reset_button.style().unpolish(self.reset_button)
        self.reset_button.style().polish(self.reset_button)
        report = self.report
        lines = []
        if report is not None and report.recovered:
            lines.append(
                translate(
                    "Holder",
                    "Transaksi yang tadi terputus ternyata sudah tercatat di kartu: selesai, struk dicetak.",
                )
            )
        if report is not None and report.abandoned:
            lines.append(
                translate("Holder", "Transaksi yang tadi terputus tidak terjadi: saldo kartu tidak berubah.")
            )
        if report is not None and report.unresolved:
            lines.append(translate("Holder", "Ada transaksi terputus yang perlu diperiksa petugas pusat."))
        self.banner.setText("\n".join(lines))
        self.banner.setVisible(bool(lines))
        self.grid.retranslate()

    def clear(self) -> None:
        self.tap = None
        self.report = None
        self.grid.show_entitlements(())
        self.retranslate()


class AmountScreen(Screen):
    """Amount or quantity on the numpad, checked against what is left before the holder's PIN."""

    proceed = Signal(int)
    back = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.entitlement: Entitlement | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(50, 30, 50, 30)
        left = QVBoxLayout()
        left.addStretch(1)
        self.icon = QLabel()
        left.addWidget(self.icon)
        self.program = label("", "title")
        left.addWidget(self.program)
        self.left_text = label("", "subtitle")
        left.addWidget(self.left_text)
        self.question = label("")
        self.question.setStyleSheet("font-size: 20pt; font-weight: 700;")
        left.addWidget(self.question)
        self.display = label("", "pinDisplay", wrap=False, align=Qt.AlignmentFlag.AlignRight)
        self.display.setObjectName("amountDisplay")
        self.display.setStyleSheet(
            "font-size: 36pt; font-weight: 800; background: white; border: 3px solid #111827;"
            " border-radius: 12px; padding: 8px;"
        )
        left.addWidget(self.display)
        self.message = label("")
        self.message.setObjectName("amountMessage")
        self.message.setStyleSheet("font-size: 19pt; font-weight: 800; color: #9B1C1C;")
        left.addWidget(self.message)
        buttons = QHBoxLayout()
        self.back_button = button("", "", lambda: emit(self.back), "amount_back")
        self.next_button = button("", "primary", self._next, "amount_next")
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.next_button)
        left.addLayout(buttons)
        left.addStretch(1)
        row.addLayout(left, 1)
        row.addSpacing(40)
        self.pad = NumPad()
        self.pad.setFixedWidth(440)
        self.pad.changed.connect(lambda _t: self.retranslate())
        row.addWidget(self.pad)

    def ask(self, e: Entitlement) -> None:
        self.entitlement = e
        self.pad.clear()
        self.pad.set_decimals(e.unit in (c.Unit.GRAM, c.Unit.MILLILITRE))
        self.retranslate()

    def amount(self) -> tuple[int | None, str]:
        """The amount in base units and "" when acceptable; else None and the plain-words problem."""
        e = self.entitlement
        text = self.pad.text
        if e is None or not text:
            return None, ""
        try:
            value = parse_amount(e.unit or 0, text)
        except ValueError:
            return None, translate("Amount", "Angka tidak sah.")
        if value <= 0:
            return None, translate("Amount", "Jumlah harus lebih dari nol.")
        if e.remaining is not None and value > e.remaining:
            return None, translate("Amount", "Melebihi sisa {left}.").format(
                left=texts.amount_text(e.unit, e.remaining)
            )
        return value, ""

    def _next(self) -> None:
        value, _problem = self.amount()
        if value is not None:
            emit(self.proceed, value)

    def retranslate(self) -> None:
        self.back_button.setText(translate("Amount", "Kembali"))
        self.next_button.setText(translate("Amount", "Lanjut: PIN warga"))
        e = self.entitlement
        if e is None:
            return
        self.icon.setPixmap(icon(e.info.icon, 90))
        self.program.setText(texts.program_name(e.info))
        self.left_text.setText(texts.remaining_text(e))
        unit = texts.unit_label(e.unit)
        self.question.setText(
            translate("Amount", "Berapa rupiah yang diambil?")
            if e.unit == c.Unit.RUPIAH
            else translate("Amount", "Berapa {unit} yang diambil?").format(unit=unit)
        )
        shown = self.pad.text or "0"
        if e.unit == c.Unit.RUPIAH:
            self.display.setText(f"Rp {int(shown):,}".replace(",", "."))
        else:
            whole, comma, frac = shown.partition(",")
            self.display.setText(f"{int(whole or 0):,}".replace(",", ".") + comma + frac + f" {unit}")
        value, problem = self.amount()
        self.message.setText(problem)
        self.next_button.setEnabled(value is not None)

    def clear(self) -> None:
        self.entitlement = None
        self.pad.clear()
        for w in (self.program, self.left_text, self.question, self.display, self.message):
            w.setText("")


class ConfirmScreen(Screen):
    confirm = Signal()
    cancel = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.summary: tuple[TapResult, Entitlement, int] | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(140, 40, 140, 40)
        column.addStretch(1)
        box, inner = panel()
        self.title = label("", "title")
        inner.addWidget(self.title)
        self.grid = FactGrid(4, "confirm", 23)
        inner.addLayout(self.grid)
        column.addWidget(box)
        self.note = label("", "small")
        column.addWidget(self.note)
        buttons = QHBoxLayout()
        self.cancel_button = button("", "", lambda: emit(self.cancel), "confirm_cancel")
        self.confirm_button = button("", "primary", lambda: emit(self.confirm), "confirm_ok")
        self.confirm_button.setMinimumWidth(420)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.confirm_button)
        column.addLayout(buttons)
        column.addStretch(1)

    def show_summary(self, tap: TapResult, e: Entitlement, amount: int) -> None:
        self.summary = (tap, e, amount)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Confirm", "Periksa sebelum menyimpan"))
        self.cancel_button.setText(translate("Confirm", "Batal"))
        self.confirm_button.setText(translate("Confirm", "Konfirmasi && cetak struk"))
        self.note.setText(translate("Confirm", "Jangan angkat kartu sampai struk keluar."))
        self.grid.show_keys(
            [
                translate("Confirm", "Warga"),
                translate("Confirm", "Layanan"),
                translate("Confirm", "Jumlah"),
                translate("Confirm", "Sisa sesudahnya"),
            ]
        )
        if self.summary is None:
            self.grid.show_values(None)
            return
        tap, e, amount = self.summary
        if needs_amount(int(e.program)):
            what = texts.amount_text(e.unit, amount)
            after = texts.amount_text(e.unit, (e.remaining or 0) - amount)
        else:
            what, after = translate("Confirm", "Kunjungan (tanpa jumlah)"), "–"
        self.grid.show_values(
            [f"{tap.holder_name} · NIK {tap.nik_masked}", texts.program_name(e.info), what, after]
        )

    def clear(self) -> None:
        self.summary = None
        self.retranslate()


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
        column.setContentsMargins(120, 40, 120, 40)
        column.addStretch(1)
        self.box, inner = panel("success")
        top = QHBoxLayout()
        self.picture = QLabel()
        top.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        self.title = label("")
        self.title.setObjectName("resultTitle")
        self.title.setStyleSheet("font-size: 32pt; font-weight: 800;")
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
        self.done_button.setMinimumWidth(360)
        column.addSpacing(16)
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


class TransactionsScreen(Screen):
    back = Signal()
    reprint = Signal(str)
    void = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Entry] = []
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 16, 24, 16)
        top = QHBoxLayout()
        self.title = label("", "title")
        top.addWidget(self.title, 1)
        self.back_button = button("", "primary", lambda: emit(self.back), "transactions_back")
        top.addWidget(self.back_button)
        column.addLayout(top)
        self.table = QTableWidget(0, 6)
        self.table.setObjectName("transactionsTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(48)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection)
        column.addWidget(self.table, 1)
        self.message = label("")
        self.message.setObjectName("transactionsMessage")
        self.message.setStyleSheet("font-size: 17pt; font-weight: 700;")
        column.addWidget(self.message)
        row = QHBoxLayout()
        self.reprint_button = button("", "", lambda: self._emit(self.reprint), "tx_reprint")
        self.void_button = button("", "danger", lambda: self._emit(self.void), "tx_void")
        row.addWidget(self.reprint_button)
        row.addWidget(self.void_button)
        row.addStretch(1)
        column.addLayout(row)
        self.message_text = ""
        self.retranslate()

    def selected(self) -> Entry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.entries[rows[0].row()] if rows else None

    def select(self, entry_id: str) -> None:
        for i, e in enumerate(self.entries):
            if e.id == entry_id:
                self.table.selectRow(i)

    def _emit(self, signal: SignalInstance) -> None:
        entry = self.selected()
        if entry is not None:
            emit(signal, entry.id)

    def _selection(self) -> None:
        e = self.selected()
        committed = e is not None and e.state is State.COMMITTED
        # a voided entry can still be reprinted: the core prints it as DIBATALKAN, never as a valid copy
        self.reprint_button.setEnabled(committed)
        self.void_button.setEnabled(committed and not (e and e.voided))

    def show_entries(self, entries: list[Entry], message: str = "") -> None:
        self.entries = entries
        self.message_text = message
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Transactions", "Transaksi terakhir"))
        self.back_button.setText(translate("Transactions", "Kembali"))
        self.reprint_button.setText(translate("Transactions", "Cetak ulang struk"))
        self.void_button.setText(translate("Transactions", "Batalkan (void)"))
        self.message.setText(self.message_text)
        self.table.setHorizontalHeaderLabels(
            [
                translate("Transactions", "Waktu"),
                translate("Transactions", "Warga"),
                translate("Transactions", "Layanan"),
                translate("Transactions", "Jumlah"),
                translate("Transactions", "Status"),
                translate("Transactions", "Struk"),
            ]
        )
        selected = self.selected()
        self.table.setRowCount(len(self.entries))
        for i, e in enumerate(self.entries):
            info = PROGRAMS[c.Program(e.program)]
            state = {
                State.COMMITTED: translate("Transactions", "Selesai"),
                State.INTENT: translate("Transactions", "Terputus"),
                State.ABANDONED: translate("Transactions", "Tidak terjadi"),
                State.UNRESOLVED: translate("Transactions", "Perlu diperiksa"),
            }[e.state]
            if e.voided:
                state = translate("Transactions", "Dibatalkan")
            receipt = {
                ReceiptState.NONE: "–",
                ReceiptState.PENDING: translate("Transactions", "Belum"),
                ReceiptState.PRINTED: translate("Transactions", "Tercetak"),
                ReceiptState.FAILED: translate("Transactions", "Gagal"),
            }[e.receipt_state]
            amount = texts.amount_text(e.unit, e.amount) if needs_amount(e.program) else "–"
            cells = [
                texts.datetime_text(wib(e.terminal_time)),
                e.holder_name,
                texts.program_name(info, short=True),
                amount,
                state,
                receipt,
            ]
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))
        if selected is not None:
            self.select(selected.id)
        self._selection()

    def clear(self) -> None:
        self.entries = []
        self.message_text = ""
        self.table.setRowCount(0)


VOID_REASONS = (
    QT_TRANSLATE_NOOP("Void", "Jumlah salah dimasukkan"),
    QT_TRANSLATE_NOOP("Void", "Layanan salah dipilih"),
    QT_TRANSLATE_NOOP("Void", "Barang atau uang tidak jadi diserahkan"),
)


class VoidScreen(Screen):
    confirm = Signal(str, str)  # entry id, reason
    back = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.entry: Entry | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(120, 30, 120, 30)
        column.addStretch(1)
        self.title = label("", "title")
        column.addWidget(self.title)
        self.summary = label("", "subtitle")
        column.addWidget(self.summary)
        self.prompt = label("")
        column.addWidget(self.prompt)
        self.reason_buttons = []
        for i, _r in enumerate(VOID_REASONS):
            b = button(
                "",
                "",
                partial(self._reason, i),
                f"void_reason_{i}",
            )
            self.reason_buttons.append(b)
            column.addWidget(b)
        self.reason = QLineEdit()
        self.reason.setObjectName("void_reason")
        self.reason.textChanged.connect(lambda _t: self._enable())
        column.addWidget(self.reason)
        self.note = label("", "small")
        column.addWidget(self.note)
        row = QHBoxLayout()
        self.back_button = button("", "", lambda: emit(self.back), "void_back")
        self.confirm_button = button("", "danger", self._confirm, "void_confirm")
        row.addWidget(self.back_button)
        row.addStretch(1)
        row.addWidget(self.confirm_button)
        column.addLayout(row)
        column.addStretch(1)
        self.retranslate()

    def ask(self, entry: Entry) -> None:
        self.entry = entry
        self.reason.clear()
        self.retranslate()

    def _reason(self, index: int) -> None:
        self.reason.setText(translate("Void", VOID_REASONS[index]))

    def _enable(self) -> None:
        self.confirm_button.setEnabled(bool(self.reason.text().strip()) and self.entry is not None)

    def _confirm(self) -> None:
        if self.entry is not None and self.reason.text().strip():
            emit(self.confirm, self.entry.id, self.reason.text().strip())

    def retranslate(self) -> None:
        self.title.setText(translate("Void", "Batalkan transaksi"))
        self.prompt.setText(translate("Void", "Pilih atau tulis alasannya (wajib):"))
        self.note.setText(
            translate(
                "Void", "Pembatalan dicatat atas nama Anda dan dikirim ke pusat. Catatan asli tidak dihapus."
            )
        )
        self.back_button.setText(translate("Void", "Kembali"))
        self.confirm_button.setText(translate("Void", "Batalkan transaksi"))
        self.reason.setPlaceholderText(translate("Void", "Alasan"))
        for b, source in zip(self.reason_buttons, VOID_REASONS, strict=True):
            b.setText(translate("Void", source))
        e = self.entry
        if e is not None:
            amount = texts.amount_text(e.unit, e.amount) if needs_amount(e.program) else ""
            self.summary.setText(
                f"{texts.datetime_text(wib(e.terminal_time))} · {e.holder_name} · "
                f"{texts.program_name(PROGRAMS[c.Program(e.program)], short=True)} {amount}"
            )
        self._enable()

    def clear(self) -> None:
        self.entry = None
        self.reason.clear()
        self.summary.setText("")


class ReportScreen(Screen):
    back = Signal()
    print_report = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.totals: DayTotals | None = None
        self.pending = 0
        self.can_print = False
        self.message_text = ""
        column = QVBoxLayout(self)
        column.setContentsMargins(40, 20, 40, 20)
        top = QHBoxLayout()
        self.title = label("", "title")
        top.addWidget(self.title, 1)
        self.print_button = button("", "", lambda: emit(self.print_report), "report_print")
        top.addWidget(self.print_button)
        self.back_button = button("", "primary", lambda: emit(self.back), "report_back")
        top.addWidget(self.back_button)
        column.addLayout(top)
        body = QHBoxLayout()
        self.totals_frame, self.totals_layout = panel()
        body.addWidget(self.totals_frame, 3)
        self.refusals_frame, self.refusals_layout = panel()
        body.addWidget(self.refusals_frame, 2)
        column.addLayout(body, 1)
        self.message = label("")
        self.message.setObjectName("reportMessage")
        self.message.setStyleSheet("font-size: 18pt; font-weight: 700;")
        column.addWidget(self.message)

    def show_totals(self, totals: DayTotals, receipts_pending: int, can_print: bool) -> None:
        self.totals, self.pending, self.can_print = totals, receipts_pending, can_print
        self.message_text = ""
        self.retranslate()

    def say(self, text: str) -> None:
        self.message_text = text
        self.message.setText(text)

    def retranslate(self) -> None:
        self.back_button.setText(translate("Report", "Kembali"))
        self.print_button.setText(translate("Report", "Cetak laporan"))
        self.print_button.setEnabled(self.can_print)
        self.message.setText(self.message_text)
        clear_layout(self.totals_layout)
        clear_layout(self.refusals_layout)
        t = self.totals
        if t is None:
            self.title.setText(translate("Report", "Laporan akhir hari"))
            return
        self.title.setText(
            translate("Report", "Laporan akhir hari · {date}").format(date=texts.date_text(t.date))
        )
        heading = label(translate("Report", "Layanan yang diberikan"))
        heading.setStyleSheet("font-size: 19pt; font-weight: 800;")
        self.totals_layout.addWidget(heading)
        if not t.per_program:
            self.totals_layout.addWidget(label(translate("Report", "Belum ada transaksi hari ini.")))
        for program, (count, amount) in sorted(t.per_program.items()):
            info = PROGRAMS[c.Program(program)]
            unit = _unit_of(program)
            what = texts.amount_text(unit, amount) if needs_amount(program) else ""
            line = translate("Report", "{program}: {n} transaksi").format(
                program=texts.program_name(info), n=count
            )
            row = label(f"{line}{' · ' + what if what else ''}")
            row.setObjectName(f"report_program_{program}")
            self.totals_layout.addWidget(row)
        self.totals_layout.addWidget(label(translate("Report", "Dibatalkan (void): {n}").format(n=t.voids)))
        for v in t.void_lines:
            when = dt.datetime.fromtimestamp(v.at, WIB).strftime("%H.%M")
            what = texts.amount_text(v.unit, v.amount) if needs_amount(v.program) else ""
            line = f"· {when} {texts.program_name(PROGRAMS[c.Program(v.program)])}"
            row = label(f"{line}{' ' + what if what else ''} — {v.reason} ({v.clerk})")
            row.setObjectName("report_void")
            self.totals_layout.addWidget(row)
        if t.reprint_lines:
            self.totals_layout.addWidget(
                label(translate("Report", "Struk dicetak ulang: {n}").format(n=len(t.reprint_lines)))
            )
        self.totals_layout.addWidget(
            label(translate("Report", "Struk belum tercetak: {n}").format(n=self.pending))
        )
        self.totals_layout.addStretch(1)
        heading = label(translate("Report", "Penolakan"))
        heading.setStyleSheet("font-size: 19pt; font-weight: 800;")
        self.refusals_layout.addWidget(heading)
        if not t.refusals:
            self.refusals_layout.addWidget(label(translate("Report", "Tidak ada penolakan.")))
        for reason, n in sorted(t.refusals.items(), key=lambda kv: (-kv[1], kv[0])):
            self.refusals_layout.addWidget(label(f"{texts.code_text(reason)}: {n}"))
        self.refusals_layout.addStretch(1)

    def clear(self) -> None:
        self.totals = None
        self.message_text = ""
        self.retranslate()


def _unit_of(program: int) -> int:
    from province.programs import DEFAULT_UNIT

    return int(DEFAULT_UNIT[c.Program(program)])


#: What the reset screen says when the card refuses the reset (context "Reset").
RESET_PROBLEMS: dict[type[Exception], str] = {
    HolderMismatchError: QT_TRANSLATE_NOOP(
        "Reset", "NIK tidak cocok dengan kartu ini. Periksa e-KTP dan ketik ulang NIK-nya."
    ),
    HolderCheckBlockedError: QT_TRANSLATE_NOOP(
        "Reset", "Terlalu banyak NIK salah: PIN kartu ini hanya bisa dibuka oleh kantor penerbit."
    ),
    NotTheCheckedCard: QT_TRANSLATE_NOOP(
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
        column.setContentsMargins(120, 30, 120, 30)
        column.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(icon_label("lock", 120))
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


# -- the window ------------------------------------------------------------------------------------------

#: What the PIN screen says when the holder's PIN is asked for a redemption: title, subtitle.
REDEEM_PIN = (
    ("Pin", QT_TRANSLATE_NOOP("Pin", "Warga: masukkan PIN kartu")),
    ("Pin", QT_TRANSLATE_NOOP("Pin", "Petugas: balikkan layar atau berikan papan PIN kepada warga.")),
)


class CounterWindow(CardWindow):
    NAME = "counter"
    KEEP_ON_FORGET = ("login", "home", "reading", "processing", "transactions", "report")
    STATUS_MS = 5000

    def __init__(self, backend: Backend, language: Language) -> None:
        super().__init__(backend, language, "Kartu Huma Betang Sejahtera — Loket", counter=True)
        self.clerk: Clerk | None = None
        self.program: Entitlement | None = None
        self.amount = 0
        self.holder_pin = ""
        self.new_pin = ""
        self.redeeming = False
        self.last_entry: Entry | None = None
        #: The card event of the card in the reader (re-read after a transaction; read later if the
        #: clerk was busy elsewhere when it arrived).
        self.card_event: CardInserted | None = None
        self.card_unread = False

        self.status = StatusStrip()
        self.column.addWidget(self.status)

        self.login = LoginScreen(backend.clerks.clerks())
        self.home = HomeScreen()
        self.holder = HolderScreen()
        self.amount_screen = AmountScreen()
        self.confirm = ConfirmScreen()
        self.processing = ReadingScreen()
        self.result = ResultScreen()
        self.transactions = TransactionsScreen()
        self.void = VoidScreen()
        self.report = ReportScreen()
        self.reset = PinResetScreen()
        self.add_screens(
            {
                "login": self.login,
                "home": self.home,
                "reading": self.reading,
                "holder": self.holder,
                "amount": self.amount_screen,
                "pin": self.pin,
                "confirm": self.confirm,
                "processing": self.processing,
                "result": self.result,
                "refusal": self.refusal,
                "transactions": self.transactions,
                "void": self.void,
                "report": self.report,
                "reset": self.reset,
            }
        )
        self.processing.title.setObjectName("processingTitle")

        self.login.login.connect(self.do_login)
        self.home.transactions.clicked.connect(lambda: self.open_transactions())
        self.home.report.clicked.connect(lambda: self.open_report())
        self.home.logout.clicked.connect(lambda: self.logout())
        self.holder.choose.connect(self.choose_program)
        self.holder.reset_pin.connect(self.start_pin_reset)
        self.holder.done.connect(lambda: self.go_home())
        self.amount_screen.back.connect(lambda: self.show_screen("holder"))
        self.amount_screen.proceed.connect(self.amount_chosen)
        self.pin.submitted.connect(self.pin_entered)
        self.pin.cancelled.connect(self.pin_cancelled)
        self.confirm.confirm.connect(self.do_redeem)
        self.confirm.cancel.connect(lambda: self.show_screen("holder"))
        self.result.done.connect(self.after_result)
        self.result.reprint.connect(self.reprint_last)
        self.refusal.back.connect(self._refusal_back)
        self.transactions.back.connect(lambda: self.go_home())
        self.transactions.reprint.connect(self.reprint)
        self.transactions.void.connect(self.ask_void)
        self.void.back.connect(lambda: self.open_transactions())
        self.void.confirm.connect(self.do_void)
        self.report.back.connect(lambda: self.go_home())
        self.report.print_report.connect(self.print_report)
        self.reset.back.connect(lambda: self.show_screen("holder"))
        self.reset.proceed.connect(self.ask_new_pin)

        self.status_timer = QTimer(self)
        self.status_timer.setInterval(self.STATUS_MS)
        self.status_timer.timeout.connect(self.refresh_status)
        self.show_screen("login")

    # -- lifecycle ----------------------------------------------------------------------------------
    @property
    def attract(self) -> Screen:
        """The first screen (benchmarks watch its first paint)."""
        return self.login

    def start(self) -> None:
        super().start()
        self.status_timer.start()
        self.refresh_status()

    def shutdown(self) -> None:
        self.status_timer.stop()
        super().shutdown()

    def _language_changed(self, lang: str) -> None:
        super()._language_changed(lang)
        self.status.retranslate()
        self._header_context()

    def _header_context(self) -> None:
        counter = self.terminal.counter
        if self.clerk is None:
            self.header.context.setText(counter.terminal_id)
        else:
            self.header.context.setText(
                translate("Counter", "Petugas: {name} · {terminal}").format(
                    name=self.clerk.name, terminal=counter.terminal_id
                )
            )

    def refresh_status(self) -> None:
        terminal, printer = self.terminal, self.backend.printer

        def collect() -> tuple[TerminalStatus, tuple[str, str | None], float]:
            return terminal.status(), printer_state(printer), terminal.clock()

        self.jobs.submit(collect, lambda r: self.status.show_status(*r), lambda _e: None)

    # -- login --------------------------------------------------------------------------------------
    def do_login(self, clerk_id: str, pin: str) -> None:
        clerks = self.backend.clerks

        def ok(clerk: Clerk | None) -> None:
            if clerk is None:
                self.login.failed = True
                self.login.pad.clear()
                self.login.retranslate()
                return
            self.clerk = clerk
            self.terminal.login(clerk.clerk_id, clerk.name)
            self.login.clear()
            self._header_context()
            self.go_home()

        self.jobs.submit(lambda: clerks.check(clerk_id, pin), ok)

    def logout(self) -> None:
        self.clerk = None
        self._forget_holder()
        self._header_context()
        self.show_screen("login")

    # -- readers and cards --------------------------------------------------------------------------
    def on_readers(self, event: ReadersChanged) -> None:
        self.home.attract.set_readers(event)
        self.status.show_readers(event)

    def card_inserted(self, event: CardInserted) -> None:
        self.card_event = event
        if self.redeeming:
            return
        if self.clerk is None or self.current in ("transactions", "void", "report"):
            self.card_unread = True  # not now: read when the clerk comes back to the counter screen
            return
        self._read_card(event)

    def _read_card(self, event: CardInserted) -> None:
        self.card_unread = False
        self.home.say(None)
        self.read_card(event, self.terminal.tap_and_settle, self._tapped)

    def card_removed(self) -> None:
        self.card_event, self.card_unread = None, False
        if self.redeeming:
            return  # the redemption's own outcome (done, or DebitInterrupted) decides what comes next
        if self.current in ("reading", "holder", "amount", "pin", "confirm", "reset"):
            self.go_home(
                notice=(
                    "Home",
                    QT_TRANSLATE_NOOP("Home", "Kartu diangkat. Tidak ada transaksi yang dilakukan."),
                )
            )
        elif self.current == "refusal":
            self.go_home()

    def _tapped(self, result: tuple[TapResult, ReconcileReport]) -> None:
        tap, report = result
        refusal = refusal_for_tap(tap)
        if refusal is not None:
            self._refuse(refusal)
            return
        self.tap = tap
        self.holder.show_holder(tap, report)
        self.show_screen("holder")
        if report.changed:
            self.refresh_status()

    # -- the redemption -----------------------------------------------------------------------------
    def choose_program(self, program: int) -> None:
        if self.tap is None:
            return
        e = next((x for x in self.tap.entitlements if int(x.program) == program), None)
        if e is None or e.status is Status.NOT_ENROLLED:
            return
        if e.status not in (Status.ACTIVE, Status.REGISTERED, Status.ACCEPTED):
            return
        self.program = e
        if needs_amount(program):
            self.amount_screen.ask(e)
            self.show_screen("amount")
        else:
            self.amount_chosen(0)

    def amount_chosen(self, amount: int) -> None:
        self.amount = amount
        self.ask_holder_pin(*REDEEM_PIN, mode="redeem")

    def pin_entered(self, pin: str) -> None:
        mode = self.pin.mode
        if mode == "redeem":
            self.holder_pin = pin
            if self.tap is not None and self.program is not None:
                self.confirm.show_summary(self.tap, self.program, self.amount)
                self.show_screen("confirm")
        elif mode == "new_pin":
            self.new_pin = pin
            self.pin.ask(
                ("Pin", QT_TRANSLATE_NOOP("Pin", "Warga: ketik PIN baru sekali lagi")),
                ("Pin", QT_TRANSLATE_NOOP("Pin", "Untuk memastikan tidak salah ketik.")),
            )
            self.pin.mode = "confirm_pin"
        elif mode == "confirm_pin":
            if pin != self.new_pin:
                self.new_pin = ""
                self.ask_new_pin(mismatch=True)
                return
            self.do_reset_pin(pin)

    def pin_cancelled(self) -> None:
        self.holder_pin = self.new_pin = ""
        self.show_screen("holder" if self.tap is not None else "home")

    def do_redeem(self) -> None:
        if self.tap is None or self.program is None:
            return
        terminal, link = self.terminal, self.link
        program, amount, pin = int(self.program.program), self.amount, self.holder_pin
        self.holder_pin = ""
        self.redeeming = True
        self.processing.title.setText(translate("Counter", "Menyimpan transaksi…"))
        self.processing.subtitle.setText(translate("Counter", "Jangan angkat kartu sampai struk keluar."))
        self.show_screen("processing")

        def done(redemption: Redemption) -> None:
            self.redeeming = False
            self.last_entry = redemption.entry
            self.result.show_redeemed(redemption.entry, redemption.receipt_printed, redemption.receipt_error)
            self.show_screen("result")
            self.refresh_status()

        def failed(exc: BaseException) -> None:
            self.redeeming = False
            self.refresh_status()
            if isinstance(exc, DebitInterrupted):
                self.result.show_interrupted()
                self.show_screen("result")
                return
            tries = wrong_pin_tries(exc)
            if tries:
                self.pin.ask(*REDEEM_PIN)
                self.pin.mode = "redeem"
                self.pin.say(pin_tries_message(tries), tries=tries)
                self.show_screen("pin")
                return
            if isinstance(exc, RedemptionRefused) and exc.reason in (
                FailureReason.INSUFFICIENT_BALANCE,
                FailureReason.NOT_ENROLLED,
                FailureReason.ENTITLEMENT_EXPIRED,
                FailureReason.NOT_VALID_NOW,
                FailureReason.BAD_AMOUNT,
                FailureReason.CARD_REFUSED,
                FailureReason.COUNTER_MISMATCH,
                FailureReason.BAD_PIN_FORMAT,
                FailureReason.PREVIOUS_REDEMPTION_SETTLED,
                FailureReason.PREVIOUS_REDEMPTION_OPEN,
            ):
                self._refuse(
                    RefusalInfo(Refusal.SYSTEM_ERROR, detail=texts.code_text(exc.reason)), plain=exc.reason
                )
                return
            self._failed(exc)

        def run() -> Redemption:
            return terminal.redeem(link.current(), program, amount, pin)

        self.jobs.submit(run, done, failed)

    def after_result(self) -> None:
        """Back to the holder with fresh balances while the card is still there, else home."""
        if self.card_event is not None and self.card_reader is not None:
            self._read_card(self.card_event)
        else:
            self.go_home()

    def reprint_last(self) -> None:
        if self.last_entry is None:
            return
        terminal, rid = self.terminal, self.last_entry.id

        def done(result: tuple[bool, str | None]) -> None:
            self.result.show_printed(*result)
            self.refresh_status()

        self.jobs.submit(lambda: terminal.reprint(rid), done, self._failed)

    # -- PIN reset ----------------------------------------------------------------------------------
    def start_pin_reset(self) -> None:
        if self.tap is None:
            return
        self.reset.ask(self.tap)
        self.show_screen("reset")

    def ask_new_pin(self, mismatch: bool = False) -> None:
        self.pin.ask(
            ("Pin", QT_TRANSLATE_NOOP("Pin", "Warga: pilih PIN baru")),
            ("Pin", QT_TRANSLATE_NOOP("Pin", "4 sampai 8 angka. Jangan pakai tanggal lahir.")),
        )
        self.pin.mode = "new_pin"
        if mismatch:
            self.pin.say(("Pin", QT_TRANSLATE_NOOP("Pin", "Kedua PIN tidak sama. Ulangi dari awal.")))
        self.show_screen("pin")

    def do_reset_pin(self, pin: str) -> None:
        terminal, link, tap, nik = self.terminal, self.link, self.tap, self.reset.nik_value
        self.new_pin = ""
        if tap is None or not nik:
            return
        self.show_screen("processing")

        def done(_r: object) -> None:
            self.result.show_pin_reset()
            self.show_screen("result")

        def failed(exc: BaseException) -> None:
            problem = next((text for kind, text in RESET_PROBLEMS.items() if isinstance(exc, kind)), None)
            if problem is None:
                self._failed(exc)
                return
            self.reset.say(problem)
            self.show_screen("reset")

        # the same card session as the check tap: INTERNAL AUTHENTICATE, then the bound reset (SPEC §9.5)
        self.jobs.submit(lambda: terminal.reset_pin(link.current(), tap, nik, pin), done, failed)

    # -- transactions, voids, report ----------------------------------------------------------------
    def open_transactions(self, message: str = "") -> None:
        terminal = self.terminal
        self.jobs.submit(
            lambda: terminal.recent(30),
            lambda entries: self._show_transactions(entries, message),
            self._failed,
        )

    def _show_transactions(self, entries: list[Entry], message: str) -> None:
        self.transactions.show_entries(entries, message)
        self.show_screen("transactions")

    def reprint(self, entry_id: str) -> None:
        terminal = self.terminal

        def done(result: tuple[bool, str | None]) -> None:
            printed, error = result
            message = (
                translate("Counter", "Struk dicetak ulang.")
                if printed
                else translate("Counter", "Struk belum tercetak: {fault}.").format(
                    fault=texts.printer_fault_text(error)
                )
            )
            self.refresh_status()
            self.open_transactions(message)

        self.jobs.submit(lambda: terminal.reprint(entry_id), done, self._failed)

    def ask_void(self, entry_id: str) -> None:
        entry = next((e for e in self.transactions.entries if e.id == entry_id), None)
        if entry is not None:
            self.void.ask(entry)
            self.show_screen("void")

    def do_void(self, entry_id: str, reason: str) -> None:
        terminal = self.terminal

        def failed(exc: BaseException) -> None:
            if isinstance(exc, LedgerError):
                self.open_transactions(
                    translate("Counter", "Transaksi ini tidak bisa dibatalkan (sudah dibatalkan?).")
                )
            else:
                self._failed(exc)

        def done(result: tuple[str, bool, str | None]) -> None:
            _vid, printed, error = result
            self.refresh_status()
            message = (
                translate("Counter", "Transaksi dibatalkan. Alasan tercatat, slip pembatalan dicetak.")
                if printed
                else translate(
                    "Counter",
                    "Transaksi dibatalkan. Alasan tercatat. Slip pembatalan belum tercetak: {fault}.",
                ).format(fault=texts.printer_fault_text(error))
            )
            self.open_transactions(message)

        self.jobs.submit(lambda: terminal.void_slip(entry_id, reason), done, failed)

    def open_report(self) -> None:
        terminal, printer = self.terminal, self.backend.printer

        def collect() -> tuple[DayTotals, int]:
            return terminal.end_of_day(), terminal.status().receipts_pending

        def show(result: tuple[DayTotals, int]) -> None:
            self.report.show_totals(result[0], result[1], printer is not None)
            self.show_screen("report")

        self.jobs.submit(collect, show, self._failed)

    def print_report(self) -> None:
        backend, printer = self.backend, self.backend.printer
        if printer is None:
            return
        clerk = self.clerk.name if self.clerk else ""

        def run() -> None:
            printer.print_report(end_of_day_report(backend, clerk))

        def failed(exc: BaseException) -> None:
            fault = printer_fault(exc)
            self.report.say(
                translate("Counter", "Laporan belum tercetak: {fault}.").format(
                    fault=texts.printer_fault_text(fault)
                )
            )

        self.jobs.submit(run, lambda _r: self.report.say(translate("Counter", "Laporan dicetak.")), failed)

    # -- endings ------------------------------------------------------------------------------------
    def _refuse(self, info: RefusalInfo, plain: str | None = None) -> None:
        extra: list[tuple[str, Callable[[], None], str]] = []
        if info.kind is Refusal.PIN_BLOCKED and self.tap is not None:
            extra.append(
                (QT_TRANSLATE_NOOP("Counter", "Buka blokir PIN"), self.start_pin_reset, "refusal_reset_pin")
            )
        self.refusal.show_refusal(info, extra)
        if plain is not None:  # a redemption refused for a business reason: say which, plainly
            self.refusal.title.setText(translate("Counter", "Transaksi tidak dilakukan"))
            self.refusal.body.setText(texts.code_text(plain))
            self.refusal.next_step.setText(
                translate(
                    "Counter",
                    "Tidak ada yang terpotong dari kartu. Periksa jumlah atau layanan, lalu coba lagi.",
                )
            )
            self.refusal.detail.setText("")
        self.show_screen("refusal")

    def _refusal_back(self) -> None:
        if self.tap is not None and self.card_reader is not None:
            self.show_screen("holder")
        else:
            self.go_home()

    def _forget_holder(self) -> None:
        self.program = None
        self.amount = 0
        self.holder_pin = self.new_pin = ""
        super()._forget_holder()

    def go_home(self, notice: tuple[str, str] | None = None) -> None:
        self._end_session()
        self.home.say(notice)
        self.show_screen("home")
        self.refresh_status()
        if self.card_unread and self.card_event is not None and self.clerk is not None:
            self._read_card(self.card_event)

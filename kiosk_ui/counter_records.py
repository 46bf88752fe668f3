"""The counter's screens for the clerk's records: the latest transactions (reprint, void), the void's
reason, the end-of-day report.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

from PySide6.QtCore import QCoreApplication, Signal, SignalInstance
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from card_applet_spec import constants as c
from kiosk_ui import texts
from kiosk_ui.i18n import QT_TRANSLATE_NOOP
from kiosk_ui.presenting import (
    needs_amount,
    wib,
)
from kiosk_ui.qtcompat import emit
from kiosk_ui.widgets import (
    Screen,
    button,
    clear_layout,
    label,
    panel,
)
from province.clock import WIB
from province.programs import PROGRAMS
from terminal.ledger import DayTotals, Entry, ReceiptState, State

translate = QCoreApplication.translate


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
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the holder's name takes the rest
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
        column.setContentsMargins(40, 16, 40, 16)
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

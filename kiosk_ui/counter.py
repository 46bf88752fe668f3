"""The clerk counter's window: login, tap → holder → program → amount → holder PIN → confirm → receipt.

Also: reprint, void with a reason, the end-of-day report (shown, and printed when there is a printer),
PIN unblock/reset after the clerk ticked "e-KTP checked", and recoverable faults — a printer fault
leaves the receipt pending with a "print again" button; a card pulled during the debit says "tap the
card again to finish" and the core settles it at that next tap. A status bar always shows the reader,
the printer, the data age / last sync and what is waiting to be uploaded.

The decisions are the counter's state machine's (``terminal.counter_flow``): this window hands it the
clerk's and the readers' events, runs its jobs on the worker thread and renders the step it is at
(the screens are in ``counter_screens``, ``counter_records`` and ``counter_outcomes``).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

from kiosk_ui import texts
from kiosk_ui.backend import Backend, printer_state
from kiosk_ui.counter_outcomes import RESET_PROBLEMS, PinResetScreen, ResultScreen, StatusStrip
from kiosk_ui.counter_records import ReportScreen, TransactionsScreen, VoidScreen
from kiosk_ui.counter_screens import (
    AmountScreen,
    ConfirmScreen,
    HolderPinScreen,
    HolderScreen,
    HomeScreen,
    LoginScreen,
)
from kiosk_ui.i18n import QT_TRANSLATE_NOOP, Language
from kiosk_ui.presenting import Refusal, RefusalInfo, printer_fault, refusal_for_error, refusal_for_tap
from kiosk_ui.screens import ReadingScreen, pin_tries_message
from kiosk_ui.shell import CardWindow
from kiosk_ui.widgets import Screen
from terminal.app import TerminalStatus
from terminal.counter_flow import IDLE_LOGOUT_S, CounterFlow
from terminal.counter_flow_types import Notice, Printed, Refused, ResultKind, Step, TxMessage
from terminal.readers import CardInserted, ReadersChanged

translate = QCoreApplication.translate
log = logging.getLogger(__name__)

#: What the PIN screen says when the holder's PIN is asked for a redemption: title, subtitle.
REDEEM_PIN = (
    ("Pin", QT_TRANSLATE_NOOP("Pin", "Warga: masukkan PIN kartu")),
    ("Pin", QT_TRANSLATE_NOOP("Pin", "Petugas: balikkan layar atau berikan papan PIN kepada warga.")),
)
NEW_PIN = (
    ("Pin", QT_TRANSLATE_NOOP("Pin", "Warga: pilih PIN baru")),
    ("Pin", QT_TRANSLATE_NOOP("Pin", "4 sampai 8 angka. Jangan pakai tanggal lahir.")),
)
NEW_PIN_AGAIN = (
    ("Pin", QT_TRANSLATE_NOOP("Pin", "Warga: ketik PIN baru sekali lagi")),
    ("Pin", QT_TRANSLATE_NOOP("Pin", "Untuk memastikan tidak salah ketik.")),
)
PIN_MISMATCH = ("Pin", QT_TRANSLATE_NOOP("Pin", "Kedua PIN tidak sama. Ulangi dari awal."))
# Events that mean someone is at the counter.
ACTIVITY = frozenset(
    {QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress, QEvent.Type.TouchBegin, QEvent.Type.Wheel}
)
NOTICES = {
    Notice.CARD_LIFTED: (
        "Home",
        QT_TRANSLATE_NOOP("Home", "Kartu diangkat. Tidak ada transaksi yang dilakukan."),
    ),
}


class CounterWindow(CardWindow):
    NAME = "counter"
    KEEP_ON_FORGET = ("login", "home", "reading", "processing", "transactions", "report")
    STATUS_MS = 5000
    # Seconds with nobody touching the counter before the clerk is logged out.
    IDLE_LOGOUT_S = IDLE_LOGOUT_S
    IDLE_CHECK_MS = 1000

    def __init__(self, backend: Backend, language: Language) -> None:
        super().__init__(backend, language, "Kartu Huma Betang Sejahtera — Loket", counter=True)
        self.status = StatusStrip()
        self.column.addWidget(self.status)
        self.pin = self.holder_pin = HolderPinScreen()  # the holder's PIN pad shows what it is for

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

        self.flow = flow = CounterFlow(
            backend.terminal,
            backend.clerks,
            self.link,
            self.jobs,
            self,
            printer=lambda: backend.printer,
            idle_logout_s=self.IDLE_LOGOUT_S,
        )
        self.login.login.connect(flow.login)
        self.home.transactions.clicked.connect(lambda: flow.open_transactions())
        self.home.report.clicked.connect(lambda: flow.open_report())
        self.home.logout.clicked.connect(lambda: flow.logout())
        self.holder.choose.connect(flow.choose)
        self.holder.reset_pin.connect(flow.start_pin_reset)
        self.holder.done.connect(lambda: flow.go_home())
        self.amount_screen.back.connect(flow.back_to_holder)
        self.amount_screen.proceed.connect(flow.amount_chosen)
        self.pin.submitted.connect(flow.pin_entered)
        self.pin.cancelled.connect(flow.pin_cancelled)
        self.confirm.confirm.connect(flow.confirm)
        self.confirm.cancel.connect(flow.cancel_confirm)
        self.result.done.connect(flow.after_result)
        self.result.reprint.connect(flow.reprint_last)
        self.refusal.back.connect(flow.refusal_back)
        self.transactions.back.connect(lambda: flow.go_home())
        self.transactions.reprint.connect(flow.reprint)
        self.transactions.void.connect(flow.ask_void)
        self.void.back.connect(lambda: flow.open_transactions())
        self.void.confirm.connect(flow.void)
        self.report.back.connect(lambda: flow.go_home())
        self.report.print_report.connect(flow.print_report)
        self.reset.back.connect(flow.back_to_holder)
        self.reset.proceed.connect(self.ask_new_pin)

        self.status_timer = QTimer(self)
        self.status_timer.setInterval(self.STATUS_MS)
        self.status_timer.timeout.connect(self.refresh_status)
        self.idle_timer = QTimer(self)
        self.idle_timer.setInterval(self.IDLE_CHECK_MS)
        self.idle_timer.timeout.connect(flow.tick)
        self.show_screen("login")

    # -- lifecycle ----------------------------------------------------------------------------------
    @property
    def attract(self) -> Screen:
        """The first screen (benchmarks watch its first paint)."""
        return self.login

    def start(self) -> None:
        super().start()
        self.status_timer.start()
        self.idle_timer.start()
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)  # every press anywhere counts as someone at the counter
        self.refresh_status()

    def shutdown(self) -> None:
        self.status_timer.stop()
        self.idle_timer.stop()
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        super().shutdown()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in ACTIVITY:
            self.flow.touch()
        return False

    def _language_changed(self, lang: str) -> None:
        super()._language_changed(lang)
        self.status.retranslate()
        self._header_context()

    def _header_context(self) -> None:
        counter, clerk = self.terminal.counter, self.flow.clerk
        if clerk is None:
            self.header.set_context(counter.terminal_id)
        else:
            self.header.set_context(
                translate("Counter", "Petugas: {name} · {terminal}").format(
                    name=clerk.name, terminal=counter.terminal_id
                )
            )

    def refresh_status(self) -> None:
        terminal, printer = self.terminal, self.backend.printer

        def collect() -> tuple[TerminalStatus, tuple[str, str | None], float]:
            return terminal.status(), printer_state(printer), terminal.clock()

        self.jobs.submit(collect, lambda r: self.status.show_status(*r), lambda _e: None)

    # -- the flow's view ----------------------------------------------------------------------------
    def status_changed(self) -> None:
        self.refresh_status()

    def forget_holder(self) -> None:
        self._forget_holder()

    def show_step(self, step: Step) -> None:
        """Render ``step`` from what the flow remembers, then show its screen."""
        f = self.flow
        self.tap = f.tap
        if step is Step.LOGIN:
            self._header_context()
            if f.login_result is not None:
                self.login.refused(f.login_result)
            elif f.notice is Notice.IDLE_LOGOUT:
                self.login.logged_out_idle(f.idle_logout_s)
            else:
                self.login.clear()
        elif step is Step.HOME:
            self._header_context()
            self.login.clear()
            self.home.say(NOTICES.get(f.notice) if f.notice is Notice.CARD_LIFTED else None)
        elif step is Step.HOLDER and f.tap is not None:
            self.holder.show_holder(f.tap, f.settled)
        elif step is Step.AMOUNT and f.entitlement is not None:
            self.amount_screen.ask(f.entitlement)
        elif step is Step.HOLDER_PIN:
            self.pin.ask(*REDEEM_PIN)
            self.holder_pin.show_what((f.entitlement, f.amount) if f.entitlement is not None else None)
            if f.pin_tries:
                self.pin.say(pin_tries_message(f.pin_tries), tries=f.pin_tries)
        elif step is Step.CONFIRM and f.tap is not None and f.entitlement is not None:
            self.confirm.show_summary(f.tap, f.entitlement, f.amount)
        elif step is Step.VERIFYING:
            self.processing.title.setText(translate("Counter", "Kartu memeriksa PIN…"))
            self.processing.subtitle.setText(translate("Counter", "Jangan angkat kartu."))
        elif step is Step.PROCESSING and f.processing_redemption:
            self.processing.title.setText(translate("Counter", "Menyimpan transaksi…"))
            self.processing.subtitle.setText(translate("Counter", "Jangan angkat kartu sampai struk keluar."))
        elif step is Step.RESULT:
            self._show_result()
        elif step is Step.REFUSAL and f.refused is not None:
            self._show_refusal(f.refused)
        elif step is Step.TRANSACTIONS:
            self.transactions.show_entries(f.entries, _tx_message(f.tx_message))
        elif step is Step.VOID and f.void_entry is not None:
            self.void.ask(f.void_entry)
        elif step is Step.REPORT and f.report is not None:
            self.report.show_totals(*f.report)
            if f.report_printed is not None:
                self.report.say(_report_printed(f.report_printed))
        elif step is Step.RESET and f.tap is not None:
            if f.reset_problem is None:
                self.reset.ask(f.tap)
            else:
                self.reset.say(RESET_PROBLEMS[f.reset_problem])
        elif step is Step.NEW_PIN:
            self.pin.ask(*NEW_PIN)
            self.holder_pin.show_what(None)
            if f.pin_mismatch:
                self.pin.say(PIN_MISMATCH)
        elif step is Step.NEW_PIN_AGAIN:
            self.pin.ask(*NEW_PIN_AGAIN)
        self.show_screen(step.screen)

    def _show_result(self) -> None:
        f = self.flow
        if f.result is ResultKind.REDEEMED and f.redemption is not None:
            receipt = f.receipt or Printed(False)
            fault = receipt.fault if isinstance(receipt.fault, str) or receipt.fault is None else "error"
            self.result.show_redeemed(f.redemption.entry, receipt.ok, fault)
        elif f.result is ResultKind.INTERRUPTED:
            self.result.show_interrupted()
        elif f.result is ResultKind.PIN_RESET:
            self.result.show_pin_reset()

    def _show_refusal(self, refused: Refused) -> None:
        if refused.tap is not None:
            info = refusal_for_tap(refused.tap) or RefusalInfo(Refusal.SYSTEM_ERROR)
        elif refused.pin_blocked:
            info = RefusalInfo(Refusal.PIN_BLOCKED)
        elif refused.plain is not None:
            info = RefusalInfo(Refusal.SYSTEM_ERROR, detail=texts.code_text(refused.plain))
        else:
            assert refused.error is not None
            info = refusal_for_error(refused.error)
            if info.kind is Refusal.SYSTEM_ERROR:
                log.error("%s: unexpected %s", self.NAME, info.detail, exc_info=refused.error)
        self._refuse(info, plain=refused.plain)

    def _refuse(self, info: RefusalInfo, plain: str | None = None) -> None:
        extra = []
        if info.kind is Refusal.PIN_BLOCKED and self.flow.tap is not None:
            extra.append(
                (
                    QT_TRANSLATE_NOOP("Counter", "Buka blokir PIN"),
                    self.flow.start_pin_reset,
                    "refusal_reset_pin",
                )
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

    # -- readers and cards --------------------------------------------------------------------------
    def on_readers(self, event: ReadersChanged) -> None:
        self.home.attract.set_readers(event)
        self.status.show_readers(event)

    def card_inserted(self, event: CardInserted) -> None:
        self.flow.card_inserted(event)

    def card_removed(self) -> None:
        self.flow.card_removed()

    # -- what the screenshot script drives directly ---------------------------------------------------
    def choose_program(self, program: int) -> None:
        self.flow.choose(program)

    def pin_entered(self, pin: str) -> None:
        self.flow.pin_entered(pin)

    def do_redeem(self) -> None:
        self.flow.confirm()

    def after_result(self) -> None:
        self.flow.after_result()

    def reprint_last(self) -> None:
        self.flow.reprint_last()

    def start_pin_reset(self) -> None:
        self.flow.start_pin_reset()

    def ask_new_pin(self) -> None:
        """The e-KTP is checked and its NIK typed: the holder chooses the new PIN."""
        self.flow.reset_checked(self.reset.nik_value)

    def open_transactions(self) -> None:
        self.flow.open_transactions()

    def ask_void(self, entry_id: str) -> None:
        self.flow.ask_void(entry_id)

    def do_void(self, entry_id: str, reason: str) -> None:
        self.flow.void(entry_id, reason)

    def open_report(self) -> None:
        self.flow.open_report()

    def go_home(self) -> None:
        self.flow.go_home()


def _tx_message(message: tuple[TxMessage, str | None] | None) -> str:
    if message is None:
        return ""
    kind, fault = message
    if kind is TxMessage.REPRINTED:
        return translate("Counter", "Struk dicetak ulang.")
    if kind is TxMessage.REPRINT_NOT_PRINTED:
        return translate("Counter", "Struk belum tercetak: {fault}.").format(
            fault=texts.printer_fault_text(fault)
        )
    if kind is TxMessage.VOIDED:
        return translate("Counter", "Transaksi dibatalkan. Alasan tercatat, slip pembatalan dicetak.")
    if kind is TxMessage.VOIDED_SLIP_NOT_PRINTED:
        return translate(
            "Counter", "Transaksi dibatalkan. Alasan tercatat. Slip pembatalan belum tercetak: {fault}."
        ).format(fault=texts.printer_fault_text(fault))
    return translate("Counter", "Transaksi ini tidak bisa dibatalkan (sudah dibatalkan?).")


def _report_printed(printed: Printed) -> str:
    if printed.ok:
        return translate("Counter", "Laporan dicetak.")
    return translate("Counter", "Laporan belum tercetak: {fault}.").format(
        fault=texts.printer_fault_text(printer_fault(printed.fault))
    )

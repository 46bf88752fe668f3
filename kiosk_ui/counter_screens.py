"""The counter's screens for serving a holder: clerk login, waiting for a card, the holder, the amount,
the confirmation. They render what the window hands them; the decisions are in ``terminal.counter_flow``.
"""

from __future__ import annotations

import math
from functools import partial

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from card_applet_spec import constants as c
from kiosk_ui import texts
from kiosk_ui.presenting import (
    needs_amount,
    pin_tries_left,
    region_name,
)
from kiosk_ui.qtcompat import emit
from kiosk_ui.screens import AttractScreen, PinScreen
from kiosk_ui.theme import icon
from kiosk_ui.widgets import (
    FactGrid,
    NumPad,
    PinPad,
    Screen,
    ServiceGrid,
    button,
    icon_label,
    label,
    panel,
)
from province.programs import parse_amount
from terminal.clerks import Clerk, LoginResult, LoginStatus
from terminal.entitlements import Entitlement
from terminal.ledger import ReconcileReport
from terminal.tap import TapResult

translate = QCoreApplication.translate


class LoginScreen(Screen):
    """Clerk id (a button per known clerk, or typed) and PIN on the pad; why the last try did not log in,
    or that the last clerk was logged out for inactivity."""

    login = Signal(str, str)

    def __init__(self, clerks: list[Clerk]) -> None:
        super().__init__()
        self.clerks = clerks
        self.result: LoginResult | None = None
        self.idle_s: float | None = None
        row = QHBoxLayout(self)
        row.setContentsMargins(32, 16, 32, 16)
        left = QVBoxLayout()
        left.addStretch(1)
        self.title = label("", "title")
        left.addWidget(self.title)
        self.subtitle = label("", "subtitle")
        left.addWidget(self.subtitle)
        self.clerk_id = QLineEdit()
        self.clerk_id.setObjectName("clerk_id")
        # typed into only when touched: the keyboard's digits are the PIN pad's, Enter hands them back
        self.clerk_id.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.clerk_id.returnPressed.connect(self.clerk_id.clearFocus)
        left.addWidget(self.clerk_id)
        grid = QGridLayout()
        for i, clerk in enumerate(clerks):
            b = button(
                f"{clerk.name} ({clerk.clerk_id})",
                "",
                partial(self._choose_clerk, clerk.clerk_id),
                f"clerk_{clerk.clerk_id}",
            )
            grid.addWidget(b, i, 0)
        left.addLayout(grid)
        self.message = label("")
        self.message.setObjectName("loginMessage")
        self.message.setStyleSheet("font-size: 20pt; font-weight: 800; color: #9B1C1C;")
        left.addWidget(self.message)
        left.addStretch(1)
        row.addLayout(left, 1)
        row.addSpacing(24)
        self.pad = self.keypad = PinPad()
        self.pad.setFixedWidth(400)
        self.pad.cancel.hide()
        self.pad.submitted.connect(lambda pin: emit(self.login, self.clerk_id.text(), pin))
        row.addWidget(self.pad)
        self.retranslate()

    def _choose_clerk(self, clerk_id: str) -> None:
        self.clerk_id.setText(clerk_id)
        self.clerk_id.clearFocus()

    def refused(self, result: LoginResult) -> None:
        """The last try did not log in: why (the typed id stays, the PIN is cleared)."""
        self.result, self.idle_s = result, None
        self.pad.clear()
        self.retranslate()

    def logged_out_idle(self, seconds: float) -> None:
        self.clear()
        self.idle_s = seconds
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(translate("Login", "Masuk petugas"))
        self.subtitle.setText(translate("Login", "Pilih atau ketik ID petugas, lalu masukkan PIN petugas."))
        self.clerk_id.setPlaceholderText(translate("Login", "ID petugas"))
        self.message.setText(self._message())
        self.pad.retranslate()

    def _message(self) -> str:
        if self.idle_s is not None:
            return translate(
                "Login",
                "Petugas keluar otomatis: {n} detik tanpa aktivitas. Data warga sudah dihapus dari layar.",
            ).format(n=round(self.idle_s))
        r = self.result
        if r is None:
            return ""
        wait = math.ceil(r.retry_in_s)
        if r.status is LoginStatus.WRONG and wait > 0:
            return translate("Login", "ID atau PIN petugas salah. Coba lagi setelah {n} detik.").format(
                n=wait
            )
        if r.status is LoginStatus.WRONG:
            return translate("Login", "ID atau PIN petugas salah.")
        if r.status is LoginStatus.WAIT:
            return translate("Login", "Tunggu {n} detik lagi sebelum mencoba.").format(n=wait)
        if r.status is LoginStatus.LOCKED:
            return translate("Login", "Terlalu banyak PIN salah: ID ini dikunci {n} menit.").format(
                n=math.ceil(r.retry_in_s / 60)
            )
        return translate(
            "Login", "Login petugas tidak dapat diperiksa (berkas keamanan rusak). Hubungi admin."
        )

    def clear(self) -> None:
        self.result, self.idle_s = None, None
        self.clerk_id.clear()
        self.pad.clear()
        self.retranslate()


class HolderPinScreen(PinScreen):
    """The holder's PIN pad, with what the PIN gives away: the service and the amount (or the visit)."""

    def __init__(self) -> None:
        super().__init__()
        self.what: tuple[Entitlement, int] | None = None
        self.summary = label("")
        self.summary.setObjectName("pinSummary")
        self.summary.setStyleSheet(
            "font-size: 22pt; font-weight: 800; background: #FFF1C2; border: 3px solid #7A4B00;"
            " border-radius: 12px; padding: 10px;"
        )
        self.column.insertWidget(self.column.indexOf(self.message), self.summary)
        self.summary.hide()

    def show_what(self, what: tuple[Entitlement, int] | None) -> None:
        """The service and amount the PIN is asked for (None: a PIN for something else, no summary)."""
        self.what = what
        self.retranslate()

    def retranslate(self) -> None:
        super().retranslate()
        if self.what is None:
            self.summary.setText("")
            self.summary.hide()
            return
        e, amount = self.what
        taken = (
            texts.amount_text(e.unit, amount)
            if needs_amount(int(e.program))
            else translate("Confirm", "Kunjungan (tanpa jumlah)")
        )
        self.summary.setText(
            translate("Pin", "Untuk: {program} · {amount}").format(
                program=texts.program_name(e.info), amount=taken
            )
        )
        self.summary.show()

    def clear(self) -> None:
        super().clear()
        self.what = None
        self.summary.setText("")
        self.summary.hide()


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
        column = QVBoxLayout(self)
        column.setContentsMargins(20, 12, 20, 12)
        column.setSpacing(10)
        # the holder across the top (to match against the e-KTP), the eight services below at full width
        band, band_layout = panel()
        band_layout.setContentsMargins(16, 8, 16, 8)
        row = QHBoxLayout()
        band_layout.addLayout(row)
        photo = QVBoxLayout()
        photo.setSpacing(0)
        photo.addWidget(icon_label("person", 72), 0, Qt.AlignmentFlag.AlignHCenter)
        self.photo_note = label("", "small", align=Qt.AlignmentFlag.AlignCenter)
        self.photo_note.setStyleSheet("font-size: 13pt;")
        self.photo_note.setFixedWidth(170)
        photo.addWidget(self.photo_note)
        photo.addStretch(1)
        row.addLayout(photo)
        left = QVBoxLayout()
        left.setSpacing(2)
        self.name = label("")
        self.name.setObjectName("holderName")
        self.name.setStyleSheet("font-size: 22pt; font-weight: 800;")
        left.addWidget(self.name)
        self.nik = label("", wrap=False)
        self.nik.setObjectName("holderNik")
        self.nik.setStyleSheet("font-size: 17pt;")
        left.addWidget(self.nik)
        self.region = label("", "small")
        left.addWidget(self.region)
        self.pin_state = label("")
        self.pin_state.setObjectName("pinState")
        self.pin_state.setStyleSheet("font-size: 15pt; font-weight: 700;")
        left.addWidget(self.pin_state)
        left.addStretch(1)
        row.addLayout(left, 1)
        actions = QHBoxLayout()
        self.reset_button = button("", "", lambda: emit(self.reset_pin), "reset_pin")
        self.reset_button.setStyleSheet("font-size: 15pt;")
        actions.addWidget(self.reset_button)
        self.done_button = button("", "primary", lambda: emit(self.done), "holder_done")
        actions.addWidget(self.done_button)
        row.addLayout(actions)
        row.setAlignment(actions, Qt.AlignmentFlag.AlignTop)
        column.addWidget(band)
        self.banner = label("")
        self.banner.setObjectName("settleBanner")
        self.banner.setStyleSheet(
            "background: #FFF1C2; border: 3px solid #7A4B00; border-radius: 12px; padding: 8px; "
            "font-size: 16pt; font-weight: 700;"
        )
        column.addWidget(self.banner)
        self.prompt = label("", "subtitle")
        column.addWidget(self.prompt)
        self.grid = ServiceGrid(10, compact=True)
        self.tiles = self.grid.tiles
        for tile in self.tiles:
            tile.clicked.connect(self.choose)
        column.addLayout(self.grid, 1)
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
        row.setContentsMargins(32, 16, 32, 16)
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
        row.addSpacing(24)
        self.pad = self.keypad = NumPad()
        self.pad.setFixedWidth(400)
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

    def key(self, event: QKeyEvent) -> bool:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._next()
            return True
        return super().key(event)

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
        column.setContentsMargins(40, 20, 40, 20)
        column.addStretch(1)
        box, inner = panel()
        self.title = label("", "title")
        inner.addWidget(self.title)
        self.grid = FactGrid(4, "confirm", 22)
        inner.addLayout(self.grid)
        column.addWidget(box)
        self.note = label("", "small")
        column.addWidget(self.note)
        buttons = QHBoxLayout()
        self.cancel_button = button("", "", lambda: emit(self.cancel), "confirm_cancel")
        self.confirm_button = button("", "primary", lambda: emit(self.confirm), "confirm_ok")
        self.confirm_button.setMinimumWidth(380)
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

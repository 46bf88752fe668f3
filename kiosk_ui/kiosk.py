"""The citizen kiosk: tap the card, see the eight services, open one, see personal details after the PIN.

Flow: attract ("Tempelkan kartu Anda", reader state) → reading → the eight service tiles → a service's
detail (recent use from the card's own log, how and where to claim, and for jobs / training / teacher
housing the catalogue for the holder's regency with "register interest") → personal details only after
the holder's PIN. Card removed or idle → back to the attract screen, every screen emptied. Every refusal
and every error is a plain-words screen (``kiosk_ui.screens.RefusalScreen``).

Each card is a fresh session: idle for ``IDLE_S`` and the last ``WARN_S`` ask "Masih di sini?" with a
countdown and a button to stay (``kiosk_ui.session``); when the session ends (card removed, "Selesai",
timeout) the kiosk goes back to its start language, and a language left chosen on the start screen goes
back by itself. Tones and speech: ``kiosk_ui.voice``.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import partial

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from card_applet_spec import constants as c
from card_applet_spec.records import TxRecord
from card_applet_spec.redaction import mask_nik
from kiosk_ui import texts
from kiosk_ui.backend import Backend
from kiosk_ui.i18n import QT_TRANSLATE_NOOP, Language
from kiosk_ui.presenting import (
    CATALOGUE_PROGRAMS,
    Refusal,
    RefusalInfo,
    refusal_for_tap,
    region_name,
    wib,
)
from kiosk_ui.qtcompat import emit
from kiosk_ui.screens import AttractScreen, pin_tries_message
from kiosk_ui.session import SessionTimer, StillHereOverlay
from kiosk_ui.shell import CardWindow
from kiosk_ui.theme import icon
from kiosk_ui.voice import KioskVoice
from kiosk_ui.widgets import (
    Chip,
    FactGrid,
    IdleTimer,
    Screen,
    ServiceGrid,
    button,
    clear_layout,
    icon_label,
    label,
    panel,
    scroll,
)
from terminal.audio import Sound
from terminal.card.errors import InvalidPinError
from terminal.card.session import PersonalData
from terminal.catalogue import AlreadyRegistered, CatalogueItem, CatalogueKind
from terminal.counter_flow_types import wrong_pin_tries
from terminal.entitlements import Entitlement, Status
from terminal.readers import CardInserted, ReadersChanged
from terminal.tap import TapResult

translate = QCoreApplication.translate


class ServicesScreen(Screen):
    """The eight services as large tiles, with a greeting and the holder's masked NIK."""

    def __init__(self) -> None:
        super().__init__()
        self.tap: TapResult | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(24, 10, 24, 12)
        column.setSpacing(8)
        top = QHBoxLayout()
        words = QVBoxLayout()
        words.setSpacing(0)
        self.greeting = label("", "title")
        self.greeting.setObjectName("greeting")
        self.greeting.setStyleSheet("font-size: 24pt; font-weight: 800;")
        words.addWidget(self.greeting)
        self.who = label("", "subtitle")
        self.who.setStyleSheet("font-size: 16pt;")
        words.addWidget(self.who)
        top.addLayout(words, 1)
        self.personal = button("", "", None, "show_personal")
        top.addWidget(self.personal)
        self.done = button("", "primary", None, "done")
        top.addWidget(self.done)
        column.addLayout(top)
        self.hint = label("", "small")
        column.addWidget(self.hint)
        self.grid = ServiceGrid(12)
        self.tiles = self.grid.tiles
        column.addLayout(self.grid, 1)
        self.retranslate()

    def show_tap(self, tap: TapResult) -> None:
        self.tap = tap
        self.grid.show_entitlements(tap.entitlements)
        self.retranslate()

    def retranslate(self) -> None:
        self.personal.setText(translate("Services", "Data pribadi (PIN)"))
        self.done.setText(translate("Services", "Selesai"))
        self.hint.setText(
            translate("Services", "Sentuh layanan untuk melihat rincian dan cara mengambilnya.")
        )
        if self.tap is None:
            self.greeting.setText("")
            self.who.setText("")
            return
        self.greeting.setText(translate("Services", "Halo, {name}").format(name=self.tap.holder_name))
        cred = self.tap.result.credential
        region = region_name(cred.claims.region) if cred else ""
        self.who.setText(f"NIK {self.tap.nik_masked} · {region}")
        self.grid.retranslate()

    def clear(self) -> None:
        self.tap = None
        self.grid.show_entitlements(())
        self.retranslate()


class DetailScreen(Screen):
    """One service: status, what is left, recent use, how to claim, and a catalogue where there is one."""

    back = Signal()
    register = Signal(object)  # CatalogueItem

    def __init__(self) -> None:
        super().__init__()
        self.entitlement: Entitlement | None = None
        self.history: list[TxRecord] | None = None
        self.items: list[CatalogueItem] | None = None
        self.registered: set[str] = set()
        self.just_registered: set[str] = set()
        self.row_buttons: dict[str, object] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 12, 24, 12)
        top = QHBoxLayout()
        self.icon = QLabel()
        top.addWidget(self.icon)
        words = QVBoxLayout()
        self.name = label("", "detailName")
        self.name.setStyleSheet("font-size: 26pt; font-weight: 800;")
        words.addWidget(self.name)
        line = QHBoxLayout()
        self.chip = Chip()
        line.addWidget(self.chip)
        self.remaining = label("", wrap=True)
        self.remaining.setStyleSheet("font-size: 21pt; font-weight: 800;")
        line.addWidget(self.remaining, 1)
        line.addSpacing(18)
        self.period = label("", "subtitle", wrap=True)
        line.addWidget(self.period, 1)
        words.addLayout(line)
        top.addLayout(words, 1)
        self.back_button = button("", "primary", lambda: emit(self.back), "detail_back")
        top.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(top)
        body = QHBoxLayout()
        body.setSpacing(18)
        left = QVBoxLayout()
        how, how_layout = panel()
        self.how_title = label("", wrap=False)
        self.how_title.setStyleSheet("font-size: 19pt; font-weight: 800;")
        how_layout.addWidget(self.how_title)
        self.how = label("")
        self.how.setObjectName("howToClaim")
        how_layout.addWidget(self.how)
        left.addWidget(how)
        hist, self.hist_layout = panel()
        self.hist_title = label("", wrap=False)
        self.hist_title.setStyleSheet("font-size: 19pt; font-weight: 800;")
        self.hist_box = QVBoxLayout()
        self.hist_layout.addWidget(self.hist_title)
        self.hist_layout.addLayout(self.hist_box)
        left.addWidget(hist)
        left.addStretch(1)
        body.addLayout(left, 5)
        self.cat_panel, cat_layout = panel()
        self.cat_title = label("", wrap=False)
        self.cat_title.setStyleSheet("font-size: 19pt; font-weight: 800;")
        cat_layout.addWidget(self.cat_title)
        self.cat_note = label("", "small")
        cat_layout.addWidget(self.cat_note)
        self.cat_inner = QWidget()
        self.cat_box = QVBoxLayout(self.cat_inner)
        self.cat_box.setContentsMargins(0, 0, 0, 0)
        cat_layout.addWidget(scroll(self.cat_inner), 1)
        body.addWidget(self.cat_panel, 6)
        outer.addLayout(body, 1)

    def show_entitlement(self, e: Entitlement) -> None:
        self.entitlement = e
        self.history = None
        self.items = None
        self.registered = set()
        self.just_registered = set()
        self.cat_panel.setVisible(int(e.program) in CATALOGUE_PROGRAMS)
        self.retranslate()

    def show_history(self, records: list[TxRecord] | None) -> None:
        self.history = records
        self._render_history()

    def show_catalogue(self, items: list[CatalogueItem], registered: set[str]) -> None:
        self.items = items
        self.registered = registered
        self._render_catalogue()

    def mark_registered(self, item_id: str, already: bool = False) -> None:
        (self.registered if already else self.just_registered).add(item_id)
        self._render_catalogue()

    @property
    def may_register(self) -> bool:
        e = self.entitlement
        return e is not None and e.status in (Status.ACTIVE, Status.REGISTERED, Status.ACCEPTED)

    def retranslate(self) -> None:
        self.back_button.setText(translate("Detail", "Kembali"))
        self.how_title.setText(translate("Detail", "Cara mengambil"))
        self.hist_title.setText(translate("Detail", "Pemakaian terakhir"))
        e = self.entitlement
        if e is None:
            return
        self.icon.setPixmap(icon(e.info.icon, 96))
        self.name.setText(texts.program_name(e.info))
        self.chip.setText(texts.status_text(e))
        self.chip.set_tone(texts.status_tone(e))
        self.remaining.setText(texts.remaining_text(e))
        self.period.setText(texts.period_text(e))
        self.how.setText(texts.how_to_claim(int(e.program)))
        kind = CATALOGUE_PROGRAMS.get(int(e.program))
        titles = {
            "jobs": translate("Detail", "Lowongan kerja di wilayah Anda"),
            "training": translate("Detail", "Pelatihan di wilayah Anda"),
            "housing": translate("Detail", "Program rumah guru di wilayah Anda"),
        }
        self.cat_title.setText(titles.get(kind or "", ""))
        self._render_history()
        self._render_catalogue()

    def _render_history(self) -> None:
        clear_layout(self.hist_box)
        e = self.entitlement
        if e is None:
            return
        if self.history is None:
            self.hist_box.addWidget(label(translate("Detail", "Membaca catatan di kartu…"), "small"))
            return
        mine = [r for r in self.history if r.program == int(e.program)][:5]
        if not mine:
            self.hist_box.addWidget(label(translate("Detail", "Belum ada pemakaian tercatat di kartu ini.")))
            return
        for r in mine:
            when = texts.datetime_text(wib(r.terminal_time))
            if r.tx_type == c.TxType.CHECK_IN:
                what = translate("Detail", "Kunjungan tercatat")
            else:
                what = translate("Detail", "{amount}, sisa {left}").format(
                    amount=texts.amount_text(e.unit, r.amount),
                    left=texts.amount_text(e.unit, r.balance_after),
                )
            place = r.terminal_id.decode("ascii", "replace")
            row = label(f"{when} — {what}  ({place})")
            row.setObjectName("historyRow")
            self.hist_box.addWidget(row)

    def _render_catalogue(self) -> None:
        clear_layout(self.cat_box)
        self.row_buttons = {}
        e = self.entitlement
        if e is None or int(e.program) not in CATALOGUE_PROGRAMS:
            return
        self.cat_note.setText(
            translate("Detail", "Pendaftaran disimpan di mesin ini dan dikirim ke dinas saat terhubung.")
            if self.may_register
            else translate(
                "Detail", "Layanan ini belum aktif di kartu Anda. Tanyakan di kantor kelurahan atau desa."
            )
        )
        if self.items is None:
            self.cat_box.addWidget(label(translate("Detail", "Memuat daftar…"), "small"))
            return
        if not self.items:
            self.cat_box.addWidget(label(translate("Detail", "Belum ada yang dibuka untuk wilayah Anda.")))
            return
        for item in self.items:
            frame, inner = panel()
            title = label(item.title)
            title.setStyleSheet("font-size: 18pt; font-weight: 800;")
            inner.addWidget(title)
            inner.addWidget(label(f"{item.agency} · {item.location}", "small"))
            facts = item.detail
            if item.places:
                facts += " · " + translate("Detail", "{n} tempat").format(n=item.places)
            if item.deadline:
                facts += " · " + translate("Detail", "daftar s.d. {date}").format(
                    date=texts.date_text(wib(item.deadline))
                )
            inner.addWidget(label(facts, "small"))
            if item.item_id in self.just_registered:
                done = label(translate("Detail", "✓ Minat Anda tercatat. Akan dikirim saat terhubung."))
                done.setStyleSheet("font-size: 17pt; font-weight: 800; color: #0B5D3B;")
                inner.addWidget(done)
            elif item.item_id in self.registered:
                done = label(translate("Detail", "✓ Anda sudah mendaftar minat."))
                done.setStyleSheet("font-size: 17pt; font-weight: 800; color: #0B5D3B;")
                inner.addWidget(done)
            elif self.may_register:
                b = button(
                    translate("Detail", "Daftar minat"),
                    "primary",
                    partial(emit, self.register, item),
                    f"register_{item.item_id}",
                )
                self.row_buttons[item.item_id] = b
                inner.addWidget(b, 0, Qt.AlignmentFlag.AlignLeft)
            self.cat_box.addWidget(frame)
        self.cat_box.addStretch(1)

    def clear(self) -> None:
        self.entitlement = None
        self.history = None
        self.items = None
        self.registered = set()
        self.just_registered = set()
        for w in (self.name, self.remaining, self.period, self.how, self.chip, self.cat_note):
            w.setText("")
        self.icon.clear()
        clear_layout(self.hist_box)
        clear_layout(self.cat_box)


class PersonalScreen(Screen):
    """Personal data after the PIN: the NIK and family card number masked, never in full."""

    back = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.data: PersonalData | None = None
        self.tap: TapResult | None = None
        column = QVBoxLayout(self)
        column.setContentsMargins(40, 16, 40, 16)
        column.addStretch(1)
        box, inner = panel()
        top = QHBoxLayout()
        top.addWidget(icon_label("person", 120))
        self.name = label("", "title")
        self.name.setStyleSheet("font-size: 32pt; font-weight: 800;")
        top.addWidget(self.name, 1)
        inner.addLayout(top)
        self.grid = FactGrid(5, "personal", 22, wrap_values=False)
        self.grid.setHorizontalSpacing(30)
        self.grid.setVerticalSpacing(10)
        inner.addLayout(self.grid)
        column.addWidget(box)
        self.privacy = label("", "small")
        column.addWidget(self.privacy)
        column.addSpacing(10)
        self.back_button = button("", "primary", lambda: emit(self.back), "personal_back")
        column.addWidget(self.back_button, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(1)
        self.retranslate()

    def show_data(self, data: PersonalData, tap: TapResult) -> None:
        self.data, self.tap = data, tap
        self.retranslate()

    def retranslate(self) -> None:
        self.back_button.setText(translate("Personal", "Tutup"))
        self.privacy.setText(
            translate(
                "Personal",
                "Nomor NIK dan KK sengaja disamarkan. Layar ini tertutup sendiri setelah 30 detik.",
            )
        )
        self.grid.show_keys(
            [
                translate("Personal", "NIK"),
                translate("Personal", "Tanggal lahir"),
                translate("Personal", "Jenis kelamin"),
                translate("Personal", "Nomor KK"),
                translate("Personal", "Wilayah"),
            ]
        )
        if self.data is None or self.tap is None:
            self.name.setText("")
            self.grid.show_values(None)
            return
        d = self.data
        try:
            born = texts.date_text(dt.date.fromisoformat(d.birth_date))
        except ValueError:
            born = "–"
        sex = {"L": translate("Personal", "Laki-laki"), "P": translate("Personal", "Perempuan")}.get(
            d.sex, d.sex
        )
        cred = self.tap.result.credential
        self.name.setText(self.tap.holder_name)
        self.grid.show_values(
            [
                mask_nik(d.nik),
                born,
                sex,
                mask_nik(d.kk_number) if d.kk_number else "–",
                region_name(cred.claims.region) if cred else "",
            ]
        )

    def clear(self) -> None:
        self.data = None
        self.tap = None
        self.retranslate()


class _TouchFilter(QObject):
    def __init__(self, on_touch: object) -> None:
        super().__init__()
        self.on_touch = on_touch

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.KeyPress):
            self.on_touch()  # type: ignore[operator]
        return False


class KioskWindow(CardWindow):
    """The citizen kiosk. ``start()`` begins watching the readers."""

    #: (milliseconds from the card event to the first paint of the service tiles)
    services_painted = Signal(float)

    NAME = "kiosk"
    KEEP_ON_FORGET = ("attract", "reading")
    IDLE_S = 45.0
    #: The last seconds of ``IDLE_S`` are the "Masih di sini?" countdown.
    WARN_S = 15.0
    PERSONAL_S = 30.0

    def __init__(
        self,
        backend: Backend,
        language: Language,
        *,
        idle_s: float | None = None,
        warn_s: float | None = None,
    ) -> None:
        super().__init__(backend, language, "Kartu Huma Betang Sejahtera")
        self.history: list[TxRecord] | None = None
        self.card_sequence = -1
        self._paint_from: float | None = None
        self.latencies_ms: list[float] = []

        self.attract = AttractScreen()
        self.services = ServicesScreen()
        self.detail = DetailScreen()
        self.personal = PersonalScreen()
        self.add_screens(
            {
                "attract": self.attract,
                "reading": self.reading,
                "services": self.services,
                "detail": self.detail,
                "pin": self.pin,
                "personal": self.personal,
                "refusal": self.refusal,
            }
        )

        for tile in self.services.tiles:
            tile.clicked.connect(self.open_detail)
        self.services.done.clicked.connect(lambda: self.go_attract(take_card=True))
        self.services.personal.clicked.connect(self.ask_pin)
        self.services.paint_hooks.append(self._services_painted)
        self.detail.back.connect(lambda: self.show_screen("services"))
        self.detail.register.connect(self.register_interest)
        self.pin.submitted.connect(self.check_pin)
        self.pin.cancelled.connect(lambda: self.show_screen("services"))
        self.personal.back.connect(lambda: self.show_screen("services"))
        self.refusal.back.connect(self._refusal_done)

        #: Every card is a fresh session: it ends in this language (the one the kiosk started in).
        self.home_language = language.current
        self._session_ending = False
        self.idle = SessionTimer(
            idle_s if idle_s is not None else self.IDLE_S, warn_s if warn_s is not None else self.WARN_S, self
        )
        self.idle.expired.connect(self._idle)
        self.idle.warning.connect(self._still_here)
        self.still_here = StillHereOverlay(self)
        self.still_here.stay.connect(self.idle.touch)
        self.idle.resumed.connect(self.still_here.hide)
        self.voice = KioskVoice(self, backend.audio, backend.voice)
        self.personal_timer = IdleTimer(self.PERSONAL_S, lambda: self._leave_personal())
        self._touch = _TouchFilter(self._touched)
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self._touch)
        self.show_screen("attract")

    # -- lifecycle ---------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self._touch)
        self.idle.stop()
        self.voice.close()
        super().shutdown()

    def show_screen(self, name: str) -> None:
        self._arm_idle(name)
        if name != "personal":
            self.personal_timer.stop()
        super().show_screen(name)

    # -- readers ---------------------------------------------------------------------------------------------
    def on_readers(self, event: ReadersChanged) -> None:
        self.attract.set_readers(event)
        usable = event.service_up and bool(event.readers)
        if not usable and self.current in ("attract", "reading"):
            self._refuse(RefusalInfo(Refusal.READER_MISSING, detail=event.detail))
        elif (
            usable
            and self.current == "refusal"
            and self.refusal.info is not None
            and self.refusal.info.kind is Refusal.READER_MISSING
        ):
            self.go_attract()

    def card_inserted(self, event: CardInserted) -> None:
        self.card_sequence = event.sequence
        self.attract.set_hint("")
        self._paint_from = event.seen_at
        self.read_card(event, self.terminal.tap, self._tapped)

    def card_removed(self) -> None:
        self.go_attract()

    # -- the holder's session -----------------------------------------------------------------------
    def _tapped(self, tap: TapResult) -> None:
        refusal = refusal_for_tap(tap)
        if refusal is not None:
            self._paint_from = None
            self._refuse(refusal)
            return
        self.tap = tap
        self.services.show_tap(tap)
        self.show_screen("services")
        terminal, link = self.terminal, self.link
        self.jobs.submit(
            lambda: terminal.history(link.current(), tap), self._history, lambda _e: self._history([])
        )

    def _services_painted(self) -> None:
        if self._paint_from is not None and self.current == "services":
            ms = (time.perf_counter() - self._paint_from) * 1000
            self._paint_from = None
            self.latencies_ms.append(ms)
            emit(self.services_painted, ms)

    def _history(self, records: list[TxRecord]) -> None:
        self.history = records
        if self.current == "detail":
            self.detail.show_history(records)

    def open_detail(self, program: int) -> None:
        if self.tap is None:
            return
        e = next((x for x in self.tap.entitlements if int(x.program) == program), None)
        if e is None:
            return
        self.detail.show_entitlement(e)
        self.detail.show_history(self.history)
        self.show_screen("detail")
        kind = CATALOGUE_PROGRAMS.get(program)
        if kind is not None:
            terminal, tap = self.terminal, self.tap
            serial = tap.card_serial or b""

            def load() -> tuple[list[CatalogueItem], set[str]]:
                items = terminal.catalogue_for(CatalogueKind(kind), tap)
                done = {i for k, i in terminal.catalogue.registered(serial) if k is CatalogueKind(kind)}
                return items, done

            self.jobs.submit(load, lambda r: self.detail.show_catalogue(*r), self._failed)

    def register_interest(self, item: CatalogueItem) -> None:
        if self.tap is None:
            return
        terminal, tap = self.terminal, self.tap

        def failed(exc: BaseException) -> None:
            if isinstance(exc, AlreadyRegistered):
                self.detail.mark_registered(item.item_id, already=True)
            else:
                self._failed(exc)

        self.jobs.submit(
            lambda: terminal.register_interest(tap, item),
            lambda _i: self._registered(item),
            failed,
        )

    def _registered(self, item: CatalogueItem) -> None:
        self.detail.mark_registered(item.item_id)
        self.voice.tone(Sound.DONE)

    def ask_pin(self) -> None:
        if self.tap is None:
            return
        self.ask_holder_pin(
            ("Pin", QT_TRANSLATE_NOOP("Pin", "Masukkan PIN untuk melihat data pribadi")),
            (
                "Pin",
                QT_TRANSLATE_NOOP(
                    "Pin", "PIN tidak akan terlihat di layar. Tutupi tangan Anda saat menekan."
                ),
            ),
        )

    def check_pin(self, pin: str) -> None:
        if self.tap is None:
            return
        terminal, link, tap = self.terminal, self.link, self.tap
        self.pin.setEnabled(False)

        def ok(data: PersonalData) -> None:
            self.pin.setEnabled(True)
            self.pin.clear()
            self.personal.show_data(data, tap)
            self.show_screen("personal")
            self.personal_timer.start()

        def failed(exc: BaseException) -> None:
            self.pin.setEnabled(True)
            tries = wrong_pin_tries(exc)
            if isinstance(exc, InvalidPinError) and tries:
                self.pin.say(pin_tries_message(tries), tries=tries)
                self.voice.refused()
            else:
                self._failed(exc)

        self.jobs.submit(lambda: terminal.personal_details(link.current(), tap, pin), ok, failed)

    def _leave_personal(self) -> None:
        if self.current == "personal":
            self.personal.clear()
            self.show_screen("services")

    # -- endings ---------------------------------------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        self._paint_from = None
        super()._failed(exc)

    def _refuse(self, info: RefusalInfo) -> None:
        self._forget_holder()
        self.refusal.show_refusal(info)
        self.show_screen("refusal")

    def _refusal_done(self) -> None:
        info = self.refusal.info
        if info is not None and info.kind is Refusal.READER_MISSING:
            last = self.bridge.last
            if last is None or not (last.service_up and last.readers):
                return  # still no reader: stay on the explanation
        self.go_attract(take_card=self.card_reader is not None)

    def _idle(self) -> None:
        self.still_here.hide()
        if not self._idle_ends_session():
            return
        self.go_attract(take_card=self.card_reader is not None)

    def _still_here(self, seconds: int) -> None:
        if self.current == "attract" or not self._idle_ends_session():
            return
        first = not self.still_here.isVisible()
        self.still_here.show_countdown(seconds)
        if first:
            self.voice.still_here()

    def _idle_ends_session(self) -> bool:
        info = self.refusal.info
        return not (self.current == "refusal" and info is not None and info.kind is Refusal.READER_MISSING)

    def _language_changed(self, lang: str) -> None:
        super()._language_changed(lang)
        self.still_here.retranslate()
        self.voice.retranslate()
        if self.current == "attract":
            self._arm_idle("attract")
        if self.voice.auto and not self._session_ending:
            self.voice.speak()  # the same screen, now in the language chosen

    def _arm_idle(self, screen: str) -> None:
        if screen != "attract":
            self.idle.start()
            return
        self.idle.stop()  # nobody's session; a language left chosen goes back by itself
        if self.language.current != self.home_language:
            self.idle.start(warn=False)

    def _touched(self) -> None:
        if self.idle.active:
            self.idle.touch()
        if self.current == "personal":
            self.personal_timer.start()

    def _forget_holder(self) -> None:
        self.history = None
        self.pin.setEnabled(True)
        super()._forget_holder()

    def go_attract(self, take_card: bool = False) -> None:
        """Back to the start, with nothing of the last holder left on any screen."""
        self._paint_from = None
        self._end_session()
        self.still_here.hide()
        self.voice.end_session()
        self._session_ending = True  # (the start screen speaks for itself, below)
        try:
            self.language.set(self.home_language)  # every card is a fresh session
        finally:
            self._session_ending = False
        self.attract.set_hint("take_card" if take_card and self.card_reader is not None else "")
        last = self.bridge.last
        if last is not None and not (last.service_up and last.readers):
            self._refuse(RefusalInfo(Refusal.READER_MISSING, detail=last.detail))
            return
        self.show_screen("attract")

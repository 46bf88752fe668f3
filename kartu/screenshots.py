"""Regenerate docs/screenshots: every kiosk and counter screen in Bahasa Indonesia, and some in English,
at 1024x768 and 1280x800 (``docs/screenshots/<W>x<H>/``).

``python -m kartu.screenshots [--out DIR] [--check]`` (offscreen, the demo world at a fixed moment).
``--check`` also renders every screen at every supported size (``kiosk_ui.fit.SIZES``) in both languages
and fails on anything that does not fit (``kiosk_ui.fit``). The UI tests run it into a temporary folder,
so it cannot rot.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
from PySide6.QtWidgets import QWidget

from card_applet_spec import constants as c
from card_applet_spec.credential import decode_credential
from card_applet_spec.reference_card import CardTorn, ReferenceCard
from kartu.compose import demo_backend
from kiosk_ui import fit, texts
from kiosk_ui.app import application
from kiosk_ui.backend import Backend, TextFilePrinter
from kiosk_ui.i18n import Language
from terminal.card.connection import InProcessConnection
from terminal.card.errors import InvalidPinError
from terminal.card.session import KhbsSession
from terminal.counter_flow_types import Step
from terminal.demo import DEMO_CARDS
from terminal.receipt import PaperOut

NOW = 1_781_488_800  # 2026-06-15 09:00 WIB
PIN = "123456"
OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
#: The window's size between shots.
SIZE = (1280, 800)


def spin(ms: int = 30) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not get there in time")
        spin(10)
    spin(40)


#: The sizes the screenshots are made at.
SHOT_SIZES: tuple[tuple[int, int], ...] = ((1024, 768), (1280, 800))


class Shooter:
    """At each screen of the walk-through: a screenshot at each of ``shot_sizes``; with ``check``, the
    fit check at each of ``check_sizes`` in both languages too (its problems gathered in ``problems``)."""

    def __init__(
        self,
        out: Path,
        language: Language,
        *,
        shot_sizes: tuple[tuple[int, int], ...] = SHOT_SIZES,
        check_sizes: tuple[tuple[int, int], ...] = (),
    ) -> None:
        self.out = out
        self.language = language
        self.shot_sizes = shot_sizes
        self.check_sizes = check_sizes
        self.files: list[Path] = []
        self.problems: list[str] = []
        self.checked = 0
        #: The named screens shot, per app ("kiosk", "counter").
        self.screens: dict[str, set[str]] = {"kiosk": set(), "counter": set()}

    def __call__(self, widget: QWidget, name: str) -> None:
        spin(60)
        self.screens[name.split("_", 1)[0]].add(cast(Any, widget).current)
        for size in dict.fromkeys((*self.check_sizes, *self.shot_sizes)):
            _resize(widget, size)
            if size in self.check_sizes:
                self._check(widget, name, size)
            if size in self.shot_sizes:
                folder = self.out / f"{size[0]}x{size[1]}"
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{name}.png"
                widget.grab().save(str(path))
                self.files.append(path)
        _resize(widget, SIZE)

    def _check(self, widget: QWidget, name: str, size: tuple[int, int]) -> None:
        shown = self.language.current
        for lang in (shown, *(x for x in ("id", "en") if x != shown)):
            if lang != self.language.current:
                self.language.set(lang)
                _settle()
            where = f"{name} {size[0]}x{size[1]} {lang}"
            self.checked += 1
            if (widget.width(), widget.height()) != size:
                self.problems.append(
                    f"{where}: the window cannot shrink to it ({widget.width()}x{widget.height()}): "
                    + "; ".join(fit.too_big(widget, size))
                )
            citizen = name.startswith("kiosk")
            self.problems.extend(f"{where}: {p}" for p in fit.problems(widget, citizen=citizen))
        if self.language.current != shown:
            self.language.set(shown)
            _settle()


def _settle() -> None:
    for _ in range(3):
        QCoreApplication.processEvents()
    spin(5)


def _resize(widget: QWidget, size: tuple[int, int]) -> None:
    if (widget.width(), widget.height()) != size:
        widget.resize(*size)
    _settle()


def _tap(backend: Backend, key: str) -> None:
    card = backend.card(key)
    assert backend.demo is not None
    backend.demo.tap(card.card, torn=card.torn)


def _remove(backend: Backend) -> None:
    assert backend.demo is not None
    backend.demo.remove()


def _window(cls: Any, backend: Backend, language: Language) -> Any:
    window = cls(backend, language)
    window.resize(*SIZE)
    window.show()
    window.start()
    wait(lambda: window.bridge.last is not None)
    return window


def kiosk_screens(shoot: Shooter, workdir: Path, language: Language) -> None:
    from kiosk_ui.kiosk import KioskWindow

    backend = demo_backend(workdir=workdir / "kiosk", now=NOW)
    # a purchase earlier in the month, so the card's log has a line to show
    siti = cast(ReferenceCard, backend.card("siti").card)
    backend.terminal.redeem(KhbsSession(InProcessConnection(siti, (CardTorn,))), c.Program.BLT, 150_000, PIN)
    siti.reset()
    k = _window(KioskWindow, backend, language)
    try:
        shoot(k, "kiosk_01_attract")
        k.show_screen("reading")
        shoot(k, "kiosk_02_reading")
        k.show_screen("attract")
        _tap(backend, "siti")
        wait(lambda: k.current == "services")
        shoot(k, "kiosk_03_services")
        k.open_detail(int(c.Program.BLT))
        wait(lambda: k.history is not None)
        k.detail.show_history(k.history)
        shoot(k, "kiosk_04_detail_cash")
        k.open_detail(int(c.Program.PELATIHAN))
        wait(lambda: bool(k.detail.row_buttons))
        k.register_interest(next(i for i in k.detail.items or [] if i.item_id in k.detail.row_buttons))
        wait(lambda: bool(k.detail.just_registered))
        shoot(k, "kiosk_05_detail_training_registered")
        k.ask_pin()
        for digit in "12":
            k.pin.pad.press(digit)
        shoot(k, "kiosk_06_pin")
        k.pin.pad.clear()
        k.pin.pad.enter(PIN)
        wait(lambda: k.current == "personal")
        shoot(k, "kiosk_07_personal")
        _remove(backend)
        wait(lambda: k.current == "attract")

        refusals = [
            ("other", "unknown_card"),
            ("agus", "revoked"),
            ("rahmat", "expired"),
            ("klon", "not_genuine"),
        ]
        for key, name in refusals:
            _tap(backend, key)
            wait(lambda: k.current == "refusal")
            shoot(k, f"kiosk_10_refusal_{name}")
            _remove(backend)
            wait(lambda: k.current == "attract")
        _tap(backend, "maria")  # three wrong PINs
        wait(lambda: k.current == "services")
        k.ask_pin()
        for _ in range(3):
            k.pin.pad.enter("000000")
            wait(lambda: not k.jobs.busy)
        wait(lambda: k.current == "refusal")
        shoot(k, "kiosk_10_refusal_pin_blocked")
        _remove(backend)
        wait(lambda: k.current == "attract")
        assert backend.clock is not None
        backend.clock.offset = 8 * 86_400 + 5 * 3600
        _tap(backend, "siti")
        wait(lambda: k.current == "refusal")
        shoot(k, "kiosk_10_refusal_data_too_old")
        _remove(backend)
        backend.clock.offset = 0
        wait(lambda: k.current == "attract")
        assert backend.demo is not None
        backend.demo.unplug()
        wait(lambda: k.current == "refusal")
        shoot(k, "kiosk_10_refusal_reader_missing")
        backend.demo.plug()
        wait(lambda: k.current == "attract")

        language.set("en")
        shoot(k, "kiosk_20_en_attract")
        _tap(backend, "darto")
        wait(lambda: k.current == "services")
        shoot(k, "kiosk_21_en_services")
        k.open_detail(int(c.Program.PELATIHAN))
        wait(lambda: k.detail.items is not None)
        shoot(k, "kiosk_22_en_detail")
        _remove(backend)
        wait(lambda: k.current == "attract")
        language.set("id")
    finally:
        k.shutdown()
        k.close()


def counter_screens(shoot: Shooter, workdir: Path, language: Language) -> None:
    from kiosk_ui.counter import CounterWindow

    backend = demo_backend(workdir=workdir / "counter", now=NOW)
    w = _window(CounterWindow, backend, language)
    try:
        w.login.clerk_id.setText("rina")
        for digit in "12":
            w.login.pad.press(digit)
        shoot(w, "counter_01_login")
        w.login.pad.clear()
        w.login.pad.enter("1234")
        wait(lambda: w.current == "home" and w.status.status is not None)
        shoot(w, "counter_02_home")
        _tap(backend, "siti")
        wait(lambda: w.current == "holder")
        shoot(w, "counter_03_holder")
        w.choose_program(int(c.Program.BLT))
        w.amount_screen.pad.type("150000")
        shoot(w, "counter_04_amount")
        w.amount_screen._next()
        w.pin.pad.press("1")
        w.pin.pad.press("2")
        shoot(w, "counter_05_holder_pin")
        w.pin.pad.clear()
        w.pin.pad.enter(PIN)
        wait(lambda: w.current == "confirm")
        shoot(w, "counter_06_confirm")
        w.do_redeem()
        wait(lambda: w.current == "result")
        shoot(w, "counter_07_result")
        printer = backend.printer
        assert isinstance(printer, TextFilePrinter)
        printer.fault = PaperOut("demo")
        w.after_result()
        wait(lambda: w.current == "holder")
        w.choose_program(int(c.Program.SEMBAKO))
        w.amount_screen.pad.type("2,5")
        w.amount_screen._next()
        w.pin.pad.enter(PIN)
        wait(lambda: w.current == "confirm")
        w.do_redeem()
        wait(lambda: w.current == "result")
        w.refresh_status()
        wait(lambda: not w.jobs.busy)
        shoot(w, "counter_08_result_printer_fault")
        printer.fault = None
        w.reprint_last()
        wait(lambda: not w.jobs.busy)
        _remove(backend)
        w.go_home()
        wait(lambda: w.current == "home")

        _torn_flow(w, backend, shoot)  # a card pulled during the debit
        _admin_flows(w, backend, shoot)
    finally:
        w.shutdown()
        w.close()


class _TornAfterDebit:
    def __init__(self, card: Any) -> None:
        self.card, self.atr = card, card.atr

    def reset(self) -> None:
        self.card.reset()

    def transmit(self, apdu: bytes) -> bytes:
        response = bytes(self.card.transmit(apdu))
        if apdu[1] == c.INS_DEBIT:
            raise CardTorn("pulled")
        return response


def _torn_flow(w: Any, backend: Backend, shoot: Shooter) -> None:
    assert backend.demo is not None
    darto = backend.card("darto").card
    backend.demo.tap(_TornAfterDebit(darto), torn=(CardTorn,))
    wait(lambda: w.current == "holder")
    w.choose_program(int(c.Program.MODAL_TANI_NELAYAN))
    w.amount_screen.pad.type("500000")
    w.amount_screen._next()
    w.pin.pad.enter(PIN)
    wait(lambda: w.current == "confirm")
    w.do_redeem()
    wait(lambda: w.current == "result")
    shoot(w, "counter_09_tap_again_to_finish")
    _remove(backend)
    spin(50)
    w.go_home()
    _tap(backend, "darto")
    wait(lambda: w.current == "holder")
    shoot(w, "counter_10_settled_at_next_tap")
    _remove(backend)
    wait(lambda: w.current == "home")


def _admin_flows(w: Any, backend: Backend, shoot: Shooter) -> None:
    w.open_transactions()
    wait(lambda: w.current == "transactions")
    w.transactions.table.selectRow(1)
    shoot(w, "counter_11_transactions")
    entry = w.transactions.selected()
    w.ask_void(entry.id)
    w.void.reason.setText("Jumlah salah dimasukkan")
    shoot(w, "counter_12_void")
    w.do_void(entry.id, "Jumlah salah dimasukkan")
    wait(lambda: w.current == "transactions")
    w.open_report()
    wait(lambda: w.current == "report")
    shoot(w, "counter_13_end_of_day")
    w.go_home()
    # PIN unblock: Maria's PIN blocked by three wrong tries
    maria = cast(ReferenceCard, backend.card("maria").card)
    session = KhbsSession(InProcessConnection(maria, (CardTorn,)))
    session.select()
    key = decode_credential(session.read_credential()).claims.card_key
    for _ in range(3):
        with contextlib.suppress(InvalidPinError):  # wrong PIN: the point here
            session.verify_pin("000000", key)
    maria.reset()
    _tap(backend, "maria")
    wait(lambda: w.current == "holder")
    shoot(w, "counter_14_holder_pin_blocked")
    w.start_pin_reset()
    w.reset.nik.setText(next(d.holder.nik for d in DEMO_CARDS if d.name == "maria"))  # from her e-KTP
    w.reset.checked.setChecked(True)
    shoot(w, "counter_15_pin_reset")
    w.ask_new_pin()
    w.pin_entered("2468")
    w.pin_entered("2468")
    wait(lambda: w.current == "result")
    shoot(w, "counter_16_pin_reset_done")
    _remove(backend)
    spin(50)
    w.after_result()
    wait(lambda: w.current == "home")
    _tap(backend, "agus")
    wait(lambda: w.current == "refusal")
    shoot(w, "counter_17_refusal_revoked")
    _remove(backend)
    wait(lambda: w.current == "home")
    w.show_screen("reading")
    shoot(w, "counter_18_reading")
    w.show_step(Step.VERIFYING)  # what the clerk sees while the card checks the holder's PIN
    shoot(w, "counter_19_checking_pin")
    w.go_home()
    wait(lambda: w.current == "home")
    w.language.set("en")
    _tap(backend, "siti")
    wait(lambda: w.current == "holder")
    shoot(w, "counter_20_en_holder")
    _remove(backend)
    wait(lambda: w.current == "home")
    w.language.set("id")


def walk(shoot: Shooter) -> Shooter:
    """Every screen of the kiosk and the counter through ``shoot``."""
    texts.set_language("id")
    shoot.language.set("id")
    with tempfile.TemporaryDirectory(prefix="khbs-shots-") as tmp:
        kiosk_screens(shoot, Path(tmp), shoot.language)
        counter_screens(shoot, Path(tmp), shoot.language)
    QCoreApplication.processEvents()
    return shoot


def generate(out: Path = OUT, *, check: bool = False) -> Shooter:
    """The screenshots in ``out`` (and, with ``check``, every screen checked at every size)."""
    language = Language(application())
    return walk(Shooter(out, language, check_sizes=fit.SIZES if check else ()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--check", action="store_true", help="also check every screen fits every size")
    args = parser.parse_args(argv)
    shots = generate(args.out, check=args.check)
    print(f"{len(shots.files)} screenshots in {args.out}")
    if shots.problems:
        print("\n".join(shots.problems), file=sys.stderr)
        print(f"{len(shots.problems)} problems in {shots.checked} checks", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

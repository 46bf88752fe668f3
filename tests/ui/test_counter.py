"""The clerk counter, end to end through the real terminal core, ledger and the demo world's cards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QPushButton

from card_applet_spec import constants as c
from card_applet_spec.reference_card import CardTorn
from kiosk_ui.backend import Backend, TextFilePrinter
from kiosk_ui.counter import CounterWindow
from kiosk_ui.i18n import Language
from kiosk_ui.presenting import Refusal
from terminal.card.connection import InProcessConnection
from terminal.card.errors import InvalidPinError
from terminal.card.session import KhbsSession
from terminal.ledger import State
from terminal.receipt import PaperOut
from tests.support.world import card_key
from tests.ui.helpers import DEMO_PIN, all_text, click, remove, running, tap, tap_card, visible_text


@pytest.fixture
def counter(qtbot: Any, backend: Backend, language: Language) -> Iterator[CounterWindow]:
    with running(qtbot, CounterWindow(backend, language)) as window:
        yield window


def keys(qtbot: Any, window: Any, prefix: str, text: str) -> None:
    for ch in text:
        click(qtbot, window, f"{prefix}{ch}")


def enter_pin(qtbot: Any, window: Any, pin: str) -> None:
    pad = window.stack.currentWidget().findChild(QPushButton, "key_ok").parent()
    for digit in pin:
        qtbot.mouseClick(pad.keys[digit], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(pad.keys["ok"], Qt.MouseButton.LeftButton)


def login(qtbot: Any, counter: CounterWindow, wait_screen: Callable) -> None:
    click(qtbot, counter, "clerk_rina")
    enter_pin(qtbot, counter, "1234")
    wait_screen(counter, "home")


def serve(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable, card: str = "siti"
) -> None:
    """The clerk logs in and the holder taps the card: the holder's screen."""
    login(qtbot, counter, wait_screen)
    tap(backend, card)
    wait_screen(counter, "holder")


def choose(qtbot: Any, counter: CounterWindow, program: int) -> None:
    qtbot.mouseClick(counter.holder.tiles[program - 1], Qt.MouseButton.LeftButton)


def redeem(qtbot: Any, counter: CounterWindow, program: int, amount: str) -> None:
    """From the holder's screen: the program, the amount, the holder's PIN (the card checks it), confirm."""
    choose(qtbot, counter, program)
    keys(qtbot, counter, "num_", amount)
    click(qtbot, counter, "amount_next")
    enter_pin(qtbot, counter, DEMO_PIN)
    qtbot.waitUntil(lambda: counter.current == "confirm", timeout=5000)
    click(qtbot, counter, "confirm_ok")


def status_text(counter: CounterWindow) -> str:
    return "\n".join(w.text() for w in counter.status.findChildren(QLabel))


def test_login_checks_the_clerk_pin(qtbot: Any, counter: CounterWindow, wait_screen: Callable) -> None:
    assert counter.current == "login"
    counter.findChild(QLineEdit, "clerk_id").setText("rina")
    enter_pin(qtbot, counter, "9999")
    qtbot.waitUntil(lambda: "ID atau PIN petugas salah" in visible_text(counter))
    assert counter.current == "login"
    login(qtbot, counter, wait_screen)
    assert "Rina Marlina" in counter.header.context.text()
    assert counter.terminal.redemption.counter.clerk_id == "rina"


def test_whole_clerk_flow_cash(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    login(qtbot, counter, wait_screen)
    qtbot.waitUntil(lambda: "Printer siap" in status_text(counter))
    tap(backend, "siti")
    wait_screen(counter, "holder")
    shown = visible_text(counter)
    assert "Siti Rahmawati" in shown and "NIK 6271********0001" in shown
    assert "6271034512870001" not in all_text(counter)
    assert "PIN aktif (sisa 3 kali mencoba)" in shown

    choose(qtbot, counter, c.Program.BLT)
    wait_screen(counter, "amount")
    keys(qtbot, counter, "num_", "700000")  # more than the Rp 600.000 left
    assert "Melebihi sisa Rp 600.000" in counter.amount_screen.message.text()
    assert not counter.findChild(QPushButton, "amount_next").isEnabled()
    for _ in range(6):
        click(qtbot, counter, "num_back")
    keys(qtbot, counter, "num_", "150000")
    assert counter.findChild(QLabel, "amountDisplay").text() == "Rp 150.000"
    click(qtbot, counter, "amount_next")
    wait_screen(counter, "pin")
    enter_pin(qtbot, counter, DEMO_PIN)
    wait_screen(counter, "confirm")
    assert "Rp 150.000" in visible_text(counter) and "Rp 450.000" in visible_text(counter)
    click(qtbot, counter, "confirm_ok")
    wait_screen(counter, "result")
    assert counter.findChild(QLabel, "resultTitle").text() == "Berhasil"
    assert "Sisa: Rp 450.000" in counter.findChild(QLabel, "resultBody").text()
    assert "Struk sudah dicetak" in counter.findChild(QLabel, "resultBody").text()
    printer = backend.printer
    assert isinstance(printer, TextFilePrinter) and printer.printed == 1
    assert "150.000" in printer.path.read_text()
    qtbot.waitUntil(lambda: "Belum terkirim: 1" in status_text(counter))

    click(qtbot, counter, "result_done")  # the card is still there: back to the holder, fresh balances
    wait_screen(counter, "holder")
    assert "Sisa Rp 450.000" in visible_text(counter)


def test_quantity_with_decimal_comma_and_an_eligibility_visit(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    serve(qtbot, counter, backend, wait_screen)
    choose(qtbot, counter, c.Program.SEMBAKO)
    wait_screen(counter, "amount")
    keys(qtbot, counter, "num_", "2,5")
    assert counter.findChild(QLabel, "amountDisplay").text() == "2,5 kg"
    click(qtbot, counter, "amount_next")
    enter_pin(qtbot, counter, DEMO_PIN)
    wait_screen(counter, "confirm")
    click(qtbot, counter, "confirm_ok")
    wait_screen(counter, "result")
    assert "2,5 kg" in counter.findChild(QLabel, "resultBody").text()
    assert "Sisa: 7,5 kg" in counter.findChild(QLabel, "resultBody").text()
    click(qtbot, counter, "result_done")
    wait_screen(counter, "holder")
    choose(qtbot, counter, c.Program.KESEHATAN)  # a visit: no amount, straight to the PIN
    wait_screen(counter, "pin")
    assert "Kunjungan (tanpa jumlah)" in counter.findChild(QLabel, "pinSummary").text()
    enter_pin(qtbot, counter, DEMO_PIN)
    wait_screen(counter, "confirm")
    assert "Kunjungan (tanpa jumlah)" in visible_text(counter)
    click(qtbot, counter, "confirm_ok")
    wait_screen(counter, "result")
    assert "Kunjungan Kesehatan Gratis tercatat" in counter.findChild(QLabel, "resultBody").text()


def test_wrong_pin_then_right_pin(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    """The card checks the holder's PIN before the clerk confirms: a wrong one never reaches confirm."""
    serve(qtbot, counter, backend, wait_screen)
    choose(qtbot, counter, c.Program.BLT)
    keys(qtbot, counter, "num_", "50000")
    click(qtbot, counter, "amount_next")
    wait_screen(counter, "pin")
    summary = counter.findChild(QLabel, "pinSummary")  # what the PIN gives away, on the holder's pad
    assert summary.isVisibleTo(counter) and "Bantuan Langsung Tunai" in summary.text()
    assert "Rp 50.000" in summary.text()
    seen: list[str] = []
    counter.screen_changed.connect(seen.append)
    enter_pin(qtbot, counter, "000000")
    qtbot.waitUntil(lambda: "Sisa 2 kali" in counter.pin.message.text())
    assert counter.current == "pin" and "confirm" not in seen
    reasons = [f.reason for f in backend.terminal.ledger.list_failures()]
    assert reasons == ["wrong_pin"]
    assert "Rp 50.000" in counter.findChild(QLabel, "pinSummary").text()
    enter_pin(qtbot, counter, DEMO_PIN)
    wait_screen(counter, "confirm")
    click(qtbot, counter, "confirm_ok")
    wait_screen(counter, "result")
    assert counter.findChild(QLabel, "resultTitle").text() == "Berhasil"


def test_cancel_at_confirm_takes_nothing(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    serve(qtbot, counter, backend, wait_screen)
    choose(qtbot, counter, c.Program.BLT)
    keys(qtbot, counter, "num_", "50000")
    click(qtbot, counter, "amount_next")
    enter_pin(qtbot, counter, DEMO_PIN)
    wait_screen(counter, "confirm")
    click(qtbot, counter, "confirm_cancel")
    wait_screen(counter, "holder")
    qtbot.waitUntil(lambda: not counter.jobs.busy)
    assert backend.terminal.recent() == []
    assert "Sisa Rp 600.000" in visible_text(counter)


def test_printer_fault_is_recoverable(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    printer = backend.printer
    assert isinstance(printer, TextFilePrinter)
    printer.fault = PaperOut("test")
    login(qtbot, counter, wait_screen)
    qtbot.waitUntil(lambda: "Printer: kertas printer habis" in status_text(counter))
    tap(backend, "siti")
    wait_screen(counter, "holder")
    redeem(qtbot, counter, c.Program.BLT, "100000")
    wait_screen(counter, "result")
    assert counter.findChild(QLabel, "resultTitle").text() == "Berhasil"  # the money moved and is recorded
    problem = counter.findChild(QLabel, "printerProblem")
    assert problem.isVisibleTo(counter) and "kertas printer habis" in problem.text()
    qtbot.waitUntil(lambda: "Struk tertunda: 1" in status_text(counter))
    printer.fault = None  # the clerk loads paper
    click(qtbot, counter, "result_reprint")
    qtbot.waitUntil(lambda: not counter.findChild(QLabel, "printerProblem").isVisibleTo(counter))
    assert printer.printed == 1
    qtbot.waitUntil(lambda: "Struk tertunda: 0" in status_text(counter))


class TornAfterDebit:
    """The card debits, then leaves the field before its answer arrives (the classic torn transaction)."""

    def __init__(self, card: Any) -> None:
        self.card = card
        self.atr = card.atr

    def reset(self) -> None:
        self.card.reset()

    def transmit(self, apdu: bytes) -> bytes:
        response = bytes(self.card.transmit(apdu))
        if apdu[1] == c.INS_DEBIT:
            raise CardTorn("pulled after the debit")
        return response


def test_card_pulled_during_debit_is_settled_at_the_next_tap(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    login(qtbot, counter, wait_screen)
    siti = backend.card("siti").card
    tap_card(backend, TornAfterDebit(siti), (CardTorn,))
    wait_screen(counter, "holder")
    redeem(qtbot, counter, c.Program.BLT, "200000")
    wait_screen(counter, "result")
    assert "Tempelkan kartu lagi untuk menyelesaikan" in counter.findChild(QLabel, "resultTitle").text()
    assert [e.state for e in backend.terminal.recent()] == [State.INTENT]
    remove(backend)
    qtbot.wait(50)
    click(qtbot, counter, "result_done")
    wait_screen(counter, "home")
    tap(backend, "siti")  # the same card, back on the reader
    wait_screen(counter, "holder")
    banner = counter.findChild(QLabel, "settleBanner")
    assert banner.isVisibleTo(counter) and "sudah tercatat di kartu" in banner.text()
    assert [e.state for e in backend.terminal.recent()] == [State.COMMITTED]
    assert "Sisa Rp 400.000" in visible_text(counter)


def test_reprint_void_and_end_of_day(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    serve(qtbot, counter, backend, wait_screen)
    for amount in ("100000", "50000"):
        redeem(qtbot, counter, c.Program.BLT, amount)
        wait_screen(counter, "result")
        click(qtbot, counter, "result_done")
        wait_screen(counter, "holder")
    click(qtbot, counter, "holder_done")
    wait_screen(counter, "home")

    click(qtbot, counter, "open_transactions")
    wait_screen(counter, "transactions")
    assert counter.transactions.table.rowCount() == 2
    assert not counter.findChild(QPushButton, "tx_void").isEnabled()  # nothing chosen yet
    counter.transactions.table.selectRow(0)
    click(qtbot, counter, "tx_reprint")
    qtbot.waitUntil(lambda: "Struk dicetak ulang" in counter.transactions.message.text())
    printer = backend.printer
    assert isinstance(printer, TextFilePrinter) and printer.printed == 3
    assert "SALINAN" in printer.path.read_text()

    counter.transactions.table.selectRow(0)
    click(qtbot, counter, "tx_void")
    wait_screen(counter, "void")
    assert not counter.findChild(QPushButton, "void_confirm").isEnabled()  # a reason is required
    click(qtbot, counter, "void_reason_0")
    click(qtbot, counter, "void_confirm")
    wait_screen(counter, "transactions")
    qtbot.waitUntil(lambda: "Transaksi dibatalkan" in counter.transactions.message.text())
    assert "slip pembatalan dicetak" in counter.transactions.message.text()
    assert printer.printed == 4 and "DIBATALKAN" in printer.path.read_text()  # the void slip
    assert counter.transactions.table.item(0, 4).text() == "Dibatalkan"
    counter.transactions.table.selectRow(0)  # a voided entry: reprint still offered, void not
    assert counter.findChild(QPushButton, "tx_reprint").isEnabled()
    assert not counter.findChild(QPushButton, "tx_void").isEnabled()
    voids = backend.terminal.ledger.list_voids()
    assert [v.reason for v in voids] == ["Jumlah salah dimasukkan"] and voids[0].clerk_id == "rina"

    click(qtbot, counter, "transactions_back")
    wait_screen(counter, "home")
    click(qtbot, counter, "open_report")
    wait_screen(counter, "report")
    shown = visible_text(counter)
    kept = next(e for e in backend.terminal.recent() if not e.voided)
    amount = f"Rp {kept.amount:,}".replace(",", ".")
    assert f"Bantuan Langsung Tunai: 1 transaksi · {amount}" in shown  # the voided one is left out
    assert "Dibatalkan (void): 1" in shown and "Jumlah salah dimasukkan (Rina Marlina)" in shown, shown
    assert "Struk dicetak ulang: 1" in shown
    click(qtbot, counter, "report_print")
    qtbot.waitUntil(lambda: "Laporan dicetak" in visible_text(counter))
    assert printer.printed == 5


def test_pin_unblock_after_ektp_check(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    maria = backend.card("maria").card
    session = KhbsSession(InProcessConnection(maria, (CardTorn,)))
    session.select()
    for _ in range(3):
        with pytest.raises(InvalidPinError):
            session.verify_pin("000000", card_key(session))
    maria.reset()
    serve(qtbot, counter, backend, wait_screen, "maria")
    assert "PIN terkunci" in counter.findChild(QLabel, "pinState").text()

    choose(qtbot, counter, c.Program.KESEHATAN)  # a blocked PIN: the clerk is sent to the unblock
    wait_screen(counter, "refusal")
    assert counter.refusal.info is not None and counter.refusal.info.kind is Refusal.PIN_BLOCKED
    click(qtbot, counter, "refusal_reset_pin")
    wait_screen(counter, "reset")
    assert not counter.findChild(QPushButton, "reset_next").isEnabled()  # e-KTP not checked yet
    counter.findChild(QCheckBox, "ektp_checked").setChecked(True)
    assert not counter.findChild(QPushButton, "reset_next").isEnabled()  # no NIK typed yet
    nik = counter.findChild(QLineEdit, "reset_nik")
    nik.setText("6202016309880003")  # the clerk mistypes the last digit: the card itself refuses it
    click(qtbot, counter, "reset_next")
    wait_screen(counter, "pin")
    enter_pin(qtbot, counter, "2468")
    qtbot.waitUntil(lambda: "sekali lagi" in counter.pin.title.text())
    enter_pin(qtbot, counter, "2468")
    wait_screen(counter, "reset")
    assert "NIK tidak cocok" in counter.findChild(QLabel, "reset_problem").text()
    assert maria.state.pin_tries == 0 and maria.state.holder_tries == c.HOLDER_CHECK_MAX_TRIES - 1
    nik.setText("6202016309880002")  # as on Maria's e-KTP
    counter.findChild(QCheckBox, "ektp_checked").setChecked(True)
    click(qtbot, counter, "reset_next")
    wait_screen(counter, "pin")
    enter_pin(qtbot, counter, "2468")
    qtbot.waitUntil(lambda: "sekali lagi" in counter.pin.title.text())
    enter_pin(qtbot, counter, "1357")  # a typo: start again
    qtbot.waitUntil(lambda: "tidak sama" in counter.pin.message.text())
    enter_pin(qtbot, counter, "2468")
    enter_pin(qtbot, counter, "2468")
    wait_screen(counter, "result")
    assert counter.findChild(QLabel, "resultTitle").text() == "PIN baru aktif"
    check = KhbsSession(InProcessConnection(maria, (CardTorn,)))
    check.select()
    check.verify_pin("2468", card_key(check))  # the holder's new PIN works


@pytest.mark.parametrize(("card", "title"), [("agus", "Kartu diblokir"), ("klon", "Kartu tidak asli")])
def test_counter_refusals_show_plain_words_and_the_reason(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable, card: str, title: str
) -> None:
    login(qtbot, counter, wait_screen)
    tap(backend, card)
    wait_screen(counter, "refusal")
    assert title in visible_text(counter)
    assert counter.refusal.detail.text()  # the clerk also sees the technical reason, in small print
    remove(backend)
    wait_screen(counter, "home")


def test_data_too_old_for_cash_says_how_old(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    assert backend.clock is not None
    backend.clock.offset = 2 * 86_400 + 3600  # fine for a check tap (7 days), too old for cash (1 day)
    serve(qtbot, counter, backend, wait_screen)
    choose(qtbot, counter, c.Program.BLT)
    keys(qtbot, counter, "num_", "10000")
    click(qtbot, counter, "amount_next")
    enter_pin(qtbot, counter, DEMO_PIN)  # the card is checked for cash before the PIN is sent
    wait_screen(counter, "refusal")
    assert counter.refusal.info is not None and counter.refusal.info.kind is Refusal.DATA_TOO_OLD
    assert "2 hari 1 jam" in visible_text(counter)


def test_card_lifted_before_confirming(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    serve(qtbot, counter, backend, wait_screen)
    choose(qtbot, counter, c.Program.BLT)
    wait_screen(counter, "amount")
    remove(backend)
    wait_screen(counter, "home")
    assert "Kartu diangkat" in counter.findChild(QLabel, "homeNotice").text()
    assert "Siti" not in all_text(counter)
    assert backend.terminal.recent() == []


def test_wrong_clerk_pins_wait_then_lock(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    now = [1000.0]
    backend.clerks.clock = lambda: now[0]
    counter.findChild(QLineEdit, "clerk_id").setText("rina")
    enter_pin(qtbot, counter, "9999")
    qtbot.waitUntil(lambda: "ID atau PIN petugas salah." in visible_text(counter))
    enter_pin(qtbot, counter, "9998")
    enter_pin(qtbot, counter, "9997")
    qtbot.waitUntil(lambda: "Coba lagi setelah 5 detik" in visible_text(counter))
    enter_pin(qtbot, counter, "1234")  # the right PIN, too soon: not even checked
    qtbot.waitUntil(lambda: "Tunggu 5 detik" in visible_text(counter))
    assert counter.current == "login"
    now[0] += 5
    login(qtbot, counter, wait_screen)


def test_idle_logout_clears_the_holder(
    qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable
) -> None:
    now = [0.0]
    counter.flow.clock = lambda: now[0]
    serve(qtbot, counter, backend, wait_screen)
    counter.flow.touch()
    now[0] += counter.IDLE_LOGOUT_S - 1
    counter.flow.tick()
    assert counter.current == "holder"
    now[0] += 1
    counter.flow.tick()
    wait_screen(counter, "login")
    leftover = [line for line in all_text(counter).splitlines() if "Siti" in line or "6271*" in line]
    assert leftover == []
    assert "Siti" not in all_text(counter), [t for t in all_text(counter).split("\n") if "Siti" in t]
    assert "keluar otomatis" in visible_text(counter)
    qtbot.waitUntil(lambda: not counter.jobs.busy)
    assert [f.reason for f in backend.terminal.ledger.list_failures()] == ["clerk_idle_logout"]


def test_english_counter(qtbot: Any, counter: CounterWindow, backend: Backend, wait_screen: Callable) -> None:
    click(qtbot, counter, "lang_en")
    qtbot.waitUntil(lambda: "Clerk login" in visible_text(counter))
    login(qtbot, counter, wait_screen)
    assert "Ask the citizen to tap the card" in visible_text(counter)
    qtbot.waitUntil(lambda: "Printer ready" in status_text(counter))

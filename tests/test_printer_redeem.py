"""Redemption → ledger → receipt on the emulated serial printer: a printer fault never loses a receipt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from card_applet_spec import constants as c
from drivers.printer import EscposPrinter, serial_printer
from province.receipt_qr import verify_qr_payload
from terminal.ledger import Ledger, ReceiptState
from terminal.receipt import EntryReceiptSink
from terminal.redeem import RedemptionService
from tests.printer_emulator import Mode, SerialPrinterEmulator
from tests.support.counter import COUNTER, sqlite_engine
from tests.support.world import ISSUER, NOW, PIN, connect, make_card, receipt_signer, verifier


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[SerialPrinterEmulator]:
    with SerialPrinterEmulator(tmp_path) as emulator:
        yield emulator


@pytest.fixture
def printer(emu: SerialPrinterEmulator) -> Iterator[EscposPrinter]:
    p = serial_printer(emu.port, status_timeout=0.25)
    yield p
    p.close()


def _service(printer: EscposPrinter) -> RedemptionService:
    return RedemptionService(
        Ledger(sqlite_engine(None), clock=lambda: NOW),
        verifier(),
        COUNTER,
        EntryReceiptSink(printer, clerk_names={COUNTER.clerk_id: COUNTER.clerk_name}),
        clock=lambda: NOW,
        receipt_signer=receipt_signer(COUNTER.terminal_id),
    )


def _lookup(kid: bytes):  # type: ignore[no-untyped-def]
    return ISSUER.key.public_key() if kid == ISSUER.kid else None


def test_redemption_prints_a_verifiable_receipt(emu: SerialPrinterEmulator, printer: EscposPrinter) -> None:
    card, _ = make_card()
    done = _service(printer).redeem(connect(card), c.Program.BLT, 250_000, PIN)
    assert done.receipt_printed and done.entry.receipt_state is ReceiptState.PRINTED
    assert emu.wait_for_cuts(1)
    (doc,) = emu.log.finished
    verified = verify_qr_payload(doc.qr_codes[0], _lookup)
    assert verified.record.amount == 250_000 and verified.record.balance_after == 350_000
    assert verified.record_bytes == done.entry.record
    for text in (
        "NIK: 6271********0001",
        "Nama: Siti Rahmawati",
        "Jumlah: Rp 250.000",
        "Sisa: Rp 350.000",
        "Trx ke-1, data 1 jam",
        COUNTER.site,
        "Petugas: Rina",
        f"Ref {verified.reference}",
    ):
        assert text in doc.text, text
    assert "6271034512870001" not in doc.text


def test_sembako_receipt_in_kg(emu: SerialPrinterEmulator, printer: EscposPrinter) -> None:
    card, _ = make_card()
    _service(printer).redeem(connect(card), c.Program.SEMBAKO, 2_500, PIN)
    assert emu.wait_for_cuts(1)
    text = emu.log.finished[0].text
    assert "Jumlah: 2,5 kg" in text and "Sisa: 7,5 kg" in text


@pytest.mark.parametrize(
    ("fault", "code"),
    [(Mode.PAPER_OUT, "paper_out"), (Mode.COVER_OPEN, "cover_open"), (Mode.SILENT, "offline")],
)
def test_printer_fault_keeps_the_receipt_pending(
    emu: SerialPrinterEmulator, printer: EscposPrinter, fault: Mode, code: str
) -> None:
    card, _ = make_card()
    svc = _service(printer)
    emu.set_mode(fault)
    done = svc.redeem(connect(card), c.Program.BLT, 100_000, PIN)
    assert not done.receipt_printed and done.receipt_error == code
    assert done.entry.receipt_state is ReceiptState.FAILED
    (pending,) = svc.ledger.receipts_pending()
    assert pending.id == done.entry.id
    emu.set_mode(Mode.READY)
    assert svc.print_receipt(pending) == (True, None)
    assert svc.ledger.receipts_pending() == []
    assert emu.wait_for_cuts(1)
    assert "Jumlah: Rp 100.000" in emu.log.finished[0].text


def test_unplugged_mid_print_keeps_the_receipt_pending(
    emu: SerialPrinterEmulator, printer: EscposPrinter, tmp_path: Path
) -> None:
    card, _ = make_card()
    svc = _service(printer)
    emu.unplug_after(400)
    done = svc.redeem(connect(card), c.Program.BLT, 100_000, PIN)
    # a cable pulled while bytes are still in the kernel's buffer is seen as the write failing
    # (unplugged) or, when the last byte got out first, as a printer that no longer answers (offline)
    assert not done.receipt_printed and done.receipt_error in ("unplugged", "offline")
    (pending,) = svc.ledger.receipts_pending()
    with SerialPrinterEmulator(tmp_path) as replugged:  # the same port comes back
        ok, _ = svc.print_receipt(pending, copy=True)
        assert ok and replugged.wait_for_cuts(1)
        assert "SALINAN" in replugged.log.finished[0].text

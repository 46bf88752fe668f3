"""Receipts through the redemption service and the ledger: every counter receipt is signed by the
terminal; voids print a void slip; copies are numbered and recorded; a voided entry can never be printed
as a valid receipt; the end-of-day report lists voids and copies with gross / voided / net totals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text, update

from card_applet_spec import constants as c
from drivers.printer import EscposPrinter, serial_printer
from province.clock import WIB
from province.receipt_qr import QrFailure, QrPayloadError, ReceiptSigner, verify_qr_payload
from terminal.app import KhbsTerminal
from terminal.catalogue import Catalogue
from terminal.ledger import Ledger, ReceiptState, redemptions
from terminal.receipt import (
    EntryReceiptSink,
    receipt_from_entry,
    render_receipt_lines,
    render_report_lines,
)
from terminal.redeem import Counter, RedemptionService
from tests.printer_emulator import Document, SerialPrinterEmulator
from tests.support import receipts as fx
from tests.support.counter import sqlite_engine
from tests.support.world import ISSUER, NOW, PIN, connect, make_card, receipt_signer, verifier

COUNTER = Counter("T6271001", "Kantor Kelurahan Langkai", "rina", "Rina Wulandari")
ISSUERS = fx.IssuerWindows.of(ISSUER.key)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[SerialPrinterEmulator]:
    emulator = SerialPrinterEmulator(tmp_path)  # not ``as``: PrinterEmulator.__enter__ loses the subclass
    with emulator:
        yield emulator


@pytest.fixture
def printer(emu: SerialPrinterEmulator) -> Iterator[EscposPrinter]:
    p = serial_printer(emu.port, status_timeout=0.25)
    yield p
    p.close()


def _terminal(
    printer: EscposPrinter,
    signer: ReceiptSigner | None = None,
    *,
    unsigned: bool = False,
    db: Path | None = None,
) -> KhbsTerminal:
    engine = sqlite_engine(db)
    service = RedemptionService(
        Ledger(engine, clock=lambda: NOW),
        verifier(),
        COUNTER,
        EntryReceiptSink(printer),
        clock=lambda: NOW,
        receipt_signer=None if unsigned else (signer or receipt_signer(COUNTER.terminal_id)),
    )
    return KhbsTerminal(service, Catalogue(engine, clock=lambda: NOW), clock=lambda: NOW)


def _docs(emu: SerialPrinterEmulator, n: int) -> list[Document]:
    assert emu.wait_for_cuts(n)
    return list(emu.log.finished)


def _reason(qr: str | bytes) -> QrFailure:
    with pytest.raises(QrPayloadError) as err:
        verify_qr_payload(qr, ISSUERS, NOW)
    return err.value.reason


def _redeem(terminal: KhbsTerminal, amount: int = 250_000) -> str:
    card, _ = make_card()
    return terminal.redeem(connect(card), c.Program.BLT, amount, PIN).entry.id


def test_counter_receipt_is_signed_by_the_terminal(
    emu: SerialPrinterEmulator, printer: EscposPrinter
) -> None:
    terminal = _terminal(printer)
    rid = _redeem(terminal)
    (doc,) = _docs(emu, 1)
    verified = verify_qr_payload(doc.qr_codes[0], ISSUERS, NOW)
    assert verified.terminal is not None and verified.terminal.terminal_id == b"T6271001"
    assert verified.record_bytes == terminal.ledger.get(rid).record
    assert "Petugas: Rina Wulandari" in doc.text  # the clerk who redeemed, by name
    entry = terminal.ledger.get(rid)
    assert entry.attestation is not None and entry.clerk_name == "Rina Wulandari"


def test_void_prints_a_void_slip_whose_qr_says_voided(
    emu: SerialPrinterEmulator, printer: EscposPrinter
) -> None:
    terminal = _terminal(printer)
    rid = _redeem(terminal, 250_000)
    terminal.login("agus", "Agus Salim")
    vid, printed, error = terminal.void_slip(rid, "salah jumlah / wrong amount")
    assert vid and printed and error is None
    receipt, slip = _docs(emu, 2)
    reference = verify_qr_payload(receipt.qr_codes[0], ISSUERS, NOW).reference
    lines = [line.text.strip() for line in slip.lines]
    assert lines[2] == "DIBATALKAN / VOID" and lines[-1] == "DIBATALKAN / VOID"
    assert next(line for line in slip.lines if line.text == "DIBATALKAN / VOID").height == 2
    for expected in (
        f"Ref {reference} T6271001",
        "Jumlah: Rp 250.000",
        "Alasan: salah jumlah / wrong amount",
        "Petugas: Agus Salim",
        "Batal: " + dt.datetime.fromtimestamp(NOW, WIB).strftime("%d-%m-%Y %H:%M WIB"),
        "Bantuan Langsung Tunai",
    ):
        assert expected in slip.text, expected
    assert _reason(slip.qr_codes[0]) is QrFailure.VOIDED
    entry = terminal.ledger.get(rid)
    assert entry.voided and entry.void is not None and entry.void.clerk_name == "Agus Salim"
    assert terminal.ledger.receipts_pending() == []


def test_a_voided_entry_never_prints_as_a_valid_copy(
    emu: SerialPrinterEmulator, printer: EscposPrinter
) -> None:
    terminal = _terminal(printer)
    rid = _redeem(terminal)
    stale = terminal.ledger.get(rid)  # read before the void, as a UI list would hold it
    terminal.void(rid, "ganda / duplicate")
    assert terminal.reprint(rid) == (True, None)
    assert terminal.redemption.print_receipt(stale, copy=True) == (True, None)  # the core re-reads it
    assert terminal.redemption.print_receipt(stale) == (True, None)
    _, _, copy1, stale_copy, stale_original = _docs(emu, 5)
    for doc in (copy1, stale_copy, stale_original):
        assert doc.text.count("DIBATALKAN / VOID") == 2
        assert _reason(doc.qr_codes[0]) is QrFailure.VOIDED
    assert "SALINAN ke-1" in copy1.text
    # and through the pure layer: a voided entry has no other receipt
    receipt = receipt_from_entry(terminal.ledger.get(rid), copy=True)
    assert receipt.voided and "DIBATALKAN / VOID" in [line.strip() for line in render_receipt_lines(receipt)]
    (reprint,) = terminal.ledger.list_reprints(rid)
    assert (reprint.copy_no, reprint.clerk_id, reprint.clerk_name, reprint.voided) == (
        1,
        "rina",
        "Rina Wulandari",
        True,
    )


def test_copies_are_numbered_and_recorded(emu: SerialPrinterEmulator, printer: EscposPrinter) -> None:
    terminal = _terminal(printer)
    rid = _redeem(terminal)
    terminal.reprint(rid)
    terminal.login("agus", "Agus Salim")
    terminal.reprint(rid)
    original, first, second = _docs(emu, 3)
    assert "SALINAN" not in original.text
    assert "SALINAN ke-1" in first.text and "SALINAN ke-2" in second.text
    assert original.qr_codes == first.qr_codes == second.qr_codes  # one attestation, made once
    verify_qr_payload(second.qr_codes[0], ISSUERS, NOW)
    copies = terminal.ledger.list_reprints(rid)
    assert [(r.copy_no, r.clerk_name, r.voided) for r in copies] == [
        (1, "Rina Wulandari", False),
        (2, "Agus Salim", False),
    ]
    assert terminal.ledger.get(rid).reprints == 2


def test_terminal_without_a_receipt_key_prints_unsigned_and_records_it(
    emu: SerialPrinterEmulator, printer: EscposPrinter
) -> None:
    terminal = _terminal(printer, unsigned=True)
    _redeem(terminal)
    (doc,) = _docs(emu, 1)
    assert _reason(doc.qr_codes[0]) is QrFailure.TERMINAL_UNSIGNED  # printed, but never "SAH"
    assert "receipt_unsigned" in [f.reason for f in terminal.ledger.list_failures()]


def test_expired_receipt_certificate_is_not_used(emu: SerialPrinterEmulator, printer: EscposPrinter) -> None:
    expired = receipt_signer(COUNTER.terminal_id, valid_from=NOW - 400 * 86400, valid_until=NOW - 1)
    terminal = _terminal(printer, expired)
    _redeem(terminal)
    (doc,) = _docs(emu, 1)
    assert _reason(doc.qr_codes[0]) is QrFailure.TERMINAL_UNSIGNED
    assert any(
        f.reason == "receipt_unsigned" and "window" in f.detail for f in terminal.ledger.list_failures()
    )


def test_stored_attestation_is_read_back_as_untrusted(
    emu: SerialPrinterEmulator, printer: EscposPrinter, tmp_path: Path
) -> None:
    """Someone with the terminal's disk swaps the stored signature and pads the clerk's name."""
    terminal = _terminal(printer, db=tmp_path / "t.db")
    rid = _redeem(terminal)
    with terminal.ledger.engine.begin() as conn:
        conn.execute(
            update(redemptions)
            .where(redemptions.c.id == rid)
            .values(receipt_sig=b"\x00" * 64, clerk_name="X" * 500, receipt_state=ReceiptState.FAILED.value)
        )
    entry = terminal.ledger.get(rid)
    assert entry.attestation is not None and len(entry.clerk_name) == 64
    assert terminal.redemption.print_receipt(entry) == (True, None)
    _, again = _docs(emu, 2)
    verify_qr_payload(again.qr_codes[0], ISSUERS, NOW)  # re-signed, not printed as stored
    assert all(len(line.text) <= 48 for line in again.lines)


def test_end_of_day_lists_voids_and_copies_with_gross_voided_net(
    emu: SerialPrinterEmulator, printer: EscposPrinter
) -> None:
    terminal = _terminal(printer)
    first = _redeem(terminal, 250_000)
    card, _ = make_card(serial=2)
    second = terminal.redeem(connect(card), c.Program.BLT, 100_000, PIN).entry.id
    terminal.reprint(first)
    terminal.void(first, "salah jumlah")
    terminal.reprint(first)
    totals = terminal.end_of_day(dt.datetime.fromtimestamp(NOW, WIB).date())
    assert totals.gross[c.Program.BLT] == (2, 350_000)
    assert totals.voided[c.Program.BLT] == (1, 250_000)
    assert totals.per_program[c.Program.BLT] == (1, 100_000) and totals.voids == 1
    reference = receipt_from_entry(terminal.ledger.get(first)).reference
    assert reference != receipt_from_entry(terminal.ledger.get(second)).reference
    (void,) = totals.void_lines
    assert (void.reference, void.amount, void.reason, void.clerk) == (
        reference,
        250_000,
        "salah jumlah",
        "Rina Wulandari",
    )
    assert [(r.reference, r.copy_no, r.voided) for r in totals.reprint_lines] == [
        (reference, 1, False),
        (reference, 2, True),
    ]
    text = " ".join(line.strip() for line in render_report_lines(terminal.end_of_day_report(totals.date)))
    for expected in (
        "Bantuan Langsung Tunai 1 transaksi, Rp 100.000",
        "bruto 2 transaksi, Rp 350.000 batal 1 transaksi, Rp 250.000 bersih 1 transaksi, Rp 100.000",
        f"PEMBATALAN (1) ref {reference} Rp 250.000",
        "Rina Wulandari: salah jumlah",
        f"CETAK ULANG (2) ref {reference} salinan ke-1",
        f"ref {reference} salinan ke-2 DIBATALKAN",
    ):
        assert expected in text, expected


def test_older_ledger_gets_the_new_columns(tmp_path: Path) -> None:
    """A terminal database from before reprints and attestations: the columns are added, rows kept."""
    engine = sqlite_engine(tmp_path / "old.db")
    Ledger(engine)
    with engine.begin() as conn:
        for table, column in (
            ("redemptions", "clerk_name"),
            ("redemptions", "receipt_cert"),
            ("redemptions", "receipt_sig"),
            ("voids", "clerk_name"),
            ("voids", "cert"),
            ("voids", "signature"),
        ):
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(text("DROP TABLE reprints"))
    ledger = Ledger(engine)
    with engine.connect() as conn:
        names = {row[1] for row in conn.execute(text("PRAGMA table_info(redemptions)"))}
    assert {"clerk_name", "receipt_cert", "receipt_sig"} <= names
    assert ledger.list_reprints() == [] and ledger.entries() == []


def test_kartu_redeem_prints_the_clerks_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kartu.cli import EXIT_OK, main

    data_dir = tmp_path / "demo"
    args = ["--data-dir", str(data_dir), "redeem", "--demo-card", "darto", "--program", "6"]
    args += ["--amount", "500000", "--pin", "123456", "--clerk", "rina", "--clerk-name", "Rina Wulandari"]
    assert main(args) == EXIT_OK
    (preview,) = (data_dir / "receipts").glob("*.txt")
    receipt = preview.read_text()
    assert "Petugas: Rina Wulandari" in receipt and "Petugas Demo" not in receipt
    (escpos,) = (data_dir / "receipts").glob("*.escpos")
    qr = escpos.read_bytes().split(b"1P0", 1)[1].split(b"\x1d(k", 1)[0]
    capsys.readouterr()
    verify = main(["--data-dir", str(data_dir), "verify-receipt", "--json", qr.decode("latin-1")])
    assert verify == EXIT_OK, capsys.readouterr().out

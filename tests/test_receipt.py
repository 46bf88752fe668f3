"""Receipt content and layout (pure: no printer)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from card_applet_spec import constants as c
from card_applet_spec.credential import CredentialError
from province.clock import WIB
from province.receipt_qr import (
    REFERENCE_ALPHABET,
    QrFailure,
    QrPayloadError,
    receipt_reference,
    verify_qr_payload,
)
from terminal.ledger import Entry, ReceiptState, State
from terminal.receipt import (
    CoverOpen,
    EndOfDayReport,
    EntryReceiptSink,
    PaperLevel,
    PaperOut,
    PaperWidth,
    PrinterError,
    PrinterOffline,
    PrinterStatus,
    PrinterUnplugged,
    QrCode,
    RedemptionReceipt,
    RefusalCount,
    TextLine,
    format_age,
    format_terminal_id,
    format_wib,
    layout_receipt,
    layout_report,
    render_receipt_lines,
    render_report_lines,
)
from terminal.redeem import PrintFailed
from tests.support import receipts as fx

WIDTHS = [PaperWidth.MM58, PaperWidth.MM80]


def _joined(lines: list[str]) -> str:
    """Lines with wrapping undone (continuations are indented by two spaces)."""
    return " ".join(line.strip() for line in lines)


# --- formatting -------------------------------------------------------------------------------------


def test_time_is_printed_in_wib() -> None:
    utc = dt.datetime(2026, 3, 12, 7, 5, tzinfo=dt.UTC)
    assert format_wib(utc) == "12-03-2026 14:05 WIB"
    assert format_wib(dt.datetime(2026, 12, 31, 17, 30, tzinfo=dt.UTC)) == "01-01-2027 00:30 WIB"
    with pytest.raises(ValueError):
        format_wib(dt.datetime(2026, 3, 12, 7, 5))


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (None, "tidak ada"),
        (dt.timedelta(seconds=20), "0 menit"),
        (dt.timedelta(minutes=45), "45 menit"),
        (dt.timedelta(hours=3, minutes=59), "3 jam"),
        (dt.timedelta(hours=47), "47 jam"),
        (dt.timedelta(days=4, hours=2), "4 hari"),
    ],
)
def test_revocation_data_age(age: dt.timedelta | None, text: str) -> None:
    assert format_age(age) == text


def test_terminal_id_text() -> None:
    assert format_terminal_id(b"PKY00012") == "PKY00012"
    assert format_terminal_id(bytes(range(8))) == "0001020304050607"


# --- the redemption receipt ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_cash_receipt_content(width: int) -> None:
    receipt = fx.receipt()
    lines = render_receipt_lines(receipt, width)
    assert all(len(line) <= width for line in lines)
    text = _joined(lines)
    for expected in (
        "PEMPROV KALTENG",
        "Kartu Huma Betang Sejahtera",
        "BUKTI PENYALURAN",
        fx.SITE,
        "12-03-2026 14:05 WIB PKY00012",
        f"Petugas: {fx.CLERK}",
        "NIK: 6271********0001",
        "BUDI SANTOSO",
        "Bantuan Langsung Tunai",
        "Jumlah: Rp 300.000",
        "Sisa: Rp 300.000",
        "Trx ke-7, data 3 jam",
        f"Ref {receipt.reference} LAPOR!/SMS 1708",
        "[QR]",
    ):
        assert expected in text, expected
    assert "SALINAN" not in text
    assert fx.FULL_NIK not in text


def test_layout_blocks_carry_style_and_qr() -> None:
    receipt = fx.receipt()
    layout = layout_receipt(receipt, PaperWidth.MM80)
    assert layout.qr_codes == [receipt.qr_payload]
    title = layout.blocks[2]
    assert isinstance(title, TextLine) and title.bold and title.align == "center"
    amount = next(b for b in layout.blocks if isinstance(b, TextLine) and b.text.startswith("Jumlah"))
    assert amount.bold and amount.tall
    assert sum(isinstance(b, QrCode) for b in layout.blocks) == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_header_fits_both_papers(width: int) -> None:
    lines = [line.strip() for line in render_receipt_lines(fx.receipt(), width)]
    assert lines[:3] == ["PEMPROV KALTENG", "Kartu Huma Betang Sejahtera", "BUKTI PENYALURAN"]


def test_reprint_is_marked_with_its_copy_number() -> None:
    original = fx.receipt()
    copy = original.as_reprint(3)
    lines = [line.strip() for line in render_receipt_lines(copy, PaperWidth.MM80)]
    assert lines.count("SALINAN ke-3") == 1 and lines.index("SALINAN ke-3") == 3
    assert copy.qr_payload == original.qr_payload and copy.reference == original.reference
    unnumbered = [line.strip() for line in render_receipt_lines(original.as_reprint(), PaperWidth.MM80)]
    assert "SALINAN / COPY" in unnumbered


def test_quantities_are_shown_in_kg_and_litre() -> None:
    rice = _joined(
        render_receipt_lines(
            fx.receipt(program=c.Program.SEMBAKO, unit=c.Unit.GRAM, amount=2_500, balance_after=10_000), 48
        )
    )
    assert "Operasi Pasar Sembako Murah" in rice
    assert "Jumlah: 2,5 kg" in rice and "Sisa: 10 kg" in rice
    oil = _joined(
        render_receipt_lines(
            fx.receipt(program=c.Program.SEMBAKO, unit=c.Unit.MILLILITRE, amount=1_500, balance_after=500), 48
        )
    )
    assert "Jumlah: 1,5 liter" in oil and "Sisa: 0,5 liter" in oil


def test_check_in_says_kunjungan_tercatat_without_balance() -> None:
    receipt = fx.receipt(
        program=c.Program.KESEHATAN,
        unit=c.Unit.VISIT,
        tx_type=c.TxType.CHECK_IN,
        amount=0,
        balance_after=c.UNLIMITED,
    )
    assert receipt.is_check_in and receipt.balance_after is None
    text = _joined(render_receipt_lines(receipt, 32))
    assert "Kunjungan tercatat" in text and "BUKTI LAYANAN" in text
    assert "Sisa" not in text and "Jumlah" not in text
    assert "Kesehatan Gratis" in text


def test_unlimited_balance_is_not_printed() -> None:
    receipt = fx.receipt(program=c.Program.BLT, amount=100, balance_after=c.UNLIMITED)
    assert receipt.balance_after is None


def test_full_nik_never_reaches_a_receipt() -> None:
    careless = fx.make_card(nik_masked=fx.FULL_NIK)  # signed, but the credential format refuses it
    with pytest.raises(CredentialError):
        fx.receipt(careless)
    receipt = fx.receipt()
    assert fx.FULL_NIK not in "\n".join(render_receipt_lines(receipt, 48))
    with pytest.raises(ValueError, match="full NIK"):
        dataclasses.replace(receipt, nik_masked=fx.FULL_NIK)
    with pytest.raises(ValueError, match="full NIK"):
        dataclasses.replace(receipt, nik_masked="6271 0345 0890 0001")


def test_receipt_time_must_be_aware() -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(fx.receipt(), time=dt.datetime(2026, 3, 12, 14, 5))


def test_grievance_reference_is_derived_from_the_record() -> None:
    card = fx.make_card()
    signed = fx.sign_record(card)
    receipt = fx.receipt(card)
    assert receipt.reference == receipt_reference(signed.record_bytes)
    assert len(receipt.reference) == 8 and set(receipt.reference) <= set(REFERENCE_ALPHABET)
    assert verify_qr_payload(receipt.qr_payload, fx.issuer_lookup()).reference == receipt.reference
    other = fx.receipt(card, tx_counter=8)
    assert other.reference != receipt.reference


def test_receipt_fields_come_from_the_signed_record() -> None:
    receipt = fx.receipt(amount=150_000, balance_after=450_000, tx_counter=12)
    assert (receipt.amount, receipt.balance_after, receipt.tx_counter) == (150_000, 450_000, 12)
    assert receipt.time == dt.datetime(2026, 3, 12, 14, 5, tzinfo=WIB)
    assert receipt.terminal_id == "PKY00012"
    assert receipt.holder_name == "BUDI SANTOSO"


# --- the end-of-day report ------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_end_of_day_report(width: int) -> None:
    report = fx.end_of_day_report()
    lines = render_report_lines(report, width)
    assert all(len(line) <= width for line in lines)
    text = _joined(lines)
    for expected in (
        "LAPORAN AKHIR HARI",
        "Tanggal: 12-03-2026",
        "Terminal: PKY00012",
        "Dicetak: 12-03-2026 17:05 WIB",
        "PENYALURAN PER PROGRAM (BERSIH) Bantuan Langsung Tunai 42 transaksi, Rp 12.600.000",
        "Operasi Pasar Sembako Murah 87 transaksi, 435,5 kg",
        "Kesehatan Gratis 15 kunjungan",
        "BRUTO / DIBATALKAN / BERSIH Bantuan Langsung Tunai bruto 43 transaksi, Rp 12.900.000"
        " batal 1 transaksi, Rp 300.000 bersih 42 transaksi, Rp 12.600.000",
        "PEMBATALAN (1) ref DKA3XPGP Rp 300.000 Bantuan Langsung Tunai 14:15 Siti Rahmawati: salah jumlah",
        "CETAK ULANG (2) ref DKA3XPGP salinan ke-1 14:10 Siti Rahmawati",
        "ref DKA3XPGP salinan ke-2 DIBATALKAN 14:20 Siti Rahmawati",
        "PIN salah: 5",
        "Saldo tidak cukup: 2",
        "Kartu dicabut: 1",
        "Jumlah penolakan: 8",
    ):
        assert expected in text, expected
    assert layout_report(report, width).qr_codes == []
    assert report.refusal_total == 8


def test_empty_day_and_unknown_refusal_codes() -> None:
    report = EndOfDayReport(
        day=dt.date(2026, 3, 13),
        site="Posyandu Melati",
        terminal_id="PKY00012",
        printed_at=dt.datetime(2026, 3, 13, 17, 0, tzinfo=WIB),
        refusals=(RefusalCount("mystery_code", 1),),
    )
    text = _joined(render_report_lines(report, 32))
    assert "Tidak ada transaksi" in text and "mystery_code: 1" in text


# --- status and errors ------------------------------------------------------------------------------------


def test_status_faults() -> None:
    ok = PrinterStatus(online=True, paper=PaperLevel.OK)
    assert ok.fault() is None and ok.warning is None
    near = PrinterStatus(online=True, paper=PaperLevel.NEAR_END)
    assert near.fault() is None and near.paper_near_end and near.warning
    assert isinstance(PrinterStatus(False, PaperLevel.OK).fault(), PrinterOffline)
    assert isinstance(PrinterStatus(False, PaperLevel.OUT).fault(), PaperOut)
    assert isinstance(PrinterStatus(False, PaperLevel.OK, cover_open=True).fault(), CoverOpen)
    unknown = PrinterStatus(online=None, paper=PaperLevel.UNKNOWN)
    assert unknown.fault() is None and unknown.paper is not PaperLevel.OK


def test_error_codes_are_stable() -> None:
    assert [
        e.code for e in (PrinterOffline(), PaperOut(), CoverOpen(), PrinterUnplugged(), PrinterError())
    ] == [
        "offline",
        "paper_out",
        "cover_open",
        "unplugged",
        "error",
    ]
    assert all(issubclass(e, PrinterError) for e in (PrinterOffline, PaperOut, CoverOpen, PrinterUnplugged))


# --- the ledger adapter -------------------------------------------------------------------------------------


class ScriptedPrinter:
    """A ReceiptPrinter that records receipts or raises a chosen error (no hardware)."""

    def __init__(self, error: PrinterError | None = None, status: PrinterStatus | None = None) -> None:
        self.error = error
        self.printed: list[RedemptionReceipt] = []
        self._status = status or PrinterStatus(True, PaperLevel.OK)

    def status(self) -> PrinterStatus:
        return self._status

    def print_receipt(self, receipt: RedemptionReceipt) -> PrinterStatus:
        if self.error is not None:
            raise self.error
        self.printed.append(receipt)
        return self._status

    def print_report(self, report: EndOfDayReport) -> PrinterStatus:
        return self._status


def _entry(**overrides: object) -> Entry:
    card = fx.make_card()
    signed = fx.sign_record(card)
    values: dict[str, object] = {
        "id": "r-1",
        "state": State.COMMITTED,
        "card_serial": card.serial,
        "program": c.Program.BLT,
        "amount": 300_000,
        "unit": c.Unit.RUPIAH,
        "clerk_id": "clerk-7",
        "terminal_id": "PKY00012",
        "site": fx.SITE,
        "nonce": signed.record.terminal_nonce,
        "terminal_time": fx.FIXED_TIME,
        "expected_counter": 6,
        "tx_type": signed.record.tx_type,
        "grant_seq": signed.record.grant_seq,
        "expected_balance_after": signed.record.balance_after,
        "credential": card.credential,
        "holder_name": "BUDI SANTOSO",
        "nik_masked": fx.MASKED_NIK,
        "data_age_s": 2 * 3600.0,
        "tx_counter": 7,
        "balance_after": 300_000,
        "record": signed.record_bytes,
        "signature": signed.signature,
        "record_id": "x",
        "recovered": False,
        "receipt_state": ReceiptState.PENDING,
        "receipt_error": None,
        "print_count": 0,
        "note": None,
        "created_at": float(fx.FIXED_TIME),
        "updated_at": float(fx.FIXED_TIME),
        "uploaded_at": None,
    }
    values.update(overrides)
    return Entry(**values)  # type: ignore[arg-type]


def test_entry_sink_prints_the_entry() -> None:
    printer = ScriptedPrinter(status=PrinterStatus(True, PaperLevel.NEAR_END))
    sink = EntryReceiptSink(printer, clerk_names={"clerk-7": "Rina"})
    sink.print_entry(_entry(), copy=True)
    (receipt,) = printer.printed
    assert receipt.reprint and receipt.clerk == "Rina"
    assert receipt.revocation_age == dt.timedelta(hours=2)
    with pytest.raises(QrPayloadError) as unsigned:  # an entry the terminal never attested
        verify_qr_payload(receipt.qr_payload, fx.issuer_lookup())
    assert unsigned.value.reason is QrFailure.TERMINAL_UNSIGNED
    assert sink.last_warning == "Kertas printer hampir habis"


@pytest.mark.parametrize("error", [PaperOut("x"), CoverOpen("x"), PrinterOffline("x"), PrinterUnplugged("x")])
def test_entry_sink_turns_printer_errors_into_print_failed(error: PrinterError) -> None:
    sink = EntryReceiptSink(ScriptedPrinter(error))
    with pytest.raises(PrintFailed) as failed:
        sink.print_entry(_entry())
    assert failed.value.reason == error.code


def test_entry_without_record_cannot_print() -> None:
    with pytest.raises(ValueError, match="no card-signed record"):
        EntryReceiptSink(ScriptedPrinter()).print_entry(_entry(record=None, signature=None))

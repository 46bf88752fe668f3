"""Receipts: what a redemption receipt and the end-of-day report say, how they are laid out, and the
printer port the drivers implement.

Everything here is pure (no I/O, no hardware library): frozen dataclasses for the content, a layout
function that turns a receipt into text lines for a paper width (58 mm = 32 columns, 80 mm = 48), and
the :class:`ReceiptPrinter` port with its typed errors. ``drivers/printer.py`` implements the port with
python-escpos and translates every hardware exception, once, into the errors defined here.

Text is Indonesian and ASCII by construction (labels, numbers, dates); names from the credential are
passed through and the driver encodes them in its pinned code page (CP858), folding anything else.

Personal data (UU 27/2022): a receipt shows the masked NIK only (``6271********0001``); building a
receipt with a full NIK raises ValueError.

Voids and copies: a receipt of a voided entry is always the *void slip* (``DIBATALKAN / VOID`` at the top
and bottom, the void's reason, clerk and time; its QR carries the terminal's signed void, which verifiers
report as voided, never as genuine). :func:`receipt_from_entry` builds nothing else for a voided entry,
so no caller can print one as a valid copy. Copies say ``SALINAN ke-N``.

Size: a receipt stays within 1 KB of ESC/POS on 58 and 80 mm paper with the longest names
(``benchmarks.receipt``): the QR travels in byte mode, labels are short, the site and the clerk's name
are cut to :data:`SITE_MAX` / :data:`CLERK_MAX` characters.

**Printing is atomic from the caller's point of view**: ``print_receipt`` either returns (every byte was
handed to the printer and the printer answered "online, paper present, cover closed" afterwards) or
raises a :class:`PrinterError`, in which case the receipt counts as *not printed* — even if part of it
came out — and stays pending in the ledger (``terminal.ledger``: receipt state PENDING/FAILED,
``receipts_pending()``) until a reprint succeeds. Nothing is queued inside the driver, so a fault can
never lose a receipt silently. :class:`EntryReceiptSink` adapts a printer to the redemption service's
``ReceiptSink`` port (``terminal.redeem``), turning a PrinterError into ``PrintFailed(err.code)``.
"""

from __future__ import annotations

import datetime as dt
import enum
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from card_applet_spec import constants as c
from card_applet_spec.credential import decode_credential
from card_applet_spec.records import TxRecord
from province.clock import WIB
from province.programs import DEFAULT_UNIT, PROGRAMS, format_amount
from province.receipt_qr import ReceiptKind, TerminalAttestation, encode_qr_content, receipt_reference
from terminal.ledger import ReprintLine, VoidLine

if TYPE_CHECKING:
    from terminal.ledger import Entry

#: Western Indonesia Time: the whole of Kalimantan Tengah.

HEADER_GOVERNMENT = "PEMPROV KALTENG"  # Pemerintah Provinsi Kalimantan Tengah
HEADER_CARD = "Kartu Huma Betang Sejahtera"
REPRINT_MARK = "SALINAN / COPY"
VOID_MARK = "DIBATALKAN / VOID"
GRIEVANCE = "LAPOR!/SMS 1708"  # printed after the reference: "Ref 86FPV9J0 LAPOR!/SMS 1708"
CHECK_IN_TEXT = "Kunjungan tercatat"
#: Printed length caps (characters) for texts the terminal configures or a clerk types.
SITE_MAX = 32
CLERK_MAX = 20
VOID_REASON_MAX = 48


class PaperWidth(enum.IntEnum):
    """Paper width; the value is the number of characters per line in the normal font."""

    MM58 = 32
    MM80 = 48


# --- printer port and its errors ------------------------------------------------------------------


class PrinterError(Exception):
    """Base of every printer fault. ``code`` is a stable short code (ledger, logs), ``user_message``
    is what the clerk sees (Indonesian)."""

    code = "error"
    user_message = "Printer bermasalah"

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(f"{self.code}: {detail}" if detail else self.code)


class PrinterOffline(PrinterError):
    """Connected but not printing: reports offline, does not answer a status query, or takes no data."""

    code = "offline"
    user_message = "Printer offline"


class PaperOut(PrinterError):
    code = "paper_out"
    user_message = "Kertas printer habis"


class CoverOpen(PrinterError):
    code = "cover_open"
    user_message = "Penutup printer terbuka"


class PrinterUnplugged(PrinterError):
    """The link is gone: device missing, connection refused or reset, cable pulled mid-print."""

    code = "unplugged"
    user_message = "Printer tidak terhubung"


class PaperLevel(enum.StrEnum):
    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"  # the link cannot report it (one-way file/device) — never read as "OK"


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer reported. ``online`` is None when the link cannot report status at all."""

    online: bool | None
    paper: PaperLevel
    cover_open: bool = False

    @property
    def paper_near_end(self) -> bool:
        return self.paper is PaperLevel.NEAR_END

    @property
    def warning(self) -> str | None:
        """A non-blocking warning for the clerk, e.g. near the end of the paper roll."""
        return "Kertas printer hampir habis" if self.paper_near_end else None

    def fault(self) -> PrinterError | None:
        """The error this status means, or None when printing may go ahead (near end included)."""
        if self.cover_open:
            return CoverOpen("cover open")
        if self.paper is PaperLevel.OUT:
            return PaperOut("paper end sensor")
        if self.online is False:
            return PrinterOffline("printer reports offline")
        return None


#: Status of a link that cannot answer (a one-way file or device): unknown, not "OK".
STATUS_UNKNOWN = PrinterStatus(online=None, paper=PaperLevel.UNKNOWN)


class ReceiptPrinter(Protocol):
    """Port: a receipt printer. Implementations raise only :class:`PrinterError` subclasses."""

    def status(self) -> PrinterStatus:
        """Ask the printer now; a printer that does not answer is PrinterOffline (never "paper OK")."""
        ...

    def print_receipt(self, receipt: RedemptionReceipt) -> PrinterStatus:
        """Print atomically (see the module docstring); returns the printer's latest status (checked
        after printing; STATUS_UNKNOWN on one-way links) so the caller can warn about paper near its end."""
        ...

    def print_report(self, report: EndOfDayReport) -> PrinterStatus: ...


# --- formatting -----------------------------------------------------------------------------------


def format_wib(moment: dt.datetime) -> str:
    """``dd-mm-yyyy HH:MM WIB`` (the moment must be timezone-aware)."""
    if moment.tzinfo is None:
        raise ValueError("a receipt time must be timezone-aware")
    return moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


def format_age(age: dt.timedelta | None) -> str:
    """Age of the revocation data: ``45 menit``, ``3 jam``, ``4 hari``; None: ``tidak ada``."""
    if age is None:
        return "tidak ada"
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} menit"
    if minutes < 48 * 60:
        return f"{minutes // 60} jam"
    return f"{minutes // (24 * 60)} hari"


def program_name(program: int) -> str:
    try:
        return PROGRAMS[c.Program(program)].name_id
    except ValueError:
        return f"Program {program}"


def format_terminal_id(terminal_id: bytes) -> str:
    """The 8-byte terminal id as text: printable ASCII as is, anything else as hex."""
    if terminal_id.isascii() and all(0x21 <= b <= 0x7E for b in terminal_id):
        return terminal_id.decode("ascii")
    return terminal_id.hex().upper()


def _looks_like_full_nik(text: str) -> bool:
    digits = text.replace(" ", "").replace(".", "")
    return len(digits) == 16 and digits.isdigit()


# --- the redemption receipt -----------------------------------------------------------------------


@dataclass(frozen=True)
class VoidMark:
    """Why, by whom and when the transaction of a receipt was voided."""

    reason: str
    clerk: str
    time: dt.datetime  # timezone-aware

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("a void time must be timezone-aware")


@dataclass(frozen=True)
class RedemptionReceipt:
    """Everything one redemption receipt (or void slip) shows. Build it with :func:`build_receipt`."""

    site: str
    terminal_id: str
    clerk: str
    time: dt.datetime  # timezone-aware; printed in WIB
    nik_masked: str
    holder_name: str
    program: int
    tx_type: int  # c.TxType
    amount: int
    unit: int  # c.Unit
    balance_after: int | None  # None: nothing to show (check-in, unlimited)
    tx_counter: int  # the card's transaction counter after this transaction
    revocation_age: dt.timedelta | None
    reference: str  # grievance reference, derived from the record
    qr_payload: bytes  # the printed QR content (``province.receipt_qr.encode_qr_content``)
    reprint: bool = False
    copy_no: int = 0  # 1, 2, ... on copies (0: not numbered)
    void: VoidMark | None = None  # set: this is a void slip

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("a receipt time must be timezone-aware")
        if _looks_like_full_nik(self.nik_masked):
            raise ValueError("a receipt never shows a full NIK")

    @property
    def is_check_in(self) -> bool:
        return self.tx_type == c.TxType.CHECK_IN

    @property
    def voided(self) -> bool:
        return self.void is not None

    def as_reprint(self, copy_no: int = 0) -> RedemptionReceipt:
        return replace(self, reprint=True, copy_no=copy_no)


def build_receipt(
    *,
    credential: bytes,
    record: bytes,
    signature: bytes,
    unit: int,
    site: str,
    clerk: str,
    revocation_age: dt.timedelta | None,
    attestation: TerminalAttestation | None = None,
    reprint: bool = False,
    copy_no: int = 0,
    void: VoidMark | None = None,
) -> RedemptionReceipt:
    """A receipt for a card-signed record (``signature`` DER) and the card's credential bytes.

    ``attestation``: the terminal's signature for the QR (a receipt attestation, or for a void slip
    (``void`` set) the void attestation); without it the QR verifies as "not signed by a terminal".
    The record and credential are parsed, not verified: the terminal verified both before committing
    the transaction. Time, program, amount, balance, counter and terminal come from the signed record.
    """
    tx = TxRecord.decode(record)
    claims = decode_credential(credential).claims
    check_in = tx.tx_type == c.TxType.CHECK_IN
    kind = ReceiptKind.RECEIPT if void is None else ReceiptKind.VOIDED
    return RedemptionReceipt(
        site=site,
        terminal_id=format_terminal_id(tx.terminal_id),
        clerk=clerk,
        time=dt.datetime.fromtimestamp(tx.terminal_time, WIB),
        nik_masked=claims.nik_masked,  # the credential format admits masked NIKs only
        holder_name=claims.name,
        program=tx.program,
        tx_type=tx.tx_type,
        amount=tx.amount,
        unit=unit,
        balance_after=None if check_in or tx.balance_after == c.UNLIMITED else tx.balance_after,
        tx_counter=tx.tx_counter,
        revocation_age=revocation_age,
        reference=receipt_reference(record),
        qr_payload=encode_qr_content(credential, record, signature, attestation, kind=kind),
        reprint=reprint,
        copy_no=copy_no,
        void=void,
    )


def receipt_from_entry(entry: Entry, *, copy: bool = False, clerk: str | None = None) -> RedemptionReceipt:
    """The receipt for a committed ledger entry (``copy``: a reprint, numbered ``entry.reprints``).

    A voided entry always gives its void slip (with the terminal's void attestation), never a valid
    receipt. ``clerk`` overrides the name recorded with the entry.
    """
    if entry.record is None or entry.signature is None:
        raise ValueError(f"ledger entry {entry.id} has no card-signed record yet")
    void = None
    attestation = entry.attestation
    if entry.voided:
        info = entry.void
        void = VoidMark(
            reason=info.reason if info else "",
            clerk=(info.clerk_name or info.clerk_id) if info else "",
            time=dt.datetime.fromtimestamp(info.at if info else 0, WIB),
        )
        attestation = info.attestation if info else None
    return build_receipt(
        credential=entry.credential,
        record=entry.record,
        signature=entry.signature,
        unit=entry.unit,
        site=entry.site,
        clerk=clerk or entry.clerk_name or entry.clerk_id,
        revocation_age=None if entry.data_age_s is None else dt.timedelta(seconds=entry.data_age_s),
        attestation=attestation,
        reprint=copy,
        copy_no=max(entry.reprints, 1) if copy else 0,
        void=void,
    )


class EntryReceiptSink:
    """Implements ``terminal.redeem.ReceiptSink`` on a :class:`ReceiptPrinter`.

    ``print_entry`` returns only when the receipt printed completely; any PrinterError becomes
    ``PrintFailed(err.code, ...)`` so the ledger keeps the receipt pending. ``last_warning`` holds the
    latest non-blocking warning (paper near end) for the UI.
    """

    def __init__(self, printer: ReceiptPrinter, clerk_names: Mapping[str, str] | None = None) -> None:
        self.printer = printer
        self.clerk_names = dict(clerk_names or {})
        self.last_warning: str | None = None

    def print_entry(self, entry: Entry, *, copy: bool = False) -> None:
        from terminal.redeem import PrintFailed  # the redemption service owns that error

        receipt = receipt_from_entry(
            entry, copy=copy, clerk=entry.clerk_name or self.clerk_names.get(entry.clerk_id)
        )
        try:
            status = self.printer.print_receipt(receipt)
        except PrinterError as err:
            raise PrintFailed(err.code, str(err)) from err
        self.last_warning = status.warning


# --- the end-of-day report ------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramTotal:
    program: int
    unit: int
    count: int  # transactions (or visits)
    total: int  # sum of amounts in the unit (0 for check-ins)


@dataclass(frozen=True)
class RefusalCount:
    reason: str  # the ledger's failure code
    count: int


#: Indonesian labels for the ledger's failure codes: every ``terminal.verify.Reason``, every
#: ``terminal.failures.FailureReason`` and the receipt codes (tests check that none is missing);
#: an unknown code is printed as it is.
REFUSAL_LABELS: dict[str, str] = {
    "wrong_pin": "PIN salah",
    "pin_blocked": "PIN terblokir",
    "bad_pin_format": "Format PIN salah",
    "insufficient_balance": "Saldo tidak cukup",
    "not_enrolled": "Tidak terdaftar",
    "entitlement_expired": "Hak sudah berakhir",
    "bad_amount": "Jumlah tidak sah",
    "card_refused": "Ditolak kartu",
    "counter_mismatch": "Penghitung kartu beda",
    "revoked": "Kartu dicabut",
    "suspended": "Kartu ditangguhkan",
    "card_blocked": "Kartu diblokir",
    "card_terminated": "Kartu diakhiri",
    "expired": "Kartu kedaluwarsa",
    "not_yet_valid": "Kartu belum berlaku",
    "not_genuine": "Kartu tidak asli",
    "bad_issuer_signature": "Tanda tangan penerbit salah",
    "unknown_issuer_key": "Penerbit tidak dikenal",
    "issuer_key_not_valid": "Kunci penerbit tidak berlaku",
    "not_khbs_card": "Bukan kartu KHBS",
    "not_personalised": "Kartu belum dipersonalisasi",
    "malformed": "Data kartu rusak",
    "unsupported_schema": "Versi kartu tidak didukung",
    "no_trust_list": "Daftar kunci tidak ada",
    "no_revocation_data": "Data status tidak ada",
    "revocation_data_stale": "Data status kedaluwarsa",
    "status_index_out_of_range": "Kartu di luar daftar status",
    "clock_wrong": "Jam terminal salah",
    "trust_list_stale": "Daftar kunci kedaluwarsa",
    "trust_data_unverified": "Daftar kunci tidak sah",
    "status_data_unverified": "Data status tidak sah",
    "previous_redemption_settled": "Transaksi sebelumnya diselesaikan",
    "previous_redemption_open": "Transaksi sebelumnya belum selesai",
    "entitlement_not_valid_now": "Hak belum/tidak berlaku",
    "card_removed": "Kartu dilepas",
    "card_answer_malformed": "Jawaban kartu rusak",
    "card_error": "Kesalahan kartu",
    "debit_outcome_unknown": "Hasil debit belum pasti",
    "record_not_genuine": "Catatan kartu tidak asli",
    "record_mismatch": "Catatan kartu tidak sesuai",
    "record_not_stored": "Catatan gagal disimpan",
    "refusal_contradicted": "Penolakan kartu keliru",
    "log_record_not_genuine": "Log kartu tidak asli",
    "unresolved_intent": "Transaksi perlu diaudit",
    "receipt_unsigned": "Struk tanpa tanda tangan terminal",
    "printer_error": "Printer bermasalah",
    "printer_offline": "Printer offline",
    "printer_paper_out": "Kertas habis",
    "printer_cover_open": "Penutup printer terbuka",
    "printer_unplugged": "Printer tidak terhubung",
}


@dataclass(frozen=True)
class EndOfDayReport:
    """The day's report. ``totals`` are net of voids; ``gross`` and ``voided`` (when given) say where
    the voided amounts went: gross = net + voided, per programme."""

    day: dt.date
    site: str
    terminal_id: str
    printed_at: dt.datetime  # timezone-aware
    totals: tuple[ProgramTotal, ...] = ()
    refusals: tuple[RefusalCount, ...] = ()
    clerk: str = ""
    voids: int = 0
    receipts_pending: int = 0
    gross: tuple[ProgramTotal, ...] = ()
    voided: tuple[ProgramTotal, ...] = ()
    void_lines: tuple[VoidLine, ...] = ()
    reprint_lines: tuple[ReprintLine, ...] = ()

    def __post_init__(self) -> None:
        if self.printed_at.tzinfo is None:
            raise ValueError("printed_at must be timezone-aware")

    @property
    def refusal_total(self) -> int:
        return sum(r.count for r in self.refusals)


def _program_totals(
    per_program: Mapping[int, tuple[int, int]], units: Mapping[int, int]
) -> tuple[ProgramTotal, ...]:
    return tuple(
        ProgramTotal(p, units.get(p, 0), n, amount) for p, (n, amount) in sorted(per_program.items())
    )


def build_report(
    *,
    day: dt.date,
    site: str,
    terminal_id: str,
    printed_at: dt.datetime,
    per_program: Mapping[int, tuple[int, int]],
    refusals: Mapping[str, int],
    units: Mapping[int, int] | None = None,
    clerk: str = "",
    voids: int = 0,
    receipts_pending: int = 0,
    gross: Mapping[int, tuple[int, int]] | None = None,
    voided: Mapping[int, tuple[int, int]] | None = None,
    void_lines: Iterable[VoidLine] = (),
    reprint_lines: Iterable[ReprintLine] = (),
) -> EndOfDayReport:
    """A report from the ledger's day totals (``per_program``: program → (count, amount) net of voids,
    as in ``terminal.ledger.DayTotals``); ``units`` defaults to each program's standard unit."""
    units = units if units is not None else {int(p): int(u) for p, u in DEFAULT_UNIT.items()}
    return EndOfDayReport(
        day=day,
        site=site,
        terminal_id=terminal_id,
        printed_at=printed_at,
        totals=_program_totals(per_program, units),
        refusals=tuple(
            RefusalCount(reason, n) for reason, n in sorted(refusals.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
        clerk=clerk,
        voids=voids,
        receipts_pending=receipts_pending,
        gross=_program_totals(gross or {}, units),
        voided=_program_totals(voided or {}, units),
        void_lines=tuple(void_lines),
        reprint_lines=tuple(reprint_lines),
    )


# --- layout ---------------------------------------------------------------------------------------


class Align(enum.StrEnum):
    LEFT = "left"
    CENTER = "center"


@dataclass(frozen=True)
class TextLine:
    """One printed line, at most the paper's width; ``tall``: double height (same width)."""

    text: str
    align: Align = Align.LEFT
    bold: bool = False
    tall: bool = False


@dataclass(frozen=True)
class QrCode:
    data: bytes  # printed in the QR byte mode


Block = TextLine | QrCode


@dataclass(frozen=True)
class Layout:
    """A laid-out document: blocks in print order, for one paper width."""

    width: int
    blocks: tuple[Block, ...] = field(default_factory=tuple)

    def plain_lines(self) -> list[str]:
        """The document as plain text lines, centred with spaces; a QR code shows as ``[QR]``."""
        out: list[str] = []
        for block in self.blocks:
            if isinstance(block, QrCode):
                out.append("[QR]".center(self.width).rstrip())
            elif block.align is Align.CENTER:
                out.append(block.text.center(self.width).rstrip())
            else:
                out.append(block.text)
        return out

    @property
    def qr_codes(self) -> list[bytes]:
        return [b.data for b in self.blocks if isinstance(b, QrCode)]


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False) or [""]


class _Builder:
    def __init__(self, width: int) -> None:
        if width < 24:
            raise ValueError("paper narrower than 24 characters")
        self.width = width
        self.blocks: list[Block] = []

    def line(self, text: str, *, align: Align = Align.LEFT, bold: bool = False, tall: bool = False) -> None:
        for part in _wrap(text, self.width):
            self.blocks.append(TextLine(part.strip() if align is Align.CENTER else part, align, bold, tall))

    def center(self, text: str, *, bold: bool = False, tall: bool = False) -> None:
        self.line(text, align=Align.CENTER, bold=bold, tall=tall)

    def field(self, label: str, value: str, *, bold: bool = False, tall: bool = False) -> None:
        self.line(f"{label}: {value}", bold=bold, tall=tall)

    def fields(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Short fields share a line when they fit (``Terminal: X  Petugas: Y``)."""
        texts = [f"{label}: {value}" for label, value in pairs]
        joined = "  ".join(texts)
        if len(joined) <= self.width:
            self.line(joined)
        else:
            for text in texts:
                self.line(text)

    def blank(self) -> None:
        self.blocks.append(TextLine(""))

    def qr(self, data: bytes) -> None:
        self.blocks.append(QrCode(data))

    def build(self) -> Layout:
        return Layout(self.width, tuple(self.blocks))


def _header(b: _Builder, title: str) -> None:
    b.center(HEADER_GOVERNMENT)
    b.center(HEADER_CARD)
    b.center(title, bold=True)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "~"


def layout_receipt(receipt: RedemptionReceipt, width: int = PaperWidth.MM80) -> Layout:
    """Lay a redemption receipt (or, for a voided transaction, its void slip) out for a paper width
    (characters per line). Pure. Labels are few and short: the whole receipt, QR included, stays
    within 1 KB of ESC/POS (``benchmarks.receipt``)."""
    if receipt.void is not None:
        return _layout_void_slip(receipt, receipt.void, int(width))
    b = _Builder(int(width))
    _header(b, "BUKTI LAYANAN" if receipt.is_check_in else "BUKTI PENYALURAN")
    if receipt.reprint:
        b.center(_copy_mark(receipt), bold=True)
    b.line(_cut(receipt.site, SITE_MAX))
    b.line(f"{format_wib(receipt.time)} {receipt.terminal_id}")
    b.field("Petugas", _cut(receipt.clerk, CLERK_MAX))
    nik, name = f"NIK: {receipt.nik_masked}", f"Nama: {receipt.holder_name}"
    if len(nik) + 2 + len(name) <= b.width:
        b.line(f"{nik}  {name}")
    else:  # narrow paper or a long name: the name on its own line, without its label
        b.line(nik)
        b.line(receipt.holder_name)
    b.line(program_name(receipt.program))
    if receipt.is_check_in:
        b.line(CHECK_IN_TEXT, bold=True, tall=True)
    else:
        b.field("Jumlah", format_amount(receipt.unit, receipt.amount), bold=True, tall=True)
    if receipt.balance_after is not None:
        b.field("Sisa", format_amount(receipt.unit, receipt.balance_after))
    b.line(f"Trx ke-{receipt.tx_counter}, data {format_age(receipt.revocation_age)}")
    b.qr(receipt.qr_payload)
    b.line(f"Ref {receipt.reference} {GRIEVANCE}")
    return b.build()


def _layout_void_slip(receipt: RedemptionReceipt, void: VoidMark, width: int) -> Layout:
    """The void slip (also every copy of a voided entry): DIBATALKAN at the top and the bottom, what was
    voided (reference, programme, amount, transaction time), why, by whom and when; the QR carries the
    terminal's signed void, which verifiers report as voided."""
    b = _Builder(width)
    b.center(HEADER_GOVERNMENT)
    b.center(HEADER_CARD)
    b.center(VOID_MARK, bold=True, tall=True)
    if receipt.reprint:
        b.center(_copy_mark(receipt), bold=True)
    b.line(f"Ref {receipt.reference} {receipt.terminal_id}")
    b.field("Trx", format_wib(receipt.time))
    b.line(program_name(receipt.program))
    b.field("Jumlah", CHECK_IN_TEXT if receipt.is_check_in else format_amount(receipt.unit, receipt.amount))
    b.field("Alasan", _cut(void.reason, VOID_REASON_MAX))
    b.field("Batal", format_wib(void.time))
    b.field("Petugas", _cut(void.clerk, CLERK_MAX))
    b.qr(receipt.qr_payload)
    b.center(VOID_MARK, bold=True, tall=True)
    return b.build()


def _copy_mark(receipt: RedemptionReceipt) -> str:
    return f"SALINAN ke-{receipt.copy_no}" if receipt.copy_no else REPRINT_MARK


def _report_amount(total: ProgramTotal) -> str:
    try:
        kind: c.Kind | None = c.PROGRAM_KIND[c.Program(total.program)]
    except ValueError:
        kind = None
    if kind in (c.Kind.CASH, c.Kind.QUANTITY) or total.total:
        return f"{total.count} transaksi, {format_amount(total.unit, total.total)}"
    return f"{total.count} kunjungan"


def _short_amount(program: int, unit: int, amount: int) -> str:
    try:
        kind: c.Kind | None = c.PROGRAM_KIND[c.Program(program)]
    except ValueError:
        kind = None
    return format_amount(unit, amount) if kind in (c.Kind.CASH, c.Kind.QUANTITY) or amount else "kunjungan"


def layout_report(report: EndOfDayReport, width: int = PaperWidth.MM80) -> Layout:
    """Lay the end-of-day report out for a paper width. Pure."""
    b = _Builder(int(width))
    _header(b, "LAPORAN AKHIR HARI")
    b.field("Tanggal", report.day.strftime("%d-%m-%Y"))
    b.field("Lokasi", report.site)
    pairs = [("Terminal", report.terminal_id)]
    if report.clerk:
        pairs.append(("Petugas", report.clerk))
    b.fields(pairs)
    b.field("Dicetak", format_wib(report.printed_at))
    b.blank()
    b.line("PENYALURAN PER PROGRAM (BERSIH)", bold=True)
    if not report.totals:
        b.line("Tidak ada transaksi")
    for total in report.totals:
        b.line(program_name(total.program))
        b.line(f"  {_report_amount(total)}")
    if report.voided:
        b.blank()
        b.line("BRUTO / DIBATALKAN / BERSIH", bold=True)  # programmes with voids (others: bruto = bersih)
        voided = {t.program: t for t in report.voided}
        net = {t.program: t for t in report.totals}
        for gross in report.gross:
            v = voided.get(gross.program)
            if v is None:
                continue
            n = net.get(gross.program, ProgramTotal(gross.program, gross.unit, 0, 0))
            b.line(program_name(gross.program))
            b.line(f"  bruto {_report_amount(gross)}")
            b.line(f"  batal {_report_amount(v)}")
            b.line(f"  bersih {_report_amount(n)}")
    if report.void_lines or report.voids:
        b.blank()
        b.line(f"PEMBATALAN ({max(report.voids, len(report.void_lines))})", bold=True)
        for line in report.void_lines:
            b.line(f"ref {line.reference} {_short_amount(line.program, line.unit, line.amount)}")
            b.line(f"  {program_name(line.program)}")
            b.line(f"  {dt.datetime.fromtimestamp(line.at, WIB):%H:%M} {line.clerk}: {line.reason}")
    if report.reprint_lines:
        b.blank()
        b.line(f"CETAK ULANG ({len(report.reprint_lines)})", bold=True)
        for r in report.reprint_lines:
            mark = " DIBATALKAN" if r.voided else ""
            b.line(f"ref {r.reference} salinan ke-{r.copy_no}{mark}")
            b.line(f"  {dt.datetime.fromtimestamp(r.at, WIB):%H:%M} {r.clerk}")
    b.blank()
    b.line("PENOLAKAN", bold=True)
    for refusal in report.refusals:
        b.line(f"{REFUSAL_LABELS.get(refusal.reason, refusal.reason)}: {refusal.count}")
    b.field("Jumlah penolakan", str(report.refusal_total), bold=True)
    if report.receipts_pending:
        b.field("Struk belum tercetak", str(report.receipts_pending), bold=True)
    return b.build()


def render_receipt_lines(receipt: RedemptionReceipt, width: int = PaperWidth.MM80) -> list[str]:
    """The receipt as plain text lines for a paper width (what the layout prints, QR as ``[QR]``)."""
    return layout_receipt(receipt, width).plain_lines()


def render_report_lines(report: EndOfDayReport, width: int = PaperWidth.MM80) -> list[str]:
    return layout_report(report, width).plain_lines()


Document = RedemptionReceipt | EndOfDayReport


def layout_document(document: Document, width: int) -> Layout:
    if isinstance(document, RedemptionReceipt):
        return layout_receipt(document, width)
    return layout_report(document, width)


__all__ = [
    "HEADER_CARD",
    "HEADER_GOVERNMENT",
    "REFUSAL_LABELS",
    "STATUS_UNKNOWN",
    "WIB",
    "Align",
    "Block",
    "CoverOpen",
    "Document",
    "EndOfDayReport",
    "EntryReceiptSink",
    "Layout",
    "PaperLevel",
    "PaperOut",
    "PaperWidth",
    "PrinterError",
    "PrinterOffline",
    "PrinterStatus",
    "PrinterUnplugged",
    "ProgramTotal",
    "QrCode",
    "ReceiptPrinter",
    "RedemptionReceipt",
    "RefusalCount",
    "TextLine",
    "build_receipt",
    "build_report",
    "format_age",
    "format_terminal_id",
    "format_wib",
    "layout_document",
    "layout_receipt",
    "layout_report",
    "program_name",
    "receipt_from_entry",
    "render_receipt_lines",
    "render_report_lines",
]

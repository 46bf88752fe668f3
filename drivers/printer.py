"""ESC/POS receipt printers through python-escpos: the :class:`terminal.receipt.ReceiptPrinter` port.

Backends: serial (pyserial, ``escpos.printer.Serial``), network (raw TCP 9100, ``Network``), USB
(``Usb``; needs the ``[usb]`` extra) and file (``File``, e.g. ``/dev/usb/lp0``: one-way).

Rendering: a document is laid out by ``terminal.receipt`` and turned into bytes on an
``escpos.printer.Dummy`` with the model's capability profile, then sent in one write. So every backend
gets the same bytes (the golden files are these bytes) and nothing else interleaves with a receipt.

Pinned code page: **CP858** (CP850 + euro sign; ``ESC t 19`` on the Epson and Seiko profiles used here),
selected right after ``ESC @`` in every document. Receipt text is ASCII by construction; holder names are
encoded in CP858, anything CP858 lacks is folded to ASCII (``é`` stays, ``ğ`` → ``g``), else ``?``.
Control characters never reach the printer from text (no ESC/POS injection through a name).

QR: native (``GS ( k``: model 2, error correction M), centred with ``ESC a 1``; the payload is binary
(``province.receipt_qr``), stored as it is, so the printer encodes it in the byte mode.

Status (real-time ``DLE EOT n``): 1 = printer (bit 0x08 offline), 2 = offline cause (0x04 cover open,
0x20 stopped by paper end), 4 = paper sensor (0x0C near end, 0x60 out; 0x12 = paper OK). Two traps are
handled: a status query reads ONE byte with a short timeout (python-escpos's own ``query_status`` reads
16 bytes and on serial always waits the whole timeout), and NO answer means :class:`PrinterOffline` —
never "paper OK" (python-escpos's ``paper_status()`` returns 2 when nothing answers).

Faults: every hardware exception (``escpos.exceptions.*``, ``serial.SerialException``, ``OSError``
including socket and USB errors) is translated here, once, into the typed errors of
``terminal.receipt``:

==========================================================  =====================
``DeviceNotFoundError`` (cannot open: no device, refused)   PrinterUnplugged
``serial.SerialTimeoutException`` (write blocks)            PrinterOffline
``serial.SerialException``, ``ConnectionError``, ``OSError`` PrinterUnplugged
socket ``TimeoutError``                                     PrinterOffline
no answer to ``DLE EOT`` / offline bit                      PrinterOffline
cover-open bit / paper-out bits                             CoverOpen / PaperOut
other ``escpos.exceptions.Error``                           PrinterError
==========================================================  =====================

After a transport fault the connection is dropped and reopened by the next call (a replugged printer
works again without restarting the terminal).

Atomicity (see ``terminal.receipt``): ``print_receipt`` checks status, writes the whole document, then
checks status again (the answer can only come after the printer received every byte before it; the
timeout allows for the serial transmission time). It returns only when all of that succeeded; otherwise
it raises and the receipt stays pending in the ledger.
"""

from __future__ import annotations

import logging
import socket
import termios
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Protocol

import serial
from escpos import exceptions as escpos_errors
from escpos.capabilities import get_profile
from escpos.constants import QR_ECLEVEL_M
from escpos.escpos import Escpos
from escpos.printer import Dummy, File, Network, Serial, Usb

from terminal.config import PrinterKind, PrinterSpec, parse_printer_spec
from terminal.receipt import (
    STATUS_UNKNOWN,
    Align,
    Document,
    EndOfDayReport,
    Layout,
    PaperLevel,
    PaperWidth,
    PrinterError,
    PrinterOffline,
    PrinterStatus,
    PrinterUnplugged,
    QrCode,
    RedemptionReceipt,
    TextLine,
    layout_document,
)

log = logging.getLogger(__name__)

CODE_PAGE = "CP858"
_CODEC = "cp858"

DLE_EOT_PRINTER = b"\x10\x04\x01"
DLE_EOT_OFFLINE_CAUSE = b"\x10\x04\x02"
DLE_EOT_PAPER = b"\x10\x04\x04"
STATUS_OFFLINE_BIT = 0x08
CAUSE_COVER_OPEN = 0x04
CAUSE_PAPER_END_STOP = 0x20
PAPER_NEAR_END_BITS = 0x0C
PAPER_OUT_BITS = 0x60
#: Every DLE EOT answer has bits 1 and 4 set, bits 0 and 7 clear.
_FIXED_MASK, _FIXED_VALUE = 0x93, 0x12


@dataclass(frozen=True)
class PrinterModel:
    """A printer model: python-escpos capability profile, line width we lay out for, QR module size."""

    profile: str
    width: int
    qr_module: int = 4

    def check(self) -> None:
        profile = get_profile(self.profile)
        if profile.get_columns(0) < self.width:
            raise ValueError(f"{self.profile} prints {profile.get_columns(0)} columns, not {self.width}")
        if CODE_PAGE not in profile.get_code_pages():
            raise ValueError(f"{self.profile} has no {CODE_PAGE} code page")
        if not profile.supports("qrCode"):
            raise ValueError(f"{self.profile} has no native QR code")


#: 80 mm: Epson TM-T20II profile (576 dots, font A 48 columns, cutter, CP858 = table 19).
MODEL_80MM = PrinterModel("TM-T20II", PaperWidth.MM80, qr_module=5)
#: 58 mm: Seiko RP-F10 58 mm profile (font A 36 columns: the 32-column layout fits with margin; cutter).
MODEL_58MM = PrinterModel("RP-F10-58mm", PaperWidth.MM58, qr_module=4)
MODELS = {PaperWidth.MM80: MODEL_80MM, PaperWidth.MM58: MODEL_58MM}


# --- rendering ------------------------------------------------------------------------------------


def printable_text(text: str) -> str:
    """Text as the pinned code page can print it: no control characters, CP858 or folded ASCII."""
    out: list[str] = []
    for ch in text:
        if unicodedata.category(ch).startswith("C"):
            continue  # control, format, private use: never a printer command
        try:
            ch.encode(_CODEC)
        except UnicodeEncodeError:
            folded = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii")
            out.append("".join(f for f in folded if f.isprintable()) or "?")
        else:
            out.append(ch)
    return "".join(out)


class _Styler:
    """Emits alignment / bold / size commands only when they change."""

    def __init__(self, printer: Escpos) -> None:
        self.p = printer
        self.align = Align.LEFT
        self.bold = False
        self.tall = False

    def apply(self, align: Align, bold: bool = False, tall: bool = False) -> None:
        if align is not self.align:
            self.p.set(align=align.value)
            self.align = align
        if bold != self.bold:
            self.p.set(bold=bold)
            self.bold = bold
        if tall != self.tall:
            self.p.set(custom_size=True, width=1, height=2 if tall else 1)
            self.tall = tall


def _native_qr(p: Escpos, data: bytes, module: int) -> None:
    """``GS ( k``: model 2, module size, error correction M, store ``data`` as it is (the printer picks
    the byte mode for binary data; python-escpos's ``qr`` would UTF-8 encode a text), print."""

    def gs_k(fn: int, body: bytes) -> bytes:
        n = len(body) + 2
        return b"\x1d(k" + bytes([n & 0xFF, n >> 8, 0x31, fn]) + body

    p._raw(gs_k(65, bytes([0x32, 0])) + gs_k(67, bytes([module])) + gs_k(69, bytes([48 + QR_ECLEVEL_M])))
    p._raw(gs_k(80, b"0" + data) + gs_k(81, b"0"))


def render_layout(layout: Layout, model: PrinterModel) -> bytes:
    """ESC/POS bytes for a laid-out document: init, code page, lines, native QR, feed and cut."""
    p = Dummy(profile=model.profile)
    p.hw("INIT")
    p.charcode(CODE_PAGE)
    style = _Styler(p)
    for block in layout.blocks:
        if isinstance(block, QrCode):
            style.apply(Align.CENTER)
            _native_qr(p, block.data, model.qr_module)
        else:
            assert isinstance(block, TextLine)
            style.apply(block.align, block.bold, block.tall)
            p.text(printable_text(block.text) + "\n")
    style.apply(Align.LEFT)
    p.cut(mode="PART")
    return bytes(p.output)


def render_document(document: Document, model: PrinterModel = MODEL_80MM) -> bytes:
    """The exact bytes sent for a receipt or report on a model (deterministic: golden files)."""
    return render_layout(layout_document(document, model.width), model)


# --- links: how bytes and status bytes travel ----------------------------------------------------


class Link(Protocol):
    """A transport under python-escpos. ``query`` returns the 1-byte answer or None (no answer)."""

    readable: bool

    def write(self, data: bytes) -> None: ...

    def query(self, request: bytes, timeout: float) -> int | None: ...

    def transfer_time(self, n_bytes: int) -> float: ...

    def drop(self) -> None: ...


class QuietSerial(Serial):  # type: ignore[misc]  # python-escpos has no stubs: subclassing Any
    """python-escpos's Serial whose close() does not flush: its flush (tcdrain) raises or hangs when the
    printer is gone or stalled — and Escpos.__del__ calls close() at garbage collection."""

    def close(self) -> None:
        device: object = self.__dict__.get("_device", False)
        self._device = False
        if isinstance(device, serial.Serial):
            with suppress(Exception):
                device.close()


class SerialLink:
    """``escpos.printer.Serial`` with a write timeout and 1-byte status reads."""

    readable = True

    def __init__(self, printer: QuietSerial, write_timeout: float) -> None:
        self.printer = printer
        self.write_timeout = write_timeout

    def _device(self) -> serial.Serial:
        device = self.printer.device  # opens lazily; DeviceNotFoundError if it cannot
        if device is None:
            raise escpos_errors.DeviceNotFoundError(f"serial printer {self.printer.devfile} not open")
        assert isinstance(device, serial.Serial)
        return device

    def transfer_time(self, n_bytes: int) -> float:
        return n_bytes * 10 / int(self.printer.baudrate)

    def write(self, data: bytes) -> None:
        device = self._device()
        # pyserial's write timeout covers the whole call: allow for the wire time of the data.
        device.write_timeout = self.write_timeout + self.transfer_time(len(data))
        self.printer._raw(data)

    def query(self, request: bytes, timeout: float) -> int | None:
        device = self._device()
        device.reset_input_buffer()  # a late answer to an earlier query must not be read as this one
        device.write_timeout = self.write_timeout
        device.write(request)
        previous = device.timeout
        device.timeout = timeout
        try:
            answer = device.read(1)
        finally:
            device.timeout = previous
        return answer[0] if answer else None

    def drop(self) -> None:
        self.printer.close()  # no flush(): it would wait for a printer that is gone


class NetworkLink:
    """``escpos.printer.Network`` (raw TCP, port 9100) with 1-byte status reads."""

    readable = True

    def __init__(self, printer: Network) -> None:
        self.printer = printer
        self._tuned: socket.socket | None = None

    def _socket(self) -> socket.socket:
        sock = self.printer.device
        if sock is None:
            raise escpos_errors.DeviceNotFoundError(f"network printer {self.printer.host} not connected")
        assert isinstance(sock, socket.socket)
        if sock is not self._tuned:
            # Nagle would hold the 3-byte status query behind the receipt until the printer's delayed
            # ACK (~40 ms on Linux): send small writes at once.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._tuned = sock
        return sock

    def transfer_time(self, n_bytes: int) -> float:
        return 0.0

    def write(self, data: bytes) -> None:
        self._socket()
        self.printer._raw(data)

    def query(self, request: bytes, timeout: float) -> int | None:
        sock = self._socket()
        self._drain(sock)
        sock.sendall(request)
        previous = sock.gettimeout()
        sock.settimeout(timeout)
        try:
            answer = sock.recv(1)
        except TimeoutError:
            return None
        finally:
            sock.settimeout(previous)
        if not answer:
            raise ConnectionResetError("the printer closed the connection")
        return answer[0]

    @staticmethod
    def _drain(sock: socket.socket) -> None:
        previous = sock.gettimeout()
        sock.setblocking(False)
        try:
            while True:
                try:
                    chunk = sock.recv(64)
                except BlockingIOError:
                    return
                if not chunk:
                    raise ConnectionResetError("the printer closed the connection")
        finally:
            sock.settimeout(previous)

    def drop(self) -> None:
        with suppress(Exception):
            self.printer.close()
        self.printer._device = False


class QuietUsb(Usb):  # type: ignore[misc]  # python-escpos has no stubs: subclassing Any
    """python-escpos's Usb whose close() never raises (it raises RuntimeError without pyusb, also from
    Escpos.__del__ at garbage collection)."""

    def close(self) -> None:
        with suppress(Exception):
            super().close()


class UsbLink:
    """``escpos.printer.Usb``: status through the IN endpoint (python-escpos reads up to 16 bytes)."""

    readable = True

    def __init__(self, printer: QuietUsb) -> None:
        self.printer = printer

    def transfer_time(self, n_bytes: int) -> float:
        return 0.0

    def _usable(self) -> None:
        if not Usb.is_usable():
            raise escpos_errors.Error("USB printing needs pyusb: pip install 'python-escpos[usb]'")

    def write(self, data: bytes) -> None:
        self._usable()
        self.printer._raw(data)

    def query(self, request: bytes, timeout: float) -> int | None:
        self._usable()
        self.printer._raw(request)
        answer = self.printer._read()
        return int(answer[0]) if len(answer) else None

    def drop(self) -> None:
        with suppress(Exception):
            self.printer.close()


class FileLink:
    """``escpos.printer.File``: one-way, so status is unknown (reported as such, never as "OK")."""

    readable = False

    def __init__(self, printer: File) -> None:
        self.printer = printer

    def transfer_time(self, n_bytes: int) -> float:
        return 0.0

    def write(self, data: bytes) -> None:
        self.printer._raw(data)  # File flushes after every write (auto_flush)

    def query(self, request: bytes, timeout: float) -> int | None:
        raise NotImplementedError("a file printer cannot answer status queries")

    def drop(self) -> None:
        with suppress(Exception):
            self.printer.close()


# --- the printer ----------------------------------------------------------------------------------


@contextmanager
def translate_errors(link: Link, action: str) -> Iterator[None]:
    """Turn every hardware exception into a typed PrinterError (and drop the broken connection)."""
    try:
        yield
    except PrinterError:
        raise
    except escpos_errors.DeviceNotFoundError as exc:
        link.drop()
        raise PrinterUnplugged(f"{action}: {exc}") from exc
    except serial.SerialTimeoutException as exc:
        link.drop()
        raise PrinterOffline(f"{action}: the printer takes no data ({exc})") from exc
    except (serial.SerialException, termios.error) as exc:  # pyserial lets termios errors through
        link.drop()
        raise PrinterUnplugged(f"{action}: {exc}") from exc
    except TimeoutError as exc:
        link.drop()
        raise PrinterOffline(f"{action}: timed out ({exc})") from exc
    except OSError as exc:  # ConnectionError, EIO, ENOENT, usb.core.USBError, ...
        link.drop()
        raise PrinterUnplugged(f"{action}: {exc}") from exc
    except escpos_errors.Error as exc:
        link.drop()
        raise PrinterError(f"{action}: {exc}") from exc


def _paper_level(answer: int) -> PaperLevel:
    if answer & PAPER_OUT_BITS:
        return PaperLevel.OUT
    if answer & PAPER_NEAR_END_BITS:
        return PaperLevel.NEAR_END
    return PaperLevel.OK


class EscposPrinter:
    """A receipt printer (implements ``terminal.receipt.ReceiptPrinter``); thread-safe."""

    def __init__(self, link: Link, model: PrinterModel = MODEL_80MM, *, status_timeout: float = 0.5) -> None:
        model.check()
        self.link = link
        self.model = model
        self.status_timeout = status_timeout
        self._lock = threading.Lock()

    # -- status ---------------------------------------------------------------------------------
    def _ask(self, request: bytes, timeout: float) -> int:
        answer = self.link.query(request, timeout)
        if answer is None:
            raise PrinterOffline(f"no answer to DLE EOT {request[-1]} within {timeout:.2f} s")
        if answer & _FIXED_MASK != _FIXED_VALUE:
            raise PrinterOffline(f"unexpected status byte {answer:#04x} for DLE EOT {request[-1]}")
        return answer

    def _query_status(self, timeout: float) -> PrinterStatus:
        if not self.link.readable:
            return STATUS_UNKNOWN
        printer = self._ask(DLE_EOT_PRINTER, timeout)  # first: "no answer" must never read as paper OK
        paper = _paper_level(self._ask(DLE_EOT_PAPER, self.status_timeout))
        online = not printer & STATUS_OFFLINE_BIT
        cover_open = False
        if not online:
            cause = self._ask(DLE_EOT_OFFLINE_CAUSE, self.status_timeout)
            cover_open = bool(cause & CAUSE_COVER_OPEN)
            if cause & CAUSE_PAPER_END_STOP:
                paper = PaperLevel.OUT
        return PrinterStatus(online=online, paper=paper, cover_open=cover_open)

    def status(self) -> PrinterStatus:
        with self._lock, translate_errors(self.link, "status"):
            return self._query_status(self.status_timeout)

    # -- printing -------------------------------------------------------------------------------
    def print_bytes(self, data: bytes) -> PrinterStatus:
        """Send a rendered document atomically (status, write, status); returns the latest status."""
        with self._lock, translate_errors(self.link, "print"):
            before = self._query_status(self.status_timeout)
            fault = before.fault()
            if fault is not None:
                raise fault
            self.link.write(data)
            if not self.link.readable:
                return before
            after = self._query_status(self.status_timeout + self.link.transfer_time(len(data)))
            fault = after.fault()
            if fault is not None:
                raise fault
        if after.warning:
            log.warning("printer: %s", after.warning)
        return after

    def print_receipt(self, receipt: RedemptionReceipt) -> PrinterStatus:
        return self.print_bytes(render_document(receipt, self.model))

    def print_report(self, report: EndOfDayReport) -> PrinterStatus:
        return self.print_bytes(render_document(report, self.model))

    def close(self) -> None:
        with self._lock:
            self.link.drop()


# --- constructors ---------------------------------------------------------------------------------


def _model(paper: PaperWidth, model: PrinterModel | None) -> PrinterModel:
    return model or MODELS[paper]


def serial_printer(
    port: str,
    *,
    paper: PaperWidth = PaperWidth.MM80,
    model: PrinterModel | None = None,
    baudrate: int = 115200,
    write_timeout: float = 2.0,
    status_timeout: float = 0.5,
    dsrdtr: bool = True,
) -> EscposPrinter:
    """A serial printer (``/dev/ttyUSB0``, ``/dev/ttyS0``, a pty). Opens on first use."""
    m = _model(paper, model)
    printer = QuietSerial(
        devfile=port, baudrate=baudrate, timeout=status_timeout, dsrdtr=dsrdtr, profile=m.profile
    )
    return EscposPrinter(SerialLink(printer, write_timeout), m, status_timeout=status_timeout)


def network_printer(
    host: str,
    port: int = 9100,
    *,
    paper: PaperWidth = PaperWidth.MM80,
    model: PrinterModel | None = None,
    timeout: float = 5.0,
    status_timeout: float = 0.5,
) -> EscposPrinter:
    """A network printer on raw TCP (port 9100). Connects on first use."""
    m = _model(paper, model)
    printer = Network(host=host, port=port, timeout=timeout, profile=m.profile)
    return EscposPrinter(NetworkLink(printer), m, status_timeout=status_timeout)


def usb_printer(
    vendor_id: int,
    product_id: int,
    *,
    paper: PaperWidth = PaperWidth.MM80,
    model: PrinterModel | None = None,
    status_timeout: float = 0.5,
    **usb_args: Any,
) -> EscposPrinter:
    """A USB printer (needs pyusb: ``python-escpos[usb]``). Nothing is opened until first use."""
    m = _model(paper, model)
    printer = QuietUsb(idVendor=vendor_id, idProduct=product_id, profile=m.profile, **usb_args)
    return EscposPrinter(UsbLink(printer), m, status_timeout=status_timeout)


def file_printer(
    path: str, *, paper: PaperWidth = PaperWidth.MM80, model: PrinterModel | None = None
) -> EscposPrinter:
    """A one-way device or file (``/dev/usb/lp0``, a spool file): no status, prints blind."""
    m = _model(paper, model)
    return EscposPrinter(FileLink(File(devfile=path, profile=m.profile)), m)


class PrinterSpecError(ValueError):
    """A printer given on the command line in a form this driver does not know."""


def printer_from_spec(spec: str | PrinterSpec) -> EscposPrinter:
    """A printer from a short text, as given on the command line or in the terminal's config
    (``terminal.config.parse_printer_spec``: ``serial:/dev/ttyUSB0[:baud]`` · ``tcp:HOST[:PORT]`` ·
    ``usb:VID:PID`` (hex) · ``file:PATH``, ``@58`` for 58 mm paper)."""
    try:
        parsed = parse_printer_spec(spec) if isinstance(spec, str) else spec
        paper = PaperWidth.MM58 if parsed.paper_mm == 58 else PaperWidth.MM80
        if parsed.kind is PrinterKind.SERIAL:
            return serial_printer(parsed.target, paper=paper, baudrate=parsed.number or 115200)
        if parsed.kind is PrinterKind.TCP:
            return network_printer(parsed.target, parsed.number or 9100, paper=paper)
        if parsed.kind is PrinterKind.USB:
            return usb_printer(parsed.vendor or 0, parsed.product or 0, paper=paper)
        return file_printer(parsed.target, paper=paper)
    except ValueError as exc:
        raise PrinterSpecError(f"printer {exc}") from exc


__all__ = [
    "CODE_PAGE",
    "MODELS",
    "MODEL_58MM",
    "MODEL_80MM",
    "EscposPrinter",
    "FileLink",
    "Link",
    "NetworkLink",
    "PrinterModel",
    "PrinterSpecError",
    "QuietSerial",
    "QuietUsb",
    "SerialLink",
    "UsbLink",
    "file_printer",
    "network_printer",
    "printable_text",
    "printer_from_spec",
    "render_document",
    "render_layout",
    "serial_printer",
    "translate_errors",
    "usb_printer",
]

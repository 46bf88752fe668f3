"""What the app runs on: the terminal facade, the card readers, an optional printer, the clerk list.

No Qt here, no driver and no demo world: the composition root (``kartu.compose``) builds a
:class:`Backend` — the embedded demo, or real readers and printer — and hands it to ``kiosk_ui.app.run``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from terminal.app import KhbsTerminal
from terminal.audio import AudioOut, Silence, VoiceMode
from terminal.card.connection import ApduCard
from terminal.clerks import ClerkDirectory
from terminal.readers import CardReaders, DemoReaders
from terminal.receipt import (
    STATUS_UNKNOWN,
    EndOfDayReport,
    EntryReceiptSink,
    PaperLevel,
    PaperOut,
    PrinterError,
    PrinterStatus,
    ReceiptPrinter,
    RedemptionReceipt,
    render_receipt_lines,
    render_report_lines,
)
from terminal.syncloop import SyncLoop

log = logging.getLogger(__name__)


# -- a printer that writes receipts to a text file (demo) ----------------------------------------------


class TextFilePrinter:
    """``terminal.receipt.ReceiptPrinter`` writing the laid-out text to a file; faults can be simulated."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fault: PrinterError | None = None
        self.printed = 0
        self._lock = threading.Lock()

    def status(self) -> PrinterStatus:
        if isinstance(self.fault, PaperOut):
            return PrinterStatus(online=True, paper=PaperLevel.OUT)
        if self.fault is not None:
            raise self.fault
        return PrinterStatus(online=True, paper=PaperLevel.OK)

    def _write(self, lines: Sequence[str]) -> PrinterStatus:
        with self._lock:
            status = self.status()
            fault = status.fault()
            if fault is not None:
                raise fault
            with open(self.path, "a", encoding="utf-8") as out:
                out.write("\n".join(lines) + "\n" + "-" * 48 + "\n")
            self.printed += 1
            return status

    def print_receipt(self, receipt: RedemptionReceipt) -> PrinterStatus:
        return self._write(render_receipt_lines(receipt))

    def print_report(self, report: EndOfDayReport) -> PrinterStatus:
        return self._write(render_report_lines(report))


def printer_state(printer: ReceiptPrinter | None) -> tuple[str, str | None]:
    """("ok" | "warning" | "fault" | "none" | "unknown", fault or warning code). Talks to the printer:
    call it off the GUI thread."""
    if printer is None:
        return "none", None
    try:
        status = printer.status()
    except PrinterError as err:
        return "fault", err.code
    if status == STATUS_UNKNOWN or status.online is None:
        return "unknown", None
    fault = status.fault()
    if fault is not None:
        return "fault", fault.code
    if status.paper_near_end:
        return "warning", "near_end"
    return "ok", None


def end_of_day_report(backend: Backend, clerk: str = "") -> EndOfDayReport:
    """The printable end-of-day report (built by the facade)."""
    return backend.terminal.end_of_day_report()


# -- the backend ---------------------------------------------------------------------------------------


@dataclass
class DemoCard:
    """A card the demo panel can tap: label (Indonesian), the card object, its "torn" exceptions."""

    key: str
    label: str
    card: ApduCard
    torn: tuple[type[BaseException], ...] = ()


@dataclass
class Backend:
    terminal: KhbsTerminal
    readers: CardReaders
    clerks: ClerkDirectory = field(default_factory=ClerkDirectory)
    printer: ReceiptPrinter | None = None
    demo: DemoReaders | None = None
    demo_cards: list[DemoCard] = field(default_factory=list)
    #: Demo only: the clock the terminal runs on (the demo panel can move it forward).
    clock: DemoClock | None = None
    workdir: Path | None = None
    #: The background sync of an enrolled terminal (None in the demo: its data is made locally).
    sync: SyncLoop | None = None
    #: Where the kiosk's tones and speech go (``drivers.audio.EspeakAudio``), and when it speaks.
    audio: AudioOut = field(default_factory=Silence)
    voice: VoiceMode = VoiceMode.BUTTON

    def card(self, key: str) -> DemoCard:
        return next(d for d in self.demo_cards if d.key == key)

    def use_printer(self, printer: ReceiptPrinter) -> None:
        """Print receipts on this printer from now on (a real one chosen on the command line)."""
        self.printer = printer
        names = {clerk.clerk_id: clerk.name for clerk in self.clerks.clerks()}
        self.terminal.redemption.receipts = EntryReceiptSink(printer, names)


DEMO_CLERKS = (("rina", "Rina Marlina", "1234"), ("agus", "Agus Salim", "5678"))


class DemoClock:
    """Wall-clock time (or a fixed moment) plus an offset the demo panel can move forward, e.g. to
    show what happens when the terminal has not synced for days."""

    def __init__(self, fixed: float | None = None) -> None:
        self.fixed = fixed
        self.offset = 0.0

    def __call__(self) -> float:
        return (self.fixed if self.fixed is not None else time.time()) + self.offset

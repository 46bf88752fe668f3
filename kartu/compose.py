"""The composition root for the kiosk and counter app: it builds the parts and hands them to ``kiosk_ui``.

``kiosk_ui`` adapts and renders a :class:`kiosk_ui.backend.Backend`; it imports no driver, no reference
card and no demo world. This module is where those are chosen:

- :func:`demo_backend` — the embedded demo world (``terminal.demo``): demo keys, a signed trust list and
  revocation data made locally, demo cards as in-process reference cards behind demo readers, receipts to
  a text file;
- :func:`pcsc_readers` and :func:`receipt_printer` — the real readers (PC/SC through pcscd) and a real
  ESC/POS printer, from ``drivers``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from card_applet_spec.reference_card import CardTorn
from kiosk_ui.backend import DEMO_CLERKS, Backend, ClerkDirectory, DemoCard, DemoClock, TextFilePrinter
from terminal.config import PrinterSpec
from terminal.readers import CardReaders, DemoReaders
from terminal.receipt import EntryReceiptSink, ReceiptPrinter


class NotKhbsCard:
    """Some other chip card (a bank or e-money card) for the demo panel: it has no KHBS application."""

    atr = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")

    def transmit(self, apdu: bytes) -> bytes:
        return b"\x6a\x82"  # file (application) not found

    def reset(self) -> None:
        return None


def demo_backend(
    *, workdir: Path | None = None, now: float | None = None, with_printer: bool = True
) -> Backend:
    """The embedded demo world in in-process demo readers, receipts to a text file; cards are issued on a
    thread (the first screen shows meanwhile; a demo card tapped before its file exists waits for it)."""
    from terminal.demo import DEMO_CARDS, DemoWorld

    workdir = workdir or Path(tempfile.mkdtemp(prefix="khbs-kiosk-"))
    clock = DemoClock(now)
    world = DemoWorld(workdir, clock=clock)
    world.provision(cards_in_background=True)
    printer = TextFilePrinter(world.receipts_dir / "receipts.txt") if with_printer else None
    sink = EntryReceiptSink(printer, {cid: name for cid, name, _pin in DEMO_CLERKS}) if printer else None
    clerks = ClerkDirectory()
    for clerk_id, name, pin in DEMO_CLERKS:
        clerks.add(clerk_id, name, pin)
    cards = [DemoCard(d.name, d.label, world.card(d.name), (CardTorn,)) for d in DEMO_CARDS]
    cards.append(DemoCard("other", "Kartu lain (bukan KHBS)", NotKhbsCard()))
    demo = DemoReaders()
    return Backend(
        terminal=world.terminal(sink, clerk_id="kiosk"),
        readers=demo,
        clerks=clerks,
        printer=printer,
        demo=demo,
        demo_cards=cards,
        clock=clock,
        workdir=workdir,
    )


def pcsc_readers() -> CardReaders:
    """Every PC/SC reader through pcscd, supervised (hot-plug, pcscd restarts)."""
    from drivers.reader_supervisor import ReaderSupervisor

    return ReaderSupervisor()


def receipt_printer(spec: str | PrinterSpec) -> ReceiptPrinter:
    """A python-escpos printer from its spec. Raises ``drivers.printer.PrinterSpecError`` (a ValueError)."""
    from drivers.printer import printer_from_spec

    return printer_from_spec(spec)


def kiosk_backend(args: argparse.Namespace) -> Backend:
    """The backend the kiosk options ask for: the demo world, with real readers (``--pcsc``) and a real
    printer (``--printer``) swapped in. Raises ValueError (PrinterSpecError) for a bad printer spec."""
    backend = demo_backend(workdir=args.data)
    if args.pcsc:
        backend.readers = pcsc_readers()
        backend.demo = None
    if args.printer:
        backend.use_printer(receipt_printer(args.printer))
    return backend


def run_kiosk(argv: Sequence[str], prog: str = "kartu kiosk") -> int:
    """Parse the app's options, build its parts, run it. Usage errors exit 64 with one line."""
    from kiosk_ui.app import parse_args, run

    try:
        args = parse_args(argv)
    except SystemExit as exc:  # argparse: --help exits 0, a usage error 2 (which kartu calls 64)
        return 64 if exc.code == 2 else int(exc.code or 0)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        backend = kiosk_backend(args)
    except ValueError as exc:  # PrinterSpecError: say it plainly, no traceback
        print(f"{prog}: {exc}", file=sys.stderr)
        return 64
    return run(backend, args)

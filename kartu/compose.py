"""The composition root for the kiosk and counter app: it builds the parts and hands them to ``kiosk_ui``.

``kiosk_ui`` adapts and renders a :class:`kiosk_ui.backend.Backend`; it imports no driver, no reference
card and no demo world. This module is where those are chosen:

- :func:`demo_backend` — the embedded demo world (``terminal.demo``): demo keys, a signed trust list and
  revocation data made locally, demo cards as in-process reference cards behind demo readers, receipts to
  a text file;
- :func:`pcsc_readers` and :func:`receipt_printer` — the real readers (PC/SC through pcscd) and a real
  ESC/POS printer, from ``drivers``;
- :func:`speaker` — the kiosk's tones and speech (espeak-ng and the system's WAV player, ``drivers.audio``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from card_applet_spec.reference_card import CardTorn
from kiosk_ui.backend import DEMO_CLERKS, Backend, DemoCard, DemoClock, TextFilePrinter
from terminal.audio import AudioOut, Silence, VoiceMode
from terminal.clerks import ClerkDirectory
from terminal.config import Mode, PrinterSpec, TerminalConfig
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
    clerks = ClerkDirectory(iterations=20_000)  # demo PINs are printed in the README anyway
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


def speaker(voice: VoiceMode | str) -> AudioOut:
    """The kiosk's sound: espeak-ng and a WAV player, or silence for ``voice = "off"``."""
    if VoiceMode(voice) is VoiceMode.OFF:
        return Silence()
    from drivers.audio import EspeakAudio

    return EspeakAudio()


def use_voice(backend: Backend, voice: VoiceMode | str) -> None:
    backend.voice = VoiceMode(voice)
    backend.audio = speaker(voice)


def kiosk_backend(args: argparse.Namespace) -> Backend:
    """The backend the kiosk options ask for: the demo world, with real readers (``--pcsc``) and a real
    printer (``--printer``) swapped in. Raises ValueError (PrinterSpecError) for a bad printer spec."""
    backend = demo_backend(workdir=args.data)
    if args.pcsc:
        backend.readers = pcsc_readers()
        backend.demo = None
    if args.printer:
        backend.use_printer(receipt_printer(args.printer))
    use_voice(backend, args.voice)
    return backend


def production_backend(config: TerminalConfig) -> Backend:
    """The enrolled terminal of ``config``: its readers (PC/SC), its printer, its clerks, its own keys and
    data, and its background sync (which also runs right after every redemption or void)."""
    from terminal.clerks import load_clerks
    from terminal.station import open_station

    printer = receipt_printer(config.printer) if config.printer is not None else None
    clerks = load_clerks(config.data_dir)
    names = {clerk.clerk_id: clerk.name for clerk in clerks.clerks()}
    sink = EntryReceiptSink(printer, names) if printer is not None else None
    station = open_station(config, receipts=sink, clerk_id="kiosk" if config.mode is Mode.KIOSK else "")
    loop = station.sync_loop()
    station.terminal.on_recorded = loop.sync_now
    return Backend(
        terminal=station.terminal,
        readers=pcsc_readers(),
        clerks=clerks,
        printer=printer,
        workdir=config.data_dir,
        sync=loop,
    )


def run_kiosk(argv: Sequence[str], prog: str = "kartu kiosk", config_path: Path | None = None) -> int:
    """Parse the app's options, build its parts (the enrolled terminal of ``config_path``, else the demo),
    run it. Usage errors exit 64 with one line; a terminal that cannot start says why and exits 3."""
    from kiosk_ui.app import parse_args, run
    from terminal.config import load_config

    try:
        args = parse_args(argv)  # --help and usage errors first: they need no config
    except SystemExit as exc:  # argparse: --help exits 0, a usage error 2 (which kartu calls 64)
        return 64 if exc.code == 2 else int(exc.code or 0)
    config = None
    if config_path is not None:
        try:
            config = load_config(config_path)
        except ValueError as exc:  # ConfigError
            print(f"{prog}: {exc}", file=sys.stderr)
            return 3
        if args.demo:
            print(f"{prog}: --demo is the demo world; an enrolled terminal uses its readers", file=sys.stderr)
            return 64
        # the config's mode and language, unless the command line says otherwise (the last one wins)
        args = parse_args(
            [
                *("--pcsc", "--mode", config.mode.value, "--lang", config.language.value),
                *("--voice", config.voice.value, *argv),
            ]
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if config is not None:
        from terminal.clerks import ClerkFileError
        from terminal.station import StationError
        from terminal.truststore import TrustAnchorError

        try:
            backend = production_backend(config)
            use_voice(backend, args.voice)
        except (StationError, ClerkFileError, TrustAnchorError, ValueError) as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return 3
        return run(backend, args)
    try:
        backend = kiosk_backend(args)
    except ValueError as exc:  # PrinterSpecError: say it plainly, no traceback
        print(f"{prog}: {exc}", file=sys.stderr)
        return 64
    return run(backend, args)

"""Choosing a real printer by a short text (``kartu kiosk --printer tcp:10.0.0.5``): each form reaches
the printer it names, through the emulators; an unknown form is a clear, typed error."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.printer import PrinterSpecError, printer_from_spec
from terminal.receipt import PaperWidth
from tests.printer_emulator import SerialPrinterEmulator, TcpPrinterEmulator
from tests.support import receipts as fx


def test_tcp_and_serial_specs_print_to_their_printer(tmp_path: Path) -> None:
    with TcpPrinterEmulator() as tcp:
        printer = printer_from_spec(f"tcp:{tcp.host}:{tcp.port}")
        printer.print_receipt(fx.receipt())
        printer.close()
        assert tcp.wait_for_cuts(1)
        assert "Kartu Huma Betang Sejahtera" in tcp.log.text
    with SerialPrinterEmulator(tmp_path) as serial:
        printer = printer_from_spec(f"serial:{serial.port}:115200@58")
        assert printer.model.width == PaperWidth.MM58
        printer.print_receipt(fx.receipt())
        printer.close()
        assert serial.wait_for_cuts(1)


def test_file_spec_writes_escpos(tmp_path: Path) -> None:
    out = tmp_path / "spool.bin"
    printer = printer_from_spec(f"file:{out}")
    printer.print_receipt(fx.receipt())
    printer.close()
    data = out.read_bytes()
    assert data.startswith(b"\x1b@") and b"Kartu Huma Betang Sejahtera" in data


@pytest.mark.parametrize("spec", ["lpt:1", "tcp:", "serial", "usb:xyz:1", "file:/tmp/x@72", "tcp:host:port"])
def test_unknown_specs_are_typed_errors(spec: str) -> None:
    with pytest.raises(PrinterSpecError):
        printer_from_spec(spec)

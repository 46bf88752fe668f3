"""Receipt size and print time: every receipt kind with its native QR code, worst cases included.

    python -m benchmarks.receipt [--runs 20]

Sizes: the realistic 80 mm receipt, and the worst cases on 58 and 80 mm paper — the longest holder name
the credential admits (48 bytes), the longest programme name, site and clerk at their printed caps,
10-digit counter, 8-digit amounts, copy number 99 — as a receipt, a check-in, a copy, a void slip and a
copy of a voided entry. Target: every one ≤ 1024 bytes of ESC/POS.

Renders the receipt through the driver (python-escpos Dummy and File backends: same bytes), counts the
bytes, computes the serial wire time (bytes × 10 bits / baud) at 9600 and 115200 baud, then really prints
it through the printer emulator on a socat pty pair opened at 115200 baud (and over loopback TCP) and
times ``print_receipt`` (status check, write, status check) until the emulator has decoded the cut.
A pty does not throttle to the baud rate, so the measured time is the software path only; the computed
times are what a real serial printer adds. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import qrcode
from escpos.constants import QR_ECLEVEL_M
from escpos.printer import Dummy

from drivers.printer import (
    MODEL_58MM,
    MODEL_80MM,
    EscposPrinter,
    file_printer,
    network_printer,
    render_document,
)
from drivers.printer import serial_printer as open_serial_printer
from province.receipt_qr import QR_PREFIX_BYTES, qr_text, verify_qr_payload
from terminal.receipt import RedemptionReceipt
from tests.printer_emulator import PrinterEmulator, SerialPrinterEmulator, TcpPrinterEmulator
from tests.support import receipts as fx

BAUD_SLOW = 9600
BAUD_FAST = 115200
BUDGET = 1024


def worst_cases() -> dict[str, RedemptionReceipt]:
    return {
        "receipt": fx.longest_receipt(),
        "check_in": fx.longest_receipt(check_in=True),
        "copy": fx.longest_receipt(reprint=True),
        "void_slip": fx.longest_receipt(void=True),
        "void_copy": fx.longest_receipt(void=True, reprint=True),
    }


def wire_seconds(n_bytes: int, baud: int) -> float:
    """8N1: 10 bits per byte on the wire."""
    return n_bytes * 10 / baud


def _time_prints(emu: PrinterEmulator, printer: EscposPrinter, runs: int) -> list[float]:
    receipt = fx.receipt()
    times = []
    for i in range(runs):
        started = time.perf_counter()
        printer.print_receipt(receipt)
        if not emu.wait_for_cuts(i + 1, timeout=10):
            raise RuntimeError("the emulator did not receive the whole receipt")
        times.append(time.perf_counter() - started)
    for doc in emu.log.finished:
        verify_qr_payload(doc.qr_codes[0], fx.IssuerWindows.of(), fx.FIXED_TIME)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)

    receipt = fx.receipt()
    data = render_document(receipt, MODEL_80MM)
    with tempfile.TemporaryDirectory() as tmp:
        spool = Path(tmp) / "spool.bin"
        printer = file_printer(str(spool))
        printer.print_receipt(receipt)
        printer.close()
        assert spool.read_bytes() == data, "File backend and Dummy rendering differ"

        qr_bytes = len(receipt.qr_payload)
        cbor_bytes = qr_bytes - len(QR_PREFIX_BYTES)
        text_chars = len(qr_text(receipt.qr_payload))
        qr_overhead = len(data) - data.count(receipt.qr_payload) * qr_bytes
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
        code.add_data(receipt.qr_payload)
        code.make(fit=True)
        raster = Dummy(profile=MODEL_80MM.profile)
        raster.qr(receipt.qr_payload, ec=QR_ECLEVEL_M, size=MODEL_80MM.qr_module, native=False)

        emu = SerialPrinterEmulator(Path(tmp))  # not ``as``: PrinterEmulator.__enter__ loses the subclass
        with emu:
            serial = open_serial_printer(emu.port, baudrate=BAUD_FAST)
            serial_times = _time_prints(emu, serial, args.runs)
            serial.close()
        tcp = TcpPrinterEmulator()
        with tcp:
            network = network_printer(tcp.host, tcp.port)
            tcp_times = _time_prints(tcp, network, args.runs)
            network.close()

    receipt_bytes = len(data)
    sizes = {
        f"{name}_{paper}": len(render_document(doc, model))
        for name, doc in worst_cases().items()
        for paper, model in (("58mm", MODEL_58MM), ("80mm", MODEL_80MM))
    }
    worst = max(sizes.values())
    print("Redemption receipt, 80 mm (TM-T20II profile, CP858, native QR in byte mode):")
    print(f"  receipt_bytes        {receipt_bytes} (budget {BUDGET})")
    print(f"  text + commands      {qr_overhead} bytes")
    print(
        f"  QR payload           {qr_bytes} bytes (KHBS2: + {cbor_bytes} CBOR bytes;"
        f" as text {text_chars} chars)"
    )
    print(
        f"  QR symbol            version {code.version}, {code.modules_count} modules, EC level M, "
        f"byte mode; {code.modules_count * MODEL_80MM.qr_module} dots wide"
    )
    print(f"  same QR as raster    {len(raster.output)} bytes (what native=True avoids)")
    print(f"  58 mm receipt        {len(render_document(receipt, MODEL_58MM))} bytes")
    print(f"  copy (SALINAN ke-2)  {len(render_document(receipt.as_reprint(2), MODEL_80MM))} bytes")
    print(f"  end-of-day report    {len(render_document(fx.end_of_day_report(), MODEL_80MM))} bytes")
    print("Worst cases (longest names, programme, amounts; 58 / 80 mm):")
    for name in worst_cases():
        print(f"  {name:<20} {sizes[name + '_58mm']:>5} / {sizes[name + '_80mm']:>5} bytes")
    print("Serial wire time (10 bits per byte):")
    print(
        f"  print_s_9600         {wire_seconds(receipt_bytes, BAUD_SLOW):.3f} s"
        f" (worst {wire_seconds(worst, BAUD_SLOW):.3f} s)"
    )
    print(f"  print_s_115200       {wire_seconds(receipt_bytes, BAUD_FAST):.4f} s")
    print(f"Measured print_receipt incl. 2 status checks ({args.runs} runs, median / max):")
    print(
        f"  socat pty @115200    {statistics.median(serial_times) * 1000:.2f} ms / "
        f"{max(serial_times) * 1000:.2f} ms (a pty does not throttle to the baud rate)"
    )
    tcp_median, tcp_max = statistics.median(tcp_times) * 1000, max(tcp_times) * 1000
    print(f"  loopback TCP         {tcp_median:.2f} ms / {tcp_max:.2f} ms")
    result = {
        "receipt_bytes": receipt_bytes,
        "max_bytes": worst,
        "max_case": max(sizes, key=lambda k: sizes[k]),
        "budget": BUDGET,
        "targets_met": worst <= BUDGET,
        "print_s_9600": round(wire_seconds(receipt_bytes, BAUD_SLOW), 4),
        "print_s_9600_worst": round(wire_seconds(worst, BAUD_SLOW), 4),
        "print_s_115200": round(wire_seconds(receipt_bytes, BAUD_FAST), 4),
        "measured_s_pty_115200": round(statistics.median(serial_times), 5),
        "qr_bytes": qr_bytes,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

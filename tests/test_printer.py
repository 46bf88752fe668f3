"""The ESC/POS driver end to end against the printer emulator (socat pty pair and loopback TCP)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from escpos.printer import Serial

from drivers.printer import (
    MODEL_58MM,
    MODEL_80MM,
    EscposPrinter,
    PrinterModel,
    file_printer,
    network_printer,
    printable_text,
    render_document,
    serial_printer,
    translate_errors,
    usb_printer,
)
from province.receipt_qr import verify_qr_payload
from terminal.receipt import (
    STATUS_UNKNOWN,
    CoverOpen,
    PaperLevel,
    PaperOut,
    PaperWidth,
    PrinterError,
    PrinterOffline,
    PrinterUnplugged,
)
from tests.printer_emulator import (
    Mode,
    PrinterEmulator,
    SerialPrinterEmulator,
    TcpPrinterEmulator,
    closed_port,
)
from tests.support import receipts as fx

STATUS_TIMEOUT = 0.25


@pytest.fixture
def serial_emu(tmp_path: Path) -> Iterator[SerialPrinterEmulator]:
    with SerialPrinterEmulator(tmp_path) as emu:
        yield emu


@pytest.fixture
def tcp_emu() -> Iterator[TcpPrinterEmulator]:
    with TcpPrinterEmulator() as emu:
        yield emu


def _serial(emu: SerialPrinterEmulator, **kw: object) -> EscposPrinter:
    return serial_printer(emu.port, status_timeout=STATUS_TIMEOUT, **kw)  # type: ignore[arg-type]


def _network(emu: TcpPrinterEmulator, **kw: object) -> EscposPrinter:
    return network_printer(emu.host, emu.port, timeout=2.0, status_timeout=STATUS_TIMEOUT, **kw)  # type: ignore[arg-type]


@pytest.fixture(params=["serial", "tcp"])
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[PrinterEmulator, EscposPrinter]]:
    """A printer and its emulator, over serial and over TCP."""
    if request.param == "serial":
        with SerialPrinterEmulator(tmp_path) as emu:
            printer = _serial(emu)
            yield emu, printer
            printer.close()
    else:
        with TcpPrinterEmulator() as tcp:
            printer = _network(tcp)
            yield tcp, printer
            printer.close()


# --- printing ---------------------------------------------------------------------------------------


def test_receipt_prints_and_its_qr_verifies(rig: tuple[PrinterEmulator, EscposPrinter]) -> None:
    emu, printer = rig
    receipt = fx.receipt()
    status = printer.print_receipt(receipt)
    assert status.online and status.paper is PaperLevel.OK
    assert emu.wait_for_cuts(1)
    (doc,) = emu.log.finished
    (qr,) = doc.qr_codes
    verified = verify_qr_payload(qr, fx.issuer_lookup())
    assert verified.record.amount == 300_000 and verified.reference == receipt.reference
    text = doc.text
    assert "NIK: 6271********0001" in text
    assert fx.FULL_NIK not in text
    assert "Jumlah: Rp 300.000" in text and "Trx ke-7, data 3 jam" in text
    assert f"Ref {receipt.reference}" in text
    assert doc.cut == "partial" and emu.log.code_pages == [19]
    header, title = doc.lines[0], doc.lines[2]
    assert (header.text, header.align, header.bold) == ("PEMPROV KALTENG", "center", False)
    assert (title.text, title.align, title.bold) == ("BUKTI PENYALURAN", "center", True)
    amount = next(line for line in doc.lines if line.text.startswith("Jumlah"))
    assert amount.bold and amount.height == 2 and amount.width == 1
    assert emu.log.qr_stored == [qr]
    assert not emu.log.unknown
    # exactly the rendered bytes arrived: status queries aside, nothing added or lost
    assert emu.log.data_bytes == len(render_document(receipt, MODEL_80MM))
    assert emu.log.status_queries == [1, 4, 1, 4]  # before and after


def test_same_bytes_through_every_backend(serial_emu: SerialPrinterEmulator, tmp_path: Path) -> None:
    receipt = fx.receipt()
    expected = render_document(receipt, MODEL_80MM)
    spool = tmp_path / "spool.bin"
    printer = file_printer(str(spool))
    assert printer.print_receipt(receipt) == STATUS_UNKNOWN  # one-way: unknown, never "paper OK"
    printer.close()
    assert spool.read_bytes() == expected
    _serial(serial_emu).print_receipt(receipt)
    assert serial_emu.wait_for_cuts(1)
    assert serial_emu.log.data_bytes == len(expected)


def test_58mm_lines_fit(tcp_emu: TcpPrinterEmulator) -> None:
    printer = _network(tcp_emu, paper=PaperWidth.MM58)
    assert printer.model == MODEL_58MM
    printer.print_receipt(fx.receipt())
    assert tcp_emu.wait_for_cuts(1)
    (doc,) = tcp_emu.log.finished
    assert all(len(line.text) <= 32 for line in doc.lines)
    assert verify_qr_payload(doc.qr_codes[0], fx.issuer_lookup())


def test_end_of_day_report_prints(serial_emu: SerialPrinterEmulator) -> None:
    _serial(serial_emu).print_report(fx.end_of_day_report())
    assert serial_emu.wait_for_cuts(1)
    (doc,) = serial_emu.log.finished
    assert "LAPORAN AKHIR HARI" in doc.text and "Jumlah penolakan: 8" in doc.text
    assert doc.qr_codes == []


def test_two_receipts_two_documents(rig: tuple[PrinterEmulator, EscposPrinter]) -> None:
    emu, printer = rig
    printer.print_receipt(fx.receipt())
    printer.print_receipt(fx.receipt(reprint=True))
    assert emu.wait_for_cuts(2)
    first, second = emu.log.finished
    assert "SALINAN / COPY" not in first.text and "SALINAN / COPY" in second.text
    assert first.qr_codes == second.qr_codes


def test_holder_name_cannot_inject_printer_commands(serial_emu: SerialPrinterEmulator) -> None:
    card = fx.make_card(name="BUDI\x1dV\x00\x1b@X")  # a cut and a reset hidden in a name
    _serial(serial_emu).print_receipt(fx.receipt(card))
    assert serial_emu.wait_for_cuts(1)
    assert len(serial_emu.log.cuts) == 1
    assert [e for e in serial_emu.log.events if e[0] == "init"] == [("init", None)]
    assert "Nama: BUDIV@X" in serial_emu.log.finished[0].text


def test_accented_names_use_the_pinned_code_page(serial_emu: SerialPrinterEmulator) -> None:
    card = fx.make_card(name="JOSÉ ĞÜNAY")
    _serial(serial_emu).print_receipt(fx.receipt(card))
    assert serial_emu.wait_for_cuts(1)
    assert "Nama: JOSÉ GÜNAY" in serial_emu.log.finished[0].text  # É, Ü in CP858; Ğ folded to G
    assert printable_text("Ξ€\x07") == "?€"


# --- status and faults ------------------------------------------------------------------------------


def test_status_ready_and_near_end(rig: tuple[PrinterEmulator, EscposPrinter]) -> None:
    emu, printer = rig
    assert printer.status().paper is PaperLevel.OK
    emu.set_mode(Mode.NEAR_END)
    status = printer.status()
    assert status.online and status.paper_near_end and status.warning


def test_near_end_prints_but_warns(
    rig: tuple[PrinterEmulator, EscposPrinter], caplog: pytest.LogCaptureFixture
) -> None:
    emu, printer = rig
    emu.set_mode(Mode.NEAR_END)
    status = printer.print_receipt(fx.receipt())
    assert status.paper_near_end and status.warning == "Kertas printer hampir habis"
    assert emu.wait_for_cuts(1)
    assert "hampir habis" in caplog.text


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        (Mode.PAPER_OUT, PaperOut),
        (Mode.COVER_OPEN, CoverOpen),
        (Mode.OFFLINE, PrinterOffline),
        (Mode.SILENT, PrinterOffline),
    ],
)
def test_faults_refuse_to_print(
    rig: tuple[PrinterEmulator, EscposPrinter], mode: Mode, error: type[PrinterError]
) -> None:
    emu, printer = rig
    emu.set_mode(mode)
    if mode is Mode.SILENT:
        with pytest.raises(error):
            printer.status()  # no answer: no status at all
    else:
        assert isinstance(printer.status().fault(), error)
    with pytest.raises(error):
        printer.print_receipt(fx.receipt())
    assert emu.log.data_bytes == 0  # nothing was sent to a printer that cannot print
    emu.set_mode(Mode.READY)  # fixed: the same printer object prints again
    printer.print_receipt(fx.receipt())
    assert emu.wait_for_cuts(1)


def test_silent_printer_is_offline_quickly_never_paper_ok(serial_emu: SerialPrinterEmulator) -> None:
    serial_emu.set_mode(Mode.SILENT)
    printer = _serial(serial_emu)
    started = time.perf_counter()
    with pytest.raises(PrinterOffline, match="no answer"):
        printer.status()
    assert time.perf_counter() - started < STATUS_TIMEOUT + 0.2  # one 1-byte read, one timeout


def test_python_escpos_status_traps_that_the_driver_avoids(serial_emu: SerialPrinterEmulator) -> None:
    """Documented traps: its paper_status() says "plenty of paper" when nothing answers."""
    serial_emu.set_mode(Mode.SILENT)
    raw = Serial(devfile=serial_emu.port, baudrate=115200, timeout=0.1, profile=MODEL_80MM.profile)
    try:
        assert raw.paper_status() == 2
        assert raw.is_online() is False
    finally:
        raw.close()


def test_paper_runs_out_during_print(serial_emu: SerialPrinterEmulator) -> None:
    """The status after the write is checked too: a receipt cut short by paper end is not "printed"."""
    printer = _serial(serial_emu)
    original = serial_emu._answer
    queries = 0

    def run_out_after_first_check(n: int) -> int | None:
        nonlocal queries
        queries += 1
        if queries > 2:
            serial_emu.mode = Mode.PAPER_OUT
        return original(n)

    serial_emu._decoder.answer = run_out_after_first_check
    with pytest.raises(PaperOut):
        printer.print_receipt(fx.receipt())


# --- unplugged ----------------------------------------------------------------------------------------


def test_unplugged_mid_print(rig: tuple[PrinterEmulator, EscposPrinter]) -> None:
    emu, printer = rig
    emu.unplug_after(300)
    with pytest.raises(PrinterUnplugged):
        printer.print_receipt(fx.receipt())
    assert emu.unplugged and emu.log.cuts == []
    with pytest.raises(PrinterUnplugged):
        printer.status()  # the link was dropped; reopening finds nothing


def test_unplugged_while_idle(rig: tuple[PrinterEmulator, EscposPrinter]) -> None:
    emu, printer = rig
    assert printer.status().online
    emu.unplug()
    with pytest.raises(PrinterUnplugged):
        printer.print_receipt(fx.receipt())


def test_replugged_serial_printer_works_again(tmp_path: Path) -> None:
    with SerialPrinterEmulator(tmp_path) as emu:
        printer = _serial(emu)
        printer.print_receipt(fx.receipt())
        emu.unplug()
        with pytest.raises(PrinterUnplugged):
            printer.status()
    with SerialPrinterEmulator(tmp_path) as again:  # same device path
        assert again.port == emu.port
        printer.print_receipt(fx.receipt())
        assert again.wait_for_cuts(1)


def test_missing_serial_device(tmp_path: Path) -> None:
    printer = serial_printer(str(tmp_path / "ttyUSB9"), status_timeout=STATUS_TIMEOUT)
    with pytest.raises(PrinterUnplugged):
        printer.status()
    with pytest.raises(PrinterUnplugged):
        printer.print_receipt(fx.receipt())


def test_network_printer_not_listening() -> None:
    printer = network_printer("127.0.0.1", closed_port(), timeout=1.0, status_timeout=STATUS_TIMEOUT)
    with pytest.raises(PrinterUnplugged):
        printer.print_receipt(fx.receipt())


def test_serial_write_times_out_when_nobody_reads(serial_emu: SerialPrinterEmulator) -> None:
    """Writes block once the pty buffers fill; the write timeout turns that into PrinterOffline."""
    printer = serial_printer(
        serial_emu.port, baudrate=4_000_000, write_timeout=0.3, status_timeout=STATUS_TIMEOUT
    )
    assert printer.status().online
    serial_emu.paused.set()
    started = time.perf_counter()
    with pytest.raises(PrinterOffline, match="takes no data"), translate_errors(printer.link, "print"):
        printer.link.write(b"x" * 200_000)
    assert time.perf_counter() - started < 3.0


# --- other backends ---------------------------------------------------------------------------------


def test_file_printer_missing_directory(tmp_path: Path) -> None:
    printer = file_printer(str(tmp_path / "no" / "such" / "lp0"))
    assert printer.status() == STATUS_UNKNOWN
    with pytest.raises(PrinterUnplugged):
        printer.print_receipt(fx.receipt())


def test_usb_printer_constructs_without_hardware() -> None:
    printer = usb_printer(0x04B8, 0x0E15)  # Epson TM-T20II ids; nothing is opened here
    assert printer.model == MODEL_80MM
    with pytest.raises(PrinterError):  # no pyusb or no device: a typed error, never a raw exception
        printer.status()


def test_models_are_checked_against_python_escpos_profiles() -> None:
    for model in (MODEL_80MM, MODEL_58MM):
        model.check()
    with pytest.raises(ValueError, match="columns"):
        PrinterModel("TM-T88V", 48).check()  # 512 dots: font A prints 42 columns
    with pytest.raises(ValueError, match="QR"):
        PrinterModel("POS-5890", 32).check()


def test_network_status_query_is_not_held_by_nagle(tcp_emu: TcpPrinterEmulator) -> None:
    """Without TCP_NODELAY the 3-byte query after the receipt waits for a delayed ACK (~40 ms)."""
    printer = _network(tcp_emu)
    receipt = fx.receipt()
    times = []
    for i in range(5):
        started = time.perf_counter()
        printer.print_receipt(receipt)
        times.append(time.perf_counter() - started)
        assert tcp_emu.wait_for_cuts(i + 1)
    assert sorted(times)[2] < 0.025

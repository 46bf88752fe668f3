"""Golden ESC/POS bytes: the receipts and the report rendered from fixed keys and a fixed time.

Compare byte for byte. To regenerate after an intended change, either

    KHBS_UPDATE_GOLDEN=1 .venv/bin/pytest tests/test_printer_golden.py
    .venv/bin/python -m tests.test_printer_golden

then review ``git diff --stat tests/golden`` and the decoded text (``tests.printer_emulator``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.printer import MODEL_58MM, MODEL_80MM, render_document
from province.receipt_qr import QrFailure, QrPayloadError, verify_qr_payload
from tests.printer_emulator import EscPosDecoder, PrintLog
from tests.support import receipts as fx

GOLDEN = Path(__file__).parent / "golden"

CASES: dict[str, Callable[[], bytes]] = {
    "receipt_80mm.bin": lambda: render_document(fx.receipt(), MODEL_80MM),
    "receipt_58mm.bin": lambda: render_document(fx.receipt(), MODEL_58MM),
    "receipt_reprint.bin": lambda: render_document(fx.receipt(reprint=True, copy_no=2), MODEL_80MM),
    "void_slip_80mm.bin": lambda: render_document(fx.receipt(void=fx.void_mark()), MODEL_80MM),
    "void_reprint_58mm.bin": lambda: render_document(
        fx.receipt(void=fx.void_mark(), reprint=True, copy_no=1), MODEL_58MM
    ),
    "longest_reprint_58mm.bin": lambda: render_document(fx.longest_receipt(reprint=True), MODEL_58MM),
    "end_of_day_80mm.bin": lambda: render_document(fx.end_of_day_report(), MODEL_80MM),
}
RECEIPTS = ("receipt_80mm.bin", "receipt_58mm.bin", "receipt_reprint.bin", "longest_reprint_58mm.bin")
VOIDS = ("void_slip_80mm.bin", "void_reprint_58mm.bin")


def write_golden() -> list[Path]:
    GOLDEN.mkdir(exist_ok=True)
    written = []
    for name, render in CASES.items():
        path = GOLDEN / name
        path.write_bytes(render())
        written.append(path)
    return written


def _decode(data: bytes) -> PrintLog:
    log = PrintLog()
    EscPosDecoder(log, lambda n: 0x12).feed(data)
    return log


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_bytes(name: str) -> None:
    data = CASES[name]()
    path = GOLDEN / name
    if os.environ.get("KHBS_UPDATE_GOLDEN") == "1":
        path.write_bytes(data)
    assert path.exists(), f"missing {path}: run KHBS_UPDATE_GOLDEN=1 pytest {__file__}"
    assert data == path.read_bytes(), f"{name} differs from the golden file (see module docstring)"


def test_rendering_is_deterministic() -> None:
    assert all(render() == render() for render in CASES.values())


def test_golden_receipts_decode_and_verify() -> None:
    for name in RECEIPTS:
        log = _decode((GOLDEN / name).read_bytes())
        (doc,) = log.finished
        (qr,) = doc.qr_codes
        verified = verify_qr_payload(qr, fx.IssuerWindows.of(), fx.FIXED_TIME)
        assert verified.reference in doc.text and verified.terminal is not None
        assert "NIK: 6271********0001" in doc.text and fx.FULL_NIK not in doc.text
        assert log.code_pages == [19] and doc.cut == "partial"
        assert ("SALINAN ke-" in doc.text) == ("reprint" in name)
        assert not log.unknown


def test_golden_void_slips_decode_and_say_voided() -> None:
    for name in VOIDS:
        log = _decode((GOLDEN / name).read_bytes())
        (doc,) = log.finished
        text = doc.text.replace("\n  ", " ")
        assert text.count("DIBATALKAN / VOID") == 2 and "Alasan: salah jumlah / wrong amount" in text
        with pytest.raises(QrPayloadError) as err:
            verify_qr_payload(doc.qr_codes[0], fx.IssuerWindows.of(), fx.FIXED_TIME)
        assert err.value.reason is QrFailure.VOIDED
        assert ("SALINAN ke-1" in doc.text) == ("reprint" in name) and not log.unknown


def test_golden_receipt_size_budget() -> None:
    """Every receipt and void slip with its native QR code stays within 1 KiB (serial time at 9600 baud
    ~1 s), the longest names included."""
    for name in (*RECEIPTS, *VOIDS):
        assert len((GOLDEN / name).read_bytes()) <= 1024, name


if __name__ == "__main__":
    for path in write_golden():
        print(f"wrote {path} ({path.stat().st_size} bytes)")

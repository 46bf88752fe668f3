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
from terminal.receipt_qr import verify_qr_payload
from tests.printer_emulator import EscPosDecoder, PrintLog
from tests.support import receipts as fx

GOLDEN = Path(__file__).parent / "golden"

CASES: dict[str, Callable[[], bytes]] = {
    "receipt_80mm.bin": lambda: render_document(fx.receipt(), MODEL_80MM),
    "receipt_58mm.bin": lambda: render_document(fx.receipt(), MODEL_58MM),
    "receipt_reprint.bin": lambda: render_document(fx.receipt(reprint=True), MODEL_80MM),
    "end_of_day_80mm.bin": lambda: render_document(fx.end_of_day_report(), MODEL_80MM),
}


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
    for name in ("receipt_80mm.bin", "receipt_58mm.bin", "receipt_reprint.bin"):
        log = _decode((GOLDEN / name).read_bytes())
        (doc,) = log.finished
        (qr,) = doc.qr_codes
        assert verify_qr_payload(qr, fx.issuer_lookup()).reference in doc.text.replace("\n  ", " ")
        assert "NIK: 6271********0001" in doc.text and fx.FULL_NIK not in doc.text
        assert log.code_pages == [19] and doc.cut == "partial"
        assert ("SALINAN / COPY" in doc.text) == (name == "receipt_reprint.bin")
        assert not log.unknown


def test_golden_receipt_size_budget() -> None:
    """A redemption receipt with its native QR code stays within 1 KiB (serial time at 9600 baud ~1 s)."""
    assert len((GOLDEN / "receipt_80mm.bin").read_bytes()) <= 1024
    assert len((GOLDEN / "receipt_58mm.bin").read_bytes()) <= 1024


if __name__ == "__main__":
    for path in write_golden():
        print(f"wrote {path} ({path.stat().st_size} bytes)")

"""The parts around the screens: translations, the refusal mapping, the entry point, screenshots, Qt fixes."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QLabel

from card_applet_spec.redaction import mask_nik
from kiosk_ui import i18n, presenting
from kiosk_ui.presenting import Refusal, refusal_for_error
from terminal.card.connection import CardRemovedError, ReaderUnavailableError
from terminal.card.errors import ApduError, InvalidPinError, MalformedResponseError, PinBlockedError
from terminal.failures import FailureReason
from terminal.redeem import DebitInterrupted, RedemptionRefused
from terminal.verify import Reason

ROOT = Path(__file__).resolve().parents[2]


def test_every_string_has_an_english_translation() -> None:
    tree = ET.parse(i18n.TS)
    messages = list(tree.getroot().iter("message"))
    assert len(messages) > 200
    unfinished = [m.findtext("source") for m in messages if m.find("translation").get("type") == "unfinished"]
    assert unfinished == []
    empty = [m.findtext("source") for m in messages if not (m.findtext("translation") or "").strip()]
    assert empty == []


def test_ts_covers_the_sources_and_qm_is_current(tmp_path: Path) -> None:
    """lupdate over today's sources adds nothing new, and lrelease gives the committed .qm byte for byte."""
    fresh = tmp_path / "khbs_en.ts"
    fresh.write_bytes(i18n.TS.read_bytes())
    i18n.lupdate(fresh)
    tree = ET.parse(fresh)
    unfinished = [
        m.findtext("source")
        for m in tree.getroot().iter("message")
        if m.find("translation").get("type") == "unfinished"
    ]
    assert unfinished == [], "new strings: run `python -m kiosk_ui.i18n` and translate them"
    qm = tmp_path / "khbs_en.qm"
    i18n.lrelease(i18n.TS, qm)
    assert qm.read_bytes() == i18n.QM.read_bytes(), "stale .qm: run `python -m kiosk_ui.i18n`"


def test_placeholders_survive_translation() -> None:
    import re

    for m in ET.parse(i18n.TS).getroot().iter("message"):
        source, translation = m.findtext("source") or "", m.findtext("translation") or ""
        assert set(re.findall(r"\{\w+\}", source)) == set(re.findall(r"\{\w+\}", translation)), source


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ReaderUnavailableError("no pcscd"), Refusal.READER_MISSING),
        (CardRemovedError("gone"), Refusal.CARD_LOST),
        (DebitInterrupted("r1"), Refusal.CARD_LOST),
        (PinBlockedError(), Refusal.PIN_BLOCKED),
        (InvalidPinError(0x63C0, 0), Refusal.PIN_BLOCKED),
        (RedemptionRefused(FailureReason.PIN_BLOCKED, "x", tries_left=0), Refusal.PIN_BLOCKED),
        (RedemptionRefused(Reason.REVOKED, "x"), Refusal.REVOKED_OR_BLOCKED),
        (RedemptionRefused(Reason.EXPIRED, "x"), Refusal.EXPIRED),
        (RedemptionRefused(Reason.NOT_GENUINE, "x"), Refusal.NOT_GENUINE),
        (RedemptionRefused(Reason.REVOCATION_DATA_STALE, "x"), Refusal.DATA_TOO_OLD),
        (
            MalformedResponseError("personal data on the card does not match its credential"),
            Refusal.NOT_GENUINE,
        ),
        (ApduError(0x6F00), Refusal.UNKNOWN_CARD),
        (RedemptionRefused(FailureReason.CARD_ERROR, "VERIFY: 6A80"), Refusal.SYSTEM_ERROR),
        (RuntimeError("boom"), Refusal.SYSTEM_ERROR),
        (KeyError("x"), Refusal.SYSTEM_ERROR),
    ],
)
def test_every_error_maps_to_a_plain_words_screen(exc: BaseException, kind: Refusal) -> None:
    assert refusal_for_error(exc).kind is kind


def test_every_reason_has_a_screen() -> None:
    for reason in Reason:
        assert reason in presenting._BY_REASON, reason


def test_a_refused_pin_reset_shows_the_card_s_refusal() -> None:
    from terminal.app import ResetNotAllowed
    from terminal.verify import Verdict

    refused = presenting.refusal_for_error(ResetNotAllowed(Reason.REVOKED, Verdict.INVALID))
    assert refused.kind is presenting.Refusal.REVOKED_OR_BLOCKED and refused.reason is Reason.REVOKED
    stale = presenting.refusal_for_error(ResetNotAllowed(Reason.REVOCATION_DATA_STALE, Verdict.UNKNOWN))
    assert stale.kind is presenting.Refusal.DATA_TOO_OLD


def test_masking_and_ages() -> None:
    assert mask_nik("6271034512870001") == "6271********0001"
    assert mask_nik("123") == "***"
    age = presenting.age_parts(8 * 86400 + 5 * 3600 + 120)
    assert (age.days, age.hours, age.minutes) == (8, 5, 2)


def test_clerk_directory() -> None:
    from terminal.clerks import ClerkDirectory

    clerks = ClerkDirectory()
    clerks.add("rina", "Rina", "1234")
    assert clerks.check("rina", "1234") is not None
    assert clerks.check("rina", "4321") is None
    assert clerks.check("nobody", "1234") is None


def test_pyside_reference_leaks_are_contained(app: QApplication) -> None:
    """On a PySide6 with the 6.12.0 bug the reserve is in place, and ten thousand calls change nothing."""
    from kiosk_ui import qtcompat

    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(10_000):
        label.setText("x")
    lost = before - sys.getrefcount(None)
    if qtcompat.VOID_DROPS_A_REFERENCE:
        assert qtcompat.RESERVED and sys.getrefcount(None) > qtcompat.RESERVE // 2
    else:
        assert lost < 100


def test_main_parses_the_lead_s_flags() -> None:
    from kiosk_ui.app import parse_args

    args = parse_args(["--pcsc", "--mode", "counter", "--lang", "en", "--fullscreen"])
    assert (args.pcsc, args.mode, args.lang, args.fullscreen) == (True, "counter", "en", True)
    args = parse_args([])
    assert (args.pcsc, args.mode, args.lang) == (False, "kiosk", "id")
    with pytest.raises(SystemExit):
        parse_args(["--mode", "bank"])


@pytest.mark.parametrize("mode", ["kiosk", "counter"])
def test_main_starts_and_paints(tmp_path: Path, mode: str) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kartu",
            "kiosk",
            "--mode",
            mode,
            "--data",
            str(tmp_path),
            "--first-paint-and-quit",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "FIRST_PAINT" in out.stdout


def test_demo_panel_drives_the_demo_readers(qtbot: Any, backend: Any) -> None:
    from kiosk_ui.demo_panel import DemoPanel
    from terminal.readers import SlotState

    panel = DemoPanel(backend)
    qtbot.addWidget(panel)
    panel.tap("siti")
    assert backend.demo.readers()[0].state is SlotState.CARD
    panel.remove()
    assert backend.demo.readers()[0].state is SlotState.EMPTY
    panel.set_unplugged(True)
    assert backend.demo.readers() == ()
    panel.set_unplugged(False)
    panel.set_stale(True)
    assert backend.clock.offset == 8 * 86_400
    panel.set_paper_out(True)
    assert backend.printer.fault is not None


def test_unknown_printer_spec_is_a_plain_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kartu.compose import run_kiosk

    assert run_kiosk(["--printer", "lpt:1", "--data-dir", str(tmp_path / "demo")]) == 64
    assert "lpt:1" in capsys.readouterr().err


def test_backend_prints_on_the_chosen_printer(tmp_path: Path) -> None:
    from drivers.printer import printer_from_spec
    from kartu.compose import demo_backend
    from terminal.receipt import EntryReceiptSink

    backend = demo_backend(workdir=tmp_path / "demo")
    printer = printer_from_spec(f"file:{tmp_path / 'spool.bin'}")
    backend.use_printer(printer)
    assert backend.printer is printer
    assert isinstance(backend.terminal.redemption.receipts, EntryReceiptSink)

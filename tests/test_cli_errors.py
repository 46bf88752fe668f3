"""``kartu read`` / ``kartu redeem`` against faulty and lying cards: one line, the README's exit codes
(0 VALID, 1 INVALID or refused, 2 UNKNOWN, 3 device or data problem, 64 usage), never a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from card_applet_spec import constants as c
from kartu import cli
from kartu.cli import EXIT_DEVICE, EXIT_INVALID, EXIT_OK, main
from terminal.card.session import KhbsSession
from terminal.demo import DEMO_PIN
from tests.support.relay import LOST, Relay, shift_time


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "demo"


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), *args])


def through(monkeypatch: pytest.MonkeyPatch, make: Callable[[Any], Any]) -> None:
    """Every card source becomes ``make(world)`` (a Connection to the demo card, faulty or relayed)."""
    monkeypatch.setattr(cli, "_session", lambda args, world: nullcontext(KhbsSession(make(world))))


def redeem(data_dir: Path, *extra: str) -> int:
    return run(data_dir, "redeem", "--demo-card", "siti", "--program", "1", "--amount", "100000", *extra)


def one_line_error(err: str) -> None:
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


class _Exploding:
    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        raise RuntimeError("driver bug\nsecond line")

    def close(self) -> None:
        return None


def test_unreadable_card_file_is_a_data_problem(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir.mkdir(parents=True)
    bad = data_dir / "bad.card"
    bad.write_text("garbage")
    assert run(data_dir, "read", "--card-file", str(bad)) == EXIT_DEVICE
    one_line_error(capsys.readouterr().err)


def test_unexpected_error_is_one_line_exit_3_and_logged_at_debug(
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    through(monkeypatch, lambda world: _Exploding())
    with caplog.at_level(logging.DEBUG, logger="kartu"):
        assert run(data_dir, "read") == EXIT_DEVICE
    err = capsys.readouterr().err
    one_line_error(err)
    assert "RuntimeError: driver bug second line" in err
    assert any(r.exc_info for r in caplog.records)  # the detail is in the debug log


@pytest.mark.parametrize(
    "ins", [c.INS_SELECT, c.INS_GET_DATA, c.INS_INTERNAL_AUTHENTICATE], ids=["select", "get-data", "auth"]
)
def test_card_pulled_during_read_is_a_device_problem(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, ins: int
) -> None:
    through(monkeypatch, lambda world: Relay(world.card("siti"), ins, answer=LOST))
    assert run(data_dir, "read") == EXIT_DEVICE
    one_line_error(capsys.readouterr().err)


def test_invalid_card_and_a_crash_do_not_share_an_exit_code(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(data_dir, "read", "--demo-card", "agus") == EXIT_INVALID
    assert run(data_dir, "read", "--demo-card", "siti") == EXIT_OK
    through(
        monkeypatch, lambda world: Relay(world.card("siti"), c.INS_INTERNAL_AUTHENTICATE, answer=b"\x6f\x00")
    )
    assert run(data_dir, "read") == EXIT_INVALID  # a card that refuses to authenticate is INVALID
    capsys.readouterr()


def test_answer_lost_after_a_committed_debit_settles_at_the_next_redeem(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    through(monkeypatch, lambda world: Relay(world.card("siti"), c.INS_DEBIT, answer=b"\x6a\x80"))
    assert redeem(data_dir, "--pin", DEMO_PIN, "--json") == EXIT_DEVICE
    out = json.loads(capsys.readouterr().out)
    assert (out["result"], out["reason"]) == ("interrupted", "debit_outcome_unknown")
    monkeypatch.undo()
    assert redeem(data_dir, "--pin", DEMO_PIN, "--json") == EXIT_INVALID  # settled, not debited again
    out = json.loads(capsys.readouterr().out)
    assert (out["result"], out["reason"]) == ("refused", "previous_redemption_settled")
    assert run(data_dir, "ledger", "--json") == EXIT_OK
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["state"], r["amount"], r["receipt"]) for r in rows] == [("committed", 100_000, "printed")]


def test_relay_shifting_the_time_gets_no_receipt(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    through(
        monkeypatch, lambda world: Relay(world.card("siti"), c.INS_DEBIT, rewrite_command=shift_time(-600))
    )
    assert redeem(data_dir, "--pin", DEMO_PIN, "--json") == EXIT_INVALID
    out = json.loads(capsys.readouterr().out)
    assert (out["result"], out["reason"]) == ("not_trusted", "record_mismatch")
    receipts = data_dir / "receipts"
    assert not receipts.exists() or not any(receipts.iterdir())
    assert run(data_dir, "ledger", "--failures", "--json") == EXIT_OK
    reasons = [r["reason"] for r in json.loads(capsys.readouterr().out)["rows"]]
    assert reasons == ["record_mismatch"]


def test_wrong_answer_to_verify_is_refused_not_a_traceback(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    through(monkeypatch, lambda world: Relay(world.card("siti"), c.INS_VERIFY, answer=b"\x6a\x80"))
    assert redeem(data_dir, "--pin", DEMO_PIN, "--json") == EXIT_INVALID
    out = json.loads(capsys.readouterr().out)
    assert (out["result"], out["reason"]) == ("refused", "card_error")

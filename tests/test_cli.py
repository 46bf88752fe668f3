"""The ``kartu`` command end to end on the demo world (in-process cards, SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kartu.cli import EXIT_INVALID, EXIT_OK, main


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "demo"


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), *args])


def test_headless_demo_reads_every_demo_card(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(data_dir, "demo", "--headless") == EXIT_OK
    out = capsys.readouterr().out
    assert out.count("Verdict: VALID") == 3
    for reason in ("revoked", "expired", "not_genuine"):
        assert f"INVALID ({reason}" in out
    assert "6271034512870001" not in out  # never the full NIK


@pytest.mark.parametrize(
    ("card", "code", "verdict"),
    [("siti", EXIT_OK, "valid"), ("agus", EXIT_INVALID, "invalid"), ("klon", EXIT_INVALID, "invalid")],
)
def test_read_json(
    data_dir: Path, capsys: pytest.CaptureFixture[str], card: str, code: int, verdict: str
) -> None:
    assert run(data_dir, "read", "--demo-card", card, "--json") == code
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == verdict
    assert len(doc["entitlements"]) in (0, 8)


def test_redeem_then_ledger(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            data_dir,
            "redeem",
            "--demo-card",
            "siti",
            "--program",
            "2",
            "--amount",
            "2,5",
            "--pin",
            "123456",
            "--json",
        )
        == EXIT_OK
    )
    done = json.loads(capsys.readouterr().out)
    assert (done["result"], done["amount"], done["balance_after"]) == ("committed", 2500, 7500)
    assert (
        run(
            data_dir,
            "redeem",
            "--demo-card",
            "siti",
            "--program",
            "1",
            "--amount",
            "100000",
            "--pin",
            "999999",
            "--json",
        )
        == EXIT_INVALID
    )
    refused = json.loads(capsys.readouterr().out)
    assert (refused["reason"], refused["tries_left"]) == ("wrong_pin", 2)
    assert run(data_dir, "ledger", "--json") == EXIT_OK
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["state"], r["amount"]) for r in rows] == [("committed", 2500)]
    assert run(data_dir, "ledger", "--failures", "--json") == EXIT_OK
    assert [r["reason"] for r in json.loads(capsys.readouterr().out)["rows"]] == ["wrong_pin"]


def test_unknown_when_revocation_data_is_old(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from terminal.demo import DemoWorld

    world = DemoWorld(data_dir, clock=lambda: 1_800_000_000 - 3 * 86_400)
    world.provision()  # data issued three days "ago"; cash needs <= 24 h
    world.clock = lambda: 1_800_000_000  # type: ignore[method-assign]
    terminal = world.terminal()
    from terminal.card.connection import InProcessConnection
    from terminal.card.session import KhbsSession

    result = terminal.tap(KhbsSession(InProcessConnection(world.card("siti"))), 1)
    assert result.verdict.value == "unknown"


def test_verify_receipt_offline(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from province.receipt_qr import encode_qr_payload
    from terminal.demo import DemoWorld

    assert (
        run(
            data_dir,
            "redeem",
            "--demo-card",
            "darto",
            "--program",
            "6",
            "--amount",
            "500000",
            "--pin",
            "123456",
        )
        == EXIT_OK
    )
    capsys.readouterr()
    entry = DemoWorld(data_dir).terminal().ledger.entries()[0]
    assert entry.record is not None and entry.signature is not None
    assert entry.attestation is not None  # the demo counter signs its receipts
    payload = encode_qr_payload(entry.credential, entry.record, entry.signature, entry.attestation)
    assert run(data_dir, "verify-receipt", payload, "--json") == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    assert (doc["valid"], doc["amount"], doc["nik_masked"]) == (True, 500_000, "6211********0004")
    tampered = payload[:-8] + ("A" if payload[-8] != "A" else "B") + payload[-7:]
    assert run(data_dir, "verify-receipt", tampered, "--json") == EXIT_INVALID
    assert json.loads(capsys.readouterr().out)["valid"] is False

"""``kartu issue``: the issuance station command, single and batch (with progress), on the server's
SQLite database and reference-card files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from card_applet_spec import constants as c
from card_applet_spec.credential import decode_credential
from card_applet_spec.reference_card import FileStore, ReferenceCard
from kartu.cli import EXIT_INVALID, EXIT_OK, main
from server_stub.app import create_app
from server_stub.settings import Settings

ADMIN = {"Authorization": "Bearer cli-admin"}
CITIZENS = ["6271014708900002", "6203021505800002", "6210015708920003"]


@pytest.fixture
def server_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "server"
    monkeypatch.setenv("KHBS_ADMIN_TOKEN", "cli-admin")
    monkeypatch.setenv("KHBS_DEMO", "1")  # the station signs with the demo server's demo keys
    app = create_app(Settings(data_dir=data, admin_token="cli-admin"))
    with TestClient(app) as client:
        for i, nik in enumerate(CITIZENS):
            kk = f"{nik[:4]}01010120{i:04d}"
            household = {"kk_number": kk, "address": "Jl. Tjilik Riwut", "welfare_decile": 2}
            assert client.post("/v1/admin/households", headers=ADMIN, json=household).status_code == 201
            citizen = {"nik": nik, "name": f"Warga {i}", "kk_number": kk, "occupation": "farmer"}
            assert client.post("/v1/admin/citizens", headers=ADMIN, json=citizen).status_code == 201
    return data


def test_issue_one_card(server_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cards = tmp_path / "cards"
    args = ["issue", "--card-dir", str(cards), "--nik", CITIZENS[0], "--pin", "123456", "--json"]
    assert main([*args, "--server-data-dir", str(server_dir)]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    card = ReferenceCard(FileStore(cards / f"{CITIZENS[0]}.card"))
    assert card.state.life_cycle == c.LifeCycle.OPERATIONAL
    assert decode_credential(card.state.credential).claims.card_serial.hex() == out["serial"]
    # a second first card for the same citizen is refused with a clear code
    assert main([*args, "--server-data-dir", str(server_dir)]) == EXIT_INVALID
    assert json.loads(capsys.readouterr().out)["code"] == "already_has_card"


def test_batch_with_progress(server_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "batch.csv"
    batch.write_text(
        "# nik,pin\n" + "".join(f"{n},1234{i}6\n" for i, n in enumerate(CITIZENS)) + "6271010101900001,1111\n"
    )
    code = main(
        [
            "issue",
            "--card-dir",
            str(tmp_path / "cards"),
            "--batch",
            str(batch),
            "--json",
            "--server-data-dir",
            str(server_dir),
        ]
    )
    captured = capsys.readouterr()
    assert code == EXIT_INVALID  # the unregistered NIK fails; the batch goes on
    out = json.loads(captured.out)
    assert len(out["issued"]) == 3 and len(out["failed"]) == 1
    assert "4/4" in captured.err and "[" + "#" * 30 + "]" in captured.err

"""``kartu import-citizens``: all or nothing from the command line, exit codes and the refused rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kartu.cli import EXIT_INVALID, EXIT_OK, main

HEADER = "nik,kk_number,name,birth_date,sex,address,welfare_decile,occupation"
GOOD = "6271011205800001,6271010101200001,Budi Utomo,1980-05-12,L,Jl. Kahayan No. 1,3,farmer"
BAD_SEX = "6271014708900002,6271010101200001,Sari Dewi,1990-08-07,L,Jl. Kahayan No. 1,3,housewife"


def run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *rows: str, dry: bool = False
) -> tuple[int, dict[str, Any]]:
    extract = tmp_path / "extract.csv"
    extract.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    argv = ["import-citizens", str(extract), "--server-data-dir", str(tmp_path / "server"), "--json"]
    code = main([*argv, "--dry-run"] if dry else argv)
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_import_citizens_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KHBS_DATABASE_URL", raising=False)
    code, out = run(tmp_path, capsys, GOOD, BAD_SEX)
    assert code == EXIT_INVALID and not out["committed"] and out["imported"] == 0
    assert out["rejected"] == [{"line": 3, "reason": "sex", "detail": "the NIK is a woman's (day + 40)"}]
    code, out = run(tmp_path, capsys, GOOD, dry=True)
    assert (code, out["committed"], out["dry_run"], out["rejected_total"]) == (EXIT_OK, False, True, 0)
    code, out = run(tmp_path, capsys, GOOD)
    assert (code, out["committed"], out["imported"], out["households"]) == (EXIT_OK, True, 1, 1)
    code, out = run(tmp_path, capsys, GOOD)  # again: already registered, nothing written
    assert code == EXIT_INVALID and out["rejected"][0]["reason"] == "already_registered"

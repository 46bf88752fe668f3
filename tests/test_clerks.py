"""The counter's clerks: salted PIN hashes, the clerks file (0600, strict), and what a login gets."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from terminal.clerks import CLERKS_FILE, ClerkDirectory, ClerkFileError, load_clerks, save_clerks


def test_logins_and_the_file_round_trip(tmp_path: Path) -> None:
    clerks = ClerkDirectory()
    clerks.add("rina", "Rina Marlina", "1234")
    clerks.add("agus", "Agus Salim", "56789")
    assert clerks.check("rina", "1234") is not None and clerks.check(" rina ", "1234") is not None
    assert clerks.check("rina", "4321") is None and clerks.check("nobody", "1234") is None
    save_clerks(tmp_path, clerks)
    assert stat.S_IMODE((tmp_path / CLERKS_FILE).stat().st_mode) == 0o600
    again = load_clerks(tmp_path)
    assert [c.clerk_id for c in again.clerks()] == ["agus", "rina"]
    assert again.check("agus", "56789") is not None and again.check("agus", "5678") is None
    raw = (tmp_path / CLERKS_FILE).read_text()
    assert "1234" not in raw and "56789" not in raw  # only salted hashes
    salts = {e["salt"] for e in json.loads(raw)["clerks"].values()}
    assert len(salts) == 2  # one random salt per clerk
    assert again.remove("agus") and not again.remove("agus")


def test_no_file_is_an_empty_counter(tmp_path: Path) -> None:
    assert load_clerks(tmp_path).clerks() == []


@pytest.mark.parametrize(
    ("clerk_id", "name", "pin"),
    [
        ("r", "Rina", "1234"),
        ("Rina!", "Rina", "1234"),
        ("rina", " ", "1234"),
        ("rina", "Rina", "12"),
        ("rina", "Rina", "12ab"),
        ("rina", "Rina\n", "1234"),
    ],
)
def test_bad_clerks_are_refused(clerk_id: str, name: str, pin: str) -> None:
    with pytest.raises(ValueError):
        ClerkDirectory().add(clerk_id, name, pin)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"[]",
        b'{"version": 2, "clerks": {}}',
        b'{"version": 1, "clerks": {"X Y": {}}}',
        b'{"version": 1, "clerks": {"rina": {"name": "R", "salt": "AA==", "hash": "AA==", '
        b'"iterations": 200000}}}',
        b'{"version": 1, "clerks": {"rina": {"name": "R", "salt": "AAAAAAAAAAAAAAAAAAAAAA==", '
        b'"hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "iterations": 1}}}',
        b"\xff\xfe",
    ],
)
def test_a_damaged_or_planted_file_is_a_typed_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / CLERKS_FILE
    path.write_bytes(raw)
    os.chmod(path, 0o600)
    with pytest.raises(ClerkFileError):
        load_clerks(tmp_path)


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    save_clerks(tmp_path, ClerkDirectory())
    os.chmod(tmp_path / CLERKS_FILE, 0o644)
    with pytest.raises(ClerkFileError, match="readable by others"):
        load_clerks(tmp_path)

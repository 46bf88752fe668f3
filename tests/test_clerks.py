"""The counter's clerks: salted PIN hashes, the clerks file (0600, strict), and what a login gets."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from terminal.clerks import (
    ATTEMPTS_FILE,
    CLERKS_FILE,
    ClerkDirectory,
    ClerkFileError,
    LoginStatus,
    load_clerks,
    save_clerks,
)


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


# -- wrong PINs: waits, lockout, kept across restarts, fail closed ------------------------------------------


def _directory(tmp_path: Path, now: list[float]) -> ClerkDirectory:
    clerks = ClerkDirectory(iterations=100_000)  # the least a clerks file may hold
    clerks.add("rina", "Rina Marlina", "1234")
    save_clerks(tmp_path, clerks)
    return load_clerks(tmp_path, clock=lambda: now[0])


def test_wrong_clerk_pins_cost_a_growing_wait_then_a_lockout(tmp_path: Path) -> None:
    now = [1000.0]
    clerks = _directory(tmp_path, now)
    policy = clerks.policy
    seen = []
    for _ in range(policy.lock_after):
        result = clerks.login("rina", "0000")
        seen.append((result.status, result.retry_in_s))
        if result.retry_in_s:  # too soon: the right PIN is not even checked, nor counted
            assert clerks.login("rina", "1234").status in (LoginStatus.WAIT, LoginStatus.LOCKED)
        now[0] += result.retry_in_s
    assert seen == [
        (LoginStatus.WRONG, 0.0),
        (LoginStatus.WRONG, 0.0),
        (LoginStatus.WRONG, policy.first_wait_s),
        (LoginStatus.WRONG, 2 * policy.first_wait_s),
        (LoginStatus.LOCKED, policy.lockout_s),
    ]


def test_lockout_survives_a_restart_and_ends_with_the_right_pin(tmp_path: Path) -> None:
    now = [1000.0]
    clerks = _directory(tmp_path, now)
    for _ in range(clerks.policy.lock_after):
        now[0] += 60
        result = clerks.login("rina", "0000")
    assert result.status is LoginStatus.LOCKED and result.locked_now
    again = load_clerks(tmp_path, clock=lambda: now[0])  # a restart
    locked = again.login("rina", "1234")
    assert locked.status is LoginStatus.LOCKED and locked.clerk is None and not locked.locked_now
    now[0] -= 3600  # a clock set back never shortens it
    assert again.login("rina", "1234").status is LoginStatus.LOCKED
    now[0] += 3600 + again.policy.lockout_s
    assert again.login("rina", "1234").status is LoginStatus.OK
    assert again.login("rina", "0000").status is LoginStatus.WRONG  # counted from zero again


def test_unknown_ids_share_one_count(tmp_path: Path) -> None:
    now = [1000.0]
    clerks = _directory(tmp_path, now)
    for i in range(clerks.policy.free_tries + 1):
        clerks.login(f"nobody{i}", "0000")
    assert clerks.login("someone", "0000").status is LoginStatus.WAIT
    assert clerks.login("rina", "1234").status is LoginStatus.OK  # a known clerk is not held up


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"version": 1, "attempts": {"rina": {"failures": -1, "last": 0}}}',
        b'{"version": 1, "attempts": {"rina": {"failures": 1, "last": "NaN"}}}',
        b'{"version": 1, "attempts": {"../x": {"failures": 1, "last": 0}}}',
        b'{"version": 2, "attempts": {}}',
    ],
)
def test_a_damaged_attempts_file_refuses_every_login(tmp_path: Path, content: bytes) -> None:
    now = [1000.0]
    clerks = _directory(tmp_path, now)
    path = tmp_path / ATTEMPTS_FILE
    path.write_bytes(content)
    path.chmod(0o600)
    assert clerks.login("rina", "1234").status is LoginStatus.GUARD_FAILED
    path.chmod(0o644)  # readable by others: not trusted either
    path.write_bytes(b'{"version": 1, "attempts": {}}')
    assert clerks.login("rina", "1234").status is LoginStatus.GUARD_FAILED

"""Key custody on the terminal: the key, token and certificate files, their modes, and the fingerprint."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from province.keys import fingerprint, same_fingerprint
from terminal.enrolment import (
    KEY_FILE,
    PIN_RESET_CERT_FILE,
    RECEIPT_CERT_FILE,
    TOKEN_FILE,
    EnrolmentError,
    TerminalSecrets,
    load_secrets,
    new_terminal_key,
    public_point,
    request_enrolment,
    save_secrets,
)

TOKEN = "khbs_t_" + "A" * 32


def test_secrets_round_trip_with_owner_only_files(tmp_path: Path) -> None:
    key = new_terminal_key()
    save_secrets(tmp_path, TerminalSecrets(key, TOKEN, b"receipt cert", b"\x7f\x21\x01\x00"))
    for name in (KEY_FILE, TOKEN_FILE, RECEIPT_CERT_FILE, PIN_RESET_CERT_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    loaded = load_secrets(tmp_path)
    assert public_point(loaded.key) == public_point(key)
    assert (loaded.token, loaded.receipt_cert) == (TOKEN, b"receipt cert")
    assert loaded.pin_reset_cert == b"\x7f\x21\x01\x00"
    save_secrets(
        tmp_path, TerminalSecrets(key, TOKEN, b"receipt cert", None)
    )  # re-enrolled without the PIN-reset role
    assert load_secrets(tmp_path).pin_reset_cert is None
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_unsafe_or_damaged_files_are_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(EnrolmentError, match="not enrolled"):
        load_secrets(tmp_path)
    save_secrets(tmp_path, TerminalSecrets(new_terminal_key(), TOKEN, b"cert", None))
    os.chmod(tmp_path / KEY_FILE, 0o644)
    with pytest.raises(EnrolmentError, match="readable by others"):
        load_secrets(tmp_path)
    (tmp_path / KEY_FILE).unlink()
    (tmp_path / KEY_FILE).write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot a key\n")
    os.chmod(tmp_path / KEY_FILE, 0o600)
    with pytest.raises(EnrolmentError, match="not a PEM private key"):
        load_secrets(tmp_path)
    (tmp_path / KEY_FILE).unlink()
    (tmp_path / KEY_FILE).symlink_to(tmp_path / TOKEN_FILE)
    with pytest.raises(EnrolmentError, match="not a regular file"):
        load_secrets(tmp_path)
    (tmp_path / KEY_FILE).unlink()
    save_secrets(tmp_path, TerminalSecrets(new_terminal_key(), TOKEN, b"cert", None))
    (tmp_path / TOKEN_FILE).unlink()
    (tmp_path / TOKEN_FILE).write_bytes(b"Bearer \xff\n")
    os.chmod(tmp_path / TOKEN_FILE, 0o600)
    with pytest.raises(EnrolmentError, match="not a server token"):
        load_secrets(tmp_path)


def test_fingerprint_is_what_the_sheet_prints() -> None:
    key = ec.derive_private_key(7, ec.SECP256R1()).public_key()
    shown = fingerprint(key)
    assert len(shown) == 79 and len(shown.split()) == 16
    assert same_fingerprint(shown.lower().replace(" ", ":"), key)
    assert not same_fingerprint(shown[:-1], key)  # all 64 digits, never a prefix
    assert not same_fingerprint(fingerprint(ec.derive_private_key(8, ec.SECP256R1()).public_key()), key)


def _answer(key: ec.EllipticCurvePrivateKey, **changes: Any) -> dict[str, Any]:
    terminal = {
        "terminal_id": "T6271009",
        "site": "Kantor Kelurahan Langkai",
        "region": 6271,
        "region_name": "Kota Palangka Raya",
        "public_key": public_point(key).hex(),
        "pin_reset": False,
        "active": True,
        "enrolled_at": 1_800_000_000,
    }
    body: dict[str, Any] = {
        "terminal": terminal,
        "token": TOKEN,
        "certificate": None,
        "receipt_certificate": "AAAA",
        "server_time": 1_800_000_000,
    }
    for k, v in changes.items():
        if k in terminal:
            terminal[k] = v
        else:
            body[k] = v
    return body


def test_the_enrolment_answer_is_checked_field_by_field() -> None:
    key = new_terminal_key()
    sent: list[tuple[str, dict[str, Any]]] = []

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        sent.append((path, body))
        return _answer(key)

    enrolled = request_enrolment(post, "ABCD-EFGH-JKMN-PQRS", key)
    assert sent == [("/v1/enrol", {"code": "ABCD-EFGH-JKMN-PQRS", "public_key": public_point(key).hex()})]
    assert (enrolled.terminal_id, enrolled.region, enrolled.token) == ("T6271009", 6271, TOKEN)
    for bad in (
        {"public_key": public_point(new_terminal_key()).hex()},  # the server enrolled another key
        {"terminal_id": "t1"},
        {"region": "6271"},
        {"pin_reset": 1},
        {"token": "x"},
        {"server_time": 1.5},
        {"certificate": "not base64!"},
        {"receipt_certificate": None},
        {"site": " "},
    ):
        with pytest.raises(EnrolmentError):
            request_enrolment(lambda _p, _b, bad=bad: _answer(key, **bad), "CODE", key)
    with pytest.raises(EnrolmentError):
        request_enrolment(lambda _p, _b: {"terminal": None}, "CODE", key)

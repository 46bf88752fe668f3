"""Enrolment and key custody: a terminal's own key, its server token, and the province's root key.

Once per terminal (``kartu enrol``): the terminal makes its P-256 key pair here, sends the public key with
the one-time code an administrator issued (``POST /v1/enrol``), and keeps what comes back. The root of
trust is *not* taken from that answer: the operator installs it from the installation medium and confirms
its :func:`fingerprint` against the one printed on the enrolment sheet.

Files in the data directory, each written atomically with mode 0600 and refused when others can read
them (a key that others could read is not this terminal's any more):

- ``terminal-key.pem`` — the terminal's private key (PKCS#8 PEM; an HSM/TPM belongs behind the same
  :func:`load_secrets` in production);
- ``server-token`` — the bearer token for ``/v1/sync``;
- ``receipt.cert`` — the issuer's certificate for this key as the terminal's receipt-signing key
  (``province.receipt_qr.ReceiptCert``: terminal id and validity window);
- ``pin-reset.cert`` — the issuer-signed counter-terminal certificate (TLV ``7F21``), when the terminal
  may reset PINs.
"""

from __future__ import annotations

import base64
import os
import re
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

KEY_FILE = "terminal-key.pem"
TOKEN_FILE = "server-token"
PIN_RESET_CERT_FILE = "pin-reset.cert"
RECEIPT_CERT_FILE = "receipt.cert"
MAX_SECRET_BYTES = 16 * 1024
TERMINAL_ID = re.compile(r"[A-Z0-9]{8}")
TOKEN = re.compile(r"[A-Za-z0-9_\-]{16,200}")


class EnrolmentError(Exception):
    """Enrolment cannot go on, or this terminal's enrolment files are missing or unsafe; in words."""


def new_terminal_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def write_secret(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, mode 0600 from the first byte (never briefly readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_secret(path: Path) -> bytes:
    """Read a secret file; refuse one that is missing, too large, not a regular file or readable by others."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise EnrolmentError(f"{path}: missing: this terminal is not enrolled (kartu enrol)") from None
    except OSError as exc:
        raise EnrolmentError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise EnrolmentError(f"{path}: not a regular file")
    if st.st_mode & 0o077:
        raise EnrolmentError(f"{path}: readable by others (mode {st.st_mode & 0o777:o}): chmod 600 it")
    if st.st_size > MAX_SECRET_BYTES:
        raise EnrolmentError(f"{path}: larger than {MAX_SECRET_BYTES} bytes")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise EnrolmentError(f"{path}: cannot read it ({exc.strerror or exc})") from None


@dataclass(frozen=True)
class TerminalSecrets:
    key: ec.EllipticCurvePrivateKey
    token: str
    receipt_cert: bytes  # ReceiptCert bytes as the server issued them; checked where they are used
    pin_reset_cert: bytes | None  # TLV 7F21 as the server issued it; checked where it is used


def save_secrets(data_dir: Path, secrets: TerminalSecrets) -> None:
    pem = secrets.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_secret(data_dir / KEY_FILE, pem)
    write_secret(data_dir / TOKEN_FILE, secrets.token.encode("ascii"))
    write_secret(data_dir / RECEIPT_CERT_FILE, secrets.receipt_cert)
    cert = data_dir / PIN_RESET_CERT_FILE
    if secrets.pin_reset_cert is not None:
        write_secret(cert, secrets.pin_reset_cert)
    else:
        cert.unlink(missing_ok=True)


def load_secrets(data_dir: Path) -> TerminalSecrets:
    """This terminal's key, token and certificate. Raises :class:`EnrolmentError` in words."""
    path = data_dir / KEY_FILE
    try:
        key = serialization.load_pem_private_key(read_secret(path), password=None)
    except (ValueError, TypeError) as exc:
        raise EnrolmentError(f"{path}: not a PEM private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise EnrolmentError(f"{path}: not a P-256 key")
    token_path = data_dir / TOKEN_FILE
    token = read_secret(token_path).decode("ascii", errors="replace").strip()
    if not TOKEN.fullmatch(token):
        raise EnrolmentError(f"{token_path}: not a server token")
    receipt_cert = read_secret(data_dir / RECEIPT_CERT_FILE)
    cert_path = data_dir / PIN_RESET_CERT_FILE
    cert = read_secret(cert_path) if cert_path.exists() else None
    return TerminalSecrets(key, token, receipt_cert, cert)


@dataclass(frozen=True)
class Enrolled:
    """What the server answered to a valid code (checked field by field)."""

    terminal_id: str
    site: str
    region: int
    pin_reset: bool
    token: str
    certificate: bytes | None  # PIN reset (TLV 7F21)
    receipt_certificate: bytes
    server_time: int


def request_enrolment(
    post: Callable[[str, dict[str, Any]], dict[str, Any]], code: str, key: ec.EllipticCurvePrivateKey
) -> Enrolled:
    """``POST /v1/enrol`` with the one-time code and this terminal's public key; the answer checked.

    ``post`` sends JSON and returns the JSON object answered (``SyncClient.post`` without a token); it
    raises for HTTP errors. Raises :class:`EnrolmentError` for an answer that is not what the API says.
    """
    body = post("/v1/enrol", {"code": code, "public_key": public_point(key).hex()})
    try:
        terminal = body["terminal"]
        terminal_id, site, region = terminal["terminal_id"], terminal["site"], terminal["region"]
        pin_reset, token, cert_text = terminal["pin_reset"], body["token"], body.get("certificate")
        server_time = body["server_time"]
        if not (isinstance(terminal_id, str) and TERMINAL_ID.fullmatch(terminal_id)):
            raise ValueError("terminal id")
        if (
            not (isinstance(site, str) and site.strip())
            or type(region) is not int
            or type(pin_reset) is not bool
        ):
            raise ValueError("site, region or pin_reset")
        if not (isinstance(token, str) and TOKEN.fullmatch(token)) or type(server_time) is not int:
            raise ValueError("token or server time")
        if terminal["public_key"] != public_point(key).hex():
            raise ValueError("the server enrolled another key")
        certificate = base64.b64decode(cert_text, validate=True) if cert_text is not None else None
        receipt_text = body["receipt_certificate"]
        if not isinstance(receipt_text, str):
            raise ValueError("receipt certificate")
        receipt_certificate = base64.b64decode(receipt_text, validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise EnrolmentError(f"the server's enrolment answer is not usable ({exc})") from None
    return Enrolled(
        terminal_id, site.strip(), region, pin_reset, token, certificate, receipt_certificate, server_time
    )

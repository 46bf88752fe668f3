"""The receipt's QR code: the card-signed transaction, checkable offline by anyone with the trust list.

Payload text: ``KHBS1:`` + base45 (RFC 9285) of the CBOR array::

    [version = 1, credential bytes, transaction record bytes (47), record signature (DER)]

All characters are in the QR *alphanumeric* set (0-9 A-Z space $ % * + - . / :), so the printer's QR
encoder packs them at 5.5 bits each (base45 turns 2 bytes into 3 characters: 8.25 bits per byte).

Verification (:func:`verify_qr_payload`) needs nothing but the issuer keys (``issuer_lookup``: kid →
public key, from the trust list in ``terminal.trust``) and checks, in order: the format (strict and
canonical: re-encoding must give the same bytes), the issuer's signature over the credential, that the
record belongs to the card of the credential (same serial), and the card's signature over
``DOMAIN_TX || record`` under the card key the credential certifies. Every failure raises
:class:`QrPayloadError` whose ``reason`` says which check failed (a stable code for the CLI and server).

The grievance reference printed on the receipt (:func:`receipt_reference`) is derived from the record
alone, so a clerk, the LAPOR! desk or the server can recompute it from a scanned QR code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.credential import Credential, CredentialError, decode_credential
from card_applet_spec.records import RecordError, TxRecord

QR_PREFIX = "KHBS1:"
QR_PAYLOAD_VERSION = 1
#: Upper bound for a DER-encoded P-256 ECDSA signature (2 × (2 + 33) + 2).
MAX_DER_SIGNATURE_LEN = 72

IssuerLookup = Callable[[bytes], ec.EllipticCurvePublicKey | None]


class QrFailure(StrEnum):
    """Why a QR payload was refused. Values are stable codes (CLI output, server API, logs)."""

    PREFIX = "prefix"  # not a KHBS receipt QR (wrong or missing "KHBS1:")
    ENCODING = "encoding"  # not valid base45
    STRUCTURE = "structure"  # not the canonical CBOR array of four
    VERSION = "version"  # payload version this terminal does not know
    CREDENTIAL_MALFORMED = "credential_malformed"
    RECORD_MALFORMED = "record_malformed"
    SIGNATURE_MALFORMED = "signature_malformed"
    UNKNOWN_ISSUER = "unknown_issuer"  # the credential's kid is not in the trust list
    ISSUER_SIGNATURE = "issuer_signature"  # the credential was altered or not issued by that key
    SERIAL_MISMATCH = "serial_mismatch"  # the record belongs to another card than the credential
    CARD_KEY_INVALID = "card_key_invalid"  # the certified card key is not a P-256 point
    CARD_SIGNATURE = "card_signature"  # the record (or its signature) was altered


class QrPayloadError(ValueError):
    """A receipt QR payload that is malformed or does not verify; ``reason`` says which check failed."""

    def __init__(self, reason: QrFailure, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason.value}: {detail}")


# --- base45 (RFC 9285) ----------------------------------------------------------------------------

BASE45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_BASE45_VALUE = {ch: i for i, ch in enumerate(BASE45_ALPHABET)}


class Base45Error(ValueError):
    """Text that is not valid base45."""


def b45encode(data: bytes) -> str:
    """RFC 9285 §4: each 2 bytes → 3 characters (least significant first); a last odd byte → 2."""
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        n, c0 = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (BASE45_ALPHABET[c0], BASE45_ALPHABET[d], BASE45_ALPHABET[e])
    if len(data) % 2:
        d, c0 = divmod(data[-1], 45)
        out += (BASE45_ALPHABET[c0], BASE45_ALPHABET[d])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Strict RFC 9285 decoding: unknown characters, a dangling character or overflow raise Base45Error."""
    if len(text) % 3 == 1:
        raise Base45Error("base45 text length leaves a single character")
    try:
        values = [_BASE45_VALUE[ch] for ch in text]
    except KeyError as exc:
        raise Base45Error(f"{exc.args[0]!r} is not a base45 character") from None
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i : i + 3]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 45 * 45
            if n > 0xFFFF:
                raise Base45Error("base45 triple exceeds 65535")
            out += n.to_bytes(2, "big")
        else:
            n = chunk[0] + chunk[1] * 45
            if n > 0xFF:
                raise Base45Error("base45 pair exceeds 255")
            out.append(n)
    return bytes(out)


# --- the grievance reference ----------------------------------------------------------------------

#: Crockford's base32 alphabet: no I, L, O or U, so a reference read out over the phone or typed into
#: an SMS is not misread.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LEN = 8


def receipt_reference(record_bytes: bytes) -> str:
    """8 base32 characters (40 bits) of SHA-256 over the signed message ``DOMAIN_TX || record``."""
    digest = int.from_bytes(hashlib.sha256(c.DOMAIN_TX + record_bytes).digest()[:5], "big")
    return "".join(
        REFERENCE_ALPHABET[(digest >> (5 * (REFERENCE_LEN - 1 - i))) & 0x1F] for i in range(REFERENCE_LEN)
    )


# --- payload --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QrPayload:
    """The decoded (not yet verified) content of a receipt QR code."""

    credential: bytes
    record: bytes
    signature: bytes  # DER, as the card returned it
    version: int = QR_PAYLOAD_VERSION

    def cbor(self) -> bytes:
        return cbor2.dumps([self.version, self.credential, self.record, self.signature])


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt QR whose issuer and card signatures both verified."""

    credential: Credential
    record: TxRecord
    record_bytes: bytes
    signature: bytes  # DER
    reference: str  # the grievance reference printed on the receipt

    @property
    def kid(self) -> bytes:
        return self.credential.kid

    @property
    def card_serial(self) -> bytes:
        return self.record.card_serial


def encode_qr_payload(credential: bytes, record: bytes, signature: bytes) -> str:
    """The QR text for a card-signed record (``signature`` DER) and the card's credential bytes."""
    payload = QrPayload(credential, record, signature)
    _check_parts(payload)
    return QR_PREFIX + b45encode(payload.cbor())


def _check_parts(payload: QrPayload) -> None:
    if not payload.credential or len(payload.credential) > c.MAX_CREDENTIAL_LEN:
        raise QrPayloadError(QrFailure.CREDENTIAL_MALFORMED, "credential empty or too long")
    if len(payload.record) != TxRecord.SIZE:
        raise QrPayloadError(QrFailure.RECORD_MALFORMED, f"record must be {TxRecord.SIZE} bytes")
    if not 8 <= len(payload.signature) <= MAX_DER_SIGNATURE_LEN or payload.signature[0] != 0x30:
        raise QrPayloadError(QrFailure.SIGNATURE_MALFORMED, "signature is not a DER ECDSA signature")


def decode_qr_payload(text: str) -> QrPayload:
    """Parse QR text strictly (surrounding whitespace from a scanner is ignored); no signature checks."""
    text = text.strip()
    if not text.startswith(QR_PREFIX):
        raise QrPayloadError(QrFailure.PREFIX, f"does not start with {QR_PREFIX!r}")
    try:
        raw = b45decode(text[len(QR_PREFIX) :])
    except Base45Error as exc:
        raise QrPayloadError(QrFailure.ENCODING, str(exc)) from None
    try:
        value = cbor2.loads(raw)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise QrPayloadError(QrFailure.STRUCTURE, f"not CBOR: {exc}") from None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 4:
        raise QrPayloadError(QrFailure.STRUCTURE, "expected an array of four")
    version, credential, record, signature = value
    if not isinstance(version, int) or isinstance(version, bool):
        raise QrPayloadError(QrFailure.STRUCTURE, "version must be an integer")
    if version != QR_PAYLOAD_VERSION:
        raise QrPayloadError(QrFailure.VERSION, f"unsupported payload version {version}")
    if not all(isinstance(part, bytes) for part in (credential, record, signature)):
        raise QrPayloadError(QrFailure.STRUCTURE, "credential, record and signature must be byte strings")
    payload = QrPayload(credential, record, signature, version)
    if payload.cbor() != raw:
        raise QrPayloadError(QrFailure.STRUCTURE, "not canonical CBOR (or trailing bytes)")
    _check_parts(payload)
    return payload


def verify_qr_payload(text: str, issuer_lookup: IssuerLookup) -> VerifiedReceipt:
    """Decode and verify a receipt QR: issuer → credential → card key → record. Raises QrPayloadError."""
    payload = decode_qr_payload(text)
    try:
        credential = decode_credential(payload.credential)
    except CredentialError as exc:
        raise QrPayloadError(QrFailure.CREDENTIAL_MALFORMED, str(exc)) from None
    try:
        record = TxRecord.decode(payload.record)
    except RecordError as exc:
        raise QrPayloadError(QrFailure.RECORD_MALFORMED, str(exc)) from None
    issuer_key = issuer_lookup(credential.kid)
    if issuer_key is None:
        raise QrPayloadError(QrFailure.UNKNOWN_ISSUER, f"issuer key {credential.kid.hex()} is not trusted")
    if not credential.verify(issuer_key):
        raise QrPayloadError(QrFailure.ISSUER_SIGNATURE, "the credential's issuer signature does not verify")
    if record.card_serial != credential.claims.card_serial:
        raise QrPayloadError(
            QrFailure.SERIAL_MISMATCH,
            f"record of card {record.card_serial.hex()} with the credential of card "
            f"{credential.claims.card_serial.hex()}",
        )
    try:
        card_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), credential.claims.card_key)
    except ValueError as exc:
        raise QrPayloadError(QrFailure.CARD_KEY_INVALID, str(exc)) from None
    try:
        card_key.verify(payload.signature, record.signed_message(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise QrPayloadError(
            QrFailure.CARD_SIGNATURE, "the card's signature over the record does not verify"
        ) from None
    return VerifiedReceipt(
        credential=credential,
        record=record,
        record_bytes=payload.record,
        signature=payload.signature,
        reference=receipt_reference(payload.record),
    )


def qr_payload_stats(text: str) -> dict[str, int]:
    """Sizes for the benchmark: CBOR bytes, base45 characters, total QR characters."""
    raw = b45decode(text[len(QR_PREFIX) :])
    return {"cbor_bytes": len(raw), "qr_chars": len(text)}


__all__ = [
    "BASE45_ALPHABET",
    "QR_PAYLOAD_VERSION",
    "QR_PREFIX",
    "REFERENCE_ALPHABET",
    "Base45Error",
    "IssuerLookup",
    "QrFailure",
    "QrPayload",
    "QrPayloadError",
    "VerifiedReceipt",
    "b45decode",
    "b45encode",
    "decode_qr_payload",
    "encode_qr_payload",
    "qr_payload_stats",
    "receipt_reference",
    "verify_qr_payload",
]

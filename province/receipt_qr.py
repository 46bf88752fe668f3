"""The receipt's QR code: the card-signed transaction and the issuing terminal's attestation, checkable
offline by anyone with the issuer keys of the trust list.

Payload (version 2): ``KHBS2:`` followed by the CBOR array::

    [2, kind, credential, record without the card serial (39), card signature (r||s, 64),
     terminal certificate (122: ReceiptCertBody 50 || issuer kid 8 || issuer signature r||s 64) or h'',
     terminal signature (r||s, 64) or h'']

The record's card serial (bytes 2-9) is left out: it is the credential's, and the decoder puts it back
(so a record can only ever be read with its own card's credential). ``kind`` is 0 for a receipt, 1 for
a voided transaction (void slips and reprints of voided entries). The
terminal signs ``'KHBS-RC1'`` (receipt) or ``'KHBS-RV1'`` (void) ``|| record || card signature`` with its
own key, which the issuer certified for that terminal id and a validity window
(:class:`~card_applet_spec.records.ReceiptCertBody`, domain ``'KHBS-RT1'``).

Two forms of the same payload:

* **printed** (:func:`encode_qr_content`): ``KHBS2:`` + the CBOR bytes, in the QR *byte* mode. One byte on
  the printer's wire per payload byte (base45 needs 1.5) and 8 bits per byte in the symbol (base45: 8.25),
  which is what keeps a receipt within 1 KB of ESC/POS.
* **text** (:func:`encode_qr_payload`): ``KHBS2:`` + base45 (RFC 9285) of the CBOR bytes, for APIs, the
  CLI, logs and keyboard-wedge scanners.

:func:`decode_qr_payload` takes either (bytes, or text: after the prefix a CBOR array header byte means
the printed form read as Latin-1, anything else base45), and the legacy version 1 (``KHBS1:`` + base45 of
``[1, credential, record, DER signature]``, no terminal signature).

Verification (:func:`verify_qr_payload`) checks, in order: the format (strict and canonical), the issuer's
signature over the credential (with an issuer key whose window admits the credential's ``iat``), that the
record belongs to that card, the card's signature; then the terminal part: present, the certificate's
issuer signature (an issuer key whose window admits the certificate's start), the certificate names the
record's terminal, the record's time lies in the certificate's window, and the terminal's signature. A
verified *void* raises :attr:`QrFailure.VOIDED`. Only a receipt passing everything is genuine ("SAH"):
a receipt made with a home reader (the card signs, no counter terminal does) never is.

The grievance reference printed on the receipt (:func:`receipt_reference`) is derived from the record
alone, so a clerk, the LAPOR! desk or the server can recompute it from a scanned QR code.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Protocol

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.cose import der_to_raw, raw_to_der, verify_raw_es256
from card_applet_spec.credential import Credential, CredentialError, compressed_point, decode_credential
from card_applet_spec.records import (
    DOMAIN_RECEIPT,
    DOMAIN_RECEIPT_VOID,
    ReceiptCertBody,
    RecordError,
    TxRecord,
    receipt_message,
)

QR_PREFIX = "KHBS2:"
QR_PREFIX_BYTES = QR_PREFIX.encode("ascii")
QR_PAYLOAD_VERSION = 2
#: The first format: card-signed only (no terminal signature), base45 text. Decoded, never genuine.
QR_PREFIX_V1 = "KHBS1:"
QR_PAYLOAD_VERSION_V1 = 1
#: Upper bound for a DER-encoded P-256 ECDSA signature (2 × (2 + 33) + 2).
MAX_DER_SIGNATURE_LEN = 72
RAW_SIGNATURE_LEN = 64
RECEIPT_CERT_LEN = ReceiptCertBody.SIZE + c.KEY_ID_LEN + RAW_SIGNATURE_LEN  # 122
#: Where the card serial sits in a TxRecord (after version and type): left out of a version 2 payload.
_SERIAL = slice(2, 2 + c.CARD_SERIAL_LEN)
_WHITESPACE = " \t\r\n"


class ReceiptKind(IntEnum):
    """What the terminal attests: a receipt, or that it voided the transaction."""

    RECEIPT = 0
    VOIDED = 1

    @property
    def domain(self) -> bytes:
        return DOMAIN_RECEIPT if self is ReceiptKind.RECEIPT else DOMAIN_RECEIPT_VOID


class QrFailure(StrEnum):
    """Why a QR payload was refused. Values are stable codes (CLI output, server API, logs)."""

    PREFIX = "prefix"  # not a KHBS receipt QR (wrong or missing "KHBS2:" / "KHBS1:")
    ENCODING = "encoding"  # not valid base45 (text form) or not Latin-1 (printed form read as text)
    STRUCTURE = "structure"  # not the canonical CBOR array of its version
    VERSION = "version"  # payload version this terminal does not know
    CREDENTIAL_MALFORMED = "credential_malformed"
    RECORD_MALFORMED = "record_malformed"
    SIGNATURE_MALFORMED = "signature_malformed"
    UNKNOWN_ISSUER = "unknown_issuer"  # the credential's kid is not trusted for its iat, now
    ISSUER_SIGNATURE = "issuer_signature"  # the credential was altered or not issued by that key
    SERIAL_MISMATCH = "serial_mismatch"  # the record belongs to another card than the credential
    CARD_KEY_INVALID = "card_key_invalid"  # the certified card key is not a P-256 point
    CARD_SIGNATURE = "card_signature"  # the record (or its signature) was altered
    # the terminal part: which counter terminal issued the receipt
    TERMINAL_UNSIGNED = "terminal_unsigned"  # no terminal signature: home-made, or the old format
    TERMINAL_CERT_MALFORMED = "terminal_cert_malformed"
    TERMINAL_CERT_UNKNOWN_ISSUER = "terminal_cert_unknown_issuer"  # kid not trusted at the cert's start
    TERMINAL_CERT_SIGNATURE = "terminal_cert_signature"  # the certificate is not the issuer's
    TERMINAL_MISMATCH = "terminal_mismatch"  # the certificate is for another terminal than the record's
    TERMINAL_CERT_NOT_VALID = "terminal_cert_not_valid"  # the record's time is outside the cert window
    TERMINAL_SIGNATURE = "terminal_signature"  # the terminal's signature does not verify
    VOIDED = "voided"  # genuine, and the issuing terminal voided the transaction


#: Failures of the format itself (nothing could be checked), as opposed to failed checks.
MALFORMED = frozenset(
    {
        QrFailure.PREFIX,
        QrFailure.ENCODING,
        QrFailure.STRUCTURE,
        QrFailure.VERSION,
        QrFailure.CREDENTIAL_MALFORMED,
        QrFailure.RECORD_MALFORMED,
        QrFailure.SIGNATURE_MALFORMED,
        QrFailure.TERMINAL_CERT_MALFORMED,
    }
)


class QrPayloadError(ValueError):
    """A receipt QR payload that is malformed or does not verify; ``reason`` says which check failed."""

    def __init__(self, reason: QrFailure, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")


# --- issuer keys ----------------------------------------------------------------------------------


class _IssuerKeyLike(Protocol):
    @property
    def public_key(self) -> ec.EllipticCurvePublicKey: ...


class IssuerKeys(Protocol):
    """The issuer keys with their windows (``province.trust.TrustList`` is one)."""

    def issuer_for(self, kid: bytes, issued_at: int, now: float) -> _IssuerKeyLike | None: ...


#: A bare kid → key table: the caller vouches that each key it returns is valid for everything (tests).
IssuerLookup = Callable[[bytes], ec.EllipticCurvePublicKey | None]
Issuers = IssuerKeys | IssuerLookup


def _issuer_key(issuers: Issuers, kid: bytes, issued_at: int, now: float) -> ec.EllipticCurvePublicKey | None:
    if callable(issuers):
        return issuers(kid)
    entry = issuers.issuer_for(kid, issued_at, now)
    return None if entry is None else entry.public_key


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


# --- the terminal's certificate and signature -----------------------------------------------------


@dataclass(frozen=True)
class ReceiptCert:
    """A terminal's receipt-signing certificate as carried in the QR: body, issuer kid, issuer r||s."""

    body: ReceiptCertBody
    kid: bytes
    signature: bytes  # raw r||s, 64

    def encode(self) -> bytes:
        return self.body.encode() + self.kid + self.signature

    @classmethod
    def decode(cls, blob: bytes) -> ReceiptCert:
        if len(blob) != RECEIPT_CERT_LEN:
            raise QrPayloadError(
                QrFailure.TERMINAL_CERT_MALFORMED, f"terminal certificate must be {RECEIPT_CERT_LEN} bytes"
            )
        try:
            body = ReceiptCertBody.decode(blob[: ReceiptCertBody.SIZE])
        except RecordError as exc:
            raise QrPayloadError(QrFailure.TERMINAL_CERT_MALFORMED, str(exc)) from None
        kid_end = ReceiptCertBody.SIZE + c.KEY_ID_LEN
        return cls(body, blob[ReceiptCertBody.SIZE : kid_end], blob[kid_end:])

    @classmethod
    def issue(cls, body: ReceiptCertBody, kid: bytes, sign: Callable[[bytes], bytes]) -> ReceiptCert:
        """Certify ``body`` with an issuer key (``sign`` returns DER, as ``IssuerSigner.sign``)."""
        return cls(body, kid, der_to_raw(sign(body.signed_message())))

    def public_key(self) -> ec.EllipticCurvePublicKey:
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.body.public_key)
        except ValueError as exc:
            raise QrPayloadError(QrFailure.TERMINAL_CERT_MALFORMED, f"terminal key: {exc}") from None


@dataclass(frozen=True)
class TerminalAttestation:
    """The terminal's part of a receipt: its certificate (122 bytes) and its signature (r||s, 64)."""

    cert: bytes
    signature: bytes


class ReceiptSigningError(ValueError):
    """The terminal's certificate does not cover this record (another terminal id, outside its window)."""


@dataclass(frozen=True)
class ReceiptSigner:
    """This counter terminal's issuer-certified receipt key: signs every receipt and void it issues."""

    cert: ReceiptCert
    key: ec.EllipticCurvePrivateKey

    def __post_init__(self) -> None:
        if compressed_point(self.key.public_key()) != self.cert.body.public_key:
            raise ValueError("the receipt key is not the certified key")

    @property
    def terminal_id(self) -> bytes:
        return self.cert.body.terminal_id

    def attest(self, kind: ReceiptKind, record: bytes, card_signature: bytes) -> TerminalAttestation:
        """Sign ``kind.domain || record || card signature (raw)``; ``card_signature`` DER or raw.

        Raises :class:`ReceiptSigningError` when the certificate is for another terminal than the record
        names, or the record's time is outside its window (such a receipt would never verify).
        """
        tx = TxRecord.decode(record)
        if tx.terminal_id != self.cert.body.terminal_id:
            raise ReceiptSigningError("the record names another terminal than this receipt certificate")
        if not self.cert.body.covers(tx.terminal_time):
            raise ReceiptSigningError("the record's time is outside this receipt certificate's window")
        raw = card_signature if len(card_signature) == RAW_SIGNATURE_LEN else der_to_raw(card_signature)
        der = self.key.sign(
            receipt_message(kind.domain, record, raw), ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
        )
        return TerminalAttestation(self.cert.encode(), der_to_raw(der))


# --- payload --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QrPayload:
    """The decoded (not yet verified) content of a receipt QR code."""

    credential: bytes
    record: bytes
    card_signature: bytes  # raw r||s (version 2); DER (version 1)
    kind: ReceiptKind = ReceiptKind.RECEIPT
    cert: bytes = b""  # the terminal's certificate (122 bytes), or empty
    terminal_signature: bytes = b""  # raw r||s, or empty
    version: int = QR_PAYLOAD_VERSION

    def cbor(self) -> bytes:
        if self.version == QR_PAYLOAD_VERSION_V1:
            return cbor2.dumps([self.version, self.credential, self.record, self.card_signature])
        return cbor2.dumps(
            [
                self.version,
                int(self.kind),
                self.credential,
                self.record[: _SERIAL.start] + self.record[_SERIAL.stop :],
                self.card_signature,
                self.cert,
                self.terminal_signature,
            ]
        )

    @property
    def signed_by_terminal(self) -> bool:
        return bool(self.cert or self.terminal_signature)


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt QR whose issuer and card signatures verified (and, from :func:`verify_qr_payload`, the
    terminal's too: ``terminal`` is its verified certificate)."""

    credential: Credential
    record: TxRecord
    record_bytes: bytes
    signature: bytes  # the card's, raw r||s
    reference: str  # the grievance reference printed on the receipt
    kind: ReceiptKind = ReceiptKind.RECEIPT
    terminal: ReceiptCertBody | None = None

    @property
    def kid(self) -> bytes:
        return self.credential.kid

    @property
    def card_serial(self) -> bytes:
        return self.record.card_serial


def _payload(
    credential: bytes,
    record: bytes,
    card_signature: bytes,
    attestation: TerminalAttestation | None,
    kind: ReceiptKind,
) -> QrPayload:
    raw = card_signature
    if len(card_signature) != RAW_SIGNATURE_LEN:
        try:
            raw = der_to_raw(card_signature)
        except ValueError:
            raise QrPayloadError(QrFailure.SIGNATURE_MALFORMED, "card signature is not ECDSA") from None
    try:
        serial = decode_credential(credential).claims.card_serial
    except CredentialError as exc:
        raise QrPayloadError(QrFailure.CREDENTIAL_MALFORMED, str(exc)) from None
    if record[_SERIAL] != serial:
        raise QrPayloadError(QrFailure.SERIAL_MISMATCH, "the record is not of the credential's card")
    payload = QrPayload(
        credential,
        record,
        raw,
        kind,
        attestation.cert if attestation else b"",
        attestation.signature if attestation else b"",
    )
    _check_parts(payload)
    return payload


def encode_qr_content(
    credential: bytes,
    record: bytes,
    card_signature: bytes,
    attestation: TerminalAttestation | None = None,
    *,
    kind: ReceiptKind = ReceiptKind.RECEIPT,
) -> bytes:
    """The printed QR content (byte mode): ``KHBS2:`` + CBOR. ``card_signature`` DER or raw."""
    return QR_PREFIX_BYTES + _payload(credential, record, card_signature, attestation, kind).cbor()


def encode_qr_payload(
    credential: bytes,
    record: bytes,
    card_signature: bytes,
    attestation: TerminalAttestation | None = None,
    *,
    kind: ReceiptKind = ReceiptKind.RECEIPT,
) -> str:
    """The text form of the same payload: ``KHBS2:`` + base45 of the CBOR (APIs, CLI, scanners)."""
    return QR_PREFIX + b45encode(_payload(credential, record, card_signature, attestation, kind).cbor())


def qr_text(content: bytes | str) -> str:
    """The text form of a payload in either form (e.g. printed bytes → base45 text for an API)."""
    return QR_PREFIX + b45encode(decode_qr_payload(content).cbor())


def _check_parts(payload: QrPayload) -> None:
    if not payload.credential or len(payload.credential) > c.MAX_CREDENTIAL_LEN:
        raise QrPayloadError(QrFailure.CREDENTIAL_MALFORMED, "credential empty or too long")
    if len(payload.record) != TxRecord.SIZE:
        raise QrPayloadError(QrFailure.RECORD_MALFORMED, f"record must be {TxRecord.SIZE} bytes")
    sig = payload.card_signature
    if payload.version == QR_PAYLOAD_VERSION_V1:
        if not 8 <= len(sig) <= MAX_DER_SIGNATURE_LEN or sig[0] != 0x30:
            raise QrPayloadError(QrFailure.SIGNATURE_MALFORMED, "signature is not a DER ECDSA signature")
        return
    if len(sig) != RAW_SIGNATURE_LEN:
        raise QrPayloadError(QrFailure.SIGNATURE_MALFORMED, "card signature must be r||s, 64 bytes")
    if payload.signed_by_terminal:
        if len(payload.cert) != RECEIPT_CERT_LEN:
            raise QrPayloadError(
                QrFailure.TERMINAL_CERT_MALFORMED, f"terminal certificate must be {RECEIPT_CERT_LEN} bytes"
            )
        if len(payload.terminal_signature) != RAW_SIGNATURE_LEN:
            raise QrPayloadError(QrFailure.SIGNATURE_MALFORMED, "terminal signature must be r||s, 64 bytes")


def _raw_cbor(data: str | bytes) -> tuple[int, bytes]:
    """(version, CBOR bytes) of either form; raises QrPayloadError (PREFIX, ENCODING)."""
    if isinstance(data, str):
        text = data.lstrip(_WHITESPACE)
        if text.startswith(QR_PREFIX_V1):
            body = text[len(QR_PREFIX_V1) :].rstrip(_WHITESPACE)
            version = QR_PAYLOAD_VERSION_V1
        elif text.startswith(QR_PREFIX):
            body = text[len(QR_PREFIX) :]
            version = QR_PAYLOAD_VERSION
            if body and 0x80 <= ord(body[0]) <= 0x9F:  # the printed form, read as Latin-1
                try:
                    return version, body.encode("latin-1")
                except UnicodeEncodeError:
                    raise QrPayloadError(QrFailure.ENCODING, "printed form beyond Latin-1") from None
            body = body.rstrip(_WHITESPACE)
        else:
            raise QrPayloadError(QrFailure.PREFIX, f"does not start with {QR_PREFIX!r}")
        try:
            return version, b45decode(body)
        except Base45Error as exc:
            raise QrPayloadError(QrFailure.ENCODING, str(exc)) from None
    if not isinstance(data, bytes):
        raise QrPayloadError(QrFailure.STRUCTURE, "a QR payload is text or bytes")
    content = data[len(QR_PREFIX_BYTES) :]
    if data.startswith(QR_PREFIX_BYTES) and content and 0x80 <= content[0] <= 0x9F:  # the printed form
        return QR_PAYLOAD_VERSION, content
    try:
        return _raw_cbor(data.decode("ascii"))  # a text form handed over as bytes
    except UnicodeDecodeError:
        raise QrPayloadError(QrFailure.PREFIX, f"does not start with {QR_PREFIX!r}") from None


def decode_qr_payload(data: str | bytes) -> QrPayload:
    """Parse either form strictly (whitespace a scanner adds to the text form is ignored); no signature
    checks."""
    expected_version, raw = _raw_cbor(data)
    try:
        value = cbor2.loads(raw)
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise QrPayloadError(QrFailure.STRUCTURE, f"not CBOR: {exc}") from None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise QrPayloadError(QrFailure.STRUCTURE, "expected an array")
    version = value[0]
    if not isinstance(version, int) or isinstance(version, bool):
        raise QrPayloadError(QrFailure.STRUCTURE, "version must be an integer")
    if version != expected_version:
        raise QrPayloadError(QrFailure.VERSION, f"payload version {version} under the prefix of another")
    if version == QR_PAYLOAD_VERSION_V1:
        if len(value) != 4:
            raise QrPayloadError(QrFailure.STRUCTURE, "expected an array of four")
        _, credential, record, signature = value
        parts: list[object] = [credential, record, signature]
        kind_value: object = int(ReceiptKind.RECEIPT)
        cert: object = b""
        terminal_signature: object = b""
    else:
        if len(value) != 7:
            raise QrPayloadError(QrFailure.STRUCTURE, "expected an array of seven")
        _, kind_value, credential, record, signature, cert, terminal_signature = value
        parts = [credential, record, signature, cert, terminal_signature]
    if not all(isinstance(part, bytes) for part in parts):
        raise QrPayloadError(QrFailure.STRUCTURE, "payload parts must be byte strings")
    if not isinstance(kind_value, int) or isinstance(kind_value, bool) or kind_value not in set(ReceiptKind):
        raise QrPayloadError(QrFailure.STRUCTURE, "unknown receipt kind")
    assert isinstance(credential, bytes) and isinstance(record, bytes) and isinstance(signature, bytes)
    assert isinstance(cert, bytes) and isinstance(terminal_signature, bytes)
    if version == QR_PAYLOAD_VERSION:
        record = _with_serial(credential, record)
    payload = QrPayload(
        credential, record, signature, ReceiptKind(kind_value), cert, terminal_signature, version
    )
    if payload.cbor() != raw:
        raise QrPayloadError(QrFailure.STRUCTURE, "not canonical CBOR (or trailing bytes)")
    _check_parts(payload)
    return payload


def _with_serial(credential: bytes, short_record: bytes) -> bytes:
    """The full record: the credential's card serial put back into a version 2 payload's record."""
    if len(short_record) != TxRecord.SIZE - c.CARD_SERIAL_LEN:
        raise QrPayloadError(
            QrFailure.RECORD_MALFORMED, f"record must be {TxRecord.SIZE - c.CARD_SERIAL_LEN} bytes"
        )
    try:
        serial = decode_credential(credential).claims.card_serial
    except CredentialError as exc:
        raise QrPayloadError(QrFailure.CREDENTIAL_MALFORMED, str(exc)) from None
    return short_record[: _SERIAL.start] + serial + short_record[_SERIAL.start :]


def verify_card_part(payload: QrPayload, issuers: Issuers, now: float) -> VerifiedReceipt:
    """Issuer → credential → card key → record. Raises QrPayloadError. Says nothing about the terminal."""
    try:
        credential = decode_credential(payload.credential)
    except CredentialError as exc:
        raise QrPayloadError(QrFailure.CREDENTIAL_MALFORMED, str(exc)) from None
    try:
        record = TxRecord.decode(payload.record)
    except RecordError as exc:
        raise QrPayloadError(QrFailure.RECORD_MALFORMED, str(exc)) from None
    issuer_key = _issuer_key(issuers, credential.kid, credential.claims.issued_at, now)
    if issuer_key is None:
        raise QrPayloadError(
            QrFailure.UNKNOWN_ISSUER,
            f"issuer key {credential.kid.hex()} is not trusted for a card issued at "
            f"{credential.claims.issued_at}",
        )
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
    sig = payload.card_signature
    try:
        der = sig if payload.version == QR_PAYLOAD_VERSION_V1 else raw_to_der(sig)
        card_key.verify(der, record.signed_message(), ec.ECDSA(hashes.SHA256()))
        raw = der_to_raw(der)
    except (InvalidSignature, ValueError):
        raise QrPayloadError(
            QrFailure.CARD_SIGNATURE, "the card's signature over the record does not verify"
        ) from None
    return VerifiedReceipt(
        credential=credential,
        record=record,
        record_bytes=payload.record,
        signature=raw,
        reference=receipt_reference(payload.record),
        kind=payload.kind,
    )


def verify_terminal_part(
    payload: QrPayload, receipt: VerifiedReceipt, issuers: Issuers, now: float
) -> ReceiptCertBody:
    """Which counter terminal issued this (card-verified) receipt: its issuer-certified key signed it.

    Raises QrPayloadError (TERMINAL_*); returns the verified certificate. Does not look at ``kind``.
    """
    if payload.version == QR_PAYLOAD_VERSION_V1 or not payload.signed_by_terminal:
        raise QrPayloadError(
            QrFailure.TERMINAL_UNSIGNED,
            "no terminal signature: the card signed this, but no counter terminal vouches for it",
        )
    cert = ReceiptCert.decode(payload.cert)
    issuer_key = _issuer_key(issuers, cert.kid, cert.body.valid_from, now)
    if issuer_key is None:
        raise QrPayloadError(
            QrFailure.TERMINAL_CERT_UNKNOWN_ISSUER,
            f"issuer key {cert.kid.hex()} is not trusted for a certificate from {cert.body.valid_from}",
        )
    if not verify_raw_es256(issuer_key, cert.signature, cert.body.signed_message()):
        raise QrPayloadError(
            QrFailure.TERMINAL_CERT_SIGNATURE, "the terminal certificate's issuer signature does not verify"
        )
    record = receipt.record
    if cert.body.terminal_id != record.terminal_id:
        raise QrPayloadError(
            QrFailure.TERMINAL_MISMATCH,
            f"certificate of terminal {cert.body.terminal_id!r} on a record of terminal "
            f"{record.terminal_id!r}",
        )
    if not cert.body.covers(record.terminal_time):
        raise QrPayloadError(
            QrFailure.TERMINAL_CERT_NOT_VALID,
            f"record time {record.terminal_time} outside the certificate's "
            f"[{cert.body.valid_from}, {cert.body.valid_until}]",
        )
    message = receipt_message(payload.kind.domain, payload.record, receipt.signature)
    if not verify_raw_es256(cert.public_key(), payload.terminal_signature, message):
        raise QrPayloadError(
            QrFailure.TERMINAL_SIGNATURE, "the terminal's signature over the receipt does not verify"
        )
    return cert.body


def verify_qr_payload(data: str | bytes, issuers: Issuers, now: float | None = None) -> VerifiedReceipt:
    """Decode and verify a receipt QR completely; returns only for a genuine counter receipt ("SAH").

    ``issuers``: the trust list (issuer keys with windows: ``issuer_for(kid, issued_at, now)``), or a bare
    kid → key lookup whose keys the caller vouches for. ``now`` defaults to the clock. Raises
    QrPayloadError; a genuine void raises it with :attr:`QrFailure.VOIDED`.
    """
    moment = time.time() if now is None else now
    payload = decode_qr_payload(data)
    receipt = verify_card_part(payload, issuers, moment)
    terminal = verify_terminal_part(payload, receipt, issuers, moment)
    if payload.kind is ReceiptKind.VOIDED:
        raise QrPayloadError(QrFailure.VOIDED, "the issuing terminal voided this transaction")
    return VerifiedReceipt(
        credential=receipt.credential,
        record=receipt.record,
        record_bytes=receipt.record_bytes,
        signature=receipt.signature,
        reference=receipt.reference,
        kind=payload.kind,
        terminal=terminal,
    )


def qr_payload_stats(data: str | bytes) -> dict[str, int]:
    """Sizes for the benchmark: CBOR bytes, printed QR bytes, text-form characters."""
    raw = decode_qr_payload(data).cbor()
    return {
        "cbor_bytes": len(raw),
        "qr_bytes": len(QR_PREFIX_BYTES) + len(raw),
        "text_chars": len(qr_text(data)),
    }


__all__ = [
    "BASE45_ALPHABET",
    "MALFORMED",
    "QR_PAYLOAD_VERSION",
    "QR_PREFIX",
    "QR_PREFIX_BYTES",
    "QR_PREFIX_V1",
    "RECEIPT_CERT_LEN",
    "REFERENCE_ALPHABET",
    "Base45Error",
    "IssuerKeys",
    "IssuerLookup",
    "Issuers",
    "QrFailure",
    "QrPayload",
    "QrPayloadError",
    "ReceiptCert",
    "ReceiptKind",
    "ReceiptSigner",
    "ReceiptSigningError",
    "TerminalAttestation",
    "VerifiedReceipt",
    "attestation_matches",
    "b45decode",
    "b45encode",
    "decode_qr_payload",
    "encode_qr_content",
    "encode_qr_payload",
    "qr_payload_stats",
    "qr_text",
    "receipt_reference",
    "verify_card_part",
    "verify_qr_payload",
    "verify_terminal_part",
]


def attestation_matches(
    attestation: TerminalAttestation, kind: ReceiptKind, record: bytes, card_signature: bytes
) -> bool:
    """Whether a stored attestation is one for this record: its certificate names the record's
    terminal, covers its time, and its key signed it (the issuer's signature is not checked here)."""
    try:
        cert = ReceiptCert.decode(attestation.cert)
        tx = TxRecord.decode(record)
        raw = card_signature if len(card_signature) == RAW_SIGNATURE_LEN else der_to_raw(card_signature)
        key = cert.public_key()
    except (QrPayloadError, RecordError, ValueError):
        return False
    return (
        cert.body.terminal_id == tx.terminal_id
        and cert.body.covers(tx.terminal_time)
        and verify_raw_es256(key, attestation.signature, receipt_message(kind.domain, record, raw))
    )

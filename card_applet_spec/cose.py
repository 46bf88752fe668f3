"""The one COSE_Sign1 (RFC 9052) envelope of the programme, ES256 only.

The card credential (SPEC.md §4), the trust list and the status-list snapshots and deltas are all a
tagged COSE_Sign1 whose protected header is ``{alg: ES256, kid: key_id(signer)}`` plus, for the
province's publications, ``typ`` (RFC 9596) naming the content so one kind can never be read as another.
This module signs, parses and verifies that envelope; what the payload means is its callers' business.

Parsing is strict: a tag 18 around an array of four (protected header as a byte string, an empty or
absent unprotected map, payload bytes, a 64-byte r||s signature), ``alg`` ES256 and a ``kid`` of
:data:`~card_applet_spec.constants.KEY_ID_LEN` bytes. With ``strict=True`` the envelope and its
protected header must also be exactly their canonical encoding (no trailing bytes, indefinite lengths,
non-shortest heads or repeated keys), so a signature-preserving re-encoding is refused.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

from card_applet_spec import constants as c

#: COSE header label ``typ`` (RFC 9596): the content type of the signed payload.
COSE_HDR_TYP = 16
RAW_SIGNATURE_LEN = 64


class CoseError(ValueError):
    """The bytes are not a COSE_Sign1 envelope of the programme's form."""


def key_id(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """Key id: the first 8 bytes of SHA-256 over the key's SubjectPublicKeyInfo DER (as the EU DCC)."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[: c.KEY_ID_LEN]


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes an ES256 COSE_Sign1 signature is over (RFC 9052 §4.4, no external AAD)."""
    return cbor2.dumps(["Signature1", protected, b"", payload])


def raw_to_der(raw: bytes) -> bytes:
    if len(raw) != RAW_SIGNATURE_LEN:
        raise CoseError("an ES256 signature is 64 bytes")
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def der_to_raw(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_raw_es256(key: ec.EllipticCurvePublicKey, raw_sig: bytes, message: bytes) -> bool:
    """True when ``raw_sig`` (r||s) is ``key``'s ES256 signature over ``message``."""
    try:
        key.verify(raw_to_der(raw_sig), message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, CoseError):
        return False
    return True


@runtime_checkable
class Es256Signer(Protocol):
    """A P-256 key that signs where it lives (an HSM, a key store): its private key never leaves it.

    ``sign_digest`` takes a SHA-256 digest and returns the raw ``r||s`` ES256 signature (64 bytes);
    ``public_key()`` and ``kid`` (:func:`key_id` of that key) say which key it is."""

    @property
    def kid(self) -> bytes: ...

    def public_key(self) -> ec.EllipticCurvePublicKey: ...

    def sign_digest(self, digest: bytes) -> bytes: ...


#: What the signing functions take: a private key in memory (tests, vectors, the terminal's own keys)
#: or a key-store signer (the server's keys).
SigningKey = ec.EllipticCurvePrivateKey | Es256Signer


class LocalSigner:
    """An :class:`Es256Signer` over a private key in memory (a decrypted key file, a demo key)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, *, deterministic: bool = True) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise CoseError("ES256 needs a P-256 key")
        self._key = key
        self._public = key.public_key()
        self.kid = key_id(self._public)
        self._algorithm = ec.ECDSA(Prehashed(hashes.SHA256()), deterministic_signing=deterministic)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign_digest(self, digest: bytes) -> bytes:
        if len(digest) != 32:
            raise CoseError("an ES256 digest is 32 bytes")
        return der_to_raw(self._key.sign(digest, self._algorithm))


def sign_es256(key: SigningKey, message: bytes, *, deterministic: bool = True) -> bytes:
    """The raw ``r||s`` ES256 signature of ``message`` by ``key`` (a private key or a key-store signer).
    ``deterministic`` (RFC 6979) applies to a private key in memory; an HSM signs as it signs."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return der_to_raw(key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=deterministic)))
    raw = key.sign_digest(hashlib.sha256(message).digest())
    if len(raw) != RAW_SIGNATURE_LEN:
        raise CoseError(f"the key store gave a {len(raw)}-byte signature, expected {RAW_SIGNATURE_LEN}")
    return raw


def signing_kid(key: SigningKey) -> bytes:
    """The key id of a private key or a key-store signer."""
    return key_id(key.public_key()) if isinstance(key, ec.EllipticCurvePrivateKey) else key.kid


@dataclass(frozen=True)
class Sign1:
    """A parsed (not yet verified) COSE_Sign1: what is needed to check its signature and read it."""

    protected: bytes
    header: Mapping[Any, Any]
    payload: bytes
    signature: bytes  # raw r||s

    @property
    def kid(self) -> bytes:
        return bytes(self.header[c.COSE_HDR_KID])

    def verify(self, public_key: ec.EllipticCurvePublicKey) -> bool:
        """True when the signature is ``public_key``'s over the Sig_structure."""
        return verify_raw_es256(public_key, self.signature, sig_structure(self.protected, self.payload))


def sign1(
    payload: bytes,
    key: SigningKey,
    *,
    typ: str | None = None,
    deterministic: bool = True,
) -> bytes:
    """A tagged COSE_Sign1 (ES256) over ``payload``: ``{alg, kid[, typ]}`` protected, nothing unprotected.
    ``key``: a private key (deterministic ECDSA, RFC 6979, by default) or a key-store
    :class:`Es256Signer` (the private key stays in the store)."""
    header: dict[int, Any] = {c.COSE_HDR_ALG: c.COSE_ALG_ES256, c.COSE_HDR_KID: signing_kid(key)}
    if typ is not None:
        header[COSE_HDR_TYP] = typ
    protected = cbor2.dumps(header)
    raw = sign_es256(key, sig_structure(protected, payload), deterministic=deterministic)
    return cbor2.dumps(cbor2.CBORTag(c.COSE_SIGN1_TAG, [protected, {}, payload, raw]))


_MAX_DEPTH = 16


def loads(data: bytes, what: str, *, canonical: bool = False) -> Any:
    """Exactly one CBOR item that is all of ``data``: definite lengths, no repeated map key, at most
    16 levels deep. ``canonical``: also exactly the encoding it re-encodes to (shortest heads, the
    received key order), which refuses every re-encoding of the same value."""
    stream = io.BytesIO(data)
    try:
        value = cbor2.CBORDecoder(
            stream, max_depth=_MAX_DEPTH, allow_indefinite=False, allow_duplicate_keys=False
        ).decode()
        again = cbor2.dumps(value) if canonical else None
    except Exception as exc:  # a third-party decoder on untrusted bytes: any failure means "not CBOR"
        raise CoseError(f"{what}: not valid CBOR ({type(exc).__name__}: {exc})") from exc
    if stream.tell() != len(data):
        raise CoseError(f"{what}: {len(data) - stream.tell()} bytes after the CBOR item")
    if canonical and again != data:
        raise CoseError(f"{what}: not in the issuer's encoding (a non-shortest head or another re-encoding)")
    return value


def decode_sign1(raw: bytes, *, max_len: int, typ: str | None = None, canonical: bool = False) -> Sign1:
    """Parse a tagged COSE_Sign1 of at most ``max_len`` bytes (no signature check).

    Always: tag 18 around an array of four; the protected header a byte string holding a map with
    ``alg`` ES256 and an 8-byte ``kid``; payload bytes; a 64-byte signature. With ``typ`` (a province
    publication): the protected header is exactly ``{alg, kid, typ}`` with that ``typ`` and the
    unprotected header is empty. Without (the card credential, SPEC.md §4.6 step 1): other protected
    labels and the unprotected map's contents are ignored. Raises :class:`CoseError` for anything else.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise CoseError("signed data must be bytes")
    if len(raw) > max_len:
        raise CoseError(f"signed data is {len(raw)} bytes, over {max_len}")
    outer = loads(bytes(raw), "envelope", canonical=canonical)
    if not isinstance(outer, cbor2.CBORTag) or outer.tag != c.COSE_SIGN1_TAG:
        raise CoseError("not a tagged COSE_Sign1")
    parts = outer.value
    if not isinstance(parts, list | tuple) or len(parts) != 4:
        raise CoseError("COSE_Sign1 must be an array of four")
    protected, unprotected, payload, signature = parts
    if not isinstance(protected, bytes):
        raise CoseError("protected header: expected a byte string")
    if not isinstance(unprotected, Mapping) or (typ is not None and unprotected):
        raise CoseError(
            "unprotected header: must be an empty map" if typ else "unprotected header: expected a map"
        )
    if not isinstance(payload, bytes):
        raise CoseError("payload: expected a byte string")
    if not isinstance(signature, bytes) or len(signature) != RAW_SIGNATURE_LEN:
        raise CoseError("signature: an ES256 signature is 64 bytes")
    header = loads(protected, "protected header", canonical=canonical)
    if not isinstance(header, Mapping):
        raise CoseError("protected header: expected a map")
    if typ is not None and set(header) != {c.COSE_HDR_ALG, c.COSE_HDR_KID, COSE_HDR_TYP}:
        raise CoseError(f"protected header: labels {sorted(map(repr, header))}, expected alg, kid, typ")
    alg = header.get(c.COSE_HDR_ALG)
    if not isinstance(alg, int) or isinstance(alg, bool) or alg != c.COSE_ALG_ES256:
        raise CoseError("algorithm must be ES256")
    kid = header.get(c.COSE_HDR_KID)
    if not isinstance(kid, bytes) or len(kid) != c.KEY_ID_LEN:
        raise CoseError(f"kid must be {c.KEY_ID_LEN} bytes")
    if typ is not None and header[COSE_HDR_TYP] != typ:
        raise CoseError(f"content type {header[COSE_HDR_TYP]!r}, expected {typ!r}")
    return Sign1(bytes(protected), header, bytes(payload), bytes(signature))

"""The issuer-signed card credential: a tagged COSE_Sign1 (ES256) carrying CWT claims (SPEC.md §4).

This module defines the byte format and the signature input. It encodes, decodes strictly, signs
(for the issuer / test vectors) and checks one signature against one key. Which keys to trust, expiry
and revocation are the terminal's business.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from card_applet_spec import constants as c
from card_applet_spec.cose import (
    CoseError,
    SigningKey,
    decode_sign1,
    loads,
    sig_structure,
    sign1,
    verify_raw_es256,
)


class CredentialError(ValueError):
    """The credential bytes do not follow the format."""


@dataclass(frozen=True)
class Claims:
    card_serial: bytes
    status_index: int
    holder_commit: bytes  # SHA-256('KHBS-HC2' || salt || holder_ref || details digest)[:16], §4.4
    name: str
    region: int
    card_key: bytes  # SEC1 compressed P-256 point, 33 bytes
    nik_masked: str
    issued_at: int
    expires_at: int
    schema: int = c.CREDENTIAL_SCHEMA_VERSION
    issuer: str = c.ISSUER

    def to_cwt(self) -> dict[int, Any]:
        khbs = {
            c.Claim.SCHEMA: self.schema,
            c.Claim.CARD_SERIAL: self.card_serial,
            c.Claim.STATUS_INDEX: self.status_index,
            c.Claim.HOLDER_COMMIT: self.holder_commit,
            c.Claim.NAME: self.name,
            c.Claim.REGION: self.region,
            c.Claim.CARD_KEY: self.card_key,
            c.Claim.NIK_MASKED: self.nik_masked,
        }
        return {
            c.CWT_ISS: self.issuer,
            c.CWT_IAT: self.issued_at,
            c.CWT_EXP: self.expires_at,
            c.CWT_KHBS: {int(k): v for k, v in khbs.items()},
        }


@dataclass(frozen=True)
class Credential:
    """A decoded credential: the claims plus what is needed to check the issuer signature."""

    claims: Claims
    kid: bytes
    protected: bytes
    payload: bytes
    signature: bytes  # raw r||s, 64 bytes
    raw: bytes

    def sig_structure(self) -> bytes:
        return sig_structure(self.protected, self.payload)

    def verify(self, issuer_public_key: ec.EllipticCurvePublicKey) -> bool:
        """True when ``signature`` is the issuer's ES256 signature over the Sig_structure."""
        return verify_raw_es256(issuer_public_key, self.signature, self.sig_structure())


def compressed_point(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def holder_ref(nik: str, card_serial: bytes) -> bytes:
    """scrypt(NIK, "KHBS-NIK" || card serial): matches a typed NIK to a card without storing it."""
    kdf = Scrypt(
        salt=c.HOLDER_REF_SALT_PREFIX + card_serial,
        length=c.HOLDER_REF_LEN,
        n=c.HOLDER_REF_SCRYPT_N,
        r=c.HOLDER_REF_SCRYPT_R,
        p=c.HOLDER_REF_SCRYPT_P,
    )
    if len(nik) != 16 or not nik.isascii() or not nik.isdigit():
        raise ValueError("a NIK is 16 ASCII digits")
    return kdf.derive(nik.encode("ascii"))


def personal_details_digest(nik: str, birth_date: str, sex: str, kk_number: str) -> bytes:
    """SHA-256 of the personal data of DF26 without the salt, canonically encoded (SPEC §4.4): the CBOR
    map ``{1: NIK, 2: birth date, 3: sex, 4: KK number}`` with text values, keys in this order, shortest
    heads. A terminal recomputes it from the fields it parsed, never from the bytes it received."""
    fields = {
        int(c.PersonalField.NIK): nik,
        int(c.PersonalField.BIRTH_DATE): birth_date,
        int(c.PersonalField.SEX): sex,
        int(c.PersonalField.KK_NUMBER): kk_number,
    }
    return hashlib.sha256(cbor2.dumps(fields)).digest()


def holder_commit(salt: bytes, holder_reference: bytes, details_digest: bytes) -> bytes:
    """Claim 4 (schema 2): SHA-256('KHBS-HC2' || salt || holder_ref || details digest)[:16] (SPEC §4.4).

    ``details_digest`` is :func:`personal_details_digest` of the DF26 fields, so the commitment binds the
    whole personal data object (NIK, birth date, sex, KK number, salt); the salt is only in DF26.
    """
    if len(salt) != c.HOLDER_SALT_LEN or len(holder_reference) != c.HOLDER_REF_LEN:
        raise ValueError("salt and holder reference are 16 bytes each")
    if len(details_digest) != 32:
        raise ValueError("the details digest is a SHA-256 (32 bytes)")
    message = c.DOMAIN_HOLDER_COMMIT + salt + holder_reference + details_digest
    return hashlib.sha256(message).digest()[: c.HOLDER_COMMIT_LEN]


def sign_credential(claims: Claims, issuer_key: SigningKey, *, deterministic: bool = True) -> bytes:
    """Encode and sign a credential (issuer side). Deterministic ECDSA (RFC 6979) by default."""
    if len(claims.name.encode("utf-8")) > c.NAME_MAX_BYTES:
        raise CredentialError(f"name longer than {c.NAME_MAX_BYTES} bytes")
    encoded = sign1(cbor2.dumps(claims.to_cwt()), issuer_key, deterministic=deterministic)
    if len(encoded) > c.MAX_CREDENTIAL_LEN:
        raise CredentialError(f"credential is {len(encoded)} bytes, over {c.MAX_CREDENTIAL_LEN}")
    return encoded


def _expect(value: object, typ: type, what: str) -> Any:
    if typ is dict:
        typ = Mapping  # cbor2 may give an immutable mapping inside tags
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise CredentialError(f"{what}: expected {typ.__name__}")
    return value


def decode_credential(raw: bytes) -> Credential:
    """Strictly parse credential bytes (no signature check): SPEC.md §4.6 step 1."""
    try:
        envelope = decode_sign1(raw, max_len=c.MAX_CREDENTIAL_LEN, canonical=True)
        cwt = loads(envelope.payload, "claims", canonical=True)
    except CoseError as exc:
        raise CredentialError(f"credential: {exc}") from exc
    cwt = _expect(cwt, dict, "claims")
    khbs = _expect(cwt.get(c.CWT_KHBS), dict, "KHBS claims")
    card_key = _expect(khbs.get(c.Claim.CARD_KEY), bytes, "card key")
    if len(card_key) != 33 or card_key[0] not in (2, 3):
        raise CredentialError("card key must be a compressed P-256 point")
    serial = _expect(khbs.get(c.Claim.CARD_SERIAL), bytes, "card serial")
    if len(serial) != c.CARD_SERIAL_LEN:
        raise CredentialError("card serial must be 8 bytes")
    claims = Claims(
        card_serial=serial,
        status_index=_expect(khbs.get(c.Claim.STATUS_INDEX), int, "status index"),
        holder_commit=_expect(khbs.get(c.Claim.HOLDER_COMMIT), bytes, "holder commitment"),
        name=_expect(khbs.get(c.Claim.NAME), str, "name"),
        region=_expect(khbs.get(c.Claim.REGION), int, "region"),
        card_key=card_key,
        nik_masked=_expect(khbs.get(c.Claim.NIK_MASKED), str, "masked NIK"),
        issued_at=_expect(cwt.get(c.CWT_IAT), int, "iat"),
        expires_at=_expect(cwt.get(c.CWT_EXP), int, "exp"),
        schema=_expect(khbs.get(c.Claim.SCHEMA), int, "schema"),
        issuer=_expect(cwt.get(c.CWT_ISS), str, "iss"),
    )
    _check_claims(claims)
    return Credential(
        claims, envelope.kid, envelope.protected, envelope.payload, envelope.signature, bytes(raw)
    )


def _check_claims(claims: Claims) -> None:
    if len(claims.holder_commit) != c.HOLDER_COMMIT_LEN:
        raise CredentialError(f"holder commitment must be {c.HOLDER_COMMIT_LEN} bytes")
    if not claims.name or len(claims.name.encode("utf-8")) > c.NAME_MAX_BYTES:
        raise CredentialError(f"name must be 1-{c.NAME_MAX_BYTES} bytes")
    if claims.region not in c.REGIONS:
        raise CredentialError(f"region {claims.region} is not a Kalimantan Tengah regency/city")
    masked = claims.nik_masked
    digits = set("0123456789")
    if len(masked) != 16 or not (set(masked[:4] + masked[12:]) <= digits and masked[4:12] == "*" * 8):
        raise CredentialError("masked NIK must look like 6271********0001")
    if len(claims.card_serial) != c.CARD_SERIAL_LEN or not 0 <= claims.status_index < 2**32:
        raise CredentialError("card serial or status index out of range")
    if not (0 <= claims.issued_at < 2**32 and 0 <= claims.expires_at < 2**32):
        raise CredentialError("iat and exp must be 32-bit Unix times")
    if claims.issuer != c.ISSUER:
        raise CredentialError(f"issuer {claims.issuer!r} is not {c.ISSUER!r}")

"""Strict parsers of the applet's answers (SPEC.md §5, §6), shared by every reader of them.

The terminal session (``terminal/card/session.py``) and the vector generator
(``card_applet_spec/vectorgen.py``) parse the card's answers here: the FCI, the signed authentication,
signed transaction records (DEBIT, READ LOG), grants, the card public key and the personal data object.
Every parser raises only :class:`ResponseError` on an answer that does not follow the contract (the
session turns it into its typed ``MalformedResponseError``); signatures are *parsed* here and *verified*
by whoever holds the key to trust.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import cbor2

from card_applet_spec import constants as c
from card_applet_spec.records import AuthBody, GrantBody, RecordError, TxRecord
from card_applet_spec.tlv import TlvError, iter_tlv, parse_single, parse_tlv, require

#: Length of an uncompressed P-256 point (04 || X || Y).
UNCOMPRESSED_POINT_LEN = 65


class ResponseError(ValueError):
    """The card answered 9000 but the data does not follow the contract."""


@dataclass(frozen=True)
class AppInfo:
    """The FCI of SELECT (§2.3)."""

    version: tuple[int, int]
    capabilities: int
    life_cycle: int
    serial: bytes | None
    log_capacity: int


@dataclass(frozen=True)
class SignedAuth:
    """The card's signed answer to INTERNAL AUTHENTICATE (SPEC.md §5.11)."""

    body: AuthBody
    body_bytes: bytes
    signature: bytes  # DER
    challenge: bytes  # the terminal's
    card_nonce: bytes  # the card's: valid for the next command only (VERIFY, RESET RETRY COUNTER, ...)

    def signed_message(self) -> bytes:
        return c.DOMAIN_AUTH + self.challenge + self.card_nonce + self.body_bytes


@dataclass(frozen=True)
class SignedTx:
    """A card-signed transaction record (from DEBIT or READ LOG)."""

    record: TxRecord
    record_bytes: bytes
    signature: bytes  # DER

    def signed_message(self) -> bytes:
        return c.DOMAIN_TX + self.record_bytes


@dataclass(frozen=True)
class SignedGrant:
    body: GrantBody
    body_bytes: bytes
    kid: bytes
    signature: bytes  # DER


@dataclass(frozen=True)
class PersonalData:
    nik: str
    birth_date: str
    sex: str
    kk_number: str
    holder_salt: bytes | None = None  # schema 2: the salt of the credential's holder commitment


def _malformed(what: str, exc: Exception) -> ResponseError:
    return ResponseError(f"{what}: {exc}")


def parse_fci(fci: bytes) -> AppInfo:
    """The FCI ``6F { 84 AID, A5 { 80 version, 81 caps, 82 life cycle, 83 serial?, 85 log capacity } }``."""
    try:
        outer = parse_tlv(parse_single(fci, c.TAG_FCI))
        if require(outer, c.TAG_DF_NAME) != c.AID:
            raise ResponseError("FCI names another application")
        prop = parse_tlv(require(outer, c.TAG_FCI_PROPRIETARY))
        version = require(prop, c.TAG_VERSION)
        caps = require(prop, c.TAG_CAPABILITIES)
        state = require(prop, c.TAG_LIFE_CYCLE)
        capacity = require(prop, c.TAG_LOG_CAPACITY)
        if len(version) != 2 or len(caps) != 1 or len(state) != 1 or len(capacity) != 1:
            raise ResponseError("FCI field of the wrong length")
    except TlvError as exc:
        raise _malformed("FCI", exc) from exc
    return AppInfo((version[0], version[1]), caps[0], state[0], prop.get(c.TAG_CARD_SERIAL), capacity[0])


def parse_signed_auth(answer: bytes, challenge: bytes) -> SignedAuth:
    """The answer ``E2 { C1 body, C8 card nonce, 9E signature }`` to INTERNAL AUTHENTICATE of
    ``challenge``."""
    try:
        objects = parse_tlv(parse_single(answer, c.TAG_SIGNED_AUTH))
        body_bytes = require(objects, c.TAG_AUTH_BODY)
        nonce = require(objects, c.TAG_CARD_NONCE)
        if len(nonce) != c.CARD_NONCE_LEN:
            raise ResponseError("card nonce of the wrong length")
        return SignedAuth(
            AuthBody.decode(body_bytes), body_bytes, require(objects, c.TAG_SIGNATURE), challenge, nonce
        )
    except (TlvError, RecordError) as exc:
        raise _malformed("authentication answer", exc) from exc


def parse_signed_tx(value: bytes) -> SignedTx:
    """The value of an ``E1`` (signed transaction) template: ``C2 record, 9E signature``."""
    try:
        objects = parse_tlv(value)
        record_bytes = require(objects, c.TAG_TX_RECORD)
        signature = require(objects, c.TAG_SIGNATURE)
        return SignedTx(TxRecord.decode(record_bytes), record_bytes, signature)
    except (TlvError, RecordError) as exc:
        raise _malformed("transaction record", exc) from exc


def parse_debit_answer(answer: bytes) -> SignedTx:
    """The answer to DEBIT: one ``E1`` template."""
    try:
        value = parse_single(answer, c.TAG_SIGNED_TX)
    except TlvError as exc:
        raise _malformed("DEBIT answer", exc) from exc
    return parse_signed_tx(value)


def parse_log(answer: bytes) -> list[SignedTx]:
    """The answer to READ LOG: ``E1`` templates, newest first (none when the log is empty)."""
    try:
        entries = list(iter_tlv(answer))
    except TlvError as exc:
        raise _malformed("log", exc) from exc
    if any(tag != c.TAG_SIGNED_TX for tag, _ in entries):
        raise ResponseError("unexpected object in the log")
    return [parse_signed_tx(value) for _, value in entries]


def parse_grants(answer: bytes) -> list[SignedGrant]:
    """GET DATA DF22: one ``E3 { C3 body, C4 kid, 9E signature }`` per grant (none when there are none)."""
    out = []
    try:
        for tag, value in iter_tlv(answer):
            if tag != c.TAG_SIGNED_GRANT:
                raise ResponseError(f"unexpected tag {tag:#x} in grants")
            objects = parse_tlv(value)
            body = require(objects, c.TAG_GRANT_BODY)
            out.append(
                SignedGrant(
                    GrantBody.decode(body),
                    body,
                    require(objects, c.TAG_KEY_ID),
                    require(objects, c.TAG_SIGNATURE),
                )
            )
    except (TlvError, RecordError) as exc:
        raise _malformed("grants", exc) from exc
    return out


def _public_key_template(answer: bytes, what: str) -> bytes:
    try:
        return require(parse_tlv(parse_single(answer, c.TAG_PUBLIC_KEY_TEMPLATE)), c.TAG_EC_POINT)
    except TlvError as exc:
        raise _malformed(what, exc) from exc


def parse_card_public_key(answer: bytes) -> bytes:
    """GET DATA DF27: ``7F49 { 86 point }``; the point's bytes, unchecked (a verifier compares them)."""
    return _public_key_template(answer, "card public key")


def parse_generated_key(answer: bytes) -> bytes:
    """The answer to GENERATE KEY: ``7F49 { 86 point }`` with an uncompressed P-256 point (65 bytes)."""
    point = _public_key_template(answer, "public key")
    if len(point) != UNCOMPRESSED_POINT_LEN or point[0] != 0x04:
        raise ResponseError("public key is not an uncompressed P-256 point")
    return point


def _text(d: Mapping[object, object], key: int, what: str) -> str:
    value = d.get(key)
    if not isinstance(value, str):
        raise ResponseError(f"personal data: {what} is not text")
    return value


def parse_personal_data(raw: bytes) -> PersonalData:
    """Parse DF26 strictly (SPEC.md §6.12): ResponseError only, whatever the card sends."""
    try:
        d = cbor2.loads(raw)
    except Exception as exc:  # cbor2 raises assorted types on hostile input: all mean "malformed"
        raise _malformed("personal data", exc) from exc
    if not isinstance(d, Mapping):
        raise ResponseError("personal data is not a CBOR map")
    nik = _text(d, c.PersonalField.NIK, "NIK")
    if len(nik) != 16 or not nik.isascii() or not nik.isdigit():
        raise ResponseError("personal data: NIK is not 16 ASCII digits")
    kk = d.get(c.PersonalField.KK_NUMBER, "")
    if not isinstance(kk, str) or (kk and (len(kk) != 16 or not kk.isascii() or not kk.isdigit())):
        raise ResponseError("personal data: KK number is not 16 ASCII digits")
    salt = d.get(c.PersonalField.HOLDER_SALT)
    if salt is not None and (not isinstance(salt, bytes) or len(salt) != c.HOLDER_SALT_LEN):
        raise ResponseError(f"personal data: holder salt is not {c.HOLDER_SALT_LEN} bytes")
    return PersonalData(
        nik=nik,
        birth_date=_text(d, c.PersonalField.BIRTH_DATE, "birth date"),
        sex=_text(d, c.PersonalField.SEX, "sex"),
        kk_number=kk,
        holder_salt=salt,
    )

"""The vectors' fixed inputs (SPEC.md §11.2): the card DRBG, keys, clock, holder and terminal values.

Everything a card or a terminal would draw at random is fixed here, so every exchange is byte-exact: the
card's only random source is :class:`Drbg`, the published test keys come from their seeds, the terminal's
challenges and nonces are :func:`fixed_bytes` of a label and the ephemeral key of each PIN envelope is
:func:`ephemeral_scalar` of one. **TEST ONLY**: the private keys here are published.
"""

from __future__ import annotations

import functools
import hashlib

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.constants import Program as P
from card_applet_spec.credential import (
    Claims,
    compressed_point,
    holder_commit,
    holder_ref,
    personal_details_digest,
    sign_credential,
)
from card_applet_spec.issuer import IssuerSigner, Signed, key_from_seed, uncompressed_point
from card_applet_spec.records import GrantBody, StatusBody, TerminalCertBody

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


# --- Deterministic random source -------------------------------------------------------------------


class Drbg:
    """SHA-256(seed || 4-byte big-endian counter), counter 0, 1, 2, ...; n bytes per call off the stream."""

    def __init__(self, seed: bytes) -> None:
        self.seed = bytes(seed)
        self._counter = 0
        self._buffer = b""

    def __call__(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += hashlib.sha256(self.seed + self._counter.to_bytes(4, "big")).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


# --- Fixed inputs ----------------------------------------------------------------------------------

CARD_RNG_SEED = b"KHBS test card 1"

#: Terminal clock for every DEBIT: 2027-01-01T00:00:00Z.
TERMINAL_TIME = 1798761600
GRANT_FROM = 1796083200  # 2026-12-01T00:00:00Z
GRANT_UNTIL = 1801439999  # 2027-01-31T23:59:59Z
CERT_UNTIL = 1830297599  # 2027-12-31T23:59:59Z
ISSUED_AT = 1796083200  # 2026-12-01T00:00:00Z
EXPIRES_AT = 1953849599  # 2031-11-30T23:59:59Z

SERIAL = bytes.fromhex("6271202600000042")
OTHER_SERIAL = bytes.fromhex("6271202600000043")
HOLDER_NIK = "6271011203850007"  # Palangka Raya, district 01, born 1985-03-12, male, serial 0007
HOLDER_NAME = "Yohanes Dimas Pratama"
HOLDER_KK = "6271010101100003"
HOLDER_BIRTH_DATE = "1985-03-12"
HOLDER_SEX = "L"
STATUS_INDEX = 42
#: The salt of the holder commitment (credential claim 4), kept in DF26 (SPEC §4.4).
HOLDER_SALT = hashlib.sha256(b"KHBS vector holder salt").digest()[:16]
OTHER_NIK = "6271015507900001"  # a NIK that is not the holder's (the clerk typed the wrong e-KTP)
PIN = "123456"
WRONG_PIN = "000000"
NEW_PIN = "246810"
RESET_PIN = "654321"

TERMINAL_ID = b"KHBS-T01"  # the counter terminal doing DEBITs
COUNTER_TERMINAL_ID = b"KHBS-C01"  # the certified terminal doing PIN resets

KEY_SEEDS = {
    "issuer_1": "KHBS test issuer 1",
    "issuer_2": "KHBS test issuer 2",
    "terminal_1": "KHBS test terminal 1",
    "rogue": "KHBS test rogue 1",
}
SIGNERS = {name: IssuerSigner(key_from_seed(seed)) for name, seed in KEY_SEEDS.items()}
ISSUER_1 = SIGNERS["issuer_1"]
ISSUER_2 = SIGNERS["issuer_2"]
TERMINAL_1 = SIGNERS["terminal_1"]
ROGUE = SIGNERS["rogue"]

#: The grants of the ``personalised_with_grants`` profile (program, amount, unit), all signed by issuer_1.
PROFILE_GRANTS: tuple[tuple[P, int, c.Unit], ...] = (
    (P.BLT, 600_000, c.Unit.RUPIAH),
    (P.SEMBAKO, 10_000, c.Unit.GRAM),
    (P.KESEHATAN, c.UNLIMITED, c.Unit.VISIT),
    (P.LAPANGAN_KERJA, c.GrantStatus.ELIGIBLE, c.Unit.STATUS),
)


def fixed_bytes(label: str, n: int) -> bytes:
    """Terminal-side 'random' values (challenges, nonces): SHA-256("KHBS vector " || label), first n."""
    return hashlib.sha256(b"KHBS vector " + label.encode()).digest()[:n]


def card_private_scalar(seed: bytes = CARD_RNG_SEED) -> int:
    """The scalar GENERATE KEY makes as the first use of the card DRBG (as the reference card does)."""
    rng = Drbg(seed)
    while True:
        scalar = int.from_bytes(rng(32), "big")
        if 1 <= scalar < _P256_ORDER:
            return scalar


CARD_KEY = ec.derive_private_key(card_private_scalar(), ec.SECP256R1())
CARD_POINT = uncompressed_point(CARD_KEY.public_key())
CARD_COMPRESSED = compressed_point(CARD_KEY.public_key())


@functools.cache
def holder_reference(nik: str = HOLDER_NIK) -> bytes:
    """holder_ref(NIK, SERIAL): scrypt, so computed once per NIK."""
    return holder_ref(nik, SERIAL)


def ephemeral_scalar(label: str) -> bytes:
    """The terminal's ephemeral PIN-envelope key for ``label`` (TEST ONLY: fixed so vectors are exact)."""
    value = int.from_bytes(hashlib.sha256(b"KHBS vector ephemeral " + label.encode()).digest(), "big")
    return (value % (_P256_ORDER - 1) + 1).to_bytes(32, "big")


def grant_body(
    program: P,
    amount: int,
    *,
    seq: int = 1,
    serial: bytes = SERIAL,
    kind: int | None = None,
    unit: int | None = None,
    valid_from: int = GRANT_FROM,
    valid_until: int = GRANT_UNTIL,
) -> GrantBody:
    default_unit = next((u for p, _, u in PROFILE_GRANTS if p == program), c.Unit.RUPIAH)
    return GrantBody(
        card_serial=serial,
        program=program,
        kind=c.PROGRAM_KIND[program] if kind is None else kind,
        unit=default_unit if unit is None else unit,
        grant_seq=seq,
        amount=amount,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def forged(body: bytes, message: bytes, kid: bytes) -> Signed:
    """Signed by the rogue key but claiming key id ``kid``."""
    return Signed(body, kid, ROGUE.sign(message))


def status_signed(target: int, seq: int, signer: IssuerSigner = ISSUER_1, serial: bytes = SERIAL) -> Signed:
    return signer.status(StatusBody(serial, target, seq))


def terminal_cert(
    *,
    roles: int = c.TerminalRole.PIN_RESET,
    valid_until: int = CERT_UNTIL,
    signer: IssuerSigner = ISSUER_1,
    point: bytes = TERMINAL_1.point,
) -> Signed:
    return signer.terminal_cert(TerminalCertBody(COUNTER_TERMINAL_ID, roles, valid_until, point))


def credential_bytes() -> bytes:
    claims = Claims(
        card_serial=SERIAL,
        status_index=STATUS_INDEX,
        holder_commit=holder_commit(
            HOLDER_SALT,
            holder_reference(),
            personal_details_digest(HOLDER_NIK, HOLDER_BIRTH_DATE, HOLDER_SEX, HOLDER_KK),
        ),
        name=HOLDER_NAME,
        region=int(HOLDER_NIK[:4]),
        card_key=compressed_point(CARD_KEY.public_key()),
        nik_masked=f"{HOLDER_NIK[:4]}********{HOLDER_NIK[-4:]}",
        issued_at=ISSUED_AT,
        expires_at=EXPIRES_AT,
    )
    return sign_credential(claims, ISSUER_1.key)


def personal_data_bytes() -> bytes:
    return cbor2.dumps(
        {
            int(c.PersonalField.NIK): HOLDER_NIK,
            int(c.PersonalField.BIRTH_DATE): HOLDER_BIRTH_DATE,
            int(c.PersonalField.SEX): HOLDER_SEX,
            int(c.PersonalField.KK_NUMBER): HOLDER_KK,
            int(c.PersonalField.HOLDER_SALT): HOLDER_SALT,
        }
    )

"""Deterministic receipt fixtures: fixed keys (key_from_seed), a fixed time, RFC 6979 signatures.

Everything here is reproducible byte for byte, so golden files can be compared exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict, Unpack

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.credential import Claims, compressed_point, key_id, sign_credential
from card_applet_spec.issuer import key_from_seed
from card_applet_spec.records import TxRecord
from terminal.receipt import (
    WIB,
    EndOfDayReport,
    RedemptionReceipt,
    build_receipt,
    build_report,
)

ISSUER_SEED = "khbs-test-issuer-2026"
OTHER_ISSUER_SEED = "khbs-test-issuer-rogue"
#: 12 March 2026, 14:05 WIB.
FIXED_TIME = int(dt.datetime(2026, 3, 12, 14, 5, tzinfo=WIB).timestamp())
FULL_NIK = "6271034508900001"  # a woman born 05-08-1990 in Kota Palangka Raya
MASKED_NIK = "6271********0001"
TERMINAL_ID = b"PKY00012"
SITE = "Kantor Kelurahan Pahandut"
CLERK = "Siti Rahmawati"
DETERMINISTIC = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


@dataclass(frozen=True)
class Card:
    serial: bytes
    key: ec.EllipticCurvePrivateKey
    credential: bytes


@dataclass(frozen=True)
class SignedRecord:
    record: TxRecord
    record_bytes: bytes
    signature: bytes  # DER


def issuer_key(seed: str = ISSUER_SEED) -> ec.EllipticCurvePrivateKey:
    return key_from_seed(seed)


def issuer_lookup(*keys: ec.EllipticCurvePrivateKey) -> Callable[[bytes], ec.EllipticCurvePublicKey | None]:
    """A trust list with the given issuer keys (default: the test issuer)."""
    table = {key_id(k.public_key()): k.public_key() for k in (keys or (issuer_key(),))}
    return table.get


def make_card(
    serial: bytes = bytes.fromhex("6271000000001234"),
    *,
    name: str = "BUDI SANTOSO",
    nik_masked: str = MASKED_NIK,
    issuer: ec.EllipticCurvePrivateKey | None = None,
) -> Card:
    card_key = key_from_seed("card-" + serial.hex())
    claims = Claims(
        card_serial=serial,
        status_index=1234,
        holder_commit=bytes(range(16)),
        name=name,
        region=int(nik_masked[:4]),
        card_key=compressed_point(card_key.public_key()),
        nik_masked=nik_masked,
        issued_at=FIXED_TIME - 86400 * 30,
        expires_at=FIXED_TIME + 86400 * 365 * 5,
    )
    return Card(serial, card_key, sign_credential(claims, issuer or issuer_key()))


def sign_record(
    card: Card,
    *,
    program: int = c.Program.BLT,
    amount: int = 300_000,
    balance_after: int = 300_000,
    tx_counter: int = 7,
    tx_type: int = c.TxType.DEBIT,
    terminal_time: int = FIXED_TIME,
    nonce: bytes = bytes.fromhex("0102030405060708"),
) -> SignedRecord:
    record = TxRecord(
        tx_type=tx_type,
        card_serial=card.serial,
        tx_counter=tx_counter,
        program=program,
        grant_seq=1,
        amount=amount,
        balance_after=balance_after,
        terminal_id=TERMINAL_ID,
        terminal_nonce=nonce,
        terminal_time=terminal_time,
    )
    signature = card.key.sign(record.signed_message(), DETERMINISTIC)
    return SignedRecord(record, record.encode(), signature)


class RecordKw(TypedDict, total=False):
    program: int
    amount: int
    balance_after: int
    tx_counter: int
    tx_type: int
    terminal_time: int
    nonce: bytes


def receipt(
    card: Card | None = None,
    *,
    unit: int = c.Unit.RUPIAH,
    revocation_age: dt.timedelta | None = dt.timedelta(hours=3, minutes=12),
    reprint: bool = False,
    **record_kw: Unpack[RecordKw],
) -> RedemptionReceipt:
    card = card or make_card()
    signed = sign_record(card, **record_kw)
    return build_receipt(
        credential=card.credential,
        record=signed.record_bytes,
        signature=signed.signature,
        unit=unit,
        site=SITE,
        clerk=CLERK,
        revocation_age=revocation_age,
        reprint=reprint,
    )


def end_of_day_report() -> EndOfDayReport:
    return build_report(
        day=dt.date(2026, 3, 12),
        site=SITE,
        terminal_id=TERMINAL_ID.decode(),
        clerk=CLERK,
        printed_at=dt.datetime.fromtimestamp(FIXED_TIME + 3 * 3600, WIB),
        per_program={
            c.Program.BLT: (42, 12_600_000),
            c.Program.SEMBAKO: (87, 435_500),
            c.Program.KESEHATAN: (15, 0),
        },
        units={
            c.Program.BLT: c.Unit.RUPIAH,
            c.Program.SEMBAKO: c.Unit.GRAM,
            c.Program.KESEHATAN: c.Unit.VISIT,
        },
        refusals={"wrong_pin": 5, "insufficient_balance": 2, "revoked": 1},
        voids=1,
    )

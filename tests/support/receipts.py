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
from card_applet_spec.cose import key_id
from card_applet_spec.credential import Claims, compressed_point, sign_credential
from card_applet_spec.issuer import key_from_seed
from card_applet_spec.records import ReceiptCertBody, TxRecord
from province.clock import WIB
from province.receipt_qr import ReceiptCert, ReceiptKind, ReceiptSigner, TerminalAttestation
from terminal.ledger import ReprintLine, VoidLine
from terminal.receipt import (
    EndOfDayReport,
    RedemptionReceipt,
    VoidMark,
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
TERMINAL_KEY_SEED = "khbs-test-receipts-PKY00012"
#: The counter's receipt certificate: one year around the fixed time.
CERT_FROM = FIXED_TIME - 10 * 86400
CERT_UNTIL = FIXED_TIME + 355 * 86400
#: The longest texts a receipt prints (benchmark and size tests): a 48-byte holder name (the
#: credential's limit), the longest programme name, and site / clerk at the printed caps.
LONGEST_NAME = "MUHAMMAD ABDURRAHMAN WAHYUDI SETIAWAN PRATAMA SY"
LONGEST_SITE = "Kantor Kecamatan Katingan Hilir, Kasongan"
LONGEST_CLERK = "Fransiskus Xaverius Nugroho"


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


@dataclass(frozen=True)
class IssuerWindow:
    """An issuer key with its window, as ``province.trust.IssuerKeyEntry`` has it."""

    public_key: ec.EllipticCurvePublicKey
    issue_from: int = 0
    issue_until: int = 2**32 - 1
    verify_until: int = 2**32 - 1


@dataclass(frozen=True)
class IssuerWindows:
    """A trust list in miniature: ``issuer_for(kid, issued_at, now)`` honours each key's window."""

    keys: dict[bytes, IssuerWindow]

    def issuer_for(self, kid: bytes, issued_at: int, now: float) -> IssuerWindow | None:
        entry = self.keys.get(kid)
        if (
            entry is None
            or not entry.issue_from <= issued_at <= entry.issue_until
            or now > entry.verify_until
        ):
            return None
        return entry

    @classmethod
    def of(cls, key: ec.EllipticCurvePrivateKey | None = None, **window: int) -> IssuerWindows:
        k = key or issuer_key()
        return cls({key_id(k.public_key()): IssuerWindow(k.public_key(), **window)})


def receipt_signer(
    terminal_id: bytes = TERMINAL_ID,
    *,
    valid_from: int = CERT_FROM,
    valid_until: int = CERT_UNTIL,
    issuer: ec.EllipticCurvePrivateKey | None = None,
    key_seed: str = TERMINAL_KEY_SEED,
) -> ReceiptSigner:
    """A counter terminal's receipt key certified by ``issuer`` (default: the test issuer)."""
    issuer = issuer or issuer_key()
    key = key_from_seed(key_seed)
    body = ReceiptCertBody(terminal_id, valid_from, valid_until, compressed_point(key.public_key()))
    cert = ReceiptCert.issue(body, key_id(issuer.public_key()), lambda m: issuer.sign(m, DETERMINISTIC))
    return ReceiptSigner(cert, key)


def attest(
    signed: SignedRecord, signer: ReceiptSigner | None = None, kind: ReceiptKind = ReceiptKind.RECEIPT
) -> TerminalAttestation:
    return (signer or receipt_signer()).attest(kind, signed.record_bytes, signed.signature)


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
    copy_no: int = 0,
    signer: ReceiptSigner | None = None,
    unsigned: bool = False,
    void: VoidMark | None = None,
    site: str = SITE,
    clerk: str = CLERK,
    **record_kw: Unpack[RecordKw],
) -> RedemptionReceipt:
    card = card or make_card()
    signed = sign_record(card, **record_kw)
    kind = ReceiptKind.VOIDED if void is not None else ReceiptKind.RECEIPT
    return build_receipt(
        credential=card.credential,
        record=signed.record_bytes,
        signature=signed.signature,
        unit=unit,
        site=site,
        clerk=clerk,
        revocation_age=revocation_age,
        attestation=None if unsigned else attest(signed, signer, kind),
        reprint=reprint,
        copy_no=copy_no,
        void=void,
    )


def void_mark(reason: str = "salah jumlah / wrong amount") -> VoidMark:
    return VoidMark(reason, CLERK, dt.datetime.fromtimestamp(FIXED_TIME + 600, WIB))


def longest_receipt(**kw: object) -> RedemptionReceipt:
    """The worst case for the 1 KB budget: longest names, the longest programme, big amounts."""
    card = make_card(name=LONGEST_NAME)
    return receipt(
        card,
        site=LONGEST_SITE,
        clerk=LONGEST_CLERK,
        program=c.Program.PELATIHAN if kw.get("check_in") else c.Program.MODAL_TANI_NELAYAN,
        tx_type=c.TxType.CHECK_IN if kw.get("check_in") else c.TxType.DEBIT,
        amount=0 if kw.get("check_in") else 99_999_999,
        balance_after=99_999_999,
        tx_counter=4_294_967_295,
        revocation_age=dt.timedelta(days=400),
        reprint=bool(kw.get("reprint")),
        copy_no=99 if kw.get("reprint") else 0,
        void=void_mark("x" * 64) if kw.get("void") else None,
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
        gross={
            c.Program.BLT: (43, 12_900_000),
            c.Program.SEMBAKO: (87, 435_500),
            c.Program.KESEHATAN: (15, 0),
        },
        voided={c.Program.BLT: (1, 300_000)},
        void_lines=[
            VoidLine(
                "DKA3XPGP",
                c.Program.BLT,
                c.Unit.RUPIAH,
                300_000,
                "salah jumlah",
                CLERK,
                FIXED_TIME + 600,
            )
        ],
        reprint_lines=[
            ReprintLine("DKA3XPGP", 1, CLERK, FIXED_TIME + 300),
            ReprintLine("DKA3XPGP", 2, CLERK, FIXED_TIME + 900, voided=True),
        ],
    )

"""The receipt QR payload: base45, strict decoding, offline verification and every kind of tampering."""

from __future__ import annotations

import os

import cbor2
import pytest

from card_applet_spec import constants as c
from card_applet_spec.credential import decode_credential
from terminal.receipt_qr import (
    BASE45_ALPHABET,
    QR_PREFIX,
    Base45Error,
    QrFailure,
    QrPayload,
    QrPayloadError,
    b45decode,
    b45encode,
    decode_qr_payload,
    encode_qr_payload,
    receipt_reference,
    verify_qr_payload,
)
from tests.support import receipts as fx

#: Characters of the QR alphanumeric mode (ISO/IEC 18004): what base45 was designed for.
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


# --- base45 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
        (b"", ""),
    ],
)
def test_base45_rfc9285_vectors(raw: bytes, text: str) -> None:
    assert b45encode(raw) == text
    assert b45decode(text) == raw


def test_base45_round_trips_every_length() -> None:
    for n in range(0, 70):
        data = os.urandom(n)
        assert b45decode(b45encode(data)) == data
    assert b45decode(b45encode(b"\xff\xff\xff")) == b"\xff\xff\xff"


@pytest.mark.parametrize("text", ["GGW", "GGWA", "A", "ABCD", "abc", "AB#", "ZZ"])
def test_base45_rejects_invalid_text(text: str) -> None:
    with pytest.raises(Base45Error):
        b45decode(text)


def test_alphabet_is_the_qr_alphanumeric_set() -> None:
    assert set(BASE45_ALPHABET) == QR_ALPHANUMERIC and len(BASE45_ALPHABET) == 45


# --- encode / decode / verify ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def card() -> fx.Card:
    return fx.make_card()


@pytest.fixture(scope="module")
def signed(card: fx.Card) -> fx.SignedRecord:
    return fx.sign_record(card)


@pytest.fixture(scope="module")
def payload(card: fx.Card, signed: fx.SignedRecord) -> str:
    return encode_qr_payload(card.credential, signed.record_bytes, signed.signature)


def test_payload_uses_only_qr_alphanumeric_characters(payload: str) -> None:
    assert payload.startswith(QR_PREFIX)
    assert set(payload) <= QR_ALPHANUMERIC
    # [1, credential, record, DER signature] in CBOR, 1.5 characters per byte
    assert len(payload) < 560


def test_decode_round_trip(card: fx.Card, signed: fx.SignedRecord, payload: str) -> None:
    decoded = decode_qr_payload(payload)
    assert decoded == QrPayload(card.credential, signed.record_bytes, signed.signature)
    assert decode_qr_payload(f"  {payload}\r\n") == decoded  # scanners add line ends


def test_verify_accepts_a_genuine_receipt(card: fx.Card, signed: fx.SignedRecord, payload: str) -> None:
    verified = verify_qr_payload(payload, fx.issuer_lookup())
    assert verified.record == signed.record
    assert verified.record_bytes == signed.record_bytes and verified.signature == signed.signature
    assert verified.card_serial == card.serial == verified.credential.claims.card_serial
    assert verified.kid == decode_credential(card.credential).kid
    assert verified.reference == receipt_reference(signed.record_bytes)
    assert verified.credential.claims.nik_masked == fx.MASKED_NIK


def test_verify_accepts_a_second_trusted_issuer(signed: fx.SignedRecord) -> None:
    other = fx.issuer_key(fx.OTHER_ISSUER_SEED)
    card = fx.make_card(issuer=other)
    record = fx.sign_record(card)
    text = encode_qr_payload(card.credential, record.record_bytes, record.signature)
    assert verify_qr_payload(text, fx.issuer_lookup(fx.issuer_key(), other)).record.amount == 300_000


def test_encode_refuses_parts_of_the_wrong_shape(card: fx.Card, signed: fx.SignedRecord) -> None:
    with pytest.raises(QrPayloadError) as err:
        encode_qr_payload(card.credential, signed.record_bytes[:-1], signed.signature)
    assert err.value.reason is QrFailure.RECORD_MALFORMED
    with pytest.raises(QrPayloadError) as err:
        encode_qr_payload(card.credential, signed.record_bytes, b"\x00" * 64)
    assert err.value.reason is QrFailure.SIGNATURE_MALFORMED


# --- tampering ------------------------------------------------------------------------------------


def _reencode(parts: list[object]) -> str:
    return QR_PREFIX + b45encode(cbor2.dumps(parts))


def _flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def _reason(text: str) -> QrFailure:
    with pytest.raises(QrPayloadError) as err:
        verify_qr_payload(text, fx.issuer_lookup())
    return err.value.reason


# Offsets in the 47-byte record: version 0, type 1, serial 2-9, counter 10-13, program 14, grant seq
# 15-18, amount 19-22, balance 23-26, terminal 27-34, nonce 35-42, time 43-46.
@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (22, QrFailure.CARD_SIGNATURE),  # amount
        (26, QrFailure.CARD_SIGNATURE),  # balance after
        (13, QrFailure.CARD_SIGNATURE),  # transaction counter
        (46, QrFailure.CARD_SIGNATURE),  # time
        (9, QrFailure.SERIAL_MISMATCH),  # card serial
        (0, QrFailure.RECORD_MALFORMED),  # format version
    ],
)
def test_flipped_record_byte_fails(
    card: fx.Card, signed: fx.SignedRecord, offset: int, reason: QrFailure
) -> None:
    tampered = _flip(signed.record_bytes, offset)
    assert _reason(_reencode([1, card.credential, tampered, signed.signature])) is reason


def test_flipped_credential_byte_fails(card: fx.Card, signed: fx.SignedRecord) -> None:
    name_at = card.credential.index(b"BUDI SANTOSO")
    tampered = _flip(card.credential, name_at)  # "CUDI SANTOSO": still well-formed, signature breaks
    assert decode_credential(tampered).claims.name == "CUDI SANTOSO"
    assert (
        _reason(_reencode([1, tampered, signed.record_bytes, signed.signature])) is QrFailure.ISSUER_SIGNATURE
    )


def test_changed_card_key_in_credential_fails(card: fx.Card, signed: fx.SignedRecord) -> None:
    key = decode_credential(card.credential).claims.card_key
    at = card.credential.index(key) + 10
    tampered = _flip(card.credential, at)
    assert (
        _reason(_reencode([1, tampered, signed.record_bytes, signed.signature])) is QrFailure.ISSUER_SIGNATURE
    )


def test_unknown_kid_fails(card: fx.Card, signed: fx.SignedRecord) -> None:
    kid = decode_credential(card.credential).kid
    tampered = card.credential.replace(kid, _flip(kid, 0))
    assert (
        _reason(_reencode([1, tampered, signed.record_bytes, signed.signature])) is QrFailure.UNKNOWN_ISSUER
    )


def test_credential_from_an_untrusted_issuer_fails() -> None:
    rogue = fx.make_card(issuer=fx.issuer_key(fx.OTHER_ISSUER_SEED))
    record = fx.sign_record(rogue)
    text = encode_qr_payload(rogue.credential, record.record_bytes, record.signature)
    assert _reason(text) is QrFailure.UNKNOWN_ISSUER


def test_swapped_signature_fails(card: fx.Card, signed: fx.SignedRecord) -> None:
    other = fx.sign_record(card, tx_counter=8, amount=100_000)
    assert _reason(_reencode([1, card.credential, signed.record_bytes, other.signature])) is (
        QrFailure.CARD_SIGNATURE
    )


def test_another_cards_credential_fails(signed: fx.SignedRecord) -> None:
    stranger = fx.make_card(bytes.fromhex("6271000000009999"), name="ANI LESTARI")
    assert _reason(_reencode([1, stranger.credential, signed.record_bytes, signed.signature])) is (
        QrFailure.SERIAL_MISMATCH
    )


def test_record_signed_by_another_card_with_forged_serial_fails(card: fx.Card) -> None:
    """A second card signs a record carrying the first card's serial: the key is not the certified one."""
    impostor = fx.Card(card.serial, fx.make_card(bytes.fromhex("6271000000007777")).key, card.credential)
    forged = fx.sign_record(impostor)
    assert _reason(_reencode([1, card.credential, forged.record_bytes, forged.signature])) is (
        QrFailure.CARD_SIGNATURE
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("HC1:ABC", QrFailure.PREFIX),
        ("khbs1:abc", QrFailure.PREFIX),
        (QR_PREFIX + "A", QrFailure.ENCODING),
        (QR_PREFIX + "ab", QrFailure.ENCODING),
        (QR_PREFIX + b45encode(b"\xff\x00"), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps({"a": 1})), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps([1, b"", b""])), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps([1, "x", b"", b""])), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps([True, b"", b"", b""])), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps([2, b"", b"", b""])), QrFailure.VERSION),
    ],
)
def test_malformed_payloads(text: str, reason: QrFailure) -> None:
    with pytest.raises(QrPayloadError) as err:
        decode_qr_payload(text)
    assert err.value.reason is reason


def test_trailing_or_non_canonical_cbor_is_refused(card: fx.Card, signed: fx.SignedRecord) -> None:
    raw = cbor2.dumps([1, card.credential, signed.record_bytes, signed.signature])
    assert _reason(QR_PREFIX + b45encode(raw + b"\x00")) is QrFailure.STRUCTURE
    # the version as a two-byte integer (0x19 0x0001) instead of the shortest form
    assert _reason(QR_PREFIX + b45encode(b"\x84\x19\x00\x01" + raw[2:])) is QrFailure.STRUCTURE


def test_garbage_credential_and_short_record(card: fx.Card, signed: fx.SignedRecord) -> None:
    assert _reason(_reencode([1, b"\xa0" * 40, signed.record_bytes, signed.signature])) is (
        QrFailure.CREDENTIAL_MALFORMED
    )
    assert _reason(_reencode([1, card.credential, signed.record_bytes[:40], signed.signature])) is (
        QrFailure.RECORD_MALFORMED
    )
    assert _reason(_reencode([1, card.credential, signed.record_bytes, b"\x30\x02\x00"])) is (
        QrFailure.SIGNATURE_MALFORMED
    )


def test_no_single_bit_flip_anywhere_verifies(card: fx.Card, signed: fx.SignedRecord) -> None:
    """Exhaustive: flip each bit of the payload's CBOR in turn; nothing may verify."""
    raw = cbor2.dumps([1, card.credential, signed.record_bytes, signed.signature])
    lookup = fx.issuer_lookup()
    for index in range(len(raw)):
        for bit in range(8):
            text = QR_PREFIX + b45encode(_flip(raw, index, 1 << bit))
            with pytest.raises(QrPayloadError):
                verify_qr_payload(text, lookup)


def test_check_in_record_verifies() -> None:
    card = fx.make_card()
    record = fx.sign_record(
        card, program=c.Program.KESEHATAN, tx_type=c.TxType.CHECK_IN, amount=0, balance_after=c.UNLIMITED
    )
    text = encode_qr_payload(card.credential, record.record_bytes, record.signature)
    assert verify_qr_payload(text, fx.issuer_lookup()).record.tx_type == c.TxType.CHECK_IN

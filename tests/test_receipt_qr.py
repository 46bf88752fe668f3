"""The receipt QR payload: base45, both forms, strict decoding, offline verification (card and terminal)
and every kind of tampering, including receipts made at home with a genuine card."""

from __future__ import annotations

import os

import cbor2
import pytest

from card_applet_spec import constants as c
from card_applet_spec.cose import der_to_raw
from card_applet_spec.credential import decode_credential
from card_applet_spec.records import ReceiptCertBody, RecordError
from province.receipt_qr import (
    BASE45_ALPHABET,
    QR_PREFIX,
    QR_PREFIX_BYTES,
    QR_PREFIX_V1,
    Base45Error,
    QrFailure,
    QrPayload,
    QrPayloadError,
    ReceiptCert,
    ReceiptKind,
    ReceiptSigner,
    ReceiptSigningError,
    TerminalAttestation,
    attestation_matches,
    b45decode,
    b45encode,
    decode_qr_payload,
    encode_qr_content,
    encode_qr_payload,
    qr_text,
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
def attestation(signed: fx.SignedRecord) -> TerminalAttestation:
    return fx.attest(signed)


@pytest.fixture(scope="module")
def payload(card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation) -> str:
    return encode_qr_payload(card.credential, signed.record_bytes, signed.signature, attestation)


NOW = fx.FIXED_TIME + 3600


def _verify(data: str | bytes) -> object:
    return verify_qr_payload(data, fx.IssuerWindows.of(), NOW)


def _reason(data: str | bytes, issuers: object = None) -> QrFailure:
    with pytest.raises(QrPayloadError) as err:
        verify_qr_payload(data, issuers or fx.IssuerWindows.of(), NOW)  # type: ignore[arg-type]
    return err.value.reason


def test_text_form_uses_only_qr_alphanumeric_characters(payload: str) -> None:
    assert payload.startswith(QR_PREFIX)
    assert set(payload) <= QR_ALPHANUMERIC


def test_printed_form_is_the_same_payload_in_bytes(
    card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation, payload: str
) -> None:
    content = encode_qr_content(card.credential, signed.record_bytes, signed.signature, attestation)
    assert content.startswith(QR_PREFIX_BYTES) and content[len(QR_PREFIX_BYTES)] == 0x87  # array of 7
    assert decode_qr_payload(content) == decode_qr_payload(payload)
    assert decode_qr_payload(content.decode("latin-1")) == decode_qr_payload(payload)  # scanner as text
    assert decode_qr_payload(payload.encode()) == decode_qr_payload(payload)  # text handed over as bytes
    assert qr_text(content) == payload
    # the printed form is what fits the 1 KB receipt: 2/3 of the text form
    assert len(content) < 0.7 * len(payload) and len(content) < 560


def test_decode_round_trip(
    card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation, payload: str
) -> None:
    decoded = decode_qr_payload(payload)
    assert decoded == QrPayload(
        card.credential,
        signed.record_bytes,
        der_to_raw(signed.signature),
        ReceiptKind.RECEIPT,
        attestation.cert,
        attestation.signature,
    )
    assert decode_qr_payload(f"  {payload}\r\n") == decoded  # scanners add line ends


def test_verify_accepts_a_genuine_counter_receipt(
    card: fx.Card, signed: fx.SignedRecord, payload: str
) -> None:
    verified = verify_qr_payload(payload, fx.IssuerWindows.of(), NOW)
    assert verified.record == signed.record
    assert verified.record_bytes == signed.record_bytes and verified.signature == der_to_raw(signed.signature)
    assert verified.card_serial == card.serial == verified.credential.claims.card_serial
    assert verified.kid == decode_credential(card.credential).kid
    assert verified.reference == receipt_reference(signed.record_bytes)
    assert verified.credential.claims.nik_masked == fx.MASKED_NIK
    assert verified.terminal is not None and verified.terminal.terminal_id == fx.TERMINAL_ID
    assert verified.kind is ReceiptKind.RECEIPT


def test_verify_accepts_a_second_trusted_issuer() -> None:
    other = fx.issuer_key(fx.OTHER_ISSUER_SEED)
    card = fx.make_card(issuer=other)
    record = fx.sign_record(card)
    text = encode_qr_payload(card.credential, record.record_bytes, record.signature, fx.attest(record))
    assert verify_qr_payload(text, fx.issuer_lookup(fx.issuer_key(), other)).record.amount == 300_000


def test_encode_refuses_parts_of_the_wrong_shape(card: fx.Card, signed: fx.SignedRecord) -> None:
    with pytest.raises(QrPayloadError) as err:
        encode_qr_payload(card.credential, signed.record_bytes[:-1], signed.signature)
    assert err.value.reason is QrFailure.RECORD_MALFORMED
    with pytest.raises(QrPayloadError) as err:
        encode_qr_payload(card.credential, signed.record_bytes, b"\x00" * 63)
    assert err.value.reason is QrFailure.SIGNATURE_MALFORMED
    stranger = fx.make_card(bytes.fromhex("6271000000009999"), name="ANI LESTARI")
    with pytest.raises(QrPayloadError) as err:
        encode_qr_payload(stranger.credential, signed.record_bytes, signed.signature)
    assert err.value.reason is QrFailure.SERIAL_MISMATCH


# --- issuer key windows ---------------------------------------------------------------------------


def test_issuer_key_windows_are_honoured(payload: str) -> None:
    issued_at = fx.FIXED_TIME - 86400 * 30  # the fixture card's iat
    # the key stopped issuing before this card was issued: the credential cannot be its
    assert _reason(payload, fx.IssuerWindows.of(issue_until=issued_at - 1)) is QrFailure.UNKNOWN_ISSUER
    # the key is withdrawn (verify_until passed): nothing it signed verifies any more
    assert _reason(payload, fx.IssuerWindows.of(verify_until=NOW - 1)) is QrFailure.UNKNOWN_ISSUER
    # the terminal certificate starts after the key stopped issuing (issued with a retired key)
    late = fx.IssuerWindows.of(issue_until=fx.CERT_FROM - 1)
    assert _reason(payload, late) is QrFailure.TERMINAL_CERT_UNKNOWN_ISSUER


# --- the terminal part: a receipt made at home is never genuine --------------------------------------


def test_home_made_receipt_without_terminal_signature_is_not_genuine(
    card: fx.Card, signed: fx.SignedRecord
) -> None:
    """The holder's card really signed the record (a home reader can make it sign anything)."""
    unsigned = encode_qr_payload(card.credential, signed.record_bytes, signed.signature)
    assert _reason(unsigned) is QrFailure.TERMINAL_UNSIGNED
    assert _reason(encode_qr_content(card.credential, signed.record_bytes, signed.signature)) is (
        QrFailure.TERMINAL_UNSIGNED
    )


def test_old_format_is_never_genuine(card: fx.Card, signed: fx.SignedRecord) -> None:
    v1 = QR_PREFIX_V1 + b45encode(cbor2.dumps([1, card.credential, signed.record_bytes, signed.signature]))
    assert decode_qr_payload(v1).version == 1
    assert _reason(v1) is QrFailure.TERMINAL_UNSIGNED
    # the card checks still run first: a tampered old receipt says what is wrong with it
    tampered = _flip(signed.record_bytes, 22)
    v1_bad = QR_PREFIX_V1 + b45encode(cbor2.dumps([1, card.credential, tampered, signed.signature]))
    assert _reason(v1_bad) is QrFailure.CARD_SIGNATURE


def _home_signer(**kw: object) -> ReceiptSigner:
    """A terminal key certified by the attacker (not the issuer), for the record's terminal id."""
    return fx.receipt_signer(issuer=fx.issuer_key(fx.OTHER_ISSUER_SEED), key_seed="home", **kw)  # type: ignore[arg-type]


def test_forged_terminal_certificate_is_refused(card: fx.Card, signed: fx.SignedRecord) -> None:
    forged = fx.attest(signed, _home_signer())
    text = encode_qr_payload(card.credential, signed.record_bytes, signed.signature, forged)
    assert _reason(text) is QrFailure.TERMINAL_CERT_UNKNOWN_ISSUER
    # the same, claiming the genuine issuer's kid: the issuer's signature over the certificate fails
    genuine = fx.receipt_signer().cert
    body = ReceiptCertBody(fx.TERMINAL_ID, fx.CERT_FROM, fx.CERT_UNTIL, _home_signer().cert.body.public_key)
    fake = ReceiptCert(body, genuine.kid, genuine.signature)
    att = ReceiptSigner(fake, _home_signer().key).attest(
        ReceiptKind.RECEIPT, signed.record_bytes, signed.signature
    )
    text = encode_qr_payload(card.credential, signed.record_bytes, signed.signature, att)
    assert _reason(text) is QrFailure.TERMINAL_CERT_SIGNATURE


def test_genuine_certificate_with_a_forged_terminal_signature_is_refused(
    card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation
) -> None:
    """Copying a real counter's certificate off a receipt does not give its key."""
    home = fx.attest(signed, _home_signer())
    stolen_cert = TerminalAttestation(attestation.cert, home.signature)
    text = encode_qr_payload(card.credential, signed.record_bytes, signed.signature, stolen_cert)
    assert _reason(text) is QrFailure.TERMINAL_SIGNATURE
    # nor does replaying the terminal's signature of another receipt
    other = fx.sign_record(card, tx_counter=8, amount=100_000)
    replay = TerminalAttestation(attestation.cert, fx.attest(other).signature)
    text = encode_qr_payload(card.credential, signed.record_bytes, signed.signature, replay)
    assert _reason(text) is QrFailure.TERMINAL_SIGNATURE


def test_another_terminals_certificate_is_refused(card: fx.Card, signed: fx.SignedRecord) -> None:
    """A receipt naming terminal PKY00012, signed by a genuine certified terminal elsewhere."""
    elsewhere = fx.receipt_signer(b"KTG00001", key_seed="another counter")
    with pytest.raises(ReceiptSigningError):
        elsewhere.attest(ReceiptKind.RECEIPT, signed.record_bytes, signed.signature)
    raw = der_to_raw(signed.signature)
    sig = elsewhere.key.sign(b"KHBS-RC1" + signed.record_bytes + raw, fx.DETERMINISTIC)
    att = TerminalAttestation(elsewhere.cert.encode(), der_to_raw(sig))
    text = encode_qr_payload(card.credential, signed.record_bytes, signed.signature, att)
    assert _reason(text) is QrFailure.TERMINAL_MISMATCH


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [(fx.FIXED_TIME - 400 * 86400, fx.FIXED_TIME - 1), (fx.FIXED_TIME + 1, fx.FIXED_TIME + 86400)],
)
def test_record_time_outside_the_certificate_window_is_refused(
    card: fx.Card, signed: fx.SignedRecord, valid_from: int, valid_until: int
) -> None:
    """An expired certificate (or one not yet valid) — e.g. a stolen old terminal key."""
    cert = fx.receipt_signer(valid_from=valid_from, valid_until=valid_until)
    with pytest.raises(ReceiptSigningError):
        cert.attest(ReceiptKind.RECEIPT, signed.record_bytes, signed.signature)
    raw = der_to_raw(signed.signature)
    sig = cert.key.sign(b"KHBS-RC1" + signed.record_bytes + raw, fx.DETERMINISTIC)
    att = TerminalAttestation(cert.cert.encode(), der_to_raw(sig))
    text = encode_qr_payload(card.credential, signed.record_bytes, signed.signature, att)
    assert _reason(text) is QrFailure.TERMINAL_CERT_NOT_VALID


def test_a_void_verifies_as_voided_and_cannot_be_turned_into_a_receipt(
    card: fx.Card, signed: fx.SignedRecord
) -> None:
    void = fx.attest(signed, kind=ReceiptKind.VOIDED)
    text = encode_qr_payload(
        card.credential, signed.record_bytes, signed.signature, void, kind=ReceiptKind.VOIDED
    )
    assert _reason(text) is QrFailure.VOIDED
    as_receipt = encode_qr_payload(card.credential, signed.record_bytes, signed.signature, void)
    assert _reason(as_receipt) is QrFailure.TERMINAL_SIGNATURE  # the void signature is under its own tag
    unsigned_void = encode_qr_payload(
        card.credential, signed.record_bytes, signed.signature, kind=ReceiptKind.VOIDED
    )
    assert _reason(unsigned_void) is QrFailure.TERMINAL_UNSIGNED


def test_attestation_matches_only_its_own_record(
    signed: fx.SignedRecord, attestation: TerminalAttestation, card: fx.Card
) -> None:
    assert attestation_matches(attestation, ReceiptKind.RECEIPT, signed.record_bytes, signed.signature)
    assert not attestation_matches(attestation, ReceiptKind.VOIDED, signed.record_bytes, signed.signature)
    other = fx.sign_record(card, tx_counter=8)
    assert not attestation_matches(attestation, ReceiptKind.RECEIPT, other.record_bytes, other.signature)
    assert not attestation_matches(
        TerminalAttestation(b"\x00" * 122, attestation.signature),
        ReceiptKind.RECEIPT,
        signed.record_bytes,
        signed.signature,
    )


def test_receipt_cert_body_is_strict() -> None:
    body = fx.receipt_signer().cert.body
    assert ReceiptCertBody.decode(body.encode()) == body and ReceiptCertBody.SIZE == 50
    for bad in (
        body.encode()[:-1],
        b"\x02" + body.encode()[1:],
        body.encode()[:17] + b"\x04" + body.encode()[18:],
    ):
        with pytest.raises(RecordError):
            ReceiptCertBody.decode(bad)
    with pytest.raises(RecordError):  # window ends before it starts
        ReceiptCertBody.decode(ReceiptCertBody(b"PKY00012", 10, 9, body.public_key).encode())
    with pytest.raises(ValueError):  # a key that is not the certified one
        ReceiptSigner(fx.receipt_signer().cert, fx.issuer_key())


# --- tampering ------------------------------------------------------------------------------------


def _short(record: bytes) -> bytes:
    """The record as a version 2 payload carries it: without the card serial (bytes 2-9)."""
    return record[:2] + record[10:]


def _reencode(parts: list[object]) -> str:
    return QR_PREFIX + b45encode(cbor2.dumps(parts))


def _parts(card: fx.Card, signed: fx.SignedRecord, att: TerminalAttestation, **over: object) -> list[object]:
    values: dict[str, object] = {
        "credential": card.credential,
        "record": _short(signed.record_bytes),
        "sig": der_to_raw(signed.signature),
        "cert": att.cert,
        "tsig": att.signature,
    }
    values.update(over)
    return [2, 0, values["credential"], values["record"], values["sig"], values["cert"], values["tsig"]]


def _flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


# Offsets in the 47-byte record: version 0, type 1, serial 2-9, counter 10-13, program 14, grant seq
# 15-18, amount 19-22, balance 23-26, terminal 27-34, nonce 35-42, time 43-46.
@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (22, QrFailure.CARD_SIGNATURE),  # amount
        (26, QrFailure.CARD_SIGNATURE),  # balance after
        (13, QrFailure.CARD_SIGNATURE),  # transaction counter
        (34, QrFailure.CARD_SIGNATURE),  # terminal id
        (46, QrFailure.CARD_SIGNATURE),  # time
        (0, QrFailure.RECORD_MALFORMED),  # format version
    ],
)
def test_flipped_record_byte_fails(
    card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation, offset: int, reason: QrFailure
) -> None:
    tampered = _short(_flip(signed.record_bytes, offset))
    assert _reason(_reencode(_parts(card, signed, attestation, record=tampered))) is reason


def test_flipped_credential_byte_fails(
    card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation
) -> None:
    name_at = card.credential.index(b"BUDI SANTOSO")
    tampered = _flip(card.credential, name_at)  # "CUDI SANTOSO": still well-formed, signature breaks
    assert decode_credential(tampered).claims.name == "CUDI SANTOSO"
    assert (
        _reason(_reencode(_parts(card, signed, attestation, credential=tampered)))
        is QrFailure.ISSUER_SIGNATURE
    )


def test_changed_card_key_in_credential_fails(
    card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation
) -> None:
    key = decode_credential(card.credential).claims.card_key
    tampered = _flip(card.credential, card.credential.index(key) + 10)
    assert (
        _reason(_reencode(_parts(card, signed, attestation, credential=tampered)))
        is QrFailure.ISSUER_SIGNATURE
    )


def test_unknown_kid_fails(card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation) -> None:
    kid = decode_credential(card.credential).kid
    tampered = card.credential.replace(kid, _flip(kid, 0))
    assert (
        _reason(_reencode(_parts(card, signed, attestation, credential=tampered))) is QrFailure.UNKNOWN_ISSUER
    )


def test_credential_from_an_untrusted_issuer_fails() -> None:
    rogue = fx.make_card(issuer=fx.issuer_key(fx.OTHER_ISSUER_SEED))
    record = fx.sign_record(rogue)
    text = encode_qr_payload(rogue.credential, record.record_bytes, record.signature, fx.attest(record))
    assert _reason(text) is QrFailure.UNKNOWN_ISSUER


def test_swapped_signature_fails(
    card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation
) -> None:
    other = fx.sign_record(card, tx_counter=8, amount=100_000)
    parts = _parts(card, signed, attestation, sig=der_to_raw(other.signature))
    assert _reason(_reencode(parts)) is QrFailure.CARD_SIGNATURE


def test_another_cards_credential_fails(signed: fx.SignedRecord, attestation: TerminalAttestation) -> None:
    """The serial is not in the payload: the record is read with the stranger's serial and the card's
    signature no longer matches."""
    stranger = fx.make_card(bytes.fromhex("6271000000009999"), name="ANI LESTARI")
    parts = _parts(stranger, signed, attestation)
    assert _reason(_reencode(parts)) is QrFailure.CARD_SIGNATURE


def test_record_signed_by_another_card_with_forged_serial_fails(card: fx.Card) -> None:
    """A second card signs a record carrying the first card's serial: the key is not the certified one."""
    impostor = fx.Card(card.serial, fx.make_card(bytes.fromhex("6271000000007777")).key, card.credential)
    forged = fx.sign_record(impostor)
    text = encode_qr_payload(card.credential, forged.record_bytes, forged.signature, fx.attest(forged))
    assert _reason(text) is QrFailure.CARD_SIGNATURE


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("HC1:ABC", QrFailure.PREFIX),
        ("khbs2:abc", QrFailure.PREFIX),
        (QR_PREFIX + "A", QrFailure.ENCODING),
        (QR_PREFIX + "ab", QrFailure.ENCODING),
        (QR_PREFIX + b45encode(b"\xff\x00"), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps({"a": 1})), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps([2, 0, b"", b""])), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps([2, 0, "x", b"", b"", b"", b""])), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps([2, 7, b"", b"", b"", b"", b""])), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps([2, True, b"", b"", b"", b"", b""])), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps([True, 0, b"", b"", b"", b"", b""])), QrFailure.STRUCTURE),
        (QR_PREFIX + b45encode(cbor2.dumps([3, 0, b"", b"", b"", b"", b""])), QrFailure.VERSION),
        (QR_PREFIX + b45encode(cbor2.dumps([1, b"", b"", b""])), QrFailure.VERSION),
        (QR_PREFIX_V1 + b45encode(cbor2.dumps([2, b"", b"", b""])), QrFailure.VERSION),
        (b"\x00\xff", QrFailure.PREFIX),
        (QR_PREFIX + "\x87\u0100", QrFailure.ENCODING),
    ],
)
def test_malformed_payloads(text: str | bytes, reason: QrFailure) -> None:
    with pytest.raises(QrPayloadError) as err:
        decode_qr_payload(text)
    assert err.value.reason is reason


def test_trailing_or_non_canonical_cbor_is_refused(
    card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation
) -> None:
    raw = cbor2.dumps(_parts(card, signed, attestation))
    assert _reason(QR_PREFIX + b45encode(raw + b"\x00")) is QrFailure.STRUCTURE
    assert _reason(QR_PREFIX_BYTES + raw + b"\x00") is QrFailure.STRUCTURE
    # the version as a two-byte integer (0x19 0x0002) instead of the shortest form
    assert _reason(QR_PREFIX + b45encode(b"\x87\x19\x00\x02" + raw[2:])) is QrFailure.STRUCTURE


def test_garbage_parts(card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation) -> None:
    assert _reason(_reencode(_parts(card, signed, attestation, credential=b"\xa0" * 40))) is (
        QrFailure.CREDENTIAL_MALFORMED
    )
    assert _reason(_reencode(_parts(card, signed, attestation, record=signed.record_bytes))) is (
        QrFailure.RECORD_MALFORMED
    )
    assert _reason(_reencode(_parts(card, signed, attestation, sig=b"\x30\x02\x00"))) is (
        QrFailure.SIGNATURE_MALFORMED
    )
    assert _reason(_reencode(_parts(card, signed, attestation, cert=attestation.cert[:-1]))) is (
        QrFailure.TERMINAL_CERT_MALFORMED
    )
    assert _reason(_reencode(_parts(card, signed, attestation, tsig=b""))) is QrFailure.SIGNATURE_MALFORMED
    bad_key = attestation.cert[:17] + b"\x05" + attestation.cert[18:]
    assert _reason(_reencode(_parts(card, signed, attestation, cert=bad_key))) is (
        QrFailure.TERMINAL_CERT_MALFORMED
    )


def test_no_single_bit_flip_anywhere_verifies(
    card: fx.Card, signed: fx.SignedRecord, attestation: TerminalAttestation
) -> None:
    """Exhaustive: flip each bit of the printed payload in turn; nothing may verify."""
    content = encode_qr_content(card.credential, signed.record_bytes, signed.signature, attestation)
    issuers = fx.IssuerWindows.of()
    _verify(content)
    for index in range(len(content)):
        for bit in range(8):
            with pytest.raises(QrPayloadError):
                verify_qr_payload(_flip(content, index, 1 << bit), issuers, NOW)


def test_check_in_record_verifies() -> None:
    card = fx.make_card()
    record = fx.sign_record(
        card, program=c.Program.KESEHATAN, tx_type=c.TxType.CHECK_IN, amount=0, balance_after=c.UNLIMITED
    )
    text = encode_qr_payload(card.credential, record.record_bytes, record.signature, fx.attest(record))
    assert verify_qr_payload(text, fx.issuer_lookup()).record.tx_type == c.TxType.CHECK_IN

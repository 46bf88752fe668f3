"""Selection, the dispatcher, GET DATA and the check tap (SPEC §2.3, §5.1–§5.4, §5.11, §9.1)."""

from __future__ import annotations

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.credential import CredentialError, compressed_point, decode_credential
from card_applet_spec.tlv import tlv
from card_applet_spec.vectorkit import inputs as v
from conformance.cases.base import Case, Context, case
from conformance.cases.personalise import test_credential
from conformance.chip import OK, SW, TEST_ISSUERS, Chip, Mismatch, expect, fresh, verify_card_signature

CASES: list[Case] = []


@case(
    CASES,
    "select:fci",
    "2.3, 2.4",
    "SELECT answers the FCI byte for byte",
    "6F 22 84 AID A5 17 {80 0200, 81 0F/0E, 82 0F, 83 serial, 85 10}, 9000",
)
def _fci(chip: Chip, ctx: Context) -> str:
    info = chip.select()
    expect(info.life_cycle == c.LifeCycle.OPERATIONAL, "life cycle 0F", f"{info.life_cycle:02X}")
    return f"FCI as specified, capabilities {info.capabilities:02X}"


@case(
    CASES,
    "select:dispatcher",
    "5.1.3, 5.1.4, 5.1.7, 5.10",
    "dispatcher refusals, and a refused SELECT keeps the session",
    "other AID 6A82 (applet stays selected); CLA A0 6E00; 00 54 6D00; GET CHALLENGE 6D00; extended "
    "length 6700; chaining bit on VERIFY 6884",
)
def _dispatcher(chip: Chip, ctx: Context) -> str:
    chip.select()
    chip.raw(cmd.select(bytes.fromhex("A000000003000000")), SW.FILE_NOT_FOUND, "SELECT of another AID")
    expect(chip.get_data(c.DO_CARD_SERIAL) == chip.serial, "still selected after 6A82", "not selected")
    chip.raw(CommandApdu(0xA0, c.INS_SELECT, 4, 0, c.AID, le=256), SW.CLA_NOT_SUPPORTED, "SELECT CLA A0")
    chip.raw(bytes([0x00, c.INS_DEBIT, 0, 0]), SW.INS_NOT_SUPPORTED, "INS 54 with CLA 00")
    chip.raw(cmd.get_challenge_withdrawn(), SW.INS_NOT_SUPPORTED, "GET CHALLENGE (withdrawn)")
    chip.raw(
        bytes([0, c.INS_INTERNAL_AUTHENTICATE, 0, 0, 0, 0, 16]) + bytes(16),
        SW.WRONG_LENGTH,
        "extended-length APDU",
    )
    chip.raw(
        CommandApdu(0x10, c.INS_VERIFY, 0, c.PIN_REFERENCE, bytes(8)),
        SW.CHAINING_NOT_SUPPORTED,
        "VERIFY with the chaining bit",
    )
    return "6A82 (still selected), 6E00, 6D00, 6D00, 6700, 6884"


@case(
    CASES,
    "get_data:objects",
    "5.4, 4.6, 6.1",
    "the public data objects and the protected ones",
    "DF21 a test credential binding the chip's key and serial; DF24 the serial; DF27 7F49 43 86 41 key; "
    "DF25 the two test issuer keys; DF26 6982 without PIN; DF28 and DF29 6A88; command data 6700",
)
def _objects(chip: Chip, ctx: Context) -> str:
    chip.select()
    raw = chip.get_data(c.DO_CREDENTIAL)
    try:
        cred = decode_credential(raw)
    except CredentialError as exc:
        raise Mismatch("a credential that decodes strictly (§4.6)", str(exc)) from exc
    expect(
        cred.kid in TEST_ISSUERS and cred.verify(TEST_ISSUERS[cred.kid].key.public_key()),
        "signed by a test issuer",
        cred.kid.hex(),
    )
    expect(raw == test_credential(chip.serial, chip.point), "DF21 = the credential written", "other bytes")
    expect(chip.get_data(c.DO_CARD_SERIAL) == chip.serial, "DF24 = FCI serial", "another serial")
    key = chip.get_data(c.DO_CARD_PUBLIC_KEY)
    want = tlv(c.TAG_PUBLIC_KEY_TEMPLATE, tlv(c.TAG_EC_POINT, chip.point))
    expect(key == want, want.hex().upper(), key.hex().upper())
    keys = chip.get_data(c.DO_ISSUER_KEYS)
    want = b"".join(
        tlv(c.TAG_ISSUER_KEY, tlv(c.TAG_KEY_ID, s.kid) + tlv(c.TAG_EC_POINT, s.point))
        for s in (v.ISSUER_1, v.ISSUER_2)
    )
    expect(keys == want, "DF25 = E4 issuer_1, E4 issuer_2", keys.hex().upper())
    chip.get_data(c.DO_PERSONAL_DATA, SW.SECURITY_STATUS_NOT_SATISFIED)
    chip.get_data(c.DO_HOLDER_REF, SW.DATA_NOT_FOUND)
    chip.get_data(0xDF29, SW.DATA_NOT_FOUND)
    chip.raw(
        CommandApdu(0, c.INS_GET_DATA, 0xDF, 0x24, b"\x00", le=256), SW.WRONG_LENGTH, "GET DATA with data"
    )
    expect(
        cred.claims.card_key == compressed_point(chip._public_key()), "credential binds the chip key", "no"
    )
    return f"credential {len(raw)} bytes, kid {cred.kid.hex()}"


@case(
    CASES,
    "get_data:get_response",
    "5.1.8, 5.3",
    "a short Le gives 61xx and GET RESPONSE delivers the rest",
    "GET DATA DF21 Le=10: 16 bytes 61xx, GET RESPONSE chunks = the credential; GET RESPONSE with "
    "nothing pending 6985; P1P2 ≠ 0000 6A86",
)
def _get_response(chip: Chip, ctx: Context) -> str:
    chip.select()
    whole = chip.get_data(c.DO_CREDENTIAL)
    mark = chip.link.mark()
    data, sw = chip.link.collect(cmd.get_data(c.DO_CREDENTIAL, le=16))
    first = chip.link.since(mark)[0]
    expect(
        first.sw >> 8 == 0x61 and len(first.response) == 18,
        "16 bytes then 61xx",
        f"{len(first.response) - 2} bytes, SW {first.sw:04X}",
    )
    expect(sw == OK and data == whole, "the same credential in chunks", f"SW {sw:04X}, {len(data)} bytes")
    chip.raw(cmd.get_response(16), SW.CONDITIONS_NOT_SATISFIED, "GET RESPONSE with nothing pending")
    chip.link.send(cmd.get_data(c.DO_CREDENTIAL, le=16))
    chip.raw(CommandApdu(0, c.INS_GET_RESPONSE, 1, 0, le=16), SW.INCORRECT_P1P2, "GET RESPONSE P1=01")
    return f"{len(chip.link.since(mark))} exchanges, chunks reassembled"


@case(
    CASES,
    "flow:check_tap",
    "9.1, 5.11, 6.4",
    "check tap: SELECT, GET DATA DF21, INTERNAL AUTHENTICATE",
    "E2 { C1 AuthBody, C8 16-byte nonce, 9E DER } verifying with the credential's key over "
    "KHBS-AU2 || challenge || nonce || AuthBody; AuthBody serial = FCI serial, 0F, 3 tries",
)
def _check_tap(chip: Chip, ctx: Context) -> str:
    chip.select()
    chip.get_data(c.DO_CREDENTIAL)
    body = chip.state()
    expect(body.pin_tries == c.PIN_MAX_TRIES, "3 PIN tries", str(body.pin_tries))
    return f"counter {body.tx_counter}, {len(body.balances)} balances, signature verified"


@case(
    CASES,
    "internal_authenticate:nonce_fresh",
    "5.11, 1.5, 10.3",
    "card nonces and ECDSA nonces are fresh",
    "8 answers (4 to the same challenge): 8 different card nonces, 8 different signature r values, "
    "every signature verifying",
)
def _nonce_fresh(chip: Chip, ctx: Context) -> str:
    chip.select()
    same = fresh(16)
    nonces, rs = [], []
    for i in range(8):
        auth = chip.authenticate(same if i % 2 else None)
        assert auth is not None
        nonces.append(auth.card_nonce)
        rs.append(_r_of(auth.signature))
    ctx.nonces += nonces
    expect(len(set(nonces)) == len(nonces), "8 different card nonces", f"{len(set(nonces))} different")
    expect(
        len(set(rs)) == len(rs),
        "8 different ECDSA r (a repeated nonce reveals the key)",
        f"{len(set(rs))} different",
    )
    return "8 distinct card nonces, 8 distinct r"


def _r_of(der: bytes) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    try:
        r, _ = decode_dss_signature(der)
    except ValueError as exc:
        raise Mismatch("a DER ECDSA-Sig-Value", der.hex()) from exc
    return r.to_bytes(32, "big")


@case(
    CASES,
    "internal_authenticate:refusals",
    "5.11",
    "INTERNAL AUTHENTICATE parameter checks",
    "P1P2 ≠ 0000 6A86; 15-byte challenge 6700",
)
def _auth_refusals(chip: Chip, ctx: Context) -> str:
    chip.select()
    chip.raw(cmd.internal_authenticate(fresh(16), p1=1), SW.INCORRECT_P1P2, "INTERNAL AUTHENTICATE P1=01")
    chip.raw(cmd.internal_authenticate(fresh(15)), SW.WRONG_LENGTH, "INTERNAL AUTHENTICATE Lc=0F")
    auth = chip.authenticate()
    assert auth is not None
    verify_card_signature(chip.point, auth.signature, auth.signed_message(), "INTERNAL AUTHENTICATE")
    return "6A86, 6700"

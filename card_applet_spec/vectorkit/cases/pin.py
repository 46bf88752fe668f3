"""Vector cases of VERIFY and CHANGE REFERENCE DATA: the holder PIN, enciphered to the card and bound to
the card nonce of the INTERNAL AUTHENTICATE right before; the try counter and the status query.
"""

from __future__ import annotations

from collections.abc import Callable

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec import responses
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.constants import SW
from card_applet_spec.records import pin_block
from card_applet_spec.vectorkit.case import SELECT_NOTE, CaseGroup
from card_applet_spec.vectorkit.inputs import (
    NEW_PIN,
    PIN,
    WRONG_PIN,
    fixed_bytes,
)
from card_applet_spec.vectorkit.payloads import (
    envelope,
)
from card_applet_spec.vectorkit.profiles import BLANK, PERSO, PIN_BLOCKED
from card_applet_spec.vectorkit.recorder import OK, Command, check
from card_applet_spec.vectorkit.tap import Tap

VERIFY = CaseGroup(
    "verify",
    "VERIFY",
    "Holder PIN verification, try counter and status query.",
)
CHANGE_REFERENCE_DATA = CaseGroup(
    "change_reference_data",
    "CHANGE REFERENCE DATA",
    "Changing the PIN; setting the initial PIN.",
)


# VERIFY --------------------------------------------------------------------------------------------


def _raw_pin(
    t: Tap,
    ins: int,
    plaintext: bytes,
    note: str,
    sw: int,
    *,
    mangle: Callable[[bytes], bytes] | None = None,
    seal_ins: int | None = None,
) -> CommandApdu:
    """A PIN command no terminal operation sends (a defect on purpose), after a fresh card nonce."""
    nonce = t.ensure_nonce()
    check(nonce is not None, "a card nonce")
    assert nonce is not None
    env = envelope(seal_ins or ins, nonce, plaintext, t.label("ephemeral"))
    if mangle is not None:
        env = mangle(env)
    apdu = cmd.verify(env) if ins == c.INS_VERIFY else cmd.change_reference_data(env)
    t.raw(apdu, note, sw)
    return apdu


@VERIFY.case("tries_query", PERSO, "VERIFY without data is a status query: 63C3, nothing spent.")
def _v_query(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.pin_status(sw=c.sw_pin_tries(3))
    t.pin_status(sw=c.sw_pin_tries(3))


@VERIFY.case(
    "wrong_pin_until_blocked",
    PERSO,
    "Wrong PINs (each enciphered to the card after INTERNAL AUTHENTICATE): 63C2, 63C1, 63C0; then 6983 "
    "even for the right PIN, and for the status query.",
)
def _v_block(t: Tap) -> None:
    t.select(SELECT_NOTE)
    for left in (2, 1, 0):
        t.verify_pin(WRONG_PIN, f"VERIFY wrong PIN: {left} tries left", c.sw_pin_tries(left))
    t.verify_pin(PIN, "VERIFY the right PIN: blocked", SW.PIN_BLOCKED)
    t.pin_status("VERIFY without data: blocked", SW.PIN_BLOCKED)
    body = t.authenticate("challenge 4")
    check(body is not None and body.pin_tries == 0, "signed state shows 0 tries")


@VERIFY.case(
    "right_pin",
    PERSO,
    "INTERNAL AUTHENTICATE, then VERIFY with the PIN envelope (C9-less: the data is the 89-byte envelope "
    "E = ephemeral point || AES-CBC(PIN block, padded) || CMAC): 9000; the status query then answers 9000.",
)
def _v_right(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.pin_status(sw=OK)


@VERIFY.case(
    "right_pin_restores_tries",
    PERSO,
    "A wrong PIN (63C2) then the right one: the counter is back at 3 (63C3 in the next session).",
)
def _v_restores(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(WRONG_PIN, "VERIFY wrong PIN: 2 tries left", c.sw_pin_tries(2))
    t.pin_status(sw=c.sw_pin_tries(2))
    t.verify_pin(PIN)
    t.select("SELECT again (new session)")
    t.pin_status(sw=c.sw_pin_tries(3))


@VERIFY.case(
    "wrong_pin_ends_verification",
    PERSO,
    "A wrong PIN after a right one withdraws the verification: personal data 6982 again.",
)
def _v_wrong_after_right(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.verify_pin(WRONG_PIN, "VERIFY wrong PIN: 2 tries left", c.sw_pin_tries(2))
    t.read_personal_data(SW.SECURITY_STATUS_NOT_SATISFIED)


@VERIFY.case(
    "non_digit_block",
    PERSO,
    "An envelope that opens to a PIN block that is not 4-8 ASCII digits padded with FF: 6A80, no try spent.",
)
def _v_non_digit(t: Tap) -> None:
    t.select(SELECT_NOTE)
    _raw_pin(t, c.INS_VERIFY, b"12A4\xff\xff\xff\xff", "VERIFY: a letter in the PIN", SW.WRONG_DATA)
    _raw_pin(t, c.INS_VERIFY, b"123\xff\xff\xff\xff\xff", "VERIFY: 3 digits", SW.WRONG_DATA)
    _raw_pin(t, c.INS_VERIFY, b"12\xff34\xff\xff\xff", "VERIFY: digits after the padding", SW.WRONG_DATA)
    t.pin_status("no try was spent: 63C3", c.sw_pin_tries(3))


@VERIFY.case(
    "plain_pin_refused",
    PERSO,
    "The PIN in clear (8-byte block, version 1.0) is refused: 6985 without a card nonce, 6A80 with one "
    "(not an 89-byte envelope); so is an envelope one byte short. No try is spent.",
)
def _v_plain(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(
        cmd.verify(pin_block(PIN)),
        "VERIFY with the plain PIN block, no card nonce",
        SW.CONDITIONS_NOT_SATISFIED,
    )
    t.ensure_nonce()
    t.raw(
        cmd.verify(pin_block(PIN)),
        "VERIFY with the plain PIN block after INTERNAL AUTHENTICATE",
        SW.WRONG_DATA,
    )
    _raw_pin(
        t,
        c.INS_VERIFY,
        pin_block(PIN),
        "VERIFY: envelope without its last byte",
        SW.WRONG_DATA,
        mangle=lambda e: e[:-1],
    )
    t.pin_status("no try was spent: 63C3", c.sw_pin_tries(3))


@VERIFY.case(
    "no_card_nonce",
    PERSO,
    "A well-formed envelope without INTERNAL AUTHENTICATE right before: 6985, no try spent.",
)
def _v_no_nonce(t: Tap) -> None:
    t.select(SELECT_NOTE)
    env = envelope(c.INS_VERIFY, fixed_bytes("not a card nonce", 16), pin_block(PIN), t.label("ephemeral"))
    t.raw(
        cmd.verify(env),
        "VERIFY with an envelope, no card nonce in this session",
        SW.CONDITIONS_NOT_SATISFIED,
    )
    t.pin_status("no try was spent: 63C3", c.sw_pin_tries(3))


@VERIFY.case(
    "bad_envelope",
    PERSO,
    "Envelopes that do not open: a MAC byte changed, a ciphertext byte changed, an ephemeral point not on "
    "P-256, a compressed point, an envelope made for CHANGE REFERENCE DATA (INS 24 in the key "
    "derivation): 6A80 each, no try spent, and each spends the card nonce.",
)
def _v_bad_envelope(t: Tap) -> None:
    t.select(SELECT_NOTE)
    block = pin_block(PIN)

    def flip(i: int) -> Callable[[bytes], bytes]:
        return lambda e: e[:i] + bytes([e[i] ^ 0x01]) + e[i + 1 :]

    _raw_pin(t, c.INS_VERIFY, block, "VERIFY: last MAC byte changed", SW.WRONG_DATA, mangle=flip(88))
    _raw_pin(t, c.INS_VERIFY, block, "VERIFY: a ciphertext byte changed", SW.WRONG_DATA, mangle=flip(70))
    _raw_pin(
        t,
        c.INS_VERIFY,
        block,
        "VERIFY: point not on P-256",
        SW.WRONG_DATA,
        mangle=lambda e: b"\x04" + bytes(64) + e[65:],
    )
    _raw_pin(
        t, c.INS_VERIFY, block, "VERIFY: compressed point", SW.WRONG_DATA, mangle=lambda e: b"\x02" + e[1:]
    )
    _raw_pin(
        t,
        c.INS_VERIFY,
        block,
        "VERIFY: envelope keyed for INS 24",
        SW.WRONG_DATA,
        seal_ins=c.INS_CHANGE_REFERENCE_DATA,
    )
    t.pin_status("no try was spent: 63C3", c.sw_pin_tries(3))


@VERIFY.case(
    "recorded_verify_replayed",
    PERSO,
    "A VERIFY recorded off the air (enciphered, accepted) is replayed in a new session after a new "
    "INTERNAL AUTHENTICATE: 6A80 (its keys were bound to the old card nonce); without one: 6985. No try "
    "spent, nothing verified.",
)
def _v_replayed(t: Tap) -> None:
    t.select(SELECT_NOTE)
    recorded = _raw_pin(t, c.INS_VERIFY, pin_block(PIN), "VERIFY (recorded by an eavesdropper)", OK)
    t.select("SELECT: a new session (the attacker's, with the stolen card)")
    t.raw(recorded, "the recorded VERIFY, no card nonce", SW.CONDITIONS_NOT_SATISFIED)
    t.ensure_nonce()
    t.raw(recorded, "the recorded VERIFY after a new INTERNAL AUTHENTICATE", SW.WRONG_DATA)
    t.pin_status("not verified, no try spent: 63C3", c.sw_pin_tries(3))


@VERIFY.case(
    "nonce_for_next_command_only",
    PERSO,
    "The card nonce is good for the next command only (§5.1.3 step 0): spent by a GET DATA that succeeds, "
    "by one refused (6A88), by a malformed APDU (3 bytes, 6700), by a wrong CLA (6E00), by a withdrawn "
    "GET CHALLENGE (6D00): the VERIFY after each gets 6985.",
)
def _v_nonce_spent(t: Tap) -> None:
    t.select(SELECT_NOTE)
    spenders: list[tuple[Command, str, int]] = [
        (cmd.get_data(c.DO_CARD_SERIAL), "GET DATA DF24 (9000)", OK),
        (cmd.get_data(0xDF30), "GET DATA DF30 (6A88)", SW.DATA_NOT_FOUND),
        (bytes.fromhex("002000"), "3 bytes, not an APDU (6700)", SW.WRONG_LENGTH),
        (bytes.fromhex("A0200080"), "CLA A0 (6E00)", SW.CLA_NOT_SUPPORTED),
        (
            cmd.get_challenge_withdrawn(),
            "GET CHALLENGE, withdrawn in version 2.0 (6D00)",
            SW.INS_NOT_SUPPORTED,
        ),
    ]
    for apdu, what, sw in spenders:
        nonce = t.ensure_nonce()
        assert nonce is not None
        env = envelope(c.INS_VERIFY, nonce, pin_block(PIN), t.label("ephemeral"))
        t.raw(apdu, f"{what}: spends the card nonce", sw)
        t.raw(cmd.verify(env), f"VERIFY bound to the nonce spent by {what}", SW.CONDITIONS_NOT_SATISFIED)
    t.pin_status("no try was spent: 63C3", c.sw_pin_tries(3))


@VERIFY.case(
    "nonce_kept_over_get_response",
    PERSO,
    "GET RESPONSE does not spend the card nonce: INTERNAL AUTHENTICATE with Le=40 (61xx), GET RESPONSE for "
    "the rest, then VERIFY bound to its nonce: 9000.",
)
def _v_nonce_get_response(t: Tap) -> None:
    t.select(SELECT_NOTE)
    challenge = fixed_bytes("challenge gr", 16)
    first = t.raw(
        cmd.internal_authenticate(challenge, le=0x40),
        "INTERNAL AUTHENTICATE, Le=40: the first 64 bytes and 61xx",
        None,
    )
    rest = t.raw(cmd.get_response(0x40), "GET RESPONSE: the rest (does not spend the nonce)", None)
    nonce = responses.parse_signed_auth(first + rest, challenge).card_nonce
    env = envelope(c.INS_VERIFY, nonce, pin_block(PIN), t.label("ephemeral"))
    t.raw(cmd.verify(env), "VERIFY bound to that nonce", OK)


@VERIFY.case("wrong_p1p2", PERSO, "P2 other than 80 (the holder PIN): 6A88; P1 other than 00: 6A86.")
def _v_wrong_p2(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(cmd.verify(pin_block(PIN), p2=0x81), "VERIFY P2=81: no such PIN", SW.DATA_NOT_FOUND)
    t.raw(cmd.verify(pin_block(PIN), p2=0x00), "VERIFY P2=00", SW.DATA_NOT_FOUND)
    t.raw(cmd.verify(pin_block(PIN), p1=0x01), "VERIFY P1=01", SW.INCORRECT_P1P2)


@VERIFY.case("in_personalisation", BLANK, "VERIFY before activation: 6985.")
def _v_perso(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_initial_pin(PIN)
    t.verify_pin(PIN, "VERIFY in personalisation", SW.CONDITIONS_NOT_SATISFIED)


# CHANGE REFERENCE DATA -----------------------------------------------------------------------------


@CHANGE_REFERENCE_DATA.case(
    "change_ok",
    PERSO,
    "Old and new PIN blocks (16 bytes): 9000. The PIN does not count as verified afterwards (a DEBIT "
    "needs a VERIFY with the new PIN); the old PIN is then wrong and the new one right.",
)
def _crd_ok(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.change_pin(PIN, NEW_PIN)
    t.pin_status("VERIFY without data: not verified, 3 tries", c.sw_pin_tries(3))
    t.read_personal_data(SW.SECURITY_STATUS_NOT_SATISFIED)
    t.verify_pin(PIN, "VERIFY the old PIN: wrong now", c.sw_pin_tries(2))
    t.verify_pin(NEW_PIN, "VERIFY the new PIN")
    t.read_personal_data()


@CHANGE_REFERENCE_DATA.case("wrong_old_pin", PERSO, "A wrong old PIN: 63C2, and the PIN is unchanged.")
def _crd_wrong(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.change_pin(WRONG_PIN, NEW_PIN, "CHANGE REFERENCE DATA with a wrong old PIN", c.sw_pin_tries(2))
    t.verify_pin(PIN, "VERIFY the unchanged PIN")


@CHANGE_REFERENCE_DATA.case(
    "blocked",
    PIN_BLOCKED,
    "With the PIN blocked, even the right old PIN gets 6983.",
)
def _crd_blocked(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.change_pin(PIN, NEW_PIN, "CHANGE REFERENCE DATA, PIN blocked", SW.PIN_BLOCKED)


@CHANGE_REFERENCE_DATA.case(
    "initial_pin_in_personalisation",
    BLANK,
    "In personalisation, P1=01 with one PIN block sets the initial PIN (no old PIN).",
)
def _crd_initial(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_initial_pin(PIN)
    t.set_initial_pin(NEW_PIN, "P1=01 again: the initial PIN may be rewritten before activation")


@CHANGE_REFERENCE_DATA.case(
    "initial_pin_after_activation",
    PERSO,
    "P1=01 (set the initial PIN) on an operational card: 6985.",
)
def _crd_state(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_initial_pin(NEW_PIN, "P1=01 on an operational card", SW.CONDITIONS_NOT_SATISFIED)


@CHANGE_REFERENCE_DATA.case("change_in_personalisation", BLANK, "P1=00 before activation: 6985.")
def _crd_perso(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_initial_pin(PIN)
    t.change_pin(PIN, NEW_PIN, "CHANGE REFERENCE DATA P1=00 in personalisation", SW.CONDITIONS_NOT_SATISFIED)


@CHANGE_REFERENCE_DATA.case(
    "malformed",
    PERSO,
    "P2 other than 80: 6A88; P1 other than 00/01: 6A86; no card nonce: 6985; an envelope of one PIN block "
    "(not old || new): 6A80; an invalid new block inside the envelope: 6A80. No try spent.",
)
def _crd_malformed(t: Tap) -> None:
    t.select(SELECT_NOTE)
    blocks = pin_block(PIN) + pin_block(NEW_PIN)
    t.raw(cmd.change_reference_data(blocks, p2=0x81), "P2=81", SW.DATA_NOT_FOUND)
    t.raw(cmd.change_reference_data(blocks, p1=0x02), "P1=02", SW.INCORRECT_P1P2)
    t.raw(
        cmd.change_reference_data(blocks),
        "old || new in clear (version 1.0), no card nonce",
        SW.CONDITIONS_NOT_SATISFIED,
    )
    ins = c.INS_CHANGE_REFERENCE_DATA
    _raw_pin(t, ins, pin_block(PIN), "an envelope of one block (89 bytes)", SW.WRONG_DATA)
    bad = pin_block(PIN) + b"12\xff\xff\xff\xff\xff\xff"
    _raw_pin(t, ins, bad, "new PIN of 2 digits inside the envelope", SW.WRONG_DATA)
    _raw_pin(t, ins, blocks, "envelope keyed for VERIFY (INS 20)", SW.WRONG_DATA, seal_ins=c.INS_VERIFY)
    t.pin_status("no try was spent", c.sw_pin_tries(3))

"""Vector cases of RESET RETRY COUNTER: the PIN reset by an issuer-certified counter terminal, bound to the
card nonce, with the new PIN and the holder check enciphered to the card; and the withdrawn GET CHALLENGE.
"""

from __future__ import annotations

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.constants import SW
from card_applet_spec.constants import LifeCycle as L
from card_applet_spec.constants import Program as P
from card_applet_spec.records import TerminalCertBody, pin_block
from card_applet_spec.vectorkit.case import SELECT_NOTE, CaseGroup
from card_applet_spec.vectorkit.inputs import (
    GRANT_FROM,
    ISSUER_1,
    OTHER_NIK,
    PIN,
    RESET_PIN,
    ROGUE,
    TERMINAL_TIME,
    WRONG_PIN,
    fixed_bytes,
    forged,
    status_signed,
    terminal_cert,
)
from card_applet_spec.vectorkit.payloads import (
    flip_last,
    reset_message_data,
)
from card_applet_spec.vectorkit.profiles import GRANTS, PERSO, PIN_BLOCKED
from card_applet_spec.vectorkit.recorder import OK, check
from card_applet_spec.vectorkit.tap import Tap

RESET_RETRY_COUNTER = CaseGroup(
    "reset_retry_counter",
    "RESET RETRY COUNTER",
    "PIN reset by an issuer-certified counter terminal, bound to the card nonce of the INTERNAL "
    "AUTHENTICATE right before, with the new PIN and the holder check enciphered to the card.",
)


# RESET RETRY COUNTER (bound to INTERNAL AUTHENTICATE) ---------------------------------------------

RRC_HEADER = cmd.reset_retry_counter()


def raw_reset(t: Tap, data: bytes, note: str, sw: int) -> None:
    """RESET RETRY COUNTER data sent as the terminal's chainer sends it, as raw steps."""
    t.chain(RRC_HEADER, data, [c.MAX_SHORT_DATA] * ((len(data) - 1) // c.MAX_SHORT_DATA), note, sw)


def _nonce(t: Tap, label: str) -> bytes:
    t.authenticate(label, "INTERNAL AUTHENTICATE: the card nonce a reset would be bound to")
    check(t.nonce is not None, "card nonce")
    assert t.nonce is not None
    return t.nonce


@RESET_RETRY_COUNTER.case(
    "reset_ok",
    PIN_BLOCKED,
    "A blocked PIN reset by the certified counter terminal, bound to the authenticated card: INTERNAL "
    "AUTHENTICATE (the terminal verifies it with the checked credential's key), then RESET RETRY COUNTER "
    "(chained) with 7F21 { C5 cert body, C4 kid, 9E issuer sig } || C9 envelope (new PIN block || "
    "holder_ref, enciphered to the card key and the card nonce) || 9E terminal sig over KHBS-PR2 || "
    "serial || card nonce || SHA-256(card key) || envelope. 3 tries again, the new PIN works.",
)
def _rrc_ok(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_credential()
    t.reset_pin(terminal_cert(), RESET_PIN)
    t.pin_status("VERIFY without data: 3 tries, not verified", c.sw_pin_tries(3))
    t.verify_pin(RESET_PIN, "VERIFY the new PIN")


@RESET_RETRY_COUNTER.case(
    "reset_ok_small_blocks",
    PIN_BLOCKED,
    "The same reset chained in blocks of 128 bytes: the card joins the data; the nonce is spent by the "
    "last block only.",
)
def _rrc_chained(t: Tap) -> None:
    t.select(SELECT_NOTE)
    nonce = _nonce(t, "challenge rrc chained")
    data = reset_message_data(terminal_cert(), nonce, pin_block(RESET_PIN), label=t.label("ephemeral"))
    t.chain(RRC_HEADER, data, [128, 128], "RESET RETRY COUNTER")
    t.verify_pin(RESET_PIN, "VERIFY the new PIN")


@RESET_RETRY_COUNTER.case(
    "without_card_nonce",
    PIN_BLOCKED,
    "RESET RETRY COUNTER without INTERNAL AUTHENTICATE right before: 6985.",
)
def _rrc_no_nonce(t: Tap) -> None:
    t.select(SELECT_NOTE)
    stale = fixed_bytes("not a card nonce", 16)
    data = reset_message_data(terminal_cert(), stale, pin_block(RESET_PIN), label=t.label("ephemeral"))
    raw_reset(t, data, "RESET RETRY COUNTER, no card nonce", SW.CONDITIONS_NOT_SATISFIED)


@RESET_RETRY_COUNTER.case(
    "nonce_used_up",
    PIN_BLOCKED,
    "A card nonce is good for the next command only: INTERNAL AUTHENTICATE, GET DATA, RESET RETRY "
    "COUNTER gives 6985; a failed reset spends its nonce too; and a command refused with 6A88 in between "
    "spends it as well. The PIN stays blocked until a reset directly follows INTERNAL AUTHENTICATE.",
)
def _rrc_used_up(t: Tap) -> None:
    t.select(SELECT_NOTE)
    block = pin_block(RESET_PIN)
    nonce = _nonce(t, "challenge rrc 1")
    t.raw(cmd.get_data(c.DO_CARD_SERIAL), "GET DATA DF24 in between: the nonce is spent")
    data = reset_message_data(terminal_cert(), nonce, block, label=t.label("ephemeral"))
    raw_reset(t, data, "RESET RETRY COUNTER over the spent nonce", SW.CONDITIONS_NOT_SATISFIED)
    nonce = _nonce(t, "challenge rrc 2")
    bad = reset_message_data(terminal_cert(), nonce, block, label=t.label("ephemeral"), signer=ROGUE)
    raw_reset(t, bad, "RESET RETRY COUNTER with a bad terminal signature", SW.AUTHENTICATION_FAILED)
    raw_reset(t, data, "the first, well-signed data again: no nonce now", SW.CONDITIONS_NOT_SATISFIED)
    nonce = _nonce(t, "challenge rrc 3")
    t.raw(cmd.get_data(0xDF30), "GET DATA DF30: refused (6A88), and the nonce is spent", SW.DATA_NOT_FOUND)
    data = reset_message_data(terminal_cert(), nonce, block, label=t.label("ephemeral"))
    raw_reset(t, data, "RESET RETRY COUNTER over the spent nonce", SW.CONDITIONS_NOT_SATISFIED)
    t.pin_status("still blocked", SW.PIN_BLOCKED)
    t.reset_pin(terminal_cert(), RESET_PIN)
    t.verify_pin(RESET_PIN, "VERIFY the new PIN")


@RESET_RETRY_COUNTER.case(
    "replayed_reset",
    PIN_BLOCKED,
    "A reset recorded in one session and replayed after a new INTERNAL AUTHENTICATE: 6300 (the terminal "
    "signed the old card nonce). A reset whose signature covers another nonce than its envelope: 6300.",
)
def _rrc_replayed(t: Tap) -> None:
    t.select(SELECT_NOTE)
    nonce = _nonce(t, "challenge rrc replay")
    data = reset_message_data(terminal_cert(), nonce, pin_block(RESET_PIN), label=t.label("ephemeral"))
    raw_reset(t, data, "RESET RETRY COUNTER (recorded)", OK)
    t.select("SELECT: a new session")
    _nonce(t, "challenge rrc replay 2")
    raw_reset(t, data, "the recorded reset replayed", SW.AUTHENTICATION_FAILED)
    nonce = _nonce(t, "challenge rrc replay 3")
    other = fixed_bytes("another card's nonce", 16)
    mixed = reset_message_data(
        terminal_cert(), nonce, pin_block(PIN), label=t.label("ephemeral"), signed_nonce=other
    )
    raw_reset(t, mixed, "signature over another card nonce", SW.AUTHENTICATION_FAILED)
    t.verify_pin(RESET_PIN, "VERIFY: the PIN of the first reset stands")


@RESET_RETRY_COUNTER.case(
    "holder_mismatch",
    PIN_BLOCKED,
    "The clerk typed a NIK that is not the holder's: the envelope's holder_ref differs from DF28: 6984, one "
    "holder-check try spent, the PIN stays blocked. With the right NIK the reset works and the holder "
    "tries are restored (5).",
)
def _rrc_holder_mismatch(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.reset_pin(terminal_cert(), RESET_PIN, nik=OTHER_NIK, sw=SW.HOLDER_MISMATCH)
    t.pin_status("still blocked", SW.PIN_BLOCKED)
    check(t.card.state.holder_tries == c.HOLDER_CHECK_MAX_TRIES - 1, "one holder try spent")
    t.reset_pin(terminal_cert(), RESET_PIN)
    check(t.card.state.holder_tries == c.HOLDER_CHECK_MAX_TRIES, "holder tries restored")
    t.verify_pin(RESET_PIN, "VERIFY the new PIN")


@RESET_RETRY_COUNTER.case(
    "holder_check_blocked",
    PIN_BLOCKED,
    "Five wrong NIKs: 6984 five times, then 6983 (holder check blocked) even with the right NIK. An "
    "issuer-signed block and unblock (SET STATUS 8F then 0F) restores the holder tries; the reset works.",
)
def _rrc_holder_blocked(t: Tap) -> None:
    t.select(SELECT_NOTE)
    for _ in range(c.HOLDER_CHECK_MAX_TRIES):
        t.reset_pin(terminal_cert(), RESET_PIN, nik=OTHER_NIK, sw=SW.HOLDER_MISMATCH)
    t.reset_pin(terminal_cert(), RESET_PIN, sw=SW.PIN_BLOCKED)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1), "SET STATUS 8F (block), seq 1")
    t.set_status(L.OPERATIONAL, status_signed(L.OPERATIONAL, 2), "SET STATUS 0F (unblock), seq 2")
    t.select("SELECT: a new session")
    t.reset_pin(terminal_cert(), RESET_PIN)
    t.verify_pin(RESET_PIN, "VERIFY the new PIN")


@RESET_RETRY_COUNTER.case(
    "bad_envelope",
    PIN_BLOCKED,
    "A certified terminal signs an envelope that does not open (MAC byte changed): 6A80 after the "
    "signatures, no holder try spent; an envelope of the wrong length: 6A80 before any signature.",
)
def _rrc_bad_envelope(t: Tap) -> None:
    t.select(SELECT_NOTE)
    block = pin_block(RESET_PIN)
    nonce = _nonce(t, "challenge rrc env 1")
    data = reset_message_data(terminal_cert(), nonce, block, label=t.label("ephemeral"), mangle=flip_last)
    raw_reset(t, data, "RESET RETRY COUNTER, envelope MAC broken", SW.WRONG_DATA)
    check(t.card.state.holder_tries == c.HOLDER_CHECK_MAX_TRIES, "no holder try spent")
    nonce = _nonce(t, "challenge rrc env 2")
    data = reset_message_data(
        terminal_cert(), nonce, block, label=t.label("ephemeral"), mangle=lambda e: e[:-1]
    )
    raw_reset(t, data, "RESET RETRY COUNTER, envelope one byte short", SW.WRONG_DATA)
    t.pin_status("still blocked", SW.PIN_BLOCKED)


@RESET_RETRY_COUNTER.case(
    "bad_terminal_signature",
    PIN_BLOCKED,
    "The message is signed by a key other than the certified one: 6300; the PIN stays blocked.",
)
def _rrc_bad_terminal_sig(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.reset_pin(terminal_cert(), RESET_PIN, signing_key="rogue", sw=SW.AUTHENTICATION_FAILED)
    t.pin_status("still blocked", SW.PIN_BLOCKED)


@RESET_RETRY_COUNTER.case(
    "certificate_without_role",
    PIN_BLOCKED,
    "A valid issuer certificate whose roles lack PIN_RESET (01): 6982.",
)
def _rrc_no_role(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.reset_pin(terminal_cert(roles=0), RESET_PIN, sw=SW.SECURITY_STATUS_NOT_SATISFIED)


@RESET_RETRY_COUNTER.case(
    "bad_issuer_signature",
    PIN_BLOCKED,
    "A certificate naming issuer_1's kid but signed by another key: 6300.",
)
def _rrc_bad_issuer_sig(t: Tap) -> None:
    t.select(SELECT_NOTE)
    genuine = terminal_cert()
    body = TerminalCertBody.decode(genuine.body)
    cert = forged(genuine.body, body.signed_message(), ISSUER_1.kid)
    t.reset_pin(cert, RESET_PIN, sw=SW.AUTHENTICATION_FAILED)


@RESET_RETRY_COUNTER.case(
    "unknown_kid",
    PIN_BLOCKED,
    "A certificate by an issuer key the card does not know: 6A88.",
)
def _rrc_unknown_kid(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.reset_pin(terminal_cert(signer=ROGUE), RESET_PIN, sw=SW.DATA_NOT_FOUND)


@RESET_RETRY_COUNTER.case(
    "expired_certificate",
    GRANTS,
    "A certificate valid until before the last terminal time the card saw (from a DEBIT): 6300.",
)
def _rrc_expired(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 50_000, 0, label="nonce rrc 1")
    for left in (2, 1, 0):
        t.verify_pin(WRONG_PIN, f"VERIFY wrong PIN: {left} tries left", c.sw_pin_tries(left))
    t.reset_pin(terminal_cert(valid_until=TERMINAL_TIME - 1), RESET_PIN, sw=SW.AUTHENTICATION_FAILED)
    t.reset_pin(terminal_cert(valid_until=TERMINAL_TIME), RESET_PIN)


@RESET_RETRY_COUNTER.case(
    "certificate_expired_by_grant_clock",
    PIN_BLOCKED,
    "No DEBIT yet, but LOAD GRANT raised the card's soft clock to the grants' valid_from (2026-12-01): a "
    "certificate valid until the second before is refused (6300), one valid until that second works.",
)
def _rrc_grant_clock(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.reset_pin(terminal_cert(valid_until=GRANT_FROM - 1), RESET_PIN, sw=SW.AUTHENTICATION_FAILED)
    t.reset_pin(terminal_cert(valid_until=GRANT_FROM), RESET_PIN)


@RESET_RETRY_COUNTER.case(
    "invalid_new_pin",
    PIN_BLOCKED,
    "An envelope that opens to a new PIN block that is not valid: 6A80, no holder try spent.",
)
def _rrc_invalid_pin(t: Tap) -> None:
    t.select(SELECT_NOTE)
    nonce = _nonce(t, "challenge rrc pin")
    data = reset_message_data(terminal_cert(), nonce, b"12AB\xff\xff\xff\xff", label=t.label("ephemeral"))
    raw_reset(t, data, "RESET RETRY COUNTER with new PIN block 12AB", SW.WRONG_DATA)
    check(t.card.state.holder_tries == c.HOLDER_CHECK_MAX_TRIES, "no holder try spent")


@RESET_RETRY_COUNTER.case(
    "get_challenge_withdrawn",
    PERSO,
    "GET CHALLENGE (INS 84) of version 1.0 is withdrawn: 6D00, like any unknown instruction.",
)
def _gc_withdrawn(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(cmd.get_challenge_withdrawn(), "GET CHALLENGE", SW.INS_NOT_SUPPORTED)

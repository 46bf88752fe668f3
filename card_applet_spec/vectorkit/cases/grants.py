"""Vector cases of LOAD GRANT and SET STATUS: issuer-signed entitlements and life-cycle changes (block,
unblock, terminate).
"""

from __future__ import annotations

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.constants import SW
from card_applet_spec.constants import LifeCycle as L
from card_applet_spec.constants import Program as P
from card_applet_spec.records import GrantBody, StatusBody, pin_block
from card_applet_spec.vectorkit.case import SELECT_NOTE, CaseGroup
from card_applet_spec.vectorkit.cases.pin_reset import raw_reset
from card_applet_spec.vectorkit.inputs import (
    GRANT_FROM,
    GRANT_UNTIL,
    ISSUER_1,
    ISSUER_2,
    OTHER_SERIAL,
    PIN,
    RESET_PIN,
    ROGUE,
    SERIAL,
    forged,
    grant_body,
    status_signed,
    terminal_cert,
)
from card_applet_spec.vectorkit.payloads import (
    reset_message_data,
    signed_data,
)
from card_applet_spec.vectorkit.profiles import GRANTS, PERSO
from card_applet_spec.vectorkit.recorder import check
from card_applet_spec.vectorkit.tap import Tap

LOAD_GRANT = CaseGroup(
    "load_grant",
    "LOAD GRANT",
    "Loading issuer-signed entitlements.",
)
SET_STATUS = CaseGroup(
    "set_status",
    "SET STATUS",
    "Issuer-signed life-cycle changes: block, unblock, terminate.",
)


# LOAD GRANT ----------------------------------------------------------------------------------------


@LOAD_GRANT.case(
    "load_ok",
    PERSO,
    "LOAD GRANT C3 body || C4 kid || 9E issuer signature over KHBS-GR1 || body: 9000; the grant shows in "
    "GET DATA DF22 and in the signed state.",
)
def _lg_ok(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.load_grant(ISSUER_1.grant(grant_body(P.BLT, 600_000)), "LOAD GRANT BLT seq 1, 600000 rupiah")
    t.read_grants()
    body = t.authenticate("challenge 6")
    check(body is not None and body.balances[0].remaining == 600_000, "balance")


@LOAD_GRANT.case("second_issuer_key", PERSO, "A grant signed with issuer key 2 (rotation): 9000.")
def _lg_issuer2(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.load_grant(ISSUER_2.grant(grant_body(P.SEMBAKO, 5_000)), "LOAD GRANT SEMBAKO signed by issuer_2")
    t.read_grants()


@LOAD_GRANT.case(
    "newer_replaces",
    GRANTS,
    "A newer grant (seq 2) replaces the program's grant, remaining balance and all.",
)
def _lg_newer(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 100_000, 0, label="nonce lg 1")
    t.load_grant(ISSUER_1.grant(grant_body(P.BLT, 300_000, seq=2)), "LOAD GRANT BLT seq 2, 300000")
    body = t.authenticate("challenge 7")
    check(
        body is not None and (body.balances[0].grant_seq, body.balances[0].remaining) == (2, 300_000), "new"
    )


@LOAD_GRANT.case("same_again", GRANTS, "The grant the card already has, loaded again: 9104.")
def _lg_same(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.load_grant(
        ISSUER_1.grant(grant_body(P.BLT, 600_000)), "LOAD GRANT BLT seq 1 again", SW.SEQUENCE_NOT_NEWER
    )


@LOAD_GRANT.case("older_seq", GRANTS, "A grant with a lower sequence number than the card's: 9104.")
def _lg_older(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.load_grant(ISSUER_1.grant(grant_body(P.SEMBAKO, 8_000, seq=3)), "LOAD GRANT SEMBAKO seq 3")
    t.load_grant(
        ISSUER_1.grant(grant_body(P.SEMBAKO, 20_000, seq=2)),
        "LOAD GRANT SEMBAKO seq 2",
        SW.SEQUENCE_NOT_NEWER,
    )


@LOAD_GRANT.case("bad_issuer_signature", PERSO, "Issuer_1's kid but another key's signature: 6300.")
def _lg_bad_sig(t: Tap) -> None:
    t.select(SELECT_NOTE)
    body = grant_body(P.BLT, 600_000)
    t.load_grant(
        forged(body.encode(), body.signed_message(), ISSUER_1.kid), "forged grant", SW.AUTHENTICATION_FAILED
    )


@LOAD_GRANT.case("unknown_kid", PERSO, "A grant by an issuer key the card does not know: 6A88.")
def _lg_unknown_kid(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.load_grant(ROGUE.grant(grant_body(P.BLT, 600_000)), "grant signed by the rogue key", SW.DATA_NOT_FOUND)


@LOAD_GRANT.case("other_card", PERSO, "A grant bound to another card serial: 6A80.")
def _lg_other_card(t: Tap) -> None:
    t.select(SELECT_NOTE)
    signed = ISSUER_1.grant(grant_body(P.BLT, 600_000, serial=OTHER_SERIAL))
    t.load_grant(signed, "genuine grant for card 6271202600000043", SW.WRONG_DATA)


@LOAD_GRANT.case("kind_mismatch", PERSO, "A kind that is not the program's (BLT as QUANTITY): 9105.")
def _lg_kind(t: Tap) -> None:
    t.select(SELECT_NOTE)
    signed = ISSUER_1.grant(grant_body(P.BLT, 600_000, kind=c.Kind.QUANTITY))
    t.load_grant(signed, "BLT grant of kind QUANTITY", SW.WRONG_KIND)


@LOAD_GRANT.case(
    "invalid_body",
    PERSO,
    "Unknown program (09) or valid_from after valid_until: 6A80; broken TLV: 6A80.",
)
def _lg_invalid(t: Tap) -> None:
    t.select(SELECT_NOTE)
    unknown = GrantBody(SERIAL, 9, c.Kind.CASH, c.Unit.RUPIAH, 1, 1_000, GRANT_FROM, GRANT_UNTIL)
    t.load_grant(ISSUER_1.grant(unknown), "grant for program 09", SW.WRONG_DATA)
    backwards = grant_body(P.BLT, 1_000, valid_from=GRANT_UNTIL, valid_until=GRANT_FROM)
    t.load_grant(ISSUER_1.grant(backwards), "grant valid from after until", SW.WRONG_DATA)
    good = signed_data(c.TAG_GRANT_BODY, ISSUER_1.grant(grant_body(P.BLT, 1_000)))
    t.raw(cmd.load_grant(good[:-3]), "LOAD GRANT with the signature cut short", SW.WRONG_DATA)
    t.raw(cmd.load_grant(good[: 2 + GrantBody.SIZE]), "LOAD GRANT without kid and signature", SW.WRONG_DATA)


@LOAD_GRANT.case("chained", PERSO, "LOAD GRANT as a command chain of two blocks (CLA 90 then 80): 9000.")
def _lg_chained(t: Tap) -> None:
    t.select(SELECT_NOTE)
    data = signed_data(c.TAG_GRANT_BODY, ISSUER_1.grant(grant_body(P.BLT, 600_000)))
    t.chain(cmd.load_grant(b""), data, [40], "LOAD GRANT")
    t.read_grants()


# SET STATUS ----------------------------------------------------------------------------------------


@SET_STATUS.case(
    "block",
    GRANTS,
    "SET STATUS P1=8F with C7 status body || C4 kid || 9E issuer sig: blocked. DEBIT and VERIFY get 6985; "
    "RESET RETRY COUNTER and LOAD GRANT 6985 too; SELECT, GET DATA, INTERNAL AUTHENTICATE (life cycle 8F "
    "in the signed state) and READ LOG still work.",
)
def _ss_block(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 100_000, 0, label="nonce ss 1")
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1), "SET STATUS 8F (block), status seq 1")
    info = t.select("SELECT: life cycle 8F")
    check(info is not None and info["life_cycle"] == L.BLOCKED, "blocked")
    t.read_credential()
    body = t.authenticate("challenge 8")
    check(body is not None and body.life_cycle == L.BLOCKED, "signed state shows blocked")
    t.read_log(0)
    t.verify_pin(PIN, "VERIFY on a blocked card", SW.CONDITIONS_NOT_SATISFIED)
    t.debit(P.BLT, 1_000, 1, label="nonce ss 2", sw=SW.CONDITIONS_NOT_SATISFIED)
    t.raw(cmd.get_data(c.DO_CARD_SERIAL), "GET DATA DF24 on a blocked card (works)")
    nonce = t.ensure_nonce()
    assert nonce is not None
    data = reset_message_data(terminal_cert(), nonce, pin_block(RESET_PIN), label=t.label("ephemeral"))
    raw_reset(t, data, "RESET RETRY COUNTER on a blocked card", SW.CONDITIONS_NOT_SATISFIED)
    t.load_grant(
        ISSUER_1.grant(grant_body(P.BLT, 1_000, seq=2)),
        "LOAD GRANT on a blocked card",
        SW.CONDITIONS_NOT_SATISFIED,
    )


@SET_STATUS.case("unblock", GRANTS, "Block (seq 1) then unblock (P1=0F, seq 2): DEBIT works again.")
def _ss_unblock(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1), "SET STATUS 8F (block), seq 1")
    t.set_status(L.OPERATIONAL, status_signed(L.OPERATIONAL, 2), "SET STATUS 0F (unblock), seq 2")
    t.select("SELECT: life cycle 0F again")
    t.verify_pin(PIN)
    t.debit(P.BLT, 1_000, 0, label="nonce ss 3")


@SET_STATUS.case(
    "replayed_status",
    GRANTS,
    "A status change whose sequence number is not above the card's: 9104 (replaying the old block).",
)
def _ss_replay(t: Tap) -> None:
    t.select(SELECT_NOTE)
    block = status_signed(L.BLOCKED, 1)
    t.set_status(L.BLOCKED, block, "SET STATUS 8F, seq 1")
    t.set_status(L.OPERATIONAL, status_signed(L.OPERATIONAL, 2), "SET STATUS 0F, seq 2")
    t.set_status(L.BLOCKED, block, "the seq 1 block again", SW.SEQUENCE_NOT_NEWER)
    t.set_status(
        L.BLOCKED, status_signed(L.BLOCKED, 2), "a block with seq 2 (= card's)", SW.SEQUENCE_NOT_NEWER
    )


@SET_STATUS.case(
    "terminate",
    GRANTS,
    "Terminate (P1=FF): SELECT still answers (life cycle FF); GET DATA, INTERNAL AUTHENTICATE, READ LOG, "
    "VERIFY, SET STATUS: 6985.",
)
def _ss_terminate(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_status(L.TERMINATED, status_signed(L.TERMINATED, 1), "SET STATUS FF (terminate), seq 1")
    info = t.select("SELECT: life cycle FF")
    check(info is not None and info["life_cycle"] == L.TERMINATED, "terminated")
    t.read_credential(SW.CONDITIONS_NOT_SATISFIED)
    t.read_serial(SW.CONDITIONS_NOT_SATISFIED)
    t.authenticate("challenge 9", sw=SW.CONDITIONS_NOT_SATISFIED)
    t.read_log(0, sw=SW.CONDITIONS_NOT_SATISFIED)
    t.verify_pin(PIN, "VERIFY on a terminated card", SW.CONDITIONS_NOT_SATISFIED)
    t.set_status(L.OPERATIONAL, status_signed(L.OPERATIONAL, 2), "no way back", SW.CONDITIONS_NOT_SATISFIED)


@SET_STATUS.case("terminate_blocked", GRANTS, "A blocked card can be terminated.")
def _ss_terminate_blocked(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1), "SET STATUS 8F, seq 1")
    t.set_status(L.TERMINATED, status_signed(L.TERMINATED, 2), "SET STATUS FF, seq 2")
    t.select("SELECT: life cycle FF")


@SET_STATUS.case(
    "refused",
    GRANTS,
    "Not a transition from the current state (0F to 0F, to 01): 6985; body for another state or card: "
    "6A80; unknown or forging key: 6A88 / 6300; P1 not a life-cycle state or P2 not 00: 6A86.",
)
def _ss_refused(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_status(L.OPERATIONAL, status_signed(L.OPERATIONAL, 1), "0F -> 0F", SW.CONDITIONS_NOT_SATISFIED)
    t.set_status(
        L.PERSONALISATION, status_signed(L.PERSONALISATION, 1), "0F -> 01", SW.CONDITIONS_NOT_SATISFIED
    )
    t.set_status(L.BLOCKED, status_signed(L.TERMINATED, 1), "P1=8F, body says FF", SW.WRONG_DATA)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1, serial=OTHER_SERIAL), "another card", SW.WRONG_DATA)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1, signer=ROGUE), "rogue key", SW.DATA_NOT_FOUND)
    body = StatusBody(SERIAL, L.BLOCKED, 1)
    forgery = forged(body.encode(), body.signed_message(), ISSUER_1.kid)
    t.set_status(L.BLOCKED, forgery, "issuer_1 kid, rogue signature", SW.AUTHENTICATION_FAILED)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 0), "status seq 0 (card: 0)", SW.SEQUENCE_NOT_NEWER)
    data = signed_data(c.TAG_STATUS_BODY, status_signed(L.BLOCKED, 1))
    t.raw(cmd.set_status(0x42, data), "SET STATUS P1=42", SW.INCORRECT_P1P2)
    t.raw(cmd.set_status(L.BLOCKED, data, p2=0x01), "SET STATUS P2=01", SW.INCORRECT_P1P2)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1), "and the genuine block, seq 1")

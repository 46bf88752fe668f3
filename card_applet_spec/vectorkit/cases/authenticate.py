"""Vector cases of INTERNAL AUTHENTICATE: the card signs its state, the terminal's challenge and a fresh
card nonce.
"""

from __future__ import annotations

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.constants import SW
from card_applet_spec.constants import Program as P
from card_applet_spec.vectorkit.case import SELECT_NOTE, CaseGroup
from card_applet_spec.vectorkit.inputs import (
    PIN,
    fixed_bytes,
)
from card_applet_spec.vectorkit.profiles import BLANK, GRANTS, PERSO
from card_applet_spec.vectorkit.recorder import check
from card_applet_spec.vectorkit.tap import Tap

INTERNAL_AUTHENTICATE = CaseGroup(
    "internal_authenticate",
    "INTERNAL AUTHENTICATE",
    "The card signs its state and the terminal's challenge.",
)

CHALLENGE = fixed_bytes("challenge 1", c.CHALLENGE_LEN)


# INTERNAL AUTHENTICATE -----------------------------------------------------------------------------


@INTERNAL_AUTHENTICATE.case(
    "check_tap",
    GRANTS,
    "The check tap: SELECT, read the credential, INTERNAL AUTHENTICATE. The answer E2 { C1 body, 9E sig } "
    "carries serial, life cycle, PIN tries, counter and one 15-byte balance per grant; the card signs "
    "KHBS-AU1 || challenge || body with the key in the credential.",
)
def _ia_check_tap(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_credential()
    body = t.authenticate("challenge 1")
    check(body is not None and len(body.balances) == 4 and body.tx_counter == 0, "auth body")


@INTERNAL_AUTHENTICATE.case("no_grants", PERSO, "A card without grants signs an empty balance list.")
def _ia_no_grants(t: Tap) -> None:
    t.select(SELECT_NOTE)
    body = t.authenticate("challenge 2")
    check(body is not None and body.balances == () and body.pin_tries == 3, "auth body")


@INTERNAL_AUTHENTICATE.case(
    "after_debit",
    GRANTS,
    "After a DEBIT the signed state shows the new balance and counter 1.",
)
def _ia_after_debit(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 100_000, 0, label="nonce ia 1")
    body = t.authenticate("challenge 3")
    check(body is not None and body.tx_counter == 1 and body.balances[0].remaining == 500_000, "auth body")


@INTERNAL_AUTHENTICATE.case("wrong_challenge_length", GRANTS, "A challenge of other than 16 bytes: 6700.")
def _ia_wrong_len(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(cmd.internal_authenticate(CHALLENGE[:8]), "INTERNAL AUTHENTICATE with 8 bytes", SW.WRONG_LENGTH)
    t.raw(
        cmd.internal_authenticate(CHALLENGE + b"\x00"),
        "INTERNAL AUTHENTICATE with 17 bytes",
        SW.WRONG_LENGTH,
    )


@INTERNAL_AUTHENTICATE.case("bad_p1p2", GRANTS, "INTERNAL AUTHENTICATE with P1P2 other than 0000: 6A86.")
def _ia_bad_p1p2(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(cmd.internal_authenticate(CHALLENGE, p1=0x01), "INTERNAL AUTHENTICATE P1=01", SW.INCORRECT_P1P2)
    t.raw(cmd.internal_authenticate(CHALLENGE, p2=0x80), "INTERNAL AUTHENTICATE P2=80", SW.INCORRECT_P1P2)


@INTERNAL_AUTHENTICATE.case("in_personalisation", BLANK, "Before activation: 6985.")
def _ia_perso(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.authenticate("challenge 1", sw=SW.CONDITIONS_NOT_SATISFIED)

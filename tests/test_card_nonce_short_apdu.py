"""SPEC §5.1.3 step 0 for APDUs too short to carry an INS: they spend the card nonce like any command.

The vector files carry a 3-byte APDU (``verify:nonce_for_next_command_only``); APDUs of 0 and 1 bytes are
checked here, in process, on the vector card (SPEC §11.6). A 2-byte APDU whose second byte is ``C0``
counts as GET RESPONSE for step 0 and leaves the nonce in place, though it is refused (6700).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import card_applet_spec
from card_applet_spec import commands
from card_applet_spec import constants as c
from card_applet_spec.records import pin_block
from card_applet_spec.reference_card import MemoryStore, ReferenceCard
from card_applet_spec.tlv import parse_single, parse_tlv, require
from card_applet_spec.vectorkit.inputs import PIN, Drbg
from card_applet_spec.vectorkit.payloads import envelope

VECTORS = Path(card_applet_spec.__file__).resolve().parent / "vectors"
OK = b"\x90\x00"


def _personalised_card() -> ReferenceCard:
    """The vector card (SPEC §11.2) brought to setup profile ``personalised``, then SELECTed."""
    profile = json.loads((VECTORS / "setup.json").read_text())["profiles"]["personalised"]
    card = ReferenceCard(MemoryStore(), rng=Drbg(bytes.fromhex(profile["card_rng_seed"])))
    for exchange in profile["exchanges"]:
        assert card.transmit(bytes.fromhex(exchange["command"])).hex().upper() == exchange["response"]
    assert card.transmit(commands.select().encode())[-2:] == OK
    return card


def _authenticate(card: ReferenceCard) -> bytes:
    answer = card.transmit(commands.internal_authenticate(bytes(16)).encode())
    assert answer[-2:] == OK
    return require(parse_tlv(parse_single(answer[:-2], c.TAG_SIGNED_AUTH)), c.TAG_CARD_NONCE)


def _verify(card: ReferenceCard, nonce: bytes) -> bytes:
    sealed = envelope(c.INS_VERIFY, nonce, pin_block(PIN), "short apdu test")
    return card.transmit(commands.verify(sealed).encode())


def test_verify_right_after_internal_authenticate_works() -> None:
    card = _personalised_card()
    assert _verify(card, _authenticate(card)) == OK


@pytest.mark.parametrize("apdu", [b"", b"\x00", b"\x80", b"\x10", b"\x00\x20\x00"], ids=repr)
def test_an_apdu_shorter_than_a_header_spends_the_card_nonce(apdu: bytes) -> None:
    card = _personalised_card()
    nonce = _authenticate(card)
    assert card.transmit(apdu) == c.SW.WRONG_LENGTH.to_bytes(2, "big")
    assert _verify(card, nonce) == c.SW.CONDITIONS_NOT_SATISFIED.to_bytes(2, "big")
    assert card.transmit(commands.verify().encode()) == c.sw_pin_tries(3).to_bytes(2, "big")  # no try spent


@pytest.mark.parametrize("apdu", [b"\x00\xc0", b"\x10\x20"], ids=repr)
def test_two_bytes_with_ins_c0_or_the_chaining_bit_keep_the_card_nonce(apdu: bytes) -> None:
    card = _personalised_card()
    nonce = _authenticate(card)
    assert card.transmit(apdu) == c.SW.WRONG_LENGTH.to_bytes(2, "big")
    assert _verify(card, nonce) == OK

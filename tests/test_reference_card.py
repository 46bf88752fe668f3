"""The reference card's storage: state survives restarts, and tearing (the card pulled in the middle of
a write) leaves the old state or the new one — never half — at every point of the write."""

from __future__ import annotations

from pathlib import Path

import pytest

from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.credential import decode_credential
from card_applet_spec.pin_envelope import debit_mac, seal_verify
from card_applet_spec.records import pin_block
from card_applet_spec.reference_card import CardTorn, FileStore, ReferenceCard
from card_applet_spec.reference_card.state import StateFileError, state_from_bytes
from terminal.card.connection import CardRemovedError
from tests.support.world import NOW, PIN, card_key, connect, make_card

SELECT = bytes([0, c.INS_SELECT, 4, 0, len(c.AID)]) + c.AID
DEBIT_HEADER = bytes([c.CLA_PROPRIETARY, c.INS_DEBIT, 0, 0])
OK = b"\x90\x00"
NO_PIN = c.SW.SECURITY_STATUS_NOT_SATISFIED.to_bytes(2, "big")


def select_and_verify(card: ReferenceCard, pin: str = PIN, *, select: bool = True) -> bytes:
    """(SELECT,) INTERNAL AUTHENTICATE, VERIFY with the PIN enciphered to the card key (SPEC §5.7);
    returns the DEBIT key the envelope yields (§6.14), as the terminal that sealed it keeps it."""
    session = connect(card)
    if select:
        session.select()
    card_key = decode_credential(session.read_credential()).claims.card_key
    auth = session.authenticate(b"\x42" * c.CHALLENGE_LEN)
    sealed = seal_verify(card_key, auth.body.card_serial, auth.card_nonce, pin_block(pin))
    apdu = CommandApdu(c.CLA_ISO, c.INS_VERIFY, 0, c.PIN_REFERENCE, sealed.envelope).encode()
    answer = card.transmit(apdu)
    if answer != OK:
        raise CardRemovedError(f"VERIFY: {answer.hex()}")
    return sealed.debit_key


def debit_fields(amount: int, counter: int, terminal_id: bytes = b"T6271001") -> bytes:
    data = bytes([c.Program.BLT]) + amount.to_bytes(4, "big") + terminal_id + b"\x01" * 8
    return data + NOW.to_bytes(4, "big") + counter.to_bytes(4, "big")


def debit_apdu(key: bytes, amount: int, counter: int, terminal_id: bytes = b"T6271001") -> bytes:
    """DEBIT (SPEC §6.6): the 29 bytes of fields, then their MAC under ``key``."""
    fields = debit_fields(amount, counter, terminal_id)
    data = fields + debit_mac(key, DEBIT_HEADER, fields)
    return bytes([0x80, c.INS_DEBIT, 0, 0, len(data)]) + data + b"\x00"


class TearAt:
    def __init__(self, point: str) -> None:
        self.point, self.armed = point, False

    def __call__(self, point: str) -> None:
        if self.armed and point == self.point:
            self.armed = False
            raise CardTorn(point)


@pytest.mark.parametrize(
    ("point", "debited"),
    [("write_begin", False), ("write_half", False), ("before_rename", False), ("after_rename", True)],
)
def test_tearing_during_debit_leaves_old_or_new_state(tmp_path: Path, point: str, debited: bool) -> None:
    path = tmp_path / "card.cbor"
    make_card(path=path)
    tear = TearAt(point)
    card = ReferenceCard(FileStore(path, fault=tear))
    before = card.state
    key = select_and_verify(card)
    tear.armed = True
    with pytest.raises(CardTorn):
        card.transmit(debit_apdu(key, 100_000, 0))
    after = ReferenceCard(FileStore(path)).state  # power back on: what the EEPROM holds
    if debited:
        assert (after.tx_counter, len(after.log)) == (1, 1)
        assert after.grant_for(c.Program.BLT).remaining == 500_000  # type: ignore[union-attr]
    else:
        assert after == before
    # whatever the tear left behind (a half-written temporary file), the card works on
    card = ReferenceCard(FileStore(path))
    key = select_and_verify(card)
    assert card.transmit(debit_apdu(key, 1_000, after.tx_counter))[-2:] == OK


def test_pin_try_is_spent_even_if_the_card_is_pulled_before_the_answer(tmp_path: Path) -> None:
    path = tmp_path / "card.cbor"
    make_card(path=path)

    class PullAfterDecrement:
        calls = 0

        def __call__(self, point: str) -> None:
            if point == "after_rename":
                self.calls += 1
                if self.calls == 1:  # the decrement is committed; the comparison never runs
                    raise CardTorn(point)

    card = ReferenceCard(FileStore(path, fault=PullAfterDecrement()))
    with pytest.raises(CardRemovedError):
        session = connect(card)
        session.select()
        session.read_credential()
        session.verify_pin("000000", card_key(session))
    assert ReferenceCard(FileStore(path)).state.pin_tries == c.PIN_MAX_TRIES - 1


def test_card_file_survives_restart_and_garbage_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "card.cbor"
    card, issued = make_card(path=path)
    again = ReferenceCard(FileStore(path))
    assert again.state == card.state and again.state.serial == issued.serial
    with pytest.raises(StateFileError):
        state_from_bytes(b"\xa1\x61v\x02")
    with pytest.raises(StateFileError):
        state_from_bytes(b"not cbor at all")


# -- the DEBIT key (SPEC §5.12, §6.6, §6.14): a PIN verification authorises only its own terminal's DEBIT --


def blt_left(card: ReferenceCard) -> int:
    grant = card.state.grant_for(c.Program.BLT)
    assert grant is not None
    return grant.remaining


def test_debit_with_a_mac_under_another_key_is_refused_and_consumes_the_verification() -> None:
    """A relay that saw the envelope, not the key, tries its own DEBIT: 6982, the verification is gone,
    and the holder's terminal's DEBIT is refused too (the relay can only deny service, never debit)."""
    card, _ = make_card()
    key = select_and_verify(card)
    forged = debit_apdu(bytes(16), 600_000, 0, b"EVILT001")
    assert card.transmit(forged) == NO_PIN
    assert card.transmit(debit_apdu(key, 1_000, 0)) == NO_PIN
    assert blt_left(card) == 600_000 and card.state.tx_counter == 0


def test_the_mac_covers_every_field_and_the_header() -> None:
    card, _ = make_card()
    fields = debit_fields(1_000, 0)
    for i in range(len(fields)):  # the terminal's MAC with one field byte changed by a relay
        key = select_and_verify(card)
        tag = debit_mac(key, DEBIT_HEADER, fields)
        changed = fields[:i] + bytes([fields[i] ^ 0x01]) + fields[i + 1 :]
        apdu = bytes([0x80, c.INS_DEBIT, 0, 0, len(changed) + 8]) + changed + tag + b"\x00"
        assert card.transmit(apdu) == NO_PIN, f"byte {i}"
    key = select_and_verify(card)
    other_header = debit_mac(key, bytes([0x80, c.INS_DEBIT, 0, 1]), fields)
    apdu = bytes([0x80, c.INS_DEBIT, 0, 0, len(fields) + 8]) + fields + other_header + b"\x00"
    assert card.transmit(apdu) == NO_PIN
    assert blt_left(card) == 600_000


def test_an_older_verifications_key_does_not_authorise_the_next_debit() -> None:
    """Each VERIFY gives a new key; the key of a VERIFY before it (another terminal's) is worthless."""
    card, _ = make_card()
    old = select_and_verify(card)
    new = select_and_verify(card, select=False)
    assert old != new
    assert card.transmit(debit_apdu(old, 1_000, 0)) == NO_PIN
    key = select_and_verify(card, select=False)
    assert card.transmit(debit_apdu(key, 1_000, 0))[-2:] == OK


def test_old_29_byte_debit_is_refused_before_the_pin_check() -> None:
    card, _ = make_card()
    key = select_and_verify(card)
    fields = debit_fields(1_000, 0)
    old = bytes([0x80, c.INS_DEBIT, 0, 0, len(fields)]) + fields + b"\x00"
    assert card.transmit(old) == c.SW.WRONG_LENGTH.to_bytes(2, "big")
    assert card.transmit(debit_apdu(key, 1_000, 0))[-2:] == OK  # the verification was not consumed


@pytest.mark.parametrize("ending", ["select", "wrong_pin"])
def test_the_debit_key_goes_exactly_when_the_verification_goes(ending: str) -> None:
    card, _ = make_card()
    key = select_and_verify(card)
    if ending == "select":
        assert card.transmit(SELECT)[-2:] == OK
    else:
        with pytest.raises(CardRemovedError):
            select_and_verify(card, "000000", select=False)
    assert card.transmit(debit_apdu(key, 1_000, 0)) == NO_PIN
    assert blt_left(card) == 600_000

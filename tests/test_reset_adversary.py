"""The PIN reset and the enciphered PIN, attacked as an adversary would (issue 9, items 1, 9 and 12).

A thief with a stolen card (B) and his own card (A) sits behind a relay: the clerk checks A and the
thief's own e-KTP, and the relay routes the reset to B. The reset is bound to the card authenticated
in the same session (INTERNAL AUTHENTICATE verified with the checked credential, its card nonce
consumed by the reset, the new PIN and holder_ref enciphered to that card's key), so every routing
fails and B keeps its blocked PIN. Also: a VERIFY recorded off the air cannot be replayed or read, and
nothing readable without the PIN lets anyone test a NIK guess. Some tests run through pcscd + vpcd.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.credential import decode_credential, holder_commit, holder_ref, personal_details_digest
from card_applet_spec.records import TerminalCertBody, pin_block
from card_applet_spec.reference_card import CardTorn, ReferenceCard
from terminal.app import KhbsTerminal, NotTheCheckedCard, PinResetter
from terminal.card.connection import Connection, InProcessConnection
from terminal.card.errors import (
    AuthorisationFailedError,
    HolderCheckBlockedError,
    HolderMismatchError,
    NoDebitAuthorisationError,
    PinRequiredError,
    WrongDataError,
    WrongStateError,
)
from terminal.card.session import KhbsSession, TerminalCert, parse_personal_data
from terminal.catalogue import Catalogue
from terminal.tap import TapResult, check_tap
from terminal.verify import Verdict
from tests.support.counter import service, sqlite_engine
from tests.support.world import HOLDERS, ISSUER, NOW, PIN, card_key, connect, make_card, verifier

NEW_PIN = "1357"
THIEF_PIN = "9999"
COUNTER_KEY = ec.derive_private_key(0xC0FFEE, ec.SECP256R1())


def counter_terminal() -> KhbsTerminal:
    body = TerminalCertBody(
        b"CTR-6271", c.TerminalRole.PIN_RESET, 2**32 - 1, _point(COUNTER_KEY.public_key())
    )
    signed = ISSUER.terminal_cert(body)
    resetter = PinResetter(TerminalCert(body, signed.kid, signed.signature), COUNTER_KEY)
    return KhbsTerminal(service(), Catalogue(sqlite_engine(None)), pin_resetter=resetter)


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    from card_applet_spec.issuer import uncompressed_point

    return uncompressed_point(key)


def block_pin(card: ReferenceCard) -> None:
    session = connect(card)
    session.select()
    for _ in range(c.PIN_MAX_TRIES):
        with pytest.raises(Exception):  # noqa: B017 - InvalidPinError then PinBlocked: any refusal
            session.verify_pin("000000", card_key(session))
    assert card.state.pin_tries == 0


class Recorder:
    """A connection that records every command APDU (an eavesdropper on the radio link)."""

    def __init__(self, inner: Connection) -> None:
        self.inner = inner
        self.commands: list[bytes] = []

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        self.commands.append(bytes(apdu))
        return self.inner.send_and_receive(apdu)

    def close(self) -> None:
        self.inner.close()


class SwitchingRelay:
    """Two cards behind one reader: each APDU goes to the card ``route`` picks (by APDU index and bytes).

    It is also a virtual card for the vpcd slot (atr, reset, transmit), so the same relay attacks
    through pcscd.
    """

    def __init__(self, a: ReferenceCard, b: ReferenceCard, route: Callable[[int, bytes], str]) -> None:
        self.cards = {"A": a, "B": b}
        self.route = route
        self.count = 0
        self.atr = a.atr

    def reset(self) -> None:
        for card in self.cards.values():
            card.reset()

    def transmit(self, apdu: bytes) -> bytes:
        target = self.route(self.count, bytes(apdu))
        self.count += 1
        if _ins(apdu) == c.INS_SELECT:  # both cards are kept selected, ready for whatever comes
            other = self.cards["B" if target == "A" else "A"]
            other.transmit(bytes(apdu))
        return self.cards[target].transmit(bytes(apdu))


def thief_and_victim() -> tuple[ReferenceCard, ReferenceCard]:
    thief, _ = make_card("budi", serial=21)  # the thief's own card, his own e-KTP
    victim, _ = make_card("siti", serial=22)  # the stolen card
    block_pin(victim)  # the thief tried PINs: blocked, he needs a reset
    thief.reset()
    victim.reset()
    return thief, victim


def checked_tap(session: KhbsSession) -> TapResult:
    tap = check_tap(session, verifier(), NOW)
    assert tap.verdict is Verdict.VALID
    return tap


def _ins(apdu: bytes) -> int:
    return apdu[1] if len(apdu) > 1 else -1


# -- relay A/B during the reset ---------------------------------------------------------------------


def test_reset_routed_to_the_stolen_card_after_checking_the_thiefs_fails() -> None:
    """The check tap reaches A (the thief's card); everything after it goes to B (the stolen card)."""
    thief, victim = thief_and_victim()
    relay = SwitchingRelay(thief, victim, lambda i, _apdu: "A" if i < 3 else "B")
    session = KhbsSession(InProcessConnection(relay, (CardTorn,)))
    tap = checked_tap(session)
    with pytest.raises(NotTheCheckedCard):  # B's answer does not verify with A's credential
        counter_terminal().reset_pin(session, tap, HOLDERS["budi"].nik, NEW_PIN)
    assert victim.state.pin_tries == 0


def test_only_the_reset_command_routed_to_the_stolen_card_fails_on_the_card() -> None:
    """The reset's INTERNAL AUTHENTICATE reaches A (and verifies), the RESET RETRY COUNTER goes to B —
    which the relay first gave a card nonce of its own with an INTERNAL AUTHENTICATE."""
    thief, victim = thief_and_victim()

    def route(_i: int, apdu: bytes) -> str:
        return "B" if _ins(apdu) == c.INS_RESET_RETRY_COUNTER else "A"

    class NonceFirst(SwitchingRelay):
        primed = False

        def transmit(self, apdu: bytes) -> bytes:
            if _ins(apdu) == c.INS_RESET_RETRY_COUNTER and not self.primed:
                self.primed = True  # give B a fresh nonce right before the reset reaches it
                victim.transmit(bytes([0, c.INS_INTERNAL_AUTHENTICATE, 0, 0, 16]) + bytes(16) + b"\x00")
            return super().transmit(apdu)

    relay = NonceFirst(thief, victim, route)
    session = KhbsSession(InProcessConnection(relay, (CardTorn,)))
    tap = checked_tap(session)
    with pytest.raises(AuthorisationFailedError):  # signed for A's serial, nonce and key: 6300 on B
        counter_terminal().reset_pin(session, tap, HOLDERS["budi"].nik, NEW_PIN)
    assert victim.state.pin_tries == 0 and victim.state.holder_tries == c.HOLDER_CHECK_MAX_TRIES


def test_stolen_card_with_the_thiefs_nik_is_refused_by_the_card() -> None:
    """No relay: the thief hands over the stolen card itself with his own e-KTP (a sloppy clerk). The
    card compares holder_ref(typed NIK) with its own: 6984, one holder try gone; five and it is blocked."""
    _, victim = thief_and_victim()
    terminal = counter_terminal()
    for left in range(c.HOLDER_CHECK_MAX_TRIES - 1, -1, -1):
        session = connect(victim)
        tap = checked_tap(session)
        with pytest.raises(HolderMismatchError):
            terminal.reset_pin(session, tap, HOLDERS["budi"].nik, NEW_PIN)
        assert victim.state.holder_tries == left
    session = connect(victim)
    tap = checked_tap(session)
    with pytest.raises(HolderCheckBlockedError):  # even the holder's own NIK now
        terminal.reset_pin(session, tap, HOLDERS["siti"].nik, NEW_PIN)
    assert victim.state.pin_tries == 0


def test_genuine_reset_works_and_the_new_pin_opens_the_card() -> None:
    _, victim = thief_and_victim()
    session = connect(victim)
    tap = checked_tap(session)
    counter_terminal().reset_pin(session, tap, HOLDERS["siti"].nik, NEW_PIN)
    again = connect(victim)
    again.select()
    again.verify_pin(NEW_PIN, card_key(again))


def test_recorded_reset_replayed_on_the_same_card_fails() -> None:
    """An eavesdropper records a whole genuine reset and replays it later (new session, new nonce)."""
    card, _ = make_card("siti", serial=23)
    block_pin(card)
    recorder = Recorder(InProcessConnection(card, (CardTorn,)))
    session = KhbsSession(recorder)
    tap = checked_tap(session)
    counter_terminal().reset_pin(session, tap, HOLDERS["siti"].nik, NEW_PIN)
    reset = [a for a in recorder.commands if _ins(a) == c.INS_RESET_RETRY_COUNTER]
    block_pin(card)  # blocked again: the attacker wants to set the PIN he saw being chosen
    card.transmit(bytes([0, c.INS_SELECT, 4, 0, len(c.AID)]) + c.AID)
    card.transmit(bytes([0, c.INS_INTERNAL_AUTHENTICATE, 0, 0, 16]) + bytes(16) + b"\x00")
    answers = [card.transmit(a) for a in reset]
    assert answers[-1][-2:] == c.SW.AUTHENTICATION_FAILED.to_bytes(2, "big")
    assert card.state.pin_tries == 0


# -- the PIN on the radio link ------------------------------------------------------------------------


def _redeem_recorded(
    card: ReferenceCard, tmp_path: Path, wrap: Callable[[Connection], Connection]
) -> Recorder:
    recorder = Recorder(wrap(InProcessConnection(card, (CardTorn,))))
    svc = service(tmp_path / "ledger.db")
    svc.redeem(KhbsSession(recorder), c.Program.BLT, 100_000, PIN)
    return recorder


def test_redemption_transcript_holds_no_pin_bytes(tmp_path: Path) -> None:
    card, _ = make_card("siti", serial=24, path=tmp_path / "card.cbor")
    recorder = _redeem_recorded(card, tmp_path, lambda conn: conn)
    assert len(recorder.commands) == 5  # SELECT, GET DATA, INTERNAL AUTHENTICATE, VERIFY, DEBIT
    transcript = b"".join(recorder.commands)
    for secret in (PIN.encode(), pin_block(PIN), PIN[:4].encode()):
        assert secret not in transcript
    verify = next(a for a in recorder.commands if _ins(a) == c.INS_VERIFY)
    assert verify[4] == 89 and verify[5] == 0x04  # the envelope: ephemeral point || ciphertext || MAC


def test_recorded_verify_replayed_in_a_new_session_fails(tmp_path: Path) -> None:
    """The thief recorded the holder's VERIFY at the counter, then stole the card."""
    card, _ = make_card("siti", serial=25, path=tmp_path / "card.cbor")
    recorder = _redeem_recorded(card, tmp_path, lambda conn: conn)
    verify = next(a for a in recorder.commands if _ins(a) == c.INS_VERIFY)
    _replay_verify(card, verify)


def _replay_verify(card: ReferenceCard | Connection, verify: bytes) -> None:
    conn = card if not isinstance(card, ReferenceCard) else InProcessConnection(card, (CardTorn,))
    session = KhbsSession(conn)
    session.select()
    raw = session.connection
    assert raw.send_and_receive(verify)[1] == WrongStateError(0x6985).sw  # no card nonce
    session.authenticate(bytes(16))
    assert raw.send_and_receive(verify)[1] == WrongDataError(0x6A80).sw  # keys bound to the old nonce
    assert session.pin_status().tries_remaining == c.PIN_MAX_TRIES and not session.pin_status().verified
    with pytest.raises(NoDebitAuthorisationError):  # the session never sends it: no VERIFY of its own
        session.debit(
            program=c.Program.BLT,
            amount=1,
            terminal_id=b"T6271001",
            nonce=bytes(8),
            terminal_time=NOW,
            expected_counter=1,
        )


def test_verify_enciphered_to_an_emulator_key_cannot_open_the_real_card() -> None:
    """A VERIFY sealed to another key (an emulator's, in a relay) does not open on the genuine card:
    6A80 and no try spent. (And the terminal only seals to the key of a credential it verified.)"""
    card, _ = make_card("siti", serial=26)
    session = connect(card)
    session.select()
    emulator = ec.generate_private_key(ec.SECP256R1())
    from card_applet_spec.credential import compressed_point

    with pytest.raises(WrongDataError):
        session.verify_pin(PIN, compressed_point(emulator.public_key()))
    assert card.state.pin_tries == c.PIN_MAX_TRIES


# -- nothing readable without the PIN tests a NIK guess ---------------------------------------------


def test_nothing_readable_without_pin_tests_a_nik_guess() -> None:
    card, issued = make_card("siti", serial=27)
    nik = HOLDERS["siti"].nik
    ref = holder_ref(nik, issued.serial)
    session = connect(card)
    info_raw = session.connection.send_and_receive(bytes([0, c.INS_SELECT, 4, 0, len(c.AID)]) + c.AID)[0]
    public = [info_raw, session.read_credential()]
    for do in (c.DO_GRANTS, c.DO_CARD_SERIAL, c.DO_ISSUER_KEYS, c.DO_CARD_PUBLIC_KEY):
        public.append(session._get_data(do))
    auth = session.authenticate(bytes(16))
    public += [auth.body_bytes, auth.signature, auth.card_nonce]
    with pytest.raises(Exception):  # noqa: B017 - DF28 is write-only (6A88), DF26 needs the PIN (6982)
        session._get_data(c.DO_HOLDER_REF)
    with pytest.raises(PinRequiredError):
        session.read_personal_data()
    everything = b"".join(public)
    assert ref not in everything  # holder_ref itself is nowhere public
    claims = decode_credential(issued.credential).claims
    # the commitment cannot be recomputed from public bytes: no 16-byte window of them is the salt
    windows = {everything[i : i + 16] for i in range(len(everything) - 15)}
    # (even given the personal details: the digest of NIK, birth date, sex and KK number, SPEC §4.4)
    known = parse_personal_data(card.state.personal_data)  # what the attacker may know of the holder
    details = personal_details_digest(known.nik, known.birth_date, known.sex, known.kk_number)
    assert all(holder_commit(w, ref, details) != claims.holder_commit for w in windows)
    # after the PIN the terminal checks the NIK against the credential with the salt from DF26
    session.select()
    session.read_credential()
    session.verify_pin(PIN, card_key(session))
    data = session.read_personal_data()
    assert data.holder_salt is not None and data.holder_salt not in everything
    details = personal_details_digest(data.nik, data.birth_date, data.sex, data.kk_number)
    assert holder_commit(data.holder_salt, ref, details) == claims.holder_commit


# -- the same attacks through pcscd + vpcd ---------------------------------------------------------


@pytest.mark.pcsc
def test_relay_reset_through_pcsc(connect_card: Callable[[object], Connection]) -> None:
    thief, victim = thief_and_victim()
    relay = SwitchingRelay(thief, victim, lambda i, _apdu: "A" if i < 3 else "B")
    session = KhbsSession(connect_card(relay))
    tap = checked_tap(session)
    with pytest.raises(NotTheCheckedCard):
        counter_terminal().reset_pin(session, tap, HOLDERS["budi"].nik, NEW_PIN)
    assert victim.state.pin_tries == 0


@pytest.mark.pcsc
def test_recorded_verify_replayed_through_pcsc(
    connect_card: Callable[[object], Connection], tmp_path: Path
) -> None:
    card, _ = make_card("siti", serial=28, path=tmp_path / "card.cbor")
    conn = connect_card(card)
    recorder = Recorder(conn)
    svc = service(tmp_path / "ledger.db")
    svc.redeem(KhbsSession(recorder), c.Program.BLT, 100_000, PIN)
    transcript = b"".join(recorder.commands)
    assert pin_block(PIN) not in transcript and PIN.encode() not in transcript
    verify = next(a for a in recorder.commands if _ins(a) == c.INS_VERIFY)
    _replay_verify(conn, verify)

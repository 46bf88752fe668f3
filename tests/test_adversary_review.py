"""Adversary review of card contract 2.0, trust at rest, strict decoding and redemption checks.

Each ``xfail(strict=True)`` test is a hole that gets through today: it fails now and passes once the
hole is closed (then the marker must go). The plain tests are attacks that are refused, kept where
nothing else in ``tests/`` attacks that way.

The adversary here: a relay or shim between card and reader (it can inject its own commands and
rewrite unauthenticated answers), a stolen card, another device that reads receipts offline.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.credential import compressed_point
from card_applet_spec.issuer import IssuerSigner, key_from_seed, uncompressed_point
from card_applet_spec.pin_envelope import debit_mac, open_envelope
from card_applet_spec.records import ReceiptCertBody, TerminalCertBody, pin_block
from card_applet_spec.reference_card import CardTorn, ReferenceCard
from card_applet_spec.tlv import parse_single, parse_tlv, require
from kartu.cli import EXIT_INVALID, main
from province.receipt_qr import ReceiptCert, ReceiptKind, ReceiptSigner, encode_qr_payload
from province.statuslist import CardStatus
from province.trust import MAX_UINT, IssuerKeyEntry, StatusListKey, TrustList, sign_trust_list
from terminal.app import KhbsTerminal, PinResetter, ResetNotAllowed
from terminal.card.connection import InProcessConnection
from terminal.card.errors import CardSessionError, MalformedResponseError
from terminal.card.session import KhbsSession, TerminalCert
from terminal.catalogue import Catalogue
from terminal.demo import ISSUER as DEMO_ISSUER
from terminal.demo import LIST_SIZE, DemoWorld
from terminal.ledger import State
from terminal.redeem import RedemptionError, RedemptionRefused
from terminal.revocation import FreshnessPolicy
from terminal.tap import check_tap
from terminal.truststore import TrustAnchor
from terminal.verify import Reason, Verdict, Verifier
from tests.support.counter import RecordingPrinter, service, sqlite_engine
from tests.support.world import (
    DAY,
    HOLDERS,
    ISSUER,
    NOW,
    PIN,
    ROGUE,
    StaticStatuses,
    card_key,
    connect,
    make_card,
    verifier,
)

BLT_GRANT = 600_000  # tests.support.world.standard_grants
AMOUNT = 100_000
EVIL_TERMINAL = b"EVILT001"
COUNTER_KEY = ec.derive_private_key(0xC0FFEE, ec.SECP256R1())
_DEBIT_DATA_LEN = c.DEBIT_FIELDS_LEN  # the fields of a DEBIT; its MAC follows them (SPEC §6.6)
#: The relay sees the VERIFY envelope but not its DEBIT key (SPEC §6.14): it MACs under a key of its own.
RELAY_DEBIT_KEY = bytes(range(16))


class Shim:
    """A relay on the reader (a shim, or a radio relay): passes every APDU to the card and lets a test
    inject its own commands on the same card session, or rewrite an unauthenticated answer."""

    def __init__(self, card: ReferenceCard) -> None:
        self.card = card
        self.inner = InProcessConnection(card, (CardTorn,))
        self.exchanges: list[tuple[bytes, bytes]] = []  # (command, response data)

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        apdu = bytes(apdu)
        data, sw = self.inner.send_and_receive(apdu)
        self.exchanges.append((apdu, data))
        return data, sw

    def inject(self, apdu: bytes) -> tuple[bytes, int]:
        """A command of the attacker's own, on the card session the terminal opened."""
        return self.inner.send_and_receive(apdu)

    def close(self) -> None:
        self.inner.close()


def evil_debit(program: int, amount: int, expected_counter: int, when: int = NOW) -> bytes:
    """The attacker's DEBIT (SPEC §6.6) under its own terminal id, for a balance of its choosing, with
    the best MAC it can make (it does not have the DEBIT key of the holder's VERIFY)."""
    fields = (
        bytes([program])
        + amount.to_bytes(4, "big")
        + EVIL_TERMINAL
        + b"\x66" * c.NONCE_LEN
        + when.to_bytes(4, "big")
        + expected_counter.to_bytes(4, "big")
    )
    header = bytes([c.CLA_PROPRIETARY, c.INS_DEBIT, 0, 0])
    data = fields + debit_mac(RELAY_DEBIT_KEY, header, fields)
    return header + bytes([len(data)]) + data + b"\x00"


class DebitHijack(Shim):
    """When the terminal sends its DEBIT (the holder has just typed the PIN for it), the shim first
    sends its own DEBIT for the whole balance, riding on that PIN verification, then forwards the
    terminal's DEBIT, which the card now refuses (6982: no PIN verified)."""

    def __init__(self, card: ReferenceCard, amount: int) -> None:
        super().__init__(card)
        self.amount = amount
        self.stolen_sw: int | None = None

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        apdu = bytes(apdu)
        if self.stolen_sw is None and len(apdu) > 5 and apdu[1] == c.INS_DEBIT:
            data = apdu[5 : 5 + _DEBIT_DATA_LEN]
            counter = int.from_bytes(data[25:29], "big")  # the terminal tells the counter it expects
            _, self.stolen_sw = self.inject(evil_debit(data[0], self.amount, counter))
        return super().send_and_receive(apdu)


def blt_left(card: ReferenceCard) -> int:
    grant = card.state.grant_for(c.Program.BLT)
    assert grant is not None
    return grant.remaining


def facade(statuses: StaticStatuses | None = None) -> KhbsTerminal:
    """A counter terminal certified for PIN reset, on the test world's verifier and clock."""
    body = TerminalCertBody(
        b"CTR-6271", c.TerminalRole.PIN_RESET, 2**32 - 1, uncompressed_point(COUNTER_KEY.public_key())
    )
    signed = ISSUER.terminal_cert(body)
    resetter = PinResetter(TerminalCert(body, signed.kid, signed.signature), COUNTER_KEY)
    return KhbsTerminal(
        service(statuses=statuses), Catalogue(sqlite_engine(None)), pin_resetter=resetter, clock=lambda: NOW
    )


# -- HOLE 1: the PIN verification is not bound to the terminal's DEBIT ------------------------------


def test_relay_debit_riding_on_the_holders_pin_is_not_passed_off_as_a_refusal() -> None:
    card, _ = make_card()
    printer = RecordingPrinter()
    svc = service(printer=printer)
    shim = DebitHijack(card, BLT_GRANT)
    outcome: object
    try:
        outcome = svc.redeem(KhbsSession(shim), c.Program.BLT, AMOUNT, PIN)
    except RedemptionError as exc:
        outcome = exc
    lost = BLT_GRANT - blt_left(card)
    committed = sum(e.amount for e in svc.ledger.entries() if e.state is State.COMMITTED)
    if lost != committed:  # someone else debited this card inside this terminal's PIN session
        assert not isinstance(outcome, RedemptionRefused), f"told 'nothing debited'; card lost {lost}"
        (entry,) = svc.ledger.entries()
        assert entry.state is State.UNRESOLVED  # kept as evidence for the centre, like a shifted record


def test_pin_entered_to_read_personal_details_does_not_authorise_a_debit() -> None:
    card, _ = make_card()
    shim = Shim(card)
    session = KhbsSession(shim)
    terminal = facade()
    tap = terminal.tap(session)
    assert tap.verdict is Verdict.VALID
    terminal.personal_details(session, tap, PIN)  # the holder looks at their own data at a kiosk
    with contextlib.suppress(CardSessionError):
        shim.inject(evil_debit(c.Program.BLT, BLT_GRANT, card.state.tx_counter))
    assert blt_left(card) == BLT_GRANT


# -- HOLE 2: PIN reset of a card the verifier refused ------------------------------------------------


@pytest.mark.parametrize("why", [Reason.REVOKED, Reason.SUSPENDED, Reason.EXPIRED])
def test_pin_reset_of_a_refused_card_is_refused(why: Reason) -> None:
    serial = 31
    expires = NOW - DAY if why is Reason.EXPIRED else NOW + 365 * DAY
    card, _ = make_card("siti", serial=serial, expires_at=expires)
    status = {Reason.REVOKED: CardStatus.REVOKED, Reason.SUSPENDED: CardStatus.SUSPENDED}.get(why)
    terminal = facade(StaticStatuses({serial: status}) if status is not None else None)
    session = connect(card)
    tap = terminal.tap(session)
    assert (tap.verdict, tap.result.reason, tap.result.genuine) == (Verdict.INVALID, why, True)
    with pytest.raises(ResetNotAllowed) as err:
        terminal.reset_pin(session, tap, HOLDERS["siti"].nik, "1357")
    assert err.value.reason is why
    assert card.state.pin_block == pin_block(PIN)  # the thief's PIN never lands on the card


# -- HOLE 3: DF26 is only partly bound to the credential ---------------------------------------------


class Df26Rewriter(Shim):
    """Rewrites the (unauthenticated) GET DATA DF26 answer: other birth date, sex and KK number."""

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = super().send_and_receive(apdu)
        do = c.DO_PERSONAL_DATA.to_bytes(2, "big")
        if len(apdu) >= 4 and apdu[1] == c.INS_GET_DATA and apdu[2:4] == do and sw == c.SW.OK:
            fields = dict(cbor2.loads(data))
            fields[c.PersonalField.BIRTH_DATE] = "1950-01-01"
            fields[c.PersonalField.SEX] = "L"
            fields[c.PersonalField.KK_NUMBER] = "6271039999999999"
            data = cbor2.dumps(fields)
        return data, sw


def test_relay_rewriting_birth_date_and_kk_number_is_detected() -> None:
    card, _ = make_card()
    session = KhbsSession(Df26Rewriter(card))
    terminal = facade()
    tap = terminal.tap(session)
    with pytest.raises(MalformedResponseError):  # PersonalDataMismatch, or a stricter parse
        terminal.personal_details(session, tap, PIN)


# -- kartu verify-receipt and issuer-key windows ------------------------------------------------------
# At HEAD 431fbdf cmd_verify_receipt passed a bare kid -> key lookup to verify_qr_payload, so this
# receipt verified SAH (exit 0); the uncommitted kartu/cli.py change in the tree passes the trust list
# and `now`, and this test guards it.

RETIRED = IssuerSigner(key_from_seed("review: issuer key retired in 2001, then stolen"))
RECEIPT_KEY = key_from_seed("review: counter receipt key")
STATUS = key_from_seed("review: status-list key")


def test_verify_receipt_refuses_a_card_minted_after_its_issuer_key_was_retired(tmp_path: Path) -> None:
    """A thief with a retired (then stolen) issuer key mints his own card and a receipt certificate,
    debits at home, and shows the receipt: the key may not have issued either: TIDAK SAH."""
    # The key may verify cards issued up to 2001 (verify_until open); anything it signed later is forged.
    retired_at = 1_000_000_000
    root = key_from_seed("review: root")
    anchor = tmp_path / "root.pem"
    TrustAnchor(root.public_key()).install(anchor)
    trust_list = TrustList(
        seq=1,
        issued_at=NOW,
        issuers=(IssuerKeyEntry(RETIRED.kid, RETIRED.point, 0, retired_at, MAX_UINT),),
        status_keys=(StatusListKey.of(STATUS.public_key()),),
    )
    saved = tmp_path / "trust-list.cose"
    saved.write_bytes(sign_trust_list(trust_list, root))
    # the thief mints his own card and a counter receipt certificate with the stolen key, and debits
    # his own card at home: any terminal id, any time
    card, _ = make_card("budi", serial=41, issuer=RETIRED)
    home = connect(card)
    home.select()
    home.read_credential()
    home.verify_pin(PIN, card_key(home))
    tx = home.debit(
        program=c.Program.BLT,
        amount=AMOUNT,
        terminal_id=b"T6271001",
        nonce=b"\x01" * c.NONCE_LEN,
        terminal_time=NOW,
        expected_counter=0,
    )
    key = compressed_point(RECEIPT_KEY.public_key())
    body = ReceiptCertBody(b"T6271001", NOW - DAY, NOW + 365 * DAY, key)
    signer = ReceiptSigner(ReceiptCert.issue(body, RETIRED.kid, RETIRED.sign), RECEIPT_KEY)
    attestation = signer.attest(ReceiptKind.RECEIPT, tx.record_bytes, tx.signature)
    payload = encode_qr_payload(card.state.credential, tx.record_bytes, tx.signature, attestation)
    code = main(["verify-receipt", payload, "--trust-list", str(saved), "--anchor", str(anchor), "--json"])
    assert code == EXIT_INVALID


# -- HOLE 5 (latent): the session seals the PIN to an unverified key by default ----------------------

SECRET_PIN = "135790"


def test_session_never_seals_a_pin_to_an_unverified_credential() -> None:
    """Was a latent hole: ``verify_pin`` without a key sealed the PIN to whatever credential had been
    read. The key is now required (the verified credential's), and the session never picks one."""
    emulator, _ = make_card("budi", serial=51, issuer=ROGUE)  # a card the issuer never made
    assert check_tap(connect(emulator), verifier(), NOW).verdict is Verdict.INVALID
    shim = Shim(emulator)
    session = KhbsSession(shim)
    session.select()
    session.read_credential()
    with contextlib.suppress(Exception):  # a fixed session refuses before sending anything
        session.verify_pin(SECRET_PIN)  # type: ignore[call-arg]  # no key: refused, nothing sent
    sealed = [(a, r) for a, r in shim.exchanges if a[1] == c.INS_VERIFY and len(a) > 5]
    if sealed:  # the emulator holds the private key of the credential it showed: it opens the envelope
        auth = next(r for a, r in shim.exchanges if a[1] == c.INS_INTERNAL_AUTHENTICATE)
        nonce = require(parse_tlv(parse_single(auth, c.TAG_SIGNED_AUTH)), c.TAG_CARD_NONCE)
        apdu = sealed[0][0]
        key = ec.derive_private_key(int.from_bytes(emulator.state.private_scalar, "big"), ec.SECP256R1())
        opened = open_envelope(
            key, c.INS_VERIFY, emulator.state.serial, nonce, apdu[5 : 5 + apdu[4]], c.PIN_BLOCK_LEN
        )
        assert opened != pin_block(SECRET_PIN), "the emulator read the PIN"


# -- refused attacks that nothing else in tests/ tries -----------------------------------------------


def _reencode(raw: bytes, how: str) -> bytes:
    """The same signed credential (protected header, payload and signature untouched) re-encoded."""
    protected, _unprotected, payload, signature = cbor2.loads(raw).value
    p = cbor2.dumps(protected)
    rest = cbor2.dumps(payload) + cbor2.dumps(signature)
    heads = {
        "non-shortest tag head": (b"\xd8\x12\x84", b"\xa0", b""),
        "indefinite-length array": (b"\xd2\x9f", b"\xa0", b"\xff"),
        "repeated key in the unprotected header": (b"\xd2\x84", b"\xa2\x04\x40\x04\x40", b""),
        "non-shortest unprotected map head": (b"\xd2\x84", b"\xb8\x00", b""),
    }
    if how == "trailing byte":
        return raw + b"\x00"
    head, unprotected, tail = heads[how]
    return head + p + unprotected + rest + tail


class CredentialRewriter(Shim):
    def __init__(self, card: ReferenceCard, how: str) -> None:
        super().__init__(card)
        self.how = how

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = super().send_and_receive(apdu)
        do = c.DO_CREDENTIAL.to_bytes(2, "big")
        if len(apdu) >= 4 and apdu[1] == c.INS_GET_DATA and apdu[2:4] == do and sw == c.SW.OK:
            data = _reencode(data, self.how)
        return data, sw


@pytest.mark.parametrize(
    "how",
    [
        "non-shortest tag head",
        "indefinite-length array",
        "repeated key in the unprotected header",
        "non-shortest unprotected map head",
        "trailing byte",
    ],
)
def test_signature_preserving_reencodings_of_the_credential_are_malformed(how: str) -> None:
    """A relay re-encodes the genuine credential around the signed parts: the issuer signature still
    verifies over them, but the bytes are not the issuer's encoding (SPEC §4.6 step 1)."""
    card, _ = make_card()
    result = check_tap(KhbsSession(CredentialRewriter(card, how)), verifier(), NOW).result
    assert (result.verdict, result.reason) == (Verdict.INVALID, Reason.MALFORMED)


def test_status_index_beyond_the_stored_list_is_unknown(tmp_path: Path) -> None:
    """A genuine card whose status index the terminal's signed list does not cover yet (issued after the
    snapshot, or a credential pointing outside): UNKNOWN, never VALID, through the real SQLite cache."""
    world = DemoWorld(tmp_path / "terminal", clock=lambda: NOW)
    world.provision()
    card, _ = make_card("yohana", serial=61, status_index=LIST_SIZE + 3, issuer=DEMO_ISSUER)
    verifier = Verifier(world.trust, world.revocation, FreshnessPolicy())
    result = check_tap(connect(card), verifier, NOW).result
    assert (result.verdict, result.reason) == (Verdict.UNKNOWN, Reason.STATUS_INDEX_OUT_OF_RANGE)

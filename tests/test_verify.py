"""Verdicts for good and bad cards, through the real session and reference cards (in process)."""

from __future__ import annotations

import pytest

from card_applet_spec import constants as c
from card_applet_spec.issuer import IssuerSigner, key_from_seed
from card_applet_spec.records import StatusBody
from card_applet_spec.reference_card import MemoryStore, ReferenceCard
from terminal.tap import check_tap
from terminal.verify import Reason, Verdict
from tests.support.world import (
    DAY,
    ISSUER,
    NOW,
    PIN,
    ROGUE,
    StaticIssuers,
    StaticStatuses,
    connect,
    make_card,
    verifier,
)

CHALLENGE = bytes(range(16))


def tap(card: ReferenceCard, **kw: object):  # type: ignore[no-untyped-def]
    v = verifier(**kw)  # type: ignore[arg-type]
    return check_tap(connect(card), v, NOW, challenge=CHALLENGE)


def test_valid_card_shows_eight_entitlements() -> None:
    card, _ = make_card()
    result = tap(card)
    assert result.verdict is Verdict.VALID, result.result
    assert result.result.genuine
    assert result.holder_name == "Siti Rahmawati"
    assert result.nik_masked == "6271********0001"
    assert [e.program for e in result.entitlements] == list(c.Program)
    blt = result.entitlements[0]
    assert blt.remaining_text == "Rp 600.000"
    assert result.entitlements[1].remaining_text == "10 kg"


class _Rewriting:
    """A card wrapper that rewrites responses to chosen commands (a forging or replaying card)."""

    def __init__(self, card: ReferenceCard, ins: int, rewrite) -> None:  # type: ignore[no-untyped-def]
        self.card, self.ins, self.rewrite = card, ins, rewrite

    def transmit(self, apdu: bytes) -> bytes:
        response = self.card.transmit(apdu)
        return self.rewrite(apdu, response) if apdu[1] == self.ins else response

    def reset(self) -> None:
        self.card.reset()


def _forged_credential(apdu: bytes, response: bytes) -> bytes:
    data = bytearray(response[:-2])
    i = data.find(b"Siti")
    data[i] ^= 0x01  # "Riti": payload changed, issuer signature no longer covers it
    return bytes(data) + response[-2:]


def _truncated(apdu: bytes, response: bytes) -> bytes:
    return response[:40] + response[-2:]


def test_forged_issuer_signature() -> None:
    card, _ = make_card()
    result = tap(_Rewriting(card, c.INS_GET_DATA, _forged_credential))  # type: ignore[arg-type]
    assert (result.verdict, result.result.reason) == (Verdict.INVALID, Reason.BAD_ISSUER_SIGNATURE)
    assert result.entitlements == ()


def test_unknown_key_id() -> None:
    card, _ = make_card(issuer=ROGUE)
    result = tap(card)
    assert (result.verdict, result.result.reason) == (Verdict.INVALID, Reason.UNKNOWN_ISSUER_KEY)


def test_expired() -> None:
    card, _ = make_card(issued_at=NOW - 400 * DAY, expires_at=NOW - DAY)
    assert tap(card).result.reason is Reason.EXPIRED


@pytest.mark.parametrize(("status", "reason"), [(1, Reason.REVOKED), (2, Reason.SUSPENDED)])
def test_revoked_and_suspended(status: int, reason: Reason) -> None:
    card, _ = make_card(status_index=77)
    result = tap(card, statuses=StaticStatuses({77: status}))
    assert (result.verdict, result.result.reason) == (Verdict.INVALID, reason)
    # a revocation in old data still stands
    stale = StaticStatuses({77: status}, issued_at=NOW - 60 * DAY)
    assert tap(card, statuses=stale).result.reason is reason


def test_credential_cloned_onto_another_card() -> None:
    original, issued = make_card()
    clone = ReferenceCard(MemoryStore())
    s = connect(clone)
    s.select()
    s.generate_key()  # the clone has its own key; the copied credential binds the original's
    s.put_data(c.DO_CARD_SERIAL, issued.serial)
    s.put_issuer_key(ISSUER.kid, ISSUER.point)
    s.put_data(c.DO_CREDENTIAL, issued.credential)
    s.put_data(c.DO_HOLDER_REF, bytes(c.HOLDER_REF_LEN))  # write-only on the original: unknown
    s.set_initial_pin(PIN)
    s.activate()
    clone.reset()
    result = tap(clone)
    assert (result.verdict, result.result.reason) == (Verdict.INVALID, Reason.NOT_GENUINE)
    assert tap(original).verdict is Verdict.VALID


def test_replayed_authentication_answer() -> None:
    card, _ = make_card()
    recorded = card.transmit(bytes([0, c.INS_SELECT, 4, 0, len(c.AID)]) + c.AID)
    recorded = card.transmit(bytes([0, c.INS_INTERNAL_AUTHENTICATE, 0, 0, 16]) + b"\xee" * 16 + b"\x00")
    assert recorded[-2:] == b"\x90\x00"
    replaying = _Rewriting(card, c.INS_INTERNAL_AUTHENTICATE, lambda apdu, response: recorded)
    result = tap(replaying)  # type: ignore[arg-type]
    assert (result.verdict, result.result.reason) == (Verdict.INVALID, Reason.NOT_GENUINE)


@pytest.mark.parametrize("ins", [c.INS_GET_DATA, c.INS_INTERNAL_AUTHENTICATE, c.INS_SELECT])
def test_malformed_truncated_answers(ins: int) -> None:
    card, _ = make_card()
    result = tap(_Rewriting(card, ins, _truncated))  # type: ignore[arg-type]
    assert (result.verdict, result.result.reason) == (Verdict.INVALID, Reason.MALFORMED)


def test_stale_revocation_data_is_unknown_with_its_age() -> None:
    card, _ = make_card()
    statuses = StaticStatuses(issued_at=NOW - 10 * DAY)
    result = tap(card, statuses=statuses)
    assert (result.verdict, result.result.reason) == (Verdict.UNKNOWN, Reason.REVOCATION_DATA_STALE)
    assert result.result.data_age_s == 10 * DAY


def test_freshness_depends_on_program() -> None:
    card, _ = make_card()
    v = verifier(statuses=StaticStatuses(issued_at=NOW - 2 * DAY))
    assert check_tap(connect(card), v, NOW, program=c.Program.KESEHATAN).verdict is Verdict.VALID
    cash = check_tap(connect(card), v, NOW, program=c.Program.BLT)
    assert (cash.verdict, cash.result.reason) == (Verdict.UNKNOWN, Reason.REVOCATION_DATA_STALE)


def test_no_revocation_data_or_trust_list_is_unknown() -> None:
    card, _ = make_card()
    result = tap(card, statuses=StaticStatuses(issued_at=None))
    assert (result.verdict, result.result.reason) == (Verdict.UNKNOWN, Reason.NO_REVOCATION_DATA)


def test_key_rotation_window() -> None:
    card, _ = make_card(issued_at=NOW - 100 * DAY)
    retired = StaticIssuers.of(ISSUER, issue_from=0, issue_until=NOW - 50 * DAY, verify_until=NOW + DAY)
    assert tap(card, issuers=retired).verdict is Verdict.VALID  # retired key still verifies its cards
    too_late = StaticIssuers.of(ISSUER, issue_from=0, issue_until=NOW - 200 * DAY, verify_until=NOW + DAY)
    assert tap(card, issuers=too_late).result.reason is Reason.ISSUER_KEY_NOT_VALID
    ended = StaticIssuers.of(ISSUER, issue_from=0, issue_until=NOW, verify_until=NOW - 1)
    assert tap(card, issuers=ended).result.reason is Reason.ISSUER_KEY_NOT_VALID


def test_blocked_and_terminated_cards() -> None:
    card, issued = make_card()
    s = connect(card)
    s.select()
    signed = ISSUER.status(StatusBody(issued.serial, c.LifeCycle.BLOCKED, 1))
    s.set_status(c.LifeCycle.BLOCKED, signed.body, signed.kid, signed.signature)
    result = tap(card)
    assert (result.result.reason, result.result.genuine) == (Reason.CARD_BLOCKED, True)
    s = connect(card)
    s.select()
    signed = ISSUER.status(StatusBody(issued.serial, c.LifeCycle.TERMINATED, 2))
    s.set_status(c.LifeCycle.TERMINATED, signed.body, signed.kid, signed.signature)
    assert tap(card).result.reason is Reason.CARD_TERMINATED


def test_not_a_khbs_card() -> None:
    class OtherApplet:
        def transmit(self, apdu: bytes) -> bytes:
            return b"\x6a\x82"

    assert tap(OtherApplet()).result.reason is Reason.NOT_KHBS_CARD  # type: ignore[arg-type]


def test_unpersonalised_card() -> None:
    assert tap(ReferenceCard()).result.reason is Reason.NOT_PERSONALISED


def test_issuer_of_other_scheme_is_not_trusted() -> None:
    other = IssuerSigner(key_from_seed("another province"))
    card, _ = make_card(issuer=other)
    assert tap(card, issuers=StaticIssuers.of(ISSUER)).result.reason is Reason.UNKNOWN_ISSUER_KEY

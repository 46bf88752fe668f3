"""Regression tests for defects found in review: each would have lost or doubled a redemption, given
a VALID verdict on bad data, crashed on bad input, or leaked personal data."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from card_applet_spec import constants as c
from card_applet_spec.constants import Unit
from card_applet_spec.records import StatusBody
from card_applet_spec.reference_card import ReferenceCard
from province.issuance import GrantSpec
from province.programs import parse_amount
from province.statuslist import CardStatus, build_delta, build_snapshot, new_status_list, set_status
from province.trust import StatusKeyRing
from terminal.card.connection import InProcessConnection
from terminal.card.session import KhbsSession, PinStatus
from terminal.db import make_engine
from terminal.ledger import State
from terminal.pending import PendingUpdate, PendingUpdates
from terminal.redeem import DebitInterrupted, RedemptionRefused
from terminal.revocation import RevocationCache
from terminal.tap import check_tap
from terminal.verify import FixedTrust, Reason, Verdict, Verifier
from tests.support.counter import service
from tests.support.world import (
    DAY,
    ISSUER,
    NOW,
    PIN,
    StaticFreshness,
    StaticIssuers,
    StaticStatuses,
    card_key,
    connect,
)
from tests.support.world import make_card as world_card


class _ChunkedDebitThenError:
    """The card completes DEBIT; its answer is split (61xx) and fetching the rest fails (6F00)."""

    def __init__(self, card: ReferenceCard) -> None:
        self.inner = InProcessConnection(card)
        self.split = False

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        if apdu[1] == c.INS_DEBIT:
            data, sw = self.inner.send_and_receive(apdu)
            assert sw == 0x9000
            self.split = True
            return data[:10], 0x6100 | (len(data) - 10)
        if apdu[1] == c.INS_GET_RESPONSE and self.split:
            self.split = False
            return b"", 0x6F00
        return self.inner.send_and_receive(apdu)

    def close(self) -> None:
        self.inner.close()


def test_failed_get_response_after_debit_is_settled_not_written_off() -> None:
    card, _ = world_card()
    svc = service()
    with pytest.raises(DebitInterrupted) as err:
        svc.redeem(KhbsSession(_ChunkedDebitThenError(card)), c.Program.BLT, 100_000, PIN)
    assert svc.ledger.get(err.value.redemption_id).state is State.INTENT
    _, report = svc.tap(connect(card))
    assert report.recovered == (err.value.redemption_id,)


def test_retry_after_interruption_does_not_debit_twice() -> None:
    card, _ = world_card()
    svc = service()
    with pytest.raises(DebitInterrupted):
        svc.redeem(KhbsSession(_ChunkedDebitThenError(card)), c.Program.BLT, 100_000, PIN)
    with pytest.raises(RedemptionRefused) as refused:  # the clerk presses "redeem" again
        svc.redeem(connect(card), c.Program.BLT, 100_000, PIN)
    assert refused.value.reason == "previous_redemption_settled"
    assert card.state.tx_counter == 1
    assert card.state.grant_for(c.Program.BLT).remaining == 500_000  # type: ignore[union-attr]


def test_terminal_clock_behind_the_data_is_unknown_not_valid() -> None:
    card, _ = world_card()
    v = Verifier(
        FixedTrust(StaticIssuers.of(ISSUER)), StaticStatuses(issued_at=NOW + 40 * DAY), StaticFreshness()
    )
    result = check_tap(connect(card), v, NOW)
    assert (result.verdict, result.result.reason) == (Verdict.UNKNOWN, Reason.CLOCK_WRONG)


def _snapshot(revoked: int | None, seq: int, issued_at: int) -> tuple[bytes, object]:
    from card_applet_spec.issuer import key_from_seed

    key = key_from_seed("status hardening")
    bits = new_status_list(64)
    if revoked is not None:
        set_status(bits, revoked, CardStatus.REVOKED)
    return build_snapshot(bits, seq, issued_at=issued_at, list_id="t", key=key, size=64), key


def test_revocation_stored_by_another_process_is_seen_at_the_next_tap(tmp_path: Path) -> None:
    card, _ = world_card(status_index=10)
    db = tmp_path / "terminal.db"
    raw, key = _snapshot(None, 1, NOW - 60)
    ring = StatusKeyRing.of(key.public_key())  # type: ignore[attr-defined]
    kiosk_cache = RevocationCache(make_engine(db), ring)
    kiosk_cache.apply_snapshot(raw)
    v = Verifier(FixedTrust(StaticIssuers.of(ISSUER)), kiosk_cache, StaticFreshness())
    assert check_tap(connect(card), v, NOW).verdict is Verdict.VALID
    sync_cache = RevocationCache(make_engine(db), ring)  # `kartu sync`, another process
    delta = build_delta({10: CardStatus.REVOKED}, 1, size=64, issued_at=NOW - 30, list_id="t", key=key)  # type: ignore[arg-type]
    sync_cache.apply_delta(delta)
    assert check_tap(connect(card), v, NOW).result.reason is Reason.REVOKED


def test_damaged_revocation_store_gives_unknown(tmp_path: Path) -> None:
    card, _ = world_card()
    engine = make_engine(tmp_path / "t.db")
    raw, key = _snapshot(None, 1, NOW - 60)
    ring = StatusKeyRing.of(key.public_key())  # type: ignore[attr-defined]
    cache = RevocationCache(engine, ring)
    cache.apply_snapshot(raw)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE revocation_data SET raw = x'00'")
    v = Verifier(FixedTrust(StaticIssuers.of(ISSUER)), RevocationCache(engine, ring), StaticFreshness())
    result = check_tap(connect(card), v, NOW)
    assert (result.verdict, result.result.reason) == (Verdict.UNKNOWN, Reason.STATUS_DATA_UNVERIFIED)


def test_open_intent_of_a_card_that_expired_since_is_settled() -> None:
    card, _ = world_card(expires_at=NOW + 60)
    svc = service()
    with pytest.raises(DebitInterrupted) as err:
        svc.redeem(KhbsSession(_ChunkedDebitThenError(card)), c.Program.BLT, 100_000, PIN)
    later = service(now=NOW + 120)
    later.ledger = svc.ledger
    result, report = later.tap(connect(card))
    assert (result.result.reason, result.result.genuine) == (Reason.EXPIRED, True)
    assert report.recovered == (err.value.redemption_id,)


def test_unblock_is_applied_before_the_grant_and_both_acknowledged() -> None:
    card, issued = world_card()
    s = connect(card)
    s.select()
    blocked = ISSUER.status(StatusBody(issued.serial, c.LifeCycle.BLOCKED, 1))
    s.set_status(c.LifeCycle.BLOCKED, blocked.body, blocked.kid, blocked.signature)
    svc = service()
    svc.pending = PendingUpdates(svc.ledger.engine, clock=svc.clock)
    unblock = ISSUER.status(StatusBody(issued.serial, c.LifeCycle.OPERATIONAL, 2))
    grant = ISSUER.grant(GrantSpec(c.Program.BLT, 900_000, NOW - 1, NOW + 30 * DAY, 2).body(issued.serial))
    svc.pending.add(
        [
            PendingUpdate(
                "grant", 11, issued.serial, c.Program.BLT, 2, grant.body, grant.kid, grant.signature
            ),
            PendingUpdate(
                "status",
                5,
                issued.serial,
                c.LifeCycle.OPERATIONAL,
                2,
                unblock.body,
                unblock.kid,
                unblock.signature,
            ),
        ]
    )
    result, _ = svc.tap(connect(card))
    assert result.verdict is Verdict.VALID and result.entitlements[0].remaining == 900_000
    assert svc.pending.to_ack() == ([11], [5])


def test_record_store_failure_after_debit_keeps_the_intent(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    card, _ = world_card()
    svc = service()

    def locked(*args: object, **kw: object) -> None:
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    monkeypatch.setattr(svc.ledger, "commit_record", locked)
    with pytest.raises(DebitInterrupted) as err:
        svc.redeem(connect(card), c.Program.BLT, 1_000, PIN)
    monkeypatch.undo()
    assert svc.ledger.get(err.value.redemption_id).state is State.INTENT
    _, report = svc.tap(connect(card))
    assert report.recovered == (err.value.redemption_id,)


def test_personal_data_never_in_the_apdu_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="terminal.card.protocol"):
        world_card()
    assert caplog.records, "the personalisation was logged"
    assert "3632373130333435313238373030303" not in caplog.text.replace(" ", "")  # "6271034512870001"


@pytest.mark.parametrize(
    ("unit", "text", "value"),
    [(Unit.GRAM, "2,5", 2_500), (Unit.RUPIAH, "600.000", 600_000), (Unit.RUPIAH, "Rp 300.000", 300_000)],
)
def test_amounts_parse_the_indonesian_way(unit: int, text: str, value: int) -> None:
    assert parse_amount(unit, text) == value


@pytest.mark.parametrize("text", ["1.5", "٣", "", "2,5555", "1..000", "12.34"])
def test_ambiguous_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(Unit.GRAM if "," in text else Unit.RUPIAH, text)


def test_pin_status_of_a_blocked_pin() -> None:
    card, _ = world_card()
    s = connect(card)
    s.select()
    for _ in range(3):
        with pytest.raises(Exception):  # noqa: B017 - wrong PINs
            s.verify_pin("000000", card_key(s))
    assert s.pin_status() == PinStatus(False, 0)


def test_malformed_server_answers_fail_their_step_and_never_escape(tmp_path: Path) -> None:
    import httpx

    from terminal.catalogue import Catalogue
    from terminal.ledger import Ledger
    from terminal.sync import SyncClient, Syncer, SyncStateStore
    from terminal.truststore import TrustAnchor, TrustStore

    answers = {
        "/v1/sync/trust-list": b'{"signed": "!!notbase64"}',
        "/v1/sync/pending": b'{"grants": [{"id": Infinity, "card_serial": "zz"}], "status_commands": []}',
        "/v1/sync/catalogue": b'{"items": [{"id": "x", "kind": "job", "region": 1e30, "title": "t"}]}',
    }

    def handler(request: httpx.Request) -> httpx.Response:
        body = answers.get(request.url.path, b"[" * 100_000)  # deeply nested junk elsewhere
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    engine = make_engine(tmp_path / "t.db")
    from card_applet_spec.issuer import key_from_seed

    trust = TrustStore(engine, TrustAnchor(key_from_seed("root").public_key()))
    syncer = Syncer(
        SyncClient("http://centre", "token", transport=httpx.MockTransport(handler)),
        trust=trust,
        revocation=RevocationCache(engine, trust),
        ledger=Ledger(engine),
        catalogue=Catalogue(engine),
        pending=PendingUpdates(engine),
        state=SyncStateStore(engine),
    )
    report = syncer.sync_once()
    assert {"trust_list", "status_list", "pending", "catalogue"} <= set(report.failed)
    assert all("internal" not in why for why in report.failed.values()), report.failed
    assert SyncStateStore(engine).consecutive_failures() == 1

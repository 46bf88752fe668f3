"""Issuer updates waiting for a card are loaded when it taps: new grants, blocks."""

from __future__ import annotations

from card_applet_spec import constants as c
from card_applet_spec.records import StatusBody
from province.issuance import GrantSpec
from terminal.pending import PendingUpdate, PendingUpdates
from terminal.verify import Reason, Verdict
from tests.support.counter import service
from tests.support.world import DAY, ISSUER, NOW, connect, make_card


def _grant(
    serial: bytes, program: c.Program, amount: int, seq: int, start: int, server_id: int
) -> PendingUpdate:
    signed = ISSUER.grant(GrantSpec(program, amount, start, start + 30 * DAY, seq).body(serial))
    return PendingUpdate("grant", server_id, serial, program, seq, signed.body, signed.kid, signed.signature)


def test_new_period_grant_is_loaded_at_tap_and_acknowledged_later() -> None:
    card, issued = make_card()
    svc = service()
    svc.pending = PendingUpdates(svc.ledger.engine, clock=svc.clock)
    svc.pending.add(
        [
            _grant(issued.serial, c.Program.BLT, 900_000, 2, NOW - 1, server_id=11),
            _grant(issued.serial, c.Program.SEMBAKO, 20_000, 2, NOW + 10 * DAY, server_id=12),  # not yet
        ]
    )
    result, _ = svc.tap(connect(card))
    assert result.entitlements[0].remaining == 900_000
    assert result.entitlements[1].remaining == 10_000  # next period waits for its start
    assert svc.pending.to_ack() == ([11], [])
    svc.pending.mark_acked([11], [])
    assert svc.pending.to_ack() == ([], [])
    result, _ = svc.tap(connect(card))  # applying again is not attempted
    assert result.entitlements[0].remaining == 900_000


def test_grant_already_on_card_is_not_an_error() -> None:
    card, issued = make_card()
    svc = service()
    svc.pending = PendingUpdates(svc.ledger.engine, clock=svc.clock)
    svc.pending.add([_grant(issued.serial, c.Program.BLT, 600_000, 1, NOW - DAY, server_id=1)])
    svc.tap(connect(card))
    assert svc.pending.for_card(issued.serial) == []


def test_revoked_card_is_blocked_when_it_taps() -> None:
    card, issued = make_card()
    svc = service()
    svc.pending = PendingUpdates(svc.ledger.engine, clock=svc.clock)
    signed = ISSUER.status(StatusBody(issued.serial, c.LifeCycle.BLOCKED, 1))
    svc.pending.add(
        [
            PendingUpdate(
                "status", 5, issued.serial, c.LifeCycle.BLOCKED, 1, signed.body, signed.kid, signed.signature
            )
        ]
    )
    result, _ = svc.tap(connect(card))
    assert (result.verdict, result.result.reason) == (Verdict.INVALID, Reason.CARD_BLOCKED)
    assert card.state.life_cycle == c.LifeCycle.BLOCKED

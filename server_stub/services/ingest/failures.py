"""Failure events from terminals (``/v1/sync/failures``): refusals at the counter, stored once each by
event id, counted in the public figures by region and month."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from server_stub.models import FailureEvent
from server_stub.services.context import Ctx
from server_stub.services.ingest import db
from server_stub.services.ingest.parse import Outcome


@dataclass(frozen=True, slots=True)
class FailureIn:
    event_id: str
    occurred_at: int
    card_serial: str | None
    program: int | None
    reason: str
    detail: str | None
    clerk_id: str | None


def ingest_failures(ctx: Ctx, batch: Sequence[FailureIn]) -> list[tuple[str, Outcome]]:
    """Store failure events; per item (event id, ``stored`` the first time, else ``duplicate``)."""
    ctx.actor.require_terminal()
    region = ctx.actor.region or 0
    now = ctx.now()
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for e in batch:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        rows.append(
            {
                "event_id": e.event_id,
                "terminal_id": ctx.actor.name,
                "card_serial": e.card_serial,
                "program": e.program,
                "reason": e.reason,
                "detail": e.detail,
                "clerk_id": e.clerk_id,
                "occurred_at": e.occurred_at,
                "region": region,
                "month": db.month(e.occurred_at),
                "received_at": now,
            }
        )
    stored = db.insert(ctx, db.table(FailureEvent), db.columns_of(rows), "event_id")
    out: list[tuple[str, Outcome]] = []
    first: set[str] = set()
    for e in batch:
        fresh = e.event_id in stored and e.event_id not in first
        first.add(e.event_id)
        out.append((e.event_id, "stored" if fresh else "duplicate"))
    return out

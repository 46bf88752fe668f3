"""Compensating voids from terminals (``/v1/sync/voids``): each marks a stored redemption ``voided``, once.

Terminal scope: a terminal voids only records it made (the stored record's ``terminal_id``, part of the
card-signed record); a void of another terminal's record is ``rejected`` / ``not_own_record`` and
audited, never applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update

from server_stub.models import Redemption, Void
from server_stub.repositories import scope
from server_stub.services import audit
from server_stub.services.context import Ctx
from server_stub.services.ingest.parse import Outcome

#: Terminal scope: a void of a record another terminal made.
REJECT_NOT_OWN_RECORD = "not_own_record"


@dataclass(frozen=True, slots=True)
class VoidIn:
    void_id: str
    ledger_id: str
    record_id: str | None
    reason: str
    clerk_id: str
    created_at: int


def ingest_voids(ctx: Ctx, batch: Sequence[VoidIn]) -> list[tuple[str, Outcome, str | None]]:
    """Store compensating voids; per item (void id, outcome, reason)."""
    ctx.actor.require_terminal()
    session = ctx.session
    own = ctx.actor.name
    ids = [v.void_id for v in batch]
    known = set(session.scalars(select(Void.void_id).where(Void.void_id.in_(ids))))
    by_ledger = dict(
        session.execute(
            select(Redemption.ledger_id, Redemption.record_id).where(
                Redemption.ledger_id.in_([v.ledger_id for v in batch]),
                Redemption.uploaded_by == own,
                Redemption.terminal_id == own,
            )
        ).all()
    )
    makers = scope.record_makers(session, [v.record_id for v in batch if v.record_id])
    out: list[tuple[str, Outcome, str | None]] = []
    seen: set[str] = set()
    refused: list[str] = []
    for v in batch:
        if v.void_id in known or v.void_id in seen:
            out.append((v.void_id, "duplicate", None))
            continue
        if v.record_id is not None and v.record_id in makers:
            if makers[v.record_id] != own:
                refused.append(v.void_id)
                out.append((v.void_id, "rejected", REJECT_NOT_OWN_RECORD))
                continue
            rid: str | None = v.record_id
        else:
            rid = by_ledger.get(v.ledger_id)
        if rid is None:
            out.append((v.void_id, "rejected", "unknown_record"))
            continue
        seen.add(v.void_id)
        session.add(
            Void(
                void_id=v.void_id,
                record_id=rid,
                reason=v.reason,
                clerk_id=v.clerk_id,
                terminal_id=own,
                created_at=v.created_at,
                received_at=ctx.now(),
            )
        )
        _void(ctx, rid, v.reason)
        out.append((v.void_id, "stored", None))
    if refused:
        audit.record(
            ctx,
            "sync.voids_refused",
            f"terminal:{own}",
            voids=refused[:100],
            records=sorted({v.record_id or "" for v in batch if v.void_id in set(refused)})[:100],
            count=len(refused),
        )
    session.flush()
    return out


def _void(ctx: Ctx, rid: str, reason: str) -> None:
    ctx.session.execute(
        update(Redemption)
        .where(Redemption.record_id == rid, Redemption.voided.is_(False))
        .values(voided=True, void_reason=reason[:256])
    )

"""The review list of suspicions raised by ingest."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from server_stub.errors import Conflict, NotFound
from server_stub.models import Flag
from server_stub.services import audit
from server_stub.services.context import AUDITOR, CARD_OFFICER, Ctx


@dataclass(frozen=True)
class FlagView:
    id: int
    card_serial: str
    kind: str
    record_id: str
    other_record_id: str | None
    detail: str
    created_at: int
    resolved: bool
    resolved_by: str | None
    resolution_note: str | None


def _view(f: Flag) -> FlagView:
    return FlagView(
        f.id,
        f.card_serial,
        f.kind,
        f.record_id,
        f.other_record_id,
        f.detail,
        f.created_at,
        f.resolved,
        f.resolved_by,
        f.resolution_note,
    )


def flags(ctx: Ctx, *, open_only: bool, card_serial: str | None = None, limit: int = 500) -> list[FlagView]:
    ctx.actor.require(CARD_OFFICER, AUDITOR)
    query = select(Flag).order_by(Flag.id)
    if open_only:
        query = query.where(Flag.resolved.is_(False))
    if card_serial is not None:
        query = query.where(Flag.card_serial == card_serial)
    return [_view(f) for f in ctx.session.scalars(query.limit(limit))]


def resolve(ctx: Ctx, flag_id: int, note: str) -> FlagView:
    ctx.actor.require(CARD_OFFICER)
    flag = ctx.session.get(Flag, flag_id)
    if flag is None:
        raise NotFound(f"no flag {flag_id}")
    if flag.resolved:
        raise Conflict(f"flag {flag_id} is already resolved", code="already_resolved")
    flag.resolved = True
    flag.resolved_by = ctx.actor.label
    flag.resolution_note = note
    ctx.session.flush()
    audit.record(ctx, "flag.resolve", str(flag_id), card=flag.card_serial, note=note)
    return _view(flag)

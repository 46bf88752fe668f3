"""The audit log: every administrative action, who did it, on what."""

from __future__ import annotations

from typing import Any

from server_stub.repositories import audit as repo
from server_stub.services.context import AUDITOR, Ctx


def record(ctx: Ctx, action: str, target: str, **detail: Any) -> None:
    record_as(ctx, ctx.actor.label, action, target, **detail)


def record_as(ctx: Ctx, actor: str, action: str, target: str, **detail: Any) -> None:
    """An entry on behalf of ``actor`` (a label, e.g. the clerk who issued an enrolment code)."""
    repo.add(ctx.session, at=ctx.now(), actor=actor[:80], action=action, target=target[:128], detail=detail)


def count(ctx: Ctx, action: str, target: str, *, within_s: int) -> int:
    """How many ``action`` entries on ``target`` the last ``within_s`` seconds hold."""
    return repo.count(ctx.session, action=action, target=target[:128], since=ctx.now() - within_s)


def entries(ctx: Ctx, limit: int, offset: int) -> list[dict[str, Any]]:
    ctx.actor.require(AUDITOR)
    return [
        {"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail}
        for e in repo.page(ctx.session, limit, offset)
    ]

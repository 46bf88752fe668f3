"""The audit log: every administrative action, who did it, on what."""

from __future__ import annotations

from typing import Any

from server_stub.repositories import audit as repo
from server_stub.services.context import AUDITOR, Ctx


def record(ctx: Ctx, action: str, target: str, **detail: Any) -> None:
    repo.add(ctx.session, at=ctx.now(), actor=ctx.actor.label, action=action, target=target, detail=detail)


def entries(ctx: Ctx, limit: int, offset: int) -> list[dict[str, Any]]:
    ctx.actor.require(AUDITOR)
    return [
        {"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail}
        for e in repo.page(ctx.session, limit, offset)
    ]

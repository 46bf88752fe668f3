"""The audit log: every administrative action, who did it, on what; every refused attempt, within a
budget so that a flood of refusals cannot grow the log without bound.

**Refusals** (actions ending in ``_refused``, and the 401/403/lockout entries of
``server_stub.services.lockout``) go through two budgets kept in ``auth_throttle``, shared by every
server process: one per source (the actor or client that was refused: ``REFUSALS_PER_SOURCE`` per
``REFUSAL_WINDOW_S``) and one for the whole server (``Settings.audit_refusals_per_min`` per minute).
Past a budget, a refusal is still refused, typed and counted (the budget's row), but not written one by
one: a single ``audit.suppressed`` entry per budget and window says that it happened and how.
Administrative actions by authenticated staff are always written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from server_stub.repositories import audit as repo
from server_stub.repositories import throttle
from server_stub.services.context import AUDITOR, Ctx

REFUSAL_SUFFIX = "_refused"
#: Per source (one actor or client address): refusal entries per window before they are only counted.
REFUSALS_PER_SOURCE = 60
REFUSAL_WINDOW_S = 600
#: The server-wide budget's window.
GLOBAL_WINDOW_S = 60
GLOBAL_BUCKET = "audit:refusals"
SUPPRESSED = "audit.suppressed"


@dataclass(frozen=True)
class Budget:
    """``limit`` entries per ``window_s`` for the refusals of one source (``key``)."""

    key: str
    limit: int = REFUSALS_PER_SOURCE
    window_s: int = REFUSAL_WINDOW_S


def record(ctx: Ctx, action: str, target: str, **detail: Any) -> None:
    record_as(ctx, ctx.actor.label, action, target, **detail)


def record_as(ctx: Ctx, actor: str, action: str, target: str, **detail: Any) -> None:
    """An entry on behalf of ``actor`` (a label, e.g. the clerk who issued an enrolment code). A refusal
    (``…_refused``) is written within its source's and the server's budgets (see the module doc)."""
    if action.endswith(REFUSAL_SUFFIX):
        record_refusal(ctx, actor, action, target, source=Budget(f"audit:{actor[:80]}"), **detail)
        return
    _add(ctx, actor, action, target, detail)


def record_read(ctx: Ctx, action: str, target: str, **detail: Any) -> None:
    """A read of personal data (a card's holder, a household's members): who read what, and whether
    the full NIK and KK number were shown (``full_nik``: the reader's role sees them)."""
    record(ctx, action, target, full_nik=ctx.actor.sees_full_nik, **detail)


#: Items an upload's audit entry names one by one (beyond: counted only).
UPLOAD_ITEMS_LISTED = 200


def record_upload(
    ctx: Ctx,
    action: str,
    results: Iterable[tuple[str, str, str | None]],
    *,
    listed: Collection[str],
    **extra: Any,
) -> None:
    """One entry for a terminal's upload (``results``: item id, result, reason): counts per result, and
    the items whose result is in ``listed`` (at most ``UPLOAD_ITEMS_LISTED``)."""
    counts: dict[str, int] = {}
    items: list[dict[str, str | None]] = []
    for item_id, result, reason in results:
        counts[result] = counts.get(result, 0) + 1
        if result in listed and len(items) < UPLOAD_ITEMS_LISTED:
            items.append({"id": item_id, "result": result, "reason": reason})
    if counts:
        record(ctx, action, ctx.actor.label, **counts, items=items, **extra)


def record_refusal(
    ctx: Ctx, actor: str, action: str, target: str, *, source: Budget | None = None, **detail: Any
) -> bool:
    """A refused attempt, written when ``source``'s budget (if any) and the server's allow; else only
    counted. True when the entry was written."""
    if source is not None:
        count, _ = throttle.hit(ctx.session, source.key[:128], now=ctx.now(), window_s=source.window_s)
        if count > source.limit:
            if count == source.limit + 1 and _server_budget_allows(ctx):
                _add(ctx, actor, SUPPRESSED, target, {"bucket": source.key, **_budget(source)})
            return False
    if not _server_budget_allows(ctx):
        return False
    _add(ctx, actor, action, target, detail)
    return True


def _budget(b: Budget) -> dict[str, Any]:
    return {"limit": b.limit, "window_s": b.window_s, "then": "counted in auth_throttle, not listed"}


def _server_budget_allows(ctx: Ctx) -> bool:
    server = Budget(GLOBAL_BUCKET, ctx.settings.audit_refusals_per_min, GLOBAL_WINDOW_S)
    now = ctx.now()
    count, _ = throttle.hit(ctx.session, server.key, now=now, window_s=server.window_s)
    if count == 1:  # a new minute: forget the counters of floods long past (one row per bad token)
        throttle.purge(ctx.session, now=now, older_than=now - 86_400)
    if count <= server.limit:
        return True
    if count == server.limit + 1:
        _add(ctx, "system:server", SUPPRESSED, "refusals", {"bucket": server.key, **_budget(server)})
    return False


def _add(ctx: Ctx, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
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

"""Counters in ``auth_throttle`` that every server process shares: one atomic upsert per counted event
(``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on PostgreSQL and SQLite alike), so two processes behind
a load balancer count into the same row and see the same lock."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Table, case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from server_stub.models import AuthThrottle

_TABLE = cast(Table, AuthThrottle.__table__)
_T = _TABLE.c


@dataclass(frozen=True)
class Lock:
    key: str
    locked_until: int
    failures: int
    blocked: int
    lockouts: int


def hit(session: Session, key: str, *, now: int, window_s: int) -> tuple[int, int]:
    """Count one event on ``key`` in its window (a window older than ``window_s`` starts again at 1).
    Returns (events in the current window, ``locked_until``)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stale = _T.window_start <= now - window_s
    stmt = (
        insert(_TABLE)
        .values(key=key, window_start=now, failures=1, locked_until=0, blocked=0, lockouts=0)
        .on_conflict_do_update(
            index_elements=[_T.key],
            set_={
                "failures": case((stale, 1), else_=_T.failures + 1),
                "window_start": case((stale, now), else_=_T.window_start),
            },
        )
        .returning(_T.failures, _T.locked_until)
    )
    failures, locked_until = session.execute(stmt).one()
    return int(failures), int(locked_until)


def lock(session: Session, key: str, *, now: int, until: int) -> None:
    """Lock ``key`` until ``until``; its window starts again (counting resumes when the lock ends)."""
    session.execute(
        update(_TABLE)
        .where(_T.key == key)
        .values(locked_until=until, window_start=now, failures=0, blocked=0, lockouts=_T.lockouts + 1)
    )


def blocked(session: Session, keys: Collection[str], *, now: int) -> list[tuple[str, int]]:
    """The keys among ``keys`` that are locked at ``now``, with their ``locked_until``; each one's
    ``blocked`` count goes up by one (a refusal while locked: counted, not audited one by one)."""
    if not keys:
        return []
    stmt = (
        update(_TABLE)
        .where(_T.key.in_(sorted(keys)), _T.locked_until > now)
        .values(blocked=_T.blocked + 1)
        .returning(_T.key, _T.locked_until)
    )
    return [(str(k), int(u)) for k, u in session.execute(stmt)]


def locks(session: Session, *, now: int) -> list[Lock]:
    query = select(_TABLE).where(_T.locked_until > now).order_by(_T.locked_until.desc(), _T.key)
    return [
        Lock(r.key, int(r.locked_until), int(r.failures), int(r.blocked), int(r.lockouts))
        for r in session.execute(query)
    ]


def clear(session: Session, key: str) -> bool:
    return _rowcount(session, delete(_TABLE).where(_T.key == key)) > 0


def purge(session: Session, *, now: int, older_than: int) -> int:
    """Forget counters whose window began before ``older_than`` and that are not locked at ``now``
    (a flood of distinct bad tokens leaves one row each: they go once their window is long past)."""
    stmt = delete(_TABLE).where(_T.window_start < older_than, _T.locked_until <= now)
    return _rowcount(session, stmt)


def _rowcount(session: Session, stmt: Any) -> int:
    return int(cast("CursorResult[Any]", session.execute(stmt)).rowcount)

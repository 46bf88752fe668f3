from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server_stub.models import AuditEntry


def add(session: Session, *, at: int, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
    session.add(AuditEntry(at=at, actor=actor, action=action, target=target, detail=detail))


def page(session: Session, limit: int, offset: int) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def count(session: Session, *, action: str, target: str, since: int) -> int:
    """How many entries of ``action`` on ``target`` from ``since`` on."""
    query = select(func.count(AuditEntry.id)).where(
        AuditEntry.action == action, AuditEntry.target == target, AuditEntry.at >= since
    )
    return int(session.scalars(query).one())

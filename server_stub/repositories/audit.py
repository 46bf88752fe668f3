from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server_stub.models import AuditEntry


def add(session: Session, *, at: int, actor: str, action: str, target: str, detail: dict[str, Any]) -> None:
    session.add(AuditEntry(at=at, actor=actor, action=action, target=target, detail=detail))


def page(session: Session, limit: int, offset: int) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))

"""One-time terminal enrolment codes (stored as SHA-256 hashes only)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from server_stub.models import EnrolmentCode


def _open(now: int) -> ColumnElement[bool]:
    """Neither used nor revoked nor expired at ``now``."""
    return and_(
        EnrolmentCode.used_at.is_(None),
        EnrolmentCode.revoked_at.is_(None),
        EnrolmentCode.expires_at > now,
    )


def add(session: Session, code: EnrolmentCode) -> None:
    session.add(code)
    session.flush()


def live_for_terminal(session: Session, terminal_id: str, now: int) -> EnrolmentCode | None:
    query = select(EnrolmentCode).where(EnrolmentCode.terminal_id == terminal_id, _open(now))
    return session.scalars(query.order_by(EnrolmentCode.id).limit(1)).one_or_none()


def claim(session: Session, code_hash: str, now: int) -> EnrolmentCode | None:
    """Mark the open code with this hash used, in one conditional UPDATE (``... WHERE used_at IS NULL``):
    of two transactions claiming one code, the second matches no row once the first has written it
    (PostgreSQL re-checks the condition after waiting for the row lock; SQLite serialises writers).
    None when no open code has this hash."""
    claimed = session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.code_hash == code_hash, _open(now))
        .values(used_at=now)
        .returning(EnrolmentCode.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if claimed is None:
        return None
    query = select(EnrolmentCode).where(EnrolmentCode.id == claimed)
    return session.scalars(query.execution_options(populate_existing=True)).one()


def revoke_open(session: Session, terminal_id: str, now: int, by: str) -> list[EnrolmentCode]:
    """Revoke the terminal's open codes (a conditional UPDATE, like ``claim``); the codes revoked."""
    ids = session.scalars(
        update(EnrolmentCode)
        .where(EnrolmentCode.terminal_id == terminal_id, _open(now))
        .values(revoked_at=now, revoked_by=by)
        .returning(EnrolmentCode.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not ids:
        return []
    query = select(EnrolmentCode).where(EnrolmentCode.id.in_(ids)).order_by(EnrolmentCode.id)
    return list(session.scalars(query.execution_options(populate_existing=True)))


def all_codes(session: Session) -> list[EnrolmentCode]:
    return list(session.scalars(select(EnrolmentCode).order_by(EnrolmentCode.id.desc())))

"""Terminals and clerk accounts (tokens are stored as SHA-256 hashes only)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server_stub.models import Clerk, Terminal


def terminal_by_token_hash(session: Session, token_hash: str) -> Terminal | None:
    """The terminal whose current or (rotated-away) previous token has this hash."""
    query = select(Terminal).where(
        or_(Terminal.token_hash == token_hash, Terminal.previous_token_hash == token_hash)
    )
    return session.scalars(query.limit(1)).one_or_none()


def clerk_by_token_hash(session: Session, token_hash: str) -> Clerk | None:
    """The clerk whose current or (rotated-away) previous token has this hash."""
    query = select(Clerk).where(or_(Clerk.token_hash == token_hash, Clerk.previous_token_hash == token_hash))
    return session.scalars(query.limit(1)).one_or_none()


def terminal(session: Session, terminal_id: str) -> Terminal | None:
    return session.get(Terminal, terminal_id)


def terminals(session: Session, *, active_only: bool = False) -> list[Terminal]:
    query = select(Terminal).order_by(Terminal.id)
    if active_only:
        query = query.where(Terminal.active.is_(True))
    return list(session.scalars(query))


def terminal_regions(session: Session) -> dict[str, int]:
    return {tid: region for tid, region in session.execute(select(Terminal.id, Terminal.region))}


def clerk_by_username(session: Session, username: str) -> Clerk | None:
    return session.scalars(select(Clerk).where(Clerk.username == username)).one_or_none()


def clerks(session: Session) -> list[Clerk]:
    return list(session.scalars(select(Clerk).order_by(Clerk.id)))

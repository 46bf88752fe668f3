"""Named monotonic counters, incremented under the row lock of the current transaction.

The updates synchronise the session by the rows they hit (``fetch``), not by scanning every object the
session holds (the default ``evaluate``: a bulk load's session made each advance slower than the last)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server_stub.models import Counter

STATUS_SEQ = "status_list_seq"
STATUS_INDEX = "status_index"
TRUST_VERSION = "trust_list_version"
TRUST_CHANGED_AT = "trust_list_changed_at"
CATALOGUE_ID = "catalogue_id"
_SYNC = {"synchronize_session": "fetch"}
ALL = (STATUS_SEQ, STATUS_INDEX, TRUST_VERSION, TRUST_CHANGED_AT, CATALOGUE_ID)


def ensure(session: Session) -> None:
    existing = set(session.scalars(select(Counter.name)))
    for name in ALL:
        if name not in existing:
            session.add(Counter(name=name, value=0))
    session.flush()


def advance(session: Session, name: str, by: int = 1) -> int:
    """Add ``by`` and return the new value; the row stays locked until the transaction ends."""
    session.execute(
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + by)
        .execution_options(**_SYNC)
    )
    return int(session.scalars(select(Counter.value).where(Counter.name == name)).one())


def current(session: Session, name: str) -> int:
    return int(session.scalars(select(Counter.value).where(Counter.name == name)).one_or_none() or 0)


def set_value(session: Session, name: str, value: int) -> None:
    session.execute(
        update(Counter).where(Counter.name == name).values(value=value).execution_options(**_SYNC)
    )


def bump_trust(session: Session, now: int) -> int:
    """A change of what the trust list holds: next version, stamped with ``now``."""
    version = advance(session, TRUST_VERSION)
    set_value(session, TRUST_CHANGED_AT, now)
    return version


def lock(session: Session, name: str) -> None:
    """Take the counter's row lock (a no-op update) until the transaction ends."""
    session.execute(
        update(Counter).where(Counter.name == name).values(value=Counter.value).execution_options(**_SYNC)
    )

"""Issuer-signed updates waiting for a card: new grants (LOAD GRANT) and status commands (block,
unblock, terminate). Fetched by sync, applied when the card taps, acknowledged at the next sync.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Column, Engine, Float, Integer, LargeBinary, MetaData, String, Table, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from card_applet_spec import constants as c
from card_applet_spec.records import GrantBody, RecordError
from terminal.card.errors import ApduError, CardRefusal, SequenceNotNewerError
from terminal.card.session import KhbsSession

metadata = MetaData()
updates = Table(
    "pending_updates",
    metadata,
    Column("kind", String(8), primary_key=True),  # "grant" | "status"
    Column("server_id", Integer, primary_key=True),
    Column("card_serial", LargeBinary(8), nullable=False, index=True),
    Column("target", Integer, nullable=False),  # program for grants, new life-cycle state for status
    Column("seq", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("kid", LargeBinary, nullable=False),
    Column("signature", LargeBinary, nullable=False),
    Column("applied_at", Float, nullable=True),
    Column("result", String(64), nullable=True),
    Column("acked_at", Float, nullable=True),
)


@dataclass(frozen=True)
class PendingUpdate:
    kind: str
    server_id: int
    card_serial: bytes
    target: int
    seq: int
    body: bytes
    kid: bytes
    signature: bytes
    applied_at: float | None = None
    result: str | None = None
    acked_at: float | None = None


class PendingUpdates:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        metadata.create_all(engine)

    def add(self, items: Iterable[PendingUpdate]) -> int:
        rows = [
            {k: v for k, v in u.__dict__.items() if k not in ("applied_at", "result", "acked_at")}
            for u in items
        ]
        if not rows:
            return 0
        with self.engine.begin() as conn:
            result = conn.execute(sqlite_insert(updates).on_conflict_do_nothing(), rows)
        return int(result.rowcount or 0)

    def for_card(self, card_serial: bytes) -> list[PendingUpdate]:
        query = (
            select(updates)
            .where(updates.c.card_serial == card_serial, updates.c.applied_at.is_(None))
            .order_by(updates.c.kind, updates.c.seq)
        )
        with self.engine.connect() as conn:
            return [PendingUpdate(**dict(r)) for r in conn.execute(query).mappings()]

    def has_for(self, card_serial: bytes) -> bool:
        return bool(self.for_card(card_serial))

    def mark_applied(self, u: PendingUpdate, result: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(updates)
                .where(updates.c.kind == u.kind, updates.c.server_id == u.server_id)
                .values(applied_at=self.clock(), result=result)
            )

    def to_ack(self) -> tuple[list[int], list[int]]:
        """What to acknowledge: updates the card has (refused ones are kept for a person to look at)."""
        query = select(updates.c.kind, updates.c.server_id).where(
            updates.c.applied_at.is_not(None),
            updates.c.acked_at.is_(None),
            updates.c.result.in_(DELIVERED),
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [i for k, i in rows if k == "grant"], [i for k, i in rows if k == "status"]

    def mark_acked(self, grant_ids: Iterable[int], status_ids: Iterable[int]) -> None:
        with self.engine.begin() as conn:
            for kind, ids in (("grant", list(grant_ids)), ("status", list(status_ids))):
                if ids:
                    conn.execute(
                        update(updates)
                        .where(updates.c.kind == kind, updates.c.server_id.in_(ids))
                        .values(acked_at=self.clock())
                    )


#: Refusals that may pass (the card is blocked now and unblocked later, a PIN state): try again later.
_RETRY_LATER = {CardRefusal.WRONG_STATE, CardRefusal.PIN_REQUIRED}
#: Results the server may count as delivered.
DELIVERED = ("applied", "already_on_card", "superseded")


def apply_pending(
    session: KhbsSession, store: PendingUpdates, card_serial: bytes, now: float
) -> list[PendingUpdate]:
    """Load this card's waiting status command, then its grants. The card checks every issuer signature.

    Only the newest status command counts (older ones are superseded). A grant whose period has not
    started yet waits: loaded early it would replace the current period's unspent balance (the card has
    no clock to refuse it itself). A grant the card refuses for a passing reason stays pending.
    """
    applied: list[PendingUpdate] = []
    waiting = store.for_card(card_serial)
    statuses = sorted((u for u in waiting if u.kind == "status"), key=lambda u: u.seq)
    for old in statuses[:-1]:
        store.mark_applied(old, "superseded")
    for u in statuses[-1:]:
        result = _apply(session, u)
        if result is not None:
            store.mark_applied(u, result)
            applied.append(u)
        if result == "applied" and u.target != c.LifeCycle.OPERATIONAL:
            return applied  # a blocked or terminated card takes no grants
    for u in (u for u in waiting if u.kind == "grant"):
        try:
            not_yet = GrantBody.decode(u.body).valid_from > now
        except RecordError:
            store.mark_applied(u, "malformed")
            continue
        if not_yet:
            continue
        result = _apply(session, u)
        if result is not None:
            store.mark_applied(u, result)
            applied.append(u)
    return applied


def _apply(session: KhbsSession, u: PendingUpdate) -> str | None:
    """Send one update; its result, or None when it should be tried again at a later tap.

    A card or reader error (card pulled, malformed answer) is raised for the tap to record.
    """
    try:
        if u.kind == "grant":
            session.load_grant(u.body, u.kid, u.signature)
        else:
            session.set_status(u.target, u.body, u.kid, u.signature)
    except SequenceNotNewerError:
        return "already_on_card"
    except ApduError as err:
        return None if err.refusal in _RETRY_LATER else f"refused_{err.refusal.value}"
    return "applied"

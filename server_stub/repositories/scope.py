"""What a terminal may touch (terminal scope): the cards of its own region, and the cards that signed a
record naming it (a card-signed record is the only proof a card was at a terminal that a terminal cannot
make up: failure events and interests are the terminal's own word)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from server_stub.models import Card, Redemption

_CHUNK = 2000


def cards_seen(
    session: Session, *, terminal_id: str, region: int | None, serials: Collection[str]
) -> set[str]:
    """The serials among ``serials`` this terminal has seen: the card belongs to the terminal's region,
    or the terminal uploaded a record the card signed at it (``redemptions.terminal_id``, which is part of
    the signed record and, since terminal scope, always the uploader's own id)."""
    todo = sorted(set(serials))
    seen: set[str] = set()
    for start in range(0, len(todo), _CHUNK):
        chunk = todo[start : start + _CHUNK]
        if region is not None:
            seen.update(
                session.scalars(select(Card.serial).where(Card.serial.in_(chunk), Card.region == region))
            )
        rest = [s for s in chunk if s not in seen]
        if rest:
            seen.update(
                session.scalars(
                    select(Redemption.card_serial)
                    .where(Redemption.card_serial.in_(rest), Redemption.terminal_id == terminal_id)
                    .distinct()
                )
            )
    return seen


def record_makers(session: Session, record_ids: Collection[str]) -> dict[str, str]:
    """record id -> the terminal that made it (``redemptions.terminal_id``), for the stored ones."""
    todo = sorted(set(record_ids))
    out: dict[str, str] = {}
    for start in range(0, len(todo), _CHUNK):
        chunk = todo[start : start + _CHUNK]
        for rid, terminal_id in session.execute(
            select(Redemption.record_id, Redemption.terminal_id).where(Redemption.record_id.in_(chunk))
        ):
            out[rid] = terminal_id
    return out

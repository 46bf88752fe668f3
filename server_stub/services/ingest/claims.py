"""Step 5 of the redemption ingest, second half: what a verified record claims about its card and its
grant, checked against what the province issued. A genuine card cannot sign any of these (SPEC §5.12:
the card refuses a DEBIT outside the grant's window, above its remaining balance, of the wrong type),
so each means a cloned or forged card, a terminal that ignored the status list, or a card used after
its credential ran out:

- ``card_revoked`` / ``card_suspended``: the card's state *at the record's time* (its status history,
  :class:`~server_stub.models.StatusChange`, not its state today: a record an offline terminal made
  before the revocation is genuine);
- ``card_expired``: a record dated after the credential's expiry;
- ``unknown_grant``: the programme and ``grant_seq`` name no grant issued to that card;
- ``grant_mismatch``: dated outside the grant's window, or the wrong record type for the grant's kind;
- ``amount_exceeds_grant``: more than the grant allowed — a debit whose balance before it exceeds the
  grant, or that takes the grant's debits (stored and unflagged, then this batch's, in counter order)
  beyond it; a check-in that moves an amount or a balance.

A flagged record is stored as evidence and never counted in the public figures. The lookups are two
statements per batch (the cards' status history; the named grants with what was spent of each), made
before the verifier threads start and run while they verify, like the suspicious history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select

from card_applet_spec import constants as c
from province.statuslist import CardStatus
from server_stub.models import Card, Grant, Redemption, StatusChange
from server_stub.services.context import Ctx
from server_stub.services.ingest import db
from server_stub.services.ingest.parse import Candidate

FLAG_CARD_REVOKED = "card_revoked"
FLAG_CARD_SUSPENDED = "card_suspended"
FLAG_CARD_EXPIRED = "card_expired"
FLAG_UNKNOWN_GRANT = "unknown_grant"
FLAG_GRANT_MISMATCH = "grant_mismatch"
FLAG_AMOUNT_EXCEEDS_GRANT = "amount_exceeds_grant"
CLAIM_FLAGS = frozenset(
    {
        FLAG_CARD_REVOKED,
        FLAG_CARD_SUSPENDED,
        FLAG_CARD_EXPIRED,
        FLAG_UNKNOWN_GRANT,
        FLAG_GRANT_MISMATCH,
        FLAG_AMOUNT_EXCEEDS_GRANT,
    }
)

_PROGRAMS = frozenset(int(p) for p in c.Program)
_METERED = frozenset({int(c.Kind.CASH), int(c.Kind.QUANTITY)})
_DEBIT = int(c.TxType.DEBIT)
_CHECK_IN = int(c.TxType.CHECK_IN)
_STATE_FLAG = {int(CardStatus.REVOKED): FLAG_CARD_REVOKED, int(CardStatus.SUSPENDED): FLAG_CARD_SUSPENDED}
_CARD_STATE_VALUE = {"revoked": int(CardStatus.REVOKED), "suspended": int(CardStatus.SUSPENDED)}

#: (card serial, programme, grant_seq)
GrantKey = tuple[str, int, int]
#: kind, amount, valid_from, valid_until, spent (the stored unflagged debits of the grant)
GrantFacts = tuple[int, int, int, int, int]


class CardFacts(NamedTuple):
    """What the province knows of a batch's cards and grants."""

    #: serial -> (expires_at, state today, status changes as (at, seq, value) in order)
    cards: dict[str, tuple[int, str, list[tuple[int, int, int]]]]
    grants: dict[GrantKey, GrantFacts]


def facts_query(ctx: Ctx, batch: list[Candidate]) -> Callable[[], CardFacts]:
    """The function that looks up the batch's card facts (parameters made now, before the verifier
    threads start; run while they verify)."""
    if not batch:
        return lambda: CardFacts({}, {})
    serials = sorted({cand.item.card_serial for cand in batch})
    named = sorted({(cand.item.card_serial, cand.program, cand.grant_seq) for cand in batch})
    if db.is_pg(ctx):
        return _pg_query(ctx, serials, named)
    return lambda: _sqlite_facts(ctx, serials, named)


_PG_CARDS_SQL = """
SELECT c.serial, c.expires_at, c.state, s.at, s.seq, s.value
FROM cards AS c LEFT JOIN status_changes AS s ON s.card_serial = c.serial
WHERE c.serial = ANY(%b::text[])
"""
_PG_GRANTS_SQL = """
SELECT g.card_serial, g.program_id, g.grant_seq, g.kind, g.amount, g.valid_from, g.valid_until,
       COALESCE((SELECT sum(r.amount) FROM redemptions AS r
                 WHERE r.card_serial = g.card_serial AND r.program = g.program_id
                   AND r.grant_seq = g.grant_seq AND r.tx_type = %b AND NOT r.flagged), 0)::bigint
FROM unnest(%b::text[], %b::bigint[], %b::bigint[]) AS n(serial, program, seq)
JOIN grants AS g ON g.card_serial = n.serial AND g.program_id = n.program AND g.grant_seq = n.seq
"""


def _pg_query(ctx: Ctx, serials: list[str], named: list[GrantKey]) -> Callable[[], CardFacts]:
    connection = db.pg_connection(ctx)
    grant_params = [
        _DEBIT,
        [k[0] for k in named],
        [k[1] for k in named],
        [k[2] for k in named],
    ]

    def run() -> CardFacts:
        with connection.cursor(binary=True) as cursor:
            cursor.execute(_PG_CARDS_SQL, [serials])
            card_rows = cursor.fetchall()
            cursor.execute(_PG_GRANTS_SQL, grant_params)
            grant_rows = cursor.fetchall()
        return _facts(card_rows, grant_rows)

    return run


def _sqlite_facts(ctx: Ctx, serials: list[str], named: list[GrantKey]) -> CardFacts:
    session = ctx.session
    card_rows: list[Any] = []  # rows of (serial, expires_at, state, at, seq, value)
    for start in range(0, len(serials), 2000):
        chunk = serials[start : start + 2000]
        card_rows.extend(
            session.execute(
                select(
                    Card.serial,
                    Card.expires_at,
                    Card.state,
                    StatusChange.at,
                    StatusChange.seq,
                    StatusChange.value,
                )
                .outerjoin(StatusChange, StatusChange.card_serial == Card.serial)
                .where(Card.serial.in_(chunk))
            ).all()
        )
    spent = (
        select(func.coalesce(func.sum(Redemption.amount), 0))
        .where(
            Redemption.card_serial == Grant.card_serial,
            Redemption.program == Grant.program_id,
            Redemption.grant_seq == Grant.grant_seq,
            Redemption.tx_type == _DEBIT,
            Redemption.flagged.is_(False),
        )
        .scalar_subquery()
    )
    grant_rows: list[Any] = []  # rows as :data:`_PG_GRANTS_SQL` selects them
    for start in range(0, len(named), 300):
        keys = named[start : start + 300]
        match = or_(
            *(and_(Grant.card_serial == s, Grant.program_id == p, Grant.grant_seq == q) for s, p, q in keys)
        )
        grant_rows.extend(
            session.execute(
                select(
                    Grant.card_serial,
                    Grant.program_id,
                    Grant.grant_seq,
                    Grant.kind,
                    Grant.amount,
                    Grant.valid_from,
                    Grant.valid_until,
                    spent,
                ).where(match)
            ).all()
        )
    return _facts(card_rows, grant_rows)


def _facts(card_rows: Sequence[Any], grant_rows: Sequence[Any]) -> CardFacts:
    cards: dict[str, tuple[int, str, list[tuple[int, int, int]]]] = {}
    for serial, expires_at, state, at, seq, value in card_rows:
        entry = cards.get(serial)
        if entry is None:
            entry = cards[serial] = (expires_at, state, [])
        if at is not None and seq is not None and value is not None:
            entry[2].append((at, seq, value))
    for _expires, _state, history in cards.values():
        history.sort()
    grants = {
        (serial, program, seq): (kind, amount, valid_from, valid_until, int(spent))
        for serial, program, seq, kind, amount, valid_from, valid_until, spent in grant_rows
    }
    return CardFacts(cards, grants)


def _state_at(state_today: str, history: list[tuple[int, int, int]], when: int) -> tuple[int, int | None]:
    """The card's status-list value at ``when`` and the time it took it (None: the issue state, or a
    state today without a recorded change: its time unknown). A change applies from its second on."""
    value, since = int(CardStatus.VALID), None
    for at, _seq, changed in history:
        if at > when:
            break
        value, since = changed, at
    if not history and state_today in _CARD_STATE_VALUE:  # no history to date it: doubt every record
        return _CARD_STATE_VALUE[state_today], None
    return value, since


def check(verified: list[Candidate], facts: CardFacts) -> None:
    """Flag each verified record for what it claims that its card or grant contradicts. Run after the
    other suspicions: a record flagged for any reason does not count as spent for the next ones."""
    spent_here: dict[GrantKey, int] = {}
    for cand in sorted(verified, key=lambda k: (k.item.card_serial, k.counter, k.index)):
        serial, when = cand.item.card_serial, cand.time
        card = facts.cards.get(serial)
        if card is not None:
            expires_at, state_today, history = card
            value, since = _state_at(state_today, history, when)
            kind = _STATE_FLAG.get(value)
            if kind is not None:
                dated = f"since {since}" if since is not None else "(date of the change unknown)"
                cand.flag(kind, None, f"record at {when}; card {kind.removeprefix('card_')} {dated}")
            if when > expires_at:
                cand.flag(FLAG_CARD_EXPIRED, None, f"record at {when}; credential expired at {expires_at}")
        if cand.program not in _PROGRAMS:
            continue  # unknown_program already says it
        key = (serial, cand.program, cand.grant_seq)
        grant = facts.grants.get(key)
        if grant is None:
            cand.flag(
                FLAG_UNKNOWN_GRANT,
                None,
                f"no grant {cand.grant_seq} of programme {cand.program} for this card",
            )
            continue
        _check_grant(cand, key, grant, spent_here)


def _check_grant(cand: Candidate, key: GrantKey, grant: GrantFacts, spent_here: dict[GrantKey, int]) -> None:
    kind, allowed, valid_from, valid_until, spent_stored = grant
    when, amount, after = cand.time, cand.amount, cand.balance_after
    if not valid_from <= when <= valid_until:
        cand.flag(
            FLAG_GRANT_MISMATCH, None, f"record at {when} outside the grant's {valid_from}-{valid_until}"
        )
    metered = kind in _METERED
    if cand.tx_type != (_DEBIT if metered else _CHECK_IN):
        cand.flag(FLAG_GRANT_MISMATCH, None, f"record type {cand.tx_type} for a grant of kind {kind}")
        return
    if not metered:
        if amount != 0 or after != allowed:
            cand.flag(
                FLAG_AMOUNT_EXCEEDS_GRANT,
                None,
                f"check-in of {amount} leaving {after}; the grant holds {allowed}",
            )
        return
    before = spent_stored + spent_here.get(key, 0)
    if amount == 0 or amount + after > allowed or before + amount > allowed:
        cand.flag(
            FLAG_AMOUNT_EXCEEDS_GRANT,
            None,
            f"debit of {amount} leaving {after}, {before} spent before; the grant allowed {allowed}",
        )
    elif not cand.flags:
        spent_here[key] = spent_here.get(key, 0) + amount

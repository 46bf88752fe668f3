"""What the database holds for a batch of records, and storing the verified ones: steps 2 and 6 of the
redemption ingest, on PostgreSQL and on SQLite.

Step 2 locks the batch's cards, so concurrent uploads of the same or conflicting records serialise:
PostgreSQL takes transaction advisory locks in serial order (no deadlock between batches), SQLite
already holds its ``BEGIN IMMEDIATE`` write lock. Then the stored ids and the cards.

Step 6 stores. PostgreSQL: binary ``COPY`` in a savepoint (the card locks of step 2 leave no room for
a concurrent copy of a record), falling back to the SQLite way should an id be there all the same.
SQLite: ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` in multi-row statements: what comes back was
stored by this request, the rest was stored by a concurrent one (``duplicate``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Boolean, Integer, LargeBinary, select

from server_stub.models import Card, Redemption
from server_stub.services.context import Ctx
from server_stub.services.ingest import db
from server_stub.services.ingest.parse import Candidate


class Lookup(NamedTuple):
    """What the database says about a batch's candidates."""

    existing: dict[str, tuple[bool, bytes]]  # record id -> (voided, signature), of the stored records
    cards: dict[str, tuple[bytes | None, int, str]]  # serial -> (card key point, region, state)


_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(%b::bigint[]) AS k ORDER BY 1) s"
_PG_EXISTING_SQL = "SELECT record_id, voided, signature FROM redemptions WHERE record_id = ANY(%b::text[])"
_PG_CARDS_SQL = "SELECT serial, card_key, region, state FROM cards WHERE serial = ANY(%b::text[])"


def lock_and_look_up(ctx: Ctx, candidates: list[Candidate]) -> Lookup:
    """Lock the batch's cards, then the stored ids and the cards of every candidate (stored or not:
    each is verified)."""
    return (_lookup_pg if db.is_pg(ctx) else _lookup_sqlite)(ctx, candidates)


def _lookup_pg(ctx: Ctx, candidates: list[Candidate]) -> Lookup:
    """PostgreSQL: advisory transaction locks in key order, then each lookup one statement with a
    binary array parameter."""
    if not candidates:
        return Lookup({}, {})
    serials = sorted({cand.item.card_serial for cand in candidates})
    with db.pg_connection(ctx).cursor(binary=True) as cursor:
        cursor.execute(
            _PG_LOCK_SQL, [sorted(int.from_bytes(bytes.fromhex(s), "big", signed=True) for s in serials)]
        )
        cursor.execute(_PG_EXISTING_SQL, [[cand.item.record_id for cand in candidates]])
        existing = {rid: (voided, signature) for rid, voided, signature in cursor.fetchall()}
        cursor.execute(_PG_CARDS_SQL, [serials])
        card_rows = {serial: (point, region, state) for serial, point, region, state in cursor.fetchall()}
    return Lookup(existing, card_rows)


def _lookup_sqlite(ctx: Ctx, candidates: list[Candidate]) -> Lookup:
    """SQLite (``BEGIN IMMEDIATE`` already holds the database's write lock): the same lookups."""
    session = ctx.session
    existing: dict[str, tuple[bool, bytes]] = {}
    ids = [cand.item.record_id for cand in candidates]
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for rid, voided, signature in session.execute(
            select(Redemption.record_id, Redemption.voided, Redemption.signature).where(
                Redemption.record_id.in_(chunk)
            )
        ):
            existing[rid] = (voided, signature)
    serials = sorted({cand.item.card_serial for cand in candidates})
    card_rows: dict[str, tuple[bytes | None, int, str]] = {}
    for start in range(0, len(serials), 5000):
        for serial, point, region, state in session.execute(
            select(Card.serial, Card.card_key, Card.region, Card.state).where(
                Card.serial.in_(serials[start : start + 5000])
            )
        ):
            card_rows[serial] = (point, region, state)
    return Lookup(existing, card_rows)


#: The columns of a stored redemption, in the order of :func:`redemption_rows`.
REDEMPTION_COLUMNS = (
    "record_id",
    "card_serial",
    "tx_counter",
    "tx_type",
    "program",
    "grant_seq",
    "amount",
    "balance_after",
    "terminal_id",
    "terminal_time",
    "record",
    "signature",
    "ledger_id",
    "kind",
    "region",
    "month",
    "flagged",
    "voided",
    "void_reason",
    "uploaded_by",
    "received_at",
)


def redemption_rows(verified: Iterable[Candidate], uploaded_by: str, now: int) -> list[tuple[Any, ...]]:
    """The rows to store, as tuples in :data:`REDEMPTION_COLUMNS` order."""
    months: dict[int, str] = {}
    rows = []
    for cand in verified:
        item = cand.item
        when = cand.time
        rows.append(
            (
                item.record_id,
                item.card_serial,
                cand.counter,
                cand.tx_type,
                cand.program,
                cand.grant_seq,
                cand.amount,
                cand.balance_after,
                item.terminal_id,
                when,
                item.record,
                item.signature,
                item.ledger_id,
                item.kind,
                cand.region,
                months.get(when // 3600) or db.month_cached(months, when),
                bool(cand.flags),
                item.voided,
                item.void_reason if item.voided else None,
                uploaded_by,
                now,
            )
        )
    return rows


#: psycopg's binary COPY type for each column type (COPY BINARY wants the column's own type).
_PG_COPY_TYPE = {Integer: "int4", BigInteger: "int8", Boolean: "bool", LargeBinary: "bytea"}


def _copy_pg(ctx: Ctx, rows: list[tuple[Any, ...]]) -> bool:
    """PostgreSQL: ``COPY ... FROM STDIN (FORMAT BINARY)`` of the rows straight into ``redemptions``
    (psycopg formats them in C; no per-row conflict check, no ``RETURNING``), in a savepoint. True:
    stored; False: an id was there already, and the savepoint is rolled back."""
    import psycopg

    redemptions = db.table(Redemption)
    types = [_PG_COPY_TYPE.get(type(redemptions.c[name].type), "text") for name in REDEMPTION_COLUMNS]
    columns = ", ".join(f'"{name}"' for name in REDEMPTION_COLUMNS)
    with db.pg_connection(ctx).cursor() as cursor:
        cursor.execute("SAVEPOINT khbs_store")
        try:
            with cursor.copy(f'COPY "{redemptions.name}" ({columns}) FROM STDIN (FORMAT BINARY)') as copy:
                copy.set_types(types)
                write = copy.write_row
                for row in rows:
                    write(row)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT khbs_store")
            cursor.execute("RELEASE SAVEPOINT khbs_store")
            return False
        cursor.execute("RELEASE SAVEPOINT khbs_store")
    return True


def store_redemptions(ctx: Ctx, rows: list[tuple[Any, ...]]) -> set[str]:
    """Store the verified records' rows (:func:`redemption_rows`); the ids this request stored.

    PostgreSQL: ``COPY`` (:func:`_copy_pg`). It cannot meet a stored id: the batch's cards are locked
    since before the stored ids were looked up, and every writer of redemptions takes those locks.
    Should it all the same, the rows go through ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, whose
    answer says which of them this request stored. SQLite: that insert."""
    if not rows:
        return set()
    if db.is_pg(ctx) and _copy_pg(ctx, rows):
        return {row[0] for row in rows}
    columns = {name: [row[i] for row in rows] for i, name in enumerate(REDEMPTION_COLUMNS)}
    return db.insert(ctx, db.table(Redemption), columns, "record_id")

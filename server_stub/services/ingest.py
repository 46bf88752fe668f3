"""Redemption ingest: card-signed records from terminals, stored exactly once, every signature verified,
clones and replays flagged. Failure events, voids.

One batch, one transaction:

1. parse every record strictly, recompute its id (``sha256(record)[:32]``, as ``terminal.ledger``) and
   check the envelope fields against the record;
2. lock the cards of the batch (PostgreSQL: transaction advisory locks in serial order; SQLite: the
   ``BEGIN IMMEDIATE`` write lock), so concurrent uploads of the same or conflicting records serialise;
3. skip records already stored (``duplicate``: no need to verify them again);
4. verify the card signature over ``DOMAIN_TX || record`` with the card key from the card's credential
   (parsed keys cached per process);
5. look for double spending against the card's other records: the same counter with other content
   (``counter_conflict``), counters that run against time (``counter_regression``), the card in two
   regencies within the window (``two_places``);
6. ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` in one multi-row statement: what comes back was
   stored by this request, the rest was stored by a concurrent one (``duplicate``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    LargeBinary,
    String,
    Table,
    any_,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import QueryableAttribute

from card_applet_spec import constants as c
from card_applet_spec.records import RecordError, TxRecord
from server_stub.models import Base, Card, FailureEvent, Flag, Redemption, Terminal, Void
from server_stub.services import cards as cards_service
from server_stub.services.context import Ctx
from server_stub.services.registry import WIB

if TYPE_CHECKING:
    import psycopg

#: What became of one item of a void / failure / interest batch.
Outcome = Literal["stored", "duplicate", "rejected"]

FLAG_COUNTER_CONFLICT = "counter_conflict"
FLAG_COUNTER_REGRESSION = "counter_regression"
FLAG_TWO_PLACES = "two_places"
FLAG_UNKNOWN_TERMINAL = "unknown_terminal"
CLONE_FLAGS = frozenset({FLAG_COUNTER_CONFLICT, FLAG_COUNTER_REGRESSION})

_ECDSA = ec.ECDSA(hashes.SHA256())
_DOMAIN = c.DOMAIN_TX


def record_id(record: bytes) -> str:
    """The stable id of a card-signed record: the same as ``terminal.ledger.record_id``."""
    return hashlib.sha256(record).hexdigest()[:32]


VERIFY_THREADS = os.cpu_count() or 1
_VERIFY_POOL = ThreadPoolExecutor(max_workers=VERIFY_THREADS, thread_name_prefix="khbs-verify")
#: Below this many records a batch is verified inline (the pool's hand-off costs more than it saves).
_PARALLEL_FROM = 64


def _verify_chunk(chunk: Sequence[tuple[_Candidate, ec.EllipticCurvePublicKey]]) -> list[bool]:
    out = []
    for cand, key in chunk:
        try:
            key.verify(cand.item.signature, _DOMAIN + cand.item.record, _ECDSA)
            out.append(True)
        except (InvalidSignature, ValueError):
            out.append(False)
    return out


def _verify_all(keyed: list[tuple[_Candidate, ec.EllipticCurvePublicKey]]) -> Callable[[], list[bool]]:
    """Start verifying; the returned function waits for the verdicts (in order)."""
    workers = VERIFY_THREADS
    if len(keyed) < _PARALLEL_FROM or workers < 2:
        verdicts = _verify_chunk(keyed)
        return lambda: verdicts
    size = -(-len(keyed) // workers)
    futures = [_VERIFY_POOL.submit(_verify_chunk, keyed[i : i + size]) for i in range(0, len(keyed), size)]
    return lambda: [v for f in futures for v in f.result()]


class CardKeyCache:
    """Parsed card public keys by their compressed point (a point never changes its meaning)."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._keys: dict[bytes, ec.EllipticCurvePublicKey] = {}
        self._lock = threading.Lock()
        self._capacity = capacity

    def get(self, point: bytes) -> ec.EllipticCurvePublicKey:
        key = self._keys.get(point)
        if key is None:
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
            with self._lock:
                if len(self._keys) >= self._capacity:
                    self._keys.clear()
                self._keys[point] = key
        return key


CARD_KEYS = CardKeyCache()


@dataclass(frozen=True, slots=True)
class RecordIn:
    record_id: str
    record: bytes
    signature: bytes
    card_serial: str
    terminal_id: str
    ledger_id: str | None = None
    kind: str | None = None
    voided: bool = False
    void_reason: str | None = None


@dataclass(frozen=True, slots=True)
class RecordResult:
    record_id: str
    result: str  # stored | duplicate | flagged | rejected
    reason: str | None = None
    flags: tuple[str, ...] = ()


@dataclass(slots=True)
class _Candidate:
    index: int
    item: RecordIn
    rec: TxRecord
    flags: list[tuple[str, str | None, str]] = field(default_factory=list)
    region: int = 0


@dataclass(frozen=True, slots=True)
class _Seen:
    record_id: str
    counter: int
    time: int
    region: int


def _month_cached(cache: dict[int, str], ts: int) -> str:
    month = cache[ts // 3600] = _month(ts)  # WIB is a whole number of hours from UTC
    return month


def _month(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, WIB).strftime("%Y-%m")


def _lock_cards(ctx: Ctx, serials: Sequence[str]) -> None:
    if ctx.session.get_bind().dialect.name != "postgresql" or not serials:
        return  # SQLite: BEGIN IMMEDIATE already holds the database's write lock
    keys = sorted(int.from_bytes(bytes.fromhex(s), "big", signed=True) for s in serials)
    ctx.session.execute(
        text(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) s"
        ),
        {"keys": keys},
    )


def _is_pg(ctx: Ctx) -> bool:
    return ctx.session.get_bind().dialect.name == "postgresql"


def _in(ctx: Ctx, column: QueryableAttribute[str], values: Sequence[str]) -> ColumnElement[bool]:
    """``column IN values`` for hex ids and serials; on PostgreSQL
    ``column = ANY(string_to_array(:joined, ','))``: one short text parameter instead of thousands
    of placeholders (or an array the driver escapes element by element)."""
    if _is_pg(ctx):
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(String())))
    return column.in_(values)


def _table(model: type[Base]) -> Table:
    """The mapped table of a model (declarative types ``__table__`` as any ``FromClause``)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return table


def _pg_connection(ctx: Ctx) -> psycopg.Connection[Any]:
    """The psycopg connection under the session's connection (PostgreSQL only)."""
    import psycopg

    driver = ctx.session.connection().connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"expected a psycopg connection, got {type(driver).__name__}")
    return driver


#: PostgreSQL array type of each column for the ``unnest`` bulk insert.
_PG_ARRAY = {Integer: "bigint[]", BigInteger: "bigint[]", Boolean: "boolean[]", LargeBinary: "bytea[]"}


def _insert(
    ctx: Ctx,
    table: Table,
    rows: list[dict[str, object]],
    key: str,
    constants: dict[str, object] | None = None,
) -> set[str]:
    """Bulk INSERT ... ON CONFLICT DO NOTHING RETURNING key: the keys this statement stored.
    ``constants`` are the same for every row.

    PostgreSQL: ``INSERT ... SELECT FROM unnest(%s, %s, ...)`` with one array per column, sent in
    psycopg's binary format (a short statement whatever the batch size, no text escaping). SQLite: a
    multi-row VALUES insert."""
    if not rows:
        return set()
    constants = constants or {}
    if _is_pg(ctx):
        columns = [col for col in table.columns if col.name in rows[0]]
        fixed = [col for col in table.columns if col.name in constants]
        names = ", ".join(f'"{col.name}"' for col in columns + fixed)
        arrays = ", ".join(f"%s::{_PG_ARRAY.get(type(col.type), 'text[]')}" for col in columns)
        values = ", ".join(["u.*"] + [f"%s::{_PG_ARRAY.get(type(f.type), 'text[]')[:-2]}" for f in fixed])
        sql = (
            f'INSERT INTO "{table.name}" ({names}) SELECT {values} FROM unnest({arrays}) AS u '
            f'ON CONFLICT DO NOTHING RETURNING "{key}"'
        )
        # placeholders in text order: the constants (select list) first, then the arrays (unnest)
        params = [constants[f.name] for f in fixed] + [[row[col.name] for row in rows] for col in columns]
        with _pg_connection(ctx).cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            return {r[0] for r in cursor.fetchall()}
    stmt = sqlite.insert(table).on_conflict_do_nothing().returning(table.c[key])
    full = [{**row, **constants} for row in rows]
    stored: set[str] = set()
    for start in range(0, len(full), 500):
        stored.update(ctx.session.execute(stmt, full[start : start + 500]).scalars())
    return stored


def ingest_redemptions(ctx: Ctx, batch: Sequence[RecordIn]) -> list[RecordResult]:
    ctx.actor.require_terminal()
    session = ctx.session
    results: list[RecordResult | None] = [None] * len(batch)
    candidates: list[_Candidate] = []
    first_of: dict[str, int] = {}

    # 1. parse and check the envelope
    for i, item in enumerate(batch):
        rid = record_id(item.record)
        if len(item.record) != TxRecord.SIZE:
            results[i] = RecordResult(item.record_id, "rejected", "malformed_record")
            continue
        try:
            rec = TxRecord.decode(item.record)
        except RecordError:
            results[i] = RecordResult(item.record_id, "rejected", "malformed_record")
            continue
        if rid != item.record_id:
            results[i] = RecordResult(item.record_id, "rejected", "record_id_mismatch")
        elif rec.card_serial.hex() != item.card_serial or rec.terminal_id != item.terminal_id.encode(
            "ascii", "replace"
        ):
            results[i] = RecordResult(item.record_id, "rejected", "field_mismatch")
        elif rid in first_of:
            results[i] = RecordResult(rid, "duplicate")
        else:
            first_of[rid] = i
            candidates.append(_Candidate(i, item, rec))

    serials = sorted({cand.item.card_serial for cand in candidates})
    _lock_cards(ctx, serials)

    # 2. already stored?
    existing: dict[str, bool] = {}
    ids = [cand.item.record_id for cand in candidates]
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        existing.update(
            session.execute(
                select(Redemption.record_id, Redemption.voided).where(_in(ctx, Redemption.record_id, chunk))
            ).all()
        )
    void_later: list[RecordIn] = []
    fresh: list[_Candidate] = []
    for cand in candidates:
        if cand.item.record_id in existing:
            results[cand.index] = RecordResult(cand.item.record_id, "duplicate")
            if cand.item.voided and not existing[cand.item.record_id]:
                void_later.append(cand.item)
        else:
            fresh.append(cand)

    # 3. card keys and regions
    serials = sorted({cand.item.card_serial for cand in fresh})
    card_rows: dict[str, tuple[bytes | None, int, str]] = {}
    for start in range(0, len(serials), 5000):
        chunk = serials[start : start + 5000]
        for serial, point, region, state in session.execute(
            select(Card.serial, Card.card_key, Card.region, Card.state).where(_in(ctx, Card.serial, chunk))
        ):
            card_rows[serial] = (point, region, state)
    terminal_ids = {cand.item.terminal_id for cand in fresh}
    terminal_region = dict(
        session.execute(select(Terminal.id, Terminal.region).where(Terminal.id.in_(terminal_ids))).all()
    )

    # 4. verify card signatures (a thread pool: OpenSSL releases the GIL) while the database looks
    #    for the records that make the new ones suspicious
    keyed: list[tuple[_Candidate, ec.EllipticCurvePublicKey]] = []
    for cand in fresh:
        row = card_rows.get(cand.item.card_serial)
        point = row[0] if row is not None else None
        key = CARD_KEYS.get(point) if point else None
        if row is None or key is None:  # no row: no point, so no key either
            results[cand.index] = RecordResult(cand.item.record_id, "rejected", "unknown_card")
            continue
        cand.region = terminal_region.get(cand.item.terminal_id, -1)
        if cand.region == -1:
            cand.region = row[1]
            cand.flags.append(
                (FLAG_UNKNOWN_TERMINAL, None, f"terminal {cand.item.terminal_id!r} is not enrolled")
            )
        keyed.append((cand, key))
    checks = _verify_all(keyed)
    candidates_ = [cand for cand, _key in keyed]
    history = _suspicious_pg(ctx, candidates_) if _is_pg(ctx) else _history(ctx, candidates_)
    verified: list[_Candidate] = []
    for (cand, _key), good in zip(keyed, checks(), strict=True):
        if good:
            verified.append(cand)
        else:
            results[cand.index] = RecordResult(cand.item.record_id, "rejected", "bad_signature")

    # 5. double spending / clones / two places
    _detect(ctx, verified, history)

    # 6. store
    now = ctx.now()
    months: dict[int, str] = {}
    rows: list[dict[str, object]] = []
    for cand in verified:
        rec, item = cand.rec, cand.item
        rows.append(
            {
                "record_id": item.record_id,
                "card_serial": item.card_serial,
                "tx_counter": rec.tx_counter,
                "tx_type": rec.tx_type,
                "program": rec.program,
                "grant_seq": rec.grant_seq,
                "amount": rec.amount,
                "balance_after": rec.balance_after,
                "terminal_id": item.terminal_id,
                "terminal_time": rec.terminal_time,
                "record": item.record,
                "signature": item.signature,
                "ledger_id": item.ledger_id,
                "kind": item.kind,
                "region": cand.region,
                "month": months.get(rec.terminal_time // 3600) or _month_cached(months, rec.terminal_time),
                "flagged": bool(cand.flags),
                "voided": item.voided,
                "void_reason": item.void_reason if item.voided else None,
            }
        )
    stored = _insert(
        ctx,
        _table(Redemption),
        rows,
        "record_id",
        {"uploaded_by": ctx.actor.name, "received_at": now},
    )
    flags: list[dict[str, object]] = []
    suspend: dict[str, str] = {}
    for cand in verified:
        rid = cand.item.record_id
        if rid not in stored:
            results[cand.index] = RecordResult(rid, "duplicate")
            continue
        kinds = tuple(dict.fromkeys(kind for kind, _other, _detail in cand.flags))
        results[cand.index] = RecordResult(rid, "flagged" if kinds else "stored", None, kinds)
        for kind, other, detail in cand.flags:
            flags.append(
                {
                    "card_serial": cand.item.card_serial,
                    "kind": kind,
                    "record_id": rid,
                    "other_record_id": other,
                    "detail": detail[:500],
                    "created_at": now,
                    "resolved": False,
                }
            )
            if kind in CLONE_FLAGS:
                suspend.setdefault(cand.item.card_serial, f"automatic: {kind} ({detail})"[:200])
    if flags:
        session.execute(_table(Flag).insert(), flags)
    for item in void_later:
        _void(ctx, item.record_id, item.void_reason or "voided at the terminal")
    if ctx.settings.auto_suspend_on_flag:
        for serial, reason in sorted(suspend.items()):
            if card_rows[serial][2] == "active":
                cards_service.change_status(ctx, serial, "suspended", reason, check_role=False)
    session.flush()
    return [r for r in results if r is not None]


def _history(ctx: Ctx, batch: list[_Candidate]) -> dict[str, list[_Seen]]:
    """Every record already stored for the cards of the batch."""
    by_card: dict[str, list[_Seen]] = defaultdict(list)
    serials = sorted({cand.item.card_serial for cand in batch})
    for start in range(0, len(serials), 2000):
        chunk = serials[start : start + 2000]
        for rid, serial, counter, when, region in ctx.session.execute(
            select(
                Redemption.record_id,
                Redemption.card_serial,
                Redemption.tx_counter,
                Redemption.terminal_time,
                Redemption.region,
            ).where(_in(ctx, Redemption.card_serial, chunk))
        ):
            by_card[serial].append(_Seen(rid, counter, when, region))
    return by_card


_SUSPICIOUS_SQL = """
SELECT n.serial, r.record_id, r.tx_counter, r.terminal_time, r.region
FROM unnest(%(rid)s::text[], %(serial)s::text[], %(counter)s::bigint[], %(t)s::bigint[],
            %(region)s::bigint[]) AS n(rid, serial, counter, t, region)
JOIN redemptions AS r ON r.card_serial = n.serial
WHERE (r.tx_counter = n.counter AND r.record_id <> n.rid)
   OR (r.tx_counter > n.counter AND r.terminal_time < n.t - %(tolerance)s)
   OR (r.tx_counter < n.counter AND r.terminal_time > n.t + %(tolerance)s)
   OR (r.region <> n.region AND abs(r.terminal_time - n.t) < %(window)s)
"""


def _suspicious_pg(ctx: Ctx, batch: list[_Candidate]) -> dict[str, list[_Seen]]:
    """PostgreSQL: only the stored records that break a rule with some record of the batch (the
    database joins on the card index; the same predicates as :func:`_pair_flags` re-checks)."""
    by_card: dict[str, list[_Seen]] = defaultdict(list)
    if not batch:
        return by_card
    params = {
        "rid": [cand.item.record_id for cand in batch],
        "serial": [cand.item.card_serial for cand in batch],
        "counter": [cand.rec.tx_counter for cand in batch],
        "t": [cand.rec.terminal_time for cand in batch],
        "region": [cand.region for cand in batch],
        "tolerance": ctx.settings.clock_tolerance_s,
        "window": ctx.settings.two_places_window_s,
    }
    seen: set[tuple[str, str]] = set()
    with _pg_connection(ctx).cursor(binary=True) as cursor:
        cursor.execute(_SUSPICIOUS_SQL, params)
        for serial, rid, counter, when, region in cursor.fetchall():
            if (serial, rid) not in seen:
                seen.add((serial, rid))
                by_card[serial].append(_Seen(rid, counter, when, region))
    return by_card


def _pair_flags(
    cand: _Candidate, other: _Seen, tolerance: int, window: int
) -> list[tuple[str, str | None, str]]:
    rec = cand.rec
    out: list[tuple[str, str | None, str]] = []
    if other.counter == rec.tx_counter:
        if other.record_id != cand.item.record_id:  # the id is a hash of the record
            out.append((FLAG_COUNTER_CONFLICT, other.record_id, f"counter {rec.tx_counter} signed twice"))
    elif (other.counter > rec.tx_counter and other.time < rec.terminal_time - tolerance) or (
        other.counter < rec.tx_counter and other.time > rec.terminal_time + tolerance
    ):
        detail = f"counter {rec.tx_counter} at {rec.terminal_time} vs {other.counter} at {other.time}"
        out.append((FLAG_COUNTER_REGRESSION, other.record_id, detail))
    if other.region != cand.region and abs(other.time - rec.terminal_time) < window:
        gap = abs(other.time - rec.terminal_time)
        out.append(
            (FLAG_TWO_PLACES, other.record_id, f"regions {cand.region} and {other.region} {gap} s apart")
        )
    return out


def _detect(ctx: Ctx, verified: list[_Candidate], by_card: dict[str, list[_Seen]]) -> None:
    """Flag each record against the stored ones in ``by_card`` and against the batch's earlier ones."""
    tolerance = ctx.settings.clock_tolerance_s
    window = ctx.settings.two_places_window_s
    for cand in sorted(verified, key=lambda k: (k.item.card_serial, k.rec.tx_counter, k.index)):
        seen = by_card[cand.item.card_serial]
        for other in seen:
            cand.flags.extend(_pair_flags(cand, other, tolerance, window))
        seen.append(_Seen(cand.item.record_id, cand.rec.tx_counter, cand.rec.terminal_time, cand.region))


def _void(ctx: Ctx, rid: str, reason: str) -> None:
    ctx.session.execute(
        update(Redemption)
        .where(Redemption.record_id == rid, Redemption.voided.is_(False))
        .values(voided=True, void_reason=reason[:256])
    )


# --- voids ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoidIn:
    void_id: str
    ledger_id: str
    record_id: str | None
    reason: str
    clerk_id: str
    created_at: int


def ingest_voids(ctx: Ctx, batch: Sequence[VoidIn]) -> list[tuple[str, Outcome, str | None]]:
    ctx.actor.require_terminal()
    session = ctx.session
    ids = [v.void_id for v in batch]
    known = set(session.scalars(select(Void.void_id).where(Void.void_id.in_(ids))))
    by_ledger = dict(
        session.execute(
            select(Redemption.ledger_id, Redemption.record_id).where(
                Redemption.ledger_id.in_([v.ledger_id for v in batch]),
                Redemption.uploaded_by == ctx.actor.name,
            )
        ).all()
    )
    rids = [v.record_id for v in batch if v.record_id]
    by_rid = set(session.scalars(select(Redemption.record_id).where(Redemption.record_id.in_(rids))))
    out: list[tuple[str, Outcome, str | None]] = []
    seen: set[str] = set()
    for v in batch:
        if v.void_id in known or v.void_id in seen:
            out.append((v.void_id, "duplicate", None))
            continue
        rid = v.record_id if v.record_id in by_rid else by_ledger.get(v.ledger_id)
        if rid is None:
            out.append((v.void_id, "rejected", "unknown_record"))
            continue
        seen.add(v.void_id)
        session.add(
            Void(
                void_id=v.void_id,
                record_id=rid,
                reason=v.reason,
                clerk_id=v.clerk_id,
                terminal_id=ctx.actor.name,
                created_at=v.created_at,
                received_at=ctx.now(),
            )
        )
        _void(ctx, rid, v.reason)
        out.append((v.void_id, "stored", None))
    session.flush()
    return out


# --- failure events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FailureIn:
    event_id: str
    occurred_at: int
    card_serial: str | None
    program: int | None
    reason: str
    detail: str | None
    clerk_id: str | None


def ingest_failures(ctx: Ctx, batch: Sequence[FailureIn]) -> list[tuple[str, Outcome]]:
    ctx.actor.require_terminal()
    region = ctx.actor.region or 0
    now = ctx.now()
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for e in batch:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        rows.append(
            {
                "event_id": e.event_id,
                "terminal_id": ctx.actor.name,
                "card_serial": e.card_serial,
                "program": e.program,
                "reason": e.reason,
                "detail": e.detail,
                "clerk_id": e.clerk_id,
                "occurred_at": e.occurred_at,
                "region": region,
                "month": _month(e.occurred_at),
                "received_at": now,
            }
        )
    stored = _insert(ctx, _table(FailureEvent), rows, "event_id")
    out: list[tuple[str, Outcome]] = []
    first: set[str] = set()
    for e in batch:
        fresh = e.event_id in stored and e.event_id not in first
        first.add(e.event_id)
        out.append((e.event_id, "stored" if fresh else "duplicate"))
    return out


__all__ = [
    "CARD_KEYS",
    "FailureIn",
    "Outcome",
    "RecordIn",
    "RecordResult",
    "VoidIn",
    "ingest_failures",
    "ingest_redemptions",
    "ingest_voids",
    "record_id",
]

"""Redemption ingest: card-signed records from terminals, stored exactly once, every signature verified,
clones and replays flagged. Failure events, voids.

One batch, one transaction:

1. parse every record strictly, recompute its id (``sha256(record)[:32]``, as ``terminal.ledger``) and
   check the envelope fields against the record;
2. lock the cards of the batch (PostgreSQL: transaction advisory locks in serial order; SQLite: the
   ``BEGIN IMMEDIATE`` write lock), so concurrent uploads of the same or conflicting records serialise;
3. terminal scope: a record must name the uploading terminal (``foreign_terminal`` otherwise);
4. verify the card signature over ``DOMAIN_TX || record`` with the card key from the card's credential
   (parsed keys cached per process), of every record, stored already or not: a re-upload is
   ``duplicate`` only when it is the stored upload (same signature, not voided where the stored one is
   not), else ``differs_from_stored``; it never changes what is stored;
5. look for double spending against the card's other records: the same counter with other content
   (``counter_conflict``), counters that run against time (``counter_regression``), the card in two
   regencies within the window (``two_places``);
6. store what is verified. SQLite: ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` in multi-row
   statements: what comes back was stored by this request, the rest was stored by a concurrent one
   (``duplicate``). PostgreSQL: ``COPY`` in a savepoint (the card locks of step 2 leave no room for a
   concurrent copy of a record), falling back to that insert should an id be there all the same.

Cost per record (PostgreSQL): a constant number of statements per batch (lock, stored ids, cards,
terminals, suspicious history, store), arrays sent in psycopg's binary format (its text format escapes
every element in Python), the rows by binary ``COPY``. Signatures are verified on a thread pool
(``cryptography`` releases the GIL in ECDSA verify) while PostgreSQL looks for the suspicious history.
While the pool verifies, the request thread runs next to no Python, it waits on the database and the
verdicts: a thread that computes holds the GIL, and a verifier thread then waits up to the switch
interval (5 ms) to take it back after each signature, which costs far more than the overlap gains.
Per-record objects that live through the request are few and small (every survivor of a young
collection adds to the next full collection of the GC, which walks the whole heap).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

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
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import QueryableAttribute

from card_applet_spec import constants as c
from card_applet_spec.records import FORMAT_VERSION, RecordError, TxRecord, record_id
from province.clock import WIB
from server_stub.models import Base, Card, FailureEvent, Flag, Redemption, Void
from server_stub.repositories import scope
from server_stub.services import audit
from server_stub.services import cards as cards_service
from server_stub.services.context import Ctx

if TYPE_CHECKING:
    import psycopg

#: What became of one item of a void / failure / interest batch.
Outcome = Literal["stored", "duplicate", "rejected"]

FLAG_COUNTER_CONFLICT = "counter_conflict"
FLAG_COUNTER_REGRESSION = "counter_regression"
FLAG_TWO_PLACES = "two_places"
FLAG_UNKNOWN_TERMINAL = "unknown_terminal"
FLAG_IMPLAUSIBLE_TIME = "implausible_time"  # dated in the future of this server's clock
FLAG_UNKNOWN_PROGRAM = "unknown_program"  # a programme number the province does not run
#: How far ahead of the server's clock a terminal's (soft) clock may be before its records are doubted.
MAX_CLOCK_AHEAD_S = 86_400
_PROGRAMS = frozenset(int(p) for p in c.Program)
#: Terminal scope: a record that names another terminal than the one uploading it.
REJECT_FOREIGN_TERMINAL = "foreign_terminal"
#: A re-upload (or a second copy in the batch) that is not the upload stored: another signature over
#: the same record, or ``voided`` where the stored record is not (voids go through ``/v1/sync/voids``).
REJECT_DIFFERS_FROM_STORED = "differs_from_stored"
_SCOPE_REJECTS = frozenset({REJECT_FOREIGN_TERMINAL, REJECT_DIFFERS_FROM_STORED})
#: Terminal scope: a void of a record another terminal made.
REJECT_NOT_OWN_RECORD = "not_own_record"
CLONE_FLAGS = frozenset({FLAG_COUNTER_CONFLICT, FLAG_COUNTER_REGRESSION})

_ECDSA = ec.ECDSA(hashes.SHA256())
_DOMAIN = c.DOMAIN_TX


VERIFY_THREADS = os.cpu_count() or 1
_VERIFY_POOL = ThreadPoolExecutor(max_workers=VERIFY_THREADS, thread_name_prefix="khbs-verify")
#: Below this many records a batch is verified inline (the pool's hand-off costs more than it saves).
_PARALLEL_FROM = 64
#: Pieces per verifier thread: small pieces (~125 records of a full batch), so that the threads finish
#: together (a thread that is done early takes the next piece; one left alone runs on one core).
_PIECES_PER_THREAD = 8

#: What a verifier needs of one record: the card key's point (parsed through :data:`CARD_KEYS`, so a
#: cold cache is filled on the verifier threads), the signature, the record.
_ToVerify = tuple[bytes, bytes, bytes]


def _verify_chunk(chunk: Sequence[_ToVerify]) -> list[bool]:
    out = []
    get_key = CARD_KEYS.get
    for point, signature, record in chunk:
        key = get_key(point)  # a point that is no key raises, as it always has: the batch fails
        try:
            key.verify(signature, _DOMAIN + record, _ECDSA)
            out.append(True)
        except (InvalidSignature, ValueError):
            out.append(False)
    return out


def _verify_all(todo: list[_ToVerify]) -> Callable[[], list[bool]]:
    """Start verifying; the returned function waits for the verdicts (in order)."""
    workers = VERIFY_THREADS
    if len(todo) < _PARALLEL_FROM or workers < 2:
        verdicts = _verify_chunk(todo)
        return lambda: verdicts
    size = max(16, -(-len(todo) // (workers * _PIECES_PER_THREAD)))
    futures = [_VERIFY_POOL.submit(_verify_chunk, todo[i : i + size]) for i in range(0, len(todo), size)]
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


class RecordIn(NamedTuple):
    """One uploaded record (immutable; a named tuple: thousands are made per batch)."""

    record_id: str
    record: bytes
    signature: bytes
    card_serial: str
    terminal_id: str
    ledger_id: str | None = None
    kind: str | None = None
    voided: bool = False
    void_reason: str | None = None


class RecordResult(NamedTuple):
    record_id: str
    result: str  # stored | duplicate | flagged | rejected
    reason: str | None = None
    flags: tuple[str, ...] = ()


#: A suspicion: kind, the other record's id (if any), detail.
_FlagOf = tuple[str, str | None, str]


@dataclass(slots=True)
class _Candidate:
    """A record that passed parsing, with the decoded fields the later steps use. Slots only and no
    per-record list until a record is flagged: thousands live through the request, and every object
    that does ends up in the GC's old generation, whose full collections walk the whole heap."""

    index: int
    item: RecordIn
    counter: int  # tx_counter
    time: int  # terminal_time
    tx_type: int
    program: int
    grant_seq: int
    amount: int
    balance_after: int
    region: int = 0
    flags: list[_FlagOf] | None = None

    def flag(self, kind: str, other: str | None, detail: str) -> None:
        if self.flags is None:
            self.flags = []
        self.flags.append((kind, other, detail))


#: A record of the card already seen (stored, or earlier in the batch): record id, counter, time,
#: region. A plain tuple: the GC stops tracking a tuple of atomic values, not a named tuple (a subclass),
#: and thousands of these live through the request.
_Seen = tuple[str, int, int, int]


def _month_cached(cache: dict[int, str], ts: int) -> str:
    month = cache[ts // 3600] = _month(ts)  # WIB is a whole number of hours from UTC
    return month


def _month(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, WIB).strftime("%Y-%m")


def _is_pg(ctx: Ctx) -> bool:
    return ctx.session.get_bind().dialect.name == "postgresql"


def _in(ctx: Ctx, column: QueryableAttribute[str], values: Sequence[str]) -> ColumnElement[bool]:
    """``column IN values`` for hex ids and serials; on PostgreSQL ``column = ANY(:array)``: one
    parameter instead of thousands of placeholders."""
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
    columns: dict[str, list[Any]],
    key: str,
    constants: dict[str, object] | None = None,
) -> set[str]:
    """Bulk INSERT ... ON CONFLICT DO NOTHING RETURNING key: the keys this statement stored.
    ``columns`` holds one list of values per column (all as long); ``constants`` are the same for
    every row.

    PostgreSQL: ``INSERT ... SELECT FROM unnest(%b, %b, ...)`` with one array per column, sent in
    psycopg's binary format (a short statement whatever the batch size, no text escaping). SQLite: a
    multi-row VALUES insert."""
    if not columns or not next(iter(columns.values())):
        return set()
    constants = constants or {}
    if _is_pg(ctx):
        cols = [col for col in table.columns if col.name in columns]
        fixed = [col for col in table.columns if col.name in constants]
        names = ", ".join(f'"{col.name}"' for col in cols + fixed)
        arrays = ", ".join(f"%b::{_PG_ARRAY.get(type(col.type), 'text[]')}" for col in cols)
        values = ", ".join(["u.*"] + [f"%b::{_PG_ARRAY.get(type(f.type), 'text[]')[:-2]}" for f in fixed])
        sql = (
            f'INSERT INTO "{table.name}" ({names}) SELECT {values} FROM unnest({arrays}) AS u '
            f'ON CONFLICT DO NOTHING RETURNING "{key}"'
        )
        # placeholders in text order: the constants (select list) first, then the arrays (unnest)
        params = [constants[f.name] for f in fixed] + [columns[col.name] for col in cols]
        with _pg_connection(ctx).cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            return {r[0] for r in cursor.fetchall()}
    stmt = sqlite.insert(table).on_conflict_do_nothing().returning(table.c[key])
    names_ = list(columns)
    full = [
        {**dict(zip(names_, values, strict=True)), **constants}
        for values in zip(*columns.values(), strict=True)
    ]
    stored: set[str] = set()
    for start in range(0, len(full), 500):
        stored.update(ctx.session.execute(stmt, full[start : start + 500]).scalars())
    return stored


def _columns(rows: list[dict[str, object]]) -> dict[str, list[Any]]:
    """Rows (dicts with the same keys) as one list per column."""
    if not rows:
        return {}
    return {name: [row[name] for row in rows] for name in rows[0]}


# --- redemptions ---------------------------------------------------------------------------------


class _Lookup(NamedTuple):
    """What the database says about a batch's candidates."""

    existing: dict[str, tuple[bool, bytes]]  # record id -> (voided, signature), of the stored records
    cards: dict[str, tuple[bytes | None, int, str]]  # serial -> (card key point, region, state)


_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest(%b::bigint[]) AS k ORDER BY 1) s"
_PG_EXISTING_SQL = "SELECT record_id, voided, signature FROM redemptions WHERE record_id = ANY(%b::text[])"
_PG_CARDS_SQL = "SELECT serial, card_key, region, state FROM cards WHERE serial = ANY(%b::text[])"


def _lookup_pg(ctx: Ctx, candidates: list[_Candidate]) -> _Lookup:
    """PostgreSQL: lock the batch's cards (advisory transaction locks in key order, so concurrent
    batches cannot deadlock), then the stored ids and the cards (of every candidate: stored or not,
    each is verified), each one statement with a binary array parameter."""
    if not candidates:
        return _Lookup({}, {})
    serials = sorted({cand.item.card_serial for cand in candidates})
    with _pg_connection(ctx).cursor(binary=True) as cursor:
        cursor.execute(
            _PG_LOCK_SQL, [sorted(int.from_bytes(bytes.fromhex(s), "big", signed=True) for s in serials)]
        )
        cursor.execute(_PG_EXISTING_SQL, [[cand.item.record_id for cand in candidates]])
        existing = {rid: (voided, signature) for rid, voided, signature in cursor.fetchall()}
        cursor.execute(_PG_CARDS_SQL, [serials])
        card_rows = {serial: (point, region, state) for serial, point, region, state in cursor.fetchall()}
    return _Lookup(existing, card_rows)


def _lookup_sqlite(ctx: Ctx, candidates: list[_Candidate]) -> _Lookup:
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
    return _Lookup(existing, card_rows)


#: The record layout of the spec (``TxRecord``) and what its ``decode`` accepts: format version 1,
#: DEBIT or CHECK-IN. :func:`_decode` reads the fields with the spec's own ``struct`` and takes the
#: same checks; a record it does not accept goes through ``TxRecord.decode``, whose verdict stands.
_TX_LAYOUT = TxRecord._FMT
_TX_TYPES = frozenset({int(c.TxType.DEBIT), int(c.TxType.CHECK_IN)})


def _decode(record: bytes) -> tuple[Any, ...]:
    """``TxRecord.decode`` as a plain tuple (version, type, serial, counter, program, grant_seq,
    amount, balance_after, terminal_id, nonce, time), without building a ``TxRecord``: its frozen
    dataclass costs more than the rest of the parse. Raises :class:`RecordError` as ``decode`` does."""
    fields = _TX_LAYOUT.unpack(record)
    if fields[0] == FORMAT_VERSION and fields[1] in _TX_TYPES:
        return fields
    rec = TxRecord.decode(record)  # raises for what it does not accept (all the above rejects)
    return (
        rec.version,
        rec.tx_type,
        rec.card_serial,
        rec.tx_counter,
        rec.program,
        rec.grant_seq,
        rec.amount,
        rec.balance_after,
        rec.terminal_id,
        rec.terminal_nonce,
        rec.terminal_time,
    )


def _parse(
    batch: Sequence[RecordIn], results: list[RecordResult | None], own: str
) -> tuple[list[_Candidate], dict[int, int]]:
    """Step 1: decode every record, recompute its id, check the envelope and that the record names the
    uploading terminal ``own`` (terminal scope: a terminal uploads the records it made, no other's).
    The first copy of each id in the batch is a candidate; a later copy that is the same upload
    (signature, ``voided``) shares its result (returned: copy's index -> first copy's index), one that
    is not is refused here."""
    candidates: list[_Candidate] = []
    first: dict[str, RecordIn] = {}
    first_index: dict[str, int] = {}
    copies: dict[int, int] = {}
    size, sha256 = TxRecord.SIZE, hashlib.sha256
    for i, item in enumerate(batch):
        record = item.record
        if len(record) != size:
            results[i] = RecordResult(item.record_id, "rejected", "malformed_record")
            continue
        try:
            _v, tx_type, serial, counter, program, seq, amount, after, tid, _nonce, when = _decode(record)
        except RecordError:
            results[i] = RecordResult(item.record_id, "rejected", "malformed_record")
            continue
        rid = sha256(record).hexdigest()[:32]
        if rid != item.record_id:
            results[i] = RecordResult(item.record_id, "rejected", "record_id_mismatch")
        elif serial.hex() != item.card_serial or tid != item.terminal_id.encode("ascii", "replace"):
            results[i] = RecordResult(item.record_id, "rejected", "field_mismatch")
        elif item.terminal_id != own:
            results[i] = RecordResult(rid, "rejected", REJECT_FOREIGN_TERMINAL)
        elif rid in first:
            earlier = first[rid]
            if earlier.signature != item.signature or earlier.voided != item.voided:
                results[i] = RecordResult(rid, "rejected", REJECT_DIFFERS_FROM_STORED)
            else:
                copies[i] = first_index[rid]
        else:
            first[rid] = item
            first_index[rid] = i
            candidates.append(_Candidate(i, item, counter, when, tx_type, program, seq, amount, after))
    return candidates, copies


def ingest_redemptions(ctx: Ctx, batch: Sequence[RecordIn]) -> list[RecordResult]:
    ctx.actor.require_terminal()
    session = ctx.session
    pg = _is_pg(ctx)
    results: list[RecordResult | None] = [None] * len(batch)

    # 1. parse and check the envelope (and that the records are the uploading terminal's own)
    candidates, copies = _parse(batch, results, ctx.actor.name)

    # 2. lock the cards; already stored? card keys
    existing, card_rows = (_lookup_pg if pg else _lookup_sqlite)(ctx, candidates)

    # 3. cards with a key; every candidate is verified, stored or not: a re-upload never changes the
    #    stored record, and one that is not the stored upload (another signature, or voided where the
    #    stored one is not: voids go through /voids) is refused
    keyed: list[_Candidate] = []
    stored_before: list[_Candidate] = []
    todo: list[_ToVerify] = []
    again: list[_ToVerify] = []
    own_region = ctx.actor.region
    for cand in candidates:
        item = cand.item
        row = card_rows.get(item.card_serial)
        point = row[0] if row is not None else None
        if row is None or not point:  # a card without a key point has no key
            results[cand.index] = RecordResult(item.record_id, "rejected", "unknown_card")
            continue
        if item.record_id in existing:
            stored_before.append(cand)
            again.append((point, item.signature, item.record))
            continue
        if own_region is None:  # a service caller without a region (never an enrolled terminal)
            own_region_here = row[1]
            cand.flag(FLAG_UNKNOWN_TERMINAL, None, f"terminal {item.terminal_id!r} is not enrolled")
        else:
            own_region_here = own_region
        cand.region = own_region_here
        keyed.append(cand)
        todo.append((point, item.signature, item.record))

    # 4. verify card signatures (a thread pool: OpenSSL runs without the GIL) while the database looks
    #    for the records that make the new ones suspicious (parameters made before the pool starts)
    suspicious = _suspicious_pg_query(ctx, keyed) if pg else None
    checks = _verify_all(todo + again)
    history = suspicious() if suspicious is not None else _history(ctx, keyed)
    verdicts = checks()
    verified: list[_Candidate] = []
    for cand, good in zip(keyed, verdicts[: len(keyed)], strict=True):
        if good:
            verified.append(cand)
        else:
            results[cand.index] = RecordResult(cand.item.record_id, "rejected", "bad_signature")
    for cand, good in zip(stored_before, verdicts[len(keyed) :], strict=True):
        rid = cand.item.record_id
        voided, signature = existing[rid]
        if not good:
            results[cand.index] = RecordResult(rid, "rejected", "bad_signature")
        elif signature != cand.item.signature or (cand.item.voided and not voided):
            results[cand.index] = RecordResult(rid, "rejected", REJECT_DIFFERS_FROM_STORED)
        else:
            results[cand.index] = RecordResult(rid, "duplicate")

    # 5. double spending / clones / two places; what a record claims that cannot be (stored as evidence,
    #    flagged, and never in the public figures: transparency counts unflagged records only)
    _detect(ctx, verified, history)
    now = ctx.now()
    for cand in verified:
        if cand.time > now + MAX_CLOCK_AHEAD_S:
            cand.flag(
                FLAG_IMPLAUSIBLE_TIME, None, f"terminal time {cand.time} is ahead of the server's {now}"
            )
        if cand.program not in _PROGRAMS:
            cand.flag(FLAG_UNKNOWN_PROGRAM, None, f"programme {cand.program}")

    # 6. store
    stored = _store_redemptions(ctx, _redemption_rows(verified, ctx.actor.name, now))
    flags: list[dict[str, object]] = []
    suspend: dict[str, str] = {}
    for cand in verified:
        rid = cand.item.record_id
        if rid not in stored:
            results[cand.index] = RecordResult(rid, "duplicate")
            continue
        if not cand.flags:
            results[cand.index] = RecordResult(rid, "stored")
            continue
        kinds = tuple(dict.fromkeys(kind for kind, _other, _detail in cand.flags))
        results[cand.index] = RecordResult(rid, "flagged", None, kinds)
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
    if ctx.settings.auto_suspend_on_flag:
        for serial, reason in sorted(suspend.items()):
            if card_rows[serial][2] == "active":
                cards_service.change_status(ctx, serial, "suspended", reason, check_role=False)
    for i, j in copies.items():  # a copy shares its first copy's fate (never "stored" twice)
        earlier = results[j]
        if earlier is not None and earlier.result != "rejected":
            earlier = RecordResult(earlier.record_id, "duplicate")
        results[i] = earlier
    _audit_refusals(ctx, results)
    session.flush()
    return [r for r in results if r is not None]


def _audit_refusals(ctx: Ctx, results: Sequence[RecordResult | None]) -> None:
    """One audit entry per batch that tried to go beyond the terminal's scope."""
    refused: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if r is not None and r.reason in _SCOPE_REJECTS:
            refused[r.reason].append(r.record_id)
    if refused:
        audit.record(
            ctx,
            "sync.records_refused",
            f"terminal:{ctx.actor.name}",
            **{reason: {"count": len(ids), "records": ids[:20]} for reason, ids in sorted(refused.items())},
        )


#: The columns of a stored redemption, in the order of :func:`_redemption_rows` (then the constants).
_REDEMPTION_COLUMNS = (
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


def _redemption_rows(verified: Iterable[_Candidate], uploaded_by: str, now: int) -> list[tuple[Any, ...]]:
    """The rows to store, as tuples in :data:`_REDEMPTION_COLUMNS` order."""
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
                months.get(when // 3600) or _month_cached(months, when),
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

    table = _table(Redemption)
    types = [_PG_COPY_TYPE.get(type(table.c[name].type), "text") for name in _REDEMPTION_COLUMNS]
    columns = ", ".join(f'"{name}"' for name in _REDEMPTION_COLUMNS)
    with _pg_connection(ctx).cursor() as cursor:
        cursor.execute("SAVEPOINT khbs_store")
        try:
            with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN (FORMAT BINARY)') as copy:
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


def _store_redemptions(ctx: Ctx, rows: list[tuple[Any, ...]]) -> set[str]:
    """Store the verified records; the ids this request stored.

    PostgreSQL: ``COPY`` (:func:`_copy_pg`). It cannot meet a stored id: the batch's cards are locked
    since before the stored ids were looked up, and every writer of redemptions takes those locks.
    Should it all the same, the rows go through ``INSERT ... ON CONFLICT DO NOTHING RETURNING``, whose
    answer says which of them this request stored. SQLite: that insert."""
    if not rows:
        return set()
    if _is_pg(ctx) and _copy_pg(ctx, rows):
        return {row[0] for row in rows}
    columns = {name: [row[i] for row in rows] for i, name in enumerate(_REDEMPTION_COLUMNS)}
    return _insert(ctx, _table(Redemption), columns, "record_id")


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
            by_card[serial].append((rid, counter, when, region))
    return by_card


# The batch travels as comma-separated text (hex ids and serials, decimal numbers): joined before the
# verifier threads start, so that sending it costs the request thread (which holds the GIL while it
# runs Python) next to nothing while they verify.
_SUSPICIOUS_SQL = """
SELECT n.serial, r.record_id, r.tx_counter, r.terminal_time, r.region
FROM unnest(string_to_array(%(rid)s, ','), string_to_array(%(serial)s, ','),
            string_to_array(%(counter)s, ',')::bigint[], string_to_array(%(t)s, ',')::bigint[],
            string_to_array(%(region)s, ',')::bigint[]) AS n(rid, serial, counter, t, region)
JOIN redemptions AS r ON r.card_serial = n.serial
WHERE (r.tx_counter = n.counter AND r.record_id <> n.rid)
   OR (r.tx_counter > n.counter AND r.terminal_time < n.t - %(tolerance)s)
   OR (r.tx_counter < n.counter AND r.terminal_time > n.t + %(tolerance)s)
   OR (r.region <> n.region AND abs(r.terminal_time - n.t) < %(window)s)
"""


def _suspicious_pg_query(ctx: Ctx, batch: list[_Candidate]) -> Callable[[], dict[str, list[_Seen]]]:
    """PostgreSQL: only the stored records that break a rule with some record of the batch (the
    database joins on the card index; the same predicates as :func:`_pair_flags` re-checks). Returns
    the function that runs the query, its parameters already made."""
    if not batch:
        return lambda: defaultdict(list)
    params = {
        # candidates' ids are recomputed hashes and their serials match the record's: hex, no commas
        "rid": ",".join([cand.item.record_id for cand in batch]),
        "serial": ",".join([cand.item.card_serial for cand in batch]),
        "counter": ",".join([str(cand.counter) for cand in batch]),
        "t": ",".join([str(cand.time) for cand in batch]),
        "region": ",".join([str(cand.region) for cand in batch]),
        "tolerance": ctx.settings.clock_tolerance_s,
        "window": ctx.settings.two_places_window_s,
    }
    connection = _pg_connection(ctx)

    def run() -> dict[str, list[_Seen]]:
        by_card: dict[str, list[_Seen]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        with connection.cursor(binary=True) as cursor:
            cursor.execute(_SUSPICIOUS_SQL, params)
            rows = cursor.fetchall()
        for serial, rid, counter, when, region in rows:
            if (serial, rid) not in seen:
                seen.add((serial, rid))
                by_card[serial].append((rid, counter, when, region))
        return by_card

    return run


def _pair_flags(cand: _Candidate, other: _Seen, tolerance: int, window: int) -> None:
    counter, when = cand.counter, cand.time
    other_id, other_counter, other_time, other_region = other
    if other_counter == counter:
        if other_id != cand.item.record_id:  # the id is a hash of the record
            cand.flag(FLAG_COUNTER_CONFLICT, other_id, f"counter {counter} signed twice")
    elif (other_counter > counter and other_time < when - tolerance) or (
        other_counter < counter and other_time > when + tolerance
    ):
        detail = f"counter {counter} at {when} vs {other_counter} at {other_time}"
        cand.flag(FLAG_COUNTER_REGRESSION, other_id, detail)
    if other_region != cand.region and abs(other_time - when) < window:
        gap = abs(other_time - when)
        cand.flag(FLAG_TWO_PLACES, other_id, f"regions {cand.region} and {other_region} {gap} s apart")


def _detect(ctx: Ctx, verified: list[_Candidate], by_card: dict[str, list[_Seen]]) -> None:
    """Flag each record against the stored ones in ``by_card`` and against the batch's earlier ones."""
    tolerance = ctx.settings.clock_tolerance_s
    window = ctx.settings.two_places_window_s
    for cand in sorted(verified, key=lambda k: (k.item.card_serial, k.counter, k.index)):
        seen = by_card[cand.item.card_serial]
        for other in seen:
            _pair_flags(cand, other, tolerance, window)
        seen.append((cand.item.record_id, cand.counter, cand.time, cand.region))


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
    """Store compensating voids. Terminal scope: a terminal voids only records it made (the stored
    record's ``terminal_id``, part of the card-signed record); a void of another terminal's record is
    ``rejected`` / ``not_own_record`` and audited, never applied."""
    ctx.actor.require_terminal()
    session = ctx.session
    own = ctx.actor.name
    ids = [v.void_id for v in batch]
    known = set(session.scalars(select(Void.void_id).where(Void.void_id.in_(ids))))
    by_ledger = dict(
        session.execute(
            select(Redemption.ledger_id, Redemption.record_id).where(
                Redemption.ledger_id.in_([v.ledger_id for v in batch]),
                Redemption.uploaded_by == own,
                Redemption.terminal_id == own,
            )
        ).all()
    )
    makers = scope.record_makers(session, [v.record_id for v in batch if v.record_id])
    out: list[tuple[str, Outcome, str | None]] = []
    seen: set[str] = set()
    refused: list[str] = []
    for v in batch:
        if v.void_id in known or v.void_id in seen:
            out.append((v.void_id, "duplicate", None))
            continue
        if v.record_id is not None and v.record_id in makers:
            if makers[v.record_id] != own:
                refused.append(v.void_id)
                out.append((v.void_id, "rejected", REJECT_NOT_OWN_RECORD))
                continue
            rid: str | None = v.record_id
        else:
            rid = by_ledger.get(v.ledger_id)
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
                terminal_id=own,
                created_at=v.created_at,
                received_at=ctx.now(),
            )
        )
        _void(ctx, rid, v.reason)
        out.append((v.void_id, "stored", None))
    if refused:
        audit.record(
            ctx,
            "sync.voids_refused",
            f"terminal:{own}",
            voids=refused[:100],
            records=sorted({v.record_id or "" for v in batch if v.void_id in set(refused)})[:100],
            count=len(refused),
        )
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
    stored = _insert(ctx, _table(FailureEvent), _columns(rows), "event_id")
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

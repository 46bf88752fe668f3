"""Periodic grant cycles: one programme, one amount, one validity window, for every eligible card holder.

A cycle grants each active card of a citizen eligible for the programme (and valid at ``valid_from``)
the next grant of that programme (``grant_seq`` = its last + 1), each signed by the issuer key of the
card's credential, undelivered: terminals are served them as pending updates and load them at the
card's next tap (:mod:`server_stub.services.publications`).

A cycle is idempotent for its window: a card that already holds a grant of the programme with the same
``valid_from`` and ``valid_until`` is skipped, so a cycle interrupted or run twice never grants twice.
Cycles of one programme are serialised (PostgreSQL: a transaction advisory lock; SQLite: the database
write lock), so two never draw the same ``grant_seq``.

Set-based: one query picks the cards with their last ``grant_seq``; the grants are signed in chunks on a
thread pool (OpenSSL's ECDSA releases the GIL) by :func:`sign_grant_messages`, the one place that
signs, and stored with one binary ``COPY`` on PostgreSQL (multi-row inserts on SQLite), while the next
chunk is signed.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import insert, select, text

from card_applet_spec import constants as c
from card_applet_spec.records import GrantBody
from province.clock import WIB
from province.issuance import GrantSpec
from server_stub.errors import Forbidden, Invalid, NotFound
from server_stub.models import Grant, IssuerKey, ProgramRow
from server_stub.services import audit
from server_stub.services.context import AGENCY_ADMIN, Ctx
from server_stub.services.ingest import db

#: Grants signed per chunk (one pool task per thread per chunk).
CHUNK = 20_000
#: Signing threads (OpenSSL releases the GIL while it signs): one per core.
SIGN_THREADS = max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class CycleProgress:
    done: int
    total: int


@dataclass(frozen=True)
class CycleReport:
    program: int
    amount: int
    valid_from: int
    valid_until: int
    grants: int  # issued by this run
    skipped: int  # eligible cards already holding this window's grant
    seconds: float

    @property
    def grants_per_s(self) -> float:
        return self.grants / self.seconds if self.seconds > 0 else 0.0


def require_owner(ctx: Ctx, program: ProgramRow) -> None:
    """An agency's administrator runs its own programmes' cycles; otherwise an administrator."""
    if ctx.actor.role == AGENCY_ADMIN:
        if ctx.actor.agency != program.agency_code:
            raise Forbidden(f"program {program.code} belongs to {program.agency_code}")
    else:
        ctx.actor.require()


# The eligible active cards (valid at the window's start) with their last grant_seq of the programme,
# without those already holding this window's grant.
_TARGETS = """
SELECT k.serial, k.issuer_kid, COALESCE(g.last_seq, 0)
FROM cards k
JOIN eligibility e ON e.citizen_id = k.citizen_id AND e.program_id = :program
LEFT JOIN (SELECT card_serial, MAX(grant_seq) AS last_seq FROM grants WHERE program_id = :program
           GROUP BY card_serial) g ON g.card_serial = k.serial
WHERE k.state = 'active' AND k.expires_at >= :valid_from
  AND NOT EXISTS (SELECT 1 FROM grants x WHERE x.card_serial = k.serial AND x.program_id = :program
                  AND x.valid_from = :valid_from AND x.valid_until = :valid_until)
ORDER BY k.serial"""
_ALREADY = """
SELECT COUNT(*) FROM cards k
JOIN eligibility e ON e.citizen_id = k.citizen_id AND e.program_id = :program
WHERE k.state = 'active' AND k.expires_at >= :valid_from
  AND EXISTS (SELECT 1 FROM grants x WHERE x.card_serial = k.serial AND x.program_id = :program
              AND x.valid_from = :valid_from AND x.valid_until = :valid_until)"""
#: Serialises cycles of one programme (key: this number, the programme).
_PG_LOCK = "SELECT pg_advisory_xact_lock(1263423, :program)"


def grant_signers(ctx: Ctx, kids: set[str]) -> dict[str, Callable[[bytes], bytes]]:
    """The signing function of each issuer key in ``kids``: the one place a cycle gets its signing
    from (to become a key-store call). The functions are called on the pool's threads."""
    generations = {kid: gen for kid, gen in ctx.session.execute(select(IssuerKey.kid, IssuerKey.generation))}
    unknown = kids - set(generations)
    if unknown:
        raise Invalid(f"issuer key {sorted(unknown)[0]} is unknown", code="no_issuer_key")
    return {kid: ctx.keys.issuer(generations[kid]).sign for kid in kids}


#: Columns of a grant row as the cycle writes it.
_COLUMNS = (
    "card_serial",
    "program_id",
    "grant_seq",
    "kind",
    "unit",
    "amount",
    "valid_from",
    "valid_until",
    "month",
    "body",
    "kid",
    "signature",
    "delivered",
    "created_at",
)
_PG_TYPES = (
    *("text", "int4", "int8", "int4", "int4", "int8", "int8", "int8", "text", "bytea"),
    *("text", "bytea", "bool", "int8"),
)


def run_cycle(
    ctx: Ctx,
    program_id: int,
    *,
    valid_from: int,
    valid_until: int,
    amount: int | None = None,
    progress: Callable[[CycleProgress], None] | None = None,
    threads: int = SIGN_THREADS,
) -> CycleReport:
    """Grant ``program_id`` for [valid_from, valid_until] to every eligible active card (``amount``:
    the programme's own by default). Writes in the caller's transaction; the caller commits."""
    started = time.perf_counter()
    program = ctx.session.get(ProgramRow, program_id)
    if program is None:
        raise NotFound(f"no program {program_id}")
    require_owner(ctx, program)
    if not 0 <= valid_from <= valid_until <= 0xFFFFFFFF:
        raise Invalid("need 0 <= valid_from <= valid_until < 2^32")
    value = program.amount if amount is None else amount
    if not 0 <= value <= 0xFFFFFFFF:
        raise Invalid("amount must fit 32 bits")
    params = {"program": program.id, "valid_from": valid_from, "valid_until": valid_until}
    pg = db.is_pg(ctx)
    if pg:
        ctx.session.execute(text(_PG_LOCK), {"program": program.id})
    targets = cast(Sequence[tuple[str, str, int]], ctx.session.execute(text(_TARGETS), params).all())
    skipped = int(ctx.session.execute(text(_ALREADY), params).scalar_one())
    spec = GrantSpec(c.Program(program.id), value, valid_from, valid_until, unit=c.Unit(program.unit))
    template = spec.body(bytes(8))
    chunks = _signed_chunks(ctx, template, targets, threads)  # signers resolved here, in this thread
    constant = (ctx.now(), dt.datetime.fromtimestamp(valid_from, WIB).strftime("%Y-%m"))
    done = 0

    def rows() -> Iterator[tuple[Any, ...]]:
        nonlocal done
        now, month = constant
        for chunk in chunks:
            for serial, seq, kid, body, signature in chunk:
                yield (serial, template.program, seq, template.kind, template.unit, template.amount,
                       valid_from, valid_until, month, body, kid, signature, False, now)  # fmt: skip
            done += len(chunk)
            if progress is not None:
                progress(CycleProgress(done, len(targets)))

    (_copy_pg if pg else _insert_rows)(ctx, rows())
    audit.record(
        ctx,
        "program.grants",
        program.code,
        cards=len(targets),
        skipped=skipped,
        amount=value,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    return CycleReport(
        program.id, value, valid_from, valid_until, len(targets), skipped, time.perf_counter() - started
    )


_Signed = tuple[str, int, str, bytes, bytes]  # serial, grant_seq, kid, body, signature


def _signed_chunks(
    ctx: Ctx, template: GrantBody, targets: Sequence[tuple[str, str, int]], threads: int
) -> Iterator[list[_Signed]]:
    """The targets' grants, encoded and signed, chunk by chunk in order (the pool signs ahead). The
    signers are resolved now: the iterator runs while the connection is busy copying."""
    t = template
    signers = grant_signers(ctx, {kid for _serial, kid, _seq in targets})

    def sign_chunk(chunk: Sequence[tuple[str, str, int]]) -> list[_Signed]:
        out: list[_Signed] = []
        for serial, kid, seq in chunk:
            body = GrantBody(bytes.fromhex(serial), t.program, t.kind, t.unit, seq + 1, t.amount,
                             t.valid_from, t.valid_until)  # fmt: skip
            out.append((serial, seq + 1, kid, body.encode(), signers[kid](body.signed_message())))
        return out

    size = max(1, min(CHUNK, -(-len(targets) // max(1, threads))))
    pieces = [targets[i : i + size] for i in range(0, len(targets), size)]
    if threads <= 1 or len(pieces) <= 1:
        return (sign_chunk(p) for p in pieces)
    return _pooled(sign_chunk, pieces, threads)


def _pooled(
    fn: Callable[[Sequence[tuple[str, str, int]]], list[_Signed]],
    pieces: list[Sequence[tuple[str, str, int]]],
    threads: int,
) -> Iterator[list[_Signed]]:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        yield from pool.map(fn, pieces)


def _copy_pg(ctx: Ctx, rows: Iterator[tuple[Any, ...]]) -> None:
    """PostgreSQL: one binary ``COPY`` into ``grants`` (``id`` from its sequence)."""
    columns = ", ".join(_COLUMNS)
    sql = f"COPY grants ({columns}) FROM STDIN (FORMAT BINARY)"
    with db.pg_connection(ctx).cursor() as cursor, cursor.copy(sql) as copy:
        copy.set_types(list(_PG_TYPES))
        write = copy.write_row
        for row in rows:
            write(row)


def _insert_rows(ctx: Ctx, rows: Iterator[tuple[Any, ...]]) -> None:
    """SQLite: multi-row inserts of 1,000."""
    statement = insert(db.table(Grant))
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(dict(zip(_COLUMNS, row, strict=True)))
        if len(batch) == 1000:
            ctx.session.execute(statement, batch)
            batch = []
    if batch:
        ctx.session.execute(statement, batch)

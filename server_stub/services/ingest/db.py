"""Bulk database plumbing of the ingest, on SQLite and PostgreSQL: which backend, the psycopg connection
under a session, ``IN`` over thousands of values, and ``INSERT ... ON CONFLICT DO NOTHING RETURNING``
of whole batches.

PostgreSQL: arrays travel in psycopg's binary format (its text format escapes every element in
Python), one parameter per column whatever the batch size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import QueryableAttribute

from province.clock import WIB
from server_stub.models import Base
from server_stub.services.context import Ctx

if TYPE_CHECKING:
    import psycopg


def month(ts: int) -> str:
    """The WIB month (``YYYY-MM``) of a Unix time: the figures' grouping."""
    return dt.datetime.fromtimestamp(ts, WIB).strftime("%Y-%m")


def month_cached(cache: dict[int, str], ts: int) -> str:
    """:func:`month` through ``cache`` by the hour (WIB is a whole number of hours from UTC)."""
    found = cache[ts // 3600] = month(ts)
    return found


def is_pg(ctx: Ctx) -> bool:
    return ctx.session.get_bind().dialect.name == "postgresql"


def in_(ctx: Ctx, column: QueryableAttribute[str], values: Sequence[str]) -> ColumnElement[bool]:
    """``column IN values`` for hex ids and serials; on PostgreSQL ``column = ANY(:array)``: one
    parameter instead of thousands of placeholders."""
    if is_pg(ctx):
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(String())))
    return column.in_(values)


def table(model: type[Base]) -> Table:
    """The mapped table of a model (declarative types ``__table__`` as any ``FromClause``)."""
    mapped = model.__table__
    if not isinstance(mapped, Table):
        raise TypeError(f"{model.__name__} is not mapped to a single table")
    return mapped


def pg_connection(ctx: Ctx) -> psycopg.Connection[Any]:
    """The psycopg connection under the session's connection (PostgreSQL only)."""
    import psycopg

    driver = ctx.session.connection().connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError(f"expected a psycopg connection, got {type(driver).__name__}")
    return driver


#: PostgreSQL array type of each column for the ``unnest`` bulk insert.
_PG_ARRAY = {Integer: "bigint[]", BigInteger: "bigint[]", Boolean: "boolean[]", LargeBinary: "bytea[]"}


def insert(
    ctx: Ctx,
    into: Table,
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
    if is_pg(ctx):
        cols = [col for col in into.columns if col.name in columns]
        fixed = [col for col in into.columns if col.name in constants]
        names = ", ".join(f'"{col.name}"' for col in cols + fixed)
        arrays = ", ".join(f"%b::{_PG_ARRAY.get(type(col.type), 'text[]')}" for col in cols)
        values = ", ".join(["u.*"] + [f"%b::{_PG_ARRAY.get(type(f.type), 'text[]')[:-2]}" for f in fixed])
        sql = (
            f'INSERT INTO "{into.name}" ({names}) SELECT {values} FROM unnest({arrays}) AS u '
            f'ON CONFLICT DO NOTHING RETURNING "{key}"'
        )
        # placeholders in text order: the constants (select list) first, then the arrays (unnest)
        params = [constants[f.name] for f in fixed] + [columns[col.name] for col in cols]
        with pg_connection(ctx).cursor(binary=True) as cursor:
            cursor.execute(sql, params)
            return {r[0] for r in cursor.fetchall()}
    stmt = sqlite.insert(into).on_conflict_do_nothing().returning(into.c[key])
    names_ = list(columns)
    full = [
        {**dict(zip(names_, values, strict=True)), **constants}
        for values in zip(*columns.values(), strict=True)
    ]
    stored: set[str] = set()
    for start in range(0, len(full), 500):
        stored.update(ctx.session.execute(stmt, full[start : start + 500]).scalars())
    return stored


def columns_of(rows: list[dict[str, object]]) -> dict[str, list[Any]]:
    """Rows (dicts with the same keys) as one list per column."""
    if not rows:
        return {}
    return {name: [row[name] for row in rows] for name in rows[0]}

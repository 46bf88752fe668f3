"""The terminal's SQLite engine: durable commits, real transactions, one small helper for writers.

``make_engine`` gives every connection WAL journaling (readers never block the writer), ``synchronous
= FULL`` (a commit is on disk when it returns: WAL is fsynced at every commit), foreign keys and a busy
timeout. It also takes transaction control away from Python's ``sqlite3`` legacy mode, which does not
emit BEGIN before a SELECT (so a read-then-write was not one transaction): SQLAlchemy now emits BEGIN
itself, as the SQLAlchemy SQLite documentation recommends for Python < 3.12.

Writers that read before they write (a sequence check, a balance) use :func:`begin_immediate`: it
takes SQLite's write lock at BEGIN, so two processes can never both pass the same check, and a busy
database is waited for (busy timeout) instead of failing on lock upgrade.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

MEMORY = ":memory:"
DEFAULT_BUSY_TIMEOUT_MS = 5_000
#: Execution option read by the BEGIN hook; set by :func:`begin_immediate`.
_IMMEDIATE = "khbs_begin_immediate"


class DatabaseSetupError(RuntimeError):
    """The database could not be opened with the required durability settings."""


def make_engine(
    path_or_url: str | os.PathLike[str], *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
) -> Engine:
    """An engine on a SQLite file (a path or a ``sqlite://`` URL), or a private in-memory database.

    ``":memory:"`` gives one in-memory database shared by every checkout of this engine (a single
    connection, for single-threaded tests); it cannot use WAL, everything else is the same.
    """
    url = _url(path_or_url)
    memory = url.database in (None, "", MEMORY)
    kwargs: dict[str, Any] = {}
    if memory:
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see the begin hook)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if not memory and str(mode).lower() != "wal":
                raise DatabaseSetupError(f"SQLite refused WAL journaling (journal_mode={mode})")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def begin_immediate(engine: Engine) -> Iterator[Connection]:
    """A write transaction holding SQLite's write lock from its first statement; commits on success."""
    with engine.connect() as connection:
        connection.execution_options(**{_IMMEDIATE: True})
        with connection.begin():
            yield connection


def _url(path_or_url: str | os.PathLike[str]) -> URL:
    text = os.fspath(path_or_url)
    if text == MEMORY:
        return URL.create("sqlite+pysqlite", database=MEMORY)
    if "://" in text:
        url = make_url(text)
        if url.get_backend_name() != "sqlite":
            raise ValueError(f"not a SQLite URL: {url.render_as_string(hide_password=True)}")
        return url
    return URL.create("sqlite+pysqlite", database=text)

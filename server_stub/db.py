"""Engine, sessions and programmatic Alembic migrations (SQLite for the demo, PostgreSQL in production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from server_stub.settings import Settings

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_setup(engine: Engine) -> None:
    """pysqlite's own transaction handling breaks SAVEPOINTs and upgrades reads to writes lazily (a
    busy error instead of a wait). Take it over: autocommit at the driver, ``BEGIN IMMEDIATE`` here."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    url = settings.url
    if url.startswith("sqlite"):
        if ":memory:" not in url and url != "sqlite://":
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, echo=settings.echo_sql, **kwargs
        )
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, echo=settings.echo_sql, **kwargs)


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)

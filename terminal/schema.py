"""The terminal database's schema, versioned: Alembic migrations (``terminal/migrations``) run at start-up.

:func:`migrate` brings any terminal database to the newest schema: a new one from nothing, one made by a
release before migrations existed (its tables are there, no version row) through the baseline, which
creates what is missing and adds the columns older releases lacked. Stores still create their tables on
a bare engine (tests, in-memory), but a terminal opens its database through :func:`migrate` first, so
the first schema change in the field is a migration, never a broken terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, MetaData, text
from sqlalchemy.exc import OperationalError

from terminal import catalogue, ledger, pending, revocation, sync, truststore

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The newest revision in ``terminal/migrations`` (a test keeps them equal): a database already there
#: starts without loading Alembic at all (the kiosk's cold start).
HEAD_REVISION = "0001"
#: Every table the terminal keeps, one MetaData per store.
METADATA: tuple[MetaData, ...] = (
    truststore.metadata,
    revocation.metadata,
    sync.metadata,
    catalogue.metadata,
    ledger.metadata,
    pending.metadata,
)


def alembic_config(connection: object | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the terminal's database to ``revision`` (idempotent; one transaction)."""
    if revision == "head" and current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision; None before any migration (new, or made by the first release)."""
    with engine.connect() as connection:
        try:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        except OperationalError:  # no such table
            return None
    return str(rows[0][0]) if len(rows) == 1 else None

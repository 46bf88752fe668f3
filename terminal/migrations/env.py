"""Alembic environment of the terminal's database: always run through ``terminal.schema.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from terminal.schema import METADATA

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=list(METADATA),
        render_as_batch=True,  # SQLite: ALTER TABLE through copy-and-move
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through terminal.schema.migrate(engine)")
run(connection)

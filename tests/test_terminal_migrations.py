"""The terminal database's migrations: from nothing, from a database the previous release made, and the
migrations matching the stores' tables exactly (so the next schema change needs a migration)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from terminal.db import make_engine
from terminal.demo import ROOT as DEMO_ROOT
from terminal.ledger import Ledger, State
from terminal.revocation import RevocationCache
from terminal.schema import HEAD_REVISION, METADATA, alembic_config, current_revision, migrate
from terminal.truststore import TrustAnchor, TrustStore

FIXTURE = (
    Path(__file__).parent / "fixtures" / "terminal_db_r1.sqlite"
)  # made by the release before migrations


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_fast_path_knows_the_newest_revision() -> None:
    assert head() == HEAD_REVISION


def test_a_new_database_gets_every_table_at_the_newest_revision(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "terminal.db")
    migrate(engine)
    assert current_revision(engine) == head()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), list(METADATA))
    assert diff == [], diff  # the stores' tables are exactly what the migrations make
    migrate(engine)  # idempotent
    assert current_revision(engine) == head()


def test_the_previous_release_s_database_is_adopted_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "terminal.db"
    shutil.copy(FIXTURE, path)
    with sqlite3.connect(path) as raw:
        assert "alembic_version" not in {r[0] for r in raw.execute("select name from sqlite_master")}
    engine = make_engine(path)
    migrate(engine)
    assert current_revision(engine) == head()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), list(METADATA)) == []
    # what the old release wrote is still there and still verifies (nothing trusted because we wrote it)
    [entry] = Ledger(engine).entries(10)
    assert entry.state is State.COMMITTED and entry.amount == 50_000
    trust = TrustStore(engine, TrustAnchor(DEMO_ROOT.public_key()))
    assert trust.current() is not None
    assert RevocationCache(engine, trust).seq is not None


def test_a_database_older_than_the_baseline_gains_the_columns_it_lacks(tmp_path: Path) -> None:
    path = tmp_path / "terminal.db"
    shutil.copy(FIXTURE, path)
    with sqlite3.connect(path) as raw:  # as a release before the receipt signatures and reprints wrote it
        raw.execute("DROP TABLE reprints")
        raw.execute("ALTER TABLE voids DROP COLUMN clerk_name")
    engine = make_engine(path)
    migrate(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), list(METADATA)) == []
    assert len(Ledger(engine).entries(10)) == 1

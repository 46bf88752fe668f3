"""Server test fixtures: every test runs on SQLite AND PostgreSQL, through HTTP, in a transaction
that is rolled back at the end (SQLAlchemy's "join an external transaction" recipe: the app's sessions
bind to one connection and turn their commits into SAVEPOINT releases).

PostgreSQL: 127.0.0.1:5432, database ``test``, schema ``khbs_server_tests_<pid>`` (created and migrated
at the start of the run, dropped at its end). Override with KHBS_TEST_PG_URL. A missing PostgreSQL
fails the run (never skips).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from card_applet_spec.issuer import key_from_seed, uncompressed_point
from card_applet_spec.reference_card import ReferenceCard
from kartu.issuance import IssuanceStation
from server_stub import db
from server_stub.app import create_app
from server_stub.keys import KeyRing
from server_stub.services.context import Ctx
from server_stub.services.reference import ensure_reference_data
from server_stub.settings import Settings
from terminal.card.connection import InProcessConnection

PG_URL = os.environ.get("KHBS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: One schema per pytest process: concurrent runs on one machine must not drop each other's tables.
PG_SCHEMA = f"khbs_server_tests_{os.getpid()}"
ADMIN_TOKEN = "test-admin-token"
KEY_SEED = "khbs-test-seed"
#: 2026-03-10 10:00 WIB: inside every default grant window of the demo programs.
T0 = 1773111600


def pg_engine(schema: str = PG_SCHEMA, **kwargs: Any) -> Engine:
    return create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, **kwargs)


def drop_pg_schema(schema: str) -> None:
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def reset_pg_schema(schema: str = PG_SCHEMA) -> Engine:
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL at {PG_URL} is needed for the server tests: {exc}", pytrace=False)
    finally:
        admin.dispose()
    engine = pg_engine(schema)
    db.migrate(engine)
    return engine


def server_settings(tmp: Path, url: str = "", **changes: Any) -> Settings:
    return Settings(data_dir=tmp, database_url=url, admin_token=ADMIN_TOKEN, key_seed=KEY_SEED).with_(
        **changes
    )


def _bootstrap(engine: Engine, settings: Settings) -> None:
    factory = db.session_factory(engine)
    with factory() as session:
        ensure_reference_data(
            Ctx(session=session, settings=settings, keys=KeyRing(KEY_SEED), clock=lambda: T0)
        )
        session.commit()


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Engine]]:
    made: dict[str, Engine] = {}
    yield made
    for engine in made.values():
        engine.dispose()
    if "postgresql" in made:
        drop_pg_schema(PG_SCHEMA)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, engines: dict[str, Engine], tmp_path_factory: pytest.TempPathFactory) -> Engine:
    if backend not in engines:
        tmp = tmp_path_factory.mktemp("server-db")
        if backend == "sqlite":
            settings = server_settings(tmp)
            made = db.make_engine(settings)
            db.migrate(made)
        else:
            settings = server_settings(tmp, PG_URL)
            made = reset_pg_schema()
        _bootstrap(made, settings)
        engines[backend] = made
    return engines[backend]


@dataclass
class Clock:
    now: int = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    if outer.is_active:
        outer.rollback()
    conn.close()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def settings(tmp_path: Path, backend: str) -> Settings:
    return server_settings(tmp_path, PG_URL if backend == "postgresql" else "")


@pytest.fixture
def make_client(
    sessions: sessionmaker[Session], settings: Settings, clock: Clock
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        app = create_app(settings.with_(**changes), sessions=sessions, clock=clock)
        client = TestClient(app, raise_server_exceptions=True)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


# --- data helpers ----------------------------------------------------------------------------------


@dataclass
class World:
    """Registers households, citizens, terminals and clerks through the HTTP API."""

    client: TestClient
    sessions: sessionmaker[Session]
    settings: Settings
    clock: Clock
    _kk_serial: int = 0
    _terminal_keys: dict[str, Any] = field(default_factory=dict)

    def household(self, region: int = 6271, decile: int = 3) -> str:
        self._kk_serial += 1
        kk = f"{region}01010120{self._kk_serial:04d}"
        ok(
            self.client.post(
                "/v1/admin/households",
                headers=ADMIN,
                json={"kk_number": kk, "address": "Jl. Tjilik Riwut", "welfare_decile": decile},
            ),
            201,
        )
        return kk

    def citizen(
        self,
        nik: str,
        *,
        name: str = "Warga Uji",
        kk: str | None = None,
        occupation: str = "farmer",
        decile: int = 3,
    ) -> dict[str, Any]:
        kk = kk or self.household(int(nik[:4]), decile)
        body = {"nik": nik, "name": name, "kk_number": kk, "occupation": occupation}
        return ok(self.client.post("/v1/admin/citizens", headers=ADMIN, json=body), 201)  # type: ignore[no-any-return]

    def terminal(self, terminal_id: str = "T6271001", region: int = 6271, pin_reset: bool = False) -> str:
        key = key_from_seed(f"terminal/{terminal_id}")
        self._terminal_keys[terminal_id] = key
        body = {
            "terminal_id": terminal_id,
            "site": f"Kantor {terminal_id}",
            "region": region,
            "public_key": uncompressed_point(key.public_key()).hex(),
            "pin_reset": pin_reset,
        }
        return str(ok(self.client.post("/v1/admin/terminals", headers=ADMIN, json=body), 201)["token"])

    def clerk(self, username: str, role: str, agency: str | None = None) -> dict[str, str]:
        body = {"username": username, "role": role, "agency": agency}
        return bearer(ok(self.client.post("/v1/admin/clerks", headers=ADMIN, json=body), 201)["token"])

    def station(self) -> IssuanceStation:
        seq = iter(range(1, 1 << 30))
        return IssuanceStation(
            self.settings,
            sessions=self.sessions,
            clock=self.clock,
            rng=lambda n: next(seq).to_bytes(n, "big"),
        )


@pytest.fixture
def world(client: TestClient, sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> World:
    return World(client, sessions, settings, clock)


def blank_card(seed: int = 1) -> tuple[ReferenceCard, InProcessConnection]:
    counter = iter(range(1, 1 << 30))

    def rng(n: int) -> bytes:
        return (seed * 1_000_003 + next(counter)).to_bytes(n, "big")

    card = ReferenceCard(rng=rng)
    return card, InProcessConnection(card)

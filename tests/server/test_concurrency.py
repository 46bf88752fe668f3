"""Many terminals uploading the same batch at the same moment, against a real uvicorn on PostgreSQL
with real commits: every record is stored exactly once (the rest are duplicates), no 5xx."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from card_applet_spec import constants as c
from kartu.issuance import IssuanceStation
from server_stub import db
from server_stub.app import create_app
from server_stub.models import Flag, Redemption
from server_stub.settings import Settings
from tests.server.conftest import ADMIN_TOKEN, KEY_SEED, PG_URL, T0, drop_pg_schema, reset_pg_schema
from tests.server.helpers import PIN, CardUnderTest, forge

CLIENTS = 8
CARDS = 4
RECORDS_PER_CARD = 60


class ServerThread:
    """uvicorn on 127.0.0.1 on an ephemeral port, in a thread of this process."""

    def __init__(self, app: Any) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()


@pytest.fixture
def committed_settings(tmp_path: Path) -> Iterator[Settings]:
    schema = f"khbs_server_concurrency_{os.getpid()}"
    reset_pg_schema(schema).dispose()
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    yield Settings(data_dir=tmp_path, database_url=url, admin_token=ADMIN_TOKEN, key_seed=KEY_SEED)
    drop_pg_schema(schema)  # clean up: the test committed for real


@pytest.mark.postgres
@pytest.mark.slow
def test_same_batch_from_many_clients_is_stored_exactly_once(committed_settings: Settings) -> None:
    settings = committed_settings
    app = create_app(settings, clock=lambda: T0)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with ServerThread(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        # register, enrol, issue
        from card_applet_spec.issuer import key_from_seed, uncompressed_point

        terminal = key_from_seed("terminal/T6271001")
        enrol = http.post(
            "/v1/admin/terminals",
            headers=admin,
            json={
                "terminal_id": "T6271001",
                "site": "Kantor Camat",
                "region": 6271,
                "public_key": uncompressed_point(terminal.public_key()).hex(),
            },
        )
        assert enrol.status_code == 201, enrol.text
        token = enrol.json()["token"]
        station = IssuanceStation(settings, clock=lambda: T0)
        records: list[dict[str, Any]] = []
        for i in range(CARDS):
            kk = f"62710101012{i:05d}"
            nik = f"62710101019{i + 1:05d}"
            assert (
                http.post(
                    "/v1/admin/households",
                    headers=admin,
                    json={"kk_number": kk, "address": "-", "welfare_decile": 1},
                ).status_code
                == 201
            )
            assert (
                http.post(
                    "/v1/admin/citizens",
                    headers=admin,
                    json={"nik": nik, "name": f"Warga {i}", "kk_number": kk, "occupation": "farmer"},
                ).status_code
                == 201
            )
            card = CardUnderTest.blank(100 + i)
            serial = bytes.fromhex(station.issue(card.connection, nik=nik, pin=PIN).serial)
            key = ec.derive_private_key(int.from_bytes(card.card.state.private_scalar, "big"), ec.SECP256R1())
            records += [
                forge(
                    key,
                    serial=serial,
                    counter=n,
                    amount=1_000,
                    when=T0 + 60 * n,
                    nonce=n,
                    program=c.Program.BLT,
                )
                for n in range(1, RECORDS_PER_CARD + 1)
            ]
        body = {"records": records}
        barrier = threading.Barrier(CLIENTS)
        answers: list[httpx.Response] = []
        lock = threading.Lock()

        def upload() -> None:
            with httpx.Client(base_url=base, timeout=120) as own:  # one connection per client
                barrier.wait()
                r = own.post("/v1/sync/redemptions", headers={"Authorization": f"Bearer {token}"}, json=body)
            with lock:
                answers.append(r)

        threads = [threading.Thread(target=upload) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
    assert len(answers) == CLIENTS
    assert all(a.status_code == 200 for a in answers), [a.text[:200] for a in answers if a.status_code != 200]
    total = len(records)
    stored_by: dict[str, int] = {}
    for a in answers:
        out = a.json()
        assert out["rejected"] == 0 and out["flagged"] == 0
        assert out["stored"] + out["duplicate"] == total
        for r in out["results"]:
            if r["result"] == "stored":
                stored_by[r["record_id"]] = stored_by.get(r["record_id"], 0) + 1
    assert len(stored_by) == total and set(stored_by.values()) == {1}
    engine = db.make_engine(settings)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Redemption)) == total
        assert conn.scalar(select(func.count(func.distinct(Redemption.record_id)))) == total
        assert conn.scalar(select(func.count()).select_from(Flag)) == 0
    engine.dispose()

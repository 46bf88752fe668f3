"""One-time enrolment codes through the HTTP API, on SQLite and PostgreSQL: an administrator issues a code
for a terminal id, the terminal enrols itself with it once (``POST /v1/enrol``); every way a code can be
wrong gets the same answer; the code never comes back from the server; using it is atomic."""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.orm import Session

from card_applet_spec.cose import verify_raw_es256
from card_applet_spec.credential import compressed_point
from card_applet_spec.issuer import key_from_seed, uncompressed_point
from province.receipt_qr import ReceiptCert
from server_stub import db
from server_stub.app import create_app
from server_stub.models import Base
from server_stub.repositories import enrolment_codes as codes_repo
from server_stub.services.access import hash_code, new_enrolment_code, normalise_code
from server_stub.settings import Settings
from tests.server.conftest import (
    ADMIN,
    ADMIN_TOKEN,
    KEY_SEED,
    PG_URL,
    T0,
    World,
    bearer,
    drop_pg_schema,
    ok,
    pg_engine,
    reset_pg_schema,
)
from tests.server.test_concurrency import ServerThread

CODE_FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def public_key(name: str = "T6271009") -> str:
    return uncompressed_point(key_from_seed(f"enrol/{name}").public_key()).hex()


def issue(
    client: TestClient,
    terminal_id: str = "T6271009",
    *,
    headers: dict[str, str] = ADMIN,
    **extra: Any,
) -> httpx.Response:
    body = {"terminal_id": terminal_id, "site": "Kantor Desa Pahandut", "region": 6271, **extra}
    response: httpx.Response = client.post("/v1/admin/enrolment-codes", headers=headers, json=body)
    return response


def new_code(client: TestClient, terminal_id: str = "T6271009", **extra: Any) -> str:
    return str(ok(issue(client, terminal_id, **extra), 201)["code"])


def enrol(client: TestClient, code: str, key: str | None = None) -> httpx.Response:
    response: httpx.Response = client.post(
        "/v1/enrol", json={"code": code, "public_key": key or public_key()}
    )
    return response


def refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    body: dict[str, Any] = response.json()
    assert body["error"]["code"] == "enrolment_code_invalid"
    return body


def codes(client: TestClient, headers: dict[str, str] = ADMIN) -> list[dict[str, Any]]:
    return list(ok(client.get("/v1/admin/enrolment-codes", headers=headers))["codes"])


def audit(client: TestClient) -> list[dict[str, Any]]:
    return list(ok(client.get("/v1/admin/audit?limit=200", headers=ADMIN))["entries"])


# --- the code itself ---------------------------------------------------------------------------------


def test_codes_are_80_random_bits_in_an_unambiguous_alphabet() -> None:
    made = {new_enrolment_code() for _ in range(200)}
    assert len(made) == 200
    assert all(CODE_FORMAT.match(code) for code in made)
    assert not set("".join(made)) & set("ILOU")


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("ab12-cd34-ef56-gh78", "AB12CD34EF56GH78"),
        (" AB12 CD34 EF56 GH78 ", "AB12CD34EF56GH78"),
        ("O0I1-L1oo-0000-0000", "0011110000000000"),  # read as typed: O is 0, I and L are 1
        ("AB12-CD34-EF56-GH7", None),  # one short
        ("AB12-CD34-EF56-GH78-9", None),  # one long
        ("AB12-CD34-EF56-GH7U", None),  # U is not in the alphabet
        ("AB12_CD34_EF56_GH78", None),
        ("ＡB12-CD34-EF56-GH78", None),  # a full-width letter
    ],
)
def test_normalise_code(typed: str, canonical: str | None) -> None:
    assert normalise_code(typed) == canonical


# --- the flow ----------------------------------------------------------------------------------------


def test_issue_enrol_and_sync(world: World) -> None:
    client = world.client
    created = issue(client, pin_reset=True, valid_hours=24)
    assert created.headers["cache-control"] == "no-store"  # a one-time code is never cached
    issued = ok(created, 201)
    assert CODE_FORMAT.match(issued["code"])
    assert issued["terminal_id"] == "T6271009"
    assert issued["expires_at"] == T0 + 24 * 3600
    [listed] = codes(client)
    assert listed["state"] == "live" and listed["created_by"] == "admin:admin" and listed["used_at"] is None

    world.clock.advance(60)
    enrolled = enrol(client, issued["code"])
    assert enrolled.headers["cache-control"] == "no-store"  # nor the terminal's token
    answer = ok(enrolled, 201)
    assert answer["terminal"]["terminal_id"] == "T6271009"
    assert answer["terminal"]["site"] == "Kantor Desa Pahandut"
    assert answer["terminal"]["region"] == 6271
    assert answer["terminal"]["pin_reset"] is True
    assert answer["terminal"]["public_key"] == public_key()
    assert answer["certificate"]  # PIN-reset role: an issuer-signed terminal certificate
    assert answer["server_time"] == T0 + 60
    assert answer["trust_list_url"] == "/v1/public/trust-list"

    trust = ok(world.client.get("/v1/sync/trust-list", headers=bearer(answer["token"])))
    assert trust["version"] >= 1
    [listed] = codes(client)
    assert listed["state"] == "used" and listed["used_at"] == T0 + 60
    [entry] = [e for e in audit(client) if e["action"] == "terminal.enrol"]
    assert entry["actor"] == "admin:admin"  # the code's issuer answers for the enrolment
    assert entry["detail"]["via"] == "enrolment_code"
    assert entry["detail"]["client"] == "testclient"
    terminals = ok(client.get("/v1/admin/terminals", headers=ADMIN))["terminals"]
    assert [t["terminal_id"] for t in terminals] == ["T6271009"]


def test_the_code_may_be_typed_loosely(world: World) -> None:
    code = new_code(world.client)
    typed = "  " + code.lower().replace("-", " ").replace("0", "o").replace("1", "l") + " "
    ok(enrol(world.client, typed), 201)


def test_without_pin_reset_there_is_no_certificate(world: World) -> None:
    answer = ok(enrol(world.client, new_code(world.client)), 201)
    assert answer["certificate"] is None and answer["terminal"]["pin_reset"] is False


def test_every_terminal_gets_a_certified_receipt_key(world: World) -> None:
    """The enrolled key signs the terminal's receipts: certified for its id, from enrolment on."""
    world.clock.advance(30)
    answer = ok(enrol(world.client, new_code(world.client)), 201)
    cert = ReceiptCert.decode(base64.b64decode(answer["receipt_certificate"]))
    key = key_from_seed("enrol/T6271009").public_key()
    assert cert.body.terminal_id == b"T6271009" and cert.body.public_key == compressed_point(key)
    assert cert.body.valid_from == T0 + 30 and cert.body.valid_until > T0 + 300 * 86400
    keys = ok(world.client.get("/v1/admin/issuer-keys", headers=ADMIN))["keys"]
    issuer = next(k for k in keys if k["kid"] == cert.kid.hex())
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(issuer["public_key"]))
    assert verify_raw_es256(point, cert.signature, cert.body.signed_message())


def test_every_bad_code_gets_the_same_answer(world: World) -> None:
    client = world.client
    used = new_code(client, "T6271010")
    ok(enrol(client, used, public_key("T6271010")), 201)
    revoked = new_code(client, "T6271011")
    ok(client.post("/v1/admin/enrolment-codes/T6271011/revoke", headers=ADMIN))
    expired = new_code(client, "T6271012", valid_hours=1)
    world.clock.advance(3600)  # valid for one hour: at its expiry instant it no longer works
    unknown = new_enrolment_code()
    answers = [
        refused(enrol(client, used, public_key("T6271099"))),
        refused(enrol(client, revoked, public_key("T6271011"))),
        refused(enrol(client, expired, public_key("T6271012"))),
        refused(enrol(client, unknown)),
        refused(enrol(client, "not a code at all")),
    ]
    assert all(a == answers[0] for a in answers), answers  # no oracle: one body for all
    states = {c["terminal_id"]: c["state"] for c in codes(client)}
    assert states == {"T6271010": "used", "T6271011": "revoked", "T6271012": "expired"}
    terminals = ok(client.get("/v1/admin/terminals", headers=ADMIN))["terminals"]
    assert [t["terminal_id"] for t in terminals] == ["T6271010"]


def test_a_code_works_once(world: World) -> None:
    code = new_code(world.client)
    first = ok(enrol(world.client, code), 201)
    refused(enrol(world.client, code))
    refused(enrol(world.client, code, public_key("attacker")))
    terminals = ok(world.client.get("/v1/admin/terminals", headers=ADMIN))["terminals"]
    assert [t["public_key"] for t in terminals] == [first["terminal"]["public_key"]]


def test_expiry_follows_the_clock(world: World) -> None:
    code = new_code(world.client, valid_hours=2)
    world.clock.advance(2 * 3600 - 1)
    assert codes(world.client)[0]["state"] == "live"
    world.clock.advance(1)
    assert codes(world.client)[0]["state"] == "expired"
    refused(enrol(world.client, code))
    # an expired code is not live: a new one may be issued, and works
    ok(enrol(world.client, new_code(world.client)), 201)


def test_revoke(world: World) -> None:
    code = new_code(world.client)
    revoked = ok(world.client.post("/v1/admin/enrolment-codes/T6271009/revoke", headers=ADMIN))["codes"]
    assert [(c["terminal_id"], c["state"], c["revoked_by"]) for c in revoked] == [
        ("T6271009", "revoked", "admin:admin")
    ]
    refused(enrol(world.client, code))
    again = world.client.post("/v1/admin/enrolment-codes/T6271009/revoke", headers=ADMIN)
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    ok(enrol(world.client, new_code(world.client)), 201)  # after a revoke, a new code


def test_one_live_code_per_terminal_and_none_for_an_enrolled_one(world: World) -> None:
    new_code(world.client)
    second = issue(world.client)
    assert second.status_code == 409 and second.json()["error"]["code"] == "enrolment_code_exists"
    world.terminal("T6271001")
    enrolled = issue(world.client, "T6271001")
    assert enrolled.status_code == 409 and enrolled.json()["error"]["code"] == "terminal_exists"


def test_direct_enrolment_revokes_the_open_code(world: World) -> None:
    code = new_code(world.client, "T6271001")
    world.terminal("T6271001")  # POST /v1/admin/terminals
    [listed] = codes(world.client)
    assert listed["state"] == "revoked"
    refused(enrol(world.client, code))


def test_listing_never_shows_the_code(world: World) -> None:
    code = new_code(world.client, "T6271001")
    other = new_code(world.client, "T6271002")
    ok(enrol(world.client, other, public_key("T6271002")), 201)
    auditor = world.clerk("audit1", "auditor")
    for headers in (ADMIN, auditor):
        for path in ("/v1/admin/enrolment-codes", "/v1/admin/audit?limit=200"):
            answer = world.client.get(path, headers=headers)
            assert answer.status_code == 200, answer.text
            text = answer.text
            for secret in (code, other):
                canonical = secret.replace("-", "")
                assert secret not in text and canonical not in text and hash_code(canonical) not in text
    listed = codes(world.client)
    assert {k for c in listed for k in c} == {
        "terminal_id",
        "site",
        "region",
        "region_name",
        "pin_reset",
        "created_by",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
        "revoked_by",
        "state",
    }


def test_roles(world: World) -> None:
    client = world.client
    registrar = world.clerk("reg1", "registrar")
    officer = world.clerk("officer1", "card_officer")
    auditor = world.clerk("audit1", "auditor")
    terminal = bearer(world.terminal("T6271001"))

    code = ok(issue(client, "T6271002", headers=registrar), 201)["code"]
    assert codes(client, registrar)[0]["created_by"] == "clerk:reg1"
    assert len(codes(client, auditor)) == 1
    for headers in (officer, auditor, terminal):
        assert issue(client, "T6271003", headers=headers).status_code == 403
        revoke = client.post("/v1/admin/enrolment-codes/T6271002/revoke", headers=headers)
        assert revoke.status_code == 403
    for headers in (officer, terminal):
        assert client.get("/v1/admin/enrolment-codes", headers=headers).status_code == 403
    assert client.get("/v1/admin/enrolment-codes").status_code == 401
    assert client.post("/v1/admin/enrolment-codes", json={}).status_code == 401

    ok(enrol(client, code, public_key("T6271002")), 201)
    [entry] = [e for e in audit(client) if e["action"] == "terminal.enrol" and e["target"] == "T6271002"]
    assert entry["actor"] == "clerk:reg1"


def test_refused_attempts_are_counted_per_client(world: World) -> None:
    for _ in range(3):
        refused(enrol(world.client, new_enrolment_code()))
    entries = [e for e in audit(world.client) if e["action"] == "terminal.enrol_code_refused"]
    assert [e["detail"]["failures_last_hour"] for e in entries] == [3, 2, 1]  # newest first
    assert {(e["actor"], e["target"]) for e in entries} == {("client:testclient", "testclient")}
    world.clock.advance(3601)
    refused(enrol(world.client, "0000-0000-0000-0000"))
    newest = next(e for e in audit(world.client) if e["action"] == "terminal.enrol_code_refused")
    assert newest["detail"]["failures_last_hour"] == 1


def test_a_bad_public_key_is_422_and_leaves_the_code_usable(world: World) -> None:
    code = new_code(world.client)
    off_curve = "04" + "11" * 64
    for key in (off_curve, "05" + public_key()[2:]):
        answer = enrol(world.client, code, key)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "validation"
    assert codes(world.client)[0]["state"] == "live"
    ok(enrol(world.client, code), 201)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"code": "AB12-CD34-EF56-GH78"},
        {"public_key": "04" + "00" * 64},
        {"code": "AB12-CD34-EF56-GH78", "public_key": "zz" * 65},
        {"code": "AB12-CD34-EF56-GH78", "public_key": "04" * 64},
        {"code": "", "public_key": "04" + "00" * 64},
        {"code": "A" * 65, "public_key": "04" + "00" * 64},
        {"code": "AB12\x00CD34-EF56-GH78", "public_key": "04" + "00" * 64},
        {"code": 1234, "public_key": "04" + "00" * 64},
        {"code": "AB12-CD34-EF56-GH78", "public_key": "04" + "00" * 64, "terminal_id": "T6271001"},
        [],
        "code",
    ],
)
def test_malformed_enrol_bodies_are_422(world: World, body: Any) -> None:
    answer = world.client.post("/v1/enrol", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation"


def test_non_json_enrol_body_is_4xx(world: World) -> None:
    answer = world.client.post("/v1/enrol", content=b"\xff\x00", headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"valid_hours": 0}, "validation"),
        ({"valid_hours": 169}, "validation"),
        ({"valid_hours": "soon"}, "validation"),
        ({"pin_reset": "maybe"}, "validation"),
        ({"terminal_id": "t-1"}, "invalid_terminal_id"),
        ({"terminal_id": "T62710011"}, "validation"),
        ({"region": 1234}, "invalid_region"),
        ({"site": ""}, "validation"),
        ({"code": "AB12-CD34-EF56-GH78"}, "validation"),  # the server makes the code
    ],
)
def test_malformed_issue_bodies_are_422(world: World, change: dict[str, Any], code: str) -> None:
    answer = issue(world.client, **change)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code
    assert codes(world.client) == []


# --- atomic use ---------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def committed_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """A database of its own, committed for real (the concurrent requests need separate connections)."""
    base = Settings(data_dir=tmp_path, admin_token=ADMIN_TOKEN, key_seed=KEY_SEED)
    if request.param == "sqlite":
        yield base
        return
    schema = f"khbs_server_enrol_{os.getpid()}"
    reset_pg_schema(schema).dispose()
    yield base.with_(database_url=f"{PG_URL}?options=-csearch_path%3D{schema}")
    drop_pg_schema(schema)


CONTENDERS = 8


def test_check_then_claim_cannot_use_a_code_twice(committed_settings: Settings) -> None:
    """Two transactions that both saw the code open: the conditional UPDATE lets only the first through
    (the guard is the UPDATE's WHERE, not an earlier read). On SQLite the second transaction cannot even
    begin while the first is open (``BEGIN IMMEDIATE``): there the claims simply take turns."""
    with TestClient(create_app(committed_settings, clock=lambda: T0)) as client:
        code = new_code(client)
    digest = hash_code(code.replace("-", ""))
    engine = db.make_engine(committed_settings)
    sessions = db.session_factory(engine)
    try:
        with sessions() as first, sessions() as second:
            assert codes_repo.live_for_terminal(first, "T6271009", T0) is not None
            if committed_settings.backend == "postgresql":  # both read it open, then both claim
                assert codes_repo.live_for_terminal(second, "T6271009", T0) is not None
            assert codes_repo.claim(first, digest, T0) is not None
            first.commit()
            assert codes_repo.claim(second, digest, T0) is None
            second.rollback()
    finally:
        engine.dispose()


def test_concurrent_use_of_one_code_enrols_once(committed_settings: Settings) -> None:
    app = create_app(committed_settings, clock=lambda: T0)
    with ServerThread(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        issued = http.post(
            "/v1/admin/enrolment-codes",
            headers=ADMIN,
            json={"terminal_id": "T6271009", "site": "Kantor Desa", "region": 6271},
        )
        code = ok(issued, 201)["code"]
        barrier = threading.Barrier(CONTENDERS)
        answers: list[httpx.Response] = []
        lock = threading.Lock()

        def contend(n: int) -> None:
            with httpx.Client(base_url=base, timeout=60) as own:
                barrier.wait()
                r = own.post("/v1/enrol", json={"code": code, "public_key": public_key(f"contender{n}")})
            with lock:
                answers.append(r)

        threads = [threading.Thread(target=contend, args=(n,)) for n in range(CONTENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [201] + [401] * (CONTENDERS - 1), [r.text for r in answers]
        winner = next(r.json() for r in answers if r.status_code == 201)
        terminals = ok(http.get("/v1/admin/terminals", headers=ADMIN))["terminals"]
        assert [t["public_key"] for t in terminals] == [winner["terminal"]["public_key"]]
        entries = ok(http.get("/v1/admin/audit?limit=100", headers=ADMIN))["entries"]
        assert sum(e["action"] == "terminal.enrol_code_refused" for e in entries) == CONTENDERS - 1


# --- the migration -----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = db.make_engine(Settings(data_dir=tmp_path))
        yield engine
        engine.dispose()
        return
    schema = f"khbs_server_migrate_{os.getpid()}"
    drop_pg_schema(schema)
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    engine = pg_engine(schema)
    yield engine
    engine.dispose()
    drop_pg_schema(schema)


def test_migration_0002_upgrades_a_0001_database_and_matches_the_models(bare_engine: Engine) -> None:
    db.migrate(bare_engine, "0001")
    assert "enrolment_codes" not in inspect(bare_engine).get_table_names()
    db.migrate(bare_engine)
    assert "enrolment_codes" in inspect(bare_engine).get_table_names()
    with bare_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    with bare_engine.begin() as conn:
        command.downgrade(db.alembic_config(conn), "0001")
    assert "enrolment_codes" not in inspect(bare_engine).get_table_names()
    db.migrate(bare_engine)
    with Session(bare_engine) as session:
        assert codes_repo.all_codes(session) == []

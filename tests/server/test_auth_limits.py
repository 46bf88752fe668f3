"""Limits and audit (issue 14, items 4 and 5), through HTTP on SQLite and PostgreSQL: body caps (413),
failed authentication locked out per address and per token (429 + Retry-After), token expiry and
rotation, deactivation at once, and the audit of reads of full NIKs, terminal uploads and refusals —
with the audit log bounded under a flood."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from server_stub.api.limits import ANONYMOUS_CAP, BODY_CAPS, BodyLimit, Message
from server_stub.models import AuditEntry
from tests.server.conftest import ADMIN, Clock, World, bearer, ok
from tests.server.helpers import CardUnderTest, upload_item

BAD = bearer("khbs_t_not-a-token-we-ever-issued-000000")


def actions(sessions: sessionmaker[Session], prefix: str = "") -> list[str]:
    with sessions() as s:
        rows = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    return [a for a in rows if a.startswith(prefix)]


def entries(sessions: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def from_address(client: TestClient, address: str) -> TestClient:
    return TestClient(client.app, client=(address, 40000))


# --- body caps -----------------------------------------------------------------------------------


def test_a_ten_megabyte_upload_is_refused_before_it_is_read(world: World, client: TestClient) -> None:
    token = world.terminal()
    body = b'{"records": [' + b" " * (10 * 1024 * 1024) + b"]}"
    r = client.post(
        "/v1/sync/redemptions", content=body, headers={**bearer(token), "content-type": "application/json"}
    )
    assert r.status_code == 413
    error = r.json()["error"]
    assert error["code"] == "body_too_large" and error["limit"] == BODY_CAPS[("POST", "/v1/sync/redemptions")]


def test_anonymous_bodies_get_the_small_cap(client: TestClient, sessions: sessionmaker[Session]) -> None:
    r = client.post("/v1/sync/redemptions", content=b"x" * (ANONYMOUS_CAP + 1))
    assert r.status_code == 413 and r.json()["error"]["limit"] == ANONYMOUS_CAP
    assert actions(sessions, "limits.") == ["limits.body_too_large"]


def test_an_honest_full_batch_fits_its_cap(world: World, client: TestClient, clock: Clock) -> None:
    token = world.terminal()
    card = CardUnderTest.blank()
    world.station().issue(card.connection, nik=world.citizen("6271010101900001")["nik"], pin="123456")
    tx = card.debit(1, 1000, when=clock.now)
    item = upload_item(tx, kind="debit", ledger_id="R-" + "9" * 36)
    body = json.dumps({"records": [item] * 2000}).encode()
    assert len(body) < BODY_CAPS[("POST", "/v1/sync/redemptions")] // 2
    r = client.post(
        "/v1/sync/redemptions", content=body, headers={**bearer(token), "content-type": "application/json"}
    )
    assert ok(r)["stored"] == 1


def test_a_chunked_body_is_cut_off_at_the_cap_while_it_streams() -> None:
    """No Content-Length: the middleware counts as the body arrives and stops pulling past the cap
    (an endless 1 MB-chunk stream is read only to the cap), and the answer is the 413 error body."""
    chunk = b"x" * (1024 * 1024)
    pulled = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal pulled
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: Message) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Callable[[], Any], send: Callable[[Message], Any]) -> None:
        body = b""
        while True:  # like Starlette's request.body(): everything until more_body is false
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/sync/redemptions",
        "headers": [(b"authorization", b"Bearer x")],
    }
    asyncio.run(BodyLimit(app)(scope, receive, send))
    cap = BODY_CAPS[("POST", "/v1/sync/redemptions")]
    assert pulled <= cap + len(chunk)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "body_too_large"


# --- failed authentication: lockouts -------------------------------------------------------------


def test_bad_tokens_from_one_address_lock_it_out(
    world: World, client: TestClient, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    token = world.terminal()
    limit = world.settings.auth_fail_limit_addr
    for i in range(limit):
        r = client.get("/v1/sync/trust-list", headers=bearer(f"khbs_t_guess-{i:040d}"))
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    for i in range(100):  # the flood goes on: 429, and the audit log does not grow with it
        r = client.get("/v1/sync/trust-list", headers=bearer(f"khbs_t_more-{i:040d}"))
        assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_attempts"
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= world.settings.auth_lockout_addr_s and r.json()["error"]["retry_after"] == retry
    # the address is locked for everything, a valid token too
    assert client.get("/v1/sync/trust-list", headers=bearer(token)).status_code == 429
    assert len(entries(sessions, "auth.refused")) == limit
    [lock] = entries(sessions, "auth.lockout")
    assert lock.target == "addr:testclient" and lock.detail["scope"] == "address"
    # another address is not affected; the lockout is listed with the refusals it counted
    assert ok(from_address(client, "10.0.0.9").get("/v1/sync/trust-list", headers=bearer(token)))
    listed = ok(from_address(client, "10.0.0.9").get("/v1/admin/lockouts", headers=ADMIN))["lockouts"]
    assert [(x["key"], x["blocked"]) for x in listed] == [("addr:testclient", 101)]
    clock.advance(world.settings.auth_lockout_addr_s)
    assert ok(client.get("/v1/sync/trust-list", headers=bearer(token)))


def test_one_stolen_token_from_many_addresses_locks_the_token(
    world: World, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    stolen = world.clerk("officer", "card_officer")
    ok(client.post("/v1/admin/clerks/officer/deactivate", headers=ADMIN))
    limit = world.settings.auth_fail_limit_token
    for i in range(limit):
        r = from_address(client, f"10.1.0.{i}").get("/v1/admin/me", headers=stolen)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = from_address(client, "10.1.1.1").get("/v1/admin/me", headers=stolen)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # a known (revoked) token does not count against the addresses: they still work for others
    assert ok(from_address(client, "10.1.0.1").get("/v1/admin/me", headers=ADMIN))
    [lock] = entries(sessions, "auth.lockout")
    assert lock.target.startswith("tok:") and lock.detail["scope"] == "token"
    refused = entries(sessions, "auth.refused")
    assert len(refused) == limit and {e.target for e in refused} == {"clerk:officer"}
    assert {e.detail["reason"] for e in refused} == {"inactive"}


def test_the_audit_log_takes_a_bounded_number_of_refusals(
    make_client: Callable[..., TestClient], world: World, sessions: sessionmaker[Session]
) -> None:
    client = make_client(audit_refusals_per_min=5)
    for i in range(12):  # many addresses, each under its own threshold: the server-wide budget holds
        r = from_address(client, f"10.2.0.{i}").get("/v1/sync/trust-list", headers=bearer(f"khbs_t_{i:040d}"))
        assert r.status_code == 401
    assert len(entries(sessions, "auth.refused")) == 5
    [suppressed] = entries(sessions, "audit.suppressed")
    assert suppressed.detail["bucket"] == "audit:refusals" and suppressed.detail["limit"] == 5


# --- expiry, rotation, deactivation --------------------------------------------------------------


def test_a_terminal_renews_its_token_and_the_old_one_stops(
    world: World, client: TestClient, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    old = world.terminal()
    ttl = world.settings.terminal_token_ttl_s
    fresh = ok(client.post("/v1/sync/token", headers=bearer(old), json={}))
    assert fresh["token"] is None and fresh["expires_at"] == clock.now + ttl
    clock.advance(ttl // 3)
    renewed = ok(client.post("/v1/sync/token", headers=bearer(old), json={}))
    new = renewed["token"]
    assert new and new != old and renewed["expires_at"] == clock.now + ttl
    # the old token works until the new one is first used (a lost answer does not strand the terminal)
    assert ok(client.get("/v1/sync/trust-list", headers=bearer(old)))
    assert ok(client.get("/v1/sync/trust-list", headers=bearer(new)))
    r = client.get("/v1/sync/trust-list", headers=bearer(old))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    assert actions(sessions, "terminal.token_rotate") == ["terminal.token_rotate"]
    # and a token that reaches its expiry stops
    clock.advance(ttl)
    r = client.get("/v1/sync/trust-list", headers=bearer(new))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"


def test_a_replaced_token_stops_after_the_grace(world: World, client: TestClient, clock: Clock) -> None:
    old = world.terminal()
    ok(client.post("/v1/sync/token", headers=bearer(old), json={"force": True}))
    clock.advance(world.settings.token_rotation_grace_s)
    assert client.get("/v1/sync/trust-list", headers=bearer(old)).status_code == 401


def test_clerk_tokens_expire_rotate_and_stop_at_deactivation(
    world: World, client: TestClient, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    old = world.clerk("regina", "registrar")
    new = bearer(ok(client.post("/v1/admin/me/token", headers=old))["token"])
    assert ok(client.get("/v1/admin/me", headers=new))["actor"] == "clerk:regina"
    assert client.get("/v1/admin/me", headers=old).status_code == 401  # the new one is in use
    # an administrator's reissue ends the clerk's token at once (no grace)
    reissued = bearer(ok(client.post("/v1/admin/clerks/regina/token", headers=ADMIN))["token"])
    assert client.get("/v1/admin/me", headers=new).status_code == 401
    assert ok(client.get("/v1/admin/me", headers=reissued))
    # deactivation takes effect at the very next request
    ok(client.post("/v1/admin/clerks/regina/deactivate", headers=ADMIN))
    assert client.get("/v1/admin/me", headers=reissued).status_code == 401
    assert client.post("/v1/admin/clerks/regina/token", headers=ADMIN).status_code == 409
    # an expired clerk token
    other = world.clerk("otto", "auditor")
    clock.advance(world.settings.clerk_token_ttl_s)
    r = client.get("/v1/admin/me", headers=other)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    assert {"clerk.token_rotate", "clerk.token_reissue", "clerk.deactivate"} <= set(
        actions(sessions, "clerk.")
    )


def test_a_deactivated_terminal_is_refused_at_once(world: World, client: TestClient) -> None:
    token = world.terminal()
    assert ok(client.get("/v1/sync/trust-list", headers=bearer(token)))
    ok(client.post("/v1/admin/terminals/T6271001/deactivate", headers=ADMIN))
    assert client.get("/v1/sync/trust-list", headers=bearer(token)).status_code == 401


# --- audit of reads, uploads and refusals --------------------------------------------------------


def test_reads_of_full_niks_are_audited(
    world: World, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    kk = world.household()
    citizen = world.citizen("6271010101900001", kk=kk)
    card = CardUnderTest.blank()
    serial = world.station().issue(card.connection, nik=citizen["nik"], pin="123456").serial
    ok(client.post("/v1/admin/households/lookup", headers=ADMIN, json={"kk_number": kk}))
    ok(client.get(f"/v1/admin/cards/{serial}", headers=ADMIN))
    officer = world.clerk("officer", "card_officer")
    ok(client.get(f"/v1/admin/cards/{serial}", headers=officer))
    [household] = entries(sessions, "household.view")
    assert household.actor == "admin:admin" and household.detail["full_nik"] is True
    assert kk not in household.target  # the log itself holds no full KK number
    views = entries(sessions, "card.view")
    assert [(e.actor, e.detail["full_nik"]) for e in views] == [
        ("admin:admin", True),
        ("clerk:officer", False),
    ]


def test_terminal_uploads_voids_acks_and_interests_are_audited(
    world: World, client: TestClient, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    token = world.terminal()
    card = CardUnderTest.blank()
    world.station().issue(card.connection, nik=world.citizen("6271010101900001")["nik"], pin="123456")
    tx = card.debit(1, 1000, when=clock.now)
    item = upload_item(tx)
    ok(client.post("/v1/sync/redemptions", headers=bearer(token), json={"records": [item]}))
    void = {
        "void_id": "V-1",
        "ledger_id": item["ledger_id"],
        "record_id": item["record_id"],
        "reason": "salah nominal",
        "clerk_id": "c1",
        "created_at": clock.now,
    }
    ok(client.post("/v1/sync/voids", headers=bearer(token), json={"voids": [void]}))
    ok(
        client.post(
            "/v1/sync/pending/ack", headers=bearer(token), json={"grants": [1], "status_commands": []}
        )
    )
    interest = {
        "interest_id": "I-1",
        "item_id": "nope",
        "card_serial": item["card_serial"],
        "registered_at": clock.now,
    }
    ok(client.post("/v1/sync/interests", headers=bearer(token), json={"interests": [interest]}))
    [up] = entries(sessions, "sync.redemptions")
    assert up.actor == "terminal:T6271001" and up.detail["stored"] == 1
    [v] = entries(sessions, "sync.voids")
    assert v.detail["items"] == [{"id": "V-1", "result": "stored", "reason": None}]
    [ack] = entries(sessions, "sync.ack")
    assert ack.detail["asked"]["grants"] == [1]
    [interests] = entries(sessions, "sync.interests")
    assert interests.detail["rejected"] == 1


def test_forbidden_attempts_are_audited_within_a_budget(
    world: World, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    token = world.terminal()
    auditor = world.clerk("otto", "auditor")
    r = client.get("/v1/admin/me", headers=bearer(token))  # another kind of token on the admin API
    assert r.status_code == 403
    for _ in range(40):  # a stolen auditor token probing a write
        assert client.post("/v1/admin/clerks/otto/deactivate", headers=auditor).status_code == 403
    forbidden = entries(sessions, "auth.forbidden")
    assert forbidden[0].actor == "terminal:T6271001" and forbidden[0].target == "GET /v1/admin/me"
    by_otto = [e for e in forbidden if e.actor == "clerk:otto"]
    assert len(by_otto) == 30 and by_otto[0].target == "POST /v1/admin/clerks/otto/deactivate"
    suppressed = entries(sessions, "audit.suppressed")
    assert [e.detail["bucket"] for e in suppressed] == ["audit:forbidden:clerk:otto"]


def test_the_terminal_follows_a_rotation(world: World, client: TestClient, clock: Clock) -> None:
    """terminal.sync: the renewal step keeps the new token (the sink writes it first), then uses it."""
    from terminal.sync import SyncClient, Syncer

    old = world.terminal()
    kept: list[str] = []
    http = SyncClient("", old, http=client)
    unused: Any = None  # the renewal step touches no store
    syncer = Syncer(
        http,
        trust=unused,
        revocation=unused,
        ledger=unused,
        catalogue=unused,
        pending=unused,
        state=unused,
        token_sink=kept.append,
    )
    assert syncer.renew_token() == "token still fresh" and kept == []
    clock.advance(world.settings.terminal_token_ttl_s // 3)
    assert syncer.renew_token() == "token renewed"
    assert http.headers == bearer(kept[0]) and kept[0] != old
    assert ok(client.get("/v1/sync/trust-list", headers=http.headers))
    assert client.get("/v1/sync/trust-list", headers=bearer(old)).status_code == 401

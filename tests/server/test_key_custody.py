"""The offline trust root end to end (SQLite and PostgreSQL): the server exports the unsigned content, the
ceremony signs a dated batch with the root from its own key store, an administrator uploads it, the server
serves one list a day from it; status-list and issuer key rotations wait for a trust list that carries the
new key, old data keeps verifying in the old key's window; status deltas are signed once, at publication."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from province.statuslist import open_delta, open_snapshot
from province.trust import TrustList, verify_trust_list
from server_stub.keys import KeyRing
from server_stub.keystore import FileKeyStore, StoreSigner
from server_stub.models import StatusDeltaRow
from server_stub.services import issuer
from server_stub.services.context import Ctx
from server_stub.settings import Settings
from server_stub.trust_ceremony import TrustListRequest, encode_bundle, sign_batch
from tests.server.conftest import ADMIN, KEY_SEED, Clock, World, bearer, ok

DAY = 86_400


def _request(client: TestClient) -> TrustListRequest:
    response = client.get("/v1/admin/trust-list/request", headers=ADMIN)
    assert response.status_code == 200, response.text
    return TrustListRequest.from_json(response.content)


def _ceremony(client: TestClient, root: StoreSigner, *, start: int, count: int) -> bytes:
    return encode_bundle(sign_batch(_request(client), root, start=start, count=count, interval_s=DAY))


def _upload(client: TestClient, bundle: bytes) -> Any:
    return client.post(
        "/v1/admin/trust-list", headers={**ADMIN, "Content-Type": "application/cbor"}, content=bundle
    )


def _served(client: TestClient, root: ec.EllipticCurvePublicKey) -> TrustList:
    response = client.get("/v1/public/trust-list")
    assert response.status_code == 200, response.text
    return verify_trust_list(response.content, root)


@pytest.fixture
def offline(tmp_path: Path, make_client: Callable[..., TestClient]) -> tuple[TestClient, StoreSigner]:
    store = FileKeyStore(tmp_path / "ceremony-keys", b"the ceremony passphrase")
    root = store.create("trust-root")
    pem = tmp_path / "root.pem"
    pem.write_bytes(
        root.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return make_client(trust_root_public_key=pem), root


def test_offline_root_ceremony_and_daily_freshness(
    offline: tuple[TestClient, StoreSigner], clock: Clock, settings: Settings
) -> None:
    client, root = offline
    refused = client.get("/v1/public/trust-list")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "no_trust_list"
    # the server cannot sign one: nothing to sign it with
    with pytest.raises(Exception, match="offline"):
        KeyRing(KEY_SEED, root_public_key=root.public_key()).trust_root_key  # noqa: B018

    request = _request(client)
    first = request.next_seq
    bundle = _ceremony(client, root, start=clock.now, count=3)
    stored = ok(_upload(client, bundle), 201)
    assert stored["seqs"] == [first, first + 1, first + 2]
    served = _served(client, root.public_key())
    assert (served.seq, served.issued_at) == (first, clock.now)
    clock.advance(DAY)
    assert (_served(client, root.public_key()).seq, _served(client, root.public_key()).issued_at) == (
        first + 1,
        clock.now,
    )
    clock.advance(5 * DAY)  # the batch ran out: the served list ages, terminals will call it stale
    assert _served(client, root.public_key()).issued_at == clock.now - 4 * DAY

    # the same lists again, a list signed by another key, garbage: refused, nothing stored
    again = _upload(client, bundle)
    assert again.status_code == 422 and again.json()["error"]["code"] == "trust_list_refused"
    impostor = ec.generate_private_key(ec.SECP256R1())
    forged = sign_batch(
        TrustListRequest(request.next_seq + 10, request.created_at, request.root_kid, request.content),
        root,
        start=clock.now,
        count=1,
        interval_s=DAY,
    )
    tampered = bytearray(forged[0])
    tampered[-1] ^= 1
    assert _upload(client, encode_bundle([bytes(tampered)])).status_code == 422
    with pytest.raises(Exception, match="request is for root"):
        sign_batch(request, impostor, start=clock.now, count=1, interval_s=DAY)
    assert _upload(client, b"\xff\x00").status_code == 422
    # a demo server (online root) has no ceremony
    assert ok(client.get("/v1/admin/root-key", headers=ADMIN))["fingerprint"]


def test_status_and_issuer_key_rotation_follow_the_trust_list(
    offline: tuple[TestClient, StoreSigner],
    clock: Clock,
    sessions: sessionmaker[Session],
    settings: Settings,
) -> None:
    client, root = offline
    world = World(client, sessions, settings, clock)
    ok(_upload(client, _ceremony(client, root, start=clock.now, count=30)), 201)
    token = world.terminal("T6271001")  # its certificate: signed by an issuer key the list carries
    before = ok(client.get("/v1/sync/status-list", headers=bearer(token)))
    old_list = _served(client, root.public_key())
    old_snapshot = open_snapshot(base64.b64decode(before["signed"]), old_list.status_keys)

    # rotations with an offline root start after the lead time, never at once
    too_soon = client.post("/v1/admin/status-keys/rotate", headers=ADMIN, json={"starts_at": clock.now + 60})
    assert too_soon.status_code == 422 and too_soon.json()["error"]["code"] == "rotation_too_soon"
    status_key = ok(client.post("/v1/admin/status-keys/rotate", headers=ADMIN, json={}), 201)
    start = status_key["sign_from"]
    assert start == clock.now + settings.key_rotation_lead_s
    issuer_key = ok(
        client.post("/v1/admin/issuer-keys/rotate", headers=ADMIN, json={"overlap_days": 30}), 201
    )
    assert issuer_key["issue_from"] == start

    # past the start, but no ceremony yet: the server keeps the keys the terminals know
    clock.advance(settings.key_rotation_lead_s + 3600)
    snap = ok(client.get("/v1/sync/status-list", headers=bearer(token)))
    assert open_snapshot(base64.b64decode(snap["signed"]), old_list.status_keys).seq >= old_snapshot.seq
    with sessions() as session:
        ctx = Ctx(
            session=session,
            settings=settings,
            keys=KeyRing(KEY_SEED, root_public_key=root.public_key()),
            clock=clock,
        )
        assert issuer.current_key(ctx).generation == 1

    # the ceremony signs lists carrying both keys; the server switches; old data still verifies
    ok(_upload(client, _ceremony(client, root, start=clock.now, count=7)), 201)
    new_list = _served(client, root.public_key())
    assert {k.kid.hex() for k in new_list.status_keys} >= {status_key["kid"]}
    assert {e.kid.hex() for e in new_list.issuers} >= {issuer_key["kid"]}
    clock.advance(3600)
    snap = ok(client.get("/v1/sync/status-list", headers=bearer(token)))
    raw = base64.b64decode(snap["signed"])
    assert cbor2.loads(cbor2.loads(raw).value[0])[4].hex() == status_key["kid"]
    open_snapshot(raw, new_list.status_keys)
    deltas = ok(client.get("/v1/sync/status-list/deltas?since=0", headers=bearer(token)))["deltas"]
    for d in deltas:  # every delta, old key's or new key's, verifies under the new list in its window
        open_delta(base64.b64decode(d["signed"]), new_list.status_keys)
    with sessions() as session:
        ctx = Ctx(
            session=session,
            settings=settings,
            keys=KeyRing(KEY_SEED, root_public_key=root.public_key()),
            clock=clock,
        )
        assert issuer.current_key(ctx).generation == 2


def test_deltas_are_signed_once_at_publication(
    world: World, clock: Clock, sessions: sessionmaker[Session]
) -> None:
    token = world.terminal("T6271001")
    for _ in range(5):
        clock.advance(2 * 3600)  # each heartbeat publishes a step
        ok(world.client.get("/v1/sync/status-list", headers=bearer(token)))
    with sessions() as session:
        rows = list(session.scalars(select(StatusDeltaRow)))
        assert rows and all(r.signed is not None for r in rows)
        stored = {r.seq: bytes(r.signed or b"") for r in rows}
    served = ok(world.client.get("/v1/sync/status-list/deltas?since=0", headers=bearer(token)))["deltas"]
    assert {d["seq"]: base64.b64decode(d["signed"]) for d in served} == stored


def test_kartu_keys_ceremony_command(
    tmp_path: Path, make_client: Callable[..., TestClient], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kartu.cli import main

    monkeypatch.setenv("KHBS_KEY_PASSPHRASE", "the offline machine's passphrase")
    store = f"file:{tmp_path / 'offline'}"
    pem = tmp_path / "root.pem"
    assert main(["keys", "create", "trust-root", "--key-store", store, "--out", str(pem)]) == 0
    client = make_client(trust_root_public_key=pem)
    request = tmp_path / "request.json"
    request.write_bytes(client.get("/v1/admin/trust-list/request", headers=ADMIN).content)
    out = tmp_path / "lists.cbor"
    args = ["keys", "sign-trust-list", "--key-store", store, "--request", str(request), "--out", str(out)]
    assert main([*args, "--count", "3", "--start", str(clock.now), "--yes"]) == 0
    assert len(ok(_upload(client, out.read_bytes()), 201)["seqs"]) == 3
    audit = (tmp_path / "lists.audit.jsonl").read_text().splitlines()
    assert len(audit) == 1 and '"bundle_sha256"' in audit[0]
    # another store's root cannot sign this server's request
    other = f"file:{tmp_path / 'elsewhere'}"
    assert main(["keys", "create", "trust-root", "--key-store", other]) == 0
    assert main([*args[:3], other, *args[4:], "--yes"]) == 1

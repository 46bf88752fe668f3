"""The terminal sync API: authentication, signed trust list and status list (snapshot + deltas),
pending grants, catalogues and idempotent interests, failures, voids."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from card_applet_spec import constants as c
from card_applet_spec.tlv import parse_single, parse_tlv
from province.statuslist import CardStatus, StatusDelta, verify_delta, verify_snapshot
from province.trust import parse_point, verify_trust_list
from tests.server.conftest import ADMIN, T0, Clock, World, bearer, ok
from tests.server.helpers import PIN, CardUnderTest, upload_item

SYNC_GETS = [
    "/v1/sync/trust-list",
    "/v1/sync/status-list",
    "/v1/sync/status-list/deltas?since=0",
    "/v1/sync/pending",
    "/v1/sync/catalogue",
]
SYNC_POSTS = [
    ("/v1/sync/redemptions", {"records": []}),
    ("/v1/sync/failures", {"events": []}),
    ("/v1/sync/voids", {"voids": []}),
    ("/v1/sync/interests", {"interests": []}),
    ("/v1/sync/pending/ack", {}),
]


def test_every_sync_call_needs_a_terminal_token(world: World) -> None:
    clerk = world.clerk("rina", "registrar")
    for headers in ({}, {"Authorization": "Bearer wrong"}, ADMIN, clerk):
        expected = 401 if headers in ({}, {"Authorization": "Bearer wrong"}) else 403
        for path in SYNC_GETS:
            assert world.client.get(path, headers=headers).status_code == expected, path
        for path, body in SYNC_POSTS:
            r = world.client.post(path, headers=headers, json=body)
            assert r.status_code == expected, path
            assert r.json()["error"]["code"] in ("unauthorized", "forbidden")
    token = world.terminal("T6271001")
    for path in SYNC_GETS:
        assert world.client.get(path, headers=bearer(token)).status_code == 200, path
    # a deactivated terminal's token stops working
    ok(world.client.post("/v1/admin/terminals/T6271001/deactivate", headers=ADMIN))
    assert world.client.get("/v1/sync/trust-list", headers=bearer(token)).status_code == 401


def test_trust_list_is_signed_and_tracks_terminals_and_key_rotation(world: World, clock: Clock) -> None:
    token = world.terminal("T6271001", pin_reset=True)
    world.terminal("T6203001", region=6203)
    first = ok(world.client.get("/v1/sync/trust-list", headers=bearer(token)))
    root = parse_point(bytes.fromhex(first["root_public_key"]), "root")
    tl = verify_trust_list(base64.b64decode(first["signed"]), root)
    assert tl.seq == first["version"]
    assert [t.terminal_id for t in tl.terminals] == ["T6203001", "T6271001"]
    assert tl.terminal("T6271001").has_role(c.TerminalRole.PIN_RESET)
    assert tl.terminal("T6203001").region == 6203
    [issuer] = tl.issuers
    # the same version gives the same bytes (terminals refuse "same seq, other content")
    clock.advance(3600)
    again = ok(world.client.get("/v1/sync/trust-list", headers=bearer(token)))
    assert again == first
    # rotation: a new issuer key; the old one still verifies the credentials it signed
    clock.advance(60)
    ok(world.client.post("/v1/admin/issuer-keys/rotate", headers=ADMIN, json={"overlap_days": 7}), 201)
    rotated = verify_trust_list(
        base64.b64decode(ok(world.client.get("/v1/sync/trust-list", headers=bearer(token)))["signed"]), root
    )
    assert rotated.seq > tl.seq and len(rotated.issuers) == 2
    old = rotated.issuer(issuer.kid)
    assert old is not None and old.issue_until == clock.now + 7 * 86400
    assert old.verify_until == old.issue_until + world.settings.credential_validity_days * 86400
    assert old.may_verify(T0, clock.now)


def test_enrolment_with_pin_reset_gets_an_issuer_certificate(world: World) -> None:
    from card_applet_spec.issuer import key_from_seed, uncompressed_point

    key = key_from_seed("terminal/T6271009")
    body = {
        "terminal_id": "T6271009",
        "site": "Loket Dukcapil",
        "region": 6271,
        "public_key": uncompressed_point(key.public_key()).hex(),
        "pin_reset": True,
    }
    out = ok(world.client.post("/v1/admin/terminals", headers=ADMIN, json=body), 201)
    cert = parse_tlv(parse_single(base64.b64decode(out["certificate"]), c.TAG_TERMINAL_CERT))
    assert cert[c.TAG_TERMINAL_CERT_BODY][1:9] == b"T6271009"
    for bad in ({"terminal_id": "t62"}, {"region": 6214}, {"public_key": "04" + "00" * 64}):
        r = world.client.post(
            "/v1/admin/terminals", headers=ADMIN, json={**body, "terminal_id": "T6271010", **bad}
        )
        assert r.status_code == 422, bad
    assert world.client.post("/v1/admin/terminals", headers=ADMIN, json=body).status_code == 409


def _snapshot(world: World, token: str):  # type: ignore[no-untyped-def]
    out = ok(world.client.get("/v1/sync/status-list", headers=bearer(token)))
    return out, verify_snapshot(
        base64.b64decode(out["signed"]), world.station().keys.status_list_key.public_key()
    )


def test_status_list_snapshot_and_deltas_follow_revocations(world: World, clock: Clock) -> None:
    token = world.terminal()
    status_key = world.station().keys.status_list_key.public_key()
    serials = []
    for i, nik in enumerate(["6271010101900001", "6271014708900002", "6271010202800003"]):
        world.citizen(nik)
        serials.append(world.station().issue(CardUnderTest.blank(i + 1).connection, nik=nik, pin=PIN).serial)
    out, snap = _snapshot(world, token)
    base = out["seq"]
    indices = [ok(world.client.get(f"/v1/admin/cards/{s}", headers=ADMIN))["status_index"] for s in serials]
    assert snap.size >= 3 and all(snap.status(i) == CardStatus.VALID for i in indices)
    officer = world.clerk("anton", "card_officer")
    ok(
        world.client.post(
            f"/v1/admin/cards/{serials[0]}/suspend", headers=officer, json={"reason": "investigasi"}
        )
    )
    ok(
        world.client.post(
            f"/v1/admin/cards/{serials[1]}/revoke", headers=officer, json={"reason": "meninggal"}
        )
    )
    ok(
        world.client.post(
            f"/v1/admin/cards/{serials[0]}/reinstate", headers=officer, json={"reason": "selesai"}
        )
    )
    r = world.client.post(f"/v1/admin/cards/{serials[1]}/reinstate", headers=officer, json={"reason": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "bad_transition"
    assert (
        world.client.post(
            f"/v1/admin/cards/{serials[2]}/revoke", headers=officer, json={"reason": " "}
        ).status_code
        == 422
    )
    deltas = ok(
        world.client.get("/v1/sync/status-list/deltas", headers=bearer(token), params={"since": base})
    )
    assert [d["seq"] for d in deltas["deltas"]] == [base + 1, base + 2, base + 3]
    decoded: list[StatusDelta] = [
        verify_delta(base64.b64decode(d["signed"]), status_key) for d in deltas["deltas"]
    ]
    assert [(d.from_seq, d.to_seq) for d in decoded] == [
        (base, base + 1),
        (base + 1, base + 2),
        (base + 2, base + 3),
    ]
    assert [d.changes for d in decoded] == [
        ((indices[0], CardStatus.SUSPENDED),),
        ((indices[1], CardStatus.REVOKED),),
        ((indices[0], CardStatus.VALID),),
    ]
    # applying the deltas to the old snapshot gives the new snapshot
    bits = bytearray(snap.bits)
    for d in decoded:
        d.apply_in_place(bits)
    out2, snap2 = _snapshot(world, token)
    assert out2["seq"] == base + 3 and bytes(bits) == snap2.bits
    assert snap2.status(indices[1]) == CardStatus.REVOKED
    # the same deltas again are byte-identical; being ahead of the server is a 409
    again = ok(world.client.get("/v1/sync/status-list/deltas", headers=bearer(token), params={"since": base}))
    assert again == deltas
    r = world.client.get("/v1/sync/status-list/deltas", headers=bearer(token), params={"since": base + 9})
    assert r.status_code == 409 and r.json()["error"]["code"] == "ahead_of_server"
    # heartbeat: after an hour without change, an empty delta refreshes the data's age
    clock.advance(3601)
    latest = ok(
        world.client.get("/v1/sync/status-list/deltas", headers=bearer(token), params={"since": base + 3})
    )
    [beat] = [verify_delta(base64.b64decode(d["signed"]), status_key) for d in latest["deltas"]]
    assert beat.changes == () and beat.issued_at == clock.now
    # status commands: block for the suspension, terminate for the revocation, unblock after reinstating
    pending = ok(
        world.client.get("/v1/sync/pending", headers=bearer(token), params={"serials": ",".join(serials)})
    )
    states = {p["card_serial"]: p["new_state"] for p in pending["status_commands"]}
    assert states == {serials[0]: c.LifeCycle.OPERATIONAL, serials[1]: c.LifeCycle.TERMINATED}
    audit = ok(world.client.get("/v1/admin/audit", headers=ADMIN))["entries"]
    assert [e["action"] for e in audit if e["action"].startswith("card.")][:3] == [
        "card.reinstate",
        "card.revoke",
        "card.suspend",
    ]


def test_blocked_card_applies_the_signed_block_command(world: World) -> None:
    token = world.terminal()
    world.citizen("6271010101900001")
    card = CardUnderTest.blank()
    serial = world.station().issue(card.connection, nik="6271010101900001", pin=PIN).serial
    ok(world.client.post(f"/v1/admin/cards/{serial}/suspend", headers=ADMIN, json={"reason": "kartu dicuri"}))
    [cmd] = ok(world.client.get("/v1/sync/pending", headers=bearer(token)))["status_commands"]
    assert cmd["new_state"] == c.LifeCycle.BLOCKED and cmd["card_serial"] == serial
    card.session().set_status(
        cmd["new_state"], *(base64.b64decode(cmd[k]) for k in ("body", "kid", "signature"))
    )
    assert card.card.state.life_cycle == c.LifeCycle.BLOCKED


def test_period_grants_are_pending_until_acknowledged(world: World) -> None:
    token = world.terminal()
    world.citizen("6271010101900001", decile=1)
    card = CardUnderTest.blank()
    serial = world.station().issue(card.connection, nik="6271010101900001", pin=PIN).serial
    dinsos = world.clerk("dewi", "agency_admin", "DINSOS")
    window = {"valid_from": T0 + 30 * 86400, "valid_until": T0 + 60 * 86400}
    assert ok(world.client.post("/v1/admin/programs/1/grants", headers=dinsos, json=window))["created"] == 1
    assert world.client.post("/v1/admin/programs/4/grants", headers=dinsos, json=window).status_code == 403
    [grant] = ok(world.client.get("/v1/sync/pending", headers=bearer(token)))["grants"]
    assert (grant["card_serial"], grant["program"], grant["grant_seq"]) == (serial, 1, 2)
    card.session().load_grant(*(base64.b64decode(grant[k]) for k in ("body", "kid", "signature")))
    assert {g.body.grant_seq for g in card.session().read_grants() if g.body.program == 1} == {2}
    assert ok(
        world.client.post("/v1/sync/pending/ack", headers=bearer(token), json={"grants": [grant["id"]]})
    ) == {
        "grants": 1,
        "status_commands": 0,
    }
    assert ok(world.client.get("/v1/sync/pending", headers=bearer(token)))["grants"] == []


def test_catalogue_and_idempotent_interests(world: World) -> None:
    token = world.terminal()
    world.citizen("6271010101900001", occupation="unemployed")
    serial = world.station().issue(CardUnderTest.blank().connection, nik="6271010101900001", pin=PIN).serial
    naker = world.clerk("kerja", "agency_admin", "DISNAKERTRANS")
    kop = world.clerk("koperasi", "agency_admin", "DISKOPUKM")
    job = {
        "kind": "job",
        "region": 6271,
        "title": "Operator alat berat",
        "organisation": "PT Sawit Makmur",
        "location": "Palangka Raya",
        "slots": 5,
        "opens_on": "2026-03-01",
        "closes_on": "2026-04-30",
    }
    item = ok(world.client.post("/v1/admin/catalogue", headers=naker, json=job), 201)
    assert world.client.post("/v1/admin/catalogue", headers=kop, json=job).status_code == 403
    course = ok(
        world.client.post(
            "/v1/admin/catalogue", headers=kop, json={**job, "kind": "training", "title": "Menjahit"}
        ),
        201,
    )
    elsewhere = ok(world.client.post("/v1/admin/catalogue", headers=naker, json={**job, "region": 6203}), 201)
    mine = ok(world.client.get("/v1/sync/catalogue", headers=bearer(token)))["items"]
    assert {i["id"] for i in mine} == {item["id"], course["id"]}
    jobs = ok(
        world.client.get("/v1/sync/catalogue", headers=bearer(token), params={"kind": "job", "region": 6203})
    )
    assert [i["id"] for i in jobs["items"]] == [elsewhere["id"]]
    # registered offline at a kiosk, uploaded twice (and once more in the same batch)
    interest = {
        "interest_id": "kiosk-1:0001",
        "item_id": item["id"],
        "card_serial": serial,
        "registered_at": T0,
    }
    body = {
        "interests": [interest, interest, {**interest, "interest_id": "kiosk-1:0002", "item_id": "JOB-X"}]
    }
    out = ok(world.client.post("/v1/sync/interests", headers=bearer(token), json=body))
    assert [r["result"] for r in out["results"]] == ["stored", "duplicate", "rejected"]
    assert out["results"][2]["reason"] == "unknown_item"
    out = ok(world.client.post("/v1/sync/interests", headers=bearer(token), json={"interests": [interest]}))
    assert out["duplicate"] == 1
    # the owning agency sees it (masked NIK); another agency does not
    seen = ok(world.client.get("/v1/admin/interests", headers=naker))["interests"]
    assert [(i["item_id"], i["holder_nik"]) for i in seen] == [(item["id"], "6271********0001")]
    assert ok(world.client.get("/v1/admin/interests", headers=kop))["interests"] == []


def test_failures_and_voids(world: World) -> None:
    token = world.terminal()
    world.citizen("6271010101900001", decile=1)
    card = CardUnderTest.blank()
    world.station().issue(card.connection, nik="6271010101900001", pin=PIN)
    tx = card.debit(c.Program.BLT, 50_000, when=T0 + 10)
    item = upload_item(tx)
    ok(world.client.post("/v1/sync/redemptions", headers=bearer(token), json={"records": [item]}))
    failure = {
        "event_id": "f-1",
        "occurred_at": T0 + 5,
        "reason": "pin_blocked",
        "program": 1,
        "detail": "3x",
    }
    out = ok(
        world.client.post("/v1/sync/failures", headers=bearer(token), json={"events": [failure, failure]})
    )
    assert [r["result"] for r in out["results"]] == ["stored", "duplicate"]
    void = {
        "void_id": "v-1",
        "ledger_id": item["ledger_id"],
        "reason": "beras habis",
        "clerk_id": "k1",
        "created_at": T0 + 20,
    }
    unknown = {**void, "void_id": "v-2", "ledger_id": "nope"}
    out = ok(world.client.post("/v1/sync/voids", headers=bearer(token), json={"voids": [void, unknown]}))
    assert [(r["result"], r["reason"]) for r in out["results"]] == [
        ("stored", None),
        ("rejected", "unknown_record"),
    ]
    assert (
        ok(world.client.post("/v1/sync/voids", headers=bearer(token), json={"voids": [void]}))["duplicate"]
        == 1
    )
    figures = ok(world.client.get("/v1/transparency"))
    blt = next(r for r in figures["programs"] if r["program"] == 1 and r["month"] == "2026-03")
    assert blt["redemptions"] == 0 and blt["refusals"] == {"pin_blocked": 1}


@pytest.mark.parametrize("path", ["/v1/sync/redemptions", "/v1/sync/failures", "/v1/sync/interests"])
def test_broken_batches_are_4xx(world: World, path: str) -> None:
    token = world.terminal()
    for body in (b"not json", b"[]", b'{"records": [{"record_id": 1}]}', b'{"events": "x"}', b"{}"):
        r = world.client.post(
            path, headers={**bearer(token), "Content-Type": "application/json"}, content=body
        )
        assert 400 <= r.status_code < 500, (body, r.text)
        assert "error" in r.json()


def test_client_is_closed_cleanly(client: TestClient) -> None:
    assert ok(client.get("/health"))["status"] == "ok"

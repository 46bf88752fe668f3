"""Terminal scope: a terminal of another regency, with valid credentials, tries every terminal-facing
endpoint on what is not its own — records another terminal made, its voids, another region's pending
updates and acknowledgements, interests for cards it never saw. Each is refused (per item, or 403) and
audited; what is stored stays as it was."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from card_applet_spec import constants as c
from tests.server.conftest import ADMIN, T0, World, bearer, ok
from tests.server.helpers import PIN, CardUnderTest, b64, upload_item

#: The order of P-256 (a second valid signature of a record is (r, n - s)).
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
HOME = "T6271001"  # Kota Palangka Raya
OTHER = "T6203001"  # Kapuas, another regency


def _setup(world: World) -> tuple[str, str, CardUnderTest]:
    home = world.terminal(HOME, region=6271)
    other = world.terminal(OTHER, region=6203)
    world.citizen("6271010101900001", decile=1, occupation="unemployed")
    card = CardUnderTest.blank()
    card.serial = world.station().issue(card.connection, nik="6271010101900001", pin=PIN).serial
    return home, other, card


def _records(world: World, token: str, *items: dict[str, Any]) -> list[tuple[str, str | None]]:
    out = ok(world.client.post("/v1/sync/redemptions", headers=bearer(token), json={"records": list(items)}))
    return [(r["result"], r["reason"]) for r in out["results"]]


def _audit(world: World, action: str) -> list[dict[str, Any]]:
    entries = ok(world.client.get("/v1/admin/audit", headers=ADMIN))["entries"]
    return [e for e in entries if e["action"] == action]


def _blt_remaining(world: World, serial: str) -> int:
    view = ok(world.client.get(f"/v1/admin/cards/{serial}", headers=ADMIN))
    return int(next(e for e in view["entitlements"] if e["program"] == c.Program.BLT)["remaining"])


def _malleated(signature: bytes) -> bytes:
    r, s = decode_dss_signature(signature)
    return encode_dss_signature(r, P256_N - s)


def test_a_terminal_uploads_only_its_own_records_and_never_rewrites_a_stored_one(world: World) -> None:
    home, other, card = _setup(world)
    mine = upload_item(card.debit(c.Program.BLT, 100_000, terminal=HOME, when=T0 + 60))
    # another regency's terminal uploads the home terminal's record as its own: refused, not stored
    assert _records(world, other, mine) == [("rejected", "foreign_terminal")]
    assert _blt_remaining(world, card.serial) == 300_000
    [entry] = _audit(world, "sync.records_refused")
    assert entry["actor"] == f"terminal:{OTHER}"
    assert entry["detail"]["foreign_terminal"]["records"] == [mine["record_id"]]
    assert _records(world, home, mine) == [("stored", None)]
    assert _blt_remaining(world, card.serial) == 200_000
    # re-uploads are verified: an all-zero signature with voided=true never voids (neither terminal)
    zero_void = {**mine, "signature": b64(bytes(72)), "voided": True, "void_reason": "x"}
    assert _records(world, other, zero_void) == [("rejected", "foreign_terminal")]
    assert _records(world, home, zero_void) == [("rejected", "bad_signature")]
    # a second valid signature (r, n - s) over the stored record, or voided=true, is not the upload stored
    twin = {**mine, "signature": b64(_malleated(base64.b64decode(mine["signature"])))}
    assert _records(world, home, twin) == [("rejected", "differs_from_stored")]
    assert _records(world, home, {**mine, "voided": True}) == [("rejected", "differs_from_stored")]
    # ... nor is a second copy in one batch that differs from the first
    fresh = upload_item(card.debit(c.Program.BLT, 1_000, terminal=HOME, when=T0 + 120))
    bad_copy = {**fresh, "signature": b64(bytes(72)), "voided": True}
    assert _records(world, home, fresh, bad_copy, fresh) == [
        ("stored", None),
        ("rejected", "differs_from_stored"),
        ("duplicate", None),
    ]
    # the very same upload again is a duplicate; nothing above voided anything
    assert _records(world, home, mine) == [("duplicate", None)]
    assert _blt_remaining(world, card.serial) == 199_000
    # the card taps at the other regency's terminal: that record is the other terminal's own
    there = upload_item(
        card.debit(c.Program.BLT, 1_000, terminal=OTHER, when=T0 + 3 * 3600)
    )  # hours later: not "two places"
    assert _records(world, other, there) == [("stored", None)]
    assert _records(world, home, there) == [("rejected", "foreign_terminal")]


def test_a_terminal_voids_only_records_it_made(world: World) -> None:
    home, other, card = _setup(world)
    mine = upload_item(card.debit(c.Program.BLT, 100_000, terminal=HOME, when=T0 + 60))
    assert _records(world, home, mine) == [("stored", None)]
    void = {
        "void_id": "v-other-1",
        "ledger_id": mine["ledger_id"],
        "record_id": mine["record_id"],
        "reason": "dibatalkan",
        "clerk_id": "k9",
        "created_at": T0 + 90,
    }
    by_ledger = {**void, "void_id": "v-other-2", "record_id": None}
    out = ok(world.client.post("/v1/sync/voids", headers=bearer(other), json={"voids": [void, by_ledger]}))
    assert [(r["result"], r["reason"]) for r in out["results"]] == [
        ("rejected", "not_own_record"),
        ("rejected", "unknown_record"),  # ledger ids are looked up among the caller's own uploads
    ]
    assert _blt_remaining(world, card.serial) == 200_000
    [entry] = _audit(world, "sync.voids_refused")
    assert entry["actor"] == f"terminal:{OTHER}" and entry["detail"]["records"] == [mine["record_id"]]
    # the terminal that made it may void it (by record id or by its ledger id)
    out = ok(world.client.post("/v1/sync/voids", headers=bearer(home), json={"voids": [void]}))
    assert [(r["result"], r["reason"]) for r in out["results"]] == [("stored", None)]
    assert _blt_remaining(world, card.serial) == 300_000


def test_pending_updates_and_acknowledgements_stay_in_scope(world: World) -> None:
    home, other, card = _setup(world)
    dinsos = world.clerk("dewi", "agency_admin", "DINSOS")
    window = {"valid_from": T0 + 30 * 86400, "valid_until": T0 + 60 * 86400}
    assert ok(world.client.post("/v1/admin/programs/1/grants", headers=dinsos, json=window))["created"] == 1
    ok(world.client.post(f"/v1/admin/cards/{card.serial}/suspend", headers=ADMIN, json={"reason": "dicek"}))
    # another region's pending updates: 403, audited (the refusal is kept though the request failed)
    r = world.client.get("/v1/sync/pending", headers=bearer(other), params={"region": 6271})
    assert r.status_code == 403 and r.json()["error"]["code"] == "out_of_scope"
    [entry] = _audit(world, "sync.pending_refused")
    assert entry["actor"] == f"terminal:{OTHER}" and entry["target"] == "region:6271"
    own = ok(world.client.get("/v1/sync/pending", headers=bearer(other), params={"region": 6203}))
    assert own == {"grants": [], "status_commands": []}
    assert ok(world.client.get("/v1/sync/pending", headers=bearer(other))) == own
    # by serial: any card (a card may tap anywhere)
    by_serial = ok(
        world.client.get("/v1/sync/pending", headers=bearer(other), params={"serials": card.serial})
    )
    [grant] = by_serial["grants"]
    [command] = by_serial["status_commands"]
    # ... but acknowledging needs a card the terminal has seen: nothing is acknowledged, audited
    ack = {"grants": [grant["id"], grant["id"] + 1, 10**9], "status_commands": [command["id"]]}
    assert ok(world.client.post("/v1/sync/pending/ack", headers=bearer(other), json=ack)) == {
        "grants": 0,
        "status_commands": 0,
    }
    [entry] = _audit(world, "sync.ack_refused")
    assert entry["detail"]["grants"] == [grant["id"]] and entry["detail"]["status_commands"] == [
        command["id"]
    ]
    home_view = ok(world.client.get("/v1/sync/pending", headers=bearer(home)))
    assert [g["id"] for g in home_view["grants"]] == [grant["id"]]
    assert [s["id"] for s in home_view["status_commands"]] == [command["id"]]
    # once the card signed a record at the other terminal, that terminal may acknowledge its updates
    ok(world.client.post(f"/v1/admin/cards/{card.serial}/reinstate", headers=ADMIN, json={"reason": "ok"}))
    there = upload_item(
        card.debit(c.Program.BLT, 1_000, terminal=OTHER, when=T0 + 3 * 3600)
    )  # hours later: not "two places"
    assert _records(world, other, there) == [("stored", None)]
    assert ok(world.client.post("/v1/sync/pending/ack", headers=bearer(other), json=ack)) == {
        "grants": 1,
        "status_commands": 1,
    }
    assert ok(world.client.get("/v1/sync/pending", headers=bearer(home)))["grants"] == []


def test_the_home_terminal_acknowledges_its_regions_updates(world: World) -> None:
    home, _other, card = _setup(world)
    ok(world.client.post(f"/v1/admin/cards/{card.serial}/suspend", headers=ADMIN, json={"reason": "dicek"}))
    [command] = ok(world.client.get("/v1/sync/pending", headers=bearer(home)))["status_commands"]
    ack = {"status_commands": [command["id"]]}
    assert (
        ok(world.client.post("/v1/sync/pending/ack", headers=bearer(home), json=ack))["status_commands"] == 1
    )
    assert _audit(world, "sync.ack_refused") == []


def test_interests_only_for_cards_the_terminal_has_seen(world: World) -> None:
    home, other, card = _setup(world)
    naker = world.clerk("kerja", "agency_admin", "DISNAKERTRANS")
    job = {
        "kind": "job",
        "region": 6203,
        "title": "Operator alat berat",
        "organisation": "PT Sawit Makmur",
        "location": "Kuala Kapuas",
        "slots": 5,
        "opens_on": "2026-03-01",
        "closes_on": "2026-04-30",
    }
    item = ok(world.client.post("/v1/admin/catalogue", headers=naker, json=job), 201)
    interest = {
        "interest_id": "kapuas:0001",
        "item_id": item["id"],
        "card_serial": card.serial,
        "registered_at": T0,
    }
    out = ok(world.client.post("/v1/sync/interests", headers=bearer(other), json={"interests": [interest]}))
    assert [(r["result"], r["reason"]) for r in out["results"]] == [("rejected", "card_not_seen")]
    [entry] = _audit(world, "sync.interests_refused")
    assert entry["actor"] == f"terminal:{OTHER}" and entry["detail"]["interests"] == ["kapuas:0001"]
    assert ok(world.client.get("/v1/admin/interests", headers=naker))["interests"] == []
    # the card's own region's terminal may; and so may the other once the card signed a record there
    home_interest = {**interest, "interest_id": "palangka:0001"}
    out = ok(
        world.client.post("/v1/sync/interests", headers=bearer(home), json={"interests": [home_interest]})
    )
    assert out["stored"] == 1
    there = upload_item(card.debit(c.Program.BLT, 1_000, terminal=OTHER, when=T0 + 60))
    assert _records(world, other, there) == [("stored", None)]
    out = ok(world.client.post("/v1/sync/interests", headers=bearer(other), json={"interests": [interest]}))
    assert out["stored"] == 1


def test_failure_events_are_filed_under_the_uploading_terminal(world: World) -> None:
    """Failure events carry no terminal id of their own: the server files them under the caller (they
    are the terminal's own word, so they never put a card in a terminal's scope)."""
    _home, other, card = _setup(world)
    event = {
        "event_id": "f-1",
        "occurred_at": T0,
        "reason": "pin_blocked",
        "program": 1,
        "card_serial": card.serial,
    }
    assert (
        ok(world.client.post("/v1/sync/failures", headers=bearer(other), json={"events": [event]}))["stored"]
        == 1
    )
    interest_item = ok(
        world.client.post(
            "/v1/admin/catalogue",
            headers=world.clerk("kerja", "agency_admin", "DISNAKERTRANS"),
            json={
                "kind": "job",
                "region": 6203,
                "title": "Juru tulis",
                "organisation": "Kecamatan",
                "location": "Kuala Kapuas",
                "slots": 1,
                "opens_on": "2026-03-01",
                "closes_on": "2026-04-30",
            },
        ),
        201,
    )
    interest = {
        "interest_id": "k:1",
        "item_id": interest_item["id"],
        "card_serial": card.serial,
        "registered_at": T0,
    }
    out = ok(world.client.post("/v1/sync/interests", headers=bearer(other), json={"interests": [interest]}))
    assert out["results"][0]["reason"] == "card_not_seen"

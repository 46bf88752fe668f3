"""Redemption ingest: stored exactly once, signatures verified, clones / replays / two places flagged;
transparency figures; receipt verification."""

from __future__ import annotations

from base64 import b64decode
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from province.receipt_qr import ReceiptKind, encode_qr_payload
from server_stub.keys import KeyRing
from tests.server.conftest import ADMIN, T0, World, bearer, ok
from tests.server.helpers import PIN, CardUnderTest, b64, forge, rid, upload_item
from tests.support.world import receipt_signer


def _issued(world: World, nik: str = "6271010101900001", seed: int = 1) -> tuple[CardUnderTest, str]:
    world.citizen(nik, decile=1)
    card = CardUnderTest.blank(seed)
    card.serial = world.station().issue(card.connection, nik=nik, pin=PIN).serial
    return card, card.serial


def _clone_key(card: CardUnderTest) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(card.card.state.private_scalar, "big"), ec.SECP256R1())


def _upload(world: World, token: str, *items: dict[str, Any], **changes: Any) -> dict[str, Any]:
    client = world.client if not changes else None
    assert client is not None
    return ok(client.post("/v1/sync/redemptions", headers=bearer(token), json={"records": list(items)}))  # type: ignore[no-any-return]


def test_records_are_stored_once_and_verified(world: World) -> None:
    token = world.terminal()
    card, serial = _issued(world)
    t1 = card.debit(c.Program.BLT, 100_000, when=T0 + 60)
    t2 = card.debit(c.Program.SEMBAKO, 2_000, when=T0 + 120)
    out = _upload(world, token, upload_item(t1), upload_item(t2), upload_item(t1))
    assert [r["result"] for r in out["results"]] == ["stored", "stored", "duplicate"]
    assert (out["stored"], out["duplicate"], out["flagged"], out["rejected"]) == (2, 1, 0, 0)
    out = _upload(world, token, upload_item(t2))
    assert out["results"] == [
        {"record_id": upload_item(t2)["record_id"], "result": "duplicate", "reason": None, "flags": []}
    ]
    view = ok(world.client.get(f"/v1/admin/cards/{serial}", headers=ADMIN))
    assert next(e for e in view["entitlements"] if e["program"] == 1)["remaining"] == 200_000


def test_rejections_name_their_reason(world: World) -> None:
    token = world.terminal()
    card, serial = _issued(world)
    good = upload_item(card.debit(c.Program.BLT, 1_000, when=T0 + 60))
    tampered_sig = bytearray(__import__("base64").b64decode(good["signature"]))
    tampered_sig[-1] ^= 1
    other_card, _ = _issued(world, "6271014708900002", seed=2)
    foreign = upload_item(other_card.debit(c.Program.BLT, 1_000, when=T0 + 60))
    stranger = forge(ec.generate_private_key(ec.SECP256R1()), serial=bytes(8), counter=1, amount=1, when=T0)
    items = [
        {**good, "signature": b64(bytes(tampered_sig))},
        {**good, "record_id": "0" * 32},
        {**good, "card_serial": "6271000000000000"},
        {**good, "terminal_id": "T0000000"},
        {**good, "record": b64(b"short")},
        {**good, "record": "@@@@"},
        {**foreign, "signature": good["signature"]},
        stranger,
    ]
    out = _upload(world, token, *items)
    assert [(r["result"], r["reason"]) for r in out["results"]] == [
        ("rejected", "bad_signature"),
        ("rejected", "record_id_mismatch"),
        ("rejected", "field_mismatch"),
        ("rejected", "field_mismatch"),
        ("rejected", "malformed_record"),
        ("rejected", "malformed_record"),
        ("rejected", "bad_signature"),
        ("rejected", "unknown_card"),
    ]
    # a forger who signs a record for a real card with another key is refused too
    forged = forge(
        ec.generate_private_key(ec.SECP256R1()), serial=bytes.fromhex(serial), counter=2, amount=1, when=T0
    )
    assert _upload(world, token, forged)["results"][0]["reason"] == "bad_signature"
    assert _upload(world, token, good)["stored"] == 1


def test_records_the_card_contract_does_not_accept_are_malformed_even_when_signed(world: World) -> None:
    """A 47-byte record with another format version or transaction type (``TxRecord.unpack`` refuses
    it, as ``decode`` does) is refused before anything else, whoever signed it."""
    token = world.terminal()
    card, serial = _issued(world)
    key = _clone_key(card)
    good = b64decode(forge(key, serial=bytes.fromhex(serial), counter=1, amount=1, when=T0 + 60)["record"])
    items = []
    for offset, value in ((0, 2), (0, 0), (1, 0), (1, 3), (1, 0xFF)):
        body = bytearray(good)
        body[offset] = value
        signature = key.sign(c.DOMAIN_TX + bytes(body), ec.ECDSA(hashes.SHA256()))
        items.append(
            {
                "record_id": rid(bytes(body)),
                "record": b64(bytes(body)),
                "signature": b64(signature),
                "card_serial": serial,
                "terminal_id": "T6271001",
            }
        )
    out = _upload(world, token, *items)
    assert [(r["result"], r["reason"]) for r in out["results"]] == [("rejected", "malformed_record")] * 5
    assert ok(world.client.get("/v1/admin/flags?open=false", headers=ADMIN))["flags"] == []


def test_clone_same_counter_other_content_is_flagged(world: World) -> None:
    token = world.terminal()
    card, serial = _issued(world)
    real = card.debit(c.Program.BLT, 100_000, when=T0 + 60)
    assert _upload(world, token, upload_item(real))["stored"] == 1
    clone = forge(
        _clone_key(card), serial=bytes.fromhex(serial), counter=1, amount=250_000, when=T0 + 90, nonce=77
    )
    out = _upload(world, token, clone)
    assert out["results"][0]["result"] == "flagged"
    # the same counter signed twice, and 250,000 on top of the 100,000 spent of a 300,000 grant
    assert out["results"][0]["flags"] == ["counter_conflict", "amount_exceeds_grant"]
    flags = ok(world.client.get("/v1/admin/flags", headers=ADMIN))["flags"]
    assert [f["kind"] for f in flags] == ["counter_conflict", "amount_exceeds_grant"]
    flag = flags[0]
    assert (flag["kind"], flag["card_serial"], flag["other_record_id"]) == (
        "counter_conflict",
        serial,
        upload_item(real)["record_id"],
    )
    # reviewed and resolved by a card officer
    officer = world.clerk("anton", "card_officer")
    resolved = ok(
        world.client.post(
            f"/v1/admin/flags/{flag['id']}/resolve", headers=officer, json={"note": "diperiksa"}
        )
    )
    assert resolved["resolved"] is True and resolved["resolved_by"] == "clerk:anton"
    assert [f["kind"] for f in ok(world.client.get("/v1/admin/flags", headers=officer))["flags"]] == [
        "amount_exceeds_grant"
    ]
    # without auto-suspend the card stays active
    assert ok(world.client.get(f"/v1/admin/cards/{serial}", headers=ADMIN))["state"] == "active"


def test_counters_running_backwards_in_time_are_flagged(world: World) -> None:
    world.clock.advance(5 * 86400)  # the records below are from the days before now
    token = world.terminal()
    card, serial = _issued(world)
    key = _clone_key(card)
    late = forge(key, serial=bytes.fromhex(serial), counter=5, amount=1, when=T0 + 86400, nonce=1)
    early_but_higher = forge(key, serial=bytes.fromhex(serial), counter=9, amount=1, when=T0 + 3600, nonce=2)
    in_order = forge(key, serial=bytes.fromhex(serial), counter=10, amount=1, when=T0 + 2 * 86400, nonce=3)
    assert _upload(world, token, late)["stored"] == 1
    out = _upload(world, token, early_but_higher, in_order)
    assert [r["flags"] for r in out["results"]] == [["counter_regression"], []]
    # an offline terminal uploading an older record late is no regression (counter and time agree)
    older = forge(key, serial=bytes.fromhex(serial), counter=3, amount=1, when=T0 + 600, nonce=4)
    assert _upload(world, token, older)["results"][0]["result"] == "stored"


def test_one_card_in_two_places_is_flagged_and_can_auto_suspend(world: World, make_client: Any) -> None:
    world.clock.advance(5 * 86400)  # the records below are from the days before now
    palangka = world.terminal("T6271001", region=6271)
    murung = world.terminal("T6212001", region=6212)  # Murung Raya, a day's travel away
    card, serial = _issued(world)
    here = card.debit(c.Program.BLT, 1_000, terminal="T6271001", when=T0)
    there = card.debit(c.Program.BLT, 1_000, terminal="T6212001", when=T0 + 1800)
    later = card.debit(c.Program.BLT, 1_000, terminal="T6212001", when=T0 + 3 * 86400)
    assert _upload(world, palangka, upload_item(here))["results"][0]["flags"] == []
    out = _upload(world, murung, upload_item(there), upload_item(later))
    assert [r["flags"] for r in out["results"]] == [["two_places"], []]
    # a record made by another terminal (enrolled or not) is refused: each terminal uploads its own
    unknown = card.debit(c.Program.BLT, 1_000, terminal="X0000001", when=T0 + 4 * 86400)
    assert _upload(world, palangka, upload_item(unknown))["results"][0]["reason"] == "foreign_terminal"
    # with auto-suspend, a clone suspends the card: status change + block command
    strict = make_client(auto_suspend_on_flag=True)
    clone = forge(
        _clone_key(card), serial=bytes.fromhex(serial), counter=2, amount=5, when=T0 + 1900, nonce=9
    )
    out = ok(strict.post("/v1/sync/redemptions", headers=bearer(palangka), json={"records": [clone]}))
    assert "counter_conflict" in out["results"][0]["flags"]
    view = ok(strict.get(f"/v1/admin/cards/{serial}", headers=ADMIN))
    assert view["state"] == "suspended" and view["state_reason"].startswith("automatic: counter_conflict")
    [cmd] = ok(strict.get("/v1/sync/pending", headers=bearer(palangka)))["status_commands"]
    assert cmd["new_state"] == c.LifeCycle.BLOCKED


def test_impossible_records_are_flagged_and_never_published(world: World) -> None:
    """A forger with a card's key (a clone) signs records from the year 2106 or for programme 200 with
    the largest amount: kept as evidence, flagged, and never in the public figures."""
    token = world.terminal()
    card, serial = _issued(world)
    key, raw_serial = _clone_key(card), bytes.fromhex(serial)
    real = upload_item(card.debit(c.Program.BLT, 50_000, when=T0 + 120))
    assert _upload(world, token, real)["stored"] == 1
    future = forge(key, serial=raw_serial, counter=50, amount=100_000, when=4_291_747_200, nonce=1)  # 2106
    strange = forge(key, serial=raw_serial, counter=60, amount=2**32 - 1, when=T0 + 60, program=200, nonce=2)
    out = _upload(world, token, future, strange)
    first, second = out["results"][:2]
    assert first["result"] == "flagged" and "implausible_time" in first["flags"]
    assert second["result"] == "flagged" and "unknown_program" in second["flags"]
    figures = ok(world.client.get("/v1/transparency"))
    assert [
        (r["program"], r["redemptions"], r["amount"]) for r in figures["programs"] if r["redemptions"]
    ] == [(1, 1, 50_000)]
    assert "2106" not in str(figures)


def test_transparency_has_figures_and_no_personal_data(world: World) -> None:
    token = world.terminal()
    card, serial = _issued(world)
    _upload(world, token, upload_item(card.debit(c.Program.BLT, 100_000, when=T0 + 60)))
    _upload(world, token, upload_item(card.debit(c.Program.BLT, 50_000, when=T0 + 120)))
    ok(
        world.client.post(
            "/v1/sync/failures",
            headers=bearer(token),
            json={
                "events": [
                    {
                        "event_id": "e1",
                        "occurred_at": T0,
                        "reason": "insufficient_balance",
                        "program": 1,
                        "card_serial": serial,
                    },
                ]
            },
        )
    )
    figures = ok(world.client.get("/v1/transparency", params={"year": 2026}))
    assert figures["cards"] == [
        {"region": 6271, "region_name": "Kota Palangka Raya", "month": "2026-03", "cards_issued": 1}
    ]
    blt = next(r for r in figures["programs"] if r["program"] == 1)
    assert (
        blt["region"],
        blt["month"],
        blt["beneficiaries"],
        blt["redemptions"],
        blt["amount"],
        blt["unit"],
    ) == (
        6271,
        "2026-03",
        1,
        2,
        150_000,
        "rupiah",
    )
    assert blt["refusals"] == {"insufficient_balance": 1}
    page = world.client.get("/transparency")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Kota Palangka Raya" in page.text and "Rp 150.000" in page.text
    for text in (page.text, str(figures)):
        assert "6271010101900001" not in text and serial not in text and "Warga Uji" not in text
    assert ok(world.client.get("/v1/transparency", params={"year": 2025}))["programs"] == []


def test_receipt_verification(world: World) -> None:
    token = world.terminal()
    card, serial = _issued(world)
    tx = card.debit(c.Program.BLT, 100_000, when=T0 + 60)
    credential = card.session().read_credential()
    home_made = encode_qr_payload(credential, tx.record_bytes, tx.signature)  # card-signed only
    verdict = ok(world.client.post("/v1/receipts/verify", json={"payload": home_made}))
    assert (verdict["verdict"], verdict["reason"]) == ("invalid", "terminal_unsigned")
    counter = receipt_signer(
        tx.record.terminal_id.decode(), issuer=KeyRing(world.settings.key_seed).issuer(1)
    )
    attestation = counter.attest(ReceiptKind.RECEIPT, tx.record_bytes, tx.signature)
    payload = encode_qr_payload(credential, tx.record_bytes, tx.signature, attestation)
    verdict = ok(world.client.post("/v1/receipts/verify", json={"payload": payload}))
    assert verdict["verdict"] == "not_uploaded" and verdict["record"]["amount"] == 100_000
    _upload(world, token, upload_item(tx))
    verdict = ok(world.client.post("/v1/receipts/verify", json={"payload": payload}))
    assert verdict["verdict"] == "valid" and verdict["record"]["card_serial"] == serial
    assert "nik" not in str(verdict).lower() and "Warga" not in str(verdict)
    tampered = encode_qr_payload(credential, tx.record_bytes[:-1] + b"\x00", tx.signature, attestation)
    assert ok(world.client.post("/v1/receipts/verify", json={"payload": tampered}))["verdict"] == "invalid"
    assert ok(world.client.post("/v1/receipts/verify", json={"payload": "hello"}))["verdict"] == "malformed"
    assert world.client.post("/v1/receipts/verify", json={}).status_code == 422

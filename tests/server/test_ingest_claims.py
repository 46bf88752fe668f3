"""Ingest checks what a record claims against what the province issued: the card's state at the
record's time (its status history), the credential's expiry, and the grant the record names (issued to
that card, its window, its kind, its amount). Flagged records are kept as evidence and never published."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from tests.server.conftest import ADMIN, T0, World, bearer, ok
from tests.server.helpers import PIN, CardUnderTest, forge, upload_item

BLT_GRANT = 300_000  # the demo BLT grant a decile-1 citizen gets at issuance (grant_seq 1, March 2026)


def _issued(world: World, nik: str = "6271010101900001", seed: int = 1) -> CardUnderTest:
    world.citizen(nik, decile=1)
    card = CardUnderTest.blank(seed)
    card.serial = world.station().issue(card.connection, nik=nik, pin=PIN).serial
    return card


def _key(card: CardUnderTest) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(card.card.state.private_scalar, "big"), ec.SECP256R1())


def _upload(world: World, token: str, *items: dict[str, Any]) -> list[dict[str, Any]]:
    body = ok(world.client.post("/v1/sync/redemptions", headers=bearer(token), json={"records": list(items)}))
    return body["results"]  # type: ignore[no-any-return]


def _set_state(world: World, serial: str, verb: str) -> None:
    ok(world.client.post(f"/v1/admin/cards/{serial}/{verb}", headers=ADMIN, json={"reason": "test"}))


def _published(world: World) -> list[tuple[int, int, int]]:
    figures = ok(world.client.get("/v1/transparency"))
    return [(r["program"], r["redemptions"], r["amount"]) for r in figures["programs"] if r["redemptions"]]


def test_a_record_made_after_the_revocation_is_flagged_one_made_before_is_not(world: World) -> None:
    token = world.terminal()
    card = _issued(world)
    before = card.debit(c.Program.BLT, 10_000, when=T0 + 60)  # an offline terminal, uploaded late
    world.clock.advance(3600)
    _set_state(world, card.serial, "revoke")
    after = card.debit(c.Program.BLT, 20_000, when=T0 + 7200)  # the card itself never heard of it
    results = _upload(world, token, upload_item(before), upload_item(after))
    assert [(r["result"], r["flags"]) for r in results] == [("stored", []), ("flagged", ["card_revoked"])]
    [flag] = ok(world.client.get("/v1/admin/flags", headers=ADMIN))["flags"]
    assert flag["kind"] == "card_revoked" and f"since {T0 + 3600}" in flag["detail"]
    assert _published(world) == [(1, 1, 10_000)]


def test_a_record_made_while_suspended_is_flagged_not_after_the_reinstatement(world: World) -> None:
    token = world.terminal()
    card = _issued(world)
    world.clock.advance(600)
    _set_state(world, card.serial, "suspend")  # at T0 + 600
    world.clock.advance(600)
    _set_state(world, card.serial, "reinstate")  # at T0 + 1200
    during = card.debit(c.Program.BLT, 1_000, when=T0 + 900)
    later = card.debit(c.Program.BLT, 2_000, when=T0 + 1800)
    results = _upload(world, token, upload_item(during), upload_item(later))
    assert [(r["result"], r["flags"]) for r in results] == [("flagged", ["card_suspended"]), ("stored", [])]


def test_a_record_after_the_credential_expired_is_flagged(world: World) -> None:
    token = world.terminal()
    card = _issued(world)
    expires_at = ok(world.client.get(f"/v1/admin/cards/{card.serial}", headers=ADMIN))["expires_at"]
    late = forge(_key(card), serial=bytes.fromhex(card.serial), counter=1, amount=1_000, when=expires_at + 1)
    [result] = _upload(world, token, late)
    assert result["result"] == "flagged" and "card_expired" in result["flags"]


def test_the_largest_amount_in_programme_1_is_flagged_and_never_published(world: World) -> None:
    token = world.terminal()
    card = _issued(world)
    real = upload_item(card.debit(c.Program.BLT, 50_000, when=T0 + 60))
    huge = forge(
        _key(card), serial=bytes.fromhex(card.serial), counter=2, amount=0xFFFFFFFF, when=T0 + 120, nonce=9
    )
    results = _upload(world, token, real, huge)
    assert [(r["result"], r["flags"]) for r in results] == [
        ("stored", []),
        ("flagged", ["amount_exceeds_grant"]),
    ]
    assert _published(world) == [(1, 1, 50_000)]


def test_debits_beyond_the_grant_are_flagged_across_uploads_and_in_one_batch(world: World) -> None:
    token = world.terminal()
    card = _issued(world)
    key, serial = _key(card), bytes.fromhex(card.serial)

    def debit(counter: int, amount: int, after: int) -> dict[str, Any]:
        return forge(
            key, serial=serial, counter=counter, amount=amount, when=T0 + counter, balance_after=after
        )

    # each claims a balance the grant could hold, together they spend more than it
    assert _upload(world, token, debit(1, 200_000, 100_000))[0]["result"] == "stored"
    results = _upload(world, token, debit(2, 100_000, 0), debit(3, 100_000, 200_000))
    assert [(r["result"], r["flags"]) for r in results] == [
        ("stored", []),
        ("flagged", ["amount_exceeds_grant"]),
    ]
    # a balance before the debit above the grant; a debit of nothing
    other = _issued(world, "6271014708900002", seed=2)
    key, serial = _key(other), bytes.fromhex(other.serial)
    results = _upload(
        world,
        token,
        forge(key, serial=serial, counter=1, amount=1, when=T0 + 1, balance_after=BLT_GRANT),
        forge(key, serial=serial, counter=2, amount=0, when=T0 + 2, balance_after=0),
    )
    assert [r["flags"] for r in results] == [["amount_exceeds_grant"], ["amount_exceeds_grant"]]


def test_a_record_must_name_a_grant_issued_to_that_card(world: World) -> None:
    token = world.terminal()
    card = _issued(world)
    _issued(world, "6271014708900002", seed=2)
    key, serial = _key(card), bytes.fromhex(card.serial)
    results = _upload(
        world,
        token,
        # grant 2 of BLT was never issued; programme 7 (teacher housing) is not this citizen's
        forge(key, serial=serial, counter=1, amount=1_000, when=T0 + 1, grant_seq=2, balance_after=1),
        forge(key, serial=serial, counter=2, amount=1_000, when=T0 + 2, program=c.Program.PERUMAHAN_GURU),
        # a programme the province does not run says so, without a second flag
        forge(key, serial=serial, counter=3, amount=0xFFFFFFFF, when=T0 + 3, program=200),
    )
    assert [r["flags"] for r in results] == [["unknown_grant"], ["unknown_grant"], ["unknown_program"]]


def test_a_record_outside_the_grant_or_of_the_wrong_kind_is_flagged(world: World) -> None:
    token = world.terminal()
    card = _issued(world)
    key, serial = _key(card), bytes.fromhex(card.serial)
    visit = card.debit(c.Program.KESEHATAN, 0, when=T0 + 60)  # a genuine check-in: stored
    world.clock.advance(40 * 86400)  # uploaded in April
    results = _upload(
        world,
        token,
        upload_item(visit),
        # the BLT grant of March 2026, debited in April
        forge(key, serial=serial, counter=2, amount=1_000, when=T0 + 30 * 86400, balance_after=1),
        # a DEBIT of an eligibility grant (health care has no balance: the card signs check-ins)
        forge(key, serial=serial, counter=3, amount=1, when=T0 + 31 * 86400, program=c.Program.KESEHATAN),
        # a check-in that moves an amount
        forge(
            key,
            serial=serial,
            counter=4,
            amount=5,
            when=T0 + 32 * 86400,
            program=c.Program.KESEHATAN,
            tx_type=c.TxType.CHECK_IN,
            balance_after=visit.record.balance_after,
        ),
    )
    assert [(r["result"], r["flags"]) for r in results] == [
        ("stored", []),
        ("flagged", ["grant_mismatch"]),
        ("flagged", ["grant_mismatch"]),
        ("flagged", ["amount_exceeds_grant"]),
    ]

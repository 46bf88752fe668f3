"""Card issuance at the station with in-process reference cards; lost/stolen reissue with the
remaining entitlements carried over; the old card revoked and blocked when it taps."""

from __future__ import annotations

import base64

import pytest

from card_applet_spec import constants as c
from card_applet_spec.credential import decode_credential, holder_commit, holder_ref, personal_details_digest
from kartu.issuance import BatchProgress, IssuanceError, IssueJob
from tests.server.conftest import ADMIN, T0, World, bearer, ok
from tests.server.helpers import PIN, CardUnderTest, upload_item


def test_issue_a_card(world: World) -> None:
    world.citizen("6271014708900002", name="Sari Dewi", occupation="farmer", decile=2)
    card = CardUnderTest.blank()
    result = world.station().issue(card.connection, nik="6271014708900002", pin=PIN)
    assert result.serial.startswith("6271")
    assert result.card.state == "active"
    # the card: operational, credential bound to its key and to the holder, grants loaded
    session = card.session()
    assert session.info is not None and session.info.life_cycle == c.LifeCycle.OPERATIONAL
    credential = decode_credential(session.read_credential())
    claims = credential.claims
    assert claims.card_serial.hex() == result.serial and claims.region == 6271
    assert claims.nik_masked == "6271********0002" and claims.name == "Sari Dewi"
    # the holder commitment opens only with the salt behind the PIN (SPEC §4.4)
    session.verify_pin(PIN, claims.card_key)
    data = session.read_personal_data()
    assert data.nik == "6271014708900002" and data.holder_salt is not None
    details = personal_details_digest(data.nik, data.birth_date, data.sex, data.kk_number)
    reference = holder_ref(data.nik, claims.card_serial)
    assert claims.holder_commit == holder_commit(data.holder_salt, reference, details)
    programs = {g.body.program for g in session.read_grants()}
    assert programs == {e.program for e in result.card.entitlements} and c.Program.BLT in programs
    # the server: the card with its key and entitlements, visible through HTTP
    view = ok(world.client.get(f"/v1/admin/cards/{result.serial}", headers=ADMIN))
    assert view["state"] == "active" and view["holder_nik"] == "6271014708900002"
    blt = next(e for e in view["entitlements"] if e["program"] == c.Program.BLT)
    assert (blt["amount"], blt["remaining"], blt["delivered"]) == (300_000, 300_000, True)
    citizen = ok(
        world.client.post("/v1/admin/citizens/lookup", headers=ADMIN, json={"nik": "6271014708900002"})
    )
    assert [k["serial"] for k in citizen["cards"]] == [result.serial]
    # a second card for the same citizen is refused: reissue instead
    with pytest.raises(IssuanceError) as err:
        world.station().issue(CardUnderTest.blank(2).connection, nik="6271014708900002", pin=PIN)
    assert err.value.code == "already_has_card"


def test_unknown_citizen_and_broken_card(world: World) -> None:
    with pytest.raises(IssuanceError) as err:
        world.station().issue(CardUnderTest.blank().connection, nik="6271010101900001", pin=PIN)
    assert err.value.code == "not_found"
    world.citizen("6271010101900001")
    card = CardUnderTest.blank()
    card.connection.close()  # the card left the reader
    with pytest.raises(IssuanceError) as err:
        world.station().issue(card.connection, nik="6271010101900001", pin=PIN)
    assert err.value.code == "card_error" and err.value.serial is not None
    # the reservation is marked failed; a new attempt with a good card works
    result = world.station().issue(CardUnderTest.blank(3).connection, nik="6271010101900001", pin=PIN)
    assert result.card.state == "active"


def test_batch_issuance_reports_progress(world: World) -> None:
    niks = ["6271010101900001", "6271014708900002", "6202030303800003"]
    for nik in niks:
        world.citizen(nik)
    seen: list[BatchProgress] = []
    jobs = [
        IssueJob(lambda i=i: CardUnderTest.blank(10 + i).connection, nik, PIN) for i, nik in enumerate(niks)
    ]
    jobs.append(
        IssueJob(lambda: CardUnderTest.blank(99).connection, "6271010101909999", PIN)
    )  # not registered
    outcomes = world.station().issue_batch(jobs, progress=seen.append)
    assert [p.done for p in seen] == [1, 2, 3, 4] and {p.total for p in seen} == {4}
    assert [p.ok for p in seen] == [True, True, True, False]
    assert seen[-1].error and "no citizen" in seen[-1].error
    assert [o.nik_masked for o in outcomes][:2] == ["6271********0001", "6271********0002"]
    assert all(o.result is not None for o in outcomes[:3]) and outcomes[3].error is not None


def test_reissue_carries_the_remaining_entitlements_over(world: World) -> None:
    nik = "6271014708900002"
    world.citizen(nik, occupation="farmer", decile=2)
    token = world.terminal("T6271001")
    old = CardUnderTest.blank(1)
    first = world.station().issue(old.connection, nik=nik, pin=PIN)
    # spend 100.000 of the 300.000 BLT and 4 kg of the 10 kg rice, upload the records
    t1 = old.debit(c.Program.BLT, 100_000, when=T0 + 60)
    t2 = old.debit(c.Program.SEMBAKO, 4_000, when=T0 + 120)
    body = {"records": [upload_item(t1), upload_item(t2)]}
    assert ok(world.client.post("/v1/sync/redemptions", headers=bearer(token), json=body))["stored"] == 2
    # the card is lost: a new card, new serial, what was left carried over, the old one revoked
    new = CardUnderTest.blank(2)
    result = world.station().reissue(new.connection, old_serial=first.serial, pin=PIN, reason="hilang (lost)")
    assert result.serial != first.serial and result.replaced == first.serial
    assert result.carried[c.Program.BLT] == 200_000 and result.carried[c.Program.SEMBAKO] == 6_000
    grants = {g.body.program: g.body for g in new.session().read_grants()}
    assert grants[c.Program.BLT].amount == 200_000 and grants[c.Program.SEMBAKO].amount == 6_000
    assert grants[c.Program.BLT].card_serial.hex() == result.serial
    old_view = ok(world.client.get(f"/v1/admin/cards/{first.serial}", headers=ADMIN))
    assert old_view["state"] == "revoked" and old_view["replaced_by"] == result.serial
    assert old_view["state_reason"] == "replaced: hilang (lost)"
    # the old card, when it taps somewhere, gets the issuer-signed TERMINATE command
    pending = ok(
        world.client.get("/v1/sync/pending", headers=bearer(token), params={"serials": first.serial})
    )
    [command] = pending["status_commands"]
    assert command["new_state"] == c.LifeCycle.TERMINATED
    old.session().set_status(
        command["new_state"],
        base64.b64decode(command["body"]),
        base64.b64decode(command["kid"]),
        base64.b64decode(command["signature"]),
    )
    assert old.card.state.life_cycle == c.LifeCycle.TERMINATED
    ack = {"status_commands": [command["id"]]}
    assert (
        ok(world.client.post("/v1/sync/pending/ack", headers=bearer(token), json=ack))["status_commands"] == 1
    )
    again = ok(world.client.get("/v1/sync/pending", headers=bearer(token), params={"serials": first.serial}))
    assert again["status_commands"] == []
    # records of the old card still verify after the reissue (the server keeps every card's key)
    t3 = upload_item(old.txs[0])
    assert (
        ok(world.client.post("/v1/sync/redemptions", headers=bearer(token), json={"records": [t3]}))[
            "duplicate"
        ]
        == 1
    )

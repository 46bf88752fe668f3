"""Agency scope: a programme's staff (an agency_admin) list and see their own programmes' beneficiaries,
eligibility and entitlements only; each endpoint is tried for another programme's people. Province-wide
roles (registrar, admin) see everyone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import ADMIN, World, ok
from tests.server.helpers import PIN, CardUnderTest

FARMER = "6271010101900001"  # household 1, decile 1: BLT (DINSOS), not teacher housing
TEACHER = "6271014708900002"  # household 1, decile 1: BLT and teacher housing (DISPERKIM)
RICH = "6271010101850003"  # household 2, decile 9: training only (DISKOPUKM)


@pytest.fixture
def people(world: World) -> dict[str, Any]:
    poor = world.household(6271, decile=1)
    rich = world.household(6271, decile=9)
    world.citizen(FARMER, kk=poor, occupation="farmer")
    world.citizen(TEACHER, kk=poor, occupation="teacher")
    world.citizen(RICH, kk=rich, occupation="farmer")
    return {
        "poor": poor,
        "rich": rich,
        "dinsos": world.clerk("dinsos", "agency_admin", "DINSOS"),
        "disperkim": world.clerk("disperkim", "agency_admin", "DISPERKIM"),
        "registrar": world.clerk("reg", "registrar"),
    }


def _search(world: World, headers: dict[str, str], **params: Any) -> Any:
    return world.client.get("/v1/admin/citizens", headers=headers, params=params)


def _names(body: dict[str, Any]) -> list[tuple[str, list[int]]]:
    return [(c["nik"][-4:], [e["program"] for e in c["eligibility"]]) for c in body["citizens"]]


def test_listing_shows_the_agency_its_own_beneficiaries_and_programmes(
    world: World, people: dict[str, Any]
) -> None:
    dinsos = ok(_search(world, people["dinsos"]))
    assert _names(dinsos) == [("0001", [1]), ("0002", [1])] and dinsos["total"] == 2
    housing = ok(_search(world, people["disperkim"]))
    assert _names(housing) == [("0002", [7])] and housing["total"] == 1
    assert _names(ok(_search(world, people["dinsos"], program=1))) == [("0001", [1]), ("0002", [1])]
    assert ok(_search(world, people["dinsos"], region=6271, limit=1))["total"] == 2
    # naming another agency's programme is refused
    for clerk, program in (("dinsos", 7), ("disperkim", 1), ("disperkim", 8)):
        r = _search(world, people[clerk], program=program)
        assert r.status_code == 403 and r.json()["error"]["code"] == "out_of_agency_scope", r.text
    # a province-wide role sees everyone and every programme
    everyone = ok(_search(world, people["registrar"]))
    assert everyone["total"] == 3 and 7 in _names(everyone)[1][1] and 8 in _names(everyone)[2][1]


def test_a_citizen_of_another_programme_is_not_there_for_the_agency(
    world: World, people: dict[str, Any]
) -> None:
    def lookup(clerk: str, nik: str) -> Any:
        return world.client.post("/v1/admin/citizens/lookup", headers=people[clerk], json={"nik": nik})

    for clerk, nik in (("disperkim", FARMER), ("disperkim", RICH), ("dinsos", RICH)):
        r = lookup(clerk, nik)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (clerk, nik, r.text)
    assert [e["program"] for e in ok(lookup("disperkim", TEACHER))["eligibility"]] == [7]
    assert [e["program"] for e in ok(lookup("dinsos", TEACHER))["eligibility"]] == [1]
    assert len(ok(lookup("registrar", TEACHER))["eligibility"]) > 2


def test_a_household_shows_the_agency_its_beneficiaries_only(world: World, people: dict[str, Any]) -> None:
    def lookup(clerk: str, kk: str) -> Any:
        return world.client.post("/v1/admin/households/lookup", headers=people[clerk], json={"kk_number": kk})

    housing = ok(lookup("disperkim", people["poor"]))
    assert [(m["nik"][-4:], [e["program"] for e in m["eligibility"]]) for m in housing["members"]] == [
        ("0002", [7])
    ]
    assert len(ok(lookup("dinsos", people["poor"]))["members"]) == 2
    for clerk in ("dinsos", "disperkim"):
        r = lookup(clerk, people["rich"])
        assert r.status_code == 404, r.text
    assert len(ok(lookup("registrar", people["rich"]))["members"]) == 1


def test_a_card_shows_the_agency_its_own_entitlements_only(world: World, people: dict[str, Any]) -> None:
    serials = {}
    for seed, nik in enumerate((FARMER, TEACHER, RICH), start=1):
        blank = CardUnderTest.blank(seed)
        serials[nik] = world.station().issue(blank.connection, nik=nik, pin=PIN).serial

    def card(clerk: str, nik: str) -> Any:
        return world.client.get(f"/v1/admin/cards/{serials[nik]}", headers=people[clerk])

    assert [e["program"] for e in ok(card("dinsos", FARMER))["entitlements"]] == [1]
    assert [e["program"] for e in ok(card("disperkim", TEACHER))["entitlements"]] == [7]
    for clerk, nik in (("disperkim", FARMER), ("dinsos", RICH), ("disperkim", RICH)):
        r = card(clerk, nik)
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_card", (clerk, nik, r.text)
    assert len(ok(card("registrar", TEACHER))["entitlements"]) > 2


def test_another_programme_cannot_be_changed_by_the_agency(world: World, people: dict[str, Any]) -> None:
    dinsos = people["dinsos"]
    refused = [
        world.client.post(
            "/v1/admin/citizens/eligibility",
            headers=dinsos,
            json={"nik": RICH, "program": 7, "eligible": True, "reason": "x"},
        ),
        world.client.patch("/v1/admin/programs/7", headers=dinsos, json={"amount": 1}),
        world.client.post(
            "/v1/admin/programs/7/grants", headers=dinsos, json={"valid_from": 1, "valid_until": 2}
        ),
        world.client.get("/v1/admin/flags", headers=dinsos),
    ]
    assert [r.status_code for r in refused] == [403] * 4, [r.text for r in refused]
    # its own programme: a new beneficiary, then seen
    view = ok(
        world.client.post(
            "/v1/admin/citizens/eligibility",
            headers=dinsos,
            json={"nik": RICH, "program": 1, "eligible": True, "reason": "verified poverty"},
        )
    )
    assert [e["program"] for e in view["eligibility"]] == [1]
    assert ok(_search(world, dinsos))["total"] == 3
    assert ok(world.client.get("/v1/admin/citizens", headers=ADMIN))["total"] == 3

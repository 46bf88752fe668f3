"""The citizen registry through HTTP: NIK validation with clear errors, households, roles and the
masked NIK, rule-based and manual eligibility."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import ADMIN, World, ok

VALID = [
    # (NIK, sex, birth date, region, district)
    ("6271010101900001", "L", "1990-01-01", 6271, 1),  # man, Palangka Raya
    ("6271014708900002", "P", "1990-08-07", 6271, 1),  # woman: day 07 + 40
    ("6201127112850003", "P", "1985-12-31", 6201, 12),  # woman born on the 31st
    ("6213052902000004", "L", "2000-02-29", 6213, 5),  # leap day
    ("6206 0315 0675 0005", "L", "1975-06-15", 6206, 3),  # spaces are ignored
]

INVALID = [
    ("62710101019000a1", "not_digits", "NIK must contain digits only"),
    ("627101010190001", "length", "NIK must have 16 digits, this one has 15"),
    ("62710101019000011", "length", "NIK must have 16 digits, this one has 17"),
    ("6371010101900001", "province", "NIK province 63 is not 62 (Kalimantan Tengah)"),
    ("6214010101900001", "region", "6214 is not a regency/city code of Kalimantan Tengah"),
    ("6270010101900001", "region", "6270 is not a regency/city code of Kalimantan Tengah"),
    ("6271000101900001", "district", "district (kecamatan) code 00 does not exist"),
    ("6271010113900001", "birth_month", "birth month 13 is impossible"),
    ("6271010100900001", "birth_month", "birth month 00 is impossible"),
    ("6271013201900001", "birth_day", "birth day 32 is impossible (women: day + 40)"),
    ("6271017201900001", "birth_day", "birth day 72 is impossible (women: day + 40)"),
    ("6271010001900001", "birth_day", "birth day 00 is impossible (women: day + 40)"),
    ("6271013002900001", "birth_date", "birth date 30-02-90 does not exist"),
    ("6271017102900001", "birth_date", "birth date 31-02-90 does not exist"),  # woman, 31 Feb
    ("6271012902010001", "birth_date", "birth date 29-02-01 does not exist"),
    ("6271010101900000", "serial", "serial number 0000 is not issued"),
]


@pytest.mark.parametrize(("nik", "sex", "born", "region", "district"), VALID)
def test_valid_nik(client: TestClient, nik: str, sex: str, born: str, region: int, district: int) -> None:
    body = ok(client.post("/v1/admin/nik/check", headers=ADMIN, json={"nik": nik}))
    assert body["valid"] is True
    assert (body["sex"], body["birth_date"], body["region"], body["district"]) == (
        sex,
        born,
        region,
        district,
    )
    digits = nik.replace(" ", "")
    assert body["masked"] == f"{digits[:4]}********{digits[-4:]}"


@pytest.mark.parametrize(("nik", "code", "message"), INVALID)
def test_invalid_nik_has_a_clear_message(client: TestClient, nik: str, code: str, message: str) -> None:
    for path, body in (
        ("/v1/admin/nik/check", {"nik": nik}),
        ("/v1/admin/citizens", {"nik": nik, "name": "X", "occupation": "farmer"}),
    ):
        r = client.post(path, headers=ADMIN, json=body)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error == {"code": "invalid_nik", "message": message, "nik_error": code}


def test_the_birth_century_is_the_one_in_the_past(client: TestClient) -> None:
    # the test clock is 2026-03-10: born 11-03-26 cannot be 2026 (future), so it is 1926, not refused
    r = client.post(
        "/v1/admin/citizens",
        headers=ADMIN,
        json={"nik": "6271011103260001", "name": "X", "occupation": "farmer"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["birth_date"] == "1926-03-11"


def test_citizen_registration_and_household(world: World) -> None:
    kk = world.household(6203, decile=2)
    man = world.citizen("6203050101800001", name="Budi  Santoso", kk=kk, occupation="fisher")
    woman = world.citizen("6203054505820002", name="Sari", kk=kk, occupation="housewife")
    assert man["name"] == "Budi Santoso"
    assert (man["sex"], woman["sex"]) == ("L", "P")
    assert man["region"] == 6203 and man["region_name"] == "Kabupaten Kapuas"
    # rules: decile 2 gets BLT and sembako; a fisher of 46 gets capital aid; not the teacher housing
    programs = {e["program"] for e in man["eligibility"]}
    assert {1, 2, 4, 6, 8} <= programs and 7 not in programs
    household = ok(world.client.post("/v1/admin/households/lookup", headers=ADMIN, json={"kk_number": kk}))
    assert [m["name"] for m in household["members"]] == ["Budi Santoso", "Sari"]
    # twice is a conflict, an unknown household is refused
    r = world.client.post(
        "/v1/admin/citizens",
        headers=ADMIN,
        json={"nik": "6203050101800001", "name": "B", "kk_number": kk, "occupation": "fisher"},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "citizen_exists"
    r = world.client.post(
        "/v1/admin/citizens",
        headers=ADMIN,
        json={
            "nik": "6203050101800009",
            "name": "B",
            "kk_number": "6203010101209999",
            "occupation": "fisher",
        },
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_household"


@pytest.mark.parametrize(
    ("kk", "message"),
    [
        ("62710101012000", "KK number must have 16 digits"),
        ("6371010101200001", "KK number province 63 is not 62 (Kalimantan Tengah)"),
        ("6299010101200001", "6299 is not a regency/city code of Kalimantan Tengah"),
        ("6271000101200001", "KK district (kecamatan) code 00 does not exist"),
    ],
)
def test_invalid_kk_number(client: TestClient, kk: str, message: str) -> None:
    r = client.post(
        "/v1/admin/households", headers=ADMIN, json={"kk_number": kk, "address": "-", "welfare_decile": 1}
    )
    assert r.status_code == 422
    assert r.json()["error"] == {"code": "invalid_kk", "message": message}


def test_only_roles_that_need_it_see_the_full_nik(world: World) -> None:
    world.citizen("6271014708900002", name="Sari")
    registrar = world.clerk("rina", "registrar")
    officer = world.clerk("anton", "card_officer")
    dinsos = world.clerk("dewi", "agency_admin", "DINSOS")
    auditor = world.clerk("agus", "auditor")
    full = ok(
        world.client.post("/v1/admin/citizens/lookup", headers=registrar, json={"nik": "6271014708900002"})
    )
    assert full["nik"] == "6271014708900002" and full["nik_masked"] is False
    assert full["birth_date"] == "1990-08-07"
    for headers in (officer, dinsos, auditor):
        seen = ok(
            world.client.post("/v1/admin/citizens/lookup", headers=headers, json={"nik": "6271014708900002"})
        )
        assert seen["nik"] == "6271********0002" and seen["nik_masked"] is True
        assert seen["birth_date"] is None and seen["kk_number"] is None
        listing = ok(world.client.get("/v1/admin/citizens", headers=headers, params={"region": 6271}))
        assert all("*" in c["nik"] for c in listing["citizens"])
    # lookups are audited, with the masked NIK only
    log = ok(world.client.get("/v1/admin/audit", headers=auditor))["entries"]
    views = [e for e in log if e["action"] == "citizen.view"]
    assert len(views) == 4 and {e["target"] for e in views} == {"6271********0002"}


def test_roles_are_enforced(world: World) -> None:
    auditor = world.clerk("agus", "auditor")
    dinkes = world.clerk("dokter", "agency_admin", "DINKES")
    body = {"nik": "6271010101900001", "name": "X", "occupation": "farmer"}
    assert world.client.post("/v1/admin/citizens", headers=auditor, json=body).status_code == 403
    assert world.client.post("/v1/admin/citizens", headers=dinkes, json=body).status_code == 403
    assert (
        world.client.post(
            "/v1/admin/clerks", headers=auditor, json={"username": "x1", "role": "admin"}
        ).status_code
        == 403
    )
    assert world.client.get("/v1/admin/me").status_code == 401
    assert world.client.get("/v1/admin/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    # a terminal token cannot use the admin API
    token = world.terminal()
    assert world.client.get("/v1/admin/me", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_agency_admin_manages_only_its_programs(world: World) -> None:
    world.citizen("6271010101900001", occupation="teacher", decile=9)
    dinsos = world.clerk("dewi", "agency_admin", "DINSOS")
    perkim = world.clerk("rumah", "agency_admin", "DISPERKIM")
    r = world.client.patch(
        "/v1/admin/programs/1", headers=dinsos, json={"amount": 600000, "rules": {"max_decile": 3}}
    )
    assert ok(r)["amount"] == 600000 and ok(r)["rules"] == {"max_decile": 3}
    assert world.client.patch("/v1/admin/programs/4", headers=dinsos, json={"amount": 1}).status_code == 403
    # manual eligibility: a teacher of decile 9 is not eligible for BLT by the rules; DINSOS grants it
    body = {"nik": "6271010101900001", "program": 1, "eligible": True, "reason": "bencana banjir"}
    citizen = ok(world.client.post("/v1/admin/citizens/eligibility", headers=dinsos, json=body))
    assert {"program": 1, "source": "manual"}.items() <= next(
        e for e in citizen["eligibility"] if e["program"] == 1
    ).items()
    body["program"] = 7
    assert world.client.post("/v1/admin/citizens/eligibility", headers=dinsos, json=body).status_code == 403
    citizen = ok(
        world.client.post("/v1/admin/citizens/eligibility", headers=perkim, json={**body, "eligible": False})
    )
    assert 7 not in {e["program"] for e in citizen["eligibility"]}


def test_broken_bodies_are_4xx(client: TestClient) -> None:
    r = client.post(
        "/v1/admin/citizens", headers={**ADMIN, "Content-Type": "application/json"}, content=b"{nik:"
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation"
    r = client.post("/v1/admin/citizens", headers=ADMIN, json={"nik": "6271010101900001"})
    assert r.status_code == 422 and "name" in r.json()["error"]["message"]
    r = client.post(
        "/v1/admin/citizens", headers=ADMIN, json={"nik": "6271\x0001", "name": "x", "occupation": "a"}
    )
    assert r.status_code == 422
    r = client.post(
        "/v1/admin/citizens",
        headers=ADMIN,
        json={"nik": "6271010101900001", "name": "X", "occupation": "pilot"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_occupation"
    assert client.get("/v1/nowhere").status_code == 404

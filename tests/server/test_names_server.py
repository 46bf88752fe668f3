"""Names at the server: tricks refused at registration (bidi overrides, zero-width characters, markup,
controls), the normal form stored (NFC, single spaces), and a long name cut to the card's byte budget
on a character boundary when the card is issued."""

from __future__ import annotations

import pytest

from card_applet_spec.constants import NAME_MAX_BYTES
from card_applet_spec.credential import decode_credential
from tests.server.conftest import ADMIN, World
from tests.server.helpers import PIN, CardUnderTest


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Budi\u202eosotnaS", "invisible_character"),
        ("Bu\u200bdi", "invisible_character"),
        ("<img src=x onerror=alert(1)>", "markup"),
        ("Budi\tSantoso", "control_character"),
    ],
)
def test_trick_names_are_refused(world: World, name: str, problem: str) -> None:
    kk = world.household()
    r = world.client.post(
        "/v1/admin/citizens",
        headers=ADMIN,
        json={"nik": "6271010101900001", "name": name, "kk_number": kk, "occupation": "farmer"},
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert (error["code"], error["name_error"]) == ("invalid_name", problem)


def test_the_normal_form_is_stored(world: World) -> None:
    citizen = world.citizen("6271010101900001", name="  Jose\u0301   Rizal ")
    assert citizen["name"] == "Jos\u00e9 Rizal"


def test_a_long_name_is_cut_on_a_character_boundary_on_the_card(world: World) -> None:
    name = "\u738b" * 100  # 300 bytes of UTF-8 against the card's 48
    assert world.citizen("6271010101900001", name=name, decile=1)["name"] == name  # the register keeps it
    card = CardUnderTest.blank(1)
    world.station().issue(card.connection, nik="6271010101900001", pin=PIN)
    on_card = decode_credential(card.session().read_credential()).claims.name
    assert on_card == "\u738b" * 16 and len(on_card.encode()) == NAME_MAX_BYTES

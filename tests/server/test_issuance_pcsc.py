"""Issuance through a real pcscd with the vpcd virtual reader (drivers.pcsc + drivers.vpcd): the same
station code personalises a reference card sitting in "Virtual PCD 00 00"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from card_applet_spec import constants as c
from card_applet_spec.credential import decode_credential
from tests.server.conftest import ADMIN, World, ok
from tests.server.helpers import PIN, CardUnderTest

pytestmark = pytest.mark.pcsc


def test_issue_through_pcsc(world: World, connect_card: Callable[[Any], Any]) -> None:
    world.citizen("6271014708900002", name="Sari Dewi", decile=2)
    blank = CardUnderTest.blank(7)
    connection = connect_card(blank.card)
    result = world.station().issue(connection, nik="6271014708900002", pin=PIN)
    assert blank.card.state.life_cycle == c.LifeCycle.OPERATIONAL
    claims = decode_credential(blank.card.state.credential).claims
    assert claims.card_serial.hex() == result.serial and claims.nik_masked == "6271********0002"
    assert {g.program for g in blank.card.state.grants} == {e.program for e in result.card.entitlements}
    view = ok(world.client.get(f"/v1/admin/cards/{result.serial}", headers=ADMIN))
    assert view["state"] == "active"

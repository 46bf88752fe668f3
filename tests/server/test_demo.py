"""The demo data generator: valid NIKs (men and women) in all regencies/cities, households,
eligibility, cards with some revoked, catalogues; the same seed gives the same data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from card_applet_spec.constants import REGIONS
from card_applet_spec.credential import decode_credential
from province.nik import parse_nik
from server_stub import db
from server_stub.demo import DemoSummary, load_demo
from server_stub.models import Card, CatalogueItem, Citizen
from server_stub.settings import Settings
from tests.server.conftest import T0


def _load(tmp: Path, seed: int, citizens: int = 150) -> tuple[Settings, DemoSummary]:
    settings = Settings(data_dir=tmp, key_seed="demo-test")
    return settings, load_demo(settings, citizens=citizens, seed=seed, now=T0, redemptions_per_card=0.3)


def _niks(settings: Settings) -> list[str]:
    engine = db.make_engine(settings)
    with engine.connect() as conn:
        niks = list(conn.scalars(select(Citizen.nik).order_by(Citizen.id)))
    engine.dispose()
    return niks


def test_demo_data_is_valid_and_deterministic(tmp_path: Path) -> None:
    settings, summary = _load(tmp_path / "a", seed=7)
    again_settings, again = _load(tmp_path / "b", seed=7)
    other_settings, _other = _load(tmp_path / "c", seed=8, citizens=40)
    assert summary == again and _niks(settings) == _niks(again_settings)
    assert _niks(other_settings) != _niks(settings)[:40]
    engine = db.make_engine(settings)
    with engine.connect() as conn:
        niks = list(conn.scalars(select(Citizen.nik).order_by(Citizen.nik)))
        cards = conn.execute(
            select(Card.serial, Card.state, Card.credential, Citizen.nik).join(Citizen)
        ).all()
        items = conn.execute(select(CatalogueItem.kind, CatalogueItem.region)).all()
    engine.dispose()
    assert len(niks) == 150 == len(set(niks))
    parsed = [parse_nik(n, today=dt.date(2026, 3, 10)) for n in niks]
    assert {p.female for p in parsed} == {True, False}
    assert {p.region for p in parsed} == set(REGIONS)
    states = {state for _s, state, _c, _n in cards}
    assert "active" in states and "revoked" in states
    serial, _state, credential, nik = cards[0]
    claims = decode_credential(credential).claims
    assert claims.card_serial.hex() == serial and claims.nik_masked == nik[:4] + "*" * 8 + nik[-4:]
    assert {k for k, _r in items} == {"job", "training", "housing"} and {r for _k, r in items} == set(REGIONS)
    assert summary.eligibility and summary.redemptions > 0 and summary.women > 0

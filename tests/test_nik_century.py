"""The NIK's two-digit birth year: the century that puts the birth in the past, a register's birth date
deciding when both do."""

from __future__ import annotations

import datetime as dt

import pytest

from province.nik import NikError, parse_nik

TODAY = dt.date(2026, 3, 10)


@pytest.mark.parametrize(
    ("nik", "born", "ambiguous"),
    [
        ("6271013112260001", dt.date(1926, 12, 31), False),  # 2026-12-31 is still to come: 1926
        ("6271010101250001", dt.date(2025, 1, 1), True),  # a baby or a 101-year-old: the NIK cannot tell
        ("6271010101900001", dt.date(1990, 1, 1), False),
        ("6271012902000001", dt.date(2000, 2, 29), False),  # 1900 had no 29 February
        ("6271014708900002", dt.date(1990, 8, 7), False),  # a woman: day + 40
    ],
)
def test_the_century(nik: str, born: dt.date, ambiguous: bool) -> None:
    parsed = parse_nik(nik, today=TODAY)
    assert (parsed.birth_date, parsed.century_ambiguous) == (born, ambiguous)


def test_the_register_s_birth_date_decides() -> None:
    old = parse_nik("6271010101250001", today=TODAY, birth_date=dt.date(1925, 1, 1))
    assert (old.birth_date, old.century_ambiguous) == (dt.date(1925, 1, 1), False)
    with pytest.raises(NikError) as err:
        parse_nik("6271010101250001", today=TODAY, birth_date=dt.date(1925, 1, 2))
    assert err.value.code == "birth_date_mismatch"


def test_a_date_no_century_has_is_refused() -> None:
    with pytest.raises(NikError) as err:
        parse_nik("6271012902250001", today=TODAY)  # neither 1925 nor 2025 had a 29 February
    assert err.value.code == "birth_date"

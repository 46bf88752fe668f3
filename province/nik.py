"""The NIK (Nomor Induk Kependudukan): parsing and validation with clear, typed errors.

16 digits ``PP KK CC DDMMYY SSSS``: province (62 = Kalimantan Tengah), regency/city (Kemendagri
numbering), district, birth date (women: day + 40), serial 0001 upward.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from card_applet_spec.constants import REGIONS
from card_applet_spec.redaction import mask_nik

PROVINCE_KALTENG = "62"


class NikError(ValueError):
    """A NIK that is not valid for this programme; ``code`` is stable, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Nik:
    value: str
    region: int
    district: int
    birth_date: dt.date
    female: bool
    serial: int
    century_ambiguous: bool = False  # both 19yy and 20yy are possible birth years (see parse_nik)

    @property
    def masked(self) -> str:
        return mask_nik(self.value)

    @property
    def region_name(self) -> str:
        return REGIONS[self.region]


def parse_nik(raw: str, *, today: dt.date | None = None, birth_date: dt.date | None = None) -> Nik:
    """Validate a NIK (spaces and dots are ignored) and return its parts.

    The NIK has a two-digit birth year. The century is the one that puts the birth date in the past, at
    most :data:`MAX_AGE_YEARS` ago; when both do (01-01-25 in 2026: a baby or a 101-year-old) the
    NIK alone cannot tell: ``birth_date`` from the register (family card, civil registry) decides, and
    without it the later date is taken and ``century_ambiguous`` says so.
    """
    value = raw.replace(" ", "").replace(".", "")
    if not value.isascii() or not value.isdigit():
        raise NikError("not_digits", "NIK must contain digits only")
    if len(value) != 16:
        raise NikError("length", f"NIK must have 16 digits, this one has {len(value)}")
    if value[:2] != PROVINCE_KALTENG:
        raise NikError("province", f"NIK province {value[:2]} is not 62 (Kalimantan Tengah)")
    region = int(value[:4])
    if region not in REGIONS:
        raise NikError("region", f"{value[:4]} is not a regency/city code of Kalimantan Tengah")
    district = int(value[4:6])
    if district == 0:
        raise NikError("district", "district (kecamatan) code 00 does not exist")
    day, month, yy = int(value[6:8]), int(value[8:10]), int(value[10:12])
    female = day > 40
    if female:
        day -= 40
    if not 1 <= month <= 12:
        raise NikError("birth_month", f"birth month {value[8:10]} is impossible")
    if not 1 <= day <= 31:
        raise NikError("birth_day", f"birth day {value[6:8]} is impossible (women: day + 40)")
    today = today or dt.date.today()
    birth, ambiguous = _birth_date(day, month, yy, today, birth_date)
    serial = int(value[12:])
    if serial == 0:
        raise NikError("serial", "serial number 0000 is not issued")
    return Nik(value, region, district, birth, female, serial, ambiguous)


MAX_AGE_YEARS = 120


def _birth_date(day: int, month: int, yy: int, today: dt.date, given: dt.date | None) -> tuple[dt.date, bool]:
    candidates = []
    for century in (2000, 1900):
        try:
            date = dt.date(century + yy, month, day)
        except ValueError:  # 29 February of a year that has none
            continue
        if date <= today and today.year - date.year <= MAX_AGE_YEARS:
            candidates.append(date)
    if given is not None:
        if given not in candidates:
            raise NikError("birth_date_mismatch", "the birth date in the NIK is not the one registered")
        return given, False
    if not candidates:  # no century makes it a real date (the age bound cannot exclude both)
        raise NikError("birth_date", f"birth date {day:02d}-{month:02d}-{yy:02d} does not exist")
    return candidates[0], len(candidates) > 1


def is_valid_nik(raw: str) -> bool:
    try:
        parse_nik(raw)
    except NikError:
        return False
    return True

"""What the issuer writes onto a card for a holder: the holder's register data, the grants, the
personal data DF26 (SPEC.md §6.12) and the holder commitment the credential signs (SPEC.md §4.4).

The issuance station writes it (:func:`terminal.personalise.personalise`); the server keeps it
(its card register and the demo world) — one definition for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import cbor2

from card_applet_spec import constants as c
from card_applet_spec.credential import holder_commit, holder_ref, personal_details_digest
from card_applet_spec.records import GrantBody
from province.nik import parse_nik
from province.programs import DEFAULT_UNIT


@dataclass(frozen=True)
class Holder:
    nik: str
    name: str
    kk_number: str = ""


@dataclass(frozen=True)
class GrantSpec:
    program: c.Program
    amount: int
    valid_from: int
    valid_until: int
    grant_seq: int = 1
    unit: c.Unit | None = None

    def body(self, serial: bytes) -> GrantBody:
        return GrantBody(
            card_serial=serial,
            program=self.program,
            kind=c.PROGRAM_KIND[self.program],
            unit=self.unit or DEFAULT_UNIT[self.program],
            grant_seq=self.grant_seq,
            amount=self.amount,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
        )


@dataclass(frozen=True)
class IssuedCard:
    serial: bytes
    card_point: bytes
    credential: bytes


def _fields(holder: Holder) -> tuple[str, str, str, str]:
    """NIK, birth date, sex, KK number: the DF26 fields (SPEC.md §6.12) besides the salt."""
    nik = parse_nik(holder.nik)
    return nik.value, nik.birth_date.isoformat(), "P" if nik.female else "L", holder.kk_number


def personal_data(holder: Holder, salt: bytes) -> bytes:
    """DF26 (SPEC.md §6.12): NIK, birth date, sex, KK number and the salt of the holder commitment."""
    nik, birth_date, sex, kk_number = _fields(holder)
    return cbor2.dumps(
        {
            c.PersonalField.NIK: nik,
            c.PersonalField.BIRTH_DATE: birth_date,
            c.PersonalField.SEX: sex,
            c.PersonalField.KK_NUMBER: kk_number,
            c.PersonalField.HOLDER_SALT: salt,
        }
    )


def holder_commitment(holder: Holder, serial: bytes, salt: bytes, reference: bytes | None = None) -> bytes:
    """Credential claim 4 (SPEC.md §4.4) over the whole DF26 of ``holder``: salt, holder_ref and the
    digest of NIK, birth date, sex and KK number. ``reference``: holder_ref if already computed."""
    nik, birth_date, sex, kk_number = _fields(holder)
    ref = reference if reference is not None else holder_ref(nik, serial)
    return holder_commit(salt, ref, personal_details_digest(nik, birth_date, sex, kk_number))

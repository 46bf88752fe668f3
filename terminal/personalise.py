"""Personalisation of a KHBS card through a session (the issuance station's card steps).

The card makes its own key pair; the issuer signs the credential binding that key to the holder;
serial, issuer keys, credential, personal data and PIN are written; the card is activated; grants
are loaded. Works over any Connection (in-process reference card or a PC/SC reader).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.credential import (
    Claims,
    compressed_point,
    holder_commit,
    holder_ref,
    personal_details_digest,
    sign_credential,
)
from card_applet_spec.issuer import IssuerSigner
from card_applet_spec.records import GrantBody
from terminal.card.session import KhbsSession
from terminal.nik import parse_nik

DEFAULT_UNIT: dict[c.Program, c.Unit] = {
    c.Program.BLT: c.Unit.RUPIAH,
    c.Program.SEMBAKO: c.Unit.GRAM,
    c.Program.PENDIDIKAN: c.Unit.VISIT,
    c.Program.KESEHATAN: c.Unit.VISIT,
    c.Program.LAPANGAN_KERJA: c.Unit.STATUS,
    c.Program.MODAL_TANI_NELAYAN: c.Unit.RUPIAH,
    c.Program.PERUMAHAN_GURU: c.Unit.STATUS,
    c.Program.PELATIHAN: c.Unit.STATUS,
}


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


def personalise(
    session: KhbsSession,
    *,
    serial: bytes,
    holder: Holder,
    pin: str,
    issuer: IssuerSigner,
    status_index: int,
    issued_at: int,
    expires_at: int,
    extra_issuer_points: Sequence[tuple[bytes, bytes]] = (),
    grants: Sequence[GrantSpec] = (),
    holder_salt: bytes | None = None,
) -> IssuedCard:
    """Personalise a blank card (SPEC.md §9.7). ``holder_salt``: 16 random bytes (fresh by default)."""
    nik = parse_nik(holder.nik)
    salt = holder_salt if holder_salt is not None else os.urandom(c.HOLDER_SALT_LEN)
    reference = holder_ref(nik.value, serial)
    session.select()
    point = session.generate_key()
    card_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    claims = Claims(
        card_serial=serial,
        status_index=status_index,
        holder_commit=holder_commitment(holder, serial, salt, reference),
        name=holder.name,
        region=nik.region,
        card_key=compressed_point(card_key),
        nik_masked=nik.masked,
        issued_at=issued_at,
        expires_at=expires_at,
    )
    credential = sign_credential(claims, issuer.key)
    session.put_data(c.DO_CARD_SERIAL, serial)
    session.put_issuer_key(issuer.kid, issuer.point)
    for kid, extra in extra_issuer_points:
        session.put_issuer_key(kid, extra)
    session.put_data(c.DO_CREDENTIAL, credential)
    session.put_data(c.DO_PERSONAL_DATA, personal_data(holder, salt))
    session.put_data(c.DO_HOLDER_REF, reference)
    session.set_initial_pin(pin)
    session.activate()
    for spec in grants:
        signed = issuer.grant(spec.body(serial))
        session.load_grant(signed.body, signed.kid, signed.signature)
    return IssuedCard(serial, point, credential)

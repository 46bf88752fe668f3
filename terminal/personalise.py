"""Personalisation of a KHBS card through a session (the issuance station's card steps).

The card makes its own key pair; the issuer signs the credential binding that key to the holder;
serial, issuer keys, credential, personal data and PIN are written; the card is activated; grants
are loaded. Works over any Connection (in-process reference card or a PC/SC reader).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.credential import Claims, compressed_point, holder_ref, sign_credential
from card_applet_spec.issuer import IssuerSigner
from card_applet_spec.names import card_name
from province.issuance import GrantSpec, Holder, IssuedCard, holder_commitment, personal_data
from province.nik import parse_nik
from terminal.card.session import KhbsSession


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
        name=card_name(holder.name),  # normal form, cut to the card's byte budget on a character boundary
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

"""Personalisation of a blank chip with the TEST keys and holder of the vectors (SPEC §9.7, §11.2)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec import responses
from card_applet_spec.credential import (
    Claims,
    compressed_point,
    holder_commit,
    personal_details_digest,
    sign_credential,
)
from card_applet_spec.vectorkit import inputs as v
from conformance.cases.base import Case, Context
from conformance.chip import OK, SW, Chip, Mismatch, expect, fresh, holder_reference

L = c.LifeCycle


def test_credential(serial: bytes, point: bytes) -> bytes:
    """The vector holder's credential for this chip: its serial, its key, signed by ``issuer_1``."""
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    claims = Claims(
        card_serial=serial,
        status_index=v.STATUS_INDEX,
        holder_commit=holder_commit(
            v.HOLDER_SALT,
            holder_reference(v.HOLDER_NIK, serial),
            personal_details_digest(v.HOLDER_NIK, v.HOLDER_BIRTH_DATE, v.HOLDER_SEX, v.HOLDER_KK),
        ),
        name=v.HOLDER_NAME,
        region=int(v.HOLDER_NIK[:4]),
        card_key=compressed_point(key),
        nik_masked=f"{v.HOLDER_NIK[:4]}********{v.HOLDER_NIK[-4:]}",
        issued_at=v.ISSUED_AT,
        expires_at=v.EXPIRES_AT,
    )
    return sign_credential(claims, v.ISSUER_1.key)


def _generate(chip: Chip) -> bytes:
    point = responses.parse_generated_key(chip.raw(cmd.generate_key(), OK, "GENERATE KEY"))
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise Mismatch("GENERATE KEY: a point on P-256", str(exc)) from exc
    expect(len(point) == 65 and point[0] == 4, "an uncompressed P-256 point", point.hex())
    return point


def personalise(chip: Chip, ctx: Context) -> str:
    info = chip.select()
    expect(
        info.life_cycle == L.PERSONALISATION and info.serial is None,
        "a blank card: life cycle 01, no serial in the FCI",
        f"{info.life_cycle:02X}, serial {info.serial!r}",
    )
    chip.raw(
        cmd.put_data(c.DO_CREDENTIAL, bytes(32)),
        SW.CONDITIONS_NOT_SATISFIED,
        "PUT DATA DF21 before any key (A.14)",
    )
    first, second = _generate(chip), _generate(chip)
    expect(
        first != second, "a new key pair from each GENERATE KEY (the chip's own RNG)", "the same key twice"
    )
    key = chip.raw(cmd.get_data(c.DO_CARD_PUBLIC_KEY), OK, "GET DATA DF27")
    expect(responses.parse_card_public_key(key) == second, "DF27 = the last generated key", key.hex())
    chip.point = second
    chip.serial = bytes.fromhex("62712026") + fresh(4)  # §2.5: issuer-assigned, one per card
    chip.raw(cmd.put_data(c.DO_CARD_SERIAL, chip.serial), OK, "PUT DATA DF24")
    expect(chip.get_data(c.DO_CARD_SERIAL) == chip.serial, "DF24 = the serial written", "another serial")
    for signer in (v.ISSUER_1, v.ISSUER_2):
        chip.raw(
            cmd.put_data(c.DO_ISSUER_KEYS, cmd.issuer_key_data(signer.kid, signer.point)), OK, "PUT DATA DF25"
        )
    chip.raw(
        cmd.put_data(c.DO_ISSUER_KEYS, cmd.issuer_key_data(v.ROGUE.kid, v.ROGUE.point)),
        SW.NOT_ENOUGH_MEMORY,
        "PUT DATA DF25: a third issuer key",
    )
    credential = test_credential(chip.serial, chip.point)
    chip.raw(cmd.put_data(c.DO_CREDENTIAL, credential), OK, "PUT DATA DF21")
    chip.raw(cmd.generate_key(), SW.CONDITIONS_NOT_SATISFIED, "GENERATE KEY once a credential is stored")
    chip.raw(cmd.put_data(c.DO_PERSONAL_DATA, v.personal_data_bytes()), OK, "PUT DATA DF26")
    chip.raw(cmd.activate(), SW.CONDITIONS_NOT_SATISFIED, "SET STATUS 0F before DF28 and the PIN")
    chip.raw(cmd.put_data(c.DO_HOLDER_REF, holder_reference(v.HOLDER_NIK, chip.serial)), OK, "PUT DATA DF28")
    chip.raw(cmd.set_initial_pin(v.PIN), OK, "CHANGE REFERENCE DATA P1=01 (initial PIN)")
    chip.raw(cmd.activate(), OK, "SET STATUS 0F (activate)")
    info = chip.select()
    expect(
        info.life_cycle == L.OPERATIONAL and info.serial == chip.serial,
        "FCI: life cycle 0F, the serial",
        f"{info.life_cycle:02X}, {info.serial!r}",
    )
    chip.raw(
        cmd.put_data(c.DO_CARD_SERIAL, chip.serial), SW.CONDITIONS_NOT_SATISFIED, "PUT DATA after activation"
    )
    chip.pin = v.PIN
    return f"personalised: serial {chip.serial.hex().upper()}, key {compressed_point_hex(chip.point)}"


def compressed_point_hex(point: bytes) -> str:
    return (
        compressed_point(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)).hex()[:16] + "…"
    )


PERSONALISATION = Case(
    "personalisation:flow",
    "9.7, 5.5, 5.6, A.14",
    "personalise a blank chip with the TEST keys",
    "DF21 before a key 6985; two GENERATE KEY give two P-256 keys; DF27 = the last; a third issuer key "
    "6A84; GENERATE KEY after DF21 6985; activation refused until complete; PUT DATA after it 6985",
    personalise,
)

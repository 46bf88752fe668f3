"""The setup profiles of the vectors (SPEC §11.3, ``setup.json``): the exchanges that take a blank card
to a known state, recorded with the same terminal operations as the cases.
"""

from __future__ import annotations

from collections.abc import Callable

from card_applet_spec import constants as c
from card_applet_spec.vectorkit.inputs import (
    EXPIRES_AT,
    GRANT_FROM,
    GRANT_UNTIL,
    HOLDER_KK,
    HOLDER_NAME,
    HOLDER_NIK,
    HOLDER_SALT,
    ISSUED_AT,
    ISSUER_1,
    ISSUER_2,
    PIN,
    PROFILE_GRANTS,
    SERIAL,
    STATUS_INDEX,
    WRONG_PIN,
    credential_bytes,
    grant_body,
    holder_reference,
    personal_data_bytes,
)
from card_applet_spec.vectorkit.recorder import Profile
from card_applet_spec.vectorkit.tap import Tap

BLANK = "blank"
PERSO = "personalised"
GRANTS = "personalised_with_grants"
PIN_BLOCKED = "pin_blocked"


def personalise(t: Tap) -> None:
    """The issuance station's sequence (terminal/personalise.py does the same)."""
    t.select("SELECT on the blank card: life cycle 01 (personalisation)")
    t.generate_key()
    t.put_data(c.DO_CARD_SERIAL, SERIAL, f"PUT DATA DF24: card serial {SERIAL.hex().upper()}")
    t.put_issuer_key(ISSUER_1, "PUT DATA DF25: issuer key 1 (E4 { C4 kid, 86 point })")
    t.put_issuer_key(ISSUER_2, "PUT DATA DF25: issuer key 2 (for rotation)")
    credential = credential_bytes()
    t.put_data(
        c.DO_CREDENTIAL,
        credential,
        f"PUT DATA DF21: issuer-signed credential ({len(credential)} bytes, fits one short APDU)",
    )
    t.put_data(
        c.DO_PERSONAL_DATA, personal_data_bytes(), "PUT DATA DF26: personal data (CBOR map, with the salt)"
    )
    t.put_data(c.DO_HOLDER_REF, holder_reference(), "PUT DATA DF28: holder_ref (write-only)")
    t.set_initial_pin(PIN)
    t.activate()


def load_profile_grants(t: Tap) -> None:
    for program, amount, _unit in PROFILE_GRANTS:
        t.load_grant(
            ISSUER_1.grant(grant_body(program, amount)),
            f"LOAD GRANT program {program} ({program.name}) seq 1 amount {amount}, signed by issuer_1",
        )


def build_profiles() -> dict[str, Profile]:
    profiles: dict[str, Profile] = {BLANK: Profile(BLANK, "A blank card straight from the fab.", [])}

    def extend(name: str, base: str, description: str, fill: Callable[[Tap], None]) -> Profile:
        t = Tap(profiles, base)
        fill(t)
        profile = Profile(name, description, t.base + t.exchanges)
        profiles[name] = profile
        return profile

    perso = extend(
        PERSO,
        BLANK,
        "Personalised and activated (life cycle 0F): key pair, serial, issuer keys 1 and 2, credential, "
        "personal data, PIN 123456 (3 tries). No grants.",
        personalise,
    )
    perso.parameters = {
        "serial": SERIAL.hex(),
        "holder": {"nik": HOLDER_NIK, "name": HOLDER_NAME, "kk_number": HOLDER_KK},
        "holder_salt": HOLDER_SALT.hex(),
        "pin": PIN,
        "issuer": "issuer_1",
        "extra_issuer_keys": ["issuer_2"],
        "status_index": STATUS_INDEX,
        "issued_at": ISSUED_AT,
        "expires_at": EXPIRES_AT,
        "grants": [],
    }

    grants = extend(
        GRANTS,
        PERSO,
        "personalised, then (same session, as terminal/personalise.py does) four issuer_1 grants "
        "(seq 1, valid 2026-12-01..2027-01-31): BLT 600000 rupiah, "
        "SEMBAKO 10000 g, KESEHATAN unlimited visits, LAPANGAN_KERJA status ELIGIBLE.",
        load_profile_grants,
    )
    grants.parameters = dict(perso.parameters)
    grants.parameters["grants"] = [
        {
            "program": int(p),
            "amount": amount,
            "unit": int(unit),
            "grant_seq": 1,
            "valid_from": GRANT_FROM,
            "valid_until": GRANT_UNTIL,
        }
        for p, amount, unit in PROFILE_GRANTS
    ]

    def block_pin(t: Tap) -> None:
        t.select()
        for left in (2, 1, 0):
            t.verify_pin(WRONG_PIN, f"VERIFY wrong PIN: {left} tries left", c.sw_pin_tries(left))

    extend(
        PIN_BLOCKED,
        GRANTS,
        "personalised_with_grants, then three wrong PINs: the PIN is blocked (0 tries).",
        block_pin,
    )
    return profiles

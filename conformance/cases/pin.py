"""The PIN: VERIFY, its envelope and card nonce, personal data, PIN change and reset (SPEC §5.7–§5.9,
§6.14, §9.5, §9.8, §9.9). Every case leaves the test PIN in place with 3 tries."""

from __future__ import annotations

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec import responses
from card_applet_spec.credential import decode_credential, holder_commit, personal_details_digest
from card_applet_spec.pin_envelope import seal_verify
from card_applet_spec.records import pin_block
from card_applet_spec.vectorkit import inputs as v
from conformance.cases.base import Case, Context, case
from conformance.chip import OK, SW, Chip, expect, fresh, holder_reference

CASES: list[Case] = []


@case(
    CASES,
    "verify:right_and_wrong_pin",
    "5.7, 7",
    "wrong PIN 63C2, right PIN restores the tries",
    "status 63C3; wrong 63C2; status 63C2; right 9000; status 9000 (verified); new session status 63C3",
)
def _right_wrong(chip: Chip, ctx: Context) -> str:
    chip.select()
    expect(chip.tries() == 3, "63C3", "other")
    chip.verify(v.WRONG_PIN, want=c.sw_pin_tries(2))
    expect(chip.tries() == 2, "63C2 after a wrong PIN", "other")
    chip.verify()
    _, sw = chip.send(cmd.verify())
    expect(sw == OK, "9000: verified in this session", f"{sw:04X}")
    chip.select()
    expect(chip.tries() == 3, "63C3 in a new session (tries restored, not verified)", "other")
    return "63C2, 9000, tries back to 3"


@case(
    CASES,
    "verify:card_nonce_rules",
    "5.1.3, 5.7, 6.14, A.13",
    "the card nonce binds the next command only; envelopes do not replay",
    "VERIFY without INTERNAL AUTHENTICATE 6985; after a GET DATA in between 6985; the PIN in clear "
    "6A80; a recorded VERIFY in a new session 6A80; no try spent by any of them",
)
def _nonce_rules(chip: Chip, ctx: Context) -> str:
    chip.select()
    sealed = seal_verify(chip.point, chip.serial, fresh(16), pin_block(chip.pin))
    chip.raw(cmd.verify(sealed.envelope), SW.CONDITIONS_NOT_SATISFIED, "VERIFY with no card nonce")
    nonce = chip.ensure_nonce()
    chip.get_data(c.DO_CARD_SERIAL)
    late = seal_verify(chip.point, chip.serial, nonce, pin_block(chip.pin))
    chip.raw(cmd.verify(late.envelope), SW.CONDITIONS_NOT_SATISFIED, "VERIFY after a command in between")
    chip.ensure_nonce()
    chip.raw(cmd.verify(pin_block(chip.pin)), SW.WRONG_DATA, "VERIFY with the PIN in clear")
    nonce = chip.ensure_nonce()
    recorded = cmd.verify(seal_verify(chip.point, chip.serial, nonce, pin_block(chip.pin)).envelope)
    chip.raw(recorded, OK, "VERIFY")
    chip.select()
    chip.ensure_nonce()
    chip.raw(recorded, SW.WRONG_DATA, "the recorded VERIFY replayed in a new session")
    expect(chip.tries() == 3, "no try spent", "a try spent")
    return "6985, 6985, 6A80, 6A80; 3 tries"


@case(
    CASES,
    "get_data:personal_data",
    "9.9, 4.4, 6.12",
    "personal data after the PIN, bound to the credential",
    "DF26 = the data written; holder_commit(salt, holder_ref, details) = the credential's; after SELECT 6982",
)
def _personal(chip: Chip, ctx: Context) -> str:
    chip.select()
    cred = decode_credential(chip.get_data(c.DO_CREDENTIAL))
    chip.verify()
    raw = chip.get_data(c.DO_PERSONAL_DATA)
    expect(raw == v.personal_data_bytes(), "DF26 as written", raw.hex())
    pd = responses.parse_personal_data(raw)
    assert pd.holder_salt is not None
    commit = holder_commit(
        pd.holder_salt,
        holder_reference(pd.nik, chip.serial),
        personal_details_digest(pd.nik, pd.birth_date, pd.sex, pd.kk_number),
    )
    expect(commit == cred.claims.holder_commit, "holder_commit matches", "it does not")
    chip.select()
    chip.get_data(c.DO_PERSONAL_DATA, SW.SECURITY_STATUS_NOT_SATISFIED)
    return f"{len(raw)} bytes, commitment verified"


@case(
    CASES,
    "change_reference_data:pin_change",
    "5.8, 9.8",
    "holder PIN change (enciphered), not a verification",
    "change 9000; status 63C3 (not verified); old PIN 63C2; new PIN 9000; change back 9000",
)
def _change(chip: Chip, ctx: Context) -> str:
    chip.select()
    old = chip.pin
    chip.change_pin(old, v.NEW_PIN)
    expect(chip.tries() == 3, "63C3: the change does not verify", "other")
    chip.verify(old, want=c.sw_pin_tries(2))
    chip.verify(v.NEW_PIN)
    chip.change_pin(v.NEW_PIN, old)
    chip.select()
    chip.verify()
    return "changed, verified, changed back"


@case(
    CASES,
    "reset_retry_counter:pin_reset",
    "5.9, 9.5, 6.10",
    "PIN reset by a certified counter terminal, bound to the card nonce",
    "wrong NIK 6984 (PIN unchanged); right NIK 9000: new PIN, 3 tries; certificate without the "
    "PIN_RESET role 6982; forged certificate 6300; reset without INTERNAL AUTHENTICATE right before 6985",
)
def _reset(chip: Chip, ctx: Context) -> str:
    chip.select()
    chip.verify(v.WRONG_PIN, want=c.sw_pin_tries(2))
    chip.reset_pin(v.RESET_PIN, nik=v.OTHER_NIK, want=SW.HOLDER_MISMATCH)
    chip.reset_pin(v.RESET_PIN, cert=v.terminal_cert(roles=0), want=SW.SECURITY_STATUS_NOT_SATISFIED)
    forged = v.forged(v.terminal_cert().body, b"KHBS-TC1" + v.terminal_cert().body, v.ISSUER_1.kid)
    chip.reset_pin(v.RESET_PIN, cert=forged, want=SW.AUTHENTICATION_FAILED)
    chip.reset_pin(v.RESET_PIN)
    expect(chip.tries() == 3, "3 tries after the reset", "other")
    chip.verify(v.RESET_PIN)
    chip.authenticate()
    chip.get_data(c.DO_CARD_SERIAL)  # spends the nonce
    mark = chip.link.mark()
    chip.nonce = fresh(16)  # a reset sealed to a nonce the card no longer holds
    _late_reset(chip)
    expect(
        chip.link.since(mark)[-1].sw == SW.CONDITIONS_NOT_SATISFIED,
        "6985 without a card nonce",
        f"{chip.link.since(mark)[-1].sw:04X}",
    )
    chip.select()
    chip.change_pin(v.RESET_PIN, v.PIN)
    return "6984, 6982, 6300, 9000 (PIN reset), 6985"


def _late_reset(chip: Chip) -> None:
    from card_applet_spec.credential import compressed_point
    from card_applet_spec.pin_envelope import seal
    from card_applet_spec.records import pin_reset_message

    nonce = chip.nonce
    assert nonce is not None
    env = seal(
        chip.point,
        c.INS_RESET_RETRY_COUNTER,
        chip.serial,
        nonce,
        pin_block(v.PIN) + holder_reference(v.HOLDER_NIK, chip.serial),
    )
    cert = v.terminal_cert()
    msg = pin_reset_message(chip.serial, nonce, compressed_point(chip._public_key()), env)
    data = cmd.reset_retry_counter_data(
        cmd.terminal_cert_data(cert.body, cert.kid, cert.signature), env, v.TERMINAL_1.sign(msg)
    )
    chip.nonce = None
    chip.link.chained(cmd.reset_retry_counter(), data)

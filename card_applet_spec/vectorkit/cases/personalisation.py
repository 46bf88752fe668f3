"""Vector cases of personalisation (GENERATE KEY, PUT DATA, the initial PIN, activation) and of ISO
command chaining.
"""

from __future__ import annotations

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.constants import SW
from card_applet_spec.constants import LifeCycle as L
from card_applet_spec.constants import Program as P
from card_applet_spec.records import pin_block
from card_applet_spec.vectorkit.case import SELECT_NOTE, CaseGroup
from card_applet_spec.vectorkit.inputs import (
    ISSUER_1,
    ISSUER_2,
    NEW_PIN,
    OTHER_SERIAL,
    PIN,
    ROGUE,
    SERIAL,
    TERMINAL_TIME,
    credential_bytes,
    fixed_bytes,
    holder_reference,
)
from card_applet_spec.vectorkit.payloads import (
    NO_DEBIT_KEY,
    debit_fields,
)
from card_applet_spec.vectorkit.profiles import BLANK, PERSO, personalise
from card_applet_spec.vectorkit.recorder import check
from card_applet_spec.vectorkit.tap import Tap

PERSONALISATION = CaseGroup(
    "personalisation",
    "GENERATE KEY / PUT DATA / SET STATUS (activation) / command chaining",
    "Personalisation commands and ISO command chaining.",
)


# Personalisation -----------------------------------------------------------------------------------


@PERSONALISATION.case(
    "full",
    BLANK,
    "The whole personalisation (as setup profile 'personalised'): SELECT, GENERATE KEY, PUT DATA serial, "
    "issuer keys, credential, personal data (with the holder salt), holder_ref, initial PIN, activate.",
)
def _p_full(t: Tap) -> None:
    personalise(t)
    t.select("SELECT: life cycle 0F")
    t.read_credential()


@PERSONALISATION.case(
    "credential_chained",
    BLANK,
    "PUT DATA of the credential as a command chain (CLA 10 then 00): the card joins the blocks.",
)
def _p_chained_credential(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.generate_key()
    credential = credential_bytes()
    header = cmd.put_data(c.DO_CREDENTIAL, b"")
    t.chain(header, credential, [100, 100], "PUT DATA DF21")
    check(t.read_credential() == credential, "credential")


@PERSONALISATION.case(
    "activate_incomplete",
    BLANK,
    "Activation before serial, key, issuer key, credential, PIN and holder_ref are all written: 6985.",
)
def _p_activate_incomplete(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.activate("SET STATUS 0F on a blank card", SW.CONDITIONS_NOT_SATISFIED)
    t.generate_key()
    t.put_data(c.DO_CARD_SERIAL, SERIAL, "PUT DATA DF24 serial")
    t.put_issuer_key(ISSUER_1, "PUT DATA DF25 issuer key 1")
    t.put_data(c.DO_CREDENTIAL, credential_bytes(), "PUT DATA DF21 credential")
    t.activate("SET STATUS 0F without a PIN", SW.CONDITIONS_NOT_SATISFIED)
    t.set_initial_pin(PIN)
    t.raw(cmd.set_status(L.OPERATIONAL, b"\x00"), "SET STATUS 0F with data", SW.WRONG_LENGTH)
    t.raw(cmd.set_status(L.BLOCKED), "SET STATUS 8F in personalisation", SW.CONDITIONS_NOT_SATISFIED)
    t.activate("SET STATUS 0F without holder_ref (DF28)", SW.CONDITIONS_NOT_SATISFIED)
    t.put_data(c.DO_HOLDER_REF, holder_reference()[:15], "PUT DATA DF28 with 15 bytes", SW.WRONG_LENGTH)
    t.put_data(c.DO_HOLDER_REF, holder_reference(), "PUT DATA DF28 holder_ref")
    t.raw(cmd.get_data(c.DO_HOLDER_REF), "GET DATA DF28: write-only, 6A88", SW.DATA_NOT_FOUND)
    t.activate("SET STATUS 0F: now complete (personal data is optional)")


@PERSONALISATION.case(
    "after_activation",
    PERSO,
    "Personalisation commands on an operational card: 6985.",
)
def _p_after(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.generate_key("GENERATE KEY", SW.CONDITIONS_NOT_SATISFIED)
    t.put_data(c.DO_CARD_SERIAL, OTHER_SERIAL, "PUT DATA DF24", SW.CONDITIONS_NOT_SATISFIED)
    t.put_data(c.DO_CREDENTIAL, credential_bytes(), "PUT DATA DF21", SW.CONDITIONS_NOT_SATISFIED)
    t.put_issuer_key(ROGUE, "PUT DATA DF25 (a new issuer key)", SW.CONDITIONS_NOT_SATISFIED)
    t.set_initial_pin(NEW_PIN, "CHANGE REFERENCE DATA P1=01", SW.CONDITIONS_NOT_SATISFIED)
    t.activate("SET STATUS 0F without data", SW.CONDITIONS_NOT_SATISFIED)


@PERSONALISATION.case(
    "put_data_checks",
    BLANK,
    "PUT DATA checks: serial of 8 bytes (6700), unknown object (6A88), issuer key not a P-256 point "
    "(6A80), a third issuer key (6A84), personal data over 128 bytes (6700), credential over 256 (6700).",
)
def _p_put_checks(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.put_data(c.DO_CARD_SERIAL, SERIAL[:7], "PUT DATA DF24 with 7 bytes", SW.WRONG_LENGTH)
    t.put_data(0xDF30, b"\x01", "PUT DATA DF30", SW.DATA_NOT_FOUND)
    bad_point = b"\x04" + bytes(64)
    t.raw(
        cmd.put_data(c.DO_ISSUER_KEYS, cmd.issuer_key_data(ISSUER_1.kid, bad_point)),
        "PUT DATA DF25 with a point not on the curve",
        SW.WRONG_DATA,
    )
    t.put_issuer_key(ISSUER_1, "issuer key 1")
    t.put_issuer_key(ISSUER_2, "issuer key 2")
    t.put_issuer_key(ISSUER_1, "issuer key 1 again: replaces itself")
    t.put_issuer_key(ROGUE, "a third issuer key", SW.NOT_ENOUGH_MEMORY)
    t.put_data(c.DO_PERSONAL_DATA, bytes(129), "PUT DATA DF26 with 129 bytes", SW.WRONG_LENGTH)
    header = cmd.put_data(c.DO_CREDENTIAL, b"")
    t.chain(header, bytes(257), [200], "PUT DATA DF21 of 257 bytes", SW.WRONG_LENGTH)


@PERSONALISATION.case("generate_key_checks", BLANK, "GENERATE KEY with P1P2 not 0000: 6A86; twice: new key.")
def _p_genkey(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(cmd.generate_key(p1=0x01), "GENERATE KEY P1=01", SW.INCORRECT_P1P2)
    t.generate_key()
    t.raw(cmd.generate_key(), "GENERATE KEY again: a new key from the next DRBG bytes")


@PERSONALISATION.case(
    "generate_key_after_credential",
    BLANK,
    "Once a credential is written (it binds the card key), GENERATE KEY is refused with 6985, before its "
    "P1P2 check; the key stays the one the credential was issued for.",
)
def _p_genkey_after_credential(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.generate_key()
    t.put_data(c.DO_CREDENTIAL, credential_bytes(), "PUT DATA DF21 credential")
    t.generate_key("GENERATE KEY after the credential", SW.CONDITIONS_NOT_SATISFIED)
    t.raw(cmd.generate_key(p1=0x01), "GENERATE KEY P1=01: 6985 comes first", SW.CONDITIONS_NOT_SATISFIED)
    t.read_card_public_key()


@PERSONALISATION.case(
    "credential_before_key",
    BLANK,
    "PUT DATA of the credential before GENERATE KEY is refused with 6985: the credential binds a key the "
    "card must already have (a credential first would leave a card that can never be activated).",
)
def _p_credential_before_key(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.put_data(
        c.DO_CREDENTIAL, credential_bytes(), "PUT DATA DF21 with no key yet", SW.CONDITIONS_NOT_SATISFIED
    )
    t.generate_key()
    t.put_data(c.DO_CREDENTIAL, credential_bytes(), "PUT DATA DF21 after GENERATE KEY")


@PERSONALISATION.case(
    "chaining_mismatch",
    BLANK,
    "A chain interrupted by another command: 6883, and the chain is dropped; the next command is new.",
)
def _p_chain_mismatch(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.generate_key()
    credential = credential_bytes()
    t.raw(cmd.put_data(c.DO_CREDENTIAL, credential[:100], cla=0x10), "PUT DATA DF21 chained block 1")
    t.raw(cmd.get_data(c.DO_CARD_SERIAL), "GET DATA in the middle of the chain", SW.LAST_COMMAND_EXPECTED)
    t.raw(cmd.get_data(c.DO_CARD_SERIAL), "GET DATA again: the chain is gone", SW.DATA_NOT_FOUND)
    t.raw(cmd.put_data(c.DO_CREDENTIAL, credential[:100], cla=0x10), "PUT DATA DF21 chained block 1")
    t.raw(
        cmd.put_data(c.DO_PERSONAL_DATA, credential[100:], cla=0x10),
        "a chained block for another object (P2 changed)",
        SW.LAST_COMMAND_EXPECTED,
    )
    t.put_data(c.DO_CREDENTIAL, credential, "PUT DATA DF21 unchained")


@PERSONALISATION.case(
    "chaining_not_supported",
    PERSO,
    "Command chaining on an instruction that does not take it (VERIFY, DEBIT): 6884.",
)
def _p_chain_unsupported(t: Tap) -> None:
    t.select(SELECT_NOTE)
    verify = CommandApdu(0x10, c.INS_VERIFY, 0, c.PIN_REFERENCE, pin_block(PIN))
    t.raw(verify.encode(), "VERIFY with CLA 10", SW.CHAINING_NOT_SUPPORTED)
    data = cmd.debit_data(
        NO_DEBIT_KEY, debit_fields(P.BLT, 1_000, fixed_bytes("nonce chain", 8), TERMINAL_TIME, 0)
    )
    debit = CommandApdu(c.CLA_PROPRIETARY | c.CLA_CHAINING_BIT, c.INS_DEBIT, 0, 0, data)
    t.raw(debit.encode(), "DEBIT with CLA 90", SW.CHAINING_NOT_SUPPORTED)
    t.verify_pin(PIN, "VERIFY unchained afterwards: 9000")


@PERSONALISATION.case(
    "chain_too_long",
    BLANK,
    "Chained data over 1024 bytes: 6A84 on the block that passes the limit, intermediate or last.",
)
def _p_chain_long(t: Tap) -> None:
    t.select(SELECT_NOTE)
    for i in range(4):
        t.raw(
            cmd.put_data(c.DO_CREDENTIAL, bytes([i]) * 255, cla=0x10), f"PUT DATA DF21 chained block {i + 1}"
        )
    t.raw(
        cmd.put_data(c.DO_CREDENTIAL, bytes(5), cla=0x10), "block 5: 1025 bytes in all", SW.NOT_ENOUGH_MEMORY
    )
    for i in range(4):
        t.raw(cmd.put_data(c.DO_CREDENTIAL, bytes([i]) * 255, cla=0x10), f"a new chain: block {i + 1}")
    t.raw(
        cmd.put_data(c.DO_CREDENTIAL, bytes(5)),
        "last block: 1025 bytes in all, over the limit too",
        SW.NOT_ENOUGH_MEMORY,
    )
    t.read_credential(SW.DATA_NOT_FOUND)


@PERSONALISATION.case(
    "select_ends_chain",
    BLANK,
    "A SELECT in the middle of a chain ends it and drops its data, even a refused SELECT (6A86): a new "
    "PUT DATA then stores exactly its own data.",
)
def _p_select_ends_chain(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.generate_key()
    credential = credential_bytes()
    t.raw(cmd.put_data(c.DO_CREDENTIAL, b"stale" * 20, cla=0x10), "PUT DATA DF21 chained block 1 (junk)")
    t.raw(cmd.select(p1=0x00), "SELECT P1=00: refused, and the chain is dropped", SW.INCORRECT_P1P2)
    t.put_data(c.DO_CREDENTIAL, credential, "PUT DATA DF21 unchained")
    check(t.read_credential() == credential, "no stale prefix")

"""Vector cases of SELECT and GET DATA / GET RESPONSE: selection, the checks every command goes through
first, and reading the card's data objects (long answers over 61xx).
"""

from __future__ import annotations

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.constants import SW
from card_applet_spec.constants import LifeCycle as L
from card_applet_spec.vectorkit.case import SELECT_NOTE, CaseGroup
from card_applet_spec.vectorkit.inputs import (
    ISSUER_1,
    ISSUER_2,
    PIN,
    PROFILE_GRANTS,
    SERIAL,
)
from card_applet_spec.vectorkit.profiles import BLANK, GRANTS, PERSO
from card_applet_spec.vectorkit.recorder import check
from card_applet_spec.vectorkit.tap import Tap

SELECT = CaseGroup(
    "select",
    "SELECT",
    "SELECT by AID and the checks every command goes through first (CLA, INS, Lc).",
)
GET_DATA = CaseGroup(
    "get_data",
    "GET DATA / GET RESPONSE",
    "Reading the card's data objects; long answers over 61xx.",
)


# SELECT --------------------------------------------------------------------------------------------


@SELECT.case("blank_ok", BLANK, "SELECT on a blank card: FCI with life cycle 01 and no serial yet.")
def _select_blank(t: Tap) -> None:
    info = t.select("SELECT: FCI 6F { 84 AID, A5 { 80 version, 81 caps, 82 life cycle 01, 85 log cap } }")
    check(info is not None and info["life_cycle"] == L.PERSONALISATION and info["serial"] is None, "FCI")


@SELECT.case("operational_ok", PERSO, "SELECT on a personalised card: life cycle 0F and the serial (83).")
def _select_operational(t: Tap) -> None:
    info = t.select("SELECT: FCI with life cycle 0F (operational) and 83 card serial")
    check(info is not None and info["serial"] == SERIAL.hex() and info["life_cycle"] == L.OPERATIONAL, "FCI")


@SELECT.case(
    "wrong_aid",
    PERSO,
    "SELECT of another AID (or a partial AID): 6A82. The KHBS applet stays selected, with its session: "
    "GET DATA still works and a verified PIN still counts.",
)
def _select_wrong_aid(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.raw(
        cmd.select(bytes.fromhex("F04B4842530102")),
        "SELECT an AID this card does not have",
        SW.FILE_NOT_FOUND,
    )
    t.raw(
        cmd.select(c.AID[:5]),
        "SELECT with the first 5 bytes of the AID (no partial match)",
        SW.FILE_NOT_FOUND,
    )
    t.read_serial()
    t.read_personal_data()


@SELECT.case("wrong_p1p2", PERSO, "SELECT with P1 other than 04 (by name) or P2 other than 00: 6A86.")
def _select_wrong_p1(t: Tap) -> None:
    t.raw(cmd.select(p1=0x00), "SELECT P1=00 (by file id): not supported", SW.INCORRECT_P1P2)
    t.raw(cmd.select(p2=0x0C), "SELECT P2=0C (no FCI): not supported", SW.INCORRECT_P1P2)
    t.select("SELECT correctly afterwards: 9000")


@SELECT.case("command_before_select", BLANK, "Any command before the applet is selected: 6986.")
def _select_before(t: Tap) -> None:
    t.read_serial(SW.COMMAND_NOT_ALLOWED)


@SELECT.case("bad_cla", PERSO, "A class byte other than 00 / 80 (optionally with bit 10): 6E00.")
def _select_bad_cla(t: Tap) -> None:
    t.raw(cmd.select(cla=0xA0), "SELECT with CLA A0: class not supported", SW.CLA_NOT_SUPPORTED)
    t.raw(
        cmd.select(cla=0x84),
        "SELECT with CLA 84 (secure messaging): class not supported",
        SW.CLA_NOT_SUPPORTED,
    )
    t.raw(
        cmd.select(cla=0x10), "SELECT with CLA 10 (chaining): SELECT is never chained", SW.CLA_NOT_SUPPORTED
    )


@SELECT.case("unknown_ins", PERSO, "An instruction the applet does not have for that class: 6D00.")
def _select_unknown_ins(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(bytes.fromhex("00B0000000"), "READ BINARY (00 B0): not supported", SW.INS_NOT_SUPPORTED)
    t.raw(cmd.select(cla=c.CLA_PROPRIETARY), "SELECT INS under CLA 80: not supported", SW.INS_NOT_SUPPORTED)
    t.raw(
        bytes.fromhex("00540000"),
        "DEBIT INS under CLA 00: DEBIT is proprietary (CLA 80)",
        SW.INS_NOT_SUPPORTED,
    )


@SELECT.case("malformed_lc", PERSO, "Lc that does not match the APDU length: 6700.")
def _select_malformed_lc(t: Tap) -> None:
    t.raw(bytes.fromhex("00A4040007F04B48"), "SELECT with Lc=07 but 3 data bytes", SW.WRONG_LENGTH)
    t.raw(
        bytes.fromhex("00A4040005") + c.AID + b"\x00",
        "SELECT with Lc=05 and 7 data bytes + Le",
        SW.WRONG_LENGTH,
    )
    t.raw(bytes.fromhex("00A404"), "three bytes: not even a header", SW.WRONG_LENGTH)


@SELECT.case("extended_length", PERSO, "Extended-length APDUs are not supported: 6700.")
def _select_extended(t: Tap) -> None:
    t.raw(
        bytes.fromhex("00A40400000007") + c.AID + b"\x00\x00",
        "SELECT as an extended APDU (Lc=00 0007, Le=0000)",
        SW.WRONG_LENGTH,
    )


@SELECT.case(
    "reselect_clears_session",
    PERSO,
    "SELECT starts a new session: a PIN verified before no longer counts.",
)
def _select_reselect(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.read_personal_data()
    t.select("SELECT again")
    t.read_personal_data(SW.SECURITY_STATUS_NOT_SATISFIED)


# GET DATA ------------------------------------------------------------------------------------------


@GET_DATA.case("credential", PERSO, "The credential, whole, in one answer to GET DATA DF21 with Le=00.")
def _gd_credential(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_credential()


@GET_DATA.case(
    "grants_over_get_response",
    GRANTS,
    "Four grants (over 256 bytes): 256 bytes + 61xx, then GET RESPONSE with Le=xx gives the rest.",
)
def _gd_grants(t: Tap) -> None:
    t.select(SELECT_NOTE)
    grants = t.read_grants()
    check([g.program for g in grants] == [p for p, _, _ in PROFILE_GRANTS], "grants in program order")
    check(len(t.exchanges) == 3, "grants need one GET RESPONSE")


@GET_DATA.case("grants_none", PERSO, "No grants loaded: GET DATA DF22 answers 9000 with no data.")
def _gd_no_grants(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_grants()


@GET_DATA.case("serial", PERSO, "GET DATA DF24: the 8-byte card serial.")
def _gd_serial(t: Tap) -> None:
    t.select(SELECT_NOTE)
    check(t.read_serial() == SERIAL, "serial")


@GET_DATA.case("card_public_key", PERSO, "GET DATA DF27: 7F49 { 86 uncompressed point }.")
def _gd_card_key(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_card_public_key()


@GET_DATA.case("issuer_keys", PERSO, "GET DATA DF25: one E4 { C4 kid, 86 point } per issuer key.")
def _gd_issuer_keys(t: Tap) -> None:
    t.select(SELECT_NOTE)
    data = t.raw(cmd.get_data(c.DO_ISSUER_KEYS), "GET DATA DF25 (issuer keys)")
    check(
        data
        == cmd.issuer_key_data(ISSUER_1.kid, ISSUER_1.point)
        + cmd.issuer_key_data(ISSUER_2.kid, ISSUER_2.point),
        "keys",
    )


@GET_DATA.case("personal_data_without_pin", PERSO, "Personal data before VERIFY: 6982.")
def _gd_personal_no_pin(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_personal_data(SW.SECURITY_STATUS_NOT_SATISFIED)


@GET_DATA.case("personal_data_after_verify", PERSO, "Personal data after VERIFY: the CBOR map.")
def _gd_personal(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.read_personal_data()


@GET_DATA.case("unknown_do", PERSO, "GET DATA of an object the card does not have: 6A88.")
def _gd_unknown(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(cmd.get_data(0xDF30), "GET DATA DF30: no such object", SW.DATA_NOT_FOUND)
    t.raw(cmd.get_data(0x5F50), "GET DATA 5F50: no such object", SW.DATA_NOT_FOUND)


@GET_DATA.case("with_command_data", PERSO, "GET DATA carries no command data: 6700.")
def _gd_with_data(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(bytes.fromhex("00CADF240100"), "GET DATA DF24 with one data byte", SW.WRONG_LENGTH)


@GET_DATA.case("blank_card", BLANK, "A blank card: no credential or serial (6A88), empty lists (9000).")
def _gd_blank(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_credential(SW.DATA_NOT_FOUND)
    t.read_serial(SW.DATA_NOT_FOUND)
    t.read_card_public_key(SW.DATA_NOT_FOUND)
    t.read_grants()
    t.raw(cmd.get_data(c.DO_ISSUER_KEYS), "GET DATA DF25: no issuer keys yet, empty")


@GET_DATA.case("get_response_nothing_pending", PERSO, "GET RESPONSE with nothing pending: 6985.")
def _gd_get_response_nothing(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(cmd.get_response(256), "GET RESPONSE Le=00 after a complete answer", SW.CONDITIONS_NOT_SATISFIED)


@GET_DATA.case(
    "get_response_lost_after_other_command",
    GRANTS,
    "Pending response data is dropped by the next command other than GET RESPONSE.",
)
def _gd_get_response_lost(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(cmd.get_data(c.DO_GRANTS), "GET DATA DF22: first 256 bytes, 61xx", None)
    t.raw(cmd.get_data(c.DO_CARD_SERIAL), "GET DATA DF24 instead of GET RESPONSE")
    t.raw(cmd.get_response(256), "GET RESPONSE: the grants' rest is gone", SW.CONDITIONS_NOT_SATISFIED)


@GET_DATA.case("short_le", GRANTS, "Le smaller than the object: Le bytes, then 61xx for the rest.")
def _gd_short_le(t: Tap) -> None:
    t.select(SELECT_NOTE)
    data, sw = t.exchange(cmd.get_data(c.DO_CARD_SERIAL, le=4), "GET DATA DF24 with Le=04", None)
    t.steps.append({"op": "raw"})
    check(sw == 0x6104 and data == SERIAL[:4], "61 04")
    t.raw(cmd.get_response(4), "GET RESPONSE Le=04: the last 4 bytes")
    t.raw(cmd.get_data(c.DO_GRANTS, le=0x80), "GET DATA DF22 with Le=80: 128 bytes, 61 00 (256+ left)", None)
    t.raw(cmd.get_response(0x80), "GET RESPONSE Le=80: 128 more", None)
    t.raw(cmd.get_response(256), "GET RESPONSE Le=00: the rest")
    t.raw(cmd.get_response(0x10), "GET RESPONSE P1P2 00 00 but nothing left", SW.CONDITIONS_NOT_SATISFIED)


@GET_DATA.case("get_response_bad_p1p2", GRANTS, "GET RESPONSE with P1P2 other than 0000: 6A86.")
def _gd_get_response_p1p2(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(cmd.get_data(c.DO_GRANTS), "GET DATA DF22: 61xx", None)
    t.raw(bytes.fromhex("00C0010000"), "GET RESPONSE P1=01", SW.INCORRECT_P1P2)

"""Vector cases of DEBIT and READ LOG: spending a grant or checking in, MACed under the DEBIT key of the
VERIFY; the card's signed log.
"""

from __future__ import annotations

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.constants import SW
from card_applet_spec.constants import Program as P
from card_applet_spec.pin_envelope import debit_mac
from card_applet_spec.vectorkit.case import SELECT_NOTE, CaseGroup
from card_applet_spec.vectorkit.inputs import (
    GRANT_FROM,
    GRANT_UNTIL,
    PIN,
    TERMINAL_TIME,
    fixed_bytes,
)
from card_applet_spec.vectorkit.payloads import (
    debit_fields,
    flip_last,
)
from card_applet_spec.vectorkit.profiles import BLANK, GRANTS
from card_applet_spec.vectorkit.recorder import check
from card_applet_spec.vectorkit.tap import Tap

DEBIT = CaseGroup(
    "debit",
    "DEBIT",
    "Spending a grant (cash, quantity) or checking in (eligibility, application).",
)
READ_LOG = CaseGroup(
    "read_log",
    "READ LOG",
    "The card's signed transaction log, newest first.",
)


# DEBIT ---------------------------------------------------------------------------------------------


@DEBIT.case(
    "cash_ok",
    GRANTS,
    "A redemption: SELECT, credential, INTERNAL AUTHENTICATE (counter 0), VERIFY, DEBIT BLT 150000 with "
    "expected counter 0. The card answers E1 { C2 47-byte record, 9E sig over KHBS-TX1 || record }.",
)
def _d_cash(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_credential()
    t.authenticate("challenge 5")
    t.verify_pin(PIN)
    rec = t.debit(P.BLT, 150_000, 0, label="nonce cash 1")
    check(rec is not None and rec.balance_after == 450_000 and rec.tx_type == c.TxType.DEBIT, "record")


@DEBIT.case("quantity_ok", GRANTS, "SEMBAKO (quantity, grams): 2500 g of 10000.")
def _d_quantity(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    rec = t.debit(P.SEMBAKO, 2_500, 0, label="nonce qty 1")
    check(rec is not None and rec.balance_after == 7_500, "record")


@DEBIT.case(
    "eligibility_check_in",
    GRANTS,
    "KESEHATAN (eligibility) with amount 0: a CHECK_IN (02) record, balance unchanged (FFFFFFFF).",
)
def _d_check_in(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    rec = t.debit(P.KESEHATAN, 0, 0, label="nonce health 1")
    check(rec is not None and rec.tx_type == c.TxType.CHECK_IN and rec.balance_after == c.UNLIMITED, "record")


@DEBIT.case(
    "application_check_in",
    GRANTS,
    "LAPANGAN_KERJA (application status) with amount 0: CHECK_IN, balance_after = status (1 ELIGIBLE).",
)
def _d_application(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    rec = t.debit(P.LAPANGAN_KERJA, 0, 0, label="nonce job 1")
    check(rec is not None and rec.tx_type == c.TxType.CHECK_IN and rec.balance_after == 1, "record")


@DEBIT.case("without_pin", GRANTS, "DEBIT without VERIFY in this session: 6982.")
def _d_no_pin(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.debit(P.BLT, 10_000, 0, label="nonce nopin", sw=SW.SECURITY_STATUS_NOT_SATISFIED)


@DEBIT.case(
    "pin_consumed",
    GRANTS,
    "One VERIFY authorises one DEBIT: the second DEBIT gets 6982 until the PIN is presented again.",
)
def _d_consumed(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 10_000, 0, label="nonce consumed 1")
    t.debit(P.BLT, 10_000, 1, label="nonce consumed 2", sw=SW.SECURITY_STATUS_NOT_SATISFIED)
    t.verify_pin(PIN)
    rec = t.debit(P.BLT, 10_000, 1, label="nonce consumed 3")
    check(rec is not None and rec.tx_counter == 2 and rec.balance_after == 580_000, "record")


@DEBIT.case(
    "beyond_balance",
    GRANTS,
    "More than the remaining balance: 9101. The refused DEBIT used up the PIN verification (6982 next); "
    "after a new VERIFY the exact balance goes through (balance 0).",
)
def _d_beyond(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 600_001, 0, label="nonce beyond 1", sw=SW.INSUFFICIENT_BALANCE)
    t.debit(P.BLT, 600_000, 0, label="nonce beyond 2", sw=SW.SECURITY_STATUS_NOT_SATISFIED)
    t.verify_pin(PIN)
    rec = t.debit(P.BLT, 600_000, 0, label="nonce beyond 3")
    check(rec is not None and rec.balance_after == 0, "record")


@DEBIT.case("stale_counter", GRANTS, "An expected counter that is not the card's: 9102.")
def _d_stale(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 10_000, 0, label="nonce stale 1")
    t.verify_pin(PIN)
    t.debit(
        P.BLT,
        10_000,
        0,
        label="nonce stale 2",
        note="DEBIT with expected counter 0 (card: 1)",
        sw=SW.COUNTER_MISMATCH,
    )
    t.verify_pin(PIN)
    t.debit(
        P.BLT,
        10_000,
        5,
        label="nonce stale 3",
        note="DEBIT with expected counter 5 (card: 1)",
        sw=SW.COUNTER_MISMATCH,
    )


@DEBIT.case(
    "outside_validity",
    GRANTS,
    "Terminal time after valid_until or before valid_from of the grant: 9103 (bounds are inclusive).",
)
def _d_validity(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 10_000, 0, label="nonce late", terminal_time=GRANT_UNTIL + 1, sw=SW.GRANT_NOT_VALID_NOW)
    t.verify_pin(PIN)
    t.debit(P.BLT, 10_000, 0, label="nonce early", terminal_time=GRANT_FROM - 1, sw=SW.GRANT_NOT_VALID_NOW)
    t.verify_pin(PIN)
    t.debit(P.BLT, 10_000, 0, label="nonce last second", terminal_time=GRANT_UNTIL)


@DEBIT.case("no_grant", GRANTS, "A program the card has no grant for: 6A88.")
def _d_no_grant(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.PENDIDIKAN, 0, 0, label="nonce school", sw=SW.DATA_NOT_FOUND)
    t.verify_pin(PIN)
    t.debit(0x63, 1, 0, label="nonce program 99", sw=SW.DATA_NOT_FOUND)


@DEBIT.case("eligibility_with_amount", GRANTS, "An amount above 0 for an eligibility program: 9105.")
def _d_elig_amount(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.KESEHATAN, 1, 0, label="nonce health 2", sw=SW.WRONG_KIND)
    t.verify_pin(PIN)
    t.debit(P.LAPANGAN_KERJA, 2, 0, label="nonce job 2", sw=SW.WRONG_KIND)


@DEBIT.case("cash_zero", GRANTS, "Amount 0 for a cash or quantity program: 6A80.")
def _d_cash_zero(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 0, 0, label="nonce zero", sw=SW.WRONG_DATA)
    t.verify_pin(PIN)
    t.debit(P.SEMBAKO, 0, 0, label="nonce zero 2", sw=SW.WRONG_DATA)


@DEBIT.case(
    "wrong_lc",
    GRANTS,
    "DEBIT data of other than 37 bytes: 6700 — the 29 bytes of fields without a MAC included; P1P2 other "
    "than 0000: 6A86. These are checked before the PIN, so they do not use up the verification.",
)
def _d_wrong_lc(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    key = t.last_debit_key
    fields = debit_fields(P.BLT, 1_000, fixed_bytes("nonce lc", 8), TERMINAL_TIME, 0)
    data = cmd.debit_data(key, fields)
    t.raw(cmd.debit(fields), "DEBIT with the 29 bytes of fields and no MAC", SW.WRONG_LENGTH)
    t.raw(cmd.debit(data[:-1]), "DEBIT with 36 bytes", SW.WRONG_LENGTH)
    t.raw(cmd.debit(data + b"\x00"), "DEBIT with 38 bytes", SW.WRONG_LENGTH)
    t.raw(
        cmd.debit(cmd.debit_data(key, fields, bytes([0x80, c.INS_DEBIT, 1, 0])), p1=0x01),
        "DEBIT P1=01",
        SW.INCORRECT_P1P2,
    )
    t.debit(
        P.BLT, 1_000, 0, label="nonce lc", note="DEBIT, well formed: the malformed ones did not use the PIN"
    )


@DEBIT.case(
    "wrong_mac",
    GRANTS,
    "A DEBIT whose MAC is not the one of its fields under the DEBIT key of the VERIFY (one MAC byte changed; "
    "then one field byte changed, as a relay would, under the right MAC): 6982, and the verification is "
    "consumed — the same DEBIT with the right MAC then gets 6982 too, so a MAC cannot be guessed across "
    "tries. After a new VERIFY, its key's MAC goes through.",
)
def _d_wrong_mac(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    key = t.last_debit_key
    fields = debit_fields(P.BLT, 1_000, fixed_bytes("nonce mac 1", 8), TERMINAL_TIME, 0)
    t.raw(
        cmd.debit(flip_last(cmd.debit_data(key, fields))),
        "DEBIT, last MAC byte changed",
        SW.SECURITY_STATUS_NOT_SATISFIED,
    )
    t.raw(
        cmd.debit(cmd.debit_data(key, fields)),
        "DEBIT with the right MAC after the wrong one: the verification was consumed",
        SW.SECURITY_STATUS_NOT_SATISFIED,
    )
    t.verify_pin(PIN)
    key = t.last_debit_key
    relayed = debit_fields(P.BLT, 600_000, fixed_bytes("nonce mac 1", 8), TERMINAL_TIME, 0)
    t.raw(
        cmd.debit(relayed + debit_mac(key, cmd.DEBIT_HEADER, fields)),
        "DEBIT amount changed to 600000 by a relay, with the terminal's MAC of amount 1000",
        SW.SECURITY_STATUS_NOT_SATISFIED,
    )
    t.verify_pin(PIN)
    rec = t.debit(P.BLT, 1_000, 0, label="nonce mac 2")
    check(rec is not None and rec.balance_after == 599_000, "record")


@DEBIT.case(
    "verified_by_another_terminal",
    GRANTS,
    "A relay, or a second terminal, makes its own VERIFY after the terminal's (a new envelope, a new "
    "DEBIT key). The terminal's DEBIT, MACed under the key of its own VERIFY, gets 6982 and consumes the "
    "verification; the other key's DEBIT then gets 6982 too. Only the key of the VERIFY that holds the "
    "verification authorises a DEBIT.",
)
def _d_other_terminal(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN, "VERIFY by the terminal")
    ours = t.last_debit_key
    t.verify_pin(PIN, "VERIFY by another terminal (a new envelope, its own DEBIT key)")
    theirs = t.last_debit_key
    check(ours != theirs, "two VERIFYs, two DEBIT keys")
    fields = debit_fields(P.BLT, 1_000, fixed_bytes("nonce other 1", 8), TERMINAL_TIME, 0)
    t.raw(
        cmd.debit(cmd.debit_data(ours, fields)),
        "DEBIT MACed under the key of the first VERIFY (not the one the card holds)",
        SW.SECURITY_STATUS_NOT_SATISFIED,
    )
    t.raw(
        cmd.debit(cmd.debit_data(theirs, fields)),
        "DEBIT MACed under the key of the second VERIFY: the verification was consumed",
        SW.SECURITY_STATUS_NOT_SATISFIED,
    )
    t.debit_key = None
    t.verify_pin(PIN)
    rec = t.debit(P.BLT, 1_000, 0, label="nonce other 2")
    check(rec is not None and rec.tx_counter == 1, "record")


@DEBIT.case("in_personalisation", BLANK, "DEBIT before activation: 6985.")
def _d_perso(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.debit(P.BLT, 1_000, 0, label="nonce blank", sw=SW.CONDITIONS_NOT_SATISFIED)


# READ LOG ------------------------------------------------------------------------------------------


def _three_debits(t: Tap) -> None:
    t.select(SELECT_NOTE)
    for i, (program, amount) in enumerate([(P.BLT, 100_000), (P.SEMBAKO, 1_000), (P.KESEHATAN, 0)]):
        t.verify_pin(PIN)
        t.debit(program, amount, i, label=f"nonce log {i + 1}")


@READ_LOG.case(
    "all",
    GRANTS,
    "READ LOG P2=00 after three DEBITs: all records, newest first, E1 { C2 record, 9E sig } each; "
    "over 256 bytes, so 61xx and GET RESPONSE.",
)
def _rl_all(t: Tap) -> None:
    _three_debits(t)
    records = t.read_log(0)
    check([r.tx_counter for r in records] == [3, 2, 1], "newest first")


@READ_LOG.case("last_one", GRANTS, "READ LOG P2=01: the newest record only.")
def _rl_last(t: Tap) -> None:
    _three_debits(t)
    records = t.read_log(1)
    check([r.tx_counter for r in records] == [3], "newest")


@READ_LOG.case("empty", GRANTS, "READ LOG on a card without transactions: 9000, no data.")
def _rl_empty(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_log(0)


@READ_LOG.case(
    "wraps_at_capacity",
    GRANTS,
    "17 check-ins: the log keeps the newest 16 (counters 17..2), read in 256-byte parts (61 00 = 256 "
    "or more left).",
)
def _rl_wrap(t: Tap) -> None:
    t.select(SELECT_NOTE)
    for i in range(17):
        t.verify_pin(PIN)
        t.debit(P.KESEHATAN, 0, i, label=f"nonce wrap {i + 1}")
    records = t.read_log(0)
    check([r.tx_counter for r in records] == list(range(17, 1, -1)), "16 newest")


@READ_LOG.case("p2_too_big", GRANTS, "READ LOG P2 above 16 (the log capacity): 6A86; P1 not 00: 6A86.")
def _rl_p2(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(cmd.read_log(17), "READ LOG P2=11", SW.INCORRECT_P1P2)
    t.raw(bytes.fromhex("80B2010000"), "READ LOG P1=01", SW.INCORRECT_P1P2)

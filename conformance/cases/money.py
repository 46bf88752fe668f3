"""Grants, DEBIT, the log and the life cycle (SPEC §5.12–§5.15, §9.2–§9.4, §9.6)."""

from __future__ import annotations

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.constants import Program as P
from card_applet_spec.issuer import Signed
from card_applet_spec.tlv import tlv
from card_applet_spec.vectorkit import inputs as v
from conformance.cases.base import Case, Context, case
from conformance.chip import OK, SW, Chip, expect

CASES: list[Case] = []
L = c.LifeCycle


def load_profile_grants(chip: Chip) -> list[Signed]:
    """The grants of the vectors' ``personalised_with_grants`` profile, each one sequence number above
    what the card holds (a reused test card keeps its grant history)."""
    held = {b.program: b.grant_seq for b in chip.state().balances}
    loaded = []
    for program, amount, _unit in v.PROFILE_GRANTS:
        signed = chip.grant(program, amount, held.get(program, 0) + 1)
        chip.load_grant(signed)
        loaded.append(signed)
    return loaded


@case(
    CASES,
    "load_grant:flow",
    "9.4, 5.14, 5.4",
    "grant load, and GET DATA DF22 as loaded",
    "4 LOAD GRANT 9000; AuthBody balances = amounts and grant_seq; DF22 = E3 {C3, C4, 9E} per grant in "
    "programme order",
)
def _grant_flow(chip: Chip, ctx: Context) -> str:
    chip.select()
    loaded = load_profile_grants(chip)
    body = chip.state()
    got = {(b.program, b.grant_seq, b.remaining) for b in body.balances}
    for signed, (program, amount, _) in zip(loaded, v.PROFILE_GRANTS, strict=True):
        seq = int.from_bytes(signed.body[12:16], "big")
        expect((program, seq, amount) in got, f"balance {program} seq {seq} = {amount}", str(sorted(got)))
    grants = chip.get_data(c.DO_GRANTS)
    want = b"".join(
        tlv(
            c.TAG_SIGNED_GRANT,
            tlv(c.TAG_GRANT_BODY, s.body) + tlv(c.TAG_KEY_ID, s.kid) + tlv(c.TAG_SIGNATURE, s.signature),
        )
        for s in loaded
    )
    expect(grants == want, "DF22 = the four grants re-encoded", grants.hex().upper())
    return "4 grants loaded and read back"


@case(
    CASES,
    "load_grant:refusals",
    "5.14, 10.3",
    "a grant is never loaded twice; forged and foreign grants are refused",
    "same grant 9104; older 9104; forged signature 6300; unknown kid 6A88; other card 6A80; kind "
    "mismatch 9105; issuer_2's newer grant 9000; balances unchanged by every refusal",
)
def _grant_refusals(chip: Chip, ctx: Context) -> str:
    chip.select()
    seq, _ = chip.balance(P.BLT)
    same = chip.grant(P.BLT, 600_000, seq)
    before = chip.state()
    chip.load_grant(same, SW.SEQUENCE_NOT_NEWER)
    chip.load_grant(chip.grant(P.BLT, 999, seq - 1 if seq > 1 else seq), SW.SEQUENCE_NOT_NEWER)
    body = v.grant_body(P.BLT, 600_000, seq=seq + 1, serial=chip.serial)
    chip.load_grant(v.forged(body.encode(), body.signed_message(), v.ISSUER_1.kid), SW.AUTHENTICATION_FAILED)
    chip.load_grant(v.ROGUE.grant(body), SW.DATA_NOT_FOUND)
    chip.load_grant(
        v.ISSUER_1.grant(v.grant_body(P.BLT, 1, seq=seq + 1, serial=v.OTHER_SERIAL)), SW.WRONG_DATA
    )
    chip.load_grant(chip.grant(P.BLT, 1, seq + 1, kind=c.Kind.QUANTITY), SW.WRONG_KIND)
    expect(chip.state().balances == before.balances, "balances unchanged", "changed")
    chip.load_grant(chip.grant(P.BLT, 600_000, seq + 1, signer=v.ISSUER_2))
    expect(chip.balance(P.BLT) == (seq + 1, 600_000), f"BLT seq {seq + 1} = 600000", "other")
    return "9104, 9104, 6300, 6A88, 6A80, 9105, 9000"


@case(
    CASES,
    "flow:redemption",
    "9.2, 5.12, 6.5, 6.6",
    "redemption: check tap, VERIFY, DEBIT; the card-signed record",
    "E1 { C2 47-byte TxRecord echoing the DEBIT, counter + 1, balance − amount, 9E verifying with the "
    "chip's key over KHBS-TX1 || record }; AuthBody after: counter + 1, remaining − amount",
)
def _redemption(chip: Chip, ctx: Context) -> str:
    chip.select()
    state = chip.state()
    seq, remaining = next((b.grant_seq, b.remaining) for b in state.balances if b.program == P.BLT)
    key = chip.verify()
    assert key is not None
    _, rec = chip.debit(key.debit_key, chip.debit_fields(P.BLT, 1_000, state.tx_counter))
    assert rec is not None
    expect(
        (rec.tx_type, rec.grant_seq, rec.balance_after) == (c.TxType.DEBIT, seq, remaining - 1_000),
        f"DEBIT record, seq {seq}, balance {remaining - 1000}",
        f"{rec.tx_type}, {rec.grant_seq}, {rec.balance_after}",
    )
    after = chip.state()
    expect(after.tx_counter == state.tx_counter + 1, f"counter {state.tx_counter + 1}", str(after.tx_counter))
    expect(chip.balance(P.BLT)[1] == remaining - 1_000, "remaining − 1000", "other")
    return f"record {rec.tx_counter} verified, balance {rec.balance_after}"


@case(
    CASES,
    "debit:one_debit_per_verify",
    "5.12, 10.6",
    "one VERIFY authorises one DEBIT attempt; refusals consume it too",
    "DEBIT without VERIFY 6982; after a 9000 DEBIT the same DEBIT again 6982; 9101, 9102, 9103, 6A88, "
    "9105, 6A80 each consume the verification (6982 next); a wrong MAC 6982 and consumed; a 36-byte "
    "DEBIT 6700 keeps it",
)
def _one_debit(chip: Chip, ctx: Context) -> str:
    chip.select()
    counter = chip.state().tx_counter
    _, remaining = chip.balance(P.BLT)
    chip.debit(bytes(16), chip.debit_fields(P.BLT, 1, counter), SW.SECURITY_STATUS_NOT_SATISFIED)
    key = chip.verify()
    assert key is not None
    fields = chip.debit_fields(P.BLT, 500, counter)
    chip.debit(key.debit_key, fields)
    chip.debit(key.debit_key, chip.debit_fields(P.BLT, 500, counter + 1), SW.SECURITY_STATUS_NOT_SATISFIED)
    counter += 1
    refusals = [
        (chip.debit_fields(P.BLT, remaining + 1, counter), SW.INSUFFICIENT_BALANCE),
        (chip.debit_fields(P.BLT, 1, counter + 5), SW.COUNTER_MISMATCH),
        (chip.debit_fields(P.BLT, 1, counter, time=v.GRANT_UNTIL + 1), SW.GRANT_NOT_VALID_NOW),
        (chip.debit_fields(P.PENDIDIKAN, 0, counter), SW.DATA_NOT_FOUND),
        (chip.debit_fields(P.KESEHATAN, 1, counter), SW.WRONG_KIND),
        (chip.debit_fields(P.SEMBAKO, 0, counter), SW.WRONG_DATA),
    ]
    for bad, sw in refusals:
        key = chip.verify()
        assert key is not None
        chip.debit(key.debit_key, bad, sw)
        chip.debit(key.debit_key, chip.debit_fields(P.BLT, 1, counter), SW.SECURITY_STATUS_NOT_SATISFIED)
    key = chip.verify()
    assert key is not None
    good = chip.debit_fields(P.BLT, 1, counter)
    data = bytearray(cmd_debit_data(key.debit_key, good))
    data[-1] ^= 1
    chip.raw(_debit_apdu(bytes(data)), SW.SECURITY_STATUS_NOT_SATISFIED, "DEBIT with a wrong MAC")
    chip.debit(key.debit_key, good, SW.SECURITY_STATUS_NOT_SATISFIED)
    key = chip.verify()
    assert key is not None
    chip.raw(_debit_apdu(cmd_debit_data(key.debit_key, good)[:-1]), SW.WRONG_LENGTH, "DEBIT of 36 bytes")
    chip.debit(key.debit_key, good)
    expect(chip.state().tx_counter == counter + 1, f"counter {counter + 1}: two DEBITs went through", "other")
    return "6982 ×9 after the verification was spent, 9101 9102 9103 6A88 9105 6A80, 6700 kept it"


def cmd_debit_data(key: bytes, fields: bytes) -> bytes:
    return cmd.debit_data(key, fields)


def _debit_apdu(data: bytes) -> bytes:
    return cmd.debit(data).encode()


@case(
    CASES,
    "debit:check_in",
    "5.12, 8",
    "CHECK-IN for an eligibility and an application programme",
    "amount 0: TxRecord type 02, balance_after FFFFFFFF (KESEHATAN) and the status (LAPANGAN_KERJA)",
)
def _check_in(chip: Chip, ctx: Context) -> str:
    chip.select()
    for program in (P.KESEHATAN, P.LAPANGAN_KERJA):
        counter = chip.state().tx_counter
        _, remaining = chip.balance(program)
        key = chip.verify()
        assert key is not None
        _, rec = chip.debit(key.debit_key, chip.debit_fields(program, 0, counter + 0))
        assert rec is not None
        expect(
            (rec.tx_type, rec.balance_after) == (c.TxType.CHECK_IN, remaining),
            f"CHECK-IN, balance {remaining}",
            f"{rec.tx_type}, {rec.balance_after}",
        )
    return "two CHECK-IN records"


@case(
    CASES,
    "read_log:recovery",
    "9.3, 5.13",
    "the log gives back a DEBIT answer byte for byte, newest first",
    "READ LOG 01 = the last DEBIT's E1 exactly; READ LOG 00: up to 16 records, counters descending, "
    "each signature verifying; P2 > 16 6A86",
)
def _log(chip: Chip, ctx: Context) -> str:
    chip.select()
    counter = chip.state().tx_counter
    key = chip.verify()
    assert key is not None
    answer, _ = chip.debit(key.debit_key, chip.debit_fields(P.SEMBAKO, 10, counter))
    chip.select()
    data = chip.raw(cmd_read_log(1), OK, "READ LOG 01")
    expect(data == answer, "the DEBIT's answer", data.hex().upper())
    entries = chip.read_log(0)
    counters = [e.record.tx_counter for e in entries]
    want = list(range(counter + 1, max(counter + 1 - c.LOG_CAPACITY, 0), -1))
    expect(counters == want, f"counters {want[:3]}… newest first", str(counters[:3]))
    chip.raw(cmd_read_log(17), SW.INCORRECT_P1P2, "READ LOG P2=11")
    return f"{len(entries)} records, newest {counters[0]}"


def cmd_read_log(n: int) -> bytes:
    return cmd.read_log(n).encode()


@case(
    CASES,
    "set_status:block_unblock",
    "9.6, 5.15, 3.3",
    "block and unblock by issuer-signed status changes",
    "block 9000: FCI and AuthBody 8F; VERIFY, LOAD GRANT 6985; READ LOG and GET DATA work; block again "
    "6985; unblock 9000 (0F); the old block replayed 9104",
)
def _block(chip: Chip, ctx: Context) -> str:
    chip.select()
    block = chip.status(L.BLOCKED)
    chip.set_status(L.BLOCKED, block)
    expect(chip.select().life_cycle == L.BLOCKED, "FCI 8F", "other")
    expect(chip.state().life_cycle == L.BLOCKED, "AuthBody 8F", "other")
    chip.verify(want=SW.CONDITIONS_NOT_SATISFIED)
    seq, _ = chip.balance(P.BLT)
    chip.load_grant(chip.grant(P.BLT, 1, seq + 1), SW.CONDITIONS_NOT_SATISFIED)
    chip.read_log(1)
    chip.get_data(c.DO_CREDENTIAL)
    chip.set_status(L.BLOCKED, chip.status(L.BLOCKED), SW.CONDITIONS_NOT_SATISFIED)
    chip.set_status(L.OPERATIONAL, chip.status(L.OPERATIONAL))
    expect(chip.select().life_cycle == L.OPERATIONAL, "FCI 0F", "other")
    chip.set_status(L.BLOCKED, block, SW.SEQUENCE_NOT_NEWER)
    return "blocked, refused, unblocked, replay 9104"


def ensure_grants(chip: Chip) -> None:
    """Before the cases: the profile's grants, (re)loaded when one is missing or BLT runs low."""
    chip.select()
    held = {b.program: b.remaining for b in chip.state().balances}
    if any(p not in held for p, _, _ in v.PROFILE_GRANTS) or held[P.BLT] < 100_000:
        load_profile_grants(chip)

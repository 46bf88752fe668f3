"""Cases that leave the card unusable for the holder (SPEC §5.7, §5.9, §5.15): last, and only with
``--destructive``. A card that ran them is a sample, not a card to hand out."""

from __future__ import annotations

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.vectorkit import inputs as v
from conformance.cases.base import Case, Context, case
from conformance.chip import SW, Chip, expect

CASES: list[Case] = []
L = c.LifeCycle


@case(
    CASES,
    "verify:pin_blocked",
    "5.7, 10.5",
    "three wrong PINs block the PIN",
    "63C2, 63C1, 63C0; then the right PIN 6983, the status query 6983, CHANGE REFERENCE DATA 6983; "
    "AuthBody 0 tries",
    destructive=True,
)
def _blocked(chip: Chip, ctx: Context) -> str:
    chip.select()
    for left in (2, 1, 0):
        chip.verify(v.WRONG_PIN, want=c.sw_pin_tries(left))
    chip.verify(want=SW.PIN_BLOCKED)
    _, sw = chip.send(cmd.verify())
    expect(sw == SW.PIN_BLOCKED, "status 6983", f"{sw:04X}")
    chip.change_pin(chip.pin, v.NEW_PIN, want=SW.PIN_BLOCKED)
    expect(chip.state().pin_tries == 0, "AuthBody 0 tries", "other")
    return "blocked after 3 wrong PINs"


@case(
    CASES,
    "reset_retry_counter:holder_check_blocked",
    "5.9, 4.4",
    "five wrong NIKs block the holder check",
    "6984 ×5, then 6983 even with the right NIK",
    destructive=True,
)
def _holder_blocked(chip: Chip, ctx: Context) -> str:
    chip.select()
    for _ in range(c.HOLDER_CHECK_MAX_TRIES):
        chip.reset_pin(v.RESET_PIN, nik=v.OTHER_NIK, want=SW.HOLDER_MISMATCH)
    chip.reset_pin(v.RESET_PIN, want=SW.PIN_BLOCKED)
    return "6984 ×5, 6983"


@case(
    CASES,
    "set_status:terminate",
    "5.15, 3.3",
    "termination is final",
    "SET STATUS FF 9000; SELECT answers (FCI life cycle FF); GET DATA, INTERNAL AUTHENTICATE, READ LOG "
    "and SET STATUS 0F 6985",
    destructive=True,
)
def _terminate(chip: Chip, ctx: Context) -> str:
    chip.select()
    chip.set_status(L.TERMINATED, chip.status(L.TERMINATED))
    expect(chip.select().life_cycle == L.TERMINATED, "FCI FF", "other")
    chip.get_data(c.DO_CREDENTIAL, SW.CONDITIONS_NOT_SATISFIED)
    chip.authenticate(want=SW.CONDITIONS_NOT_SATISFIED)
    chip.raw(cmd.read_log(1), SW.CONDITIONS_NOT_SATISFIED, "READ LOG")
    chip.set_status(L.OPERATIONAL, chip.status(L.OPERATIONAL), SW.CONDITIONS_NOT_SATISFIED)
    return "terminated; only SELECT answers"

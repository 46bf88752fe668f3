"""What a chip must guarantee across a power cut, and how fast it answers (SPEC §5.1.9, §5.7, §9.3,
§10.4). Tearing cases need a power switch or a tester; timing cases run with ``--timing``."""

from __future__ import annotations

from card_applet_spec import constants as c
from card_applet_spec.constants import Program as P
from conformance.cases.base import Case, Context, case
from conformance.chip import SW, Chip, Mismatch, expect
from conformance.report import Timing
from conformance.tearing import TearPoint
from terminal.card.connection import CardConnectionError

CASES: list[Case] = []

#: The kit's budgets for a chip, reader round trips included (SPEC.md names none yet): a check tap
#: must leave room in a kiosk's 1-second card-to-screen target, a redemption in a counter's queue.
BUDGET_MS = {"check tap (3 APDUs)": 300.0, "redemption (5 APDUs)": 800.0}
SAMPLES = 5


def _torn(chip: Chip, ctx: Context, point: TearPoint, what: str, send: object) -> bool:
    """Arm the switch, send (``send()``), restore power, reconnect; True when the card gave no answer."""
    assert ctx.switch is not None and callable(send)
    ctx.switch.arm(point, what)
    try:
        send()
        torn = False
    except CardConnectionError:
        torn = True
    ctx.switch.restore()
    chip.reconnect()
    chip.select()
    return torn


class Inconclusive(Exception):
    """The cut did not land where it proves anything (a tester's hand): run the case again."""


@case(
    CASES,
    "tearing:verify_spends_try_first",
    "5.7, 10.4, B",
    "the PIN try is spent before the comparison",
    "a VERIFY of the right PIN (2 tries left) cut just "
    "after its first write: 1 try left after power-up (not 2, not 3)",
    needs_switch=True,
)
def _verify_tear(chip: Chip, ctx: Context) -> str:
    chip.verify(chip_wrong(chip), want=c.sw_pin_tries(2))
    chip.ensure_nonce()
    torn = _torn(chip, ctx, TearPoint.AFTER_FIRST_WRITE, "VERIFY (right PIN)", lambda: chip.verify())
    tries = chip.tries()
    chip.verify()  # restores the tries (or shows the PIN blocked)
    assert ctx.switch is not None
    if torn and tries == 1:
        return "torn after the first write: 1 try left"
    if not ctx.switch.exact and (not torn or tries == 2):
        raise Inconclusive(f"{'answered' if not torn else 'torn before any write'}: pull again")
    raise Mismatch(
        "torn after the first write: 1 try left (the try spent before comparing)",
        f"{'answered' if not torn else 'torn'}, {tries} tries left",
    )


def chip_wrong(chip: Chip) -> str:
    return "000000" if chip.pin != "000000" else "111111"


@case(
    CASES,
    "tearing:debit",
    "5.1.9, 9.3, 10.4",
    "a DEBIT cut anywhere: all or nothing, and the log gives the record back",
    "for each cut (before the first write, after it, answer lost): counter n or n + 1; at n + 1 the "
    "balance is debited once and READ LOG 01 is the terminal's record; at n nothing changed",
    needs_switch=True,
)
def _debit_tear(chip: Chip, ctx: Context) -> str:
    seen = []
    for point in TearPoint:
        chip.select()
        state = chip.state()
        _, remaining = chip.balance(P.BLT)
        key = chip.verify()
        assert key is not None
        fields = chip.debit_fields(P.BLT, 100, state.tx_counter)
        torn = _torn(chip, ctx, point, "DEBIT", lambda f=fields, k=key.debit_key: chip.debit(k, f))
        after = chip.state()
        _, now = chip.balance(P.BLT)
        if after.tx_counter == state.tx_counter:
            expect(now == remaining, "nothing debited at counter n", f"balance {now}")
            outcome = "not committed"
        else:
            expect(
                after.tx_counter == state.tx_counter + 1 and now == remaining - 100,
                "counter n + 1 and one debit",
                f"counter {after.tx_counter}, balance {now}",
            )
            head = chip.read_log(1)[0].record
            expect(
                head.terminal_nonce == fields[13:21] and head.amount == 100,
                "the record of this DEBIT",
                "another record",
            )
            outcome = "committed, recovered from the log"
        assert ctx.switch is not None
        if ctx.switch.exact and torn:
            want = (
                "not committed"
                if point is TearPoint.BEFORE_FIRST_WRITE
                else "committed, recovered from the log"
            )
            expect(outcome == want, f"{point.name}: {want}", outcome)
        seen.append(f"{point.name}: {outcome if torn else 'answered'}")
    return "; ".join(seen)


@case(
    CASES,
    "tearing:load_grant",
    "5.14, 5.1.9",
    "a LOAD GRANT cut: the old grant or the new one",
    "after power-up the BLT grant is the old (seq n) or the new (seq n + 1, full amount); a second "
    "load of the new one 9104",
    needs_switch=True,
)
def _grant_tear(chip: Chip, ctx: Context) -> str:
    chip.select()
    seq, remaining = chip.balance(P.BLT)
    signed = chip.grant(P.BLT, 600_000, seq + 1)
    _torn(chip, ctx, TearPoint.AFTER_FIRST_WRITE, "LOAD GRANT", lambda: chip.load_grant(signed))
    now = chip.balance(P.BLT)
    expect(
        now in ((seq, remaining), (seq + 1, 600_000)),
        f"({seq}, {remaining}) or ({seq + 1}, 600000)",
        str(now),
    )
    if now[0] == seq:
        chip.load_grant(signed)
    chip.load_grant(signed, SW.SEQUENCE_NOT_NEWER)
    return f"grant seq {now[0]} after the cut"


@case(
    CASES,
    "timing:check_tap",
    "9.1",
    "check tap time on the chip",
    f"worst of {SAMPLES} ≤ {BUDGET_MS['check tap (3 APDUs)']:.0f} ms",
    timing=True,
)
def _time_tap(chip: Chip, ctx: Context) -> str:
    samples = []
    for _ in range(SAMPLES):
        mark = chip.link.mark()
        chip.select()
        chip.get_data(c.DO_CREDENTIAL)
        chip.authenticate()
        samples.append(sum(e.seconds for e in chip.link.since(mark)) * 1000)
    return _budget(ctx, "check tap (3 APDUs)", samples)


@case(
    CASES,
    "timing:redemption",
    "9.2",
    "redemption time on the chip",
    f"worst of {SAMPLES} ≤ {BUDGET_MS['redemption (5 APDUs)']:.0f} ms",
    timing=True,
)
def _time_redemption(chip: Chip, ctx: Context) -> str:
    samples = []
    for _ in range(SAMPLES):
        mark = chip.link.mark()
        chip.select()
        chip.get_data(c.DO_CREDENTIAL)
        counter = chip.state().tx_counter
        key = chip.verify()
        assert key is not None
        chip.debit(key.debit_key, chip.debit_fields(P.BLT, 100, counter))
        samples.append(sum(e.seconds for e in chip.link.since(mark)) * 1000)
    return _budget(ctx, "redemption (5 APDUs)", samples)


def _budget(ctx: Context, flow: str, samples: list[float]) -> str:
    timing = Timing(flow, tuple(samples), BUDGET_MS[flow])
    ctx.timings.append(timing)
    expect(timing.worst_ms <= timing.budget_ms, f"≤ {timing.budget_ms:.0f} ms", f"{timing.worst_ms:.1f} ms")
    return f"worst {timing.worst_ms:.1f} ms of {len(samples)}"

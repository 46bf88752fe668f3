"""Step 5 of the redemption ingest: what makes a verified record suspicious, and the flags it raises.

Double spending against the card's other records (stored, or earlier in the batch): the same counter
with other content (``counter_conflict``), counters that run against time (``counter_regression``), the
card in two regencies within the window (``two_places``). What a record claims that cannot be: a time
ahead of the server's clock (``implausible_time``), a programme the province does not run
(``unknown_program``). A flagged record is stored all the same, as evidence, flagged for review, and
never counted in the public figures (transparency counts unflagged records only); a clone flag may
suspend the card (``auto_suspend_on_flag``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import select

from card_applet_spec import constants as c
from server_stub.models import Flag, Redemption
from server_stub.services import cards as cards_service
from server_stub.services.context import Ctx
from server_stub.services.ingest import db
from server_stub.services.ingest.parse import Candidate

FLAG_COUNTER_CONFLICT = "counter_conflict"
FLAG_COUNTER_REGRESSION = "counter_regression"
FLAG_TWO_PLACES = "two_places"
FLAG_UNKNOWN_TERMINAL = "unknown_terminal"
FLAG_IMPLAUSIBLE_TIME = "implausible_time"  # dated in the future of this server's clock
FLAG_UNKNOWN_PROGRAM = "unknown_program"  # a programme number the province does not run
CLONE_FLAGS = frozenset({FLAG_COUNTER_CONFLICT, FLAG_COUNTER_REGRESSION})
#: How far ahead of the server's clock a terminal's (soft) clock may be before its records are doubted.
MAX_CLOCK_AHEAD_S = 86_400
_PROGRAMS = frozenset(int(p) for p in c.Program)

#: A record of the card already seen (stored, or earlier in the batch): record id, counter, time,
#: region. A plain tuple: the GC stops tracking a tuple of atomic values, not a named tuple (a subclass),
#: and thousands of these live through the request.
Seen = tuple[str, int, int, int]


def history_query(ctx: Ctx, batch: list[Candidate]) -> Callable[[], dict[str, list[Seen]]]:
    """The stored records to check ``batch`` against, by card serial, as the function that looks them
    up (made before the verifier threads start, run while they verify). PostgreSQL: only the records
    that break a rule with some record of the batch (:func:`_suspicious_pg_query`); SQLite: every
    stored record of the batch's cards."""
    if db.is_pg(ctx):
        return _suspicious_pg_query(ctx, batch)
    return lambda: _history(ctx, batch)


def _history(ctx: Ctx, batch: list[Candidate]) -> dict[str, list[Seen]]:
    """Every record already stored for the cards of the batch."""
    by_card: dict[str, list[Seen]] = defaultdict(list)
    serials = sorted({cand.item.card_serial for cand in batch})
    for start in range(0, len(serials), 2000):
        chunk = serials[start : start + 2000]
        for rid, serial, counter, when, region in ctx.session.execute(
            select(
                Redemption.record_id,
                Redemption.card_serial,
                Redemption.tx_counter,
                Redemption.terminal_time,
                Redemption.region,
            ).where(db.in_(ctx, Redemption.card_serial, chunk))
        ):
            by_card[serial].append((rid, counter, when, region))
    return by_card


# The batch travels as comma-separated text (hex ids and serials, decimal numbers): joined before the
# verifier threads start, so that sending it costs the request thread (which holds the GIL while it
# runs Python) next to nothing while they verify.
_SUSPICIOUS_SQL = """
SELECT n.serial, r.record_id, r.tx_counter, r.terminal_time, r.region
FROM unnest(string_to_array(%(rid)s, ','), string_to_array(%(serial)s, ','),
            string_to_array(%(counter)s, ',')::bigint[], string_to_array(%(t)s, ',')::bigint[],
            string_to_array(%(region)s, ',')::bigint[]) AS n(rid, serial, counter, t, region)
JOIN redemptions AS r ON r.card_serial = n.serial
WHERE (r.tx_counter = n.counter AND r.record_id <> n.rid)
   OR (r.tx_counter > n.counter AND r.terminal_time < n.t - %(tolerance)s)
   OR (r.tx_counter < n.counter AND r.terminal_time > n.t + %(tolerance)s)
   OR (r.region <> n.region AND abs(r.terminal_time - n.t) < %(window)s)
"""


def _suspicious_pg_query(ctx: Ctx, batch: list[Candidate]) -> Callable[[], dict[str, list[Seen]]]:
    """PostgreSQL: only the stored records that break a rule with some record of the batch (the
    database joins on the card index; the same predicates as :func:`_pair_flags` re-checks). Returns
    the function that runs the query, its parameters already made."""
    if not batch:
        return lambda: defaultdict(list)
    params = {
        # candidates' ids are recomputed hashes and their serials match the record's: hex, no commas
        "rid": ",".join([cand.item.record_id for cand in batch]),
        "serial": ",".join([cand.item.card_serial for cand in batch]),
        "counter": ",".join([str(cand.counter) for cand in batch]),
        "t": ",".join([str(cand.time) for cand in batch]),
        "region": ",".join([str(cand.region) for cand in batch]),
        "tolerance": ctx.settings.clock_tolerance_s,
        "window": ctx.settings.two_places_window_s,
    }
    connection = db.pg_connection(ctx)

    def run() -> dict[str, list[Seen]]:
        by_card: dict[str, list[Seen]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        with connection.cursor(binary=True) as cursor:
            cursor.execute(_SUSPICIOUS_SQL, params)
            rows = cursor.fetchall()
        for serial, rid, counter, when, region in rows:
            if (serial, rid) not in seen:
                seen.add((serial, rid))
                by_card[serial].append((rid, counter, when, region))
        return by_card

    return run


def _pair_flags(cand: Candidate, other: Seen, tolerance: int, window: int) -> None:
    counter, when = cand.counter, cand.time
    other_id, other_counter, other_time, other_region = other
    if other_counter == counter:
        if other_id != cand.item.record_id:  # the id is a hash of the record
            cand.flag(FLAG_COUNTER_CONFLICT, other_id, f"counter {counter} signed twice")
    elif (other_counter > counter and other_time < when - tolerance) or (
        other_counter < counter and other_time > when + tolerance
    ):
        detail = f"counter {counter} at {when} vs {other_counter} at {other_time}"
        cand.flag(FLAG_COUNTER_REGRESSION, other_id, detail)
    if other_region != cand.region and abs(other_time - when) < window:
        gap = abs(other_time - when)
        cand.flag(FLAG_TWO_PLACES, other_id, f"regions {cand.region} and {other_region} {gap} s apart")


def detect(ctx: Ctx, verified: list[Candidate], by_card: dict[str, list[Seen]], now: int) -> None:
    """Flag each record against the stored ones in ``by_card`` (see :func:`history_query`) and the
    batch's earlier ones, and for what it claims that cannot be (a time ahead of ``now``, an unknown
    programme)."""
    tolerance = ctx.settings.clock_tolerance_s
    window = ctx.settings.two_places_window_s
    for cand in sorted(verified, key=lambda k: (k.item.card_serial, k.counter, k.index)):
        seen = by_card[cand.item.card_serial]
        for other in seen:
            _pair_flags(cand, other, tolerance, window)
        seen.append((cand.item.record_id, cand.counter, cand.time, cand.region))
    for cand in verified:
        if cand.time > now + MAX_CLOCK_AHEAD_S:
            cand.flag(
                FLAG_IMPLAUSIBLE_TIME, None, f"terminal time {cand.time} is ahead of the server's {now}"
            )
        if cand.program not in _PROGRAMS:
            cand.flag(FLAG_UNKNOWN_PROGRAM, None, f"programme {cand.program}")


def raise_flags(
    ctx: Ctx, flagged: list[Candidate], card_rows: dict[str, tuple[bytes | None, int, str]], now: int
) -> None:
    """Put the stored records' suspicions on the review list; with ``auto_suspend_on_flag``, suspend
    each active card a clone flag names (``card_rows``: serial -> (key point, region, state))."""
    flags: list[dict[str, object]] = []
    suspend: dict[str, str] = {}
    for cand in flagged:
        for kind, other, detail in cand.flags or ():
            flags.append(
                {
                    "card_serial": cand.item.card_serial,
                    "kind": kind,
                    "record_id": cand.item.record_id,
                    "other_record_id": other,
                    "detail": detail[:500],
                    "created_at": now,
                    "resolved": False,
                }
            )
            if kind in CLONE_FLAGS:
                suspend.setdefault(cand.item.card_serial, f"automatic: {kind} ({detail})"[:200])
    if flags:
        ctx.session.execute(db.table(Flag).insert(), flags)
    if ctx.settings.auto_suspend_on_flag:
        for serial, reason in sorted(suspend.items()):
            if card_rows[serial][2] == "active":
                cards_service.change_status(ctx, serial, "suspended", reason, check_role=False)

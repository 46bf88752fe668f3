"""Transparency figures: aggregates per regency/city, program and month — never personal data."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import QueryableAttribute

from card_applet_spec import constants as c
from card_applet_spec.constants import REGIONS
from province.programs import DEFAULT_UNIT, PROGRAMS
from server_stub.models import Card, FailureEvent, Grant, Redemption
from server_stub.services.context import Ctx

UNIT_NAMES = {
    c.Unit.RUPIAH: "rupiah",
    c.Unit.GRAM: "gram",
    c.Unit.MILLILITRE: "millilitre",
    c.Unit.PIECE: "piece",
    c.Unit.VISIT: "visit",
    c.Unit.STATUS: "status",
}


@dataclass(frozen=True)
class ProgramRowView:
    region: int
    region_name: str
    program: int
    program_name: str
    month: str
    beneficiaries: int
    redemptions: int
    amount: int
    unit: str
    refusals: dict[str, int]


@dataclass
class _Tally:
    """The counts of one region, programme and month while :func:`figures` adds them up."""

    beneficiaries: int = 0
    redemptions: int = 0
    amount: int = 0
    refusals: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CardRowView:
    region: int
    region_name: str
    month: str
    cards_issued: int


@dataclass(frozen=True)
class Figures:
    generated_at: int
    year: int | None
    cards: list[CardRowView]
    programs: list[ProgramRowView]


def _year_filter(column: QueryableAttribute[str], year: int | None) -> list[ColumnElement[bool]]:
    return [] if year is None else [column.like(f"{year:04d}-%")]


def figures(ctx: Ctx, *, year: int | None = None) -> Figures:
    s = ctx.session
    cards = [
        CardRowView(region, REGIONS.get(region, str(region)), month, int(n))
        for region, month, n in s.execute(
            select(Card.region, Card.month, func.count())
            .where(Card.state.in_(("active", "suspended", "revoked")), *_year_filter(Card.month, year))
            .group_by(Card.region, Card.month)
            .order_by(Card.region, Card.month)
        ).all()
    ]
    rows: dict[tuple[int, int, str], _Tally] = defaultdict(_Tally)

    def row(region: int, program: int, month: str) -> _Tally:
        return rows[(region, program, month)]

    for region, program, month, n in s.execute(
        select(Card.region, Grant.program_id, Grant.month, func.count(func.distinct(Grant.card_serial)))
        .join(Card, Card.serial == Grant.card_serial)
        .where(*_year_filter(Grant.month, year))
        .group_by(Card.region, Grant.program_id, Grant.month)
    ).all():
        row(region, program, month).beneficiaries += int(n)
    for region, program, month, n, amount in s.execute(
        select(
            Redemption.region,
            Redemption.program,
            Redemption.month,
            func.count(),
            func.coalesce(func.sum(Redemption.amount), 0),
        )
        # flagged records (clones, impossible dates or programmes) are evidence, not aid delivered
        .where(
            Redemption.voided.is_(False), Redemption.flagged.is_(False), *_year_filter(Redemption.month, year)
        )
        .group_by(Redemption.region, Redemption.program, Redemption.month)
    ).all():
        r = row(region, program, month)
        r.redemptions += int(n)
        r.amount += int(amount)
    for region, program, month, reason, n in s.execute(
        select(
            FailureEvent.region,
            func.coalesce(FailureEvent.program, 0),  # never 0: the filter below
            FailureEvent.month,
            FailureEvent.reason,
            func.count(),
        )
        # refusals in a programme only: a terminal's or clerk's own events (a clerk lockout, an idle
        # logout: no programme) are for the fleet view, never the public page
        .where(*_year_filter(FailureEvent.month, year), FailureEvent.program.is_not(None))
        .group_by(FailureEvent.region, FailureEvent.program, FailureEvent.month, FailureEvent.reason)
    ).all():
        r = row(region, program, month)
        r.refusals[reason] = r.refusals.get(reason, 0) + int(n)
    known = {p.value for p in c.Program}
    ordered = [
        ProgramRowView(
            region,
            REGIONS.get(region, str(region)),
            program,
            PROGRAMS[c.Program(program)].name_id if program in known else "(none)",
            month,
            t.beneficiaries,
            t.redemptions,
            t.amount,
            UNIT_NAMES[DEFAULT_UNIT[c.Program(program)]] if program in known else "",
            t.refusals,
        )
        for (region, program, month), t in sorted(rows.items())
    ]
    return Figures(ctx.now(), year, cards, ordered)


def totals_by_region(figures: Figures) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = defaultdict(lambda: {"cards": 0, "redemptions": 0, "refusals": 0})
    for cr in figures.cards:
        out[cr.region]["cards"] += cr.cards_issued
    for pr in figures.programs:
        out[pr.region]["redemptions"] += pr.redemptions
        out[pr.region]["refusals"] += sum(pr.refusals.values())
    return dict(out)

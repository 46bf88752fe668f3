"""Programs and agencies: the eight services, each owned by one agency (dinas)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server_stub.errors import Forbidden, Invalid, NotFound
from server_stub.models import ProgramRow
from server_stub.repositories import registry as repo
from server_stub.services import audit
from server_stub.services.context import AGENCY_ADMIN, Ctx
from server_stub.services.reference import OCCUPATIONS, PERIODS

RULE_KEYS = {"min_age", "max_age", "max_decile", "occupations", "sex", "regions"}


@dataclass(frozen=True)
class ProgramView:
    id: int
    code: str
    name: str
    agency: str
    kind: int
    unit: int
    period: str
    amount: int
    rules: dict[str, Any]


@dataclass(frozen=True)
class AgencyView:
    code: str
    name: str
    programs: tuple[int, ...]


def program_view(p: ProgramRow) -> ProgramView:
    return ProgramView(p.id, p.code, p.name, p.agency_code, p.kind, p.unit, p.period, p.amount, dict(p.rules))


def programs(ctx: Ctx) -> list[ProgramView]:
    return [program_view(p) for p in repo.programs(ctx.session)]


def agencies(ctx: Ctx) -> list[AgencyView]:
    owned: dict[str, list[int]] = {}
    for p in repo.programs(ctx.session):
        owned.setdefault(p.agency_code, []).append(p.id)
    return [AgencyView(a.code, a.name, tuple(owned.get(a.code, ()))) for a in repo.agencies(ctx.session)]


def check_rules(rules: dict[str, Any]) -> dict[str, Any]:
    unknown = set(rules) - RULE_KEYS
    if unknown:
        raise Invalid(f"unknown rule(s): {', '.join(sorted(unknown))}", code="invalid_rules")
    for key in ("min_age", "max_age", "max_decile"):
        if key in rules and (not isinstance(rules[key], int) or isinstance(rules[key], bool)):
            raise Invalid(f"{key} must be an integer", code="invalid_rules")
    if "occupations" in rules and not set(rules["occupations"]) <= set(OCCUPATIONS):
        raise Invalid(f"occupations must be among {', '.join(OCCUPATIONS)}", code="invalid_rules")
    if "sex" in rules and rules["sex"] not in ("L", "P"):
        raise Invalid("sex is L or P", code="invalid_rules")
    return rules


def update_program(
    ctx: Ctx, program_id: int, *, amount: int | None, period: str | None, rules: dict[str, Any] | None
) -> ProgramView:
    p = repo.program(ctx.session, program_id)
    if p is None:
        raise NotFound(f"no program {program_id}")
    if ctx.actor.role == AGENCY_ADMIN:
        if ctx.actor.agency != p.agency_code:
            raise Forbidden(f"program {p.code} belongs to {p.agency_code}")
    else:
        ctx.actor.require()
    changes: dict[str, Any] = {}
    if amount is not None:
        if not 0 <= amount <= 0xFFFFFFFF:
            raise Invalid("amount must fit 32 bits")
        p.amount = changes["amount"] = amount
    if period is not None:
        if period not in PERIODS:
            raise Invalid(f"period is one of {', '.join(PERIODS)}")
        p.period = changes["period"] = period
    if rules is not None:
        p.rules = changes["rules"] = check_rules(rules)
    ctx.session.flush()
    audit.record(ctx, "program.update", p.code, **changes)
    return program_view(p)

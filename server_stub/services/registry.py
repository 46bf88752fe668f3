"""The citizen registry: households (KK), citizens keyed by NIK, program eligibility.

The NIK is personal data (UU 27/2022): views carry the full NIK only for roles whose task needs it
(:data:`~server_stub.services.context.FULL_NIK_ROLES`), the masked NIK for everyone else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from card_applet_spec.constants import REGIONS
from card_applet_spec.names import NameRefused, normalise_name
from card_applet_spec.redaction import mask_nik
from province.clock import WIB
from province.nik import Nik, NikError, parse_nik
from server_stub.errors import Conflict, Forbidden, Invalid, InvalidNik, NotFound
from server_stub.models import Card, Citizen, Eligibility, Household, ProgramRow
from server_stub.repositories import registry as repo
from server_stub.services import agency_scope, audit
from server_stub.services.agency_scope import EVERYTHING, Scope
from server_stub.services.context import AGENCY_ADMIN, REGISTRAR, Actor, Ctx
from server_stub.services.reference import OCCUPATIONS


def check_nik(raw: str, *, today: dt.date | None = None) -> Nik:
    try:
        return parse_nik(raw, today=today)
    except NikError as err:
        raise InvalidNik(str(err), nik_error=err.code) from None


def check_kk(raw: str) -> str:
    """A Kartu Keluarga number: 16 digits, issued in a regency/city of Kalimantan Tengah."""
    value = raw.replace(" ", "").replace(".", "")
    if not value.isascii() or not value.isdigit() or len(value) != 16:
        raise Invalid("KK number must have 16 digits", code="invalid_kk")
    if value[:2] != "62":
        raise Invalid(f"KK number province {value[:2]} is not 62 (Kalimantan Tengah)", code="invalid_kk")
    if int(value[:4]) not in REGIONS:
        raise Invalid(f"{value[:4]} is not a regency/city code of Kalimantan Tengah", code="invalid_kk")
    if value[4:6] == "00":
        raise Invalid("KK district (kecamatan) code 00 does not exist", code="invalid_kk")
    return value


def check_name(raw: str) -> str:
    """A citizen's name in its normal form (NFC, single spaces); no controls, invisible or bidi
    characters, no markup (:mod:`card_applet_spec.names`)."""
    try:
        return normalise_name(raw)
    except NameRefused as err:
        raise Invalid(str(err), code="invalid_name", name_error=err.problem.value) from None


@dataclass(frozen=True)
class EligibilityView:
    program: int
    source: str
    reason: str
    granted_at: int


@dataclass(frozen=True)
class CitizenView:
    nik: str
    nik_masked: bool
    name: str
    sex: str
    birth_date: str | None  # hidden with the NIK
    region: int
    region_name: str
    district: int
    kk_number: str | None
    occupation: str
    eligibility: tuple[EligibilityView, ...]
    cards: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class HouseholdView:
    kk_number: str
    region: int
    region_name: str
    address: str
    welfare_decile: int
    members: tuple[CitizenView, ...]


def citizen_view(
    citizen: Citizen, actor: Actor, cards: list[Card] | None = None, scope: Scope = EVERYTHING
) -> CitizenView:
    """``scope``: the programmes whose eligibility the viewer may see (an agency's own)."""
    full = actor.sees_full_nik
    return CitizenView(
        nik=citizen.nik if full else mask_nik(citizen.nik),
        nik_masked=not full,
        name=citizen.name,
        sex=citizen.sex,
        birth_date=citizen.birth_date.isoformat() if full else None,
        region=citizen.region,
        region_name=REGIONS[citizen.region],
        district=citizen.district,
        kk_number=(citizen.kk_number if full else None),
        occupation=citizen.occupation,
        eligibility=tuple(
            EligibilityView(e.program_id, e.source, e.reason, e.granted_at)
            for e in citizen.eligibility
            if scope.covers(e.program_id)
        ),
        cards=tuple(
            {"serial": c.serial, "state": c.state, "issued_at": c.issued_at, "expires_at": c.expires_at}
            for c in (cards or [])
        ),
    )


def household_view(
    h: Household, actor: Actor, members: list[Citizen] | None = None, scope: Scope = EVERYTHING
) -> HouseholdView:
    """``members``: the members the viewer may see (default: all of them)."""
    return HouseholdView(
        kk_number=h.kk_number if actor.sees_full_nik else mask_nik(h.kk_number),
        region=h.region,
        region_name=REGIONS[h.region],
        address=h.address,
        welfare_decile=h.welfare_decile,
        members=tuple(
            citizen_view(m, actor, scope=scope) for m in (repo.members_of(h) if members is None else members)
        ),
    )


def register_household(ctx: Ctx, *, kk_number: str, address: str, welfare_decile: int) -> HouseholdView:
    ctx.actor.require(REGISTRAR)
    kk = check_kk(kk_number)
    if not 1 <= welfare_decile <= 10:
        raise Invalid("welfare decile is 1 (poorest) to 10")
    if repo.household(ctx.session, kk) is not None:
        raise Conflict(f"household {mask_nik(kk)} is already registered", code="household_exists")
    h = Household(
        kk_number=kk, region=int(kk[:4]), address=address, welfare_decile=welfare_decile, created_at=ctx.now()
    )
    ctx.session.add(h)
    ctx.session.flush()
    audit.record(ctx, "household.register", mask_nik(kk), region=h.region)
    return household_view(h, ctx.actor)


def get_household(ctx: Ctx, kk_number: str) -> HouseholdView:
    """A household and its members; an agency sees the members who are its beneficiaries, and a
    household with none of them as one that does not exist."""
    h = repo.household(ctx.session, check_kk(kk_number))
    if h is None:
        raise NotFound("no household with that KK number")
    scope = agency_scope.scope_of(ctx)
    members = [m for m in repo.members_of(h) if agency_scope.sees_citizen(ctx, scope, m)]
    if not members and not scope.everything:
        raise NotFound("no household with that KK number")
    return household_view(h, ctx.actor, members, scope)


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def rules_match(rules: dict[str, Any], citizen: Citizen, household: Household | None, today: dt.date) -> bool:
    age = age_on(citizen.birth_date, today)
    if "min_age" in rules and age < int(rules["min_age"]):
        return False
    if "max_age" in rules and age > int(rules["max_age"]):
        return False
    if "sex" in rules and citizen.sex != rules["sex"]:
        return False
    if "occupations" in rules and citizen.occupation not in rules["occupations"]:
        return False
    if "max_decile" in rules and (household is None or household.welfare_decile > int(rules["max_decile"])):
        return False
    return "regions" not in rules or citizen.region in rules["regions"]


def evaluate_eligibility(ctx: Ctx, citizen: Citizen, programs: list[ProgramRow] | None = None) -> None:
    """(Re)compute rule-based eligibility; manual decisions are kept."""
    today = dt.datetime.fromtimestamp(ctx.now(), WIB).date()
    household = repo.household(ctx.session, citizen.kk_number) if citizen.kk_number else None
    manual = {e.program_id for e in citizen.eligibility if e.source == "manual"}
    citizen.eligibility = [e for e in citizen.eligibility if e.source == "manual"]
    for p in programs if programs is not None else repo.programs(ctx.session):
        if p.id not in manual and rules_match(p.rules, citizen, household, today):
            citizen.eligibility.append(
                Eligibility(program_id=p.id, source="rules", reason="program rules", granted_at=ctx.now())
            )


def register_citizen(ctx: Ctx, *, nik: str, name: str, kk_number: str | None, occupation: str) -> CitizenView:
    ctx.actor.require(REGISTRAR)
    today = dt.datetime.fromtimestamp(ctx.now(), WIB).date()
    parsed = check_nik(nik, today=today)
    name = check_name(name)
    if occupation not in OCCUPATIONS:
        raise Invalid(f"occupation must be one of {', '.join(OCCUPATIONS)}", code="invalid_occupation")
    household = None
    if kk_number is not None:
        household = repo.household(ctx.session, check_kk(kk_number))
        if household is None:
            raise NotFound("register the household (KK) first", code="unknown_household")
    if repo.citizen_by_nik(ctx.session, parsed.value) is not None:
        raise Conflict(f"citizen {parsed.masked} is already registered", code="citizen_exists")
    citizen = Citizen(
        nik=parsed.value,
        name=name,
        birth_date=parsed.birth_date,
        sex="P" if parsed.female else "L",
        region=household.region if household else parsed.region,
        district=parsed.district,
        kk_number=household.kk_number if household else None,
        occupation=occupation,
        created_at=ctx.now(),
        eligibility=[],
    )
    ctx.session.add(citizen)
    evaluate_eligibility(ctx, citizen)
    ctx.session.flush()
    audit.record(ctx, "citizen.register", parsed.masked, region=citizen.region)
    return citizen_view(citizen, ctx.actor)


def load_citizen(ctx: Ctx, nik: str) -> Citizen:
    parsed = check_nik(nik)
    citizen = repo.citizen_by_nik(ctx.session, parsed.value)
    if citizen is None:
        raise NotFound(f"no citizen {parsed.masked}")
    return citizen


def get_citizen(ctx: Ctx, nik: str) -> CitizenView:
    """A citizen; an agency sees its own beneficiaries only (anyone else as one not registered)."""
    citizen = load_citizen(ctx, nik)
    scope = agency_scope.scope_of(ctx)
    if not agency_scope.sees_citizen(ctx, scope, citizen):
        raise NotFound(f"no citizen {mask_nik(citizen.nik)}")
    audit.record(ctx, "citizen.view", mask_nik(citizen.nik))
    return citizen_view(citizen, ctx.actor, repo.cards_of(ctx.session, citizen.id), scope)


def search(
    ctx: Ctx, *, region: int | None, kk_number: str | None, program: int | None, limit: int, offset: int
) -> tuple[list[CitizenView], int]:
    """Citizens by region, household or programme; an agency lists its own beneficiaries only, and
    naming another agency's programme is refused."""
    kk = check_kk(kk_number) if kk_number is not None else None
    scope = agency_scope.scope_of(ctx)
    if program is not None:
        scope.require(program)
    within = None if scope.programs is None else agency_scope.beneficiary_clause(scope.programs)
    rows, total = repo.search_citizens(
        ctx.session, region=region, kk_number=kk, program=program, limit=limit, offset=offset, within=within
    )
    audit.record(ctx, "citizen.search", f"region={region} program={program}", returned=len(rows))
    return [citizen_view(c, ctx.actor, scope=scope) for c in rows], total


def _program_for_change(ctx: Ctx, program_id: int) -> ProgramRow:
    program = repo.program(ctx.session, program_id)
    if program is None:
        raise NotFound(f"no program {program_id}")
    if ctx.actor.role == AGENCY_ADMIN:
        if ctx.actor.agency != program.agency_code:
            raise Forbidden(f"program {program.code} belongs to {program.agency_code}")
    else:
        ctx.actor.require(REGISTRAR)
    return program


def set_eligibility(ctx: Ctx, nik: str, program_id: int, *, eligible: bool, reason: str) -> CitizenView:
    program = _program_for_change(ctx, program_id)
    citizen = load_citizen(ctx, nik)
    citizen.eligibility = [e for e in citizen.eligibility if e.program_id != program.id]
    if eligible:
        citizen.eligibility.append(
            Eligibility(program_id=program.id, source="manual", reason=reason, granted_at=ctx.now())
        )
    ctx.session.flush()
    action = "eligibility.grant" if eligible else "eligibility.remove"
    audit.record(ctx, action, mask_nik(citizen.nik), program=program.id, reason=reason)
    scope = agency_scope.scope_of(ctx)
    return citizen_view(citizen, ctx.actor, repo.cards_of(ctx.session, citizen.id), scope)

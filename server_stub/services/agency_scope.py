"""Agency scope: a programme's staff see their own programmes' people only.

An ``agency_admin`` belongs to one agency (dinas) and works on the programmes that agency runs: it
lists and sees only their beneficiaries (citizens eligible for one of them, or holding a grant of one),
only those programmes' eligibility and entitlements, and never another programme's. Province-wide roles
(admin, registrar, card officer, auditor) see every programme: their task says so. Services apply the
scope (never the routes), so every way to a citizen, a household or a card goes through it. A record
outside the scope is answered as one that does not exist (404: no oracle for NIKs or serials); naming
another agency's programme outright is refused (403).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select

from server_stub.errors import Forbidden
from server_stub.models import Card, Citizen, Eligibility, Grant, ProgramRow
from server_stub.services.context import AGENCY_ADMIN, Ctx

OUT_OF_SCOPE = "out_of_agency_scope"


@dataclass(frozen=True)
class Scope:
    """The programmes whose people an actor may see; ``programs`` None: every programme."""

    programs: frozenset[int] | None
    agency: str | None = None

    @property
    def everything(self) -> bool:
        return self.programs is None

    def covers(self, program_id: int) -> bool:
        return self.programs is None or program_id in self.programs

    def require(self, program_id: int) -> None:
        if not self.covers(program_id):
            raise Forbidden(f"programme {program_id} is not run by agency {self.agency}", code=OUT_OF_SCOPE)


EVERYTHING = Scope(None)


def scope_of(ctx: Ctx) -> Scope:
    """The actor's scope: an agency_admin's agency's programmes, everyone else's every programme."""
    if ctx.actor.role != AGENCY_ADMIN or ctx.actor.kind == "admin":
        return EVERYTHING
    agency = ctx.actor.agency
    owned = (
        frozenset(ctx.session.scalars(select(ProgramRow.id).where(ProgramRow.agency_code == agency)))
        if agency is not None
        else frozenset()
    )
    return Scope(owned, agency)


def beneficiary_clause(programs: frozenset[int]) -> ColumnElement[bool]:
    """``Citizen`` is a beneficiary of one of ``programs``: eligible, or holding a grant of it."""
    ids = sorted(programs)
    return or_(
        Citizen.id.in_(select(Eligibility.citizen_id).where(Eligibility.program_id.in_(ids))),
        Citizen.id.in_(
            select(Card.citizen_id)
            .join(Grant, Grant.card_serial == Card.serial)
            .where(Grant.program_id.in_(ids))
        ),
    )


def sees_citizen(ctx: Ctx, scope: Scope, citizen: Citizen) -> bool:
    if scope.programs is None:
        return True
    if any(e.program_id in scope.programs for e in citizen.eligibility):
        return True
    granted = ctx.session.scalar(
        select(Grant.id)
        .join(Card, Card.serial == Grant.card_serial)
        .where(Card.citizen_id == citizen.id, Grant.program_id.in_(sorted(scope.programs)))
        .limit(1)
    )
    return granted is not None

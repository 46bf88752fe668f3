"""Citizens, households, eligibility, programs and agencies."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from server_stub.models import Agency, Card, Citizen, Eligibility, Household, ProgramRow


def household(session: Session, kk_number: str) -> Household | None:
    return session.get(Household, kk_number)


def citizen_by_nik(session: Session, nik: str) -> Citizen | None:
    query = select(Citizen).where(Citizen.nik == nik).options(selectinload(Citizen.eligibility))
    return session.scalars(query).one_or_none()


def citizen(session: Session, citizen_id: int) -> Citizen | None:
    return session.get(Citizen, citizen_id)


def members(session: Session, kk_number: str) -> list[Citizen]:
    return list(session.scalars(select(Citizen).where(Citizen.kk_number == kk_number).order_by(Citizen.id)))


def search_citizens(
    session: Session,
    *,
    region: int | None,
    kk_number: str | None,
    program: int | None,
    limit: int,
    offset: int,
    within: ColumnElement[bool] | None = None,
) -> tuple[list[Citizen], int]:
    """``within``: a further condition on ``Citizen`` (an agency's scope)."""
    query = select(Citizen)
    if within is not None:
        query = query.where(within)
    if region is not None:
        query = query.where(Citizen.region == region)
    if kk_number is not None:
        query = query.where(Citizen.kk_number == kk_number)
    if program is not None:
        query = query.where(
            Citizen.id.in_(select(Eligibility.citizen_id).where(Eligibility.program_id == program))
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(Citizen.eligibility)).order_by(Citizen.id).limit(limit).offset(offset)
    )
    return list(rows), int(total)


def programs(session: Session) -> list[ProgramRow]:
    return list(session.scalars(select(ProgramRow).order_by(ProgramRow.id)))


def program(session: Session, program_id: int) -> ProgramRow | None:
    return session.get(ProgramRow, program_id)


def agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.code)))


def eligible_citizen_ids(session: Session, program_id: int) -> list[int]:
    return list(session.scalars(select(Eligibility.citizen_id).where(Eligibility.program_id == program_id)))


def members_of(h: Household) -> list[Citizen]:
    return sorted(h.members, key=lambda c: c.id)


def cards_of(session: Session, citizen_id: int) -> list[Card]:
    return list(session.scalars(select(Card).where(Card.citizen_id == citizen_id).order_by(Card.issued_at)))

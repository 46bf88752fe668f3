"""Catalogues (job openings, training courses, teacher housing per regency/city) and the interests
citizens register in them at kiosks — idempotent by the kiosk's client-generated id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from card_applet_spec.constants import REGIONS
from card_applet_spec.redaction import mask_nik
from server_stub.errors import Forbidden, Invalid, NotFound
from server_stub.models import Card, CatalogueItem, Citizen, Interest, ProgramRow
from server_stub.repositories import counters, scope
from server_stub.services import audit
from server_stub.services.context import AGENCY_ADMIN, AUDITOR, Ctx
from server_stub.services.ingest import Outcome
from server_stub.services.reference import CATALOGUE_KINDS

KIND_PREFIX = {"job": "JOB", "training": "TRN", "housing": "HSG"}


@dataclass(frozen=True)
class ItemView:
    id: str
    kind: str
    program: int
    region: int
    title: str
    organisation: str
    location: str
    slots: int
    opens_on: str
    closes_on: str
    details: str


def item_view(i: CatalogueItem) -> ItemView:
    return ItemView(
        i.id,
        i.kind,
        i.program_id,
        i.region,
        i.title,
        i.organisation,
        i.location,
        i.slots,
        i.opens_on.isoformat(),
        i.closes_on.isoformat(),
        i.details,
    )


def add_item(
    ctx: Ctx,
    *,
    kind: str,
    region: int,
    title: str,
    organisation: str,
    location: str,
    slots: int,
    opens_on: dt.date,
    closes_on: dt.date,
    details: str,
    item_id: str | None = None,
) -> ItemView:
    if kind not in CATALOGUE_KINDS:
        raise Invalid(f"kind must be one of {', '.join(CATALOGUE_KINDS)}", code="invalid_kind")
    program = ctx.session.get(ProgramRow, int(CATALOGUE_KINDS[kind]))
    assert program is not None
    if ctx.actor.role == AGENCY_ADMIN:
        if ctx.actor.agency != program.agency_code:
            raise Forbidden(f"the {kind} catalogue belongs to {program.agency_code}")
    else:
        ctx.actor.require()
    if region not in REGIONS:
        raise Invalid(f"{region} is not a regency/city code of Kalimantan Tengah", code="invalid_region")
    if closes_on < opens_on:
        raise Invalid("closes_on is before opens_on")
    if not title.strip():
        raise Invalid("title must not be empty")
    if item_id is None:
        number = counters.advance(ctx.session, counters.CATALOGUE_ID)
        item_id = f"{KIND_PREFIX[kind]}-{region}-{number:05d}"
    item = CatalogueItem(
        id=item_id,
        kind=kind,
        program_id=program.id,
        region=region,
        title=title.strip(),
        organisation=organisation,
        location=location,
        slots=slots,
        opens_on=opens_on,
        closes_on=closes_on,
        details=details,
        created_at=ctx.now(),
    )
    ctx.session.add(item)
    ctx.session.flush()
    audit.record(ctx, "catalogue.add", item.id, kind=kind, region=region)
    return item_view(item)


def items(ctx: Ctx, *, kind: str | None, region: int | None) -> list[ItemView]:
    if kind is not None and kind not in CATALOGUE_KINDS:
        raise Invalid(f"kind must be one of {', '.join(CATALOGUE_KINDS)}", code="invalid_kind")
    query = select(CatalogueItem).order_by(CatalogueItem.id)
    if kind is not None:
        query = query.where(CatalogueItem.kind == kind)
    if region is not None:
        query = query.where(CatalogueItem.region == region)
    return [item_view(i) for i in ctx.session.scalars(query.limit(5000))]


@dataclass(frozen=True)
class InterestIn:
    interest_id: str
    item_id: str
    card_serial: str
    registered_at: int
    note: str | None


@dataclass(frozen=True)
class ItemResult:
    id: str
    result: Outcome
    reason: str | None = None


#: Reject reason of an interest for a card the terminal has not seen (terminal scope).
REFUSED_NOT_SEEN = "card_not_seen"


def register_interests(ctx: Ctx, batch: Sequence[InterestIn]) -> list[ItemResult]:
    """Store a kiosk's interests, once each. Terminal scope: only for cards the terminal has seen
    (:func:`scope.cards_seen`: a card of its region, or one that signed a record at it)."""
    ctx.actor.require_terminal()
    ids = [i.interest_id for i in batch]
    existing = set(ctx.session.scalars(select(Interest.interest_id).where(Interest.interest_id.in_(ids))))
    item_ids = {i.item_id for i in batch}
    known_items = set(ctx.session.scalars(select(CatalogueItem.id).where(CatalogueItem.id.in_(item_ids))))
    serials = {i.card_serial for i in batch}
    holders = dict(
        ctx.session.execute(select(Card.serial, Card.citizen_id).where(Card.serial.in_(serials))).all()
    )
    in_scope = scope.cards_seen(
        ctx.session, terminal_id=ctx.actor.name, region=ctx.actor.region, serials=holders.keys()
    )
    results, seen = [], set()
    refused: list[str] = []
    for i in batch:
        if i.interest_id in existing or i.interest_id in seen:
            results.append(ItemResult(i.interest_id, "duplicate"))
        elif i.item_id not in known_items:
            results.append(ItemResult(i.interest_id, "rejected", "unknown_item"))
        elif i.card_serial not in holders:
            results.append(ItemResult(i.interest_id, "rejected", "unknown_card"))
        elif i.card_serial not in in_scope:
            refused.append(i.interest_id)
            results.append(ItemResult(i.interest_id, "rejected", REFUSED_NOT_SEEN))
        else:
            seen.add(i.interest_id)
            ctx.session.add(
                Interest(
                    interest_id=i.interest_id,
                    item_id=i.item_id,
                    card_serial=i.card_serial,
                    citizen_id=holders[i.card_serial],
                    terminal_id=ctx.actor.name,
                    registered_at=i.registered_at,
                    received_at=ctx.now(),
                    note=i.note,
                )
            )
            results.append(ItemResult(i.interest_id, "stored"))
    if refused:
        audit.record(
            ctx,
            "sync.interests_refused",
            f"terminal:{ctx.actor.name}",
            interests=refused[:100],
            count=len(refused),
        )
    ctx.session.flush()
    return results


@dataclass(frozen=True)
class InterestView:
    interest_id: str
    item_id: str
    item_title: str
    card_serial: str
    holder_name: str
    holder_nik: str  # masked
    region: int
    terminal_id: str
    registered_at: int
    note: str | None


def interests(ctx: Ctx, *, item_id: str | None) -> list[InterestView]:
    """Interests in the actor's agency's items (admin and auditor: all)."""
    if ctx.actor.role != AGENCY_ADMIN:
        ctx.actor.require(AUDITOR)
    query = (
        select(Interest, CatalogueItem, Citizen, ProgramRow)
        .join(CatalogueItem, Interest.item_id == CatalogueItem.id)
        .join(Citizen, Interest.citizen_id == Citizen.id)
        .join(ProgramRow, CatalogueItem.program_id == ProgramRow.id)
        .order_by(Interest.registered_at, Interest.interest_id)
    )
    if item_id is not None:
        if ctx.session.get(CatalogueItem, item_id) is None:
            raise NotFound(f"no catalogue item {item_id}")
        query = query.where(Interest.item_id == item_id)
    if ctx.actor.role == AGENCY_ADMIN:
        query = query.where(ProgramRow.agency_code == ctx.actor.agency)
    out = [
        InterestView(
            i.interest_id,
            item.id,
            item.title,
            i.card_serial,
            citizen.name,
            mask_nik(citizen.nik),
            item.region,
            i.terminal_id,
            i.registered_at,
            i.note,
        )
        for i, item, citizen, _p in ctx.session.execute(query.limit(5000)).all()
    ]
    audit.record(ctx, "interests.view", item_id or "*", count=len(out))
    return out

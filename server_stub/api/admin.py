"""The admin API (``/v1/admin``): clerks and the admin token; roles are checked in the services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from card_applet_spec.redaction import mask_nik
from server_stub.api.deps import StaffCtx
from server_stub.api.schemas import (
    AgenciesOut,
    AuditEntryOut,
    AuditOut,
    CitizenIn,
    CitizensOut,
    ClerkCreatedOut,
    ClerkIn,
    ClerksOut,
    CreatedOut,
    EligibilityIn,
    EnrolmentCodeIn,
    EnrolmentCodesOut,
    EnrolmentOut,
    ErrorOut,
    FlagsOut,
    HouseholdIn,
    InterestsOut,
    IssuerKeysOut,
    ItemIn,
    ItemsOut,
    KkIn,
    MeOut,
    NikIn,
    NikOut,
    NoteIn,
    PeriodGrantsIn,
    ProgramId,
    ProgramPatchIn,
    ProgramsOut,
    ReasonIn,
    RotateIn,
    Serial,
    TerminalIn,
    TerminalsOut,
    b64,
)
from server_stub.services import (
    access,
    audit,
    cards,
    catalogue,
    enrolment_codes,
    flags,
    issuer,
    programs,
    publications,
    registry,
)
from server_stub.services.access import TerminalView
from server_stub.services.cards import CardView
from server_stub.services.catalogue import ItemView
from server_stub.services.enrolment_codes import IssuedCode
from server_stub.services.flags import FlagView
from server_stub.services.issuer import IssuerKeyView
from server_stub.services.programs import ProgramView
from server_stub.services.publications import RootKeyView
from server_stub.services.registry import CitizenView, HouseholdView

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        404: {"model": ErrorOut},
        409: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)


@router.get("/me", response_model=MeOut)
def me(ctx: StaffCtx) -> MeOut:
    return MeOut(actor=ctx.actor.label, role=ctx.actor.role, agency=ctx.actor.agency)


# --- clerks and terminals ------------------------------------------------------------------------


@router.post("/clerks", response_model=ClerkCreatedOut, status_code=201)
def create_clerk(ctx: StaffCtx, body: ClerkIn) -> ClerkCreatedOut:
    clerk, token = access.create_clerk(ctx, username=body.username, role=body.role, agency=body.agency)
    return ClerkCreatedOut(clerk=clerk, token=token)


@router.get("/clerks", response_model=ClerksOut)
def list_clerks(ctx: StaffCtx) -> ClerksOut:
    return ClerksOut(clerks=access.list_clerks(ctx))


@router.post("/terminals", response_model=EnrolmentOut, status_code=201)
def enrol_terminal(ctx: StaffCtx, body: TerminalIn) -> EnrolmentOut:
    e = access.enrol_terminal(
        ctx,
        terminal_id=body.terminal_id,
        site=body.site,
        region=body.region,
        public_key=bytes.fromhex(body.public_key),
        pin_reset=body.pin_reset,
    )
    return EnrolmentOut(
        terminal=e.terminal,
        token=e.token,
        certificate=b64(e.certificate) if e.certificate else None,
        receipt_certificate=b64(e.receipt_certificate),
    )


@router.get("/terminals", response_model=TerminalsOut)
def list_terminals(ctx: StaffCtx) -> TerminalsOut:
    return TerminalsOut(terminals=access.list_terminals(ctx))


@router.post("/enrolment-codes", response_model=IssuedCode, status_code=201)
def issue_enrolment_code(ctx: StaffCtx, body: EnrolmentCodeIn, response: Response) -> IssuedCode:
    response.headers["Cache-Control"] = "no-store"  # the one-time code is in this answer
    issued = enrolment_codes.issue_code(
        ctx,
        terminal_id=body.terminal_id,
        site=body.site,
        region=body.region,
        pin_reset=body.pin_reset,
        valid_hours=body.valid_hours,
    )
    return issued


@router.get("/enrolment-codes", response_model=EnrolmentCodesOut)
def list_enrolment_codes(ctx: StaffCtx) -> EnrolmentCodesOut:
    codes = enrolment_codes.list_codes(ctx)
    return EnrolmentCodesOut(codes=codes)


@router.post("/enrolment-codes/{terminal_id}/revoke", response_model=EnrolmentCodesOut)
def revoke_enrolment_code(
    ctx: StaffCtx, terminal_id: Annotated[str, Path(min_length=1, max_length=8)]
) -> EnrolmentCodesOut:
    revoked = enrolment_codes.revoke_code(ctx, terminal_id)
    return EnrolmentCodesOut(codes=revoked)


@router.post("/terminals/{terminal_id}/deactivate", response_model=TerminalView)
def deactivate_terminal(ctx: StaffCtx, terminal_id: str) -> TerminalView:
    return access.deactivate_terminal(ctx, terminal_id)


# --- registry ------------------------------------------------------------------------------------


@router.post("/nik/check", response_model=NikOut)
def check_nik(ctx: StaffCtx, body: NikIn) -> NikOut:
    nik = registry.check_nik(body.nik)
    return NikOut(
        valid=True,
        masked=nik.masked,
        region=nik.region,
        region_name=nik.region_name,
        district=nik.district,
        sex="P" if nik.female else "L",
        birth_date=nik.birth_date.isoformat(),
    )


@router.post("/households", response_model=HouseholdView, status_code=201)
def register_household(ctx: StaffCtx, body: HouseholdIn) -> HouseholdView:
    h = registry.register_household(
        ctx, kk_number=body.kk_number, address=body.address, welfare_decile=body.welfare_decile
    )
    return h


@router.post("/households/lookup", response_model=HouseholdView)
def lookup_household(ctx: StaffCtx, body: KkIn) -> HouseholdView:
    household = registry.get_household(ctx, body.kk_number)
    audit.record_read(ctx, "household.view", mask_nik(body.kk_number), members=len(household.members))
    return household


@router.post("/citizens", response_model=CitizenView, status_code=201)
def register_citizen(ctx: StaffCtx, body: CitizenIn) -> CitizenView:
    c = registry.register_citizen(
        ctx, nik=body.nik, name=body.name, kk_number=body.kk_number, occupation=body.occupation
    )
    return c


@router.post("/citizens/lookup", response_model=CitizenView)
def lookup_citizen(ctx: StaffCtx, body: NikIn) -> CitizenView:
    return registry.get_citizen(ctx, body.nik)


@router.get("/citizens", response_model=CitizensOut)
def search_citizens(
    ctx: StaffCtx,
    region: Annotated[int | None, Query(ge=0, le=9999)] = None,
    program: Annotated[int | None, Query(ge=1, le=8)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> CitizensOut:
    rows, total = registry.search(
        ctx, region=region, kk_number=None, program=program, limit=limit, offset=offset
    )
    return CitizensOut(citizens=rows, total=total)


@router.post("/citizens/eligibility", response_model=CitizenView)
def set_eligibility(ctx: StaffCtx, body: EligibilityIn) -> CitizenView:
    c = registry.set_eligibility(ctx, body.nik, body.program, eligible=body.eligible, reason=body.reason)
    return c


# --- programs and catalogues ---------------------------------------------------------------------


@router.get("/agencies", response_model=AgenciesOut)
def list_agencies(ctx: StaffCtx) -> AgenciesOut:
    return AgenciesOut(agencies=programs.agencies(ctx))


@router.get("/programs", response_model=ProgramsOut)
def list_programs(ctx: StaffCtx) -> ProgramsOut:
    return ProgramsOut(programs=programs.programs(ctx))


@router.patch("/programs/{program_id}", response_model=ProgramView)
def update_program(ctx: StaffCtx, program_id: ProgramId, body: ProgramPatchIn) -> ProgramView:
    rules = body.rules.model_dump(exclude_none=True) if body.rules is not None else None
    return programs.update_program(ctx, program_id, amount=body.amount, period=body.period, rules=rules)


@router.post("/programs/{program_id}/grants", response_model=CreatedOut)
def issue_grants(ctx: StaffCtx, program_id: ProgramId, body: PeriodGrantsIn) -> CreatedOut:
    n = cards.issue_period_grants(
        ctx, program_id, valid_from=body.valid_from, valid_until=body.valid_until, amount=body.amount
    )
    return CreatedOut(created=n)


@router.post("/catalogue", response_model=ItemView, status_code=201)
def add_item(ctx: StaffCtx, body: ItemIn) -> ItemView:
    return catalogue.add_item(
        ctx,
        kind=body.kind,
        region=body.region,
        title=body.title,
        organisation=body.organisation,
        location=body.location,
        slots=body.slots,
        opens_on=body.opens_on,
        closes_on=body.closes_on,
        details=body.details,
    )


@router.get("/catalogue", response_model=ItemsOut)
def list_items(
    ctx: StaffCtx,
    kind: Annotated[str | None, Query(pattern="^(job|training|housing)$")] = None,
    region: Annotated[int | None, Query(ge=0, le=9999)] = None,
) -> ItemsOut:
    return ItemsOut(items=catalogue.items(ctx, kind=kind, region=region))


@router.get("/interests", response_model=InterestsOut)
def list_interests(
    ctx: StaffCtx, item_id: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9-]+$")] = None
) -> InterestsOut:
    return InterestsOut(interests=catalogue.interests(ctx, item_id=item_id))


# --- cards ---------------------------------------------------------------------------------------


@router.get("/cards/{serial}", response_model=CardView)
def get_card(ctx: StaffCtx, serial: Serial) -> CardView:
    card = cards.get_card(ctx, serial)
    audit.record_read(ctx, "card.view", serial)
    return card


@router.post("/cards/{serial}/suspend", response_model=CardView)
def suspend(ctx: StaffCtx, serial: Serial, body: ReasonIn) -> CardView:
    return cards.set_state(ctx, serial, "suspended", body.reason)


@router.post("/cards/{serial}/revoke", response_model=CardView)
def revoke(ctx: StaffCtx, serial: Serial, body: ReasonIn) -> CardView:
    return cards.set_state(ctx, serial, "revoked", body.reason)


@router.post("/cards/{serial}/reinstate", response_model=CardView)
def reinstate(ctx: StaffCtx, serial: Serial, body: ReasonIn) -> CardView:
    return cards.set_state(ctx, serial, "active", body.reason)


# --- keys, flags, audit --------------------------------------------------------------------------


@router.get("/issuer-keys", response_model=IssuerKeysOut)
def issuer_keys(ctx: StaffCtx) -> IssuerKeysOut:
    return IssuerKeysOut(keys=issuer.views(ctx))


@router.get("/root-key", response_model=RootKeyView)
def root_key(ctx: StaffCtx) -> RootKeyView:
    """The root public key and its fingerprint, for installation media and enrolment sheets."""
    return publications.root_key(ctx)


@router.post("/issuer-keys/rotate", response_model=IssuerKeyView, status_code=201)
def rotate(ctx: StaffCtx, body: RotateIn) -> IssuerKeyView:
    return issuer.rotate(ctx, overlap_days=body.overlap_days)


@router.get("/flags", response_model=FlagsOut)
def list_flags(
    ctx: StaffCtx, open: bool = True, card_serial: Annotated[Serial | None, Query()] = None
) -> FlagsOut:
    return FlagsOut(flags=flags.flags(ctx, open_only=open, card_serial=card_serial))


@router.post("/flags/{flag_id}/resolve", response_model=FlagView)
def resolve_flag(
    ctx: StaffCtx, flag_id: Annotated[int, Path(ge=0, le=(1 << 31) - 1)], body: NoteIn
) -> FlagView:
    return flags.resolve(ctx, flag_id, body.note)


@router.get("/audit", response_model=AuditOut)
def audit_log(
    ctx: StaffCtx,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditOut:
    return AuditOut(entries=[AuditEntryOut.model_validate(e) for e in audit.entries(ctx, limit, offset)])

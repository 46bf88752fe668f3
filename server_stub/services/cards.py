"""Cards: issuance planning and completion, status changes (suspend / revoke / reinstate), grants,
remaining entitlements and the lost/stolen reissue.

Every status change gets the next status-list sequence number (a :class:`StatusChange` row, published
as a signed delta) and an issuer-signed :class:`StatusBody` command that terminals apply when the card
taps (block = BLOCKED, revoke = TERMINATED, reinstate = OPERATIONAL).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy import func, select

from card_applet_spec import constants as c
from card_applet_spec.credential import decode_credential
from card_applet_spec.names import NameRefused, card_name
from card_applet_spec.records import GrantBody, StatusBody
from card_applet_spec.redaction import mask_nik
from province.clock import WIB
from province.issuance import GrantSpec, Holder, IssuedCard
from province.statuslist import CardStatus
from server_stub.errors import Conflict, Invalid, NotFound
from server_stub.models import (
    Card,
    Citizen,
    Grant,
    Redemption,
    StatusChange,
    StatusCommand,
)
from server_stub.repositories import counters
from server_stub.repositories import registry as registry_repo
from server_stub.services import agency_scope, audit, publications
from server_stub.services.context import CARD_OFFICER, REGISTRAR, Ctx
from server_stub.services.issuer import card_issuer_points, current_key, signer_for_kid
from server_stub.services.registry import load_citizen

STATE_VALUE = {"active": CardStatus.VALID, "suspended": CardStatus.SUSPENDED, "revoked": CardStatus.REVOKED}
STATE_LIFECYCLE = {
    "active": c.LifeCycle.OPERATIONAL,
    "suspended": c.LifeCycle.BLOCKED,
    "revoked": c.LifeCycle.TERMINATED,
}
TRANSITIONS = {
    ("active", "suspended"),
    ("active", "revoked"),
    ("suspended", "revoked"),
    ("suspended", "active"),
}
METERED_KINDS = (c.Kind.CASH, c.Kind.QUANTITY)


def month_of(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, WIB).strftime("%Y-%m")


def serial_hex(raw: str) -> str:
    value = raw.strip().lower()
    if len(value) != 16 or any(ch not in "0123456789abcdef" for ch in value):
        raise Invalid("a card serial is 16 hex digits", code="invalid_serial")
    return value


def load_card(ctx: Ctx, serial: str, *, lock: bool = False) -> Card:
    query = select(Card).where(Card.serial == serial_hex(serial))
    if lock:
        query = query.with_for_update()
    card = ctx.session.scalars(query).one_or_none()
    if card is None:
        raise NotFound(f"no card {serial}", code="unknown_card")
    return card


# --- views ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntitlementView:
    program: int
    grant_seq: int
    kind: int
    unit: int
    amount: int
    remaining: int
    valid_from: int
    valid_until: int
    delivered: bool


@dataclass(frozen=True)
class CardView:
    serial: str
    state: str
    state_reason: str | None
    status_index: int
    region: int
    holder_nik: str  # masked unless the role needs the full NIK
    holder_name: str
    issued_at: int
    expires_at: int
    issuer_kid: str
    replaces: str | None
    replaced_by: str | None
    entitlements: tuple[EntitlementView, ...]


def latest_grants(ctx: Ctx, serial: str) -> list[Grant]:
    rows = ctx.session.scalars(
        select(Grant).where(Grant.card_serial == serial).order_by(Grant.program_id, Grant.grant_seq)
    )
    latest: dict[int, Grant] = {}
    for g in rows:
        latest[g.program_id] = g
    return list(latest.values())


def remaining_of(ctx: Ctx, grant: Grant) -> int:
    """What is left of a grant by the redemptions ingested so far (voided ones do not count)."""
    if grant.kind not in METERED_KINDS:
        return grant.amount
    spent = ctx.session.scalar(
        select(func.coalesce(func.sum(Redemption.amount), 0)).where(
            Redemption.card_serial == grant.card_serial,
            Redemption.program == grant.program_id,
            Redemption.grant_seq == grant.grant_seq,
            Redemption.voided.is_(False),
        )
    )
    return max(0, grant.amount - int(spent or 0))


def card_view(ctx: Ctx, card: Card, *, with_entitlements: bool = True) -> CardView:
    citizen = card.citizen
    ents: tuple[EntitlementView, ...] = ()
    if with_entitlements:
        ents = tuple(
            EntitlementView(
                g.program_id,
                g.grant_seq,
                g.kind,
                g.unit,
                g.amount,
                remaining_of(ctx, g),
                g.valid_from,
                g.valid_until,
                g.delivered,
            )
            for g in latest_grants(ctx, card.serial)
        )
    return CardView(
        serial=card.serial,
        state=card.state,
        state_reason=card.state_reason,
        status_index=card.status_index,
        region=card.region,
        holder_nik=citizen.nik if ctx.actor.sees_full_nik else mask_nik(citizen.nik),
        holder_name=citizen.name,
        issued_at=card.issued_at,
        expires_at=card.expires_at,
        issuer_kid=card.issuer_kid,
        replaces=card.replaces,
        replaced_by=card.replaced_by,
        entitlements=ents,
    )


def get_card(ctx: Ctx, serial: str) -> CardView:
    """A card; an agency sees its beneficiaries' cards with its own programmes' entitlements only."""
    card = load_card(ctx, serial)
    scope = agency_scope.scope_of(ctx)
    if not agency_scope.sees_citizen(ctx, scope, card.citizen):
        raise NotFound(f"no card {serial}", code="unknown_card")
    view = card_view(ctx, card)
    if scope.everything:
        return view
    return replace(view, entitlements=tuple(e for e in view.entitlements if scope.covers(e.program)))


# --- status changes ------------------------------------------------------------------------------


def change_status(ctx: Ctx, serial: str, new_state: str, reason: str, *, check_role: bool = True) -> Card:
    """Suspend / revoke / reinstate: status-list change, signed StatusBody command, audit entry."""
    if check_role:
        ctx.actor.require(CARD_OFFICER)
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid("a status change needs a reason", code="reason_required")
    card = load_card(ctx, serial, lock=True)
    if (card.state, new_state) not in TRANSITIONS:
        raise Conflict(
            f"card {card.serial} is {card.state}; cannot become {new_state}", code="bad_transition"
        )
    old = card.state
    card.state = new_state
    card.state_reason = reason
    card.status_seq += 1
    signer = signer_for_kid(ctx, card.issuer_kid)
    if signer is None:
        raise Invalid(f"issuer key {card.issuer_kid} is unknown", code="no_issuer_key")
    body = StatusBody(bytes.fromhex(card.serial), int(STATE_LIFECYCLE[new_state]), card.status_seq)
    signed = signer.status(body)
    now = ctx.now()
    ctx.session.add(
        StatusCommand(
            card_serial=card.serial,
            new_state=body.new_state,
            status_seq=body.status_seq,
            body=signed.body,
            kid=signed.kid.hex(),
            signature=signed.signature,
            acked=False,
            created_at=now,
        )
    )
    seq = publications.new_step(ctx).seq
    ctx.session.add(
        StatusChange(
            seq=seq,
            status_index=card.status_index,
            card_serial=card.serial,
            value=int(STATE_VALUE[new_state]),
            reason=reason,
            actor=ctx.actor.label,
            at=now,
        )
    )
    ctx.session.flush()
    audit.record(ctx, f"card.{_verb(old, new_state)}", card.serial, reason=reason, status_seq=seq)
    return card


def _verb(old: str, new: str) -> str:
    return {"suspended": "suspend", "revoked": "revoke"}.get(new, "reinstate")


def set_state(ctx: Ctx, serial: str, new_state: str, reason: str) -> CardView:
    return card_view(ctx, change_status(ctx, serial, new_state, reason))


# --- grants --------------------------------------------------------------------------------------


def sign_grant(ctx: Ctx, card: Card, spec: GrantSpec) -> Grant:
    signer = signer_for_kid(ctx, card.issuer_kid)
    if signer is None:
        raise Invalid(f"issuer key {card.issuer_kid} is unknown", code="no_issuer_key")
    body: GrantBody = spec.body(bytes.fromhex(card.serial))
    signed = signer.grant(body)
    return Grant(
        card_serial=card.serial,
        program_id=int(spec.program),
        grant_seq=spec.grant_seq,
        kind=body.kind,
        unit=body.unit,
        amount=body.amount,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        month=month_of(body.valid_from),
        body=signed.body,
        kid=signed.kid.hex(),
        signature=signed.signature,
        delivered=False,
        created_at=ctx.now(),
    )


def period_window(period: str, now: int, card_expires: int) -> tuple[int, int]:
    """The current period containing ``now`` in WIB: calendar month, calendar year, or up to expiry."""
    day = dt.datetime.fromtimestamp(now, WIB)
    if period == "monthly":
        start = day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (start + dt.timedelta(days=32)).replace(day=1)
    elif period == "yearly":
        start = day.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        end = start.replace(year=start.year + 1)
    else:
        return now - 86400, card_expires
    return int(start.timestamp()), int(end.timestamp()) - 1


def issue_period_grants(
    ctx: Ctx, program_id: int, *, valid_from: int, valid_until: int, amount: int | None
) -> int:
    """Next-period grants of one program for every active card of an eligible citizen: a grant cycle
    (:func:`server_stub.services.cycles.run_cycle`); how many grants it issued."""
    from server_stub.services import cycles

    report = cycles.run_cycle(ctx, program_id, valid_from=valid_from, valid_until=valid_until, amount=amount)
    return report.grants


# --- issuance ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuePlan:
    """A reserved card (state ``pending``): what the station writes onto the blank card."""

    serial: bytes
    status_index: int
    holder: Holder
    issuer_generation: int
    extra_issuer_points: tuple[tuple[bytes, bytes], ...]
    issued_at: int
    expires_at: int
    grants: tuple[GrantSpec, ...]
    replaces: str | None = None
    carried: dict[int, int] = field(default_factory=dict)


def new_serial(region: int, rng: Callable[[int], bytes] = secrets.token_bytes) -> bytes:
    """Region code as BCD (``6271`` → 62 71) and 6 random bytes."""
    return bytes.fromhex(f"{region:04d}") + rng(6)


def default_grants(ctx: Ctx, citizen: Citizen, expires_at: int) -> list[GrantSpec]:
    now = ctx.now()
    programs = {p.id: p for p in registry_repo.programs(ctx.session)}
    specs = []
    for e in citizen.eligibility:
        p = programs[e.program_id]
        start, end = period_window(p.period, now, expires_at)
        specs.append(
            GrantSpec(
                program=c.Program(p.id),
                amount=p.amount,
                valid_from=max(0, start),
                valid_until=min(end, expires_at),
                grant_seq=1,
                unit=c.Unit(p.unit),
            )
        )
    return specs


def carried_grants(ctx: Ctx, old: Card) -> tuple[list[GrantSpec], dict[int, int]]:
    """The holder's remaining entitlements on ``old`` (still valid), as grants for the new card."""
    now = ctx.now()
    specs, carried = [], {}
    for g in latest_grants(ctx, old.serial):
        if g.valid_until < now:
            continue
        remaining = remaining_of(ctx, g)
        if g.kind in METERED_KINDS and remaining == 0:
            continue
        specs.append(
            GrantSpec(
                program=c.Program(g.program_id),
                amount=remaining,
                valid_from=g.valid_from,
                valid_until=g.valid_until,
                grant_seq=1,
                unit=c.Unit(g.unit),
            )
        )
        carried[g.program_id] = remaining
    return specs, carried


def plan_issue(
    ctx: Ctx,
    *,
    nik: str,
    replaces: str | None = None,
    rng: Callable[[int], bytes] = secrets.token_bytes,
) -> IssuePlan:
    """Reserve a serial and status index for a new card of ``nik`` (commit before personalising)."""
    ctx.actor.require(REGISTRAR)
    citizen = load_citizen(ctx, nik)
    cards = list(ctx.session.scalars(select(Card).where(Card.citizen_id == citizen.id)))
    old = None
    if replaces is not None:
        old = next((k for k in cards if k.serial == serial_hex(replaces)), None)
        if old is None:
            raise NotFound("that card does not belong to this citizen", code="unknown_card")
        if old.state not in ("active", "suspended"):
            raise Conflict(f"card {old.serial} is {old.state}: nothing to replace", code="bad_transition")
    live = [k for k in cards if k.state in ("active", "suspended", "pending") and k is not old]
    if live:
        raise Conflict(
            f"citizen already has card {live[0].serial} ({live[0].state}); reissue it instead",
            code="already_has_card",
        )
    now = ctx.now()
    expires_at = now + ctx.settings.credential_validity_days * 86400
    if old is not None:
        grants, carried = carried_grants(ctx, old)
    else:
        grants, carried = default_grants(ctx, citizen, expires_at), {}
    key = current_key(ctx)
    serial = new_serial(citizen.region, rng)
    while ctx.session.get(Card, serial.hex()) is not None:
        serial = new_serial(citizen.region, rng)
    index = counters.advance(ctx.session, counters.STATUS_INDEX) - 1
    publications.ensure_size(ctx, index + 1)
    ctx.session.add(
        Card(
            serial=serial.hex(),
            citizen_id=citizen.id,
            status_index=index,
            state="pending",
            card_key=None,
            credential=None,
            issuer_kid=key.kid,
            region=citizen.region,
            status_seq=0,
            issued_at=now,
            expires_at=expires_at,
            month=month_of(now),
            replaces=old.serial if old else None,
        )
    )
    ctx.session.flush()
    return IssuePlan(
        serial=serial,
        status_index=index,
        holder=Holder(nik=citizen.nik, name=_card_name(citizen.name), kk_number=citizen.kk_number or ""),
        issuer_generation=key.generation,
        extra_issuer_points=tuple(card_issuer_points(ctx)),
        issued_at=now,
        expires_at=expires_at,
        grants=tuple(grants),
        replaces=old.serial if old else None,
        carried=carried,
    )


def _card_name(name: str) -> str:
    """The holder's name as the card holds it (normal form, cut to the card's byte budget)."""
    try:
        return card_name(name)
    except NameRefused as err:
        raise Invalid(f"the registered name cannot go on a card: {err}", code="invalid_name") from None


def complete_issue(ctx: Ctx, plan: IssuePlan, issued: IssuedCard, *, reason: str = "") -> CardView:
    """The card is personalised: store its key and credential, its grants (delivered), and for a
    reissue revoke the old card (same transaction)."""
    card = load_card(ctx, plan.serial.hex(), lock=True)
    if card.state != "pending":
        raise Conflict(f"card {card.serial} is {card.state}, not pending", code="bad_transition")
    credential = decode_credential(issued.credential)
    card.card_key = credential.claims.card_key
    card.credential = issued.credential
    card.state = "active"
    for spec in plan.grants:
        grant = sign_grant(ctx, card, spec)
        grant.delivered = True
        ctx.session.add(grant)
    if plan.replaces is not None:
        old = change_status(
            ctx, plan.replaces, "revoked", reason or "replaced by a new card", check_role=False
        )
        old.replaced_by = card.serial
    ctx.session.flush()
    audit.record(
        ctx,
        "card.reissue" if plan.replaces else "card.issue",
        card.serial,
        holder=mask_nik(plan.holder.nik),
        replaces=plan.replaces,
        carried={str(k): v for k, v in plan.carried.items()},
        grants=[int(g.program) for g in plan.grants],
    )
    return card_view(ctx, card)


def fail_issue(ctx: Ctx, serial: bytes, error: str) -> None:
    card = ctx.session.get(Card, serial.hex())
    if card is not None and card.state == "pending":
        card.state = "failed"
        card.state_reason = error[:200]
        audit.record(ctx, "card.issue_failed", card.serial, error=error[:200])
    ctx.session.flush()

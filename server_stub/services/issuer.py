"""Issuer keys: the current signer, validity windows and rotation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from card_applet_spec.issuer import IssuerSigner
from server_stub.errors import Invalid
from server_stub.models import IssuerKey
from server_stub.repositories import counters
from server_stub.services import audit
from server_stub.services.context import AUDITOR, Ctx


@dataclass(frozen=True)
class IssuerKeyView:
    kid: str
    generation: int
    public_key: str  # hex, uncompressed SEC1
    issue_from: int
    issue_until: int | None
    verify_until: int | None


def keys(ctx: Ctx) -> list[IssuerKey]:
    return list(ctx.session.scalars(select(IssuerKey).order_by(IssuerKey.generation)))


def views(ctx: Ctx) -> list[IssuerKeyView]:
    ctx.actor.require(AUDITOR)
    return [
        IssuerKeyView(k.kid, k.generation, k.point.hex(), k.issue_from, k.issue_until, k.verify_until)
        for k in keys(ctx)
    ]


def current_key(ctx: Ctx) -> IssuerKey:
    """The newest key whose window has begun (new cards, grants and status commands are signed with it);
    with an offline root, only a key the served trust list carries (terminals must know it)."""
    now = ctx.now()
    usable = [k for k in keys(ctx) if k.issue_from <= now and (k.issue_until is None or now <= k.issue_until)]
    if not ctx.keys.online_root:
        from server_stub.services.publications import served_issuer_kids

        known = served_issuer_kids(ctx)
        usable = [k for k in usable if k.kid in known]
    if not usable:
        raise Invalid("no issuer key is valid now", code="no_issuer_key")
    return usable[-1]


def current_issuer(ctx: Ctx) -> IssuerSigner:
    return ctx.keys.issuer(current_key(ctx).generation)


def signer_for_kid(ctx: Ctx, kid_hex: str) -> IssuerSigner | None:
    row = ctx.session.get(IssuerKey, kid_hex)
    return None if row is None else ctx.keys.issuer(row.generation)


def card_issuer_points(ctx: Ctx) -> list[tuple[bytes, bytes]]:
    """(kid, point) of the keys a new card should trust besides the current one (the newest other
    key still valid or not yet begun: the card holds two), so a rotation does not strand it."""
    now = ctx.now()
    current = current_key(ctx)
    others = [
        k for k in keys(ctx) if k.kid != current.kid and (k.issue_until is None or now <= k.issue_until)
    ]
    return [(bytes.fromhex(k.kid), k.point) for k in others[-1:]]


def rotate(ctx: Ctx, *, overlap_days: int, starts_at: int | None = None) -> IssuerKeyView:
    """Add the next key generation (generated in the key store), used from ``starts_at`` (now in the
    demo; with an offline root not before the rotation lead, time for a ceremony to sign a trust list
    that carries it); older keys may still sign ``overlap_days`` after (offline stations) and verify
    the credentials they signed until those expire."""
    ctx.actor.require()
    if not 0 <= overlap_days <= 3650:
        raise Invalid("overlap_days is 0-3650")
    from server_stub.services.trust_lists import rotation_start

    now = rotation_start(ctx, starts_at)
    existing = keys(ctx)
    if existing and existing[-1].issue_from >= now:
        raise Invalid("a newer issuer key is already scheduled", code="rotation_pending")
    generation = existing[-1].generation + 1 if existing else 1
    end = now + overlap_days * 86400
    for k in existing:
        if k.issue_until is None or k.issue_until > end:
            k.issue_until = end
            k.verify_until = end + ctx.settings.credential_validity_days * 86400
    signer = ctx.keys.create_issuer(generation)
    row = IssuerKey(
        kid=signer.kid.hex(),
        generation=generation,
        point=signer.point,
        issue_from=now,
        issue_until=None,
        verify_until=None,
        created_at=ctx.now(),
    )
    ctx.session.add(row)
    counters.bump_trust(ctx.session, ctx.now())
    ctx.session.flush()
    audit.record(ctx, "issuer_key.rotate", row.kid, generation=generation, overlap_days=overlap_days)
    return IssuerKeyView(row.kid, generation, row.point.hex(), row.issue_from, None, None)

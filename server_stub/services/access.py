"""Authentication (bearer tokens), terminal enrolment and clerk accounts."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.constants import REGIONS
from card_applet_spec.records import TerminalCertBody
from card_applet_spec.tlv import tlv
from server_stub.errors import Conflict, Invalid, NotFound, Unauthorized
from server_stub.models import Agency, Clerk, Terminal
from server_stub.repositories import access as repo
from server_stub.repositories import counters
from server_stub.services import audit
from server_stub.services.context import (
    ADMIN,
    AGENCY_ADMIN,
    AUDITOR,
    CLERK_ROLES,
    REGISTRAR,
    Actor,
    Ctx,
)
from server_stub.services.issuer import current_issuer

TERMINAL_ID = re.compile(r"^[A-Z0-9]{8}$")
USERNAME = re.compile(r"^[a-z0-9_.-]{3,64}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def authenticate(ctx: Ctx, token: str | None) -> Actor:
    """The actor behind a bearer token; Unauthorized when there is none or it is unknown."""
    if not token:
        raise Unauthorized("a bearer token is required")
    admin = ctx.settings.admin_token
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        return Actor("admin", "admin", ADMIN)
    digest = hash_token(token)
    terminal = repo.terminal_by_token_hash(ctx.session, digest)
    if terminal is not None and terminal.active:
        return Actor("terminal", terminal.id, "terminal", region=terminal.region)
    clerk = repo.clerk_by_token_hash(ctx.session, digest)
    if clerk is not None and clerk.active:
        return Actor("clerk", clerk.username, clerk.role, agency=clerk.agency)
    raise Unauthorized("unknown or revoked token")


@dataclass(frozen=True)
class TerminalView:
    terminal_id: str
    site: str
    region: int
    region_name: str
    public_key: str  # hex
    pin_reset: bool
    active: bool
    enrolled_at: int


@dataclass(frozen=True)
class Enrolment:
    terminal: TerminalView
    token: str
    certificate: bytes | None


def terminal_view(t: Terminal) -> TerminalView:
    return TerminalView(
        t.id, t.site, t.region, REGIONS[t.region], t.public_key.hex(), t.pin_reset, t.active, t.enrolled_at
    )


def check_point(public_key: bytes) -> bytes:
    if len(public_key) != 65 or public_key[0] != 0x04:
        raise Invalid("public key must be an uncompressed SEC1 P-256 point (65 bytes, 04...)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_key)
    except ValueError:
        raise Invalid("public key is not a point on P-256") from None
    return public_key


def enrol_terminal(
    ctx: Ctx, *, terminal_id: str, site: str, region: int, public_key: bytes, pin_reset: bool
) -> Enrolment:
    ctx.actor.require(REGISTRAR)
    if not TERMINAL_ID.match(terminal_id):
        raise Invalid("terminal id is 8 characters A-Z/0-9, e.g. T6271001", code="invalid_terminal_id")
    if region not in REGIONS:
        raise Invalid(f"{region} is not a regency/city code of Kalimantan Tengah", code="invalid_region")
    check_point(public_key)
    if repo.terminal(ctx.session, terminal_id) is not None:
        raise Conflict(f"terminal {terminal_id} is already enrolled", code="terminal_exists")
    token = new_token("khbs_t")
    t = Terminal(
        id=terminal_id,
        site=site,
        region=region,
        public_key=public_key,
        token_hash=hash_token(token),
        pin_reset=pin_reset,
        active=True,
        enrolled_at=ctx.now(),
        enrolled_by=ctx.actor.label,
    )
    ctx.session.add(t)
    counters.bump_trust(ctx.session, ctx.now())
    ctx.session.flush()
    certificate = None
    if pin_reset:
        signer = current_issuer(ctx)
        body = TerminalCertBody(
            terminal_id=terminal_id.encode("ascii"),
            roles=int(c.TerminalRole.PIN_RESET),
            valid_until=ctx.now() + ctx.settings.terminal_cert_days * 86400,
            public_key=public_key,
        )
        signed = signer.terminal_cert(body)
        certificate = tlv(
            c.TAG_TERMINAL_CERT,
            tlv(c.TAG_TERMINAL_CERT_BODY, signed.body)
            + tlv(c.TAG_KEY_ID, signed.kid)
            + tlv(c.TAG_SIGNATURE, signed.signature),
        )
    audit.record(ctx, "terminal.enrol", terminal_id, site=site, region=region, pin_reset=pin_reset)
    return Enrolment(terminal_view(t), token, certificate)


def list_terminals(ctx: Ctx) -> list[TerminalView]:
    ctx.actor.require(REGISTRAR, AUDITOR)
    return [terminal_view(t) for t in repo.terminals(ctx.session)]


def deactivate_terminal(ctx: Ctx, terminal_id: str) -> TerminalView:
    ctx.actor.require()
    t = repo.terminal(ctx.session, terminal_id)
    if t is None:
        raise NotFound(f"no terminal {terminal_id}")
    if t.active:
        t.active = False
        counters.bump_trust(ctx.session, ctx.now())
        audit.record(ctx, "terminal.deactivate", terminal_id)
    ctx.session.flush()
    return terminal_view(t)


@dataclass(frozen=True)
class ClerkView:
    username: str
    role: str
    agency: str | None
    active: bool
    created_at: int


def create_clerk(ctx: Ctx, *, username: str, role: str, agency: str | None) -> tuple[ClerkView, str]:
    ctx.actor.require()
    if not USERNAME.match(username):
        raise Invalid("username: 3-64 characters a-z 0-9 _ . -", code="invalid_username")
    if role not in CLERK_ROLES:
        raise Invalid(f"role must be one of {', '.join(CLERK_ROLES)}", code="invalid_role")
    if role == AGENCY_ADMIN:
        if agency is None or ctx.session.get(Agency, agency) is None:
            raise Invalid("an agency_admin needs the code of an existing agency", code="invalid_agency")
    elif agency is not None:
        raise Invalid("only an agency_admin belongs to an agency", code="invalid_agency")
    if repo.clerk_by_username(ctx.session, username) is not None:
        raise Conflict(f"clerk {username} exists", code="clerk_exists")
    token = new_token("khbs_c")
    clerk = Clerk(
        username=username,
        role=role,
        agency=agency,
        token_hash=hash_token(token),
        active=True,
        created_at=ctx.now(),
    )
    ctx.session.add(clerk)
    ctx.session.flush()
    audit.record(ctx, "clerk.create", username, role=role, agency=agency)
    return ClerkView(username, role, agency, True, clerk.created_at), token


def list_clerks(ctx: Ctx) -> list[ClerkView]:
    ctx.actor.require()
    return [ClerkView(k.username, k.role, k.agency, k.active, k.created_at) for k in repo.clerks(ctx.session)]

"""One-time enrolment codes: an administrator issues one for a terminal id (site, region, PIN-reset
role); the terminal presents it once to enrol itself (``access.enrol_with_code``). Codes are shown once
and stored as SHA-256 hashes only."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from card_applet_spec.constants import REGIONS
from server_stub.errors import Conflict, Invalid, NotFound
from server_stub.models import EnrolmentCode
from server_stub.repositories import access as terminals
from server_stub.repositories import counters
from server_stub.repositories import enrolment_codes as repo
from server_stub.services import audit
from server_stub.services.access import check_terminal_fields, hash_code, new_enrolment_code
from server_stub.services.context import AUDITOR, REGISTRAR, Ctx

MIN_VALID_HOURS = 1
MAX_VALID_HOURS = 168
DEFAULT_VALID_HOURS = 72


class CodeState(StrEnum):
    LIVE = "live"
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once, never stored
    terminal_id: str
    expires_at: int


@dataclass(frozen=True)
class CodeView:
    """A code as listed: everything but the code."""

    terminal_id: str
    site: str
    region: int
    region_name: str
    pin_reset: bool
    created_by: str
    created_at: int
    expires_at: int
    used_at: int | None
    revoked_at: int | None
    revoked_by: str | None
    state: CodeState


def state_of(code: EnrolmentCode, now: int) -> CodeState:
    if code.used_at is not None:
        return CodeState.USED
    if code.revoked_at is not None:
        return CodeState.REVOKED
    return CodeState.LIVE if now < code.expires_at else CodeState.EXPIRED


def code_view(code: EnrolmentCode, now: int) -> CodeView:
    return CodeView(
        code.terminal_id,
        code.site,
        code.region,
        REGIONS.get(code.region, ""),
        code.pin_reset,
        code.created_by,
        code.created_at,
        code.expires_at,
        code.used_at,
        code.revoked_at,
        code.revoked_by,
        state_of(code, now),
    )


def issue_code(
    ctx: Ctx, *, terminal_id: str, site: str, region: int, pin_reset: bool, valid_hours: int
) -> IssuedCode:
    """A new code for a terminal id that is not enrolled and has no live code (else 409). Issuing
    serialises with enrolments on the trust-list version's row lock, so the checks hold until commit."""
    ctx.actor.require(REGISTRAR)
    check_terminal_fields(terminal_id, region)
    if not MIN_VALID_HOURS <= valid_hours <= MAX_VALID_HOURS:
        raise Invalid(f"valid_hours: {MIN_VALID_HOURS}..{MAX_VALID_HOURS}", code="invalid_valid_hours")
    now = ctx.now()
    counters.lock(ctx.session, counters.TRUST_VERSION)
    if terminals.terminal(ctx.session, terminal_id) is not None:
        raise Conflict(f"terminal {terminal_id} is already enrolled", code="terminal_exists")
    if repo.live_for_terminal(ctx.session, terminal_id, now) is not None:
        raise Conflict(
            f"terminal {terminal_id} already has a live enrolment code: revoke it first",
            code="enrolment_code_exists",
        )
    code = new_enrolment_code()
    row = EnrolmentCode(
        code_hash=hash_code(code.replace("-", "")),
        terminal_id=terminal_id,
        site=site,
        region=region,
        pin_reset=pin_reset,
        created_by=ctx.actor.label,
        created_at=now,
        expires_at=now + valid_hours * 3600,
    )
    repo.add(ctx.session, row)
    audit.record(
        ctx,
        "enrolment_code.issue",
        terminal_id,
        site=site,
        region=region,
        pin_reset=pin_reset,
        expires_at=row.expires_at,
    )
    return IssuedCode(code, terminal_id, row.expires_at)


def list_codes(ctx: Ctx) -> list[CodeView]:
    ctx.actor.require(REGISTRAR, AUDITOR)
    now = ctx.now()
    return [code_view(code, now) for code in repo.all_codes(ctx.session)]


def revoke_code(ctx: Ctx, terminal_id: str) -> list[CodeView]:
    """Revoke the terminal's live code(s); NotFound when it has none (used, expired or never issued)."""
    ctx.actor.require(REGISTRAR)
    now = ctx.now()
    revoked = repo.revoke_open(ctx.session, terminal_id, now, ctx.actor.label)
    if not revoked:
        raise NotFound(f"terminal {terminal_id} has no live enrolment code")
    audit.record(ctx, "enrolment_code.revoke", terminal_id, revoked=len(revoked))
    return [code_view(code, now) for code in revoked]

"""Bearer tokens: who is calling (``authenticate``), how long a token works, and its rotation.

Every request reads the terminal or clerk row afresh (no cached authentication), so deactivating a
terminal or a clerk, or rotating a token, takes effect at the next request in every server process.

- A token works until ``token_expires_at`` (terminals ``Settings.terminal_token_ttl_s``, clerks
  ``clerk_token_ttl_s``). A terminal renews its own (``renew_terminal_token``, due after a third of its
  life); a clerk renews its own (``renew_own_token``); an administrator reissues a clerk's
  (``access.reissue_clerk_token``). An expired token is refused as ``token_expired``.
- A rotation keeps the replaced token working for ``token_rotation_grace_s`` or until the new one is
  first used, whichever is first (an answer lost on the way must not strand a terminal); an
  administrator's reissue and a deactivation end every old token at once.
- Refusals are counted (``server_stub.services.lockout``) and audited (``auth.refused``, within the
  audit budget); the admin token from the settings never expires (it is configuration, not an account).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from server_stub.errors import AuthenticationFailed, Forbidden
from server_stub.models import Clerk, Terminal
from server_stub.repositories import access as repo
from server_stub.services import audit, lockout
from server_stub.services.context import ADMIN, Actor, Ctx
from server_stub.services.lockout import Scope


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


class Refusal(StrEnum):
    """Why a bearer token was refused (the audit entry's ``reason``)."""

    MISSING = "missing"
    UNKNOWN = "unknown"  # never issued (or garbage): counts against the address too
    EXPIRED = "expired"
    REPLACED = "replaced"  # a rotated-away token past its grace
    INACTIVE = "inactive"  # the terminal or clerk was deactivated


_MESSAGES = {
    Refusal.MISSING: "a bearer token is required",
    Refusal.UNKNOWN: "unknown or revoked token",
    Refusal.INACTIVE: "unknown or revoked token",
    Refusal.EXPIRED: "this token has expired: a terminal enrols again, a clerk asks an administrator",
    Refusal.REPLACED: "this token was replaced by a newer one",
}
#: Unauthenticated requests without any token, audited per address within this budget.
MISSING_BUDGET_PER_ADDRESS = 20


def authenticate(ctx: Ctx, token: str | None, *, client: str) -> Actor:
    """The actor behind a bearer token. Refused (``AuthenticationFailed``, 401) when there is none or it
    does not work; ``TooManyAttempts`` (429) while the address or the token is locked out."""
    if not token:
        budget = audit.Budget(f"audit:anon:{client[:100]}", MISSING_BUDGET_PER_ADDRESS)
        audit.record_refusal(
            ctx, f"client:{client}", "auth.refused", f"client:{client}", source=budget, reason="missing"
        )
        raise AuthenticationFailed(_MESSAGES[Refusal.MISSING])
    digest = hash_token(token)
    token_key, address_key = lockout.token_key(digest), lockout.address_key(client)
    lockout.check(ctx, (address_key, token_key))
    admin = ctx.settings.admin_token
    if admin and hmac.compare_digest(token.encode(), admin.encode()):
        return Actor("admin", "admin", ADMIN)
    holder: Terminal | Clerk | None = repo.terminal_by_token_hash(ctx.session, digest)
    if holder is None:
        holder = repo.clerk_by_token_hash(ctx.session, digest)
    refusal = _refusal(holder, digest, ctx.now())
    if refusal is not None:
        keys = [(Scope.TOKEN, token_key)]
        if refusal is Refusal.UNKNOWN:
            keys.append((Scope.ADDRESS, address_key))
        target = _label(holder) if holder is not None else token_key
        audit.record_refusal(ctx, f"client:{client}", "auth.refused", target, reason=refusal.value)
        lockout.failed(ctx, client=client, keys=keys)
        ctx.session.flush()
        code = "token_expired" if refusal in (Refusal.EXPIRED, Refusal.REPLACED) else "unauthorized"
        raise AuthenticationFailed(_MESSAGES[refusal], code=code)
    assert holder is not None  # no refusal: a holder
    now = ctx.now()
    if holder.token_hash == digest and (holder.previous_token_until or 0) > now:
        holder.previous_token_until = now  # the new token is in use: the replaced one stops now
    if isinstance(holder, Terminal):
        return Actor("terminal", holder.id, "terminal", region=holder.region)
    return Actor("clerk", holder.username, holder.role, agency=holder.agency)


def _refusal(holder: Terminal | Clerk | None, digest: str, now: int) -> Refusal | None:
    if holder is None:
        return Refusal.UNKNOWN
    if not holder.active:
        return Refusal.INACTIVE
    if holder.token_hash == digest:
        return Refusal.EXPIRED if holder.token_expires_at <= now else None
    return Refusal.REPLACED if (holder.previous_token_until or 0) <= now else None


def _label(holder: Terminal | Clerk) -> str:
    return f"terminal:{holder.id}" if isinstance(holder, Terminal) else f"clerk:{holder.username}"


# --- rotation --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenView:
    token: str | None  # the new token, shown this once; None when it was not renewed
    expires_at: int  # the (new) token's expiry, Unix seconds
    renew_after: int  # from when a renewal is due


def issue(holder: Terminal | Clerk, prefix: str, *, now: int, ttl_s: int, grace_s: int) -> str:
    """A new token for ``holder``; the replaced one works ``grace_s`` more (0: stops at once)."""
    token = new_token(prefix)
    if grace_s > 0 and holder.token_hash:
        holder.previous_token_hash = holder.token_hash
        holder.previous_token_until = now + grace_s
    else:
        holder.previous_token_hash = None
        holder.previous_token_until = None
    holder.token_hash = hash_token(token)
    holder.token_expires_at = now + ttl_s
    return token


def renew_after(expires_at: int, ttl_s: int) -> int:
    return expires_at - ttl_s + ttl_s // 3


def renew_terminal_token(ctx: Ctx, *, force: bool) -> TokenView:
    """The calling terminal's token, renewed when a third of its life has passed (or ``force``)."""
    ctx.actor.require_terminal()
    terminal = repo.terminal(ctx.session, ctx.actor.name)
    if terminal is None:  # authenticated a moment ago
        raise Forbidden("this terminal is not enrolled")
    ttl = ctx.settings.terminal_token_ttl_s
    if not force and ctx.now() < renew_after(terminal.token_expires_at, ttl):
        return TokenView(None, terminal.token_expires_at, renew_after(terminal.token_expires_at, ttl))
    now = ctx.now()
    token = issue(terminal, "khbs_t", now=now, ttl_s=ttl, grace_s=ctx.settings.token_rotation_grace_s)
    audit.record(
        ctx, "terminal.token_rotate", terminal.id, expires_at=terminal.token_expires_at, forced=force
    )
    ctx.session.flush()
    return TokenView(token, terminal.token_expires_at, renew_after(terminal.token_expires_at, ttl))


def renew_own_token(ctx: Ctx) -> TokenView:
    """A clerk renews its own token (the old one works until the new one is used, at most the grace)."""
    if ctx.actor.kind != "clerk":
        raise Forbidden("only a clerk renews its token here (the admin token is a setting)")
    clerk = repo.clerk_by_username(ctx.session, ctx.actor.name)
    if clerk is None:
        raise Forbidden("no such clerk")
    ttl = ctx.settings.clerk_token_ttl_s
    token = issue(clerk, "khbs_c", now=ctx.now(), ttl_s=ttl, grace_s=ctx.settings.token_rotation_grace_s)
    audit.record(ctx, "clerk.token_rotate", clerk.username, expires_at=clerk.token_expires_at)
    ctx.session.flush()
    return TokenView(token, clerk.token_expires_at, renew_after(clerk.token_expires_at, ttl))

"""Failed authentication: counted per client address and per presented token, locked out past a
threshold (shared by every server process through ``auth_throttle``).

- *Per address*: credentials we never issued (an unknown bearer token, an enrolment code that is not
  one) count against the address they came from: ``auth_fail_limit_addr`` within ``auth_fail_window_s``
  lock the address for ``auth_lockout_addr_s``. A known token that no longer works (expired, replaced,
  deactivated) does not count against the address: a terminal with a stale token must not lock out the
  other terminals behind the same NAT.
- *Per token*: every refusal of one token string, from any address, counts against it:
  ``auth_fail_limit_token`` lock the token for ``auth_lockout_token_s`` (a stolen, revoked clerk token
  tried from many addresses).

While locked, a request is refused with ``TooManyAttempts`` (429, ``Retry-After``) before the token is
looked up; that refusal is counted on the lock's row (``blocked``), not written to the audit log one
by one. The lock itself is audited (``auth.lockout``, within the audit budget).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from server_stub.errors import TooManyAttempts
from server_stub.repositories import throttle
from server_stub.services import audit
from server_stub.services.context import ADMIN, AUDITOR, Ctx

ADDRESS_PREFIX = "addr:"
TOKEN_PREFIX = "tok:"


class Scope(StrEnum):
    ADDRESS = "address"
    TOKEN = "token"


def address_key(client: str) -> str:
    return f"{ADDRESS_PREFIX}{client[:100]}"


def token_key(token_hash: str) -> str:
    """The key of a presented token: a prefix of its SHA-256 (never the token)."""
    return f"{TOKEN_PREFIX}{token_hash[:32]}"


def check(ctx: Ctx, keys: Collection[str]) -> None:
    """Refuse (429) when any of ``keys`` is locked; the refusal is counted on the lock."""
    now = ctx.now()
    locked = throttle.blocked(ctx.session, keys, now=now)
    if locked:
        ctx.session.flush()
        retry = max(until for _, until in locked) - now
        raise TooManyAttempts(
            "too many failed attempts: try again later", retry_after=max(1, min(retry, 86_400))
        )


def failed(ctx: Ctx, *, client: str, keys: Collection[tuple[Scope, str]]) -> None:
    """Count one failed authentication on each key; lock a key that reaches its threshold (audited)."""
    s = ctx.settings
    now = ctx.now()
    limits = {
        Scope.ADDRESS: (s.auth_fail_limit_addr, s.auth_lockout_addr_s),
        Scope.TOKEN: (s.auth_fail_limit_token, s.auth_lockout_token_s),
    }
    for scope, key in keys:
        limit, lockout_s = limits[scope]
        failures, locked_until = throttle.hit(ctx.session, key, now=now, window_s=s.auth_fail_window_s)
        if failures >= limit and locked_until <= now:
            until = now + lockout_s
            throttle.lock(ctx.session, key, now=now, until=until)
            audit.record_refusal(
                ctx,
                f"client:{client}",
                "auth.lockout",
                key,
                scope=scope.value,
                failures=failures,
                window_s=s.auth_fail_window_s,
                locked_until=until,
            )


@dataclass(frozen=True)
class LockoutView:
    key: str  # addr:<ip> or tok:<first 32 hex digits of the token's SHA-256>
    scope: str
    locked_until: int
    blocked: int  # requests refused with 429 since the lock began
    lockouts: int  # how many times this key was locked


def lockouts(ctx: Ctx) -> list[LockoutView]:
    ctx.actor.require(AUDITOR)
    out: list[LockoutView] = []
    for lock in throttle.locks(ctx.session, now=ctx.now()):
        if lock.key.startswith(ADDRESS_PREFIX):
            scope = Scope.ADDRESS
        elif lock.key.startswith(TOKEN_PREFIX):
            scope = Scope.TOKEN
        else:
            continue
        out.append(LockoutView(lock.key, scope.value, lock.locked_until, lock.blocked, lock.lockouts))
    return out


def clear(ctx: Ctx, key: str) -> bool:
    """An administrator lifts a lockout (a site's NAT locked by one misconfigured machine)."""
    ctx.actor.require(ADMIN)
    if not key.startswith((ADDRESS_PREFIX, TOKEN_PREFIX)):
        return False
    cleared = throttle.clear(ctx.session, key)
    if cleared:
        audit.record(ctx, "auth.lockout_clear", key)
    return cleared

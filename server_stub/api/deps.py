"""Request-scoped wiring: a unit of work (session + context) per request, bearer-token actors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from server_stub.errors import DomainError, Forbidden
from server_stub.keys import KeyRing
from server_stub.services import audit
from server_stub.services.context import Ctx
from server_stub.services.credentials import authenticate
from server_stub.settings import Settings

log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="terminal, clerk or admin token")


@dataclass
class AppState:
    settings: Settings
    sessions: sessionmaker[Session]
    keys: KeyRing
    clock: Callable[[], int]


def state(request: Request) -> AppState:
    app_state: AppState = request.app.state.khbs  # set by create_app; Starlette's State is untyped
    return app_state


def client_address(request: Request) -> str:
    """The TCP peer (behind a reverse proxy: uvicorn ``--proxy-headers --forwarded-allow-ips``)."""
    return request.client.host if request.client else "unknown"


#: Refused (403) attempts of one actor audited one by one per window; beyond, counted (audit budget).
FORBIDDEN_PER_ACTOR = 30


def _unit_of_work(
    request: Request, credentials: HTTPAuthorizationCredentials | None, anonymous: bool
) -> Iterator[Ctx]:
    st = state(request)
    session = st.sessions()
    try:
        ctx = Ctx(session=session, settings=st.settings, keys=st.keys, clock=st.clock)
        if not anonymous:
            token = credentials.credentials if credentials else None
            ctx.actor = authenticate(ctx, token, client=client_address(request))
        yield ctx
        session.commit()
    except DomainError as err:
        if err.keep_writes:
            session.commit()
        else:
            session.rollback()
            if isinstance(err, Forbidden):  # a refusal the service did not audit itself: audit it here
                _audit_forbidden(ctx, request, err)
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _audit_forbidden(ctx: Ctx, request: Request, err: Forbidden) -> None:
    """``auth.forbidden`` for a 403: who, what, from where (within the actor's audit budget)."""
    label = ctx.actor.label
    audit.record_refusal(
        ctx,
        label,
        "auth.forbidden",
        f"{request.method} {request.url.path}",
        source=audit.Budget(f"audit:forbidden:{label}", FORBIDDEN_PER_ACTOR),
        code=err.code,
        message=err.message[:200],
        client=client_address(request),
    )
    try:
        ctx.session.commit()
    except Exception:  # the refusal stands even if its audit entry cannot be written
        log.exception("could not audit a refused request")
        ctx.session.rollback()


def any_actor(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Iterator[Ctx]:
    yield from _unit_of_work(request, credentials, anonymous=False)


def staff(ctx: Annotated[Ctx, Depends(any_actor, scope="function")]) -> Ctx:
    if ctx.actor.kind == "terminal":
        raise Forbidden("terminal tokens cannot use the admin API")
    return ctx


def terminal(ctx: Annotated[Ctx, Depends(any_actor, scope="function")]) -> Ctx:
    ctx.actor.require_terminal()
    return ctx


def public(request: Request) -> Iterator[Ctx]:
    yield from _unit_of_work(request, None, anonymous=True)


StaffCtx = Annotated[Ctx, Depends(staff)]
TerminalCtx = Annotated[Ctx, Depends(terminal)]
PublicCtx = Annotated[Ctx, Depends(public, scope="function")]

"""Request-scoped wiring: a unit of work (session + context) per request, bearer-token actors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from server_stub.errors import DomainError, Forbidden
from server_stub.keys import KeyRing
from server_stub.services.access import authenticate
from server_stub.services.context import Ctx
from server_stub.settings import Settings

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


def _unit_of_work(
    request: Request, credentials: HTTPAuthorizationCredentials | None, anonymous: bool
) -> Iterator[Ctx]:
    st = state(request)
    session = st.sessions()
    try:
        ctx = Ctx(session=session, settings=st.settings, keys=st.keys, clock=st.clock)
        if not anonymous:
            ctx.actor = authenticate(ctx, credentials.credentials if credentials else None)
        yield ctx
        session.commit()
    except DomainError as err:
        if err.keep_writes:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


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

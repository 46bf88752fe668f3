"""Tokens and lockouts over HTTP: a terminal renews its token, a clerk renews its own, an administrator
reissues a clerk's or deactivates a clerk, and the current lockouts (see services.credentials,
services.lockout)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, StringConstraints

from server_stub.api.deps import StaffCtx, TerminalCtx
from server_stub.api.schemas import ErrorOut
from server_stub.services import access, credentials, lockout
from server_stub.services.access import ClerkView
from server_stub.services.credentials import TokenView
from server_stub.services.lockout import LockoutView

ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut},
    403: {"model": ErrorOut},
    422: {"model": ErrorOut},
    429: {"model": ErrorOut},
}
router = APIRouter(responses=ERRORS)

Username = Annotated[str, Path(min_length=3, max_length=64, pattern=r"^[a-z0-9_.-]+$")]


class RenewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Renew now, even before a third of the token's life has passed.
    force: bool = False


class LockoutsOut(BaseModel):
    lockouts: list[LockoutView]


class LockoutKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Annotated[str, StringConstraints(min_length=5, max_length=128, pattern=r"^(addr|tok):[\x21-\x7e]+$")]


class ClearedOut(BaseModel):
    cleared: bool


@router.post("/v1/sync/token", response_model=TokenView, tags=["sync"])
def renew_terminal_token(ctx: TerminalCtx, body: RenewIn, response: Response) -> TokenView:
    response.headers["Cache-Control"] = "no-store"  # the answer may hold the new token
    return credentials.renew_terminal_token(ctx, force=body.force)


@router.post("/v1/admin/me/token", response_model=TokenView, tags=["admin"])
def renew_own_token(ctx: StaffCtx, response: Response) -> TokenView:
    response.headers["Cache-Control"] = "no-store"
    return credentials.renew_own_token(ctx)


@router.post(
    "/v1/admin/clerks/{username}/token",
    response_model=TokenView,
    tags=["admin"],
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def reissue_clerk_token(ctx: StaffCtx, username: Username, response: Response) -> TokenView:
    response.headers["Cache-Control"] = "no-store"
    return access.reissue_clerk_token(ctx, username)


@router.post(
    "/v1/admin/clerks/{username}/deactivate",
    response_model=ClerkView,
    tags=["admin"],
    responses={404: {"model": ErrorOut}},
)
def deactivate_clerk(ctx: StaffCtx, username: Username) -> ClerkView:
    return access.deactivate_clerk(ctx, username)


@router.get("/v1/admin/lockouts", response_model=LockoutsOut, tags=["admin"])
def list_lockouts(ctx: StaffCtx) -> LockoutsOut:
    return LockoutsOut(lockouts=lockout.lockouts(ctx))


@router.post("/v1/admin/lockouts/clear", response_model=ClearedOut, tags=["admin"])
def clear_lockout(ctx: StaffCtx, body: LockoutKeyIn) -> ClearedOut:
    return ClearedOut(cleared=lockout.clear(ctx, body.key))

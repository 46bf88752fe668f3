"""Terminal self-enrolment (``POST /v1/enrol``): no bearer token, the one-time enrolment code is the
credential."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from server_stub.api.deps import PublicCtx
from server_stub.api.schemas import CodeEnrolIn, CodeEnrolmentOut, ErrorOut, b64
from server_stub.services import access

#: Where the enrolled terminal fetches the root-signed trust list (checked against the root key it was
#: given out of band, never against this answer).
TRUST_LIST_URL = "/v1/public/trust-list"

router = APIRouter(
    tags=["enrolment"],
    responses={401: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.post("/v1/enrol", response_model=CodeEnrolmentOut, status_code=201)
def enrol(ctx: PublicCtx, request: Request, response: Response, body: CodeEnrolIn) -> CodeEnrolmentOut:
    response.headers["Cache-Control"] = "no-store"  # the answer holds the terminal's token
    e = access.enrol_with_code(
        ctx,
        code=body.code,
        public_key=bytes.fromhex(body.public_key),
        client=request.client.host if request.client else "unknown",
    )
    return CodeEnrolmentOut(
        terminal=e.terminal,
        token=e.token,
        certificate=b64(e.certificate) if e.certificate else None,
        receipt_certificate=b64(e.receipt_certificate),
        server_time=ctx.now(),
        trust_list_url=TRUST_LIST_URL,
    )

"""Key custody endpoints (``/v1/admin``): the offline root's ceremony (export a request, upload the signed
lists) and status-list key rotation. Issuer keys: ``/v1/admin/issuer-keys`` (``api.admin``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field

from server_stub.api.deps import StaffCtx
from server_stub.api.schemas import ErrorOut
from server_stub.services import trust_lists
from server_stub.services.trust_lists import StatusKeyView, UploadView
from server_stub.trust_ceremony import MAX_BUNDLE_BYTES

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin: keys"],
    responses={
        401: {"model": ErrorOut},
        403: {"model": ErrorOut},
        409: {"model": ErrorOut},
        422: {"model": ErrorOut},
    },
)

REQUEST_MEDIA_TYPE = "application/json"
BUNDLE_MEDIA_TYPE = "application/cbor"


class StatusKeyRotateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Unix seconds; default: now (demo) or now + the rotation lead (offline root).
    starts_at: Annotated[int | None, Field(ge=0, le=(1 << 62))] = None


class StatusKeysOut(BaseModel):
    keys: list[StatusKeyView]


@router.get(
    "/trust-list/request",
    response_class=Response,
    responses={200: {"content": {REQUEST_MEDIA_TYPE: {}}, "description": "the unsigned trust-list request"}},
)
def trust_list_request(ctx: StaffCtx) -> Response:
    """The unsigned trust-list content for the next key ceremony (``kartu keys sign-trust-list``)."""
    return Response(trust_lists.export_request(ctx).to_json(), media_type=REQUEST_MEDIA_TYPE)


@router.post("/trust-list", response_model=UploadView, status_code=201)
def upload_trust_lists(
    ctx: StaffCtx,
    bundle: Annotated[bytes, Body(media_type=BUNDLE_MEDIA_TYPE, max_length=MAX_BUNDLE_BYTES)],
) -> UploadView:
    """Upload the lists the offline root signed (a CBOR array of signed trust lists)."""
    return trust_lists.upload(ctx, bundle)


@router.get("/status-keys", response_model=StatusKeysOut)
def status_keys(ctx: StaffCtx) -> StatusKeysOut:
    return StatusKeysOut(keys=trust_lists.status_key_views(ctx))


@router.post("/status-keys/rotate", response_model=StatusKeyView, status_code=201)
def rotate_status_key(ctx: StaffCtx, body: StatusKeyRotateIn) -> StatusKeyView:
    return trust_lists.rotate_status_key(ctx, starts_at=body.starts_at)

"""The terminal sync API (``/v1/sync``): thin routes over the services; terminal token required."""

from __future__ import annotations

import binascii
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic_core import to_json

from server_stub.api.deps import TerminalCtx
from server_stub.api.schemas import (
    AckIn,
    AckOut,
    BatchOut,
    DeltaOut,
    DeltasOut,
    ErrorOut,
    FailuresIn,
    InterestsIn,
    ItemResultOut,
    ItemsOut,
    PendingGrantOut,
    PendingOut,
    PendingStatusOut,
    RecordsIn,
    RecordsOut,
    SignedOut,
    TrustListOut,
    VoidsIn,
    b64,
)
from server_stub.errors import Invalid
from server_stub.services import audit, catalogue, ingest, publications
from server_stub.services.cards import serial_hex
from server_stub.services.ingest import Outcome

router = APIRouter(
    prefix="/v1/sync",
    tags=["sync"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.get("/trust-list", response_model=TrustListOut)
def get_trust_list(ctx: TerminalCtx) -> TrustListOut:
    p = publications.trust_list(ctx)
    return TrustListOut(
        version=p.seq,
        issued_at=p.issued_at,
        signed=b64(p.signed),
        root_public_key=publications.trust_root_public_point(ctx).hex(),
    )


@router.get("/status-list", response_model=SignedOut)
def get_status_list(ctx: TerminalCtx) -> SignedOut:
    publications.heartbeat(ctx)
    p = publications.status_snapshot(ctx)
    return SignedOut(seq=p.seq, issued_at=p.issued_at, size=p.size, signed=b64(p.signed))


@router.get("/status-list/deltas", response_model=DeltasOut, responses={409: {"model": ErrorOut}})
def get_deltas(ctx: TerminalCtx, since: Annotated[int, Query(ge=0, le=(1 << 62))]) -> DeltasOut:
    publications.heartbeat(ctx)
    seq, deltas = publications.status_deltas(ctx, since)
    return DeltasOut(since=since, seq=seq, deltas=[DeltaOut(seq=s, signed=b64(blob)) for s, blob in deltas])


@router.get("/pending", response_model=PendingOut)
def get_pending(
    ctx: TerminalCtx,
    serials: Annotated[str | None, Query(max_length=500 * 17)] = None,
    region: Annotated[int | None, Query(ge=0, le=9999)] = None,
) -> PendingOut:
    serial_list = None
    if serials is not None:
        serial_list = sorted({serial_hex(s) for s in serials.split(",") if s.strip()})
        if len(serial_list) > 500:
            raise Invalid("at most 500 serials")
    grants, commands = publications.pending(ctx, serials=serial_list, region=region)
    return PendingOut(
        grants=[
            PendingGrantOut(
                id=g.id,
                card_serial=g.card_serial,
                program=g.program,
                grant_seq=g.grant_seq,
                body=b64(g.body),
                kid=b64(g.kid),
                signature=b64(g.signature),
            )
            for g in grants
        ],
        status_commands=[
            PendingStatusOut(
                id=s.id,
                card_serial=s.card_serial,
                new_state=s.new_state,
                status_seq=s.status_seq,
                body=b64(s.body),
                kid=b64(s.kid),
                signature=b64(s.signature),
            )
            for s in commands
        ],
    )


@router.post("/pending/ack", response_model=AckOut)
def post_ack(ctx: TerminalCtx, body: AckIn) -> AckOut:
    grants, status = publications.acknowledge(ctx, grant_ids=body.grants, status_ids=body.status_commands)
    if body.grants or body.status_commands:
        asked = {"grants": body.grants[:200], "status_commands": body.status_commands[:200]}
        audit.record(ctx, "sync.ack", ctx.actor.label, grants=grants, status_commands=status, asked=asked)
    return AckOut(grants=grants, status_commands=status)


@router.get("/catalogue", response_model=ItemsOut)
def get_catalogue(
    ctx: TerminalCtx,
    kind: Annotated[str | None, Query(pattern="^(job|training|housing)$")] = None,
    region: Annotated[int | None, Query(ge=0, le=9999)] = None,
) -> ItemsOut:
    items = catalogue.items(ctx, kind=kind, region=region if region is not None else ctx.actor.region)
    return ItemsOut(items=items)


@router.post("/redemptions", response_model=RecordsOut)
def post_redemptions(ctx: TerminalCtx, body: RecordsIn) -> Response:
    batch: list[ingest.RecordIn] = []
    malformed: dict[int, str] = {}
    make = ingest.RecordIn._make  # the named tuple's own fast constructor
    a2b = binascii.a2b_base64
    for i, r in enumerate(body.records):
        try:  # schemas.b64decode inline (4000 calls a batch)
            record = a2b(r["record"], strict_mode=True)
            signature = a2b(r["signature"], strict_mode=True)
        except (binascii.Error, ValueError):
            malformed[i] = r["record_id"]
            continue
        batch.append(
            make(
                (
                    r["record_id"],
                    record,
                    signature,
                    r["card_serial"],
                    r["terminal_id"],
                    r.get("ledger_id"),
                    r.get("kind"),
                    r.get("voided", False),
                    r.get("void_reason"),
                )
            )
        )
    done = iter(ingest.ingest_redemptions(ctx, batch))
    results: list[dict[str, object]] = []
    counts = {"stored": 0, "duplicate": 0, "flagged": 0, "rejected": 0}
    for i in range(len(body.records)):
        out = (
            ingest.RecordResult(malformed[i], "rejected", "malformed_record")
            if malformed and i in malformed
            else next(done)
        )
        counts[out.result] += 1
        # flags stay a tuple (a JSON array all the same): no list per record
        results.append(
            {"record_id": out.record_id, "result": out.result, "reason": out.reason, "flags": out.flags}
        )
    audit.record_upload(
        ctx,
        "sync.redemptions",
        (
            (str(r["record_id"]), str(r["result"]), None if r["reason"] is None else str(r["reason"]))
            for r in results
        ),
        listed=("flagged", "rejected"),
    )
    # pydantic-core's serializer: the same compact UTF-8 JSON as JSONResponse, a few times faster
    return Response(to_json({"results": results, **counts}), media_type="application/json")


@router.post("/voids", response_model=BatchOut)
def post_voids(ctx: TerminalCtx, body: VoidsIn) -> BatchOut:
    out = ingest.ingest_voids(
        ctx,
        [
            ingest.VoidIn(v.void_id, v.ledger_id, v.record_id, v.reason, v.clerk_id, int(v.created_at))
            for v in body.voids
        ],
    )
    audit.record_upload(ctx, "sync.voids", out, listed=("stored", "rejected"))
    return _batch([(i, r, why) for i, r, why in out])


@router.post("/failures", response_model=BatchOut)
def post_failures(ctx: TerminalCtx, body: FailuresIn) -> BatchOut:
    out = ingest.ingest_failures(
        ctx,
        [
            ingest.FailureIn(
                e.event_id, int(e.occurred_at), e.card_serial, e.program, e.reason, e.detail, e.clerk_id
            )
            for e in body.events
        ],
    )
    audit.record_upload(ctx, "sync.failures", [(i, r, None) for i, r in out], listed=())
    return _batch([(i, r, None) for i, r in out])


@router.post("/interests", response_model=BatchOut)
def post_interests(ctx: TerminalCtx, body: InterestsIn) -> BatchOut:
    out = catalogue.register_interests(
        ctx,
        [
            catalogue.InterestIn(i.interest_id, i.item_id, i.card_serial, i.registered_at, i.note)
            for i in body.interests
        ],
    )
    audit.record_upload(
        ctx, "sync.interests", [(r.id, r.result, r.reason) for r in out], listed=("stored", "rejected")
    )
    return _batch([(r.id, r.result, r.reason) for r in out])


def _batch(rows: list[tuple[str, Outcome, str | None]]) -> BatchOut:
    return BatchOut(
        results=[ItemResultOut(id=i, result=r, reason=why) for i, r, why in rows],
        stored=sum(1 for _, r, _ in rows if r == "stored"),
        duplicate=sum(1 for _, r, _ in rows if r == "duplicate"),
        rejected=sum(1 for _, r, _ in rows if r == "rejected"),
    )

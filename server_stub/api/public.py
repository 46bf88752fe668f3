"""Anonymous, read-only endpoints: health, the signed trust list, receipt verification, transparency
(JSON and HTML)."""

from __future__ import annotations

import datetime as dt
import html
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse, Response

from province.clock import WIB
from province.programs import format_amount
from server_stub.api.deps import PublicCtx
from server_stub.api.schemas import ErrorOut, HealthOut, ReceiptIn
from server_stub.services import publications, receipts, transparency
from server_stub.services.receipts import Verdict
from server_stub.services.transparency import Figures

router = APIRouter(tags=["public"], responses={422: {"model": ErrorOut}})

Year = Annotated[int | None, Query(ge=2000, le=2100)]


@router.get("/health", response_model=HealthOut)
def health(ctx: PublicCtx) -> HealthOut:
    return HealthOut(status="ok", backend=ctx.settings.backend)


@router.get(
    "/v1/public/trust-list",
    response_class=Response,
    responses={
        200: {
            "content": {publications.PUBLIC_TRUST_LIST_MEDIA_TYPE: {}},
            "description": "the trust list as signed by the root (tagged COSE_Sign1, public keys only)",
        },
        304: {"description": "the copy named by If-None-Match is current"},
    },
)
def public_trust_list(ctx: PublicCtx, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    p = publications.public_trust_list(ctx, if_none_match)
    headers = {"ETag": p.etag, "Cache-Control": f"public, max-age={p.max_age_s}"}
    if p.not_modified:
        return Response(status_code=304, headers=headers)
    return Response(p.signed, media_type=p.media_type, headers=headers)


@router.post("/v1/receipts/verify", response_model=Verdict)
def verify_receipt(ctx: PublicCtx, body: ReceiptIn) -> Verdict:
    return receipts.verify_receipt(ctx, body.payload)


@router.get("/v1/transparency", response_model=Figures)
def figures(ctx: PublicCtx, year: Year = None) -> Figures:
    return transparency.figures(ctx, year=year)


@router.get(
    "/transparency",
    response_class=HTMLResponse,
    # a refused query is answered in JSON, like everywhere else (not in the page's text/html)
    responses={422: {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}},
)
def figures_page(ctx: PublicCtx, year: Year = None) -> HTMLResponse:
    f = transparency.figures(ctx, year=year)
    e = html.escape
    when = dt.datetime.fromtimestamp(f.generated_at, WIB)
    cards = "".join(
        f"<tr><td>{e(r.region_name)}</td><td>{e(r.month)}</td><td class=n>{r.cards_issued}</td></tr>"
        for r in f.cards
    )
    rows = []
    for r in f.programs:
        unit = {"rupiah": 1, "gram": 2, "millilitre": 3, "piece": 4, "visit": 5, "status": 6}.get(r.unit, 0)
        amount = format_amount(unit, r.amount) if unit in (1, 2, 3, 4) else "—"
        refusals = ", ".join(f"{e(k)}: {v}" for k, v in sorted(r.refusals.items())) or "—"
        rows.append(
            f"<tr><td>{e(r.region_name)}</td><td>{e(r.program_name)}</td><td>{e(r.month)}</td>"
            f"<td class=n>{r.beneficiaries}</td><td class=n>{r.redemptions}</td>"
            f"<td class=n>{e(amount)}</td><td>{refusals}</td></tr>"
        )
    page = f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8"><title>Transparansi Kartu Huma Betang Sejahtera</title>
<style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin-bottom:2em}}
td,th{{border:1px solid #bbb;padding:.3em .6em}}th{{background:#eee}}.n{{text-align:right}}</style></head>
<body><h1>Transparansi Kartu Huma Betang Sejahtera</h1>
<p>Angka agregat per kabupaten/kota, program dan bulan — tanpa data pribadi.
Diperbarui {e(when.strftime("%d-%m-%Y %H:%M"))} WIB.</p>
<h2>Kartu diterbitkan</h2>
<table><tr><th>Kabupaten/Kota</th><th>Bulan</th><th>Kartu</th></tr>{cards}</table>
<h2>Program</h2>
<table><tr><th>Kabupaten/Kota</th><th>Program</th><th>Bulan</th><th>Penerima</th><th>Transaksi</th>
<th>Jumlah</th><th>Penolakan</th></tr>{"".join(rows)}</table>
</body></html>"""
    return HTMLResponse(page)

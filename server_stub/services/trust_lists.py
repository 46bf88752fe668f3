"""Trust lists signed by the offline root (export for the ceremony, upload) and status-key rotation.

See ``server_stub.trust_ceremony`` for the ceremony and how freshness works with an offline root.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select

from card_applet_spec.cose import key_id
from province.trust import sec1_point
from server_stub.errors import Conflict, Invalid
from server_stub.models import SignedTrustList, StatusKeyRow
from server_stub.repositories import counters
from server_stub.services import audit, publications
from server_stub.services.context import AUDITOR, Ctx
from server_stub.trust_ceremony import CeremonyError, TrustListRequest, decode_bundle


def _require_offline_root(ctx: Ctx) -> None:
    if ctx.keys.online_root:
        raise Conflict("this (demo) server signs its own trust lists: no ceremony", code="online_root")


def next_seq(ctx: Ctx) -> int:
    stored = ctx.session.scalar(select(func.max(SignedTrustList.seq))) or 0
    return max(int(stored), counters.current(ctx.session, counters.TRUST_VERSION)) + 1


def export_request(ctx: Ctx) -> TrustListRequest:
    """The unsigned content for the next ceremony (public keys only)."""
    ctx.actor.require(AUDITOR)
    _require_offline_root(ctx)
    seq = next_seq(ctx)
    content = publications.build_trust_list(ctx, seq=seq, issued_at=ctx.now())
    request = TrustListRequest(seq, ctx.now(), key_id(ctx.keys.root_public_key), content)
    audit.record(ctx, "trust_list.export", f"seq:{seq}")
    return request


class _Refused(Invalid):
    """An upload refused: nothing stored, the refusal audited (kept)."""

    code = "trust_list_refused"
    keep_writes = True


@dataclass(frozen=True)
class UploadView:
    seqs: list[int]
    first_issued_at: int
    last_issued_at: int


def upload(ctx: Ctx, bundle: bytes) -> UploadView:
    """Store a ceremony's signed lists after checking each against the root, the seqs already taken,
    and the keys this server signs with (a list without them would strand the terminals)."""
    ctx.actor.require()
    _require_offline_root(ctx)
    try:
        lists = decode_bundle(bundle, ctx.keys.root_public_key)
    except CeremonyError as exc:
        audit.record(ctx, "trust_list.upload_refused", "bundle", reason=str(exc)[:300])
        raise _Refused(str(exc)) from exc
    counters.lock(ctx.session, counters.TRUST_VERSION)  # one upload at a time
    taken = int(ctx.session.scalar(select(func.max(SignedTrustList.seq))) or 0)
    expected_status = set(publications.status_list_keys(ctx))
    expected_issuers = set(publications.build_trust_list(ctx, seq=0, issued_at=0).issuers)
    for _signed, tl in lists:
        problem = None
        if tl.seq <= taken:
            problem = f"seq {tl.seq} is not after the lists already uploaded (up to {taken})"
        elif set(tl.status_keys) != expected_status or set(tl.issuers) != expected_issuers:
            problem = f"seq {tl.seq}: its keys are not this server's current keys (export a new request)"
        if problem:
            audit.record(ctx, "trust_list.upload_refused", f"seq:{tl.seq}", reason=problem)
            raise _Refused(problem)
    for signed, tl in lists:
        ctx.session.add(
            SignedTrustList(
                seq=tl.seq,
                issued_at=tl.issued_at,
                signed=signed,
                sha256=hashlib.sha256(signed).hexdigest(),
                uploaded_at=ctx.now(),
                uploaded_by=ctx.actor.label[:80],
            )
        )
    ctx.session.flush()
    seqs = [tl.seq for _s, tl in lists]
    audit.record(
        ctx,
        "trust_list.upload",
        f"seq:{seqs[0]}-{seqs[-1]}",
        count=len(seqs),
        first_issued_at=lists[0][1].issued_at,
        last_issued_at=lists[-1][1].issued_at,
        sha256=hashlib.sha256(bundle).hexdigest(),
    )
    return UploadView(seqs, lists[0][1].issued_at, lists[-1][1].issued_at)


# --- status-list keys ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusKeyView:
    generation: int
    kid: str
    public_key: str  # hex, uncompressed SEC1
    sign_from: int
    sign_until: int | None


def status_key_views(ctx: Ctx) -> list[StatusKeyView]:
    ctx.actor.require(AUDITOR)
    return [_view(k) for k in publications.status_key_rows(ctx)]


def _view(k: StatusKeyRow) -> StatusKeyView:
    return StatusKeyView(k.generation, k.kid, k.point.hex(), k.sign_from, k.sign_until)


def rotation_start(ctx: Ctx, starts_at: int | None) -> int:
    """When a rotation may take effect: now with the demo's online root; with an offline root not before
    ``key_rotation_lead_s`` (time to sign and upload a trust list that carries the new key)."""
    earliest = ctx.now() if ctx.keys.online_root else ctx.now() + ctx.settings.key_rotation_lead_s
    start = earliest if starts_at is None else starts_at
    if start < earliest:
        raise Invalid(f"a rotation can start at {earliest} at the earliest", code="rotation_too_soon")
    return start


def rotate_status_key(ctx: Ctx, *, starts_at: int | None = None) -> StatusKeyView:
    """A new status-list key (generated in the key store) signing from ``starts_at``; the previous ones
    may sign for ``key_rotation_lead_s`` more (the windows overlap). Data already signed keeps verifying
    (its ``issued_at`` is in the old window); the server switches to the new key only once a served
    trust list carries it, and a ceremony that comes late (within the overlap) strands nothing."""
    ctx.actor.require()
    start = rotation_start(ctx, starts_at)
    rows = publications.status_key_rows(ctx)
    if rows[-1].sign_from >= start:
        raise Conflict("a newer status-list key is already scheduled", code="rotation_pending")
    generation = rows[-1].generation + 1
    signer = ctx.keys.create_status(generation)
    end = start + ctx.settings.key_rotation_lead_s
    for k in rows:
        if k.sign_until is None or k.sign_until > end:
            k.sign_until = end
    row = StatusKeyRow(
        generation=generation,
        kid=signer.kid.hex(),
        point=sec1_point(signer.public_key()),
        sign_from=start,
        sign_until=None,
        created_at=ctx.now(),
    )
    ctx.session.add(row)
    counters.bump_trust(ctx.session, ctx.now())
    ctx.session.flush()
    audit.record(ctx, "status_key.rotate", row.kid, generation=generation, starts_at=start)
    return _view(row)

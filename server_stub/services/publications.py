"""What the server publishes for terminals: the signed trust list, the signed status list (snapshot and
sequence-numbered deltas, ``province.statuslist``), and the pending grants / status commands per card.

Every publication is a pure function of the database at a sequence number, signed once: a status
delta is signed when its step is committed (:func:`_seal_steps`) and served as stored bytes; a snapshot is
cached per content (an HSM's ECDSA is not deterministic, terminals compare a snapshot's content). The
trust list (public keys only) is also published to anyone (:func:`public_trust_list`), so a phone can
verify a receipt offline against the root it trusts.

Two trust roots: in demo mode the store's ``trust-root`` signs online and the list is re-signed at least
every ``trust_heartbeat_s`` (a new version with a fresh ``issued_at``). With an offline root (every
deployment) the server never signs a trust list: it serves the newest already-dated list of those the
root signed at a ceremony (``server_stub.services.trust_ceremony``): the ceremony signs a batch of lists
dated one heartbeat apart, so the served list's ``issued_at`` still advances daily while the centre
publishes, and a terminal cut off from it (or a centre whose batch ran out) sees its list age past
``FreshnessPolicy``'s limit: stale, UNKNOWN.

Status data is signed by the status-list key of the served trust list whose window holds its
``issued_at`` (newest generation first): a rotation takes effect only once terminals can know the key.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from sqlalchemy import CursorResult, Result, event, select, update
from sqlalchemy.orm import Session

from card_applet_spec import constants as c
from province.keys import fingerprint
from province.statuslist import build_delta, build_snapshot, new_status_list, set_status
from province.trust import (
    MAX_UINT,
    TYP_TRUST_LIST,
    IssuerKeyEntry,
    StatusListKey,
    TerminalEntry,
    TrustList,
    TrustListError,
    sec1_point,
    sign_trust_list,
    verify_trust_list,
)
from server_stub.errors import Conflict, Invalid, OutOfScope
from server_stub.keystore import StoreSigner
from server_stub.models import (
    Card,
    Grant,
    SignedTrustList,
    StatusChange,
    StatusCommand,
    StatusDeltaRow,
    StatusKeyRow,
    Terminal,
)
from server_stub.repositories import counters, scope
from server_stub.services import audit
from server_stub.services.context import AUDITOR, REGISTRAR, Ctx
from server_stub.services.issuer import keys as issuer_keys

MAX_PENDING = 5000


# --- trust list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    seq: int
    issued_at: int
    size: int
    signed: bytes


def status_key_rows(ctx: Ctx) -> list[StatusKeyRow]:
    """The status-list key generations (generation 1 is recorded on first use)."""
    rows = list(ctx.session.scalars(select(StatusKeyRow).order_by(StatusKeyRow.generation)))
    if rows:
        return rows
    return [ensure_status_key(ctx)]


def ensure_status_key(ctx: Ctx) -> StatusKeyRow:
    """Record status-list key generation 1 (start-up, ``ensure_reference_data``) if none is."""
    existing = ctx.session.get(StatusKeyRow, 1)
    if existing is not None:
        return existing
    signer = ctx.keys.status(1)
    row = StatusKeyRow(
        generation=1,
        kid=signer.kid.hex(),
        point=sec1_point(signer.public_key()),
        sign_from=0,
        sign_until=None,
        created_at=ctx.now(),
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


def status_list_keys(ctx: Ctx) -> tuple[StatusListKey, ...]:
    return tuple(
        StatusListKey(
            bytes.fromhex(k.kid), k.point, k.sign_from, MAX_UINT if k.sign_until is None else k.sign_until
        )
        for k in status_key_rows(ctx)
    )


def build_trust_list(ctx: Ctx, *, seq: int | None = None, issued_at: int | None = None) -> TrustList:
    """The trust list's content from the database (``seq``/``issued_at``: the demo root's counters)."""
    s = ctx.session
    seq = counters.current(s, counters.TRUST_VERSION) if seq is None else seq
    issued_at = counters.current(s, counters.TRUST_CHANGED_AT) if issued_at is None else issued_at
    issuers = tuple(
        IssuerKeyEntry(
            kid=bytes.fromhex(k.kid),
            point=k.point,
            issue_from=k.issue_from,
            issue_until=MAX_UINT if k.issue_until is None else k.issue_until,
            verify_until=MAX_UINT if k.verify_until is None else k.verify_until,
        )
        for k in issuer_keys(ctx)
    )
    terminals = tuple(
        TerminalEntry(
            terminal_id=t.id,
            point=t.public_key,
            roles=int(c.TerminalRole.PIN_RESET) if t.pin_reset else 0,
            site=t.site,
            region=t.region,
        )
        for t in s.scalars(select(Terminal).where(Terminal.active.is_(True)).order_by(Terminal.id))
    )
    return TrustList(
        seq=seq,
        issued_at=issued_at,
        issuers=issuers,
        status_keys=status_list_keys(ctx),
        terminals=terminals,
    )


def trust_heartbeat(ctx: Ctx) -> None:
    """Re-sign the trust list (next version, stamped now) when its newest version is older than the
    heartbeat: a terminal that keeps syncing always holds a young list; one cut off sees it age."""
    s = ctx.session
    if ctx.now() - counters.current(s, counters.TRUST_CHANGED_AT) < ctx.settings.trust_heartbeat_s:
        return
    counters.lock(s, counters.TRUST_VERSION)  # then look again: a concurrent request may have just done it
    if ctx.now() - counters.current(s, counters.TRUST_CHANGED_AT) >= ctx.settings.trust_heartbeat_s:
        counters.bump_trust(s, ctx.now())
    s.flush()


def trust_list(ctx: Ctx) -> Published:
    """The trust list terminals and the public get: signed now by the demo root, or the newest
    already-dated one the offline root signed (:class:`Conflict` ``no_trust_list`` before the first
    upload, or when every uploaded list is still in the future)."""
    if not ctx.keys.online_root:
        return _served(ctx)[0]
    trust_heartbeat(ctx)
    tl = build_trust_list(ctx)
    return Published(tl.seq, tl.issued_at, len(tl.terminals), sign_trust_list(tl, ctx.keys.trust_root_key))


_served_cache: dict[str, TrustList] = {}
_served_lock = threading.Lock()


def _served(ctx: Ctx) -> tuple[Published, TrustList]:
    row = ctx.session.scalars(
        select(SignedTrustList)
        .where(SignedTrustList.issued_at <= ctx.now())
        .order_by(SignedTrustList.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        raise Conflict(
            "no trust list signed by the root is current: run the key ceremony and upload its lists",
            code="no_trust_list",
        )
    signed = bytes(row.signed)
    digest = hashlib.sha256(signed).hexdigest()  # of the bytes served, not a column that could disagree
    with _served_lock:
        tl = _served_cache.get(digest)
    if tl is None:
        try:  # verified at upload; again here, so a row written into the database is never served
            tl = verify_trust_list(signed, ctx.keys.root_public_key)
        except TrustListError as exc:
            raise Conflict(
                f"stored trust list seq {row.seq} does not verify: {exc}", code="no_trust_list"
            ) from exc
        if tl.seq != row.seq or tl.issued_at != row.issued_at:
            raise Conflict(f"stored trust list seq {row.seq} does not match its row", code="no_trust_list")
        with _served_lock:
            if len(_served_cache) > 64:
                _served_cache.clear()
            _served_cache[digest] = tl
    return Published(tl.seq, tl.issued_at, len(tl.terminals), signed), tl


def served_status_keys(ctx: Ctx) -> tuple[StatusListKey, ...]:
    """The status-list keys terminals know: the served list's (offline root) or the database's."""
    return _served(ctx)[1].status_keys if not ctx.keys.online_root else status_list_keys(ctx)


def served_issuer_kids(ctx: Ctx) -> set[str]:
    """Hex kids of the issuer keys in the served trust list (offline root)."""
    return {e.kid.hex() for e in _served(ctx)[1].issuers}


def status_signer(ctx: Ctx, issued_at: int) -> StoreSigner:
    """The key that signs status data issued at ``issued_at``: the newest generation terminals know
    (in the served trust list) whose window holds that time."""
    known = {k.kid: k for k in served_status_keys(ctx)}
    for row in reversed(status_key_rows(ctx)):
        entry = known.get(bytes.fromhex(row.kid))
        if entry is not None and entry.may_sign(issued_at):
            signer = ctx.keys.status(row.generation)
            if signer.kid != entry.kid:
                raise Conflict(f"key store status-{row.generation} is not the key of the trust list")
            return signer
    raise Conflict(f"no status-list key of the trust list may sign at {issued_at}", code="no_status_key")


@dataclass(frozen=True)
class PublicTrustList:
    """The signed trust list as served to anyone, with its HTTP cache validators."""

    signed: bytes
    etag: str  # a strong ETag: the hash of the signed bytes (quoted)
    media_type: str
    max_age_s: int
    not_modified: bool  # the client's If-None-Match already names these bytes


#: How long a client may reuse the public trust list without asking again.
PUBLIC_TRUST_LIST_MAX_AGE_S = 3600
PUBLIC_TRUST_LIST_MEDIA_TYPE = TYP_TRUST_LIST  # a tagged COSE_Sign1 (RFC 9052) of that content type


def public_trust_list(ctx: Ctx, if_none_match: str | None) -> PublicTrustList:
    """The signed trust list for anyone (public keys only, no secret), and whether the client's cached
    copy (``If-None-Match``, RFC 9110 §13.1.2: a list of ETags or ``*``) is still current."""
    signed = trust_list(ctx).signed
    etag = '"' + hashlib.sha256(signed).hexdigest()[:32] + '"'
    return PublicTrustList(
        signed, etag, PUBLIC_TRUST_LIST_MEDIA_TYPE, PUBLIC_TRUST_LIST_MAX_AGE_S, _matches(if_none_match, etag)
    )


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag for t in tags)  # weak comparison for GET


def trust_root_public_point(ctx: Ctx) -> bytes:
    return sec1_point(ctx.keys.root_public_key)


@dataclass(frozen=True)
class RootKeyView:
    """The province's root public key for installation media and enrolment sheets (PEM + fingerprint)."""

    pem: str
    fingerprint: str


def root_key(ctx: Ctx) -> RootKeyView:
    """For the people who prepare terminals: what goes on the installation medium and the enrolment sheet.
    A terminal never takes the root from the network unchecked (its operator compares the fingerprint)."""
    ctx.actor.require(REGISTRAR, AUDITOR)
    key = ctx.keys.root_public_key
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return RootKeyView(pem.decode("ascii"), fingerprint(key))


# --- status list ---------------------------------------------------------------------------------


def latest_step(ctx: Ctx) -> StatusDeltaRow | None:
    return ctx.session.scalars(select(StatusDeltaRow).order_by(StatusDeltaRow.seq.desc()).limit(1)).first()


def new_step(ctx: Ctx, size: int | None = None) -> StatusDeltaRow:
    """The next status step (call with the status-list sequence counter locked by ``advance``)."""
    seq = counters.advance(ctx.session, counters.STATUS_SEQ)
    previous = latest_step(ctx)
    current_size = previous.size if previous is not None else 0
    row = StatusDeltaRow(seq=seq, size=max(current_size, size or 0), issued_at=ctx.now(), signed=None)
    ctx.session.add(row)
    ctx.session.flush()
    _seal_at_commit(ctx, row.seq)
    return row


_UNSEALED = "khbs_unsealed_status_steps"


def _seal_at_commit(ctx: Ctx, seq: int) -> None:
    """Sign step ``seq`` once, when the transaction that made it (and added its changes) commits."""
    session = ctx.session
    pending: dict[int, Ctx] | None = session.info.get(_UNSEALED)
    if pending is None:
        pending = session.info[_UNSEALED] = {}
        event.listen(session, "before_commit", _seal_steps)
        event.listen(session, "after_rollback", lambda s: s.info.get(_UNSEALED, {}).clear())
    pending[seq] = ctx


def _seal_steps(session: Session) -> None:
    pending: dict[int, Ctx] = session.info.get(_UNSEALED, {})
    while pending:
        seq, ctx = pending.popitem()
        step = session.get(StatusDeltaRow, seq)
        if step is not None:
            try:
                signed_delta(ctx, step)
            except Conflict:  # no current trust list to name the key yet: signed when first served
                continue


def ensure_size(ctx: Ctx, needed: int) -> None:
    """Grow the published list (in blocks) so index ``needed - 1`` is in it."""
    previous = latest_step(ctx)
    if previous is not None and previous.size >= needed:
        return
    block = ctx.settings.status_growth_block
    new_step(ctx, size=-(-needed // block) * block)


def heartbeat(ctx: Ctx) -> None:
    """Refresh the data's age: an empty step when the newest is older than the heartbeat interval."""
    previous = latest_step(ctx)
    if previous is not None and ctx.now() - previous.issued_at < ctx.settings.status_heartbeat_s:
        return
    # lock the sequence counter, then look again: a concurrent request may have just done it
    counters.lock(ctx.session, counters.STATUS_SEQ)
    previous = latest_step(ctx)
    if previous is None or ctx.now() - previous.issued_at >= ctx.settings.status_heartbeat_s:
        new_step(ctx)


_snapshot_cache: dict[tuple[int, int, int, bytes], bytes] = {}
_snapshot_lock = threading.Lock()


def status_snapshot(ctx: Ctx) -> Published:
    step = latest_step(ctx)
    if step is None:
        seq, size, issued_at = 0, 0, 0
    else:
        seq, size, issued_at = step.seq, step.size, step.issued_at
    bits = new_status_list(size)
    rows = ctx.session.execute(
        select(StatusChange.status_index, StatusChange.value)
        .where(StatusChange.seq <= seq)
        .order_by(StatusChange.seq, StatusChange.id)
    )
    for index, value in rows:
        set_status(bits, index, value)
    key = (seq, issued_at, size, hashlib.sha256(bits).digest())
    with _snapshot_lock:
        blob = _snapshot_cache.get(key)
    if blob is None:
        blob = build_snapshot(
            bits,
            seq,
            issued_at=issued_at,
            list_id=ctx.settings.status_list_id,
            key=status_signer(ctx, issued_at),
            size=size,
        )
        with _snapshot_lock:
            if len(_snapshot_cache) > 32:
                _snapshot_cache.clear()
            _snapshot_cache[key] = blob
    return Published(seq, issued_at, size, blob)


def signed_delta(ctx: Ctx, step: StatusDeltaRow) -> bytes:
    """The step's signed delta: signed when its transaction commits; a step from before that (an older
    database) is signed here once and stored."""
    if step.signed is None:
        changes: dict[int, int] = {}
        for index, value in ctx.session.execute(
            select(StatusChange.status_index, StatusChange.value)
            .where(StatusChange.seq == step.seq)
            .order_by(StatusChange.id)
        ):
            changes[index] = value  # the last change of an index in one step wins
        step.signed = build_delta(
            changes,
            step.seq - 1,
            size=step.size,
            issued_at=step.issued_at,
            list_id=ctx.settings.status_list_id,
            key=status_signer(ctx, step.issued_at),
        )
    return step.signed


def status_deltas(ctx: Ctx, since: int, limit: int = 10_000) -> tuple[int, list[tuple[int, bytes]]]:
    """(current seq, [(seq, signed delta)] for since < seq <= current)."""
    if since < 0:
        raise Invalid("since must be >= 0")
    step = latest_step(ctx)
    current = step.seq if step is not None else 0
    if since > current:
        raise Conflict(
            f"since={since} is ahead of the server (seq {current}): fetch a snapshot", code="ahead_of_server"
        )
    rows = list(
        ctx.session.scalars(
            select(StatusDeltaRow).where(StatusDeltaRow.seq > since).order_by(StatusDeltaRow.seq).limit(limit)
        )
    )
    out = [(r.seq, signed_delta(ctx, r)) for r in rows]
    ctx.session.flush()
    return (rows[-1].seq if rows and len(rows) == limit else current), out


# --- pending grants and status commands ----------------------------------------------------------


@dataclass(frozen=True)
class PendingGrant:
    id: int
    card_serial: str
    program: int
    grant_seq: int
    body: bytes
    kid: bytes
    signature: bytes


@dataclass(frozen=True)
class PendingStatus:
    id: int
    card_serial: str
    new_state: int
    status_seq: int
    body: bytes
    kid: bytes
    signature: bytes


def pending(
    ctx: Ctx, *, serials: Sequence[str] | None, region: int | None
) -> tuple[list[PendingGrant], list[PendingStatus]]:
    """Undelivered grants and the latest unacknowledged status command of each card asked for.

    Terminal scope: ``serials`` may name any card (a card may tap anywhere); ``region`` only the
    terminal's own (``None``: its own), else :class:`OutOfScope`, audited."""
    ctx.actor.require_terminal()
    own = ctx.actor.region
    if region is None:
        region = own
    elif region != own:
        audit.record(ctx, "sync.pending_refused", f"region:{region}", own_region=own)
        raise OutOfScope(f"a terminal of region {own} may not fetch region {region}'s pending updates")
    if serials is not None:
        card_filter = Grant.card_serial.in_(serials)
        status_filter = StatusCommand.card_serial.in_(serials)
    else:
        in_region = select(Card.serial).where(Card.region == region)
        card_filter = Grant.card_serial.in_(in_region)
        status_filter = StatusCommand.card_serial.in_(in_region)
    grants = [
        PendingGrant(
            g.id, g.card_serial, g.program_id, g.grant_seq, g.body, bytes.fromhex(g.kid), g.signature
        )
        for g in ctx.session.scalars(
            select(Grant)
            .where(card_filter, Grant.delivered.is_(False))
            .order_by(Grant.card_serial, Grant.program_id, Grant.grant_seq)
            .limit(MAX_PENDING)
        )
    ]
    latest: dict[str, StatusCommand] = {}
    for cmd in ctx.session.scalars(
        select(StatusCommand)
        .where(status_filter, StatusCommand.acked.is_(False))
        .order_by(StatusCommand.card_serial, StatusCommand.status_seq)
        .limit(MAX_PENDING)
    ):
        latest[cmd.card_serial] = cmd
    commands = [
        PendingStatus(
            s.id, s.card_serial, s.new_state, s.status_seq, s.body, bytes.fromhex(s.kid), s.signature
        )
        for s in latest.values()
    ]
    return grants, commands


def _rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE. ``Session.execute`` returns a ``CursorResult`` for a DML statement
    without RETURNING but is typed as returning ``Result`` (sqlalchemy/sqlalchemy#12913)."""
    return cast("CursorResult[Any]", result).rowcount


def acknowledge(ctx: Ctx, *, grant_ids: Sequence[int], status_ids: Sequence[int]) -> tuple[int, int]:
    """Mark grants as loaded / status commands as applied (older commands of the card too).

    Terminal scope: only updates of cards the terminal has seen (:func:`scope.cards_seen`: its region's
    cards, or a card that signed a record at it) are acknowledged; the others are left pending (a
    terminal cannot withhold another region's grants or status commands) and the attempt is audited.
    Unknown ids are ignored, as are ids acknowledged before."""
    ctx.actor.require_terminal()
    session = ctx.session
    grants: dict[int, str] = {
        gid: serial
        for gid, serial in session.execute(
            select(Grant.id, Grant.card_serial).where(Grant.id.in_(grant_ids), Grant.delivered.is_(False))
        )
    }
    commands: list[tuple[int, str, int]] = [
        (cid, serial, status_seq)
        for cid, serial, status_seq in session.execute(
            select(StatusCommand.id, StatusCommand.card_serial, StatusCommand.status_seq).where(
                StatusCommand.id.in_(status_ids)
            )
        )
    ]
    seen = scope.cards_seen(
        session,
        terminal_id=ctx.actor.name,
        region=ctx.actor.region,
        serials={*grants.values(), *(serial for _id, serial, _seq in commands)},
    )
    own_grants = sorted(gid for gid, serial in grants.items() if serial in seen)
    refused_grants = sorted(gid for gid, serial in grants.items() if serial not in seen)
    refused_status = sorted(cid for cid, serial, _seq in commands if serial not in seen)
    if refused_grants or refused_status:
        audit.record(
            ctx,
            "sync.ack_refused",
            f"terminal:{ctx.actor.name}",
            grants=refused_grants[:100],
            status_commands=refused_status[:100],
            count=len(refused_grants) + len(refused_status),
        )
    n_grants = 0
    if own_grants:
        loaded = (
            update(Grant).where(Grant.id.in_(own_grants), Grant.delivered.is_(False)).values(delivered=True)
        )
        n_grants = _rowcount(session.execute(loaded))
    n_status = 0
    for _id, serial, status_seq in commands:
        if serial not in seen:
            continue
        n_status += _rowcount(
            session.execute(
                update(StatusCommand)
                .where(
                    StatusCommand.card_serial == serial,
                    StatusCommand.status_seq <= status_seq,
                    StatusCommand.acked.is_(False),
                )
                .values(acked=True)
            )
        )
    session.flush()
    return int(n_grants or 0), int(n_status or 0)

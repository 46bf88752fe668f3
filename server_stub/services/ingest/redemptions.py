"""Redemption ingest: card-signed records from terminals, stored exactly once, every signature verified,
clones and replays flagged. One batch, one transaction:

1. parse every record strictly, recompute its id and check the envelope and the terminal scope
   (:mod:`.parse`: a record must name the uploading terminal, ``foreign_terminal`` otherwise);
2. lock the cards of the batch, look up the stored ids and the card keys (:mod:`.store`);
3. a record of a card without a key is ``unknown_card``; the others are all verified;
4. verify the card signature over ``DOMAIN_TX || record`` with the card key from the card's credential
   (:mod:`.verify`), of every record, stored already or not: a re-upload is ``duplicate`` only when it
   is the stored upload (same signature, not voided where the stored one is not), else
   ``differs_from_stored``; it never changes what is stored;
5. flag what is suspicious (:mod:`.suspicions`) and what a record claims that its card or grant
   contradicts (:mod:`.claims`: revoked or suspended at the time, expired, no such grant, more than it
   allowed);
6. store what is verified (:mod:`.store`) and put its flags on the review list.

Cost per record (PostgreSQL): a constant number of statements per batch (lock, stored ids, cards,
suspicious history, status history, named grants, store), the rows by binary ``COPY``. Signatures
are verified on a thread pool while PostgreSQL looks for the suspicious history and the card facts.
Per-record objects that live through the request are few and small (every survivor of a young
collection adds to the next full collection of the GC, which walks the whole heap).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from server_stub.services import audit
from server_stub.services.context import Ctx
from server_stub.services.ingest import claims, store, suspicions
from server_stub.services.ingest.parse import (
    REJECT_DIFFERS_FROM_STORED,
    SCOPE_REJECTS,
    Candidate,
    RecordIn,
    RecordResult,
    parse_records,
)
from server_stub.services.ingest.verify import ToVerify, verify_all


def ingest_redemptions(ctx: Ctx, batch: Sequence[RecordIn]) -> list[RecordResult]:
    """Ingest one batch of uploaded records; one result per item, in order."""
    ctx.actor.require_terminal()
    results: list[RecordResult | None] = [None] * len(batch)

    # 1. parse and check the envelope (and that the records are the uploading terminal's own)
    candidates, copies = parse_records(batch, results, ctx.actor.name)

    # 2. lock the cards; already stored? card keys
    existing, card_rows = store.lock_and_look_up(ctx, candidates)

    # 3. cards with a key; every candidate is verified, stored or not: a re-upload never changes the
    #    stored record, and one that is not the stored upload (another signature, or voided where the
    #    stored one is not: voids go through /voids) is refused
    keyed: list[Candidate] = []
    stored_before: list[Candidate] = []
    todo: list[ToVerify] = []
    again: list[ToVerify] = []
    own_region = ctx.actor.region
    for cand in candidates:
        item = cand.item
        row = card_rows.get(item.card_serial)
        point = row[0] if row is not None else None
        if row is None or not point:  # a card without a key point has no key
            results[cand.index] = RecordResult(item.record_id, "rejected", "unknown_card")
            continue
        if item.record_id in existing:
            stored_before.append(cand)
            again.append((point, item.signature, item.record))
            continue
        if own_region is None:  # a service caller without a region (never an enrolled terminal)
            own_region_here = row[1]
            cand.flag(
                suspicions.FLAG_UNKNOWN_TERMINAL, None, f"terminal {item.terminal_id!r} is not enrolled"
            )
        else:
            own_region_here = own_region
        cand.region = own_region_here
        keyed.append(cand)
        todo.append((point, item.signature, item.record))

    # 4. verify card signatures (a thread pool: OpenSSL runs without the GIL) while the database looks
    #    for the records that make the new ones suspicious (parameters made before the pool starts)
    history_of = suspicions.history_query(ctx, keyed)
    facts_of = claims.facts_query(ctx, keyed)
    checks = verify_all(todo + again)
    history = history_of()
    facts = facts_of()
    verdicts = checks()
    verified: list[Candidate] = []
    for cand, good in zip(keyed, verdicts[: len(keyed)], strict=True):
        if good:
            verified.append(cand)
        else:
            results[cand.index] = RecordResult(cand.item.record_id, "rejected", "bad_signature")
    for cand, good in zip(stored_before, verdicts[len(keyed) :], strict=True):
        rid = cand.item.record_id
        voided, signature = existing[rid]
        if not good:
            results[cand.index] = RecordResult(rid, "rejected", "bad_signature")
        elif signature != cand.item.signature or (cand.item.voided and not voided):
            results[cand.index] = RecordResult(rid, "rejected", REJECT_DIFFERS_FROM_STORED)
        else:
            results[cand.index] = RecordResult(rid, "duplicate")

    # 5. double spending / clones / two places; what a record claims that cannot be (stored as evidence,
    #    flagged, and never in the public figures: transparency counts unflagged records only)
    now = ctx.now()
    suspicions.detect(ctx, verified, history, now)
    claims.check(verified, facts)  # the card's state at the record's time, its expiry, the grant

    # 6. store, then the flags of what this request stored
    stored = store.store_redemptions(ctx, store.redemption_rows(verified, ctx.actor.name, now))
    flagged: list[Candidate] = []
    for cand in verified:
        rid = cand.item.record_id
        if rid not in stored:
            results[cand.index] = RecordResult(rid, "duplicate")
        elif not cand.flags:
            results[cand.index] = RecordResult(rid, "stored")
        else:
            kinds = tuple(dict.fromkeys(kind for kind, _other, _detail in cand.flags))
            results[cand.index] = RecordResult(rid, "flagged", None, kinds)
            flagged.append(cand)
    suspicions.raise_flags(ctx, flagged, card_rows, now)
    for i, j in copies.items():  # a copy shares its first copy's fate (never "stored" twice)
        earlier = results[j]
        if earlier is not None and earlier.result != "rejected":
            earlier = RecordResult(earlier.record_id, "duplicate")
        results[i] = earlier
    _audit_refusals(ctx, results)
    ctx.session.flush()
    return [r for r in results if r is not None]


def _audit_refusals(ctx: Ctx, results: Sequence[RecordResult | None]) -> None:
    """One audit entry per batch that tried to go beyond the terminal's scope."""
    refused: dict[str, list[str]] = defaultdict(list)
    for r in results:
        if r is not None and r.reason in SCOPE_REJECTS:
            refused[r.reason].append(r.record_id)
    if refused:
        audit.record(
            ctx,
            "sync.records_refused",
            f"terminal:{ctx.actor.name}",
            **{reason: {"count": len(ids), "records": ids[:20]} for reason, ids in sorted(refused.items())},
        )

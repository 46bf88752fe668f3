"""Status list at province scale: 3,000,000 cards, 1 % revoked at random indices (fixed seed).

    python -m benchmarks.revocation [--cards 3000000] [--revoked 0.01] [--lookups 1000000] [--runs 5]

Server side: pack the list and build + sign the snapshot. Terminal side, on a fresh SQLite file each
run (WAL, synchronous=FULL, so the commit is fsynced): verify + decompress + store (``apply_ms``, the
median of ``--runs``), then the first lookup after a restart (lazy load), ``RevocationCache.status``
per lookup over random indices (``lookup_us``), and a signed delta of 100 changes (``delta_bytes_100``)
applied on top. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from card_applet_spec.issuer import key_from_seed
from province.statuslist import CardStatus, build_delta, build_snapshot, new_status_list, verify_snapshot
from province.trust import StatusKeyRing
from terminal.db import make_engine
from terminal.revocation import RevocationCache

LIST_ID = "ID-62/khbs/status/1"
ISSUED_AT = 1_798_761_600  # 2027-01-01T00:00:00Z
TARGETS = {"snapshot_bytes": 51_200, "apply_ms": 50.0, "lookup_us": 1.0, "delta_bytes_100": 1_024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=3_000_000)
    parser.add_argument("--revoked", type=float, default=0.01, help="fraction revoked")
    parser.add_argument("--lookups", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="apply_snapshot runs (median reported)")
    parser.add_argument("--seed", type=int, default=6271)
    parser.add_argument("--dir", type=Path, default=None, help="where the SQLite files go (default: temp)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    status_key = key_from_seed("KHBS benchmark status-list key")
    public = status_key.public_key()

    # --- server: pack, compress, sign -----------------------------------------------------------
    revoked = rng.sample(range(args.cards), round(args.cards * args.revoked))
    statuses = new_status_list(args.cards)
    for index in revoked:
        statuses[index >> 2] |= CardStatus.REVOKED << ((index & 3) << 1)
    t0 = time.perf_counter()
    snapshot = build_snapshot(
        statuses, 1, issued_at=ISSUED_AT, list_id=LIST_ID, key=status_key, size=args.cards
    )
    build_ms = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    verify_snapshot(snapshot, public)
    verify_ms = (time.perf_counter() - t0) * 1000

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        # --- terminal: verify + store, on a fresh database each run ----------------------------
        apply_runs: list[float] = []
        for run in range(args.runs):
            cache = RevocationCache(make_engine(Path(tmp) / f"apply{run}.db"), StatusKeyRing.of(public))
            t0 = time.perf_counter()
            cache.apply_snapshot(snapshot, fetched_at=ISSUED_AT + 60)
            apply_runs.append((time.perf_counter() - t0) * 1000)
        apply_ms = statistics.median(apply_runs)

        # --- restart: a new engine and cache on the last file; the first lookup loads lazily ----
        db_path = Path(tmp) / f"apply{args.runs - 1}.db"
        cache = RevocationCache(make_engine(db_path), StatusKeyRing.of(public))
        t0 = time.perf_counter()
        cache.status(0)
        load_ms = (time.perf_counter() - t0) * 1000

        revoked_set = set(revoked)
        sample = rng.sample(range(args.cards), 10_000) + revoked[:10_000]
        wrong = sum((cache.status(i) is CardStatus.REVOKED) != (i in revoked_set) for i in sample)
        if wrong:
            raise SystemExit(f"{wrong} wrong statuses after reload")

        # --- lookups ------------------------------------------------------------------------------
        indices = [rng.randrange(args.cards) for _ in range(args.lookups)]
        status = cache.status
        for i in indices[:10_000]:
            status(i)
        t0 = time.perf_counter()
        for i in indices:
            status(i)
        lookup_us = (time.perf_counter() - t0) * 1e6 / len(indices)
        t0 = time.perf_counter()
        for _ in indices:
            pass
        loop_us = (time.perf_counter() - t0) * 1e6 / len(indices)

        # --- a delta of 100 changes: 80 newly revoked, 10 suspended, 10 reinstated ----------------
        valid = [i for i in rng.sample(range(args.cards), 200) if i not in revoked_set][:90]
        changes = {i: CardStatus.REVOKED for i in valid[:80]}
        changes |= {i: CardStatus.SUSPENDED for i in valid[80:90]}
        changes |= {i: CardStatus.VALID for i in revoked[:10]}
        delta = build_delta(
            changes, 1, size=args.cards, issued_at=ISSUED_AT + 3600, list_id=LIST_ID, key=status_key
        )
        t0 = time.perf_counter()
        cache.apply_delta(delta, fetched_at=ISSUED_AT + 3660)
        delta_apply_ms = (time.perf_counter() - t0) * 1000
        if any(cache.status(i) != s for i, s in changes.items()) or cache.seq != 2:
            raise SystemExit("delta not applied correctly")

    result = {
        "cards": args.cards,
        "revoked": len(revoked),
        "snapshot_bytes": len(snapshot),
        "apply_ms": round(apply_ms, 2),
        "lookup_us": round(lookup_us, 3),
        "delta_bytes_100": len(delta),
    }
    print(
        f"status list: {args.cards:,} cards, {len(revoked):,} revoked ({args.revoked:.1%}), seed {args.seed}"
    )
    print(f"  packed list        {len(statuses):>10,} B")
    print(f"  signed snapshot    {len(snapshot):>10,} B  (xz; build + sign {build_ms:.0f} ms, server side)")
    print(f"  verify+decompress  {verify_ms:>10.2f} ms (no database)")
    print(
        f"  apply_snapshot     {apply_ms:>10.2f} ms median of {args.runs}: "
        + ", ".join(f"{x:.2f}" for x in apply_runs)
    )
    print(f"  load after restart {load_ms:>10.2f} ms (first status() call: read, re-verify, decompress)")
    print(f"  status() lookup    {lookup_us * 1000:>10.0f} ns mean over {len(indices):,} random indices")
    print(f"                     (of which the bare for-loop {loop_us * 1000:.0f} ns)")
    print(f"  delta, 100 changes {len(delta):>10,} B  (apply {delta_apply_ms:.2f} ms)")
    for name, limit in TARGETS.items():
        value = result[name]
        print(f"  target {name:<16} {value!s:>10} <= {limit}: {'met' if value <= limit else 'MISSED'}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""A mutation fuzzing campaign over every parser of bytes from a card, a reader, a file, a QR or the network.

    python -m benchmarks.fuzz [--seconds 180] [--processes 2] [--target NAME ...] [--seed N]

The targets, their typed errors and seed corpora are ``benchmarks.fuzz_targets`` (the same list the
bounded property tests in ``tests/test_fuzz_*.py`` use). Each process takes the targets in turn, a
short time slice each, and feeds them random bytes and mutations of their corpus (bit flips, byte and
word values at format boundaries, insertions, deletions, truncation, duplication, splicing, length
tweaks, tokens); inputs that parse join the corpus. An input is *untyped* when the parser raises
anything but its typed errors. Each untyped failure (exception type and the line that raised it) is
shown once with the shortest input found for it. Ends with one JSON line: ``inputs``, ``untyped``,
``per_parser`` (inputs and untyped per target), ``seconds``; targets ``inputs`` >= 1,000,000 and
``untyped`` == 0.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import time
import traceback
from dataclasses import dataclass, field

from benchmarks.fuzz_targets import Target, mutate, targets, untyped

TARGET_INPUTS = 1_000_000
SLICE_S = 0.05
CORPUS_MAX = 256
SHRINK_TRIES = 3000


@dataclass
class Finding:
    """One kind of untyped failure: the exception and the shortest input seen for it."""

    target: str
    error: str
    where: str
    data: bytes
    count: int = 0


@dataclass
class Tally:
    inputs: dict[str, int] = field(default_factory=dict)
    untyped: dict[str, int] = field(default_factory=dict)
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "site-packages" not in f.filename] or frames
    last = ours[-1] if ours else None
    return f"{os.path.relpath(last.filename)}:{last.lineno}" if last else "?"


def _signature(target: Target, exc: Exception) -> tuple[str, str, str]:
    return (target.name, type(exc).__name__, _where(exc))


def shrink(target: Target, data: bytes, signature: tuple[str, str, str]) -> bytes:
    """Greedy delta debugging: drop chunks (halves down to single bytes) while the same failure stays."""

    def same(candidate: bytes) -> bool:
        exc = untyped(target, candidate)
        return exc is not None and _signature(target, exc) == signature

    tries = 0
    chunk = max(1, len(data) // 2)
    while chunk >= 1 and tries < SHRINK_TRIES:
        i = 0
        while i < len(data) and tries < SHRINK_TRIES:
            candidate = data[:i] + data[i + chunk :]
            tries += 1
            if same(candidate):
                data = candidate
            else:
                i += chunk
        chunk //= 2
    return data


def campaign(names: list[str], seconds: float, seed: int) -> Tally:
    """One process's share: the targets in turn, SLICE_S each, until ``seconds`` have passed."""
    rng = random.Random(seed)
    chosen = [t for t in targets() if t.name in names]
    corpora = {t.name: list(t.seeds) for t in chosen}
    tally = Tally()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for target in chosen:
            corpus = corpora[target.name]
            count = bad = 0
            end = min(deadline, time.monotonic() + SLICE_S)
            while True:
                for _ in range(16):
                    if rng.random() < 0.1:
                        data = rng.randbytes(rng.randrange(target.max_size + 1))
                    else:
                        data = mutate(corpus[rng.randrange(len(corpus))], rng, corpus)
                    try:
                        target.run(data)
                    except target.typed:
                        pass
                    except Exception as exc:
                        bad += 1
                        _found(tally, target, exc, data)
                    else:
                        if len(corpus) < CORPUS_MAX and rng.random() < 0.05:
                            corpus.append(data)
                    count += 1
                if time.monotonic() >= end:
                    break
            tally.inputs[target.name] = tally.inputs.get(target.name, 0) + count
            tally.untyped[target.name] = tally.untyped.get(target.name, 0) + bad
            if time.monotonic() >= deadline:
                break
    for sig, finding in tally.findings.items():
        finding.data = shrink(next(t for t in chosen if t.name == sig[0]), finding.data, sig)
    return tally


def _found(tally: Tally, target: Target, exc: Exception, data: bytes) -> None:
    sig = _signature(target, exc)
    finding = tally.findings.get(sig)
    if finding is None:
        finding = tally.findings[sig] = Finding(
            target.name, f"{type(exc).__name__}: {exc}"[:160], sig[2], data
        )
    elif len(data) < len(finding.data):
        finding.data = data
    finding.count += 1


def _worker(args: tuple[list[str], float, int]) -> Tally:
    return campaign(*args)


def merge(tallies: list[Tally]) -> Tally:
    out = Tally()
    for t in tallies:
        for name, n in t.inputs.items():
            out.inputs[name] = out.inputs.get(name, 0) + n
        for name, n in t.untyped.items():
            out.untyped[name] = out.untyped.get(name, 0) + n
        for sig, f in t.findings.items():
            mine = out.findings.get(sig)
            if mine is None:
                out.findings[sig] = f
            else:
                mine.count += f.count
                if len(f.data) < len(mine.data):
                    mine.data = f.data
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.fuzz", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--seconds", type=float, default=180.0, help="campaign length (default 180)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="worker processes")
    parser.add_argument("--target", action="append", default=[], help="only this target (repeatable)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    args = parser.parse_args(argv)
    all_targets = targets()  # built before the workers fork: each gets a copy
    known = [t.name for t in all_targets]
    names = args.target or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        print(f"unknown target(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else time.time_ns() & 0xFFFFFFFF
    processes = max(1, args.processes)
    print(f"fuzzing {len(names)} parsers for {args.seconds:.0f} s on {processes} processes (seed {seed})")
    started = time.monotonic()
    jobs = [(names, args.seconds, seed + i) for i in range(processes)]
    if processes == 1:
        tallies = [_worker(jobs[0])]
    else:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            tallies = pool.map(_worker, jobs)
    elapsed = time.monotonic() - started
    tally = merge(tallies)
    total = sum(tally.inputs.values())
    bad = sum(tally.untyped.values())
    by_name = {t.name: t for t in all_targets}
    print(f"{'parser':<28} {'source':<8} {'inputs':>11} {'inputs/s':>9} {'untyped':>8}")
    for name in names:
        n = tally.inputs.get(name, 0)
        rate = n / elapsed if elapsed else 0.0
        print(f"{name:<28} {by_name[name].source:<8} {n:>11,} {rate:>9,.0f} {tally.untyped.get(name, 0):>8,}")
    print(f"{'total':<37} {total:>11,} {total / elapsed:>9,.0f} {bad:>8,}")
    for f in sorted(tally.findings.values(), key=lambda f: (f.target, f.where)):
        shortest = f.data.hex() or "(empty)"
        print(f"UNTYPED {f.target}: {f.error} at {f.where} ({f.count}x); shortest input {shortest}")
    met = total >= TARGET_INPUTS and bad == 0
    print(f"  target inputs >= {TARGET_INPUTS:,}: {'met' if total >= TARGET_INPUTS else 'MISSED'}")
    print(f"  target untyped == 0: {'met' if bad == 0 else 'MISSED'}")
    result = {
        "inputs": total,
        "untyped": bad,
        "per_parser": {
            name: {"inputs": tally.inputs.get(name, 0), "untyped": tally.untyped.get(name, 0)}
            for name in names
        },
        "seconds": round(elapsed, 1),
        "processes": processes,
        "targets_met": met,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

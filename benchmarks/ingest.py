"""Redemption ingest throughput on PostgreSQL, with card-signature verification, through the HTTP API.

    python -m benchmarks.ingest [--cards 2000] [--per-card 10] [--batch 2000] [--raw-rounds 3]
                                [--database-url URL]

Sets up a throw-away schema (``khbs_bench_<pid>``, dropped at the end) in the PostgreSQL database
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), registers cards with P-256 keys, has
every card sign ``--per-card`` redemption records (DER ECDSA over ``DOMAIN_TX || record``, as the
card does), then POSTs them in batches of ``--batch`` to ``/v1/sync/redemptions`` (in-process ASGI
client: JSON, validation, signature verification, fraud checks, COPY into the table).
In the same run it measures the raw P-256 verify rate of ``cryptography`` on the same records, on one
thread (``raw_verify_per_s``) and spread over as many threads as the server verifies on
(``raw_verify_per_s_all_cores``; ``server_stub.services.ingest.VERIFY_THREADS``, one per core). Ends
with one JSON line: backend, records, records_per_s, raw_verify_per_s, ratio (= records_per_s /
raw_verify_per_s), raw_verify_per_s_all_cores, ratio_all_cores (= records_per_s /
raw_verify_per_s_all_cores: the honest figure, as the server verifies on all cores too; the target is
>= 0.4), verify_threads. The raw rates are the best of ``--raw-rounds`` rounds each.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import create_engine, func, insert, select, text

from card_applet_spec import constants as c
from card_applet_spec.credential import compressed_point
from card_applet_spec.issuer import key_from_seed, uncompressed_point
from card_applet_spec.records import TxRecord

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = 1773111600  # 2026-03-10 10:00 WIB


Signed = tuple[bytes, bytes, ec.EllipticCurvePublicKey]


def _verify(signed: Sequence[Signed]) -> None:
    algorithm = ec.ECDSA(hashes.SHA256())
    for body, signature, public in signed:
        public.verify(signature, c.DOMAIN_TX + body, algorithm)


def _raw_verify_rates(signed: Sequence[Signed], threads: int, rounds: int) -> tuple[float, float]:
    """Verifications per second of the records on one thread, and split in ``threads`` contiguous
    chunks verified concurrently (as the server's verify pool does). Each the best of ``rounds``
    rounds: the machine's best, so a busy moment cannot flatter the ratios."""
    size = -(-len(signed) // threads)
    chunks = [signed[i : i + size] for i in range(0, len(signed), size)]
    single = spread = 0.0
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda _: None, range(threads)))  # threads started before the clock runs
        for _ in range(rounds):
            start = time.perf_counter()
            _verify(signed)
            single = max(single, len(signed) / (time.perf_counter() - start))
            start = time.perf_counter()
            for future in [pool.submit(_verify, chunk) for chunk in chunks]:
                future.result()
            spread = max(spread, len(signed) / (time.perf_counter() - start))
    return single, spread


def _schema_url(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest", description=__doc__)
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--per-card", type=int, default=10)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--database-url", default=os.environ.get("KHBS_BENCH_PG_URL", DEFAULT_URL))
    parser.add_argument("--raw-rounds", type=int, default=3, help="raw verify rates: best of this many")
    args = parser.parse_args(argv)

    from fastapi.testclient import TestClient

    from server_stub import db
    from server_stub.app import create_app
    from server_stub.models import Card, Citizen, Grant, Redemption
    from server_stub.services.ingest import CARD_KEYS, VERIFY_THREADS
    from server_stub.settings import Settings

    schema = f"khbs_bench_{os.getpid()}"
    admin_engine = create_engine(args.database_url)
    with admin_engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _schema_url(args.database_url, schema)
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="khbs-bench-")),
        database_url=url,
        admin_token="bench-admin",
        key_seed="khbs-bench",
    )
    try:
        app = create_app(settings, clock=lambda: T0 + 365 * 86400)  # the records are from the year before
        client = TestClient(app)
        admin = {"Authorization": "Bearer bench-admin"}
        terminal_key = key_from_seed("bench-terminal")
        enrol = client.post(
            "/v1/admin/terminals",
            headers=admin,
            json={
                "terminal_id": "T6271001",
                "site": "Benchmark",
                "region": 6271,
                "public_key": uncompressed_point(terminal_key.public_key()).hex(),
            },
        )
        enrol.raise_for_status()
        terminal = {"Authorization": f"Bearer {enrol.json()['token']}"}

        # cards: rows straight into the tables (issuance is not what is measured)
        print(f"setting up {args.cards} cards x {args.per_card} records ...", file=sys.stderr)
        engine = db.make_engine(settings)
        keys = [key_from_seed(f"bench-card/{i}") for i in range(args.cards)]
        serials = [bytes.fromhex("6271") + i.to_bytes(6, "big") for i in range(args.cards)]
        with engine.begin() as conn:
            conn.execute(
                insert(Citizen),
                [
                    {
                        "id": i + 1,
                        "nik": f"6271010101{i:06d}",
                        "name": f"Bench {i}",
                        "birth_date": dt.date(1990, 1, 1),
                        "sex": "L",
                        "region": 6271,
                        "district": 1,
                        "kk_number": None,
                        "occupation": "farmer",
                        "created_at": T0,
                    }
                    for i in range(args.cards)
                ],
            )
            conn.execute(
                insert(Card),
                [
                    {
                        "serial": serial.hex(),
                        "citizen_id": i + 1,
                        "status_index": i,
                        "state": "active",
                        "card_key": compressed_point(key.public_key()),
                        "credential": b"",
                        "issuer_kid": "00" * 8,
                        "region": 6271,
                        "status_seq": 0,
                        "issued_at": T0,
                        "expires_at": T0 + 86400 * 365,
                        "month": "2026-03",
                    }
                    for i, (serial, key) in enumerate(zip(serials, keys, strict=True))
                ],
            )
            conn.execute(  # the BLT grant each record debits (ingest checks the grant it names)
                insert(Grant),
                [
                    {
                        "card_serial": serial.hex(),
                        "program_id": int(c.Program.BLT),
                        "grant_seq": 1,
                        "kind": int(c.Kind.CASH),
                        "unit": int(c.Unit.RUPIAH),
                        "amount": 300_000,
                        "valid_from": T0,
                        "valid_until": T0 + 86400 * 365,
                        "month": "2026-03",
                        "body": b"",
                        "kid": "00" * 8,
                        "signature": b"",
                        "delivered": True,
                        "created_at": T0,
                    }
                    for serial in serials
                ],
            )
        algorithm = ec.ECDSA(hashes.SHA256())
        signed: list[Signed] = []
        items: list[dict[str, object]] = []
        for n in range(1, args.per_card + 1):  # counters rise with time, card by card
            for i, (serial, key) in enumerate(zip(serials, keys, strict=True)):
                rec = TxRecord(
                    tx_type=c.TxType.DEBIT,
                    card_serial=serial,
                    tx_counter=n,
                    program=c.Program.BLT,
                    grant_seq=1,
                    amount=1_000,
                    balance_after=300_000 - n * 1_000,
                    terminal_id=b"T6271001",
                    terminal_nonce=(i * 1000 + n).to_bytes(8, "big"),
                    terminal_time=T0 + n * 3600 + i,
                )
                body = rec.encode()
                signature = key.sign(rec.signed_message(), algorithm)
                signed.append((body, signature, key.public_key()))
                items.append(
                    {
                        "record_id": hashlib.sha256(body).hexdigest()[:32],
                        "record": base64.b64encode(body).decode(),
                        "signature": base64.b64encode(signature).decode(),
                        "card_serial": serial.hex(),
                        "terminal_id": "T6271001",
                        "ledger_id": f"L{i}-{n}",
                    }
                )
        total = len(items)

        # raw verify rates: the same records, keys already parsed; one thread, then all of the server's
        raw_verify_per_s, raw_verify_per_s_all_cores = _raw_verify_rates(
            signed, VERIFY_THREADS, max(1, args.raw_rounds)
        )

        # ingest through HTTP
        CARD_KEYS.clear()  # the server parses the card keys itself (cold cache)
        batches = [items[i : i + args.batch] for i in range(0, total, args.batch)]
        bodies = [json.dumps({"records": b}).encode() for b in batches]
        gc.collect()  # the setup's garbage (migrations, app, signing) is not the ingest's to collect
        headers = {**terminal, "Content-Type": "application/json"}
        stored = 0
        start = time.perf_counter()
        for body_bytes in bodies:
            r = client.post("/v1/sync/redemptions", headers=headers, content=body_bytes)
            r.raise_for_status()
            stored += r.json()["stored"]
        elapsed = time.perf_counter() - start
        records_per_s = total / elapsed
        with engine.connect() as conn:
            in_db = conn.scalar(select(func.count()).select_from(Redemption))
        engine.dispose()
        if stored != total or in_db != total:
            print(f"stored {stored}, in the database {in_db}, expected {total}", file=sys.stderr)
            return 1
        print(
            f"{total} records in {elapsed:.2f} s: {records_per_s:.0f}/s with verification; "
            f"raw verify {raw_verify_per_s:.0f}/s on 1 thread, "
            f"{raw_verify_per_s_all_cores:.0f}/s on {VERIFY_THREADS}",
            file=sys.stderr,
        )
        print(
            json.dumps(
                {
                    "backend": "postgresql",
                    "records": total,
                    "batch": args.batch,
                    "records_per_s": round(records_per_s, 1),
                    "raw_verify_per_s": round(raw_verify_per_s, 1),
                    "ratio": round(records_per_s / raw_verify_per_s, 3),
                    "raw_verify_per_s_all_cores": round(raw_verify_per_s_all_cores, 1),
                    "ratio_all_cores": round(records_per_s / raw_verify_per_s_all_cores, 3),
                    "verify_threads": VERIFY_THREADS,
                }
            )
        )
        return 0
    finally:
        if os.environ.get("KHBS_BENCH_KEEP"):
            print(f"kept schema {schema}", file=sys.stderr)
        else:
            with admin_engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin_engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())

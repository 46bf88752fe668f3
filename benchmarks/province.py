"""Province scale on PostgreSQL: the bulk citizen import and one BLT grant cycle.

    python -m benchmarks.province [--citizens 2700000] [--seed 62] [--database-url URL] [--keep-file]

Generates a DTKS-style extract of ``--citizens`` citizens into a temporary CSV file (deterministic for a
seed: households across the 14 regencies/cities by population, valid NIKs matching birth date and sex,
family cards, welfare deciles, occupations by age), loads it into a throw-away schema
(``khbs_bench_province_<pid>``, dropped at the end) of the PostgreSQL database (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) through
:func:`server_stub.services.bulk_import.import_file`, gives every citizen aged 17 or more an active card
(set-based rows standing for issued cards: issuance is measured per card by ``kartu issue``), then runs
one BLT cycle (:func:`server_stub.services.cycles.run_cycle`, this month's window) for the eligible.

Ends with one JSON line: citizens, import_rows_per_s, grants, grants_per_s, targets_met (import >=
20,000 rows/s and grants >= 10,000/s), and the seconds and counts behind them.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from card_applet_spec import constants as c
from province.clock import WIB
from server_stub import db
from server_stub.demo import MEN, POPULATION, WOMEN
from server_stub.keys import KeyRing
from server_stub.services import bulk_import, cycles
from server_stub.services.cards import period_window
from server_stub.services.context import ADMIN, Actor, Ctx
from server_stub.services.issuer import current_key
from server_stub.services.reference import ensure_reference_data
from server_stub.settings import Settings

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
T0 = 1773111600  # 2026-03-10 10:00 WIB
IMPORT_TARGET = 20_000
GRANT_TARGET = 10_000
STREETS = ("Tjilik Riwut", "Ahmad Yani", "G. Obos", "Rajawali", "Kahayan", "RTA Milono", "Imam Bonjol")


def _occupation(rng: random.Random, age: int, female: bool) -> str:
    if age < 6:
        return "child"
    if age < 19:
        return "student"
    if age >= 65:
        return "retired"
    pool = ["farmer", "fisher", "labourer", "trader", "unemployed", "teacher", "civil_servant"]
    pool += ["housewife", "housewife"] if female else ["farmer", "labourer"]
    return rng.choice(pool)


def write_extract(path: Path, citizens: int, seed: int, today: dt.date) -> int:
    """Write a valid extract of ``citizens`` rows (households of 1-6); the number of households.

    NIKs are unique by construction: the serial counts per (regency, district, birth year), and the
    family card number per (regency, district)."""
    rng = random.Random(seed)
    regions = list(POPULATION)
    weights = list(POPULATION.values())
    nik_serial: dict[tuple[int, int, int], int] = {}
    kk_serial: dict[tuple[int, int], int] = {}
    households = written = 0
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(bulk_import.COLUMNS)
        while written < citizens:
            region = regions[households] if households < len(regions) else rng.choices(regions, weights)[0]
            district = rng.randint(1, 12)
            k = kk_serial[region, district] = kk_serial.get((region, district), 0) + 1
            issued = today - dt.timedelta(days=30 + k // 9999)
            kk = f"{region}{district:02d}{issued:%d%m%y}{k % 9999 + 1:04d}"
            address = f"Jl. {rng.choice(STREETS)} No. {rng.randint(1, 200)}"
            decile = min(10, max(1, int(rng.triangular(1, 11, 3))))
            households += 1
            for _ in range(rng.choice((1, 2, 3, 3, 4, 4, 5, 6))):
                if written >= citizens:
                    break
                female = rng.random() < 0.49
                born = today - dt.timedelta(days=int(rng.triangular(0, 85 * 365.25, 28 * 365.25)))
                serial = nik_serial[region, district, born.year] = (
                    nik_serial.get((region, district, born.year), 0) + 1
                )
                day = born.day + (40 if female else 0)
                nik = f"{region}{district:02d}{day:02d}{born:%m%y}{serial:04d}"
                age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
                name = rng.choice(WOMEN if female else MEN)
                sex = "P" if female else "L"
                out.writerow(
                    (nik, kk, name, born.isoformat(), sex, address, decile, _occupation(rng, age, female))
                )
                written += 1
    return households


# Every citizen aged 17+ gets an active card (serial: regency BCD + the citizen id; status index: the id).
_CARDS = """
INSERT INTO cards (serial, citizen_id, status_index, state, issuer_kid, region, status_seq, issued_at,
                   expires_at, month)
SELECT lpad(region::text, 4, '0') || lpad(to_hex(id), 12, '0'), id, id, 'active', :kid, region, 0, :now,
       :expires, :month
FROM citizens WHERE birth_date <= :adult"""


def _bar(done: int, total: int, label: str) -> None:
    width = 30
    filled = width * done // max(total, 1)
    print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}", end="", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.province", description=__doc__)
    parser.add_argument("--citizens", type=int, default=2_700_000)
    parser.add_argument("--seed", type=int, default=62)
    parser.add_argument("--database-url", default=os.environ.get("KHBS_BENCH_PG_URL", DEFAULT_URL))
    parser.add_argument("--keep-file", action="store_true", help="keep the generated CSV (path on stderr)")
    args = parser.parse_args(argv)
    today = dt.datetime.fromtimestamp(T0, WIB).date()
    schema = f"khbs_bench_province_{os.getpid()}"
    admin = create_engine(args.database_url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(args.database_url, connect_args={"options": f"-csearch_path={schema}"})
    handle, name = tempfile.mkstemp(prefix="khbs-extract-", suffix=".csv")
    os.close(handle)
    path = Path(name)
    try:
        start = time.perf_counter()
        households = write_extract(path, args.citizens, args.seed, today)
        print(
            f"extract: {args.citizens:,} citizens, {households:,} households, "
            f"{path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - start:.1f} s ({path})",
            file=sys.stderr,
        )
        db.migrate(engine)
        settings = Settings(database_url=args.database_url, key_seed="khbs-bench-province")
        keys = KeyRing(settings.key_seed)
        sessions = db.session_factory(engine)
        actor = Actor("system", "benchmark", ADMIN)
        with sessions() as session:
            ctx = Ctx(session=session, settings=settings, keys=keys, actor=actor, clock=lambda: T0)
            ensure_reference_data(ctx)
            session.commit()

            def import_bar(p: bulk_import.Progress) -> None:
                _bar(p.bytes_read, p.bytes_total, f"import {p.stage.value:8}")

            report = bulk_import.import_file(ctx, path, progress=import_bar)
            session.commit()
            print(file=sys.stderr)
            if not report.committed:
                print(f"import refused: {report.rejected[:5]}", file=sys.stderr)
                return 1
            import_seconds = report.seconds
            kid = current_key(ctx).kid
            adult = dt.date(today.year - 17, today.month, today.day)
            expires = T0 + settings.credential_validity_days * 86400
            params = {
                "kid": kid,
                "now": T0,
                "expires": expires,
                "month": today.strftime("%Y-%m"),
                "adult": adult,
            }
            cards = session.execute(text(_CARDS), params).rowcount  # type: ignore[attr-defined]
            session.execute(text("ANALYZE"))
            session.commit()
            valid_from, valid_until = period_window("monthly", T0, expires)

            def cycle_bar(p: cycles.CycleProgress) -> None:
                _bar(p.done, p.total, "BLT cycle      ")

            cycle = cycles.run_cycle(
                ctx, int(c.Program.BLT), valid_from=valid_from, valid_until=valid_until, progress=cycle_bar
            )
            session.commit()
            print(file=sys.stderr)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        if args.keep_file:
            print(f"extract kept: {path}", file=sys.stderr)
        else:
            path.unlink(missing_ok=True)
    import_rate = report.rows / import_seconds
    grant_rate = cycle.grants_per_s
    print(
        f"import: {report.imported:,} citizens, {report.households:,} households, {report.eligibility:,} "
        f"eligibility rows in {import_seconds:.1f} s = {import_rate:,.0f} rows/s (target {IMPORT_TARGET:,})\n"
        f"BLT cycle: {cycle.grants:,} grants (the eligible of {cards:,} active cards) "
        f"in {cycle.seconds:.1f} s = "
        f"{grant_rate:,.0f} grants/s (target {GRANT_TARGET:,})"
    )
    result = {
        "citizens": report.imported,
        "households": report.households,
        "import_seconds": round(import_seconds, 2),
        "import_rows_per_s": round(import_rate),
        "cards": cards,
        "grants": cycle.grants,
        "cycle_seconds": round(cycle.seconds, 2),
        "grants_per_s": round(grant_rate),
        "targets_met": import_rate >= IMPORT_TARGET and grant_rate >= GRANT_TARGET,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Demo data: thousands of citizens across the 14 regencies/cities, deterministic with a seed.

Households (KK) with welfare deciles; citizens with valid NIKs (men and women: day + 40), occupations by
age; rule-based eligibility across the eight programs; one enrolled terminal per regency/city; cards
for most adults (credential and grants signed by the issuer, card keys derived from the seed, so demo
cards can sign records); a few percent revoked or suspended; job / training / housing catalogues; a
sample of card-signed redemptions and refusals ingested so the transparency page has figures.

``python -m server_stub.demo --citizens 3000 --seed 62`` loads into the configured database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.credential import Claims, compressed_point, sign_credential
from card_applet_spec.issuer import key_from_seed, uncompressed_point
from card_applet_spec.records import TxRecord, record_id
from card_applet_spec.redaction import mask_nik
from province.clock import WIB
from province.issuance import IssuedCard, holder_commitment
from server_stub import db
from server_stub.keys import load_keys
from server_stub.models import Citizen, Household, ProgramRow
from server_stub.repositories import access as access_repo
from server_stub.services import access, cards, catalogue, ingest, registry
from server_stub.services.context import ADMIN, Actor, Ctx
from server_stub.services.reference import ensure_reference_data
from server_stub.settings import Settings

#: Rough population weights (thousands, BPS 2023) of the 14 regencies/cities, Kemendagri codes.
POPULATION = {
    6201: 280,
    6202: 440,
    6203: 420,
    6204: 140,
    6205: 140,
    6206: 170,
    6207: 190,
    6208: 60,
    6209: 100,
    6210: 130,
    6211: 140,
    6212: 120,
    6213: 120,
    6271: 300,
}
MEN = (
    "Agus Santoso", "Budi Utomo", "Dedi Kurniawan", "Eko Prasetyo", "Fajar Hidayat", "Hendra Saputra",
    "Irwan Syahputra", "Joko Susilo", "Kurnia Tambun", "Lukas Dehen", "Markus Ganal", "Nanang Junaedi",
    "Opan Djaya", "Paulus Itam", "Rahmat Hidayat", "Sabran Achmad", "Tiwel Usop", "Ujang Nuh",
    "Yohanes Tingang", "Zainal Arifin",
)  # fmt: skip
WOMEN = (
    "Ani Suryani", "Berta Nyai", "Citra Lestari", "Dewi Sartika", "Erni Handayani", "Fitri Ramadhani",
    "Grace Kameloh", "Hartini Putri", "Indah Permata", "Junita Dahang", "Kristina Bulan", "Lilis Suryani",
    "Maria Ingan", "Nurul Aini", "Oktavia Rangkap", "Putri Ayu", "Ratna Sari", "Siti Aminah",
    "Tuti Handayani", "Yuliana Intan",
)  # fmt: skip
EMPLOYERS = ("PT Sawit Makmur", "CV Rotan Kahayan", "PT Karet Barito", "Koperasi Nelayan Sebangau")
JOBS = ("Operator alat berat", "Pemanen sawit", "Pengrajin rotan", "Staf gudang", "Sopir truk")
COURSES = ("Menjahit", "Las listrik", "Budidaya ikan patin", "Anyaman rotan", "Pemasaran digital UMKM")
HOUSING = ("Rumah dinas guru SD", "Rumah dinas guru SMP", "Mes guru terpencil")


@dataclass(frozen=True)
class DemoSummary:
    households: int
    citizens: int
    women: int
    cards: int
    revoked: int
    suspended: int
    catalogue_items: int
    redemptions: int
    terminals: int
    eligibility: dict[int, int]


def _occupation(rng: random.Random, age: int, female: bool) -> str:
    if age < 6:
        return "child"
    if age < 19:
        return "student"
    if age >= 65:
        return "retired"
    pool = ["farmer", "fisher", "labourer", "trader", "unemployed", "teacher", "civil_servant"]
    pool += ["housewife", "housewife"] if female else ["farmer", "labourer"]
    if age < 25:
        pool += ["student", "unemployed"]
    return rng.choice(pool)


def _birth(rng: random.Random, today: dt.date) -> dt.date:
    age_days = int(rng.triangular(0, 85 * 365.25, 28 * 365.25))
    return today - dt.timedelta(days=age_days)


def demo_card_key(seed: int, serial: bytes) -> ec.EllipticCurvePrivateKey:
    """The private key of a demo card (derived: demo cards sign records for the demo)."""
    return key_from_seed(f"khbs-demo-card/{seed}/{serial.hex()}")


def load_demo(
    settings: Settings,
    *,
    citizens: int = 3000,
    seed: int = 62,
    now: int | None = None,
    redemptions_per_card: float = 0.5,
) -> DemoSummary:
    """Load the demo data set into ``settings``' database (migrated first). Deterministic for a seed."""
    rng = random.Random(seed)
    now = int(time.time()) if now is None else now
    today = dt.datetime.fromtimestamp(now, WIB).date()
    engine = db.make_engine(settings)
    db.migrate(engine)
    sessions = db.session_factory(engine)
    keys = load_keys(settings)
    system = Actor("system", f"demo-seed-{seed}", ADMIN)
    summary: dict[str, Any] = {}
    with sessions() as session:
        ctx = Ctx(session=session, settings=settings, keys=keys, actor=system, clock=lambda: now)
        ensure_reference_data(ctx)
        programs = list(session.query(ProgramRow).order_by(ProgramRow.id))
        tokens = _terminals(ctx, rng)
        households, people = _people(ctx, rng, citizens, today, programs)
        issued = _cards(ctx, rng, people, seed, now)
        revoked, suspended = _revocations(ctx, rng, issued)
        items = _catalogues(ctx, rng, today)
        n_redemptions = _redemptions(ctx, rng, issued, seed, now, redemptions_per_card, tokens)
        elig: Counter[int] = Counter(e.program_id for p in people for e in p.eligibility)
        session.commit()
        summary = {
            "households": households,
            "citizens": len(people),
            "women": sum(1 for p in people if p.sex == "P"),
            "cards": len(issued),
            "revoked": revoked,
            "suspended": suspended,
            "catalogue_items": items,
            "redemptions": n_redemptions,
            "terminals": len(tokens),
            "eligibility": dict(sorted(elig.items())),
        }
    engine.dispose()
    return DemoSummary(**summary)


def _terminals(ctx: Ctx, rng: random.Random) -> dict[int, str]:
    out = {}
    for region in sorted(c.REGIONS):
        tid = f"T{region}001"
        if access_repo.terminal(ctx.session, tid) is None:
            point = uncompressed_point(key_from_seed(f"khbs-demo-terminal/{tid}").public_key())
            site = f"Kantor Bupati {c.REGIONS[region]}"
            access.enrol_terminal(
                ctx, terminal_id=tid, site=site, region=region, public_key=point, pin_reset=region == 6271
            )
        out[region] = tid
    return out


def _people(
    ctx: Ctx, rng: random.Random, n: int, today: dt.date, programs: list[ProgramRow]
) -> tuple[int, list[Citizen]]:
    regions = list(POPULATION)
    weights = list(POPULATION.values())
    used: set[str] = set()
    people: list[Citizen] = []
    households = 0
    kk_serial: Counter[int] = Counter()
    while len(people) < n:
        # every regency/city first, then by population
        region = regions[households] if households < len(regions) else rng.choices(regions, weights)[0]
        district = rng.randint(1, 12)
        kk_serial[region] += 1
        issued = today - dt.timedelta(days=rng.randint(30, 6000))
        kk = f"{region}{district:02d}{issued:%d%m%y}{kk_serial[region]:04d}"
        if ctx.session.get(Household, kk) is not None:
            continue
        household = Household(
            kk_number=kk,
            region=region,
            address=f"Jl. {rng.choice(['Tjilik Riwut', 'Ahmad Yani', 'G. Obos', 'Rajawali', 'Kahayan'])} "
            f"No. {rng.randint(1, 200)}",
            welfare_decile=min(10, max(1, int(rng.triangular(1, 11, 3)))),
            created_at=int(time.mktime(issued.timetuple())),
        )
        ctx.session.add(household)
        households += 1
        for _member in range(rng.choice((1, 2, 3, 3, 4, 4, 5, 6))):
            if len(people) >= n:
                break
            female = rng.random() < 0.49
            born = _birth(rng, today)
            day = born.day + (40 if female else 0)
            for serial in range(1, 10_000):
                nik = f"{region}{district:02d}{day:02d}{born:%m%y}{serial:04d}"
                if nik not in used:
                    break
            used.add(nik)
            parsed = registry.check_nik(nik, today=today)
            age = registry.age_on(parsed.birth_date, today)
            citizen = Citizen(
                nik=nik,
                name=rng.choice(WOMEN if female else MEN),
                birth_date=parsed.birth_date,
                sex="P" if female else "L",
                region=region,
                district=district,
                kk_number=kk,
                occupation=_occupation(rng, age, female),
                created_at=ctx.now(),
                eligibility=[],
            )
            ctx.session.add(citizen)
            ctx.session.flush()
            registry.evaluate_eligibility(ctx, citizen, programs)
            people.append(citizen)
    ctx.session.flush()
    return households, people


def _holder_ref(nik: str, serial: bytes) -> bytes:
    """``card_applet_spec.credential.holder_ref`` through hashlib (releases the GIL: threads help)."""
    return hashlib.scrypt(
        nik.encode("ascii"),
        salt=c.HOLDER_REF_SALT_PREFIX + serial,
        n=c.HOLDER_REF_SCRYPT_N,
        r=c.HOLDER_REF_SCRYPT_R,
        p=c.HOLDER_REF_SCRYPT_P,
        maxmem=64 << 20,
        dklen=c.HOLDER_REF_LEN,
    )


def _holder_ref_job(job: tuple[str, bytes]) -> bytes:
    return _holder_ref(*job)


def _cards(
    ctx: Ctx, rng: random.Random, people: list[Citizen], seed: int, now: int
) -> list[tuple[str, bytes]]:
    today = dt.datetime.fromtimestamp(now, WIB).date()
    plans = []
    for citizen in people:
        if registry.age_on(citizen.birth_date, today) < 17 or rng.random() > 0.6:
            continue
        plans.append((citizen, cards.plan_issue(ctx, nik=citizen.nik, rng=rng.randbytes)))
    # scrypt (~40 ms each, memory-bound, holds the GIL): one process per core
    jobs = [(citizen.nik, plan.serial) for citizen, plan in plans]
    workers = max(1, min(os.cpu_count() or 1, len(jobs) // 64))
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            refs = list(pool.map(_holder_ref_job, jobs, chunksize=32))
    else:
        refs = [_holder_ref_job(job) for job in jobs]
    issued: list[tuple[str, bytes]] = []
    for (citizen, plan), ref in zip(plans, refs, strict=True):
        key = demo_card_key(seed, plan.serial)
        claims = Claims(
            card_serial=plan.serial,
            status_index=plan.status_index,
            # the salt would live in the card's PIN-protected DF26: these cards exist only on the
            # server, so it is drawn and dropped (nothing readable can test a NIK guess, SPEC §4.4)
            holder_commit=holder_commitment(plan.holder, plan.serial, rng.randbytes(c.HOLDER_SALT_LEN), ref),
            name=plan.holder.name,
            region=int(citizen.nik[:4]),
            card_key=compressed_point(key.public_key()),
            nik_masked=mask_nik(citizen.nik),
            issued_at=plan.issued_at,
            expires_at=plan.expires_at,
        )
        credential = sign_credential(claims, ctx.keys.issuer(plan.issuer_generation).key)
        cards.complete_issue(
            ctx, plan, IssuedCard(plan.serial, uncompressed_point(key.public_key()), credential)
        )
        issued.append((plan.serial.hex(), plan.serial))
    return issued


def _revocations(ctx: Ctx, rng: random.Random, issued: list[tuple[str, bytes]]) -> tuple[int, int]:
    revoked = suspended = 0
    for serial, _raw in issued:
        roll = rng.random()
        if roll < 0.03:
            reason = rng.choice(["kartu hilang", "meninggal dunia", "pindah ke luar provinsi", "data ganda"])
            cards.change_status(ctx, serial, "revoked", reason, check_role=False)
            revoked += 1
        elif roll < 0.04:
            cards.change_status(ctx, serial, "suspended", "verifikasi ulang data", check_role=False)
            suspended += 1
    return revoked, suspended


def _catalogues(ctx: Ctx, rng: random.Random, today: dt.date) -> int:
    n = 0
    for region in sorted(c.REGIONS):
        for kind, titles, count in (("job", JOBS, 3), ("training", COURSES, 2), ("housing", HOUSING, 1)):
            for i in range(count):
                opens = today - dt.timedelta(days=rng.randint(0, 30))
                catalogue.add_item(
                    ctx,
                    kind=kind,
                    region=region,
                    title=titles[(i + region) % len(titles)],
                    organisation=rng.choice(EMPLOYERS) if kind == "job" else c.REGIONS[region],
                    location=c.REGIONS[region],
                    slots=rng.randint(1, 40),
                    opens_on=opens,
                    closes_on=opens + dt.timedelta(days=rng.randint(30, 120)),
                    details="",
                )
                n += 1
    return n


def _redemptions(
    ctx: Ctx,
    rng: random.Random,
    issued: list[tuple[str, bytes]],
    seed: int,
    now: int,
    per_card: float,
    terminals: dict[int, str],
) -> int:
    by_region: dict[int, list[ingest.RecordIn]] = {}
    algorithm = ec.ECDSA(hashes.SHA256())
    for serial, raw in issued:
        if rng.random() > per_card:
            continue
        view = cards.card_view(ctx, cards.load_card(ctx, serial))
        metered = [e for e in view.entitlements if e.kind in (c.Kind.CASH, c.Kind.QUANTITY)]
        if view.state != "active" or not metered:
            continue
        ent = rng.choice(metered)
        amount = min(ent.remaining, ent.amount // rng.choice((1, 2, 3)))
        region = view.region
        record = TxRecord(
            tx_type=c.TxType.DEBIT,
            card_serial=raw,
            tx_counter=1,
            program=ent.program,
            grant_seq=ent.grant_seq,
            amount=amount,
            balance_after=ent.remaining - amount,
            terminal_id=terminals[region].encode(),
            terminal_nonce=rng.randbytes(8),
            terminal_time=max(ent.valid_from, now - rng.randint(0, 20 * 86400)),
        )
        body = record.encode()
        signature = demo_card_key(seed, raw).sign(record.signed_message(), algorithm)
        by_region.setdefault(region, []).append(
            ingest.RecordIn(record_id(body), body, signature, serial, terminals[region])
        )
    stored = 0
    for region, batch in sorted(by_region.items()):
        ctx.actor = Actor("terminal", terminals[region], "terminal", region=region)
        stored += sum(1 for r in ingest.ingest_redemptions(ctx, batch) if r.result in ("stored", "flagged"))
        failures = [
            ingest.FailureIn(f"demo-{region}-{i}", now - rng.randint(0, 20 * 86400), None, p, why, None, None)
            for i, (p, why) in enumerate(
                rng.choice([(1, "pin_blocked"), (2, "insufficient_balance"), (1, "card_revoked")])
                for _ in range(rng.randint(1, 6))
            )
        ]
        ingest.ingest_failures(ctx, failures)
    return stored


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server_stub.demo", description=__doc__)
    parser.add_argument("--citizens", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=62)
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.database_url:
        settings = settings.with_(database_url=args.database_url)
    print(load_demo(settings, citizens=args.citizens, seed=args.seed))


if __name__ == "__main__":
    main()

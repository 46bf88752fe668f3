"""Reference data: the eight services, the agency (dinas) owning each, default amounts and rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from card_applet_spec import constants as c
from province.programs import DEFAULT_UNIT, PROGRAMS
from server_stub.models import Agency, IssuerKey, ProgramRow
from server_stub.repositories import counters
from server_stub.services import publications
from server_stub.services.context import Ctx

AGENCIES: dict[str, str] = {
    "DINSOS": "Dinas Sosial",
    "DISPERINDAG": "Dinas Perindustrian dan Perdagangan",
    "DISDIK": "Dinas Pendidikan",
    "DINKES": "Dinas Kesehatan",
    "DISNAKERTRANS": "Dinas Tenaga Kerja dan Transmigrasi",
    "DISTANKAN": "Dinas Pertanian dan Perikanan",
    "DISPERKIM": "Dinas Perumahan Rakyat dan Kawasan Permukiman",
    "DISKOPUKM": "Dinas Koperasi dan Usaha Kecil Menengah",
}

OCCUPATIONS = (
    "unemployed",
    "labourer",
    "farmer",
    "fisher",
    "trader",
    "teacher",
    "student",
    "civil_servant",
    "housewife",
    "retired",
    "child",
)
PERIODS = ("monthly", "yearly", "once")
CATALOGUE_KINDS: dict[str, c.Program] = {
    "job": c.Program.LAPANGAN_KERJA,
    "training": c.Program.PELATIHAN,
    "housing": c.Program.PERUMAHAN_GURU,
}


@dataclass(frozen=True)
class ProgramDefault:
    program: c.Program
    agency: str
    period: str
    amount: int
    rules: dict[str, Any]


DEFAULTS: tuple[ProgramDefault, ...] = (
    ProgramDefault(c.Program.BLT, "DINSOS", "monthly", 300_000, {"max_decile": 4}),
    ProgramDefault(c.Program.SEMBAKO, "DISPERINDAG", "monthly", 10_000, {"max_decile": 5}),
    ProgramDefault(
        c.Program.PENDIDIKAN, "DISDIK", "yearly", c.UNLIMITED, {"min_age": 6, "max_age": 24, "max_decile": 6}
    ),
    ProgramDefault(c.Program.KESEHATAN, "DINKES", "yearly", c.UNLIMITED, {"max_decile": 7}),
    ProgramDefault(
        c.Program.LAPANGAN_KERJA,
        "DISNAKERTRANS",
        "yearly",
        c.GrantStatus.ELIGIBLE,
        {"min_age": 18, "max_age": 55, "occupations": ["unemployed", "labourer", "student"]},
    ),
    ProgramDefault(
        c.Program.MODAL_TANI_NELAYAN,
        "DISTANKAN",
        "yearly",
        5_000_000,
        {"min_age": 18, "occupations": ["farmer", "fisher"], "max_decile": 6},
    ),
    ProgramDefault(
        c.Program.PERUMAHAN_GURU, "DISPERKIM", "once", c.GrantStatus.ELIGIBLE, {"occupations": ["teacher"]}
    ),
    ProgramDefault(
        c.Program.PELATIHAN, "DISKOPUKM", "yearly", c.GrantStatus.ELIGIBLE, {"min_age": 17, "max_age": 60}
    ),
)


def ensure_reference_data(ctx: Ctx) -> None:
    """Idempotent: agencies, the eight programs, counters and the first issuer key."""
    s = ctx.session
    have = set(s.scalars(select(Agency.code)))
    for code, name in AGENCIES.items():
        if code not in have:
            s.add(Agency(code=code, name=name))
    s.flush()
    have_programs = set(s.scalars(select(ProgramRow.id)))
    for d in DEFAULTS:
        if int(d.program) not in have_programs:
            info = PROGRAMS[d.program]
            s.add(
                ProgramRow(
                    id=int(d.program),
                    code=d.program.name,
                    name=info.name_id,
                    agency_code=d.agency,
                    kind=int(c.PROGRAM_KIND[d.program]),
                    unit=int(DEFAULT_UNIT[d.program]),
                    period=d.period,
                    amount=int(d.amount),
                    rules=dict(d.rules),
                )
            )
    counters.ensure(s)
    if s.scalar(select(IssuerKey.kid).limit(1)) is None:
        signer = ctx.keys.issuer(1)
        s.add(
            IssuerKey(
                kid=signer.kid.hex(),
                generation=1,
                point=signer.point,
                issue_from=0,
                issue_until=None,
                verify_until=None,
                created_at=ctx.now(),
            )
        )
        counters.bump_trust(s, ctx.now())
    publications.ensure_status_key(ctx)
    s.flush()

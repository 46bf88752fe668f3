"""The province-scale paths on SQLite and PostgreSQL: the bulk citizen import (every row checked, refused
rows with line and reason, all or nothing) and the grant cycle (eligible active cards only, signed by the
issuer, next grant_seq, once per window)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from card_applet_spec import constants as c
from card_applet_spec.records import GrantBody
from province.clock import WIB
from server_stub.errors import Invalid
from server_stub.keys import KeyRing
from server_stub.models import AuditEntry, Citizen, Eligibility, Grant, Household, ProgramRow
from server_stub.services import bulk_import, cycles
from server_stub.services.bulk_import import Reason, Stage
from server_stub.services.context import ADMIN, REGISTRAR, Actor, Ctx
from server_stub.services.registry import rules_match
from server_stub.settings import Settings
from tests.server.conftest import ADMIN as ADMIN_HEADERS
from tests.server.conftest import KEY_SEED, T0, Clock, World, blank_card, ok
from tests.server.helpers import PIN

HEADER = "nik,kk_number,name,birth_date,sex,address,welfare_decile,occupation"
KK_A, KK_B = "6271010101200001", "6202030202190002"
GOOD = [
    f"6271011205800001,{KK_A},Budi Utomo,1980-05-12,L,Jl. Kahayan No. 1,3,farmer",
    f"6271014708900002,{KK_A},Sari Dewi,1990-08-07,P,Jl. Kahayan No. 1,3,housewife",
    f"6271010101150003,{KK_A},Anak Dewi,2015-01-01,L,Jl. Kahayan No. 1,3,student",
    f"6202034103700001,{KK_B},Maria Ingan,1970-03-01,P,Jl. Tjilik Riwut No. 9,8,teacher",
]


def csv_bytes(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *rows]) + "\n").encode())


@pytest.fixture
def ctx(sessions: sessionmaker[Session], settings: Settings, clock: Clock) -> Iterator[Ctx]:
    with sessions() as session:
        yield Ctx(
            session=session,
            settings=settings,
            keys=KeyRing(KEY_SEED),
            actor=Actor("station", "test", REGISTRAR),
            clock=clock,
        )


def count(ctx: Ctx, model: type[Citizen] | type[Household] | type[Eligibility] | type[Grant]) -> int:
    return int(ctx.session.scalar(select(func.count()).select_from(model)) or 0)


def test_import_checks_stores_and_grants_eligibility_by_the_program_rules(ctx: Ctx) -> None:
    stages: list[Stage] = []
    before = count(ctx, Citizen)
    report = bulk_import.import_citizens(ctx, csv_bytes(*GOOD), progress=lambda p: stages.append(p.stage))
    assert (report.committed, report.rows, report.imported, report.households) == (True, 4, 4, 2)
    assert report.rejected == () and stages[-1] == Stage.DONE and Stage.STORE in stages
    assert count(ctx, Citizen) == before + 4
    sari = ctx.session.scalars(select(Citizen).where(Citizen.nik == "6271014708900002")).one()
    assert (sari.name, sari.sex, sari.birth_date, sari.region, sari.district) == (
        "Sari Dewi",
        "P",
        dt.date(1990, 8, 7),
        6271,
        1,
    )
    assert sari.household is not None and sari.household.welfare_decile == 3
    # eligibility: exactly what the programme rules say, for every imported citizen
    today = dt.datetime.fromtimestamp(ctx.now(), WIB).date()
    programs = list(ctx.session.scalars(select(ProgramRow)))
    total = 0
    for line in GOOD:
        citizen = ctx.session.scalars(select(Citizen).where(Citizen.nik == line[:16])).one()
        expected = {p.id for p in programs if rules_match(p.rules, citizen, citizen.household, today)}
        assert {e.program_id for e in citizen.eligibility} == expected
        assert all(e.source == "rules" for e in citizen.eligibility)
        total += len(expected)
    assert report.eligibility == total
    assert int(c.Program.BLT) in {e.program_id for e in sari.eligibility}  # decile 3
    entry = ctx.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    assert (entry.action, entry.detail["imported"]) == ("citizen.import", 4)


def test_every_refused_row_is_reported_with_its_line_and_nothing_is_imported(ctx: Ctx) -> None:
    bulk_import.import_citizens(ctx, csv_bytes(GOOD[3]))  # Maria is registered already
    before = (count(ctx, Citizen), count(ctx, Household), count(ctx, Eligibility))
    rows = [
        GOOD[0],  # line 2: fine
        f"6271011205800009,{KK_A},Budi Utomo,1980-05-13,L,Jl. Kahayan No. 1,3,farmer",  # birth date
        f"6271011205800010,{KK_A},Budi Utomo,1980-05-12,P,Jl. Kahayan No. 1,3,farmer",  # sex
        f"3171011205800001,{KK_A},Jakarta,1980-05-12,L,Jl. Kahayan No. 1,3,farmer",  # not Kalteng
        f"6271011205800011,{KK_A},Ev\u202eil,1980-05-12,L,Jl. Kahayan No. 1,3,farmer",  # bidi override
        f"6271011205800012,{KK_A},Budi,1980-05-12,L,Jl. Kahayan No. 1,11,farmer",  # decile
        f"6271011205800013,{KK_A},Budi,1980-05-12,L,Jl. Kahayan No. 1,3,pilot",  # occupation
        "6271011205800014,6271000101200001,Budi,1980-05-12,L,Jl. Kahayan No. 1,3,farmer",  # KK district
        f"6271011205800015,{KK_A},Budi,1980-05-12,L",  # columns
        GOOD[0],  # line 11: the NIK of line 2
        f"6271011205800016,{KK_A},Budi,1980-05-12,L,Jl. Kahayan No. 2,3,farmer",  # household differs
        GOOD[3],  # line 13: registered already
        f"6202034103700002,{KK_B},Maria,1970-03-01,P,Jl. Tjilik Riwut No. 9,2,teacher",  # KK in the DB
        f"6271011205800017,{KK_A},Budi,12-05-1980,L,Jl. Kahayan No. 1,3,farmer",  # date format
    ]
    report = bulk_import.import_citizens(ctx, csv_bytes(*rows))
    assert not report.committed and report.imported == 0 and report.rows == len(rows)
    got = [(r.line, r.reason) for r in report.rejected]
    assert got == [
        (3, Reason.BIRTH_DATE),
        (4, Reason.SEX),
        (5, Reason.NIK),
        (6, Reason.NAME),
        (7, Reason.DECILE),
        (8, Reason.OCCUPATION),
        (9, Reason.KK),
        (10, Reason.COLUMNS),
        (11, Reason.DUPLICATE_IN_FILE),
        (12, Reason.HOUSEHOLD_CONFLICT),
        (13, Reason.ALREADY_REGISTERED),
        (14, Reason.HOUSEHOLD_CONFLICT),
        (15, Reason.BIRTH_DATE),
    ], report.rejected
    assert report.rejected_total == 13
    assert "line 2" in report.rejected[8].detail and "province" in report.rejected[2].detail
    assert (count(ctx, Citizen), count(ctx, Household), count(ctx, Eligibility)) == before
    entry = ctx.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
    assert (entry.action, entry.detail["rejected"]) == ("citizen.import_refused", 13)


def test_all_or_nothing_then_the_corrected_file_and_a_dry_run(ctx: Ctx) -> None:
    before = count(ctx, Citizen)
    bad = f"6271011205800009,{KK_A},Budi Utomo,1980-05-13,L,Jl. Kahayan No. 1,3,farmer"
    report = bulk_import.import_citizens(ctx, csv_bytes(*GOOD[:3], bad))
    assert not report.committed and [r.line for r in report.rejected] == [5]
    assert count(ctx, Citizen) == before
    dry = bulk_import.import_citizens(ctx, csv_bytes(*GOOD), dry_run=True)
    assert (dry.committed, dry.dry_run, dry.rejected_total, dry.imported) == (False, True, 0, 0)
    assert count(ctx, Citizen) == before
    # columns in another order, a byte-order mark and CRLF line ends
    order = "name,nik,kk_number,birth_date,sex,address,welfare_decile,occupation"
    moved = [",".join([f.split(",")[2], *f.split(",")[:2], *f.split(",")[3:]]) for f in GOOD]
    data = ("\ufeff" + "\r\n".join([order, *moved]) + "\r\n").encode()
    report = bulk_import.import_citizens(ctx, io.BytesIO(data))
    assert report.committed and report.imported == 4
    assert count(ctx, Citizen) == before + 4


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "import_header"),
        (b"nik,name\n6271011205800001,Budi\n", "import_header"),
        (f"{HEADER}\n".encode() + b"\xff\xfe,bad\n", "import_encoding"),
        (f'{HEADER}\n6271011205800001,"{KK_A}\n'.encode(), "import_csv"),
    ],
)
def test_a_file_that_is_not_an_extract_is_refused_whole(ctx: Ctx, data: bytes, code: str) -> None:
    before = count(ctx, Citizen)
    with pytest.raises(Invalid) as err:
        bulk_import.import_citizens(ctx, io.BytesIO(data))
    assert err.value.code == code
    assert count(ctx, Citizen) == before
    # the transaction is still usable: the same import goes through afterwards
    assert bulk_import.import_citizens(ctx, csv_bytes(*GOOD)).committed


def test_only_a_registrar_imports(ctx: Ctx) -> None:
    ctx.actor = Actor("clerk", "auditor", "auditor")
    with pytest.raises(Exception, match="may not"):
        bulk_import.import_citizens(ctx, csv_bytes(*GOOD))


def _issuer_key(ctx: Ctx) -> ec.EllipticCurvePublicKey:
    return ctx.keys.issuer(1).key.public_key()


def test_grant_cycle_signs_for_the_eligible_active_cards_once_per_window(world: World, ctx: Ctx) -> None:
    assert bulk_import.import_citizens(ctx, csv_bytes(*GOOD)).committed
    ctx.session.commit()
    station = world.station()
    serials = {}
    for i, line in enumerate(GOOD[:2] + GOOD[3:]):  # Budi and Sari (decile 3), Maria (decile 8)
        _card, connection = blank_card(20 + i)
        serials[line[:16]] = station.issue(connection, nik=line[:16], pin=PIN).serial
    budi, sari, maria = serials.values()
    ok(world.client.post(f"/v1/admin/cards/{sari}/suspend", headers=ADMIN_HEADERS, json={"reason": "cek"}))
    ctx.session.expire_all()
    ctx.actor = Actor("admin", "test", ADMIN)
    window: dict[str, Any] = {"valid_from": T0 + 30 * 86400, "valid_until": T0 + 60 * 86400}
    progress: list[cycles.CycleProgress] = []
    report = cycles.run_cycle(
        ctx, int(c.Program.BLT), **window, amount=None, threads=2, progress=progress.append
    )
    # Budi only: Sari's card is suspended, Maria is not eligible (decile 8)
    assert (report.grants, report.skipped, report.amount) == (1, 0, 300_000)
    assert progress[-1] == cycles.CycleProgress(1, 1)
    grants = list(
        ctx.session.scalars(
            select(Grant).where(Grant.program_id == 1, Grant.valid_from == window["valid_from"])
        )
    )
    assert [g.card_serial for g in grants] == [budi]
    [grant] = grants
    body = GrantBody.decode(grant.body)
    assert (body.card_serial.hex(), body.program, body.grant_seq, body.amount) == (budi, 1, 2, 300_000)
    assert (body.valid_from, body.valid_until, grant.grant_seq, grant.delivered) == (
        *window.values(),
        2,
        False,
    )
    assert grant.month == dt.datetime.fromtimestamp(window["valid_from"], WIB).strftime("%Y-%m")
    _issuer_key(ctx).verify(grant.signature, body.signed_message(), ec.ECDSA(hashes.SHA256()))
    # the same window again: nothing new; a new window (another amount): the next grant_seq
    again = cycles.run_cycle(ctx, int(c.Program.BLT), **window, amount=None)
    assert (again.grants, again.skipped) == (0, 1)
    later: dict[str, Any] = {"valid_from": T0 + 61 * 86400, "valid_until": T0 + 90 * 86400}
    third = cycles.run_cycle(ctx, int(c.Program.BLT), **later, amount=150_000, threads=1)
    assert third.grants == 1
    newest = ctx.session.scalars(select(Grant).where(Grant.valid_from == later["valid_from"])).one()
    assert (newest.grant_seq, GrantBody.decode(newest.body).amount) == (3, 150_000)
    assert maria not in {
        g.card_serial for g in ctx.session.scalars(select(Grant).where(Grant.program_id == 1))
    }


def test_grant_cycle_refuses_bad_windows_and_other_agencies(ctx: Ctx) -> None:
    ctx.actor = Actor("admin", "test", ADMIN)
    with pytest.raises(Invalid):
        cycles.run_cycle(ctx, 1, valid_from=10, valid_until=5)
    with pytest.raises(Invalid):
        cycles.run_cycle(ctx, 1, valid_from=1, valid_until=5, amount=1 << 32)
    ctx.actor = Actor("clerk", "dinkes", "agency_admin", agency="DINKES")
    with pytest.raises(Exception, match="belongs to"):
        cycles.run_cycle(ctx, 1, valid_from=1, valid_until=5)


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_large_import_on_postgresql_checks_the_foreign_keys_once(ctx: Ctx, tmp_path: Path) -> None:
    """From FK_DROP_ROWS rows on, the foreign keys are dropped and added again around the inserts (in
    the transaction): they are all there afterwards, and the rows are right."""
    from sqlalchemy import text

    from benchmarks.province import write_extract

    n = bulk_import.FK_DROP_ROWS + 500
    path = tmp_path / "extract.csv"
    households = write_extract(path, n, 7, dt.datetime.fromtimestamp(ctx.now(), WIB).date())
    fks = (
        "SELECT conname FROM pg_constraint WHERE contype = 'f' "
        "AND conrelid IN ('citizens'::regclass, 'eligibility'::regclass) ORDER BY 1"
    )
    before_fks = list(ctx.session.scalars(text(fks)))
    before = count(ctx, Citizen)
    report = bulk_import.import_file(ctx, path)
    assert (report.committed, report.imported, report.households) == (True, n, households)
    assert count(ctx, Citizen) == before + n
    assert list(ctx.session.scalars(text(fks))) == before_fks and len(before_fks) == 3
    orphans = (
        "SELECT COUNT(*) FROM eligibility e LEFT JOIN citizens c ON c.id = e.citizen_id WHERE c.id IS NULL"
    )
    assert ctx.session.scalar(text(orphans)) == 0
    # the same file again: every row is already registered, nothing changes
    again = bulk_import.import_file(ctx, path)
    assert (again.committed, again.rejected_total) == (False, n)
    assert {r.reason for r in again.rejected} == {Reason.ALREADY_REGISTERED}
    assert len(again.rejected) == min(n, bulk_import.MAX_REPORTED)

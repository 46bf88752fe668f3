"""Bulk import of citizens from a CSV extract of the social-economic register (DTKS), all or nothing.

The file: UTF-8 (a byte-order mark is allowed), comma-separated, one header line naming exactly the
columns of :data:`COLUMNS` (any order), then one citizen per line:

==================  ============================================================================
``nik``             16 digits, a NIK of Kalimantan Tengah (:func:`province.nik.parse_nik`)
``kk_number``       16 digits, the family card (Kartu Keluarga), issued in one of the 14 regencies
``name``            1-100 characters (Unicode NFC, whitespace collapsed; no control, bidi or
                    zero-width characters, no ``<`` ``>``)
``birth_date``      ``YYYY-MM-DD``; must be the NIK's (its day, month and two-digit year)
``sex``             ``L`` or ``P``; must be the NIK's (women: birth day + 40)
``address``         1-200 characters (same rules as the name): the household's address
``welfare_decile``  1 (poorest) to 10: the household's DTKS decile
``occupation``      one of :data:`~server_stub.services.reference.OCCUPATIONS` (program rules use it)
==================  ============================================================================

All members of one family card must carry the same address and decile. The citizen's regency is the
family card's (as :func:`~server_stub.services.registry.register_citizen` does); a family card already
registered must carry the address and decile registered for it.

**All or nothing.** Every row is checked, and if any is refused nothing is written: the report lists the
refused rows (line number, reason, detail; the first :data:`MAX_REPORTED` of them) so the file can be
corrected and loaded again. A staged mode (load the good rows, return the bad) was not chosen: an extract
is one consistent snapshot of the register, households split over a good and a bad row would be
half-registered, and a re-run costs two minutes for the province. ``dry_run`` checks without writing.

**How.** Each row is parsed and checked in Python (NIK, dates, names; rule-based eligibility per program,
cached by the values the rules read) and streamed into a temporary staging table (PostgreSQL: binary
``COPY``; SQLite: ``executemany``); the checks across rows (duplicates in the file and against the
database, households that disagree) are set-based SQL on the staging table; then households, citizens and
eligibility are each one ``INSERT ... SELECT``. One audit entry per import, not one per citizen.
"""

from __future__ import annotations

import datetime as dt
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, DropConstraint

from card_applet_spec.names import NameRefused, normalise_name
from province.clock import WIB
from province.nik import NikError, parse_nik
from server_stub.errors import Conflict, Invalid
from server_stub.models import Citizen, Eligibility, Household, ProgramRow
from server_stub.repositories import registry as repo
from server_stub.services import audit
from server_stub.services.context import REGISTRAR, Ctx
from server_stub.services.ingest import db
from server_stub.services.reference import OCCUPATIONS
from server_stub.services.registry import age_on, check_kk, rules_match

COLUMNS = ("nik", "kk_number", "name", "birth_date", "sex", "address", "welfare_decile", "occupation")
ADDRESS_MAX = 200
#: At most this many refused rows are listed in a report (all are counted).
MAX_REPORTED = 10_000
#: From this many rows on, PostgreSQL checks the foreign keys once after the inserts, not row by row.
FK_DROP_ROWS = 20_000
#: The progress callback is called every this many rows.
PROGRESS_EVERY = 20_000
_STAGING = "khbs_citizen_import"
_OCCUPATIONS = frozenset(OCCUPATIONS)


class Reason(StrEnum):
    """Why a row was refused."""

    COLUMNS = "columns"  # not as many fields as the header
    NIK = "nik"  # not a valid NIK of the province (detail: province.nik's code)
    BIRTH_DATE = "birth_date"  # not YYYY-MM-DD, or not the NIK's birth date
    SEX = "sex"  # not L/P, or not the NIK's
    KK = "kk_number"
    NAME = "name"
    ADDRESS = "address"
    DECILE = "welfare_decile"
    OCCUPATION = "occupation"
    DUPLICATE_IN_FILE = "duplicate_in_file"  # the NIK is on an earlier line
    ALREADY_REGISTERED = "already_registered"  # the NIK is in the database
    HOUSEHOLD_CONFLICT = "household_conflict"  # the family card's address/decile differ


class Stage(StrEnum):
    VALIDATE = "validate"  # rows parsed and checked, streamed to the staging table
    CHECK = "check"  # duplicates and households across rows and against the database
    STORE = "store"  # households, citizens, eligibility inserted
    DONE = "done"


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: Reason
    detail: str


@dataclass(frozen=True)
class Progress:
    stage: Stage
    rows: int
    bytes_read: int
    bytes_total: int


@dataclass(frozen=True)
class ImportReport:
    rows: int
    imported: int  # citizens written (0 unless committed)
    households: int  # family cards registered by this import
    eligibility: int  # (citizen, program) pairs granted by the program rules
    rejected: tuple[Rejection, ...]  # the first MAX_REPORTED, by line
    rejected_total: int
    committed: bool
    dry_run: bool
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


class StagedRow(NamedTuple):
    """A checked row as staged (a tuple: it goes to COPY as is; one per row, so no dataclass)."""

    line: int
    nik: str
    kk: str
    name: str
    birth_date: dt.date
    sex: str
    address: str
    decile: int
    occupation: str
    region: int
    district: int
    eligible: int  # bit p set: eligible for program p by its rules


_STAGING_COLUMNS = StagedRow._fields
_PG_TYPES = ("int4", "text", "text", "text", "date", "text", "text", "int4", "text", "int4", "int4", "int4")


def clean_text(raw: str, limit: int) -> str | None:
    """NFC, whitespace collapsed; None if empty, longer than ``limit`` or holding a character that is
    not printable (controls, bidi overrides, zero-width) or ``<`` / ``>``."""
    value = " ".join(unicodedata.normalize("NFC", raw).split())
    if not value or len(value) > limit or not value.isprintable() or "<" in value or ">" in value:
        return None
    return value


class _Rules:
    """Rule-based eligibility of a row: :func:`registry.rules_match` of every program, cached by what
    the rules read (age, sex, occupation, regency, decile)."""

    def __init__(self, programs: list[ProgramRow], today: dt.date) -> None:
        self.programs = [(p.id, p.rules) for p in programs]
        self.today = today
        self._cache: dict[tuple[int, str, str, int, int], int] = {}

    def mask(self, birth: dt.date, sex: str, occupation: str, region: int, decile: int) -> int:
        key = (age_on(birth, self.today), sex, occupation, region, decile)
        found = self._cache.get(key)
        if found is None:
            citizen = Citizen(birth_date=birth, sex=sex, occupation=occupation, region=region)
            household = Household(welfare_decile=decile)
            found = 0
            for pid, rules in self.programs:
                if rules_match(rules, citizen, household, self.today):
                    found |= 1 << pid
            self._cache[key] = found
        return found


def check_row(fields: list[str], line: int, today: dt.date, rules: _Rules) -> StagedRow | Rejection:
    """One row (fields in :data:`COLUMNS` order) checked on its own."""
    if len(fields) != len(COLUMNS):
        return Rejection(line, Reason.COLUMNS, f"{len(fields)} fields, expected {len(COLUMNS)}")
    raw_nik, raw_kk, raw_name, raw_birth, raw_sex, raw_address, raw_decile, raw_occupation = fields
    raw_birth = raw_birth.strip()
    try:
        if len(raw_birth) != 10:
            raise ValueError
        birth = dt.date.fromisoformat(raw_birth)
    except ValueError:
        return Rejection(line, Reason.BIRTH_DATE, f"{raw_birth[:20]!r} is not a date YYYY-MM-DD")
    try:
        nik = parse_nik(raw_nik, today=today, birth_date=birth)
    except NikError as err:
        if err.code == "birth_date_mismatch":
            return Rejection(line, Reason.BIRTH_DATE, f"{raw_birth} is not the birth date in the NIK")
        return Rejection(line, Reason.NIK, f"{err.code}: {err}")
    sex = raw_sex.strip().upper()
    if sex not in ("L", "P"):
        return Rejection(line, Reason.SEX, "sex is L or P")
    if (sex == "P") != nik.female:
        return Rejection(line, Reason.SEX, f"the NIK is a {'woman' if nik.female else 'man'}'s (day + 40)")
    try:
        kk = check_kk(raw_kk)
    except Invalid as err:
        return Rejection(line, Reason.KK, err.message)
    try:
        name = normalise_name(raw_name)  # the one rule for names (registry, issuance, this import)
    except NameRefused as err:
        return Rejection(line, Reason.NAME, str(err))
    address = clean_text(raw_address, ADDRESS_MAX)
    if address is None:
        return Rejection(line, Reason.ADDRESS, f"1-{ADDRESS_MAX} printable characters, no < >")
    raw_decile = raw_decile.strip()
    if not (raw_decile.isascii() and raw_decile.isdigit() and 1 <= int(raw_decile) <= 10):
        return Rejection(line, Reason.DECILE, "welfare decile is 1 (poorest) to 10")
    occupation = raw_occupation.strip()
    if occupation not in _OCCUPATIONS:
        return Rejection(line, Reason.OCCUPATION, f"occupation is one of {', '.join(OCCUPATIONS)}")
    decile, region = int(raw_decile), int(kk[:4])
    eligible = rules.mask(birth, sex, occupation, region, decile)
    return StagedRow(
        line, nik.value, kk, name, birth, sex, address, decile, occupation, region, nik.district, eligible
    )


def _lines(stream: BinaryIO, counter: list[int]) -> Iterator[str]:
    """Decoded lines of ``stream``; ``counter[0]`` is the number of bytes read so far."""
    first = True
    for raw in stream:
        counter[0] += len(raw)
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("the file is not UTF-8", code="import_encoding") from None


def _header(row: list[str]) -> list[int]:
    names = [name.strip().lower() for name in row]
    if sorted(names) != sorted(COLUMNS):
        raise Invalid(
            f"the header must name the columns {','.join(COLUMNS)} (got {','.join(names)[:200]})",
            code="import_header",
        )
    return [names.index(col) for col in COLUMNS]


# --- staging -------------------------------------------------------------------------------------


class _Staging:
    """The temporary table the checked rows go to: PostgreSQL binary COPY, or SQLite executemany."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.pg = db.is_pg(ctx)
        types = _PG_TYPES if self.pg else ("",) * len(_PG_TYPES)
        cols = ", ".join(f"{name} {typ}" for name, typ in zip(_STAGING_COLUMNS, types, strict=True))
        self.run(f"DROP TABLE IF EXISTS {_STAGING}")
        self.run(f"CREATE TEMPORARY TABLE {_STAGING} ({cols})")
        self._pending: list[tuple[Any, ...]] = []

    def run(self, sql: str) -> None:
        self.ctx.session.execute(text(sql))

    def query(self, sql: str) -> list[Any]:
        return list(self.ctx.session.execute(text(sql)).all())

    def feed(self, rows: Iterable[StagedRow]) -> None:
        if self.pg:
            with db.pg_connection(self.ctx).cursor() as cursor:
                with cursor.copy(f"COPY {_STAGING} FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(list(_PG_TYPES))
                    write = copy.write_row
                    for row in rows:
                        write(row)
                cursor.execute(f"ANALYZE {_STAGING}")
            return
        placeholders = ", ".join("?" * len(_STAGING_COLUMNS))
        cursor = self.ctx.session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append((*row[:4], row.birth_date.isoformat(), *row[5:]))
            if len(batch) >= 5000:
                cursor.executemany(f"INSERT INTO {_STAGING} VALUES ({placeholders})", batch)
                batch.clear()
        if batch:
            cursor.executemany(f"INSERT INTO {_STAGING} VALUES ({placeholders})", batch)
        cursor.close()

    def drop(self) -> None:
        self.run(f"DROP TABLE IF EXISTS {_STAGING}")


_DUPLICATES = f"""
WITH d AS (SELECT nik, MIN(line) AS first FROM {_STAGING} GROUP BY nik HAVING COUNT(*) > 1)
SELECT s.line, d.first FROM {_STAGING} s JOIN d ON d.nik = s.nik WHERE s.line <> d.first"""
_REGISTERED = f"SELECT s.line FROM {_STAGING} s JOIN citizens c ON c.nik = s.nik"
_FILE_HOUSEHOLDS = f"""
WITH f AS (SELECT kk, MIN(line) AS first FROM {_STAGING} GROUP BY kk
           HAVING COUNT(DISTINCT address) > 1 OR COUNT(DISTINCT decile) > 1),
     v AS (SELECT f.kk, f.first, s.address, s.decile FROM f JOIN {_STAGING} s ON s.line = f.first)
SELECT s.line, v.first FROM {_STAGING} s JOIN v ON v.kk = s.kk
WHERE s.address <> v.address OR s.decile <> v.decile"""
_DB_HOUSEHOLDS = f"""
SELECT s.line, h.welfare_decile FROM {_STAGING} s JOIN households h ON h.kk_number = s.kk
WHERE s.address <> h.address OR s.decile <> h.welfare_decile"""
_INSERT_HOUSEHOLDS = f"""
INSERT INTO households (kk_number, region, address, welfare_decile, created_at)
SELECT s.kk, s.region, s.address, s.decile, :now FROM {_STAGING} s
WHERE s.line IN (SELECT MIN(line) FROM {_STAGING} GROUP BY kk)
  AND NOT EXISTS (SELECT 1 FROM households h WHERE h.kk_number = s.kk)"""
_INSERT_CITIZENS = f"""
INSERT INTO citizens (nik, name, birth_date, sex, region, district, kk_number, occupation, created_at)
SELECT nik, name, birth_date, sex, region, district, kk, occupation, :now FROM {_STAGING} ORDER BY line"""
_INSERT_ELIGIBILITY = f"""
INSERT INTO eligibility (citizen_id, program_id, source, reason, granted_at)
SELECT c.id, p.id, 'rules', 'program rules', :now
FROM {_STAGING} s JOIN citizens c ON c.nik = s.nik JOIN programs p ON (s.eligible & (1 << p.id)) <> 0"""


def _cross_row_checks(staging: _Staging) -> list[Rejection]:
    found = [
        Rejection(line, Reason.DUPLICATE_IN_FILE, f"same NIK as line {first}")
        for line, first in staging.query(_DUPLICATES)
    ]
    found += [
        Rejection(line, Reason.ALREADY_REGISTERED, "this NIK is already registered")
        for (line,) in staging.query(_REGISTERED)
    ]
    found += [
        Rejection(line, Reason.HOUSEHOLD_CONFLICT, f"address or decile differ from line {first} (same KK)")
        for line, first in staging.query(_FILE_HOUSEHOLDS)
    ]
    found += [
        Rejection(line, Reason.HOUSEHOLD_CONFLICT, f"KK registered with another address or decile ({d})")
        for line, d in staging.query(_DB_HOUSEHOLDS)
    ]
    first: dict[int, Rejection] = {}
    for rejection in found:  # one reason per row: the first check that refused it
        first.setdefault(rejection.line, rejection)
    return list(first.values())


# --- the import ----------------------------------------------------------------------------------


def import_citizens(
    ctx: Ctx,
    stream: BinaryIO,
    *,
    size: int = 0,
    source: str = "csv",
    dry_run: bool = False,
    progress: Callable[[Progress], None] | None = None,
) -> ImportReport:
    """Check and (unless any row is refused, or ``dry_run``) import every citizen of the CSV ``stream``
    (``size``: its length in bytes, for the progress). Writes only in the caller's transaction, in a
    savepoint; the caller commits (a refused or dry-run import has written only its audit entry). A file
    that cannot be read as CSV raises :class:`Invalid` (nothing written)."""
    import csv

    ctx.actor.require(REGISTRAR)
    started = time.perf_counter()
    today = dt.datetime.fromtimestamp(ctx.now(), WIB).date()
    rules = _Rules(repo.programs(ctx.session), today)
    counter = [0]
    reader = csv.reader(_lines(stream, counter), strict=True)
    try:
        order = _header(next(reader))
    except StopIteration:
        raise Invalid("the file is empty", code="import_header") from None
    except csv.Error as err:
        raise Invalid(f"line 1: {err}", code="import_csv") from None
    reorder = order != list(range(len(COLUMNS)))
    rejected: list[Rejection] = []
    rows = refused = 0

    def report(stage: Stage) -> None:
        if progress is not None:
            progress(Progress(stage, rows, counter[0], max(size, counter[0])))

    def checked() -> Iterator[StagedRow]:
        nonlocal rows, refused
        try:
            for fields in reader:
                if not fields:
                    continue
                rows += 1
                if reorder and len(fields) == len(COLUMNS):
                    fields = [fields[i] for i in order]
                out = check_row(fields, reader.line_num, today, rules)
                if isinstance(out, Rejection):
                    refused += 1
                    if len(rejected) < MAX_REPORTED:
                        rejected.append(out)
                else:
                    yield out
                if rows % PROGRESS_EVERY == 0:
                    report(Stage.VALIDATE)
        except csv.Error as err:
            raise Invalid(f"line {reader.line_num}: {err}", code="import_csv") from None

    households = eligibility = imported = 0
    session = ctx.session
    try:
        with session.begin_nested():  # an unreadable file or a conflict leaves the transaction as it was
            staging = _Staging(ctx)
            staging.feed(checked())
            report(Stage.CHECK)
            across = _cross_row_checks(staging)
            refused += len(across)
            rejected = sorted(rejected + across, key=lambda r: r.line)[:MAX_REPORTED]
            if not refused and not dry_run:
                report(Stage.STORE)
                households, imported, eligibility = _store(ctx, rows)
            staging.drop()
    except IntegrityError:  # a citizen or family card of the file registered meanwhile (unique index)
        raise Conflict(
            "a citizen or family card of the file was registered meanwhile: nothing was imported, "
            "run the import again",
            code="import_conflict",
        ) from None
    committed = not refused and not dry_run
    audit.record(
        ctx,
        "citizen.import" if committed else "citizen.import_refused",
        source,
        rows=rows,
        imported=imported,
        households=households,
        rejected=refused,
        dry_run=dry_run,
    )
    report(Stage.DONE)
    return ImportReport(
        rows=rows,
        imported=imported,
        households=households,
        eligibility=eligibility,
        rejected=tuple(rejected),
        rejected_total=refused,
        committed=committed,
        dry_run=dry_run,
        seconds=time.perf_counter() - started,
    )


def _store(ctx: Ctx, rows: int) -> tuple[int, int, int]:
    """Households, citizens, eligibility: three INSERT ... SELECT. PostgreSQL, large files: the foreign
    keys of the two filled tables are dropped and added again around them in this transaction (one
    set-based validation instead of a trigger and a row lock per row: PostgreSQL manual, "Populating a
    Database"); the tables are locked meanwhile, and a failure rolls the drop back with the rest."""
    session, now = ctx.session, ctx.now()
    constraints = []
    if db.is_pg(ctx):
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        if rows >= FK_DROP_ROWS:
            constraints = [
                fk for model in (Citizen, Eligibility) for fk in db.table(model).foreign_key_constraints
            ]
    for fk in constraints:
        session.execute(DropConstraint(fk))
    households = _insert(session, _INSERT_HOUSEHOLDS, now)
    citizens = _insert(session, _INSERT_CITIZENS, now)
    eligibility = _insert(session, _INSERT_ELIGIBILITY, now)
    for fk in constraints:
        session.execute(AddConstraint(fk))
    return households, citizens, eligibility


def _insert(session: Session, sql: str, now: int) -> int:
    return int(session.execute(text(sql), {"now": now}).rowcount)  # type: ignore[attr-defined]


def import_file(
    ctx: Ctx, path: Path, *, dry_run: bool = False, progress: Callable[[Progress], None] | None = None
) -> ImportReport:
    with path.open("rb") as stream:
        return import_citizens(
            ctx, stream, size=path.stat().st_size, source=path.name, dry_run=dry_run, progress=progress
        )

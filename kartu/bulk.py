"""The bulk commands of ``kartu``: ``import-citizens`` (a register extract, all or nothing) and
``issue --batch`` on several readers at once. Each shows a progress bar on stderr and ends with figures."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from typing import Any

from kartu.issuance import BatchProgress, IssuanceStation, IssueRequest, pcsc_slot

EXIT_OK, EXIT_INVALID = 0, 1
Printer = Callable[[argparse.Namespace, str, dict[str, Any]], None]


def _bar(done: int, total: int, label: str, *, end: bool = False) -> None:
    width = 30
    filled = width * done // max(total, 1)
    print(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}", end="", file=sys.stderr)
    if end:
        print(file=sys.stderr)


def _settings(args: argparse.Namespace) -> Any:
    from server_stub.settings import Settings

    settings = Settings.from_env()
    if args.database_url:
        settings = settings.with_(database_url=args.database_url)
    if args.server_data_dir:
        settings = settings.with_(data_dir=args.server_data_dir)
    return settings


def import_citizens(args: argparse.Namespace, out: Printer) -> int:
    """``kartu import-citizens FILE``: 0 imported (or a clean dry run), 1 refused rows (nothing
    imported; each listed with its line and reason)."""
    from server_stub import db
    from server_stub.errors import DomainError
    from server_stub.keys import KeyRing
    from server_stub.services import bulk_import
    from server_stub.services.context import REGISTRAR, Actor, Ctx
    from server_stub.services.reference import ensure_reference_data

    settings = _settings(args)
    engine = db.make_engine(settings)
    if settings.run_migrations:
        db.migrate(engine)
    actor = Actor("station", "import-citizens", REGISTRAR)
    mb = 1 << 20

    def progress(p: bulk_import.Progress) -> None:
        _bar(p.bytes_read // mb, p.bytes_total // mb, f"{p.stage.value:8} MB", end=p.stage == "done")

    try:
        with db.session_factory(engine)() as session:
            ctx = Ctx(session=session, settings=settings, keys=KeyRing(settings.key_seed), actor=actor)
            ensure_reference_data(ctx)
            try:
                report = bulk_import.import_file(ctx, args.file, dry_run=args.dry_run, progress=progress)
            except DomainError as err:
                session.rollback()
                print(file=sys.stderr)
                out(
                    args, f"GAGAL / FAILED: {err.code}: {err.message}", {"result": "failed", "code": err.code}
                )
                return EXIT_INVALID
            session.commit()
    finally:
        engine.dispose()
    lines = [f"line {r.line}: {r.reason.value}: {r.detail}" for r in report.rejected]
    if report.rejected_total > len(report.rejected):
        lines.append(f"... and {report.rejected_total - len(report.rejected):,} more")
    if report.committed:
        summary = (
            f"{report.imported:,} citizens imported ({report.households:,} new households, "
            f"{report.eligibility:,} programme eligibilities) in {report.seconds:.1f} s, "
            f"{report.rows_per_s:,.0f} rows/s"
        )
    else:
        what = "dry run: nothing written" if report.dry_run else "NOTHING imported"
        summary = f"{report.rows:,} rows, {report.rejected_total:,} refused: {what}"
    out(
        args,
        "\n".join([*lines, summary]),
        {
            "committed": report.committed,
            "dry_run": report.dry_run,
            "rows": report.rows,
            "imported": report.imported,
            "households": report.households,
            "eligibility": report.eligibility,
            "rejected_total": report.rejected_total,
            "rejected": [
                {"line": r.line, "reason": r.reason.value, "detail": r.detail} for r in report.rejected
            ],
            "rows_per_s": round(report.rows_per_s),
        },
    )
    return EXIT_OK if not report.rejected_total else EXIT_INVALID


def issue_on_readers(args: argparse.Namespace, station: IssuanceStation, out: Printer) -> int:
    """``kartu issue --reader A [--reader B ...] --batch F.csv``: one thread per reader; the figures
    (cards, time, cards per hour, per reader) at the end."""
    with args.batch.open(newline="") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    requests = [IssueRequest(nik.strip(), pin.strip()) for nik, pin, *_ in rows]
    readers = [pcsc_slot(name) for name in dict.fromkeys(args.reader)]

    def progress(p: BatchProgress) -> None:
        state = f"ok {p.serial}" if p.ok else f"GAGAL / FAILED: {p.error}"
        print(
            f"\r[{p.done}/{p.total}] {p.reader}: {p.nik_masked} {state}",
            file=sys.stderr,
            end="\n" if p.done == p.total or not p.ok else "",
            flush=True,
        )

    outcomes, figures = station.issue_parallel(requests, readers, progress)
    failed = [o for o in outcomes if o.error]
    per_reader = ", ".join(f"{name}: {n}" for name, n in figures.per_reader.items())
    out(
        args,
        f"{figures.issued} issued, {figures.failed} failed on {len(readers)} reader(s) "
        f"in {figures.seconds:.1f} s "
        f"({figures.seconds_per_card:.2f} s/card, {figures.cards_per_hour:,.0f} cards/hour; {per_reader})",
        {
            "issued": [o.result.serial for o in outcomes if o.result],
            "failed": [{"nik_masked": o.nik_masked, "error": str(o.error)} for o in failed],
            "readers": figures.per_reader,
            "seconds": round(figures.seconds, 3),
            "cards_per_hour": round(figures.cards_per_hour),
        },
    )
    return EXIT_OK if not failed else EXIT_INVALID

"""A counter terminal for tests: ledger on SQLite, the world's verifier, a recording receipt sink."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

from terminal.ledger import Entry, Ledger
from terminal.redeem import Counter, PrintFailed, RedemptionService
from tests.support.world import NOW, StaticStatuses, verifier

COUNTER = Counter(
    terminal_id="T6271001", site="Kantor Kelurahan Langkai", clerk_id="clerk-7", clerk_name="Rina"
)


def sqlite_engine(path: Path | None) -> Engine:
    engine = create_engine(f"sqlite:///{path}" if path else "sqlite://")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    return engine


@dataclass
class RecordingPrinter:
    """Receipt sink that records what it printed, or fails with a chosen reason."""

    printed: list[tuple[str, bool]] = field(default_factory=list)
    fail_with: str | None = None

    def print_entry(self, entry: Entry, *, copy: bool = False) -> None:
        if self.fail_with:
            raise PrintFailed(self.fail_with, f"printer: {self.fail_with}")
        self.printed.append((entry.id, copy))


def service(
    db: Path | None = None,
    *,
    printer: RecordingPrinter | None = None,
    statuses: StaticStatuses | None = None,
    fault: Callable[[str], None] | None = None,
    now: float = NOW,
) -> RedemptionService:
    kw = {"fault": fault} if fault else {}
    return RedemptionService(
        Ledger(sqlite_engine(db), clock=lambda: now),
        verifier(statuses),
        COUNTER,
        printer if printer is not None else RecordingPrinter(),
        clock=lambda: now,
        **kw,  # type: ignore[arg-type]
    )

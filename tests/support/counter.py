"""A counter terminal for tests: ledger on SQLite, the world's verifier, a recording receipt sink."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from terminal.db import make_engine
from terminal.ledger import Entry, Ledger
from terminal.redeem import Counter, PrintFailed, RedemptionService
from tests.support.world import NOW, StaticStatuses, receipt_signer, verifier

COUNTER = Counter(
    terminal_id="T6271001", site="Kantor Kelurahan Langkai", clerk_id="clerk-7", clerk_name="Rina"
)


def sqlite_engine(path: Path | None) -> Engine:
    return make_engine(path if path is not None else ":memory:")


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
        receipt_signer=receipt_signer(COUNTER.terminal_id),
        **kw,  # type: ignore[arg-type]
    )

"""Child process for crash tests: redeem on a card file and die (os._exit) at a chosen step.

Usage: python -m tests.support.crash_child CARD_FILE LEDGER_DB STEP
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from card_applet_spec import constants as c
from card_applet_spec.reference_card import FileStore, ReferenceCard
from tests.support.counter import service
from tests.support.world import PIN, connect

CRASH_EXIT = 86


def main() -> None:
    card_file, db, step = sys.argv[1], Path(sys.argv[2]), sys.argv[3]

    def die_at(point: str) -> None:
        if point == step:
            os._exit(CRASH_EXIT)

    card = ReferenceCard(FileStore(card_file))
    svc = service(db, fault=die_at)
    svc.redeem(connect(card), c.Program.BLT, 100_000, PIN)
    os._exit(0)


if __name__ == "__main__":
    main()

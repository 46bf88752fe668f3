"""A vector case and the group of cases one vector file holds (SPEC §11.3, §11.6).

A case is a function of a :class:`~card_applet_spec.vectorkit.tap.Tap`: it says, with terminal
operations and raw APDUs, what a terminal sends and what the card must answer; the Tap records it. The
cases of one file are registered, in the order they are written, with ``@GROUP.case(name, setup,
description)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from card_applet_spec.vectorkit.tap import Tap

#: The note of the SELECT that opens most cases.
SELECT_NOTE = "SELECT the KHBS applet (a new tap)"

Record = Callable[[Tap], None]


@dataclass(frozen=True)
class CaseDef:
    name: str
    setup: str
    description: str
    record: Record


class CaseGroup:
    """The cases of one vector file ``<file>.json``, with the file's command and description."""

    def __init__(self, file: str, command: str, description: str) -> None:
        self.file = file
        self.command = command
        self.description = description
        self.cases: list[CaseDef] = []

    def case(self, name: str, setup: str, description: str) -> Callable[[Record], None]:
        def register(fn: Record) -> None:
            if any(existing.name == name for existing in self.cases):
                raise ValueError(f"duplicate case {self.file}:{name}")
            self.cases.append(CaseDef(name, setup, description, fn))

        return register

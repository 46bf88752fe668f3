"""A live case: a function of the chip under test and the run's context, with what it expects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.chip import Chip
from conformance.report import Timing
from conformance.tearing import PowerSwitch


@dataclass
class Context:
    switch: PowerSwitch | None = None
    timings: list[Timing] = field(default_factory=list)
    #: every card nonce and every card signature's r seen in the run (freshness across cases)
    nonces: list[bytes] = field(default_factory=list)


#: A case returns what it observed, in a few words, when everything held.
Run = Callable[[Chip, Context], str]


@dataclass(frozen=True)
class Case:
    name: str
    spec: str
    title: str
    expected: str
    run: Run
    destructive: bool = False
    needs_switch: bool = False
    timing: bool = False


def case(
    registry: list[Case], name: str, spec: str, title: str, expected: str, **flags: bool
) -> Callable[[Run], Run]:
    def register(fn: Run) -> Run:
        registry.append(Case(name, spec, title, expected, fn, **flags))
        return fn

    return register

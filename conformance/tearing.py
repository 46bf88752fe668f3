"""Power cuts in the middle of a command ("tearing", SPEC §5.1.9, §10.4).

A :class:`PowerSwitch` interrupts the *next* command at a :class:`TearPoint` and puts the card back.
A lab drives a reader that can cut the field or the contact supply (its own switch, calibrated on the
chip's first EEPROM write); the tests drive the virtual card behind vpcd; without either, the tester
pulls the card when asked (:class:`PromptedSwitch`): then the cut lands wherever the hand lands, and a
case whose outcome does not prove the rule is *inconclusive*, never passed.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable
from typing import Protocol, TextIO


class TearPoint(enum.Enum):
    """Where in the command the power goes."""

    BEFORE_FIRST_WRITE = "before the command's first persistent write"
    AFTER_FIRST_WRITE = "just after the command's first persistent write lands"
    ANSWER_LOST = "after the command completed, before its answer reaches the reader"


class PowerSwitch(Protocol):
    """Cuts power during the next command, then restores it (the card is back in the field)."""

    #: True when the cut lands exactly at the point asked (a switch); False for a tester's hand.
    exact: bool

    def arm(self, point: TearPoint, what: str) -> None:
        """The next command (``what``, for the tester) loses power at ``point``."""

    def restore(self) -> None:
        """Power back on / card back in the reader; returns when the card is there again."""


class PromptedSwitch:
    """The tester pulls the card: the kit says when, and waits for Enter before and after."""

    exact = False

    def __init__(self, ask: Callable[[str], str] = input, out: TextIO = sys.stderr) -> None:
        self._ask = ask
        self._out = out

    def arm(self, point: TearPoint, what: str) -> None:
        self._out.write(
            f"\nTEARING: the kit will send {what}. Pull the card out of the field while the reader works "
            f"(aim: {point.value}).\n"
        )
        self._ask("Press Enter, then pull the card at once: ")

    def restore(self) -> None:
        self._ask("Put the card back in the reader and press Enter: ")

"""The kit's cases, in the order they run: personalisation (blank cards only), reading, PIN, grants and
money, life cycle, tearing, timing — and the destructive ones last.

Names follow the vectors (``file:case``, SPEC §11.3) where a case checks what that vector case checks on
the reference card; ``flow:``, ``tearing:`` and ``timing:`` are chip-only. Each case starts with its own
SELECT, leaves the card usable (PIN restored, tries back to 3) unless it is marked destructive, and raises
:class:`~conformance.chip.Mismatch` with what the SPEC expects and what the chip did.
"""

from __future__ import annotations

from conformance.cases import destructive, money, personalise, pin, reading, tearing_cases
from conformance.cases.base import Case, Context

PERSONALISATION: Case = personalise.PERSONALISATION
CASES: tuple[Case, ...] = (
    *reading.CASES,
    *pin.CASES,
    *money.CASES,
    *tearing_cases.CASES,
    *destructive.CASES,
)

__all__ = ["CASES", "PERSONALISATION", "Case", "Context"]

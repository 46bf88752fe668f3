"""The conformance report: one line per case (expected, observed, verdict), the chip's identity, the
timings against the budgets, a summary; as text for a tender file and as JSON for machines."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"  # a tearing case whose cut did not land where it proves something
    SKIPPED = "SKIPPED"  # not run: destructive without --destructive, tearing without a switch


@dataclass(frozen=True)
class CaseResult:
    name: str  # "file:case" as the vectors cite cases, or "flow:…", "tearing:…", "timing:…"
    spec: str  # the SPEC sections it checks
    title: str
    verdict: Verdict
    expected: str
    observed: str
    destructive: bool = False
    seconds: float = 0.0
    apdus: int = 0


@dataclass(frozen=True)
class Timing:
    flow: str
    samples_ms: tuple[float, ...]
    budget_ms: float

    @property
    def worst_ms(self) -> float:
        return max(self.samples_ms, default=0.0)


@dataclass
class Report:
    reader: str
    atr: str
    fci: str = ""
    applet_version: str = ""
    serial: str = ""
    interface: str = ""
    personalised_by_kit: bool = False
    results: list[CaseResult] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)
    commands_ms: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # INS: n, median, max

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.results if r.verdict is verdict)

    @property
    def passed(self) -> bool:
        """Exit code 0: every case that ran passed (skipped ones are listed, never counted as passed)."""
        ran = [r for r in self.results if r.verdict is not Verdict.SKIPPED]
        return bool(ran) and all(r.verdict is Verdict.PASS for r in ran)

    @property
    def failed_cases(self) -> list[str]:
        return [r.name for r in self.results if r.verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE)]

    def summary(self) -> str:
        counts = ", ".join(f"{self.count(v)} {v.value.lower()}" for v in Verdict)
        verdict = "CONFORMS" if self.passed else "DOES NOT CONFORM"
        complete = "" if self.count(Verdict.SKIPPED) == 0 else " (partial run: skipped cases not tested)"
        return f"{verdict}: {len(self.results)} cases, {counts}{complete}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kit": "KHBS card conformance kit (SPEC 2.0)",
            "reader": self.reader,
            "atr": self.atr,
            "fci": self.fci,
            "applet_version": self.applet_version,
            "serial": self.serial,
            "interface": self.interface,
            "personalised_by_kit": self.personalised_by_kit,
            "summary": {
                "conforms": self.passed,
                "text": self.summary(),
                **{v.value.lower(): self.count(v) for v in Verdict},
                "failed": self.failed_cases,
            },
            "cases": [
                {
                    "case": r.name,
                    "spec": r.spec,
                    "title": r.title,
                    "verdict": r.verdict.value,
                    "expected": r.expected,
                    "observed": r.observed,
                    "destructive": r.destructive,
                    "seconds": round(r.seconds, 4),
                    "apdus": r.apdus,
                }
                for r in self.results
            ],
            "timings": [
                {
                    "flow": t.flow,
                    "samples_ms": [round(s, 2) for s in t.samples_ms],
                    "worst_ms": round(t.worst_ms, 2),
                    "budget_ms": t.budget_ms,
                }
                for t in self.timings
            ],
            "commands_ms": {
                ins: {"count": n, "median_ms": round(med, 2), "max_ms": round(mx, 2)}
                for ins, (n, med, mx) in self.commands_ms.items()
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def text(self) -> str:
        lines = [
            "KHBS card conformance report (SPEC.md 2.0)",
            f"Reader:          {self.reader}",
            f"ATR:             {self.atr}",
            f"FCI:             {self.fci}",
            f"Applet version:  {self.applet_version}   interface: {self.interface}",
            f"Card serial:     {self.serial}"
            + ("   (personalised by the kit with TEST keys)" if self.personalised_by_kit else ""),
            "",
        ]
        width = max((len(r.name) for r in self.results), default=10)
        for r in self.results:
            mark = " [destructive]" if r.destructive else ""
            lines.append(f"{r.verdict.value:<12} {r.name:<{width}}  {r.title}{mark}  (§{r.spec})")
            if r.verdict is not Verdict.PASS:
                lines.append(f"{'':<13}expected: {r.expected}")
                lines.append(f"{'':<13}observed: {r.observed}")
        if self.timings:
            lines += ["", "Timings on the chip (reader round trips included), worst of the samples:"]
            for t in self.timings:
                mark = "ok" if t.worst_ms <= t.budget_ms else "OVER BUDGET"
                samples = ", ".join(f"{s:.1f}" for s in t.samples_ms)
                lines.append(
                    f"  {t.flow:<22} {t.worst_ms:8.1f} ms  budget {t.budget_ms:.0f} ms  {mark}  [{samples}]"
                )
        if self.commands_ms:
            lines += ["", "Per command (INS): count, median, max in ms:"]
            for ins, (n, med, mx) in sorted(self.commands_ms.items()):
                lines.append(f"  {ins:<24} {n:4d} {med:8.2f} {mx:8.2f}")
        lines += ["", self.summary(), ""]
        return "\n".join(lines)

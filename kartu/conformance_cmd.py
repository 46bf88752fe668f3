"""``kartu conformance``: the card-vendor conformance kit (``conformance/``) against the card in a PC/SC
reader. Exit 0 when every case that ran passed, 1 when one failed or the card was refused, 3 when the
reader or the card cannot be reached, 64 on usage errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED = 0, 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "conformance", help="card vendors: run SPEC.md's conformance kit on a chip (TEST keys)"
    )
    p.add_argument("--reader", required=True, help="PC/SC reader holding a blank or kit-personalised card")
    p.add_argument(
        "--destructive", action="store_true", help="also run the cases that leave the card unusable"
    )
    p.add_argument(
        "--timing", action="store_true", help="time check taps and redemptions against the budgets"
    )
    p.add_argument(
        "--tearing", choices=("prompt",), help="tearing cases: the tester pulls the card when asked"
    )
    p.add_argument("--case", action="append", default=[], metavar="PREFIX", help="run only these cases")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON")
    p.add_argument("--report", type=Path, metavar="FILE", help="write the text report to FILE")


def cmd_conformance(args: argparse.Namespace) -> int:
    from conformance import KitOptions, RefusedCard, run
    from conformance.tearing import PromptedSwitch
    from drivers.pcsc import connect

    options = KitOptions(
        destructive=args.destructive,
        timing=args.timing,
        switch=PromptedSwitch() if args.tearing == "prompt" else None,
        only=tuple(args.case),
    )
    try:
        report = run(lambda: connect(args.reader, timeout=10.0), args.reader, options)
    except RefusedCard as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_FAILED
    text = report.text()
    print(text)
    if args.report:
        args.report.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(report.dumps(), encoding="utf-8")
    return EXIT_OK if report.passed else EXIT_FAILED

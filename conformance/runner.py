"""A conformance run: look at the card (refuse production cards), personalise it if it is blank, run
the cases in order — destructive ones last and only when asked — and build the report."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec import responses
from card_applet_spec.credential import CredentialError, compressed_point, decode_credential
from card_applet_spec.records import RecordError
from card_applet_spec.tlv import TlvError, iter_tlv, parse_tlv
from conformance.cases import CASES, PERSONALISATION, Case, Context
from conformance.cases.money import ensure_grants
from conformance.cases.tearing_cases import Inconclusive
from conformance.chip import OK, TEST_ISSUERS, Chip, Mismatch
from conformance.link import Link
from conformance.report import CaseResult, Report, Verdict
from conformance.tearing import PowerSwitch
from terminal.card.connection import CardConnectionError, Connection

L = c.LifeCycle
INS_NAMES = {
    c.INS_SELECT: "A4 SELECT",
    c.INS_GET_RESPONSE: "C0 GET RESPONSE",
    c.INS_GET_DATA: "CA GET DATA",
    0xDA: "DA PUT DATA",
    0x46: "46 GENERATE KEY",
    c.INS_VERIFY: "20 VERIFY",
    c.INS_CHANGE_REFERENCE_DATA: "24 CHANGE REF. DATA",
    c.INS_RESET_RETRY_COUNTER: "2C RESET RETRY CTR",
    c.INS_INTERNAL_AUTHENTICATE: "88 INTERNAL AUTH.",
    c.INS_DEBIT: "54 DEBIT",
    0xB2: "B2 READ LOG",
    0xE2: "E2 LOAD GRANT",
    0xF0: "F0 SET STATUS",
}


class RefusedCard(Exception):
    """The kit will not touch this card (a production credential, not a KHBS card, terminated)."""


@dataclass(frozen=True)
class KitOptions:
    destructive: bool = False
    timing: bool = False
    switch: PowerSwitch | None = None
    #: run only the cases whose names start with one of these (personalisation of a blank card always runs)
    only: tuple[str, ...] = ()


def run(open_connection: Callable[[], Connection], reader: str, options: KitOptions) -> Report:
    """Run the kit against the card ``open_connection()`` reaches. Raises :class:`RefusedCard`, and
    ``CardConnectionError`` when the reader or the card cannot be reached at all."""
    first = open_connection()
    link = Link(first)
    holder = {"connection": first}

    def reconnect() -> Link:
        with contextlib.suppress(Exception):
            holder["connection"].close()
        holder["connection"] = open_connection()
        return Link(holder["connection"], link.exchanges)

    chip = Chip(link, reconnect)
    report = Report(reader=reader, atr=bytes(getattr(first, "atr", b"")).hex(" ").upper())
    ctx = Context(switch=options.switch)
    try:
        blank = _inspect(chip, report)
        if blank:
            result = _run_case(chip, ctx, PERSONALISATION)
            report.results.append(result)
            report.personalised_by_kit = True
            if result.verdict is not Verdict.PASS:
                return _finish(report, chip)
        _describe(chip, report)
        ensure_grants(chip)
        for case in CASES:
            if options.only and not case.name.startswith(options.only):
                continue
            if case.timing and not options.timing:
                continue
            reason = _skip_reason(case, options)
            if reason:
                report.results.append(
                    CaseResult(
                        case.name,
                        case.spec,
                        case.title,
                        Verdict.SKIPPED,
                        case.expected,
                        reason,
                        case.destructive,
                    )
                )
                continue
            report.results.append(_run_case(chip, ctx, case))
        report.timings = list(ctx.timings)
        return _finish(report, chip)
    finally:
        with contextlib.suppress(Exception):
            holder["connection"].close()


def _skip_reason(case: Case, options: KitOptions) -> str:
    if case.destructive and not options.destructive:
        return "not run: it leaves the card unusable (run with --destructive on a sample card)"
    if case.needs_switch and options.switch is None:
        return "not run: needs a power switch or --tearing prompt"
    return ""


def _run_case(chip: Chip, ctx: Context, case: Case) -> CaseResult:
    mark, start = chip.link.mark(), time.perf_counter()
    verdict, observed, expected = Verdict.PASS, "", case.expected
    try:
        observed = case.run(chip, ctx)
    except Mismatch as exc:
        verdict, observed = Verdict.FAIL, exc.observed
        expected = f"{case.expected} — here: {exc.expected}"
    except Inconclusive as exc:
        verdict, observed = Verdict.INCONCLUSIVE, str(exc)
    except (responses.ResponseError, RecordError, CredentialError, TlvError) as exc:
        verdict, observed = Verdict.FAIL, f"malformed answer: {exc}"
    except CardConnectionError as exc:
        verdict, observed = Verdict.FAIL, f"the card left the field or the reader failed: {exc}"
        chip.reconnect()
    except Exception as exc:  # an answer the case could not even evaluate: a failure, never a crash
        verdict, observed = Verdict.FAIL, f"unusable answer ({type(exc).__name__}: {exc})"
    if verdict is not Verdict.PASS:
        _recover(chip)
    return CaseResult(
        case.name,
        case.spec,
        case.title,
        verdict,
        expected,
        observed,
        case.destructive,
        time.perf_counter() - start,
        len(chip.link.since(mark)),
    )


def _recover(chip: Chip) -> None:
    """After a failed case: a new session, and the test PIN's tries back (best effort)."""
    with contextlib.suppress(Exception):
        if chip.select().life_cycle == L.BLOCKED:
            chip.set_status(L.OPERATIONAL, chip.status(L.OPERATIONAL))
        chip.verify()
        chip.select()


def _inspect(chip: Chip, report: Report) -> bool:
    """True for a blank card (the kit personalises it); raises RefusedCard for a card it must not touch."""
    data, sw = chip.send(cmd.select())
    if sw != OK:
        raise RefusedCard(f"no KHBS applet on the card (SELECT answered {sw:04X})")
    try:
        info = responses.parse_fci(data)
    except responses.ResponseError as exc:
        raise RefusedCard(f"the SELECT answer is not a KHBS FCI: {exc}") from exc
    report.fci = data.hex(" ").upper()
    report.applet_version = f"{info.version[0]}.{info.version[1]}"
    if info.life_cycle == L.TERMINATED:
        raise RefusedCard("the card is terminated: nothing left to test")
    keys, _ = chip.send(cmd.get_data(c.DO_ISSUER_KEYS))
    with contextlib.suppress(TlvError):
        for _tag, value in iter_tlv(keys):
            kid = parse_tlv(value).get(c.TAG_KEY_ID, b"")
            if kid not in TEST_ISSUERS:
                raise RefusedCard(f"the card holds a non-test issuer key (kid {kid.hex()}): refused")
    raw, sw = chip.send(cmd.get_data(c.DO_CREDENTIAL))
    if sw == OK:
        try:
            cred = decode_credential(raw)
        except CredentialError as exc:
            raise RefusedCard(f"the card's credential does not decode: {exc}") from exc
        if cred.kid not in TEST_ISSUERS or not cred.verify(TEST_ISSUERS[cred.kid].key.public_key()):
            raise RefusedCard(
                f"the card holds a production credential (issuer kid {cred.kid.hex()}, not a test key): "
                "the kit only touches blank cards or cards it personalised with the TEST keys"
            )
    if info.life_cycle == L.PERSONALISATION:
        return True
    point = responses.parse_card_public_key(chip.get_data(c.DO_CARD_PUBLIC_KEY))
    chip.point, chip.serial = point, info.serial or b""
    if sw != OK or compressed_point(chip._public_key()) != cred.claims.card_key:
        raise RefusedCard("the card's credential does not bind its key: not a card the kit personalised")
    chip.status_seq = int(time.time())  # a reused test card: above any status change the kit made before
    if info.life_cycle == L.BLOCKED:
        chip.set_status(L.OPERATIONAL, chip.status(L.OPERATIONAL))
    return False


def _describe(chip: Chip, report: Report) -> None:
    data, _ = chip.send(cmd.select())
    info = responses.parse_fci(data)
    report.fci = data.hex(" ").upper()
    report.serial = chip.serial.hex().upper()
    report.interface = "contactless" if info.capabilities & c.CAP_CONTACTLESS else "contact"


def _finish(report: Report, chip: Chip) -> Report:
    by_ins: dict[str, list[float]] = {}
    for ex in chip.link.exchanges:
        by_ins.setdefault(INS_NAMES.get(ex.ins, f"{ex.ins:02X}"), []).append(ex.seconds * 1000)
    report.commands_ms = {k: (len(v), statistics.median(v), max(v)) for k, v in by_ins.items()}
    return report

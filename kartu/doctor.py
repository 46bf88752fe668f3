"""``kartu doctor``: is this terminal fit to serve? Each check says what is wrong and what to do about it.

Checks, in order: the configuration; the enrolment files (key, token, certificates and their windows);
the trust anchor (and that nobody but root can rewrite it); the stored trust list and revocation data
(verified, and young enough for cash aid); the server (reachable, and its clock against ours); the disk
under the data directory; the card reader(s); the receipt printer.

The exit code names the first failed check (see :class:`Problem`); 0 when nothing failed (warnings
print but do not fail). Nothing here changes the terminal.
"""

from __future__ import annotations

import email.utils
import enum
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from terminal.config import TerminalConfig


class Problem(enum.IntEnum):
    """Exit codes of ``kartu doctor``: the first check that failed."""

    CONFIG = 10
    ENROLMENT = 11
    TRUST_ANCHOR = 12
    DATA = 13
    CLOCK = 14
    SERVER = 15
    DISK = 16
    READER = 17
    PRINTER = 18


class Level(enum.Enum):
    OK = "ok"
    WARN = "PERINGATAN / WARNING"
    FAIL = "GAGAL / FAILED"


@dataclass(frozen=True)
class Check:
    problem: Problem
    level: Level
    message: str
    fix: str = ""


DISK_FAIL_BYTES = 100 * 2**20
DISK_WARN_BYTES = 500 * 2**20
CLOCK_SKEW_FAIL_S = 120
CERT_WARN_S = 30 * 86_400


def _age(seconds: float) -> str:
    from terminal.ages import age_in_words

    return age_in_words(seconds, "en")


def run_checks(config_path: Path, *, clock: Callable[[], float] = time.time) -> list[Check]:
    from terminal.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return [Check(Problem.CONFIG, Level.FAIL, str(exc), "kartu enrol, or correct the file")]
    checks = [Check(Problem.CONFIG, Level.OK, f"{config_path}: {config.terminal_id} · {config.site}")]
    checks += _enrolment(config, clock())
    checks += _anchor(config)
    if all(c.level is not Level.FAIL for c in checks):
        checks += _data(config, clock)
    checks += _server(config, clock)
    checks += _disk(config)
    checks += _readers(config)
    checks += _printer(config)
    return checks


def _enrolment(config: TerminalConfig, now: float) -> list[Check]:
    from province.receipt_qr import QrPayloadError, ReceiptCert
    from terminal.enrolment import EnrolmentError, load_secrets

    try:
        secrets = load_secrets(config.data_dir)
        cert = ReceiptCert.decode(secrets.receipt_cert)
    except (EnrolmentError, QrPayloadError) as exc:
        return [Check(Problem.ENROLMENT, Level.FAIL, str(exc), "kartu enrol --force with a new code")]
    left = cert.body.valid_until - now
    if left < 0 or cert.body.valid_from > now:
        return [Check(Problem.ENROLMENT, Level.FAIL, "receipt certificate not valid now", "enrol again")]
    if left < CERT_WARN_S:
        return [
            Check(Problem.ENROLMENT, Level.WARN, f"receipt certificate ends in {_age(left)}", "enrol again")
        ]
    return [Check(Problem.ENROLMENT, Level.OK, f"enrolled; receipt certificate valid {_age(left)} more")]


def _anchor(config: TerminalConfig) -> list[Check]:
    from province.keys import fingerprint
    from terminal.truststore import TrustAnchor, TrustAnchorError

    try:
        anchor = TrustAnchor.load(config.trust_anchor)
    except TrustAnchorError as exc:
        return [
            Check(Problem.TRUST_ANCHOR, Level.FAIL, str(exc), "reinstall it from the installation medium")
        ]
    mode = config.trust_anchor.stat().st_mode
    if mode & 0o022:
        return [
            Check(
                Problem.TRUST_ANCHOR,
                Level.FAIL,
                f"{config.trust_anchor} can be rewritten by others (mode {mode & 0o777:o})",
                f"chmod 444 {config.trust_anchor}; chown root {config.trust_anchor}",
            )
        ]
    return [Check(Problem.TRUST_ANCHOR, Level.OK, f"root key {fingerprint(anchor.public_key)[:19]} …")]


def _data(config: TerminalConfig, clock: Callable[[], float]) -> list[Check]:
    from province.trust import SignedDataError
    from terminal.revocation import FreshnessPolicy
    from terminal.station import StationError, open_station

    try:
        station = open_station(config, clock=clock)
    except StationError as exc:
        return [Check(Problem.ENROLMENT, Level.FAIL, str(exc), "kartu enrol --force with a new code")]
    try:
        now = clock()
        policy = FreshnessPolicy()
        try:
            trust = station.trust.current()
        except SignedDataError as exc:
            return [Check(Problem.DATA, Level.FAIL, f"stored trust list: {exc}", "kartu --config … sync")]
        if trust is None:
            return [Check(Problem.DATA, Level.FAIL, "no trust list yet", "kartu --config … sync")]
        age = station.revocation.age(now)
        cash = min(policy.program_max_age_s.values())
        if age is None:
            return [Check(Problem.DATA, Level.FAIL, "no revocation data yet", "kartu --config … sync")]
        status = station.terminal.status()
        text = f"revocation data {_age(age)} old; {status.uploads_pending} records waiting to upload"
        if age > policy.max_age_s(None):
            return [
                Check(Problem.DATA, Level.FAIL, text + ": every tap is UNKNOWN", "sync: check the network")
            ]
        if age > cash:
            return [
                Check(Problem.DATA, Level.WARN, text + ": too old for cash aid", "sync: check the network")
            ]
        return [Check(Problem.DATA, Level.OK, text)]
    finally:
        station.close()


def _server(config: TerminalConfig, clock: Callable[[], float]) -> list[Check]:
    import httpx

    try:
        answer = httpx.get(f"{config.server_url}/health", timeout=5)
    except httpx.HTTPError as exc:
        text = f"{config.server_url} unreachable ({type(exc).__name__})"
        return [Check(Problem.SERVER, Level.WARN, text, "the terminal works offline; check the network")]
    checks = [Check(Problem.SERVER, Level.OK, f"{config.server_url} answers ({answer.status_code})")]
    date = answer.headers.get("date")
    if date:
        skew = clock() - email.utils.parsedate_to_datetime(date).timestamp()
        if abs(skew) > CLOCK_SKEW_FAIL_S:
            word = "ahead of" if skew > 0 else "behind"
            text = f"this clock is {_age(abs(skew))} {word} the server's"
            checks.append(Check(Problem.CLOCK, Level.FAIL, text, "timedatectl set-ntp true"))
        else:
            checks.append(Check(Problem.CLOCK, Level.OK, f"clock within {CLOCK_SKEW_FAIL_S} s of the server"))
    return checks


def _disk(config: TerminalConfig) -> list[Check]:
    where = config.data_dir if config.data_dir.exists() else config.data_dir.parent
    free = shutil.disk_usage(where).free
    text = f"{free // 2**20} MB free under {where}"
    if free < DISK_FAIL_BYTES:
        return [Check(Problem.DISK, Level.FAIL, text, "free disk space: redemptions need it")]
    if free < DISK_WARN_BYTES:
        return [Check(Problem.DISK, Level.WARN, text, "free disk space")]
    return [Check(Problem.DISK, Level.OK, text)]


def _readers(config: TerminalConfig) -> list[Check]:
    from drivers.pcsc import list_readers
    from terminal.card.connection import ReaderUnavailableError

    try:
        readers = list_readers()
    except ReaderUnavailableError as exc:
        return [Check(Problem.READER, Level.FAIL, f"PC/SC: {exc}", "systemctl start pcscd.socket")]
    wanted = [r for r in readers if not config.readers or any(w in r for w in config.readers)]
    if not wanted:
        return [Check(Problem.READER, Level.FAIL, "no card reader", "plug the reader in (USB)")]
    return [Check(Problem.READER, Level.OK, ", ".join(wanted))]


def _printer(config: TerminalConfig) -> list[Check]:
    if config.printer is None:
        return [Check(Problem.PRINTER, Level.WARN, "no receipt printer configured", "[devices] printer")]
    from drivers.printer import printer_from_spec
    from terminal.receipt import PrinterError

    try:
        status = printer_from_spec(config.printer).status()
    except (PrinterError, ValueError, OSError) as exc:
        return [
            Check(Problem.PRINTER, Level.FAIL, f"printer {config.printer}: {exc}", "check cable and power")
        ]
    fault = status.fault()
    if fault is not None:
        return [Check(Problem.PRINTER, Level.FAIL, f"printer {config.printer}: {fault.code}", "paper, cover")]
    return [Check(Problem.PRINTER, Level.OK, f"printer {config.printer} ready")]


def report(checks: list[Check]) -> tuple[str, int]:
    """The printed report and the exit code (the first failed check's :class:`Problem`, else 0)."""
    lines = []
    for c in checks:
        lines.append(f"{c.level.value:<22} {c.problem.name.lower():<13} {c.message}")
        if c.fix and c.level is not Level.OK:
            lines.append(f"{'':<22} {'':<13} → {c.fix}")
    failed = [c for c in checks if c.level is Level.FAIL]
    return "\n".join(lines), int(failed[0].problem) if failed else 0

"""Pure-Python presentation helpers (no Qt): which plain-words screen a core result or error leads to.

Kept apart from the widgets so the mapping is testable without a display, and so nothing in it decides
anything the core has not decided already: it only *classifies* a verdict, a refusal code or an
exception into one of the screens the kiosk and counter know how to say in plain words. The words
themselves (Indonesian, with English translations) live in the Qt layer (``kiosk_ui.screens``).
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from card_applet_spec import constants as c
from province.clock import WIB
from terminal.app import ResetNotAllowed
from terminal.card.connection import CardConnectionError, ReaderUnavailableError
from terminal.card.errors import (
    ApduError,
    CardSessionError,
    InvalidPinError,
    MalformedResponseError,
    PinBlockedError,
    WrongStateError,
)
from terminal.failures import FailureReason
from terminal.redeem import DebitInterrupted, PrintFailed, RedemptionError, RedemptionRefused
from terminal.tap import TapResult
from terminal.verify import Reason, Verdict


class Refusal(enum.Enum):
    """The plain-words refusal screens."""

    UNKNOWN_CARD = "unknown_card"  # not a KHBS card, unreadable, not personalised, unsupported
    REVOKED_OR_BLOCKED = "revoked_or_blocked"
    EXPIRED = "expired"  # also: not yet valid, issuer key no longer valid
    NOT_GENUINE = "not_genuine"
    PIN_BLOCKED = "pin_blocked"
    READER_MISSING = "reader_missing"
    DATA_TOO_OLD = "data_too_old"  # UNKNOWN verdict: this terminal cannot decide now
    CARD_LOST = "card_lost"  # the card left the reader while it was being read
    SYSTEM_ERROR = "system_error"  # anything unexpected: never a traceback on screen


@dataclass(frozen=True)
class RefusalInfo:
    kind: Refusal
    reason: Reason | None = None
    #: Age of the revocation data (DATA_TOO_OLD), None when there is none at all.
    data_age_s: float | None = None
    #: Technical detail for the log and the clerk's small print, never the main text.
    detail: str = ""


_BY_REASON: dict[Reason, Refusal] = {
    Reason.NOT_KHBS_CARD: Refusal.UNKNOWN_CARD,
    Reason.MALFORMED: Refusal.UNKNOWN_CARD,
    Reason.UNSUPPORTED_SCHEMA: Refusal.UNKNOWN_CARD,
    Reason.NOT_PERSONALISED: Refusal.UNKNOWN_CARD,
    Reason.UNKNOWN_ISSUER_KEY: Refusal.NOT_GENUINE,
    Reason.BAD_ISSUER_SIGNATURE: Refusal.NOT_GENUINE,
    Reason.NOT_GENUINE: Refusal.NOT_GENUINE,
    Reason.ISSUER_KEY_NOT_VALID: Refusal.EXPIRED,
    Reason.EXPIRED: Refusal.EXPIRED,
    Reason.NOT_YET_VALID: Refusal.EXPIRED,
    Reason.CARD_BLOCKED: Refusal.REVOKED_OR_BLOCKED,
    Reason.CARD_TERMINATED: Refusal.REVOKED_OR_BLOCKED,
    Reason.REVOKED: Refusal.REVOKED_OR_BLOCKED,
    Reason.SUSPENDED: Refusal.REVOKED_OR_BLOCKED,
    Reason.NO_TRUST_LIST: Refusal.DATA_TOO_OLD,
    Reason.NO_REVOCATION_DATA: Refusal.DATA_TOO_OLD,
    Reason.REVOCATION_DATA_STALE: Refusal.DATA_TOO_OLD,
    Reason.STATUS_INDEX_OUT_OF_RANGE: Refusal.DATA_TOO_OLD,
    Reason.TRUST_LIST_STALE: Refusal.DATA_TOO_OLD,
    # the terminal's own stored data failed its check (damaged or planted): staff must re-sync it
    Reason.TRUST_DATA_UNVERIFIED: Refusal.SYSTEM_ERROR,
    Reason.STATUS_DATA_UNVERIFIED: Refusal.SYSTEM_ERROR,
    Reason.CLOCK_WRONG: Refusal.SYSTEM_ERROR,  # this terminal's clock, not the card: staff must fix it
}


def refusal_for_tap(tap: TapResult) -> RefusalInfo | None:
    """None for a VALID card; otherwise the refusal screen its verdict calls for."""
    result = tap.result
    if result.verdict is Verdict.VALID:
        return None
    if result.verdict is Verdict.UNKNOWN:  # never the card's fault: too-old data, or staff must act
        kind = _BY_REASON.get(result.reason, Refusal.DATA_TOO_OLD) if result.reason else Refusal.DATA_TOO_OLD
        return RefusalInfo(kind, result.reason, result.data_age_s, result.detail)
    kind = _BY_REASON.get(result.reason, Refusal.UNKNOWN_CARD) if result.reason else Refusal.UNKNOWN_CARD
    return RefusalInfo(kind, result.reason, result.data_age_s, result.detail)


def refusal_for_error(exc: BaseException) -> RefusalInfo:
    """Every exception the core or a driver may raise, as a plain-words screen."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ReaderUnavailableError):
        return RefusalInfo(Refusal.READER_MISSING, detail=detail)
    if isinstance(exc, CardConnectionError | DebitInterrupted):
        return RefusalInfo(Refusal.CARD_LOST, detail=detail)
    if isinstance(exc, PinBlockedError) or (isinstance(exc, InvalidPinError) and exc.attempts_remaining == 0):
        return RefusalInfo(Refusal.PIN_BLOCKED, detail=detail)
    if isinstance(exc, RedemptionRefused) and (
        exc.reason is FailureReason.PIN_BLOCKED
        or (exc.reason is FailureReason.WRONG_PIN and exc.tries_left == 0)
    ):
        return RefusalInfo(Refusal.PIN_BLOCKED, detail=detail)
    if isinstance(exc, ResetNotAllowed):  # the card's verdict forbids a PIN reset
        default = Refusal.DATA_TOO_OLD if exc.verdict is Verdict.UNKNOWN else Refusal.UNKNOWN_CARD
        kind = _BY_REASON.get(exc.reason, default) if exc.reason else default
        return RefusalInfo(kind, exc.reason, detail=detail)
    if isinstance(exc, RedemptionRefused) and isinstance(exc.reason, Reason):  # the card's verdict
        kind = _BY_REASON.get(exc.reason, Refusal.UNKNOWN_CARD)
        return RefusalInfo(kind, exc.reason, exc.data_age_s, detail=detail)
    if isinstance(exc, RedemptionError):  # the terminal's own codes: words for the clerk
        return RefusalInfo(Refusal.SYSTEM_ERROR, detail=detail)
    if isinstance(exc, WrongStateError):
        return RefusalInfo(Refusal.REVOKED_OR_BLOCKED, detail=detail)
    if isinstance(exc, MalformedResponseError) and "match" in str(exc):
        return RefusalInfo(Refusal.NOT_GENUINE, detail=detail)
    if isinstance(exc, CardSessionError | ApduError):
        return RefusalInfo(Refusal.UNKNOWN_CARD, detail=detail)
    return RefusalInfo(Refusal.SYSTEM_ERROR, detail=detail)


def pin_tries_left(tap: TapResult) -> int | None:
    """PIN tries left as the card signed them in this tap (0: blocked), None when unknown."""
    return tap.auth.body.pin_tries if tap.auth is not None else None


def printer_fault(exc_or_reason: BaseException | str | None) -> str | None:
    """The printer fault code (offline, paper_out, cover_open, unplugged, no printer), if any."""
    if exc_or_reason is None:
        return None
    if isinstance(exc_or_reason, PrintFailed):
        return exc_or_reason.reason
    if isinstance(exc_or_reason, str):
        return exc_or_reason
    code = getattr(exc_or_reason, "code", None)
    return code if isinstance(code, str) else "error"


@dataclass(frozen=True)
class Age:
    days: int
    hours: int
    minutes: int


def age_parts(seconds: float) -> Age:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return Age(days, hours, rest // 60)


def wib(timestamp: float | None) -> dt.datetime | None:
    return None if timestamp is None else dt.datetime.fromtimestamp(timestamp, WIB)


def region_name(region: int) -> str:
    return c.REGIONS.get(region, f"Wilayah {region}") if region else "Kalimantan Tengah"


def needs_amount(program: int) -> bool:
    """Cash and quantity programs debit an amount; eligibility/application ones record a visit."""
    return c.PROGRAM_KIND[c.Program(program)] in (c.Kind.CASH, c.Kind.QUANTITY)


#: Programs whose detail screen lists a catalogue with "register interest".
CATALOGUE_PROGRAMS: dict[int, str] = {
    c.Program.LAPANGAN_KERJA: "jobs",
    c.Program.PELATIHAN: "training",
    c.Program.PERUMAHAN_GURU: "housing",
}

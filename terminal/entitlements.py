"""The holder's eight services as a plain view model the UI renders.

Built from the card-signed balances in the authentication answer (and, when read, the card's log for
"last use"). Always eight entries, in program order, so the kiosk can lay out eight tiles.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from card_applet_spec.constants import UNLIMITED, GrantStatus, Kind, Program, Unit
from card_applet_spec.records import AuthBody, Balance, TxRecord
from province.clock import WIB
from province.programs import PROGRAMS, ProgramInfo, format_amount, kind_of


class Status(enum.Enum):
    ACTIVE = "active"  # balance left, or eligible
    USED_UP = "used_up"  # cash/quantity fully used this period
    EXPIRED = "expired"  # period over
    NOT_YET_VALID = "not_yet_valid"
    NOT_ENROLLED = "not_enrolled"  # no grant on the card
    REGISTERED = "registered"  # application programs
    ACCEPTED = "accepted"
    COMPLETED = "completed"


@dataclass(frozen=True)
class Entitlement:
    program: Program
    info: ProgramInfo
    kind: Kind
    status: Status
    unit: int | None = None
    remaining: int | None = None
    remaining_text: str = ""
    period_end: dt.datetime | None = None
    last_use: dt.datetime | None = None
    grant_seq: int | None = None

    @property
    def usable(self) -> bool:
        return self.status is Status.ACTIVE


_APPLICATION_STATUS = {
    GrantStatus.ELIGIBLE: Status.ACTIVE,
    GrantStatus.REGISTERED: Status.REGISTERED,
    GrantStatus.ACCEPTED: Status.ACCEPTED,
    GrantStatus.COMPLETED: Status.COMPLETED,
}


def _status(balance: Balance, kind: Kind, now: float) -> Status:
    if now > balance.valid_until:
        return Status.EXPIRED
    if kind is Kind.APPLICATION:
        try:
            return _APPLICATION_STATUS[GrantStatus(balance.remaining)]
        except ValueError:
            return Status.ACTIVE
    if kind in (Kind.CASH, Kind.QUANTITY) and balance.remaining == 0:
        return Status.USED_UP
    return Status.ACTIVE


def _text(balance: Balance, kind: Kind) -> str:
    if kind is Kind.ELIGIBILITY:
        return "Berhak" if balance.remaining == UNLIMITED else format_amount(Unit.VISIT, balance.remaining)
    if kind is Kind.APPLICATION:
        return ""
    return format_amount(balance.unit, balance.remaining)


def entitlement(program: Program, balance: Balance | None, now: float, last_use: int | None) -> Entitlement:
    kind = kind_of(program)
    info = PROGRAMS[program]
    used = dt.datetime.fromtimestamp(last_use, WIB) if last_use else None
    if balance is None:
        return Entitlement(program, info, kind, Status.NOT_ENROLLED, last_use=used)
    return Entitlement(
        program=program,
        info=info,
        kind=kind,
        status=_status(balance, kind, now),
        unit=balance.unit,
        remaining=None if kind is Kind.APPLICATION else balance.remaining,
        remaining_text=_text(balance, kind),
        period_end=dt.datetime.fromtimestamp(balance.valid_until, WIB),
        last_use=used,
        grant_seq=balance.grant_seq,
    )


def entitlements(auth: AuthBody, now: float, log: Iterable[TxRecord] = ()) -> tuple[Entitlement, ...]:
    """Eight entitlements in program order; ``log`` (card records) fills in the last use."""
    balances = {b.program: b for b in auth.balances}
    last: dict[int, int] = {}
    for record in log:
        last[record.program] = max(last.get(record.program, 0), record.terminal_time)
    return tuple(entitlement(p, balances.get(p), now, last.get(p)) for p in Program)

"""What the counter's state machine (``terminal.counter_flow``) is made of: its steps, what it remembers
for the screens, and the ports it runs on. No Qt: the UI adapts these ports and renders the steps.

- :class:`Step` — where a counter session is (one screen each; the three PIN steps share a PIN pad).
- The outcomes the screens put in words: :class:`ResultKind`, :class:`Notice`, :class:`TxMessage`,
  :class:`ResetProblem`, :class:`Refused`.
- The ports: :class:`CounterView` (the flow moved to a step; forget the holder; the status changed),
  :class:`Worker` (run a job off the UI thread, answer on it) and :class:`CardLinkPort` (the card
  session of the card in the reader, touched only from jobs).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from terminal.app import NotTheCheckedCard
from terminal.card.errors import HolderCheckBlockedError, HolderMismatchError, InvalidPinError
from terminal.card.session import KhbsSession
from terminal.failures import FailureReason
from terminal.readers import CardInserted
from terminal.redeem import RedemptionRefused
from terminal.tap import TapResult


class Step(enum.Enum):
    """The steps of a counter session; ``value`` names the screen that shows it."""

    LOGIN = "login"  # the clerk's id and PIN
    HOME = "home"  # waiting for a card; the clerk's other tasks
    READING = "reading"  # a card is being read (tap, verdict, settling)
    HOLDER = "holder"  # the verdict VALID: the holder and the services to choose from
    AMOUNT = "amount"  # how much of the chosen service
    HOLDER_PIN = "pin"  # the holder types the card PIN (the service and amount on screen)
    VERIFYING = "verifying"  # the card checks the holder's PIN (VERIFY) before the clerk confirms
    CONFIRM = "confirm"  # the clerk checks the summary before the DEBIT
    PROCESSING = "processing"  # the DEBIT (or a PIN reset) is under way: the card must stay
    RESULT = "result"  # done (receipt printed or pending), "tap again to finish", or the new PIN works
    REFUSAL = "refusal"  # a verdict or an error in plain words
    TRANSACTIONS = "transactions"  # the latest redemptions: reprint, void
    VOID = "void"  # the reason for a void
    REPORT = "report"  # the end-of-day report
    RESET = "reset"  # PIN unblock: the clerk checks the e-KTP and types its NIK
    NEW_PIN = "new_pin"  # the holder chooses a new PIN
    NEW_PIN_AGAIN = "new_pin_again"  # ... and types it again

    @property
    def screen(self) -> str:
        """The screen's name (the PIN steps share the PIN pad, VERIFYING the processing screen)."""
        if self in (Step.NEW_PIN, Step.NEW_PIN_AGAIN):
            return "pin"
        if self is Step.VERIFYING:
            return "processing"
        return str(self.value)


#: Steps that show the holder's card data: the card leaving the reader ends them.
HOLDER_STEPS = frozenset(
    {
        Step.READING,
        Step.HOLDER,
        Step.AMOUNT,
        Step.HOLDER_PIN,
        Step.VERIFYING,
        Step.CONFIRM,
        Step.RESET,
        Step.NEW_PIN,
        Step.NEW_PIN_AGAIN,
    }
)
#: Steps a job of the holder's card is under way in: the idle logout waits for its outcome.
CARD_JOB_STEPS = frozenset({Step.READING, Step.VERIFYING, Step.PROCESSING})
#: The clerk's own screens: a card arriving then is read when the clerk comes back.
CLERK_TASK_STEPS = frozenset({Step.TRANSACTIONS, Step.VOID, Step.REPORT})

#: Redemption refusals the clerk is told plainly by their reason (nothing was taken from the card).
PLAIN_REFUSALS = frozenset(
    {
        FailureReason.INSUFFICIENT_BALANCE,
        FailureReason.NOT_ENROLLED,
        FailureReason.ENTITLEMENT_EXPIRED,
        FailureReason.NOT_VALID_NOW,
        FailureReason.BAD_AMOUNT,
        FailureReason.CARD_REFUSED,
        FailureReason.COUNTER_MISMATCH,
        FailureReason.BAD_PIN_FORMAT,
        FailureReason.PREVIOUS_REDEMPTION_SETTLED,
        FailureReason.PREVIOUS_REDEMPTION_OPEN,
        FailureReason.CARD_REMOVED,  # the PIN was verified in another card session: nothing was sent
    }
)


class ResultKind(enum.Enum):
    REDEEMED = "redeemed"
    INTERRUPTED = "interrupted"  # the card left during the DEBIT: tap again to finish
    PIN_RESET = "pin_reset"


class Notice(enum.Enum):
    """What the home or login screen says after an ending the clerk did not ask for."""

    CARD_LIFTED = "card_lifted"  # on home: nothing was done
    IDLE_LOGOUT = "idle_logout"  # on login: logged out after a while with nobody at the counter


class TxMessage(enum.Enum):
    """What the transactions screen says after a reprint or a void."""

    REPRINTED = "reprinted"
    REPRINT_NOT_PRINTED = "reprint_not_printed"
    VOIDED = "voided"
    VOIDED_SLIP_NOT_PRINTED = "voided_slip_not_printed"
    VOID_REFUSED = "void_refused"  # already voided, or not a committed redemption


class ResetProblem(enum.Enum):
    """Why the card refused a PIN reset the clerk can fix on the reset screen."""

    NIK_MISMATCH = "nik_mismatch"
    HOLDER_CHECK_BLOCKED = "holder_check_blocked"
    NOT_THE_CHECKED_CARD = "not_the_checked_card"


RESET_PROBLEMS: dict[type[Exception], ResetProblem] = {
    HolderMismatchError: ResetProblem.NIK_MISMATCH,
    HolderCheckBlockedError: ResetProblem.HOLDER_CHECK_BLOCKED,
    NotTheCheckedCard: ResetProblem.NOT_THE_CHECKED_CARD,
}


@dataclass(frozen=True)
class Refused:
    """Why the refusal step is shown; the UI classifies it into plain words.

    Exactly one of: ``tap`` (a card whose verdict is not VALID), ``error`` (an exception of the core, a
    driver or the card), ``pin_blocked`` (the card signed that its PIN is blocked), ``plain`` (a
    redemption refused for a business reason: nothing was taken from the card).
    """

    tap: TapResult | None = None
    error: BaseException | None = None
    pin_blocked: bool = False
    plain: FailureReason | None = None


@dataclass(frozen=True)
class Printed:
    """A print's outcome: printed, or the printer's fault (an error code or the exception)."""

    ok: bool
    fault: str | BaseException | None = None


def wrong_pin_tries(exc: BaseException) -> int | None:
    """Tries left after a wrong holder PIN (the core's refusal or the card's error), None otherwise."""
    if isinstance(exc, InvalidPinError):
        return exc.attempts_remaining
    if isinstance(exc, RedemptionRefused) and exc.reason is FailureReason.WRONG_PIN:
        return exc.tries_left
    return None


# -- ports -------------------------------------------------------------------------------------------------


class CounterView(Protocol):
    """What the flow tells the screens. Every call comes on the UI thread."""

    def show_step(self, step: Step) -> None:
        """The flow is now at ``step``; what the step shows is on the flow."""

    def forget_holder(self) -> None:
        """Nothing of the last holder may stay on any screen."""

    def status_changed(self) -> None:
        """Something was recorded or printed: read the status (uploads, receipts waiting) again."""


class Worker(Protocol):
    """Runs ``work`` off the UI thread, one job at a time, then ``done(result)`` or ``failed(exc)`` on it."""

    def submit(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
        /,
    ) -> object: ...


class CardLinkPort(Protocol):
    """The card session with the card in the reader; only jobs touch it."""

    def open(self, event: CardInserted) -> KhbsSession: ...

    def current(self) -> KhbsSession: ...

    def close(self) -> None: ...

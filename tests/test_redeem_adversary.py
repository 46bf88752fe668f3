"""Redemption against an adversary between terminal and card (relay, emulator with the card's key,
a card lying about its DEBIT), through the real session and reference card (SPEC §5.12, issue 9 items
4-6).

What must hold every time: nothing is printed as a valid receipt unless the card signed exactly the
record the terminal asked for; an intent is closed as refused only when the card's signed state shows
it never debited; every failure is recorded with its reason and raised as a typed error; after an
honest tap, ledger == card log and nothing was debited twice.
"""

from __future__ import annotations

import contextlib

import pytest

from card_applet_spec import constants as c
from card_applet_spec.reference_card import ReferenceCard
from terminal.card.connection import CardConnectionError
from terminal.card.errors import CardSessionError
from terminal.failures import FailureReason
from terminal.ledger import State
from terminal.redeem import (
    DebitInterrupted,
    DebitNotTrusted,
    Redemption,
    RedemptionError,
    RedemptionRefused,
    RedemptionService,
)
from terminal.verify import Reason, Verdict
from tests.support.counter import RecordingPrinter, service
from tests.support.relay import LOST, Relay, other_program, resign, session, shift_time
from tests.support.world import NOW, PIN, card_key, connect, make_card

AMOUNT = 100_000  # of BLT's 600,000
OK = b"\x90\x00"


def _setup() -> tuple[ReferenceCard, RedemptionService, RecordingPrinter]:
    card, _ = make_card()
    printer = RecordingPrinter()
    return card, service(printer=printer), printer


def _reasons(svc: RedemptionService) -> list[str]:
    return sorted(f.reason for f in svc.ledger.list_failures(limit=None))


def assert_ledger_equals_card(svc: RedemptionService, card: ReferenceCard) -> None:
    """After an honest tap: no open intent, and the committed entries are the card's log."""
    result, _ = svc.tap(connect(card))
    assert result.verdict is Verdict.VALID
    serial = card.state.serial
    assert not svc.ledger.has_open_intents(serial)
    committed = sorted(svc.ledger.committed_for_card(serial), key=lambda e: e.tx_counter or 0)
    assert [e.record for e in committed] == [entry.record for entry in card.state.log]


# -- item 4: every field of the signed record ---------------------------------------------------------


def test_relay_shifting_the_terminal_time_gets_no_receipt() -> None:
    card, svc, printer = _setup()
    relay = Relay(card, c.INS_DEBIT, rewrite_command=shift_time(-3600))
    with pytest.raises(DebitNotTrusted) as err:
        svc.redeem(session(relay), c.Program.BLT, AMOUNT, PIN)
    assert err.value.fields == ("terminal_time",)
    assert printer.printed == []
    entry = svc.ledger.get(err.value.redemption_id)
    assert entry.state is State.UNRESOLVED and entry.terminal_time == NOW  # the terminal's own time
    assert entry.record == card.state.log[-1].record  # the card's signed record kept as evidence
    assert svc.ledger.committed_for_card(card.state.serial) == []
    assert _reasons(svc) == [FailureReason.RECORD_MISMATCH]
    _, report = svc.tap(connect(card))  # nothing left to settle, nothing printed later
    assert not report.changed and printer.printed == []


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"balance_after": 600_000}, ("balance_after",)),
        ({"grant_seq": 7}, ("grant_seq",)),
        ({"tx_counter": 2}, ("tx_counter",)),
        ({"tx_type": c.TxType.CHECK_IN}, ("tx_type",)),
        ({"amount": 1_000}, ("amount",)),
        ({"terminal_time": NOW + 86_400}, ("terminal_time",)),
        ({"terminal_id": b"T6271999"}, ("terminal_id",)),
        ({"program": c.Program.SEMBAKO}, ("program",)),
    ],
)
def test_emulator_signing_a_shifted_record_gets_no_receipt(
    changes: dict[str, object], fields: tuple[str, ...]
) -> None:
    card, svc, printer = _setup()
    relay = Relay(card, c.INS_DEBIT, rewrite_answer=resign(card, **changes))
    with pytest.raises(DebitNotTrusted) as err:
        svc.redeem(session(relay), c.Program.BLT, AMOUNT, PIN)
    assert err.value.fields == fields
    assert err.value.reason is FailureReason.RECORD_MISMATCH
    assert printer.printed == []
    assert svc.ledger.get(err.value.redemption_id).state is State.UNRESOLVED
    assert _reasons(svc) == [FailureReason.RECORD_MISMATCH]


def test_relay_turning_a_cash_debit_into_a_check_in_gets_no_receipt() -> None:
    card, svc, printer = _setup()
    relay = Relay(card, c.INS_DEBIT, rewrite_command=other_program(c.Program.KESEHATAN, 0))
    with pytest.raises(DebitNotTrusted) as err:
        svc.redeem(session(relay), c.Program.BLT, AMOUNT, PIN)
    assert {"tx_type", "program", "amount", "balance_after"} <= set(err.value.fields)
    assert printer.printed == []
    assert card.state.grant_for(c.Program.BLT).remaining == 600_000  # type: ignore[union-attr]


def test_record_of_another_serial_is_not_trusted_and_the_log_settles_it() -> None:
    card, svc, printer = _setup()
    relay = Relay(card, c.INS_DEBIT, rewrite_answer=resign(card, card_serial=b"\x62" + b"\x00" * 6 + b"\x09"))
    with pytest.raises(DebitInterrupted) as err:
        svc.redeem(session(relay), c.Program.BLT, AMOUNT, PIN)
    assert err.value.reason is FailureReason.RECORD_NOT_GENUINE
    assert svc.ledger.get(err.value.redemption_id).state is State.INTENT and printer.printed == []
    assert_ledger_equals_card(svc, card)  # the card's own record, from its log, with its receipt
    assert svc.ledger.get(err.value.redemption_id).state is State.COMMITTED
    assert printer.printed == [(err.value.redemption_id, False)]


def test_recovered_log_record_is_checked_field_by_field() -> None:
    """A relay shifts the time and then hides the DEBIT's answer: the log's record has our nonce but
    not our time, so reconciliation flags it instead of storing it."""
    card, svc, printer = _setup()
    relay = Relay(card, c.INS_DEBIT, rewrite_command=shift_time(60), answer=LOST)
    with pytest.raises(DebitInterrupted) as err:
        svc.redeem(session(relay), c.Program.BLT, AMOUNT, PIN)
    _, report = svc.tap(connect(card))
    assert report.unresolved == (err.value.redemption_id,) and report.recovered == ()
    assert svc.ledger.get(err.value.redemption_id).state is State.UNRESOLVED
    assert printer.printed == []
    assert FailureReason.RECORD_MISMATCH in _reasons(svc)


# -- item 5: only a refusal SPEC §5.12 defines as before the commit closes the intent ------------------


@pytest.mark.parametrize(
    "answer",
    [
        bytes.fromhex("6A80"),  # not a refusal of a DEBIT with an amount for a CASH grant
        bytes.fromhex("6F00"),
        bytes.fromhex("6700"),  # the session always sends 29 bytes
        bytes.fromhex("6A86"),
        bytes.fromhex("6B00"),  # not in SPEC §7
        bytes.fromhex("6983"),
        bytes.fromhex("63C2"),
        bytes.fromhex("9105"),  # an amount for a CASH grant is not "an amount for a check-in"
        b"\x01\x02\x03" + OK,  # garbage with 9000
        bytes.fromhex("E103C20100") + OK,  # a template with a truncated record
        OK,  # no record at all
        LOST,
    ],
    ids=lambda a: a.hex() if a != LOST else "lost",
)
def test_any_other_answer_after_a_committed_debit_leaves_the_intent_open(answer: bytes) -> None:
    card, svc, printer = _setup()
    relay = Relay(card, c.INS_DEBIT, answer=answer)  # the card commits; the terminal hears ``answer``
    with pytest.raises(DebitInterrupted) as err:
        svc.redeem(session(relay), c.Program.BLT, AMOUNT, PIN)
    assert card.state.tx_counter == 1
    rid = err.value.redemption_id
    assert svc.ledger.get(rid).state is State.INTENT and printer.printed == []
    assert len(svc.ledger.list_failures()) == 1
    with pytest.raises(RedemptionRefused) as again:  # the clerk tries again: settled, not debited twice
        svc.redeem(connect(card), c.Program.BLT, AMOUNT, PIN)
    assert again.value.reason is FailureReason.PREVIOUS_REDEMPTION_SETTLED
    assert card.state.tx_counter == 1
    assert card.state.grant_for(c.Program.BLT).remaining == 500_000  # type: ignore[union-attr]
    assert svc.ledger.get(rid).state is State.COMMITTED and printer.printed == [(rid, False)]
    assert_ledger_equals_card(svc, card)


@pytest.mark.parametrize("sw", ["9101", "9102", "9103", "6982", "6985", "6A88"])
def test_a_refusal_the_card_never_gave_does_not_write_off_its_debit(sw: str) -> None:
    """A relay lets the card debit and answers with a §5.12 refusal: the card's signed state is read
    again, shows the record, and the redemption stands (with its receipt)."""
    card, svc, printer = _setup()
    relay = Relay(card, c.INS_DEBIT, answer=bytes.fromhex(sw))
    done = svc.redeem(session(relay), c.Program.BLT, AMOUNT, PIN)
    assert isinstance(done, Redemption)
    assert done.entry.state is State.COMMITTED and done.entry.recovered
    assert printer.printed == [(done.entry.id, False)]
    assert FailureReason.REFUSAL_CONTRADICTED in _reasons(svc)
    assert_ledger_equals_card(svc, card)


@pytest.mark.parametrize(
    ("sw", "reason"),
    [
        ("9101", FailureReason.INSUFFICIENT_BALANCE),
        ("9102", FailureReason.COUNTER_MISMATCH),
        ("9103", FailureReason.NOT_VALID_NOW),
        ("6A88", FailureReason.NOT_ENROLLED),
        ("6982", FailureReason.CARD_REFUSED),
        ("6985", FailureReason.CARD_REFUSED),
    ],
)
def test_a_confirmed_refusal_closes_the_intent(sw: str, reason: FailureReason) -> None:
    card, svc, printer = _setup()
    relay = Relay(card, c.INS_DEBIT, answer=bytes.fromhex(sw), forward=False)  # the card never sees it
    with pytest.raises(RedemptionRefused) as err:
        svc.redeem(session(relay), c.Program.BLT, AMOUNT, PIN)
    assert err.value.reason is reason
    assert card.state.tx_counter == 0 and printer.printed == []
    (entry,) = svc.ledger.entries()
    assert entry.state is State.ABANDONED
    assert _reasons(svc) == [reason]
    assert_ledger_equals_card(svc, card)


def test_a_real_counter_mismatch_is_refused_and_settled() -> None:
    """Another terminal debits between this terminal's tap and its DEBIT: the card refuses (9102)."""
    card, svc, _ = _setup()
    other = service()
    ours = connect(card)

    def sneak_in(point: str) -> None:
        if point == "after_intent":
            other.redeem(connect(card), c.Program.SEMBAKO, 1_000, PIN)
            ours.select()  # the card's one session: the PIN is verified again for our DEBIT (our key)
            ours.verify_pin(PIN, card_key(ours))

    svc.fault = sneak_in
    with pytest.raises(RedemptionRefused) as err:
        svc.redeem(ours, c.Program.BLT, AMOUNT, PIN)
    assert err.value.reason is FailureReason.COUNTER_MISMATCH
    assert svc.ledger.entries()[0].state is State.ABANDONED
    assert card.state.grant_for(c.Program.BLT).remaining == 600_000  # type: ignore[union-attr]


# -- item 6: every failure recorded and typed, at every APDU ------------------------------------------

_POINTS = {
    "SELECT": c.INS_SELECT,
    "GET DATA": c.INS_GET_DATA,
    "INTERNAL AUTHENTICATE": c.INS_INTERNAL_AUTHENTICATE,
    "VERIFY": c.INS_VERIFY,
    "DEBIT": c.INS_DEBIT,
}
_ANSWERS = [
    *(int(sw).to_bytes(2, "big") for sw in c.SW if sw != c.SW.OK),
    bytes.fromhex("6B00"),
    bytes.fromhex("63C1"),
    b"\x6f\x03\x01\x02" + OK,
    OK,
    LOST,
]


@pytest.mark.parametrize("answer", _ANSWERS, ids=lambda a: a.hex() if a != LOST else "lost")
@pytest.mark.parametrize(("point", "forward"), [*((p, True) for p in _POINTS), ("DEBIT", False)])
def test_every_answer_at_every_apdu_is_recorded_and_typed(point: str, forward: bool, answer: bytes) -> None:
    card, svc, printer = _setup()
    relay = Relay(card, _POINTS[point], answer=answer, forward=forward)
    try:
        done = svc.redeem(session(relay), c.Program.BLT, AMOUNT, PIN)
    except (RedemptionError, CardSessionError, CardConnectionError):
        done = None
    failures = svc.ledger.list_failures(limit=None)
    known = {r.value for r in FailureReason} | {r.value for r in Reason}
    assert {f.reason for f in failures} <= known
    if done is not None and not done.entry.recovered:  # 9000 to a forwarded VERIFY: nothing failed
        assert (point, answer[-2:]) == ("VERIFY", OK) and done.entry.state is State.COMMITTED
    else:
        assert failures, "a failure that was not recorded"
    if done is not None and done.entry.recovered:  # a lying refusal: the card's log proves the debit
        assert done.entry.state is State.COMMITTED
    assert card.state.tx_counter <= 1
    assert_ledger_equals_card(svc, card)
    assert len(printer.printed) == card.state.tx_counter  # one receipt per debit, never a second


@pytest.mark.parametrize("answer", _ANSWERS, ids=lambda a: a.hex() if a != LOST else "lost")
def test_every_answer_to_read_log_at_tap_is_recorded(answer: bytes) -> None:
    card, svc, _ = _setup()
    with pytest.raises(DebitInterrupted) as err:  # an open intent, debited on the card
        svc.redeem(session(Relay(card, c.INS_DEBIT, answer=LOST)), c.Program.BLT, AMOUNT, PIN)
    before = len(svc.ledger.list_failures())
    with contextlib.suppress(CardSessionError, CardConnectionError):  # typed, or a settled-nothing tap
        svc.tap(session(Relay(card, c.INS_READ_LOG, answer=answer, forward=False)))
    failures = svc.ledger.list_failures(limit=None)
    assert len(failures) == before + 1
    assert svc.ledger.get(err.value.redemption_id).state is State.INTENT  # settled only by a real log
    with pytest.raises(RedemptionRefused) as refused:  # nor is the holder served again meanwhile
        svc.redeem(session(Relay(card, c.INS_READ_LOG, answer=OK, forward=False)), c.Program.BLT, AMOUNT, PIN)
    assert refused.value.reason is FailureReason.PREVIOUS_REDEMPTION_OPEN
    assert_ledger_equals_card(svc, card)
    assert card.state.tx_counter == 1


def test_a_forged_record_in_the_log_settles_nothing() -> None:
    card, svc, _ = _setup()
    with pytest.raises(DebitInterrupted) as err:
        svc.redeem(session(Relay(card, c.INS_DEBIT, answer=LOST)), c.Program.BLT, AMOUNT, PIN)

    # the emulator has no card key: it cannot sign; it answers the card's log with one byte changed
    def corrupt(answer: bytes) -> bytes:
        return answer[:-3] + bytes([answer[-3] ^ 1]) + answer[-2:]

    svc.tap(session(Relay(card, c.INS_READ_LOG, rewrite_answer=corrupt)))
    assert svc.ledger.get(err.value.redemption_id).state is State.INTENT
    assert FailureReason.LOG_RECORD_NOT_GENUINE in _reasons(svc)
    assert_ledger_equals_card(svc, card)

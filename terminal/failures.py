"""Why a tap or a redemption failed: the one list of codes the ledger records and the UI words.

Codes are stable strings (stored in ``failures.reason``, uploaded, counted in the end-of-day report);
a tap refused for its verdict records the verifier's own :class:`terminal.verify.Reason` instead.
Printer faults are recorded as ``printer_<fault>`` by the receipt path.
"""

from __future__ import annotations

import enum


class FailureReason(enum.StrEnum):
    # checked by the terminal before anything is asked of the card
    NOT_ENROLLED = "not_enrolled"
    ENTITLEMENT_EXPIRED = "entitlement_expired"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    BAD_AMOUNT = "bad_amount"
    BAD_PIN_FORMAT = "bad_pin_format"
    PREVIOUS_REDEMPTION_SETTLED = "previous_redemption_settled"
    PREVIOUS_REDEMPTION_OPEN = "previous_redemption_open"  # its log could not settle it: tap again
    # VERIFY
    WRONG_PIN = "wrong_pin"
    PIN_BLOCKED = "pin_blocked"
    # DEBIT refused before the card's commit (SPEC §5.12), confirmed by the card's signed state
    COUNTER_MISMATCH = "counter_mismatch"
    NOT_VALID_NOW = "entitlement_not_valid_now"
    CARD_REFUSED = "card_refused"  # any other §5.12 refusal (card state, PIN consumed, no grant, ...)
    # the card, at any command
    CARD_REMOVED = "card_removed"  # the card left the reader (or the reader failed)
    CARD_ANSWER_MALFORMED = "card_answer_malformed"  # 9000 with data that breaks the contract
    CARD_ERROR = "card_error"  # a status word that does not fit the command sent
    # after the DEBIT was sent: the card may have debited
    DEBIT_OUTCOME_UNKNOWN = "debit_outcome_unknown"  # intent open: settled from the card's log
    RECORD_NOT_GENUINE = "record_not_genuine"  # the record's signature fails: intent open
    RECORD_MISMATCH = "record_mismatch"  # card-signed, but not what was asked: relay? kept for audit
    RECORD_NOT_STORED = "record_not_stored"  # the ledger could not store the card's record: intent open
    REFUSAL_CONTRADICTED = "refusal_contradicted"  # "refused", yet the card's log shows the debit
    # tap / reconciliation
    LOG_RECORD_NOT_GENUINE = "log_record_not_genuine"  # READ LOG: a record the card did not sign, or gaps
    UNRESOLVED_INTENT = "unresolved_intent"  # the card's log cannot settle an intent here: audit

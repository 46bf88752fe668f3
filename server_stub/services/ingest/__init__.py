"""What terminals upload, ingested exactly once: card-signed redemption records (every signature
verified, clones, replays and impossible claims flagged, terminal scope enforced), voids and failure
events.

- :mod:`.parse` — the upload's shapes and step 1: decoding and checking each record;
- :mod:`.verify` — card signatures on a thread pool;
- :mod:`.store` — locks, lookups and storing, on PostgreSQL and SQLite (:mod:`.db`: bulk plumbing);
- :mod:`.suspicions` — double spending, clones, two places, impossible claims, the review list;
- :mod:`.claims` — what a record claims against its card (state at the time, expiry) and its grant;
- :mod:`.redemptions` — the redemption ingest, step by step;
- :mod:`.voids`, :mod:`.failures` — the other two uploads.
"""

from __future__ import annotations

from card_applet_spec.records import record_id
from server_stub.services.ingest.claims import (
    CLAIM_FLAGS,
    FLAG_AMOUNT_EXCEEDS_GRANT,
    FLAG_CARD_EXPIRED,
    FLAG_CARD_REVOKED,
    FLAG_CARD_SUSPENDED,
    FLAG_GRANT_MISMATCH,
    FLAG_UNKNOWN_GRANT,
)
from server_stub.services.ingest.failures import FailureIn, ingest_failures
from server_stub.services.ingest.parse import (
    REJECT_DIFFERS_FROM_STORED,
    REJECT_FOREIGN_TERMINAL,
    Outcome,
    RecordIn,
    RecordResult,
    parse_records,
)
from server_stub.services.ingest.redemptions import ingest_redemptions
from server_stub.services.ingest.suspicions import (
    CLONE_FLAGS,
    FLAG_COUNTER_CONFLICT,
    FLAG_COUNTER_REGRESSION,
    FLAG_IMPLAUSIBLE_TIME,
    FLAG_TWO_PLACES,
    FLAG_UNKNOWN_PROGRAM,
    FLAG_UNKNOWN_TERMINAL,
    MAX_CLOCK_AHEAD_S,
)
from server_stub.services.ingest.verify import CARD_KEYS, VERIFY_THREADS
from server_stub.services.ingest.voids import REJECT_NOT_OWN_RECORD, VoidIn, ingest_voids

__all__ = [
    "CARD_KEYS",
    "CLAIM_FLAGS",
    "CLONE_FLAGS",
    "FLAG_AMOUNT_EXCEEDS_GRANT",
    "FLAG_CARD_EXPIRED",
    "FLAG_CARD_REVOKED",
    "FLAG_CARD_SUSPENDED",
    "FLAG_COUNTER_CONFLICT",
    "FLAG_COUNTER_REGRESSION",
    "FLAG_GRANT_MISMATCH",
    "FLAG_IMPLAUSIBLE_TIME",
    "FLAG_TWO_PLACES",
    "FLAG_UNKNOWN_GRANT",
    "FLAG_UNKNOWN_PROGRAM",
    "FLAG_UNKNOWN_TERMINAL",
    "MAX_CLOCK_AHEAD_S",
    "REJECT_DIFFERS_FROM_STORED",
    "REJECT_FOREIGN_TERMINAL",
    "REJECT_NOT_OWN_RECORD",
    "VERIFY_THREADS",
    "FailureIn",
    "Outcome",
    "RecordIn",
    "RecordResult",
    "VoidIn",
    "ingest_failures",
    "ingest_redemptions",
    "ingest_voids",
    "parse_records",
    "record_id",
]

"""What an upload holds and what becomes of it, and step 1 of the redemption ingest: decode every record
strictly (the card contract's :meth:`TxRecord.unpack`), recompute its id, check the envelope against
the record and that the record names the uploading terminal (terminal scope)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

from card_applet_spec.records import RecordError, TxRecord, record_id

#: What became of one item of a void / failure / interest batch.
Outcome = Literal["stored", "duplicate", "rejected"]

#: Terminal scope: a record that names another terminal than the one uploading it.
REJECT_FOREIGN_TERMINAL = "foreign_terminal"
#: A re-upload (or a second copy in the batch) that is not the upload stored: another signature over
#: the same record, or ``voided`` where the stored record is not (voids go through ``/v1/sync/voids``).
REJECT_DIFFERS_FROM_STORED = "differs_from_stored"
#: The refusals that mean a terminal tried to go beyond its scope (audited).
SCOPE_REJECTS = frozenset({REJECT_FOREIGN_TERMINAL, REJECT_DIFFERS_FROM_STORED})


class RecordIn(NamedTuple):
    """One uploaded record (immutable; a named tuple: thousands are made per batch)."""

    record_id: str
    record: bytes
    signature: bytes
    card_serial: str
    terminal_id: str
    ledger_id: str | None = None
    kind: str | None = None
    voided: bool = False
    void_reason: str | None = None


class RecordResult(NamedTuple):
    record_id: str
    result: str  # stored | duplicate | flagged | rejected
    reason: str | None = None
    flags: tuple[str, ...] = ()


#: A suspicion: kind, the other record's id (if any), detail.
FlagOf = tuple[str, str | None, str]


@dataclass(slots=True)
class Candidate:
    """A record that passed parsing, with the decoded fields the later steps use. Slots only and no
    per-record list until a record is flagged: thousands live through the request, and every object
    that does ends up in the GC's old generation, whose full collections walk the whole heap."""

    index: int
    item: RecordIn
    counter: int  # tx_counter
    time: int  # terminal_time
    tx_type: int
    program: int
    grant_seq: int
    amount: int
    balance_after: int
    region: int = 0
    flags: list[FlagOf] | None = None

    def flag(self, kind: str, other: str | None, detail: str) -> None:
        if self.flags is None:
            self.flags = []
        self.flags.append((kind, other, detail))


def parse_records(
    batch: Sequence[RecordIn], results: list[RecordResult | None], own: str
) -> tuple[list[Candidate], dict[int, int]]:
    """Decode every record, recompute its id, check the envelope and that the record names the
    uploading terminal ``own`` (terminal scope: a terminal uploads the records it made, no other's).
    A refusal goes into ``results`` at the item's index. The first copy of each id in the batch is a
    candidate; a later copy that is the same upload (signature, ``voided``) shares its result
    (returned: copy's index -> first copy's index), one that is not is refused here."""
    candidates: list[Candidate] = []
    first: dict[str, RecordIn] = {}
    first_index: dict[str, int] = {}
    copies: dict[int, int] = {}
    unpack = TxRecord.unpack
    for i, item in enumerate(batch):
        record = item.record
        try:
            _v, tx_type, serial, counter, program, seq, amount, after, tid, _nonce, when = unpack(record)
        except RecordError:
            results[i] = RecordResult(item.record_id, "rejected", "malformed_record")
            continue
        rid = record_id(record)
        if rid != item.record_id:
            results[i] = RecordResult(item.record_id, "rejected", "record_id_mismatch")
        elif serial.hex() != item.card_serial or tid != item.terminal_id.encode("ascii", "replace"):
            results[i] = RecordResult(item.record_id, "rejected", "field_mismatch")
        elif item.terminal_id != own:
            results[i] = RecordResult(rid, "rejected", REJECT_FOREIGN_TERMINAL)
        elif rid in first:
            earlier = first[rid]
            if earlier.signature != item.signature or earlier.voided != item.voided:
                results[i] = RecordResult(rid, "rejected", REJECT_DIFFERS_FROM_STORED)
            else:
                copies[i] = first_index[rid]
        else:
            first[rid] = item
            first_index[rid] = i
            candidates.append(Candidate(i, item, counter, when, tx_type, program, seq, amount, after))
    return candidates, copies

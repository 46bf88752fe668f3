"""The crash-safe redemption ledger (SQLite, WAL, synchronous=FULL: every commit is durable).

A redemption moves through: INTENT (written *before* the card is asked to debit) → COMMITTED (the
card-signed record stored) → receipt printed → uploaded. Whatever step the process dies at, or the
card is pulled at, the next tap of that card reconciles the open intents against the card's own log
(READ LOG): a record carrying the intent's nonce is stored (recovered); an intent the card never
executed is ABANDONED. Nothing is lost, nothing doubled: ledger == card.

Voids are compensating rows, never deletes. Failures (wrong PIN, revoked, printer fault...) are
recorded as failures with their reason, never as "not yet collected".
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
    update,
)

from card_applet_spec import constants as c
from card_applet_spec.records import FORMAT_VERSION, TxRecord
from terminal.card.session import SignedTx
from terminal.db import begin_immediate
from terminal.failures import FailureReason


class State(enum.Enum):
    INTENT = "intent"
    COMMITTED = "committed"
    ABANDONED = "abandoned"  # the card never debited (shown by its log or counter)
    UNRESOLVED = "unresolved"  # the card's log no longer reaches back: needs an audit


class ReceiptState(enum.Enum):
    NONE = "none"
    PENDING = "pending"
    PRINTED = "printed"
    FAILED = "failed"


class LedgerError(Exception):
    pass


class RecordMismatch(LedgerError):
    """A card-signed record that is not the one the intent asked for (``fields``: which differ)."""

    def __init__(self, rid: str, fields: tuple[str, ...]) -> None:
        self.fields = fields
        super().__init__(f"{rid}: the card's record differs from the intent in {', '.join(fields)}")


metadata = MetaData()

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("state", String(16), nullable=False, index=True),
    Column("card_serial", LargeBinary(8), nullable=False, index=True),
    Column("program", Integer, nullable=False),
    Column("amount", Integer, nullable=False),
    Column("unit", Integer, nullable=False),
    Column("clerk_id", String(64), nullable=False),
    Column("terminal_id", String(8), nullable=False),
    Column("site", String(128), nullable=False),
    Column("nonce", LargeBinary(8), nullable=False, unique=True),
    Column("terminal_time", Integer, nullable=False),
    Column("expected_counter", Integer, nullable=False),
    # with the columns above, what the card must sign (SPEC §5.12 step 11), fixed before the DEBIT
    Column("tx_type", Integer, nullable=False),
    Column("grant_seq", Integer, nullable=False),
    Column("expected_balance_after", Integer, nullable=False),
    Column("credential", LargeBinary, nullable=False),
    Column("holder_name", String(64), nullable=False),
    Column("nik_masked", String(16), nullable=False),
    Column("data_age_s", Float, nullable=True),
    Column("tx_counter", Integer, nullable=True),
    Column("balance_after", Integer, nullable=True),
    Column("record", LargeBinary, nullable=True),
    Column("signature", LargeBinary, nullable=True),
    Column("record_id", String(32), nullable=True, unique=True),
    Column("recovered", Boolean, nullable=False, default=False),
    Column("receipt_state", String(16), nullable=False, default=ReceiptState.NONE.value),
    Column("receipt_error", String(256), nullable=True),
    Column("print_count", Integer, nullable=False, default=0),
    Column("note", String(256), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("uploaded_at", Float, nullable=True, index=True),
)

voids = Table(
    "voids",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("redemption_id", String(32), ForeignKey("redemptions.id"), nullable=False, unique=True),
    Column("reason", String(256), nullable=False),
    Column("clerk_id", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("uploaded_at", Float, nullable=True),
)

failures = Table(
    "failures",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reason", String(64), nullable=False, index=True),
    Column("detail", String(256), nullable=False),
    Column("card_serial", LargeBinary(8), nullable=True),
    Column("program", Integer, nullable=True),
    Column("clerk_id", String(64), nullable=True),
    Column("terminal_id", String(8), nullable=False),
    Column("redemption_id", String(32), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("uploaded_at", Float, nullable=True, index=True),
)


def record_id(record: bytes) -> str:
    """Stable id of a card-signed record (the same on every terminal and the server)."""
    return hashlib.sha256(record).hexdigest()[:32]


@dataclass(frozen=True)
class Intent:
    """What the terminal asks the card, and what it expects the card to sign back (SPEC §5.12 step 11).

    ``expected_counter``, ``grant_seq`` and the balance come from the verified INTERNAL AUTHENTICATE
    answer of the same session; ``tx_type`` from the programme's kind the card signed there.
    """

    card_serial: bytes
    program: int
    amount: int
    unit: int
    clerk_id: str
    terminal_id: str
    site: str
    nonce: bytes
    terminal_time: int
    expected_counter: int
    tx_type: int
    grant_seq: int
    expected_balance_after: int
    credential: bytes
    holder_name: str
    nik_masked: str
    data_age_s: float | None = None


@dataclass(frozen=True)
class Entry:
    """One ledger row, as the UI, receipts, sync and the CLI see it."""

    id: str
    state: State
    card_serial: bytes
    program: int
    amount: int
    unit: int
    clerk_id: str
    terminal_id: str
    site: str
    nonce: bytes
    terminal_time: int
    expected_counter: int
    credential: bytes
    holder_name: str
    nik_masked: str
    data_age_s: float | None
    tx_counter: int | None
    balance_after: int | None
    record: bytes | None
    signature: bytes | None
    record_id: str | None
    recovered: bool
    receipt_state: ReceiptState
    receipt_error: str | None
    print_count: int
    note: str | None
    created_at: float
    updated_at: float
    uploaded_at: float | None
    voided: bool = False
    tx_type: int | None = None
    grant_seq: int | None = None
    expected_balance_after: int | None = None


def expected_record(row: Intent | Entry) -> TxRecord:
    """The record the card must sign for this intent: every field fixed by the terminal or the card's
    signed state before the DEBIT (SPEC §5.12 step 11)."""
    if row.tx_type is None or row.grant_seq is None or row.expected_balance_after is None:
        raise LedgerError("the intent does not fix the whole record")
    return TxRecord(
        tx_type=row.tx_type,
        card_serial=row.card_serial,
        tx_counter=row.expected_counter + 1,
        program=row.program,
        grant_seq=row.grant_seq,
        amount=row.amount,
        balance_after=row.expected_balance_after,
        terminal_id=row.terminal_id.encode("ascii"),
        terminal_nonce=row.nonce,
        terminal_time=row.terminal_time,
        version=FORMAT_VERSION,
    )


def record_differences(expected: TxRecord, got: TxRecord) -> tuple[str, ...]:
    """The names of the fields in which ``got`` differs from ``expected`` (empty: the same record)."""
    names = (
        "version",
        "tx_type",
        "card_serial",
        "tx_counter",
        "program",
        "grant_seq",
        "amount",
        "balance_after",
        "terminal_id",
        "terminal_nonce",
        "terminal_time",
    )
    return tuple(n for n in names if getattr(expected, n) != getattr(got, n))


def record_type_for(kind: int) -> int:
    """The record type a DEBIT of a programme of this kind produces (SPEC §5.12 step 9)."""
    return c.TxType.DEBIT if kind in (c.Kind.CASH, c.Kind.QUANTITY) else c.TxType.CHECK_IN


@dataclass(frozen=True)
class Failure:
    id: str
    reason: str
    detail: str
    card_serial: bytes | None
    program: int | None
    clerk_id: str | None
    terminal_id: str
    redemption_id: str | None
    created_at: float
    uploaded_at: float | None


@dataclass(frozen=True)
class Void:
    id: str
    redemption_id: str
    reason: str
    clerk_id: str
    created_at: float
    uploaded_at: float | None


@dataclass(frozen=True)
class ReconcileReport:
    recovered: tuple[str, ...] = ()
    abandoned: tuple[str, ...] = ()
    unresolved: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.recovered or self.abandoned or self.unresolved)


@dataclass(frozen=True)
class DayTotals:
    date: dt.date
    per_program: dict[int, tuple[int, int]]  # program -> (count, amount)
    refusals: dict[str, int]  # reason -> count
    voids: int


class Ledger:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        metadata.create_all(engine)

    # -- the redemption steps --------------------------------------------------------------------
    def open_intent(self, intent: Intent) -> str:
        """Durably record the intent to debit; must happen before the DEBIT is sent."""
        now = self.clock()
        rid = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                insert(redemptions).values(
                    id=rid,
                    state=State.INTENT.value,
                    created_at=now,
                    updated_at=now,
                    recovered=False,
                    receipt_state=ReceiptState.NONE.value,
                    print_count=0,
                    **intent.__dict__,
                )
            )
        return rid

    def commit_record(self, rid: str, tx: SignedTx, *, recovered: bool = False) -> Entry:
        """Store the card-signed record for an open intent (idempotent for the same record).

        The record must be exactly the one the intent expects (:func:`expected_record`: every field,
        terminal time and balance after included), else :class:`RecordMismatch` and nothing is stored.
        Read and write happen in one write transaction.
        """
        r = tx.record
        with begin_immediate(self.engine) as conn:
            row = conn.execute(select(redemptions).where(redemptions.c.id == rid)).mappings().first()
            if row is None:
                raise LedgerError(f"no redemption {rid}")
            if row["state"] == State.COMMITTED.value:
                if row["record"] != tx.record_bytes:
                    raise LedgerError(f"{rid}: a different record is already stored")
                return self.get(rid)
            if row["state"] != State.INTENT.value:
                raise LedgerError(f"{rid}: cannot commit from state {row['state']}")
            differences = record_differences(expected_record(_entry({**row, "voided": False})), r)
            if differences or tx.record_bytes != r.encode():
                raise RecordMismatch(rid, differences or ("encoding",))
            conn.execute(
                update(redemptions)
                .where(redemptions.c.id == rid, redemptions.c.state == State.INTENT.value)
                .values(
                    state=State.COMMITTED.value,
                    tx_counter=r.tx_counter,
                    balance_after=r.balance_after,
                    record=tx.record_bytes,
                    signature=tx.signature,
                    record_id=record_id(tx.record_bytes),
                    recovered=recovered,
                    receipt_state=ReceiptState.PENDING.value,
                    updated_at=self.clock(),
                )
            )
        return self.get(rid)

    def flag_mismatch(self, rid: str, tx: SignedTx, error: RecordMismatch) -> None:
        """Close an intent whose card-signed record is not the one asked for (a relay or a forged card
        shifted it): UNRESOLVED, the record and its signature kept as evidence (never as a redemption,
        never on a receipt), and a ``record_mismatch`` failure for the centre to audit."""
        note = str(error)
        with begin_immediate(self.engine) as conn:
            query = select(redemptions).where(
                redemptions.c.id == rid, redemptions.c.state == State.INTENT.value
            )
            row = conn.execute(query).mappings().first()
            if row is None:
                return  # settled already (by another process)
            conn.execute(
                update(redemptions)
                .where(redemptions.c.id == rid)
                .values(
                    state=State.UNRESOLVED.value,
                    record=tx.record_bytes,
                    signature=tx.signature,
                    note=note[:256],
                    updated_at=self.clock(),
                )
            )
        self.record_failure(
            FailureReason.RECORD_MISMATCH,
            note,
            terminal_id=row["terminal_id"],
            card_serial=row["card_serial"],
            program=row["program"],
            clerk_id=row["clerk_id"],
            redemption_id=rid,
        )

    def close_intent(self, rid: str, state: State, note: str) -> None:
        if state not in (State.ABANDONED, State.UNRESOLVED):
            raise LedgerError("an intent closes as abandoned or unresolved")
        with self.engine.begin() as conn:
            conn.execute(
                update(redemptions)
                .where(redemptions.c.id == rid, redemptions.c.state == State.INTENT.value)
                .values(state=state.value, note=note[:256], updated_at=self.clock())
            )

    def mark_receipt(self, rid: str, state: ReceiptState, error: str | None = None) -> None:
        values: dict[str, object] = {
            "receipt_state": state.value,
            "receipt_error": error,
            "updated_at": self.clock(),
        }
        if state is ReceiptState.PRINTED:
            values["print_count"] = redemptions.c.print_count + 1
        with self.engine.begin() as conn:
            conn.execute(update(redemptions).where(redemptions.c.id == rid).values(**values))

    # -- reconciliation ----------------------------------------------------------------------------
    def open_intents(self, card_serial: bytes) -> list[Entry]:
        return self._entries(
            (redemptions.c.card_serial == card_serial) & (redemptions.c.state == State.INTENT.value)
        )

    def has_open_intents(self, card_serial: bytes) -> bool:
        with self.engine.connect() as conn:
            n = conn.execute(
                select(func.count())
                .select_from(redemptions)
                .where(redemptions.c.card_serial == card_serial, redemptions.c.state == State.INTENT.value)
            ).scalar_one()
        return bool(n)

    def reconcile(
        self, card_serial: bytes, card_log: Sequence[SignedTx], card_counter: int
    ) -> ReconcileReport:
        """Settle this card's open intents from its (already verified) log and current counter."""
        by_nonce = {tx.record.terminal_nonce: tx for tx in card_log}
        log_counters = {tx.record.tx_counter for tx in card_log}
        recovered, abandoned, unresolved = [], [], []
        for intent in self.open_intents(card_serial):
            match = by_nonce.get(intent.nonce)
            if match is not None:
                try:
                    self.commit_record(intent.id, match, recovered=True)
                except RecordMismatch as exc:  # the card signed our nonce into another record
                    self.flag_mismatch(intent.id, match, exc)
                    unresolved.append(intent.id)
                    continue
                recovered.append(intent.id)
            elif card_counter == intent.expected_counter:
                self.close_intent(intent.id, State.ABANDONED, "card never debited (counter unchanged)")
                abandoned.append(intent.id)
            elif intent.expected_counter + 1 in log_counters:
                self.close_intent(intent.id, State.ABANDONED, "card's next record is another transaction")
                abandoned.append(intent.id)
            elif card_counter < intent.expected_counter:
                self._unresolved(intent, "card counter behind the intent: another card with this serial?")
                unresolved.append(intent.id)
            else:
                self._unresolved(intent, "card log no longer reaches the intent")
                unresolved.append(intent.id)
        return ReconcileReport(tuple(recovered), tuple(abandoned), tuple(unresolved))

    def _unresolved(self, intent: Entry, note: str) -> None:
        """Close an intent nobody can settle here, and record it as a failure so the centre audits it."""
        self.close_intent(intent.id, State.UNRESOLVED, note)
        self.record_failure(
            FailureReason.UNRESOLVED_INTENT,
            note,
            terminal_id=intent.terminal_id,
            card_serial=intent.card_serial,
            program=intent.program,
            clerk_id=intent.clerk_id,
            redemption_id=intent.id,
        )

    # -- failures and voids ----------------------------------------------------------------------
    def record_failure(
        self,
        reason: str,
        detail: str,
        *,
        terminal_id: str,
        card_serial: bytes | None = None,
        program: int | None = None,
        clerk_id: str | None = None,
        redemption_id: str | None = None,
    ) -> str:
        fid = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                insert(failures).values(
                    id=fid,
                    reason=reason,
                    detail=detail[:256],
                    card_serial=card_serial,
                    program=program,
                    clerk_id=clerk_id,
                    terminal_id=terminal_id,
                    redemption_id=redemption_id,
                    created_at=self.clock(),
                )
            )
        return fid

    def void(self, redemption_id: str, reason: str, clerk_id: str) -> str:
        """A compensating void of a committed redemption; the original row is never changed."""
        if not reason.strip():
            raise LedgerError("a void needs a reason")
        entry = self.get(redemption_id)
        if entry.state is not State.COMMITTED:
            raise LedgerError("only a committed redemption can be voided")
        if entry.voided:
            raise LedgerError("already voided")
        vid = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                insert(voids).values(
                    id=vid,
                    redemption_id=redemption_id,
                    reason=reason.strip()[:256],
                    clerk_id=clerk_id,
                    created_at=self.clock(),
                )
            )
        return vid

    # -- reading ------------------------------------------------------------------------------------
    def _entries(self, where: object = None, limit: int | None = None) -> list[Entry]:
        voided = select(voids.c.redemption_id)
        query = select(redemptions, redemptions.c.id.in_(voided).label("voided"))
        if where is not None:
            query = query.where(where)  # type: ignore[arg-type]
        query = query.order_by(redemptions.c.created_at.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_entry(dict(row)) for row in rows]

    def get(self, rid: str) -> Entry:
        rows = self._entries(redemptions.c.id == rid)
        if not rows:
            raise LedgerError(f"no redemption {rid}")
        return rows[0]

    def entries(self, limit: int | None = 100) -> list[Entry]:
        return self._entries(limit=limit)

    def committed_for_card(self, card_serial: bytes) -> list[Entry]:
        return self._entries(
            (redemptions.c.card_serial == card_serial) & (redemptions.c.state == State.COMMITTED.value)
        )

    def receipts_pending(self) -> list[Entry]:
        return self._entries(
            (redemptions.c.state == State.COMMITTED.value)
            & redemptions.c.receipt_state.in_([ReceiptState.PENDING.value, ReceiptState.FAILED.value])
        )

    def list_failures(self, limit: int | None = 100) -> list[Failure]:
        query = select(failures).order_by(failures.c.created_at.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [Failure(**dict(r)) for r in conn.execute(query).mappings()]

    def list_voids(self) -> list[Void]:
        with self.engine.connect() as conn:
            return [Void(**dict(r)) for r in conn.execute(select(voids)).mappings()]

    # -- upload bookkeeping (sync) -----------------------------------------------------------------
    def unsynced(self) -> tuple[list[Entry], list[Failure], list[Void]]:
        entries = self._entries(
            (redemptions.c.state == State.COMMITTED.value) & redemptions.c.uploaded_at.is_(None), limit=None
        )
        with self.engine.connect() as conn:
            fails = [
                Failure(**dict(r))
                for r in conn.execute(select(failures).where(failures.c.uploaded_at.is_(None))).mappings()
            ]
            vs = [
                Void(**dict(r))
                for r in conn.execute(select(voids).where(voids.c.uploaded_at.is_(None))).mappings()
            ]
        return entries, fails, vs

    def pending_upload_count(self) -> int:
        entries, fails, vs = self.unsynced()
        return len(entries) + len(fails) + len(vs)

    def mark_uploaded(
        self,
        redemption_ids: Iterable[str] = (),
        failure_ids: Iterable[str] = (),
        void_ids: Iterable[str] = (),
    ) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            for table, ids in ((redemptions, redemption_ids), (failures, failure_ids), (voids, void_ids)):
                id_list = list(ids)
                if id_list:
                    conn.execute(update(table).where(table.c.id.in_(id_list)).values(uploaded_at=now))

    # -- reports ---------------------------------------------------------------------------------------
    def day_totals(self, day: dt.date, tz: dt.tzinfo) -> DayTotals:
        start = dt.datetime.combine(day, dt.time(), tz).timestamp()
        end = start + 86400
        per_program: dict[int, tuple[int, int]] = {}
        n_voids = 0
        for e in self._entries(
            (redemptions.c.state == State.COMMITTED.value)
            & (redemptions.c.terminal_time >= start)
            & (redemptions.c.terminal_time < end),
            limit=None,
        ):
            if e.voided:
                n_voids += 1
                continue
            count, amount = per_program.get(e.program, (0, 0))
            per_program[e.program] = (count + 1, amount + e.amount)
        refusals: dict[str, int] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(failures.c.reason, func.count())
                .where(failures.c.created_at >= start, failures.c.created_at < end)
                .group_by(failures.c.reason)
            ).all()
        for reason, count in rows:
            refusals[reason] = count
        return DayTotals(day, per_program, refusals, n_voids)


def _entry(row: dict[str, object]) -> Entry:
    row["state"] = State(row["state"])
    row["receipt_state"] = ReceiptState(row["receipt_state"])
    row["voided"] = bool(row["voided"])
    return Entry(**row)  # type: ignore[arg-type]

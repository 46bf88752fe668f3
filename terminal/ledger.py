"""The crash-safe redemption ledger (SQLite, WAL, synchronous=FULL: every commit is durable).

A redemption moves through: INTENT (written *before* the card is asked to debit) → COMMITTED (the
card-signed record stored) → receipt printed → uploaded. Whatever step the process dies at, or the
card is pulled at, the next tap of that card reconciles the open intents against the card's own log
(READ LOG): a record carrying the intent's nonce is stored (recovered); an intent the card never
executed is ABANDONED. Nothing is lost, nothing doubled: ledger == card.

Voids are compensating rows, never deletes, with the terminal's signed void attestation; reprints are
rows too (time, clerk, copy number). Failures (wrong PIN, revoked, printer fault...) are recorded as
failures with their reason, never as "not yet collected".

Schema: ``metadata.create_all`` makes missing tables; columns added since the first release are added to
an existing database by :func:`_add_missing_columns` (nullable, no data rewritten). Values read back from
the file are untrusted: the display texts are bounded, blobs type-checked, and a stored terminal
attestation is verified again before it goes on paper (``terminal.redeem``).
"""

from __future__ import annotations

import datetime as dt
import enum
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    insert,
    select,
    text,
    update,
)

from card_applet_spec import constants as c
from card_applet_spec.records import FORMAT_VERSION, TxRecord, record_id
from province.receipt_qr import RAW_SIGNATURE_LEN, RECEIPT_CERT_LEN, TerminalAttestation, receipt_reference
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
    Column("clerk_name", String(64), nullable=True),  # printed on the receipt and its copies
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
    # the terminal's receipt attestation (certificate 122 bytes, signature r||s 64), made once
    Column("receipt_cert", LargeBinary, nullable=True),
    Column("receipt_sig", LargeBinary, nullable=True),
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
    Column("clerk_name", String(64), nullable=True),
    Column("cert", LargeBinary, nullable=True),  # the terminal's void attestation
    Column("signature", LargeBinary, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("uploaded_at", Float, nullable=True),
)

reprints = Table(
    "reprints",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("redemption_id", String(32), ForeignKey("redemptions.id"), nullable=False, index=True),
    Column("copy_no", Integer, nullable=False),  # 1 for the first copy
    Column("clerk_id", String(64), nullable=False),
    Column("clerk_name", String(64), nullable=True),
    Column("voided", Boolean, nullable=False),  # printed as DIBATALKAN
    Column("created_at", Float, nullable=False),
    UniqueConstraint("redemption_id", "copy_no"),
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


@dataclass(frozen=True, kw_only=True)
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
    clerk_name: str = ""


@dataclass(frozen=True)
class VoidInfo:
    """Who voided an entry, when and why, and the terminal's void attestation (None: not signed)."""

    reason: str
    clerk_id: str
    clerk_name: str
    at: float
    attestation: TerminalAttestation | None = None


@dataclass(frozen=True, kw_only=True)
class Entry(Intent):
    """One ledger row, as the UI, receipts, sync and the CLI see it: the :class:`Intent` the terminal
    recorded before the DEBIT (its fields are this row's), then what became of it."""

    id: str
    state: State
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
    attestation: TerminalAttestation | None = None  # the terminal's receipt attestation, if made
    void: VoidInfo | None = None
    reprints: int = 0  # copies printed (or attempted) so far


def expected_record(row: Intent) -> TxRecord:
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
    clerk_name: str | None = None
    cert: bytes | None = None
    signature: bytes | None = None


@dataclass(frozen=True)
class Reprint:
    id: str
    redemption_id: str
    copy_no: int
    clerk_id: str
    clerk_name: str
    voided: bool
    created_at: float


def _line_reference(record: bytes | None, redemption_id: str) -> str:
    """The receipt reference of a ledger row (the card-signed record's), or the row id's first
    8 characters for a row without a record (never the case for a committed redemption)."""
    return receipt_reference(record) if record else redemption_id[:8]


@dataclass(frozen=True)
class VoidLine:
    """A void as the end-of-day report lists it (``at``: when it was voided, epoch seconds)."""

    reference: str
    program: int
    unit: int
    amount: int
    reason: str
    clerk: str
    at: float


@dataclass(frozen=True)
class ReprintLine:
    """A copy of a receipt printed that day (``copy_no`` 1 for the first copy)."""

    reference: str
    copy_no: int
    clerk: str
    at: float
    voided: bool = False


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
    """A day at this terminal. ``per_program`` is net (voided entries left out), ``gross`` counts every
    committed redemption, ``voided`` the voided ones: gross = net + voided, per programme."""

    date: dt.date
    per_program: dict[int, tuple[int, int]]  # program -> (count, amount), net of voids
    refusals: dict[str, int]  # reason -> count
    voids: int
    gross: dict[int, tuple[int, int]] = field(default_factory=dict)
    voided: dict[int, tuple[int, int]] = field(default_factory=dict)
    void_lines: tuple[VoidLine, ...] = ()
    reprint_lines: tuple[ReprintLine, ...] = ()


class Ledger:
    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.clock = clock
        metadata.create_all(engine)
        with begin_immediate(engine) as conn:
            _add_missing_columns(conn)

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

    def store_attestation(self, rid: str, attestation: TerminalAttestation) -> None:
        """Keep the terminal's receipt attestation of a committed entry (the same QR on every copy)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(redemptions)
                .where(redemptions.c.id == rid, redemptions.c.state == State.COMMITTED.value)
                .values(
                    receipt_cert=attestation.cert, receipt_sig=attestation.signature, updated_at=self.clock()
                )
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

    def void(
        self,
        redemption_id: str,
        reason: str,
        clerk_id: str,
        *,
        clerk_name: str = "",
        attestation: TerminalAttestation | None = None,
    ) -> str:
        """A compensating void of a committed redemption; the original row is never changed.

        ``attestation``: the terminal's signed void (``ReceiptKind.VOIDED``) for the void slip's QR.
        """
        if not reason.strip():
            raise LedgerError("a void needs a reason")
        vid = uuid.uuid4().hex
        with begin_immediate(self.engine) as conn:
            row = conn.execute(select(redemptions.c.state).where(redemptions.c.id == redemption_id)).first()
            if row is None:
                raise LedgerError(f"no redemption {redemption_id}")
            if row[0] != State.COMMITTED.value:
                raise LedgerError("only a committed redemption can be voided")
            done = conn.execute(select(voids.c.id).where(voids.c.redemption_id == redemption_id)).first()
            if done is not None:
                raise LedgerError("already voided")
            conn.execute(
                insert(voids).values(
                    id=vid,
                    redemption_id=redemption_id,
                    reason=reason.strip()[:256],
                    clerk_id=clerk_id,
                    clerk_name=clerk_name[:64] or None,
                    cert=attestation.cert if attestation else None,
                    signature=attestation.signature if attestation else None,
                    created_at=self.clock(),
                )
            )
        return vid

    def record_reprint(self, redemption_id: str, clerk_id: str, clerk_name: str = "") -> Reprint:
        """Number and record a copy before it is printed (the number is on the paper). A copy of a
        voided entry is recorded as such (and printed as DIBATALKAN by the receipt code)."""
        with begin_immediate(self.engine) as conn:
            state = conn.execute(select(redemptions.c.state).where(redemptions.c.id == redemption_id)).first()
            if state is None or state[0] != State.COMMITTED.value:
                raise LedgerError(f"{redemption_id}: only a committed redemption has a receipt to copy")
            last = conn.execute(
                select(func.max(reprints.c.copy_no)).where(reprints.c.redemption_id == redemption_id)
            ).scalar_one()
            voided = (
                conn.execute(select(voids.c.id).where(voids.c.redemption_id == redemption_id)).first()
                is not None
            )
            reprint = Reprint(
                id=uuid.uuid4().hex,
                redemption_id=redemption_id,
                copy_no=_int_or(last, 0) + 1,
                clerk_id=clerk_id,
                clerk_name=clerk_name[:64],
                voided=voided,
                created_at=self.clock(),
            )
            conn.execute(insert(reprints).values(**reprint.__dict__))
        return reprint

    def list_reprints(self, redemption_id: str | None = None) -> list[Reprint]:
        query = select(reprints).order_by(reprints.c.created_at, reprints.c.copy_no)
        if redemption_id is not None:
            query = query.where(reprints.c.redemption_id == redemption_id)
        with self.engine.connect() as conn:
            return [_reprint(dict(r)) for r in conn.execute(query).mappings()]

    # -- reading ------------------------------------------------------------------------------------
    def _entries(self, where: object = None, limit: int | None = None) -> list[Entry]:
        copies = (
            select(func.count())
            .select_from(reprints)
            .where(reprints.c.redemption_id == redemptions.c.id)
            .scalar_subquery()
        )
        query = select(
            redemptions,
            voids.c.reason.label("void_reason"),
            voids.c.clerk_id.label("void_clerk_id"),
            voids.c.clerk_name.label("void_clerk_name"),
            voids.c.created_at.label("void_at"),
            voids.c.cert.label("void_cert"),
            voids.c.signature.label("void_sig"),
            copies.label("reprints"),
        ).select_from(redemptions.outerjoin(voids, voids.c.redemption_id == redemptions.c.id))
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
        """Committed entries whose receipt has not printed yet (a voided entry owes none: its void
        slip is printed when it is voided)."""
        return self._entries(
            (redemptions.c.state == State.COMMITTED.value)
            & redemptions.c.receipt_state.in_([ReceiptState.PENDING.value, ReceiptState.FAILED.value])
            & voids.c.id.is_(None)
        )

    def list_failures(self, limit: int | None = 100) -> list[Failure]:
        query = select(failures).order_by(failures.c.created_at.desc())
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [Failure(**dict(r)) for r in conn.execute(query).mappings()]

    def list_voids(self) -> list[Void]:
        with self.engine.connect() as conn:
            return [_void(dict(r)) for r in conn.execute(select(voids)).mappings()]

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
                _void(dict(r))
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
        """The day's redemptions (by the signed terminal time) gross, voided and net per programme; the
        voids made that day or of that day's redemptions; the day's reprints; refusals by reason."""
        start = dt.datetime.combine(day, dt.time(), tz).timestamp()
        end = start + 86400
        gross: dict[int, tuple[int, int]] = {}
        voided: dict[int, tuple[int, int]] = {}
        net: dict[int, tuple[int, int]] = {}
        void_lines: list[VoidLine] = []
        committed = redemptions.c.state == State.COMMITTED.value
        in_day = (redemptions.c.terminal_time >= start) & (redemptions.c.terminal_time < end)
        void_in_day = (voids.c.created_at >= start) & (voids.c.created_at < end)
        for e in sorted(
            self._entries(committed & (in_day | void_in_day), limit=None), key=lambda e: e.terminal_time
        ):
            if start <= e.terminal_time < end:
                _add(gross, e.program, e.amount)
                _add(voided if e.voided else net, e.program, e.amount)
            if e.void is not None:
                void_lines.append(
                    VoidLine(
                        _line_reference(e.record, e.id),
                        e.program,
                        e.unit,
                        e.amount,
                        e.void.reason,
                        e.void.clerk_name or e.void.clerk_id,
                        e.void.at,
                    )
                )
        void_lines.sort(key=lambda v: v.at)
        records = {e.id: e.record for e in self._entries(committed & in_day, limit=None)}
        reprint_lines: list[ReprintLine] = []
        for r in self.list_reprints():
            if start <= r.created_at < end:
                if r.redemption_id not in records:
                    records[r.redemption_id] = self.get(r.redemption_id).record
                reprint_lines.append(
                    ReprintLine(
                        _line_reference(records[r.redemption_id], r.redemption_id),
                        r.copy_no,
                        r.clerk_name or r.clerk_id,
                        r.created_at,
                        r.voided,
                    )
                )
        refusals: dict[str, int] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(failures.c.reason, func.count())
                .where(failures.c.created_at >= start, failures.c.created_at < end)
                .group_by(failures.c.reason)
            ).all()
        for reason, count in rows:
            refusals[reason] = count
        return DayTotals(
            day,
            net,
            refusals,
            sum(n for n, _ in voided.values()),
            gross=gross,
            voided=voided,
            void_lines=tuple(void_lines),
            reprint_lines=tuple(reprint_lines),
        )


def _add(totals: dict[int, tuple[int, int]], program: int, amount: int) -> None:
    count, total = totals.get(program, (0, 0))
    totals[program] = (count + 1, total + amount)


#: Columns added after the first release: added to an existing database (all nullable).
_LATER_COLUMNS = {
    "redemptions": ("clerk_name", "receipt_cert", "receipt_sig"),
    "voids": ("clerk_name", "cert", "signature"),
}


def _add_missing_columns(conn: Connection) -> None:
    """``create_all`` makes missing tables but never alters one: add the later columns an older
    terminal database lacks (SQLite ``ALTER TABLE ADD COLUMN``; nullable, so no row is rewritten)."""
    for table in (redemptions, voids):
        present = {row[1] for row in conn.execute(text(f"PRAGMA table_info({table.name})"))}
        for name in _LATER_COLUMNS[table.name]:
            if name not in present:
                column = table.c[name]
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))


# -- reading rows back (the file is untrusted: types checked, texts bounded) ---------------------------


def _int_or(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _text(value: object, limit: int = 64) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _blob(value: object, length: int) -> bytes | None:
    return value if isinstance(value, bytes) and len(value) == length else None


def _attestation(cert: object, signature: object) -> TerminalAttestation | None:
    c_ok, s_ok = _blob(cert, RECEIPT_CERT_LEN), _blob(signature, RAW_SIGNATURE_LEN)
    return TerminalAttestation(c_ok, s_ok) if c_ok is not None and s_ok is not None else None


def _void(row: dict[str, object]) -> Void:
    row["clerk_name"] = _text(row.get("clerk_name")) or None
    row["cert"] = _blob(row.get("cert"), RECEIPT_CERT_LEN)
    row["signature"] = _blob(row.get("signature"), RAW_SIGNATURE_LEN)
    return Void(**row)  # type: ignore[arg-type]


def _reprint(row: dict[str, object]) -> Reprint:
    return Reprint(
        id=str(row["id"]),
        redemption_id=str(row["redemption_id"]),
        copy_no=_int_or(row["copy_no"], 0),
        clerk_id=_text(row["clerk_id"]),
        clerk_name=_text(row["clerk_name"]),
        voided=bool(row["voided"]),
        created_at=float(row["created_at"]),  # type: ignore[arg-type]
    )


def _entry(row: dict[str, object]) -> Entry:
    row["state"] = State(row["state"])
    row["receipt_state"] = ReceiptState(row["receipt_state"])
    row["clerk_name"] = _text(row.get("clerk_name"))
    row["attestation"] = _attestation(row.pop("receipt_cert", None), row.pop("receipt_sig", None))
    row["reprints"] = max(0, _int_or(row.pop("reprints", 0), 0))
    void_at = row.pop("void_at", None)
    void = VoidInfo(
        reason=_text(row.pop("void_reason", None), 256),
        clerk_id=_text(row.pop("void_clerk_id", None)),
        clerk_name=_text(row.pop("void_clerk_name", None)),
        at=float(void_at) if isinstance(void_at, (int, float)) else 0.0,
        attestation=_attestation(row.pop("void_cert", None), row.pop("void_sig", None)),
    )
    row["void"] = void if void_at is not None else None
    row["voided"] = void_at is not None or bool(row.get("voided"))
    return Entry(**row)  # type: ignore[arg-type]

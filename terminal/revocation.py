"""The terminal's revocation cache (signed status-list snapshot + deltas in SQLite) and freshness policy.

Storage — why signed blobs and not a folded list: the cache stores the raw signed snapshot and the raw
signed deltas applied since it, plus one state row (list id, seq, issued_at, size, fetched_at). No key
is stored: every blob is verified with the status-list keys of the verified trust list (picked by
``kid``, honouring each key's signing window), at apply time and at every load, and again whenever the
trust list's status-list keys change (a withdrawn key stops vouching for what it signed).

Applying a snapshot or a delta is ONE SQLite transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, WAL,
``synchronous=FULL``): a crash before COMMIT leaves the previous state, after COMMIT the new one.
Keeping the signed bytes rather than folding deltas into an unsigned 750 KB list means that

* a delta commit writes ~0.5 KB instead of rewriting the whole list (less fsync time and flash wear
  on the terminal's eMMC/SD card);
* everything on disk stays verifiable: on load every blob is re-verified and re-decoded, so a damaged
  or edited database (SQLite keeps no checksums) is a typed :class:`StatusStoreError`, never a silently
  wrong status.

The price is replaying the deltas since the last snapshot on load (a few ms for the xz snapshot plus
~0.1 ms per delta); the server bounds it by publishing a fresh snapshot now and then, which replaces
everything.

In memory the cache keeps the decompressed packed list as ``bytes``: ``status(index)`` is one index and
two shifts. The list is read from SQLite lazily, on first use after a restart. Each writer re-reads the
state row inside its write transaction, so two caches (or processes) on one database never fork the
chain; a cache sees another writer's change at its next write or after :meth:`RevocationCache.reload`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import NamedTuple, Protocol

from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    inspect,
    select,
)
from sqlalchemy.exc import DBAPIError

from card_applet_spec.constants import Program
from province.statuslist import (
    CardStatus,
    StatusDelta,
    StatusListError,
    StatusSnapshot,
    open_delta,
    open_snapshot,
)
from province.trust import SignedDataError, StatusListKey
from terminal.db import begin_immediate

log = logging.getLogger(__name__)


class RevocationError(Exception):
    """Base of the cache's typed errors (forged or malformed data raises ``StatusListError`` instead)."""


class NoStatusDataError(RevocationError):
    """The terminal has no status data at all."""


class StatusIndexError(RevocationError):
    """The status index lies outside the list (a card newer than the data, or a bad credential)."""


class StaleStatusError(RevocationError):
    """Older or already-applied data (rollback or replay), or data issued before what is held."""


class StatusGapError(RevocationError):
    """A delta that does not start at the held seq (or no snapshot yet): fetch a snapshot."""

    def __init__(self, message: str, *, have_seq: int | None, from_seq: int) -> None:
        self.have_seq = have_seq
        self.from_seq = from_seq
        super().__init__(message)


class StatusConflictError(RevocationError):
    """Data that contradicts what is held: another list id, other content under the same seq, a shrink."""


class StatusStoreError(RevocationError):
    """The stored status data cannot be read back or does not verify: apply a fresh snapshot."""


class StatusKeySource(Protocol):
    """Port: the status-list keys of the verified trust list, read live (``terminal.truststore.TrustStore``;
    ``province.trust.StatusKeyRing`` for tools and tests). May raise ``SignedDataError``."""

    @property
    def status_keys(self) -> tuple[StatusListKey, ...]: ...


_SNAPSHOT = "snapshot"
_DELTA = "delta"

metadata = MetaData()
_state_table = Table(
    "revocation_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("list_id", String, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("issued_at", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("fetched_at", Float, nullable=False),
    CheckConstraint("id = 1", name="revocation_state_single_row"),
)
_data_table = Table(
    "revocation_data",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),  # snapshot seq or delta to_seq
    Column("kind", String, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    CheckConstraint(f"kind IN ('{_SNAPSHOT}', '{_DELTA}')", name="revocation_data_kind"),
)


class _Meta(NamedTuple):
    list_id: str
    seq: int
    issued_at: int
    size: int
    fetched_at: float


@dataclass(frozen=True, slots=True)
class _State:
    list_id: str
    seq: int
    issued_at: int
    size: int
    fetched_at: float
    bits: bytes
    keys: tuple[StatusListKey, ...]  # the status-list keys it was verified with

    def meta(self) -> _Meta:
        return _Meta(self.list_id, self.seq, self.issued_at, self.size, self.fetched_at)


_STATUSES = tuple(CardStatus)


class RevocationCache:
    """Card statuses from the newest signed status-list data this terminal has applied."""

    def __init__(self, engine: Engine, keys: StatusKeySource) -> None:
        self._engine = engine
        self._keys = keys
        _drop_legacy_tables(engine)
        metadata.create_all(engine)
        self._state: _State | None = None
        self._loaded = False

    # --- reading ---------------------------------------------------------------------------------

    def status(self, index: int) -> CardStatus:
        """The status of one index: O(1) from memory. Raises NoStatusDataError / StatusIndexError."""
        state = self._state
        if state is None:
            state = self._require()
        if 0 <= index < state.size:
            return _STATUSES[(state.bits[index >> 2] >> ((index & 3) << 1)) & 3]
        raise StatusIndexError(f"status index {index} outside the list of {state.size}")

    def covers(self, index: int) -> bool:
        state = self._current()
        return state is not None and 0 <= index < state.size

    @property
    def seq(self) -> int | None:
        state = self._current()
        return None if state is None else state.seq

    @property
    def issued_at(self) -> int | None:
        """When the server issued the newest applied snapshot or delta (Unix seconds)."""
        state = self._current()
        return None if state is None else state.issued_at

    @property
    def fetched_at(self) -> float | None:
        """When this terminal applied it."""
        state = self._current()
        return None if state is None else state.fetched_at

    @property
    def size(self) -> int | None:
        state = self._current()
        return None if state is None else state.size

    @property
    def list_id(self) -> str | None:
        state = self._current()
        return None if state is None else state.list_id

    def age(self, now: float | None = None) -> float | None:
        """Seconds since the server issued the held data (negative if this clock is behind); None: no data."""
        state = self._current()
        if state is None:
            return None
        return (time.time() if now is None else now) - state.issued_at

    def reload(self) -> None:
        """Forget the in-memory list; the next use reads the database again."""
        self._state = None
        self._loaded = False

    # --- applying --------------------------------------------------------------------------------

    def apply_snapshot(self, raw: bytes, *, fetched_at: float | None = None) -> StatusSnapshot:
        """Verify (trust list's status-list keys) and store a snapshot; it replaces everything held.

        Refused: forged, malformed, or signed by a key outside its window (StatusListError); another
        list id or a smaller list (StatusConflictError); an older seq, or a newer seq issued before the
        held data (StaleStatusError).
        The same seq again is a no-op unless it was issued later (then it replaces the delta chain); its
        content must be identical (else StatusConflictError). A damaged store is repaired by a snapshot
        not older than its state row (by any snapshot if the state row itself is unreadable).
        """
        keys = self._status_keys()
        snapshot = open_snapshot(raw, keys)
        when = time.time() if fetched_at is None else fetched_at
        new = _State(
            snapshot.list_id, snapshot.seq, snapshot.issued_at, snapshot.size, when, snapshot.bits, keys
        )
        try:
            with begin_immediate(self._engine) as conn:
                try:
                    meta = _read_meta(conn)
                except StatusStoreError:
                    meta = None  # a damaged state row: the signed snapshot replaces everything
                if meta is not None:
                    _check_list(meta, snapshot.list_id)
                    if snapshot.seq < meta.seq:
                        raise StaleStatusError(
                            f"snapshot seq {snapshot.seq} is older than held seq {meta.seq}"
                        )
                    if snapshot.size < meta.size:
                        raise StatusConflictError(f"snapshot would shrink the list from {meta.size}")
                    if snapshot.seq == meta.seq:
                        try:
                            held: _State | None = self._sync(conn, meta, keys)
                        except StatusStoreError:
                            held = None  # damaged store: a signed snapshot of the same seq repairs it
                        if held is not None:
                            if held.size != snapshot.size or held.bits != snapshot.bits:
                                raise StatusConflictError(f"seq {snapshot.seq} published with other content")
                            if snapshot.issued_at <= held.issued_at:
                                return snapshot
                    elif snapshot.issued_at < meta.issued_at:
                        raise StaleStatusError(f"snapshot seq {snapshot.seq} issued before the held data")
                conn.execute(delete(_data_table))
                conn.execute(_data_table.insert().values(seq=snapshot.seq, kind=_SNAPSHOT, raw=bytes(raw)))
                conn.execute(delete(_state_table))
                conn.execute(_state_table.insert().values(id=1, **new.meta()._asdict()))
        except BaseException as exc:
            self._forget_unless_refused(exc)
            raise
        self._state, self._loaded = new, True
        return snapshot

    def apply_delta(self, raw: bytes, *, fetched_at: float | None = None) -> StatusDelta:
        """Verify (trust list's status-list keys) and apply the delta from the held seq to the next one.

        Refused: forged, malformed, or signed by a key outside its window (StatusListError); already
        applied or older (StaleStatusError);
        not starting at the held seq, or no snapshot yet (StatusGapError: fetch a snapshot); another
        list id or a smaller list (StatusConflictError); issued before the held data (StaleStatusError).
        """
        keys = self._status_keys()
        delta = open_delta(raw, keys)
        when = time.time() if fetched_at is None else fetched_at
        try:
            with begin_immediate(self._engine) as conn:
                meta = _read_meta(conn)
                if meta is None:
                    raise StatusGapError("no snapshot yet", have_seq=None, from_seq=delta.from_seq)
                _check_list(meta, delta.list_id)
                if delta.to_seq <= meta.seq:
                    raise StaleStatusError(f"delta to seq {delta.to_seq} already applied (held {meta.seq})")
                if delta.from_seq != meta.seq:
                    raise StatusGapError(
                        f"delta starts at seq {delta.from_seq}, held seq is {meta.seq}: fetch a snapshot",
                        have_seq=meta.seq,
                        from_seq=delta.from_seq,
                    )
                if delta.issued_at < meta.issued_at:
                    raise StaleStatusError(f"delta to seq {delta.to_seq} issued before the held data")
                if delta.size < meta.size:
                    raise StatusConflictError(f"delta would shrink the list from {meta.size}")
                held = self._sync(conn, meta, keys)
                buf = bytearray(held.bits)
                delta.apply_in_place(buf)
                new = _State(delta.list_id, delta.to_seq, delta.issued_at, delta.size, when, bytes(buf), keys)
                conn.execute(_data_table.insert().values(seq=delta.to_seq, kind=_DELTA, raw=bytes(raw)))
                conn.execute(
                    _state_table.update().where(_state_table.c.id == 1).values(**new.meta()._asdict())
                )
        except BaseException as exc:
            self._forget_unless_refused(exc)
            raise
        self._state, self._loaded = new, True
        return delta

    def refresh(self) -> None:
        """Pick up data another process (a sync) stored since, and re-verify what is held when the trust
        list's status-list keys changed; cheap when nothing changed (one row read)."""
        with self._engine.begin() as conn:
            meta = _read_meta(conn)
            if meta is None:
                self._state, self._loaded = None, True
            else:
                self._sync(conn, meta, self._status_keys())

    # --- internals -------------------------------------------------------------------------------

    def _current(self) -> _State | None:
        if not self._loaded:
            with self._engine.begin() as conn:
                meta = _read_meta(conn)
                if meta is None:
                    self._state, self._loaded = None, True
                else:
                    self._sync(conn, meta, self._status_keys())
        return self._state

    def _require(self) -> _State:
        state = self._current()
        if state is None:
            raise NoStatusDataError("no status-list data on this terminal")
        return state

    def _status_keys(self) -> tuple[StatusListKey, ...]:
        """The verified trust list's status-list keys; StatusStoreError when there are none to trust."""
        try:
            keys = tuple(self._keys.status_keys)
        except SignedDataError as exc:
            raise StatusStoreError(f"no verified trust list to check status data with: {exc}") from exc
        if not keys:
            raise StatusStoreError("no verified trust list to check status data with")
        return keys

    def _sync(self, conn: Connection, meta: _Meta, keys: tuple[StatusListKey, ...]) -> _State:
        """The held state matching ``meta`` (the state row just read) verified with ``keys``: memory if
        current, else the store (re-verified)."""
        state = self._state
        if self._loaded and state is not None and state.meta() == meta and state.keys == keys:
            return state
        self._state, self._loaded = None, False
        state = _load(conn, meta, keys)
        self._state, self._loaded = state, True
        return state

    def _forget_unless_refused(self, exc: BaseException) -> None:
        """After an unexpected failure the database is the truth: reload from it on next use."""
        if not isinstance(exc, RevocationError | StatusListError):
            self.reload()


def _check_list(meta: _Meta, list_id: str) -> None:
    if list_id != meta.list_id:
        raise StatusConflictError(f"data for list {list_id!r}, this terminal holds list {meta.list_id!r}")


def _read_meta(conn: Connection) -> _Meta | None:
    """The state row; None when there is none and no data either. StatusStoreError when damaged."""
    try:
        row = conn.execute(select(_state_table)).first()
        orphans = row is None and conn.execute(select(_data_table.c.seq).limit(1)).first() is not None
    except DBAPIError as exc:  # e.g. bytes planted as TEXT that is not UTF-8
        raise StatusStoreError("the stored state row is unreadable") from exc
    if row is None:
        if orphans:
            raise StatusStoreError("status data stored without its state row")
        return None
    meta = _Meta(row.list_id, row.seq, row.issued_at, row.size, row.fetched_at)
    if not (
        isinstance(meta.list_id, str)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in (meta.seq, meta.issued_at, meta.size))
        and isinstance(meta.fetched_at, float | int)
    ):
        raise StatusStoreError("the stored state row is damaged")
    return meta


def _drop_legacy_tables(engine: Engine) -> None:
    """Drop the old layout, which kept each blob's verification key next to it (the next sync or a
    snapshot fills the cache again)."""
    inspector = inspect(engine)
    if inspector.has_table("revocation_data") and "key_point" in {
        col["name"] for col in inspector.get_columns("revocation_data")
    }:
        log.warning("dropping the old revocation cache (it kept its own verification keys): sync again")
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE revocation_data")
            conn.exec_driver_sql("DROP TABLE IF EXISTS revocation_state")


def _load(conn: Connection, meta: _Meta, keys: tuple[StatusListKey, ...]) -> _State:
    """Re-verify the stored snapshot and deltas with ``keys`` and replay them; they must end exactly at
    ``meta``."""
    try:
        rows = conn.execute(select(_data_table).order_by(_data_table.c.seq)).all()
    except DBAPIError as exc:
        raise StatusStoreError("the stored status data is unreadable") from exc
    try:
        if not rows or rows[0].kind != _SNAPSHOT:
            raise StatusStoreError("no stored snapshot")
        snapshot = open_snapshot(rows[0].raw, keys)
        list_id, seq, issued_at, size = snapshot.list_id, snapshot.seq, snapshot.issued_at, snapshot.size
        if rows[0].seq != seq:
            raise StatusStoreError("stored snapshot does not match its row")
        buf = bytearray(snapshot.bits)
        for row in rows[1:]:
            delta = open_delta(row.raw, keys)
            if row.kind != _DELTA or row.seq != delta.to_seq or delta.from_seq != seq:
                raise StatusStoreError(f"stored delta chain broken at seq {row.seq}")
            if delta.list_id != list_id or delta.size < size:
                raise StatusStoreError(f"stored delta to seq {delta.to_seq} does not fit the list")
            delta.apply_in_place(buf)
            seq, issued_at, size = delta.to_seq, delta.issued_at, delta.size
    except SignedDataError as exc:
        raise StatusStoreError(f"stored status data does not verify: {exc}") from exc
    if (list_id, seq, issued_at, size) != (meta.list_id, meta.seq, meta.issued_at, meta.size):
        raise StatusStoreError("stored status data does not match the state row")
    return _State(list_id, seq, issued_at, size, meta.fetched_at, bytes(buf), keys)


# --- Freshness policy ----------------------------------------------------------------------------

HOUR_S = 3_600
DAY_S = 24 * HOUR_S

#: Default maximum age of revocation data per program, by risk: cash 24 h, staple food 48 h,
#: eligibility and application programs 7 days.
DEFAULT_PROGRAM_MAX_AGE_S: Mapping[Program, float] = MappingProxyType(
    {
        Program.BLT: 1 * DAY_S,
        Program.MODAL_TANI_NELAYAN: 1 * DAY_S,
        Program.SEMBAKO: 2 * DAY_S,
        Program.PENDIDIKAN: 7 * DAY_S,
        Program.KESEHATAN: 7 * DAY_S,
        Program.LAPANGAN_KERJA: 7 * DAY_S,
        Program.PERUMAHAN_GURU: 7 * DAY_S,
        Program.PELATIHAN: 7 * DAY_S,
    }
)
#: A plain check tap ("is my card fine, what is my balance?") that redeems nothing.
DEFAULT_CHECK_TAP_MAX_AGE_S = 7 * DAY_S
#: Default maximum age of the trust list (since the root signed it; the server re-signs it daily), by the
#: same risk tiers: cash 3 days, staple food 7 days, eligibility programs and check taps 30 days. Past
#: it a withdrawn issuer key or terminal could still be trusted: UNKNOWN, however fresh the status data.
DEFAULT_PROGRAM_TRUST_MAX_AGE_S: Mapping[Program, float] = MappingProxyType(
    {
        Program.BLT: 3 * DAY_S,
        Program.MODAL_TANI_NELAYAN: 3 * DAY_S,
        Program.SEMBAKO: 7 * DAY_S,
        Program.PENDIDIKAN: 30 * DAY_S,
        Program.KESEHATAN: 30 * DAY_S,
        Program.LAPANGAN_KERJA: 30 * DAY_S,
        Program.PERUMAHAN_GURU: 30 * DAY_S,
        Program.PELATIHAN: 30 * DAY_S,
    }
)
DEFAULT_CHECK_TAP_TRUST_MAX_AGE_S = 30 * DAY_S
#: Data issued further in the future than this means the terminal clock is wrong: not fresh.
DEFAULT_MAX_CLOCK_SKEW_S = 300


def _limits(table: Mapping[Program, float], check_tap: float, what: str) -> Mapping[Program, float]:
    limits = {Program(p): float(s) for p, s in table.items()}
    missing = set(Program) - set(limits)
    if missing:
        raise ValueError(f"no maximum {what} age for {sorted(p.name for p in missing)}")
    if any(not s > 0 for s in (*limits.values(), check_tap)):
        raise ValueError(f"maximum {what} ages must be positive")
    return MappingProxyType(limits)


def _limit(table: Mapping[Program, float], check_tap: float, program: int | None) -> float:
    if program is None:
        return check_tap
    try:
        return table[Program(program)]
    except ValueError:
        return min(table.values())


@dataclass(frozen=True)
class FreshnessPolicy:
    """How old revocation data and the trust list may be (seconds since the server signed them) for each
    purpose. Data only.

    ``program=None`` is a plain check tap. A program number this policy does not know gets the
    strictest limit of all.
    """

    program_max_age_s: Mapping[Program, float] = field(
        default_factory=lambda: DEFAULT_PROGRAM_MAX_AGE_S, hash=False
    )
    check_tap_max_age_s: float = DEFAULT_CHECK_TAP_MAX_AGE_S
    max_clock_skew_s: float = DEFAULT_MAX_CLOCK_SKEW_S
    program_trust_max_age_s: Mapping[Program, float] = field(
        default_factory=lambda: DEFAULT_PROGRAM_TRUST_MAX_AGE_S, hash=False
    )
    check_tap_trust_max_age_s: float = DEFAULT_CHECK_TAP_TRUST_MAX_AGE_S

    def __post_init__(self) -> None:
        if self.max_clock_skew_s < 0:
            raise ValueError("the clock skew must not be negative")
        table = _limits(self.program_max_age_s, self.check_tap_max_age_s, "data")
        object.__setattr__(self, "program_max_age_s", table)
        trust = _limits(self.program_trust_max_age_s, self.check_tap_trust_max_age_s, "trust list")
        object.__setattr__(self, "program_trust_max_age_s", trust)

    def max_age_s(self, program: int | None) -> float:
        """The maximum status-data age for a program (None: a check tap)."""
        return _limit(self.program_max_age_s, self.check_tap_max_age_s, program)

    def trust_list_max_age_s(self, program: int | None) -> float:
        """The maximum trust-list age for a program (None: a check tap)."""
        return _limit(self.program_trust_max_age_s, self.check_tap_trust_max_age_s, program)

    def is_fresh(self, program: int | None, age_s: float | None) -> bool:
        """Whether data of this age may back a VALID answer for the purpose (None age: no data: False)."""
        if age_s is None:
            return False
        return -self.max_clock_skew_s <= age_s <= self.max_age_s(program)

    def with_max_age(self, program: Program | None, seconds: float) -> FreshnessPolicy:
        """A copy with one limit changed (``program=None``: the check-tap limit)."""
        if program is None:
            return replace(self, check_tap_max_age_s=seconds)
        return replace(self, program_max_age_s={**self.program_max_age_s, program: seconds})

    def with_trust_list_max_age(self, program: Program | None, seconds: float) -> FreshnessPolicy:
        """A copy with one trust-list limit changed (``program=None``: the check-tap limit)."""
        if program is None:
            return replace(self, check_tap_trust_max_age_s=seconds)
        return replace(self, program_trust_max_age_s={**self.program_trust_max_age_s, program: seconds})

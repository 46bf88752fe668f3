"""The terminal's revocation cache: ordering rules, persistence, crash safety; the freshness policy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from card_applet_spec.constants import Program
from card_applet_spec.issuer import key_from_seed
from province.statuslist import (
    CardStatus,
    StatusListError,
    build_delta,
    build_snapshot,
    new_status_list,
    set_status,
)
from province.trust import StatusKeyRing
from terminal.db import make_engine
from terminal.revocation import (
    DAY_S,
    HOUR_S,
    FreshnessPolicy,
    NoStatusDataError,
    RevocationCache,
    StaleStatusError,
    StatusConflictError,
    StatusGapError,
    StatusIndexError,
    StatusStoreError,
)

NOW = 1_798_761_600
KEY_SEED = "KHBS test status-list key"
KEY = key_from_seed(KEY_SEED)
PUBLIC = KEY.public_key()
OTHER = key_from_seed("KHBS rogue status-list key")
RING = StatusKeyRing.of(PUBLIC)  # the trust list's status-list key
LIST_ID = "ID-62/khbs/status/1"
SIZE = 1000
REPO = Path(__file__).resolve().parents[1]

V, R, S = CardStatus.VALID, CardStatus.REVOKED, CardStatus.SUSPENDED


def snapshot(
    seq: int = 1, revoked: tuple[int, ...] = (3, 500), suspended: tuple[int, ...] = (7,), **kw: object
) -> bytes:
    size = int(kw.pop("size", SIZE))  # type: ignore[call-overload]
    statuses = new_status_list(size)
    for index in revoked:
        set_status(statuses, index, R)
    for index in suspended:
        set_status(statuses, index, S)
    fields: dict[str, object] = {"issued_at": NOW + seq, "list_id": LIST_ID, "key": KEY, "size": size}
    fields.update(kw)
    return build_snapshot(statuses, seq, **fields)  # type: ignore[arg-type]


def delta(from_seq: int, changes: dict[int, int], **kw: object) -> bytes:
    fields: dict[str, object] = {
        "size": SIZE,
        "issued_at": NOW + from_seq + 1,
        "list_id": LIST_ID,
        "key": KEY,
    }
    fields.update(kw)
    return build_delta(changes, from_seq, **fields)  # type: ignore[arg-type]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "terminal.db"


@pytest.fixture
def cache(db_path: Path) -> RevocationCache:
    return RevocationCache(make_engine(db_path), RING)


def reopened(db_path: Path) -> RevocationCache:
    return RevocationCache(make_engine(db_path), RING)


# --- no data, snapshot, lookups ----------------------------------------------------------------


def test_no_data_is_never_valid(cache: RevocationCache) -> None:
    with pytest.raises(NoStatusDataError):
        cache.status(0)
    assert cache.seq is None and cache.issued_at is None and cache.fetched_at is None and cache.size is None
    assert cache.age(NOW) is None
    assert not cache.covers(0)


def test_snapshot_lookups(cache: RevocationCache) -> None:
    applied = cache.apply_snapshot(snapshot(seq=4), fetched_at=NOW + 100)
    assert applied.seq == 4
    assert cache.status(3) is R and cache.status(500) is R and cache.status(7) is S
    assert cache.status(0) is V and cache.status(999) is V
    assert (cache.seq, cache.issued_at, cache.fetched_at, cache.size, cache.list_id) == (
        4,
        NOW + 4,
        NOW + 100,
        SIZE,
        LIST_ID,
    )
    assert cache.age(NOW + 3600) == 3600 - 4
    assert cache.covers(999) and not cache.covers(1000) and not cache.covers(-1)


@pytest.mark.parametrize("index", [-1, -1000, SIZE, SIZE + 3, 10**9])
def test_index_outside_the_list_is_an_error(cache: RevocationCache, index: int) -> None:
    cache.apply_snapshot(snapshot())
    with pytest.raises(StatusIndexError):
        cache.status(index)


def test_in_memory_database() -> None:
    cache = RevocationCache(make_engine(":memory:"), RING)
    cache.apply_snapshot(snapshot())
    cache.apply_delta(delta(1, {3: V}))
    assert cache.status(3) is V and cache.seq == 2


# --- deltas ------------------------------------------------------------------------------------


def test_deltas_apply_in_order(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    cache.apply_delta(delta(1, {3: V, 4: R, 999: S}), fetched_at=NOW + 50)
    assert (cache.status(3), cache.status(4), cache.status(999), cache.status(500)) == (V, R, S, R)
    assert (cache.seq, cache.issued_at, cache.fetched_at) == (2, NOW + 2, NOW + 50)
    cache.apply_delta(delta(2, {4: V}))
    assert cache.status(4) is V and cache.seq == 3


def test_empty_delta_refreshes_the_age(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    cache.apply_delta(delta(1, {}, issued_at=NOW + DAY_S))
    assert cache.age(NOW + DAY_S + 60) == 60 and cache.seq == 2


def test_delta_can_grow_the_list(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    cache.apply_delta(delta(1, {1500: R}, size=2001))
    assert cache.size == 2001 and cache.status(1500) is R and cache.status(2000) is V and cache.status(3) is R


def test_replayed_or_older_delta_is_refused(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    first = delta(1, {10: R})
    cache.apply_delta(first)
    cache.apply_delta(delta(2, {11: R}))
    for raw in (first, delta(2, {11: R})):
        with pytest.raises(StaleStatusError, match="already applied"):
            cache.apply_delta(raw)
    assert cache.seq == 3


def test_gap_asks_for_a_snapshot(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    with pytest.raises(StatusGapError, match="fetch a snapshot") as info:
        cache.apply_delta(delta(2, {10: R}))
    assert (info.value.have_seq, info.value.from_seq) == (1, 2)
    assert cache.seq == 1 and cache.status(10) is V


def test_delta_without_snapshot_is_a_gap(cache: RevocationCache) -> None:
    with pytest.raises(StatusGapError) as info:
        cache.apply_delta(delta(1, {10: R}))
    assert info.value.have_seq is None


def test_delta_of_another_list_or_shrinking_is_a_conflict(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    with pytest.raises(StatusConflictError, match="list"):
        cache.apply_delta(delta(1, {10: R}, list_id="other"))
    with pytest.raises(StatusConflictError, match="shrink"):
        cache.apply_delta(delta(1, {10: R}, size=SIZE - 1))


def test_delta_issued_before_held_data_is_stale(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=1, issued_at=NOW + 100))
    with pytest.raises(StaleStatusError, match="issued before"):
        cache.apply_delta(delta(1, {10: R}, issued_at=NOW + 99))


def test_forged_data_is_refused_and_changes_nothing(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    with pytest.raises(StatusListError):
        cache.apply_delta(delta(1, {3: V}, key=OTHER))
    with pytest.raises(StatusListError):
        cache.apply_snapshot(snapshot(seq=2, revoked=(), key=OTHER))
    with pytest.raises(StatusListError):
        cache.apply_snapshot(b"\xd2\x84garbage")
    assert cache.seq == 1 and cache.status(3) is R


# --- snapshots over held data ------------------------------------------------------------------


def test_snapshot_rollback_is_refused(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=5))
    with pytest.raises(StaleStatusError, match="older"):
        cache.apply_snapshot(snapshot(seq=4, revoked=()))
    assert cache.status(3) is R and cache.seq == 5


def test_newer_snapshot_replaces_the_delta_chain(cache: RevocationCache, db_path: Path) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    cache.apply_delta(delta(1, {10: R}))
    cache.apply_snapshot(snapshot(seq=9, revoked=(20,), suspended=()))
    assert (cache.status(3), cache.status(10), cache.status(20), cache.seq) == (V, V, R, 9)
    engine = make_engine(db_path)
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT seq, kind FROM revocation_data").all() == [(9, "snapshot")]


def test_same_snapshot_again_is_a_no_op(cache: RevocationCache) -> None:
    raw = snapshot(seq=2)
    cache.apply_snapshot(raw, fetched_at=NOW)
    cache.apply_snapshot(raw, fetched_at=NOW + 99)
    assert cache.fetched_at == NOW


def test_snapshot_at_the_held_seq_compacts_the_chain(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    cache.apply_delta(delta(1, {10: R}))
    cache.apply_snapshot(snapshot(seq=2, revoked=(3, 10, 500), issued_at=NOW + 500))
    assert cache.issued_at == NOW + 500 and cache.status(10) is R
    with pytest.raises(StatusConflictError, match="other content"):
        cache.apply_snapshot(snapshot(seq=2, revoked=(3,), issued_at=NOW + 600))


def test_snapshot_of_another_list_shrinking_or_backdated_is_refused(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=2, issued_at=NOW + 100))
    with pytest.raises(StatusConflictError, match="list"):
        cache.apply_snapshot(snapshot(seq=3, list_id="other"))
    with pytest.raises(StatusConflictError, match="shrink"):
        cache.apply_snapshot(snapshot(seq=3, size=SIZE - 4))
    with pytest.raises(StaleStatusError, match="issued before"):
        cache.apply_snapshot(snapshot(seq=3, issued_at=NOW + 99))


# --- persistence -------------------------------------------------------------------------------


def test_lookups_after_reopening(cache: RevocationCache, db_path: Path) -> None:
    cache.apply_snapshot(snapshot(seq=1), fetched_at=NOW + 1)
    cache.apply_delta(delta(1, {3: V, 4: R}), fetched_at=NOW + 2)
    cache.apply_delta(delta(2, {5: S}, size=1200), fetched_at=NOW + 3)
    again = reopened(db_path)
    assert [again.status(i) for i in (3, 4, 5, 7, 500, 1199)] == [V, R, S, S, R, V]
    assert (again.seq, again.issued_at, again.fetched_at, again.size) == (3, NOW + 3, NOW + 3, 1200)
    again.apply_delta(delta(3, {6: R}, size=1200))
    assert reopened(db_path).status(6) is R


def test_two_caches_on_one_database_never_fork(db_path: Path) -> None:
    first, second = reopened(db_path), reopened(db_path)
    first.apply_snapshot(snapshot(seq=1))
    assert second.status(3) is R  # loads seq 1
    first.apply_delta(delta(1, {10: R}))
    with pytest.raises(StaleStatusError):
        second.apply_delta(delta(1, {10: R}))
    second.apply_delta(delta(2, {11: R}))  # re-reads the store inside its transaction
    assert second.status(10) is R and second.status(11) is R
    first.reload()
    assert first.status(11) is R and first.seq == 3


def _corrupt(db_path: Path, sql: str, *params: object) -> None:
    with make_engine(db_path).begin() as conn:
        conn.exec_driver_sql(sql, tuple(params))


def test_damaged_store_is_an_error_then_repaired_by_a_snapshot(cache: RevocationCache, db_path: Path) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    cache.apply_delta(delta(1, {10: R}))
    with make_engine(db_path).begin() as conn:
        raw = conn.exec_driver_sql("SELECT raw FROM revocation_data WHERE seq = 2").scalar_one()
    _corrupt(db_path, "UPDATE revocation_data SET raw = ? WHERE seq = 2", raw[:-1] + bytes([raw[-1] ^ 1]))
    damaged = reopened(db_path)  # lazy: nothing is read yet
    with pytest.raises(StatusStoreError, match="does not verify"):
        damaged.status(10)
    with pytest.raises(StatusStoreError):
        damaged.apply_delta(delta(2, {11: R}))
    damaged.apply_snapshot(snapshot(seq=2, revoked=(3, 10, 500)))  # same seq: a repair
    assert damaged.status(10) is R and reopened(db_path).status(10) is R


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE revocation_state SET seq = 7",
        "UPDATE revocation_state SET issued_at = issued_at + 1",
        "DELETE FROM revocation_data WHERE kind = 'snapshot'",
        "DELETE FROM revocation_state",
        "UPDATE revocation_data SET kind = 'delta'",
        "UPDATE revocation_state SET seq = 'two'",
        "UPDATE revocation_state SET list_id = x'00'",
    ],
)
def test_inconsistent_store_is_an_error(cache: RevocationCache, db_path: Path, sql: str) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    cache.apply_delta(delta(1, {10: R}))
    _corrupt(db_path, sql)
    damaged = reopened(db_path)
    with pytest.raises(StatusStoreError):
        damaged.status(0)
    damaged.apply_snapshot(snapshot(seq=7, revoked=(10,)))  # a signed snapshot repairs it
    assert reopened(db_path).status(10) is R and reopened(db_path).seq == 7


# --- crash safety ------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from sqlalchemy import event
    from card_applet_spec.issuer import key_from_seed
    from terminal.db import make_engine
    from terminal.revocation import RevocationCache
    from province.trust import StatusKeyRing

    db, where, kind, raw_path, seed = sys.argv[1:]
    engine = make_engine(db)
    cache = RevocationCache(engine, StatusKeyRing.of(key_from_seed(seed).public_key()))
    if where == "commit":  # everything written, COMMIT not yet sent
        event.listen(engine, "commit", lambda conn: os._exit(17))
    else:  # between the steps: the first row written, the rest not
        def after(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("INSERT INTO REVOCATION_DATA"):
                os._exit(17)
        event.listen(engine, "after_cursor_execute", after)
    getattr(cache, "apply_" + kind)(Path(raw_path).read_bytes())
    os._exit(0)
    """
)


def crash_while_applying(tmp_path: Path, db_path: Path, kind: str, raw: bytes, where: str) -> None:
    script, raw_path = tmp_path / "child.py", tmp_path / "data.bin"
    script.write_text(CHILD)
    raw_path.write_bytes(raw)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, str(script), str(db_path), where, kind, str(raw_path), KEY_SEED]
    child = subprocess.run(args, cwd=REPO, env=env, capture_output=True, timeout=60, check=False)
    assert child.returncode == 17, child.stderr.decode()


@pytest.mark.parametrize("where", ["between-steps", "commit"])
def test_crash_while_applying_a_delta_keeps_the_previous_state(
    tmp_path: Path, db_path: Path, cache: RevocationCache, where: str
) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    cache.apply_delta(delta(1, {10: R}))
    crash_while_applying(tmp_path, db_path, "delta", delta(2, {10: V, 11: R}), where)
    after = reopened(db_path)
    assert (after.seq, after.status(10), after.status(11)) == (2, R, V)
    after.apply_delta(delta(2, {10: V, 11: R}))  # the same delta applies cleanly afterwards
    assert (reopened(db_path).seq, reopened(db_path).status(11)) == (3, R)


@pytest.mark.parametrize("where", ["between-steps", "commit"])
def test_crash_while_applying_a_snapshot_keeps_the_previous_state(
    tmp_path: Path, db_path: Path, cache: RevocationCache, where: str
) -> None:
    cache.apply_snapshot(snapshot(seq=1))
    cache.apply_delta(delta(1, {10: R}))
    crash_while_applying(tmp_path, db_path, "snapshot", snapshot(seq=5, revoked=(20,)), where)
    after = reopened(db_path)
    assert (after.seq, after.status(10), after.status(20), after.status(3)) == (2, R, V, R)


@pytest.fixture
def fail_on(db_path: Path) -> Iterator[Callable[[Engine, str], None]]:
    """``fail_on(engine, prefix)``: SQL statements starting with ``prefix`` raise inside the transaction."""
    installed: list[tuple[Engine, Callable[..., None]]] = []

    def install(engine: Engine, prefix: str) -> None:
        def before(*args: object) -> None:
            if str(args[2]).lstrip().upper().startswith(prefix):
                raise RuntimeError("power cut")

        event.listen(engine, "before_cursor_execute", before)
        installed.append((engine, before))

    yield install
    for engine, listener in installed:
        event.remove(engine, "before_cursor_execute", listener)


def test_failure_inside_the_transaction_rolls_back(
    db_path: Path, fail_on: Callable[[Engine, str], None]
) -> None:
    engine = make_engine(db_path)
    cache = RevocationCache(engine, RING)
    cache.apply_snapshot(snapshot(seq=1))
    fail_on(engine, "UPDATE REVOCATION_STATE")
    with pytest.raises(RuntimeError, match="power cut"):
        cache.apply_delta(delta(1, {10: R}))
    assert cache.seq == 1 and cache.status(10) is V
    assert reopened(db_path).seq == 1 and reopened(db_path).status(10) is V
    fail_on(engine, "INSERT INTO REVOCATION_STATE")
    with pytest.raises(RuntimeError, match="power cut"):
        cache.apply_snapshot(snapshot(seq=4, revoked=(10,)))
    assert cache.seq == 1 and reopened(db_path).status(10) is V


# --- freshness policy --------------------------------------------------------------------------

DEFAULT_TABLE = [
    (Program.BLT, 24 * HOUR_S),
    (Program.MODAL_TANI_NELAYAN, 24 * HOUR_S),
    (Program.SEMBAKO, 48 * HOUR_S),
    (Program.PENDIDIKAN, 7 * DAY_S),
    (Program.KESEHATAN, 7 * DAY_S),
    (Program.LAPANGAN_KERJA, 7 * DAY_S),
    (Program.PERUMAHAN_GURU, 7 * DAY_S),
    (Program.PELATIHAN, 7 * DAY_S),
    (None, 7 * DAY_S),  # a plain check tap
]


@pytest.mark.parametrize(("program", "limit"), DEFAULT_TABLE)
def test_default_freshness_table(program: Program | None, limit: int) -> None:
    policy = FreshnessPolicy()
    assert policy.max_age_s(program) == limit
    assert policy.is_fresh(program, 0)
    assert policy.is_fresh(program, limit)
    assert not policy.is_fresh(program, limit + 1)
    assert not policy.is_fresh(program, None)


def test_program_numbers_and_unknown_programs() -> None:
    policy = FreshnessPolicy()
    assert policy.max_age_s(int(Program.SEMBAKO)) == 48 * HOUR_S
    assert policy.max_age_s(99) == 24 * HOUR_S  # unknown: the strictest limit


def test_clock_far_behind_the_server_is_not_fresh() -> None:
    policy = FreshnessPolicy()
    assert policy.is_fresh(Program.BLT, -300)
    assert not policy.is_fresh(Program.BLT, -301)


def test_policy_is_configurable() -> None:
    policy = FreshnessPolicy().with_max_age(Program.BLT, 6 * HOUR_S).with_max_age(None, DAY_S)
    assert policy.max_age_s(Program.BLT) == 6 * HOUR_S and policy.max_age_s(None) == DAY_S
    assert FreshnessPolicy().max_age_s(Program.BLT) == DAY_S
    custom = FreshnessPolicy({p: HOUR_S for p in Program}, check_tap_max_age_s=2 * HOUR_S)
    assert custom.is_fresh(Program.PELATIHAN, HOUR_S) and not custom.is_fresh(Program.PELATIHAN, HOUR_S + 1)
    with pytest.raises(ValueError, match="no maximum data age"):
        FreshnessPolicy({Program.BLT: HOUR_S})
    with pytest.raises(ValueError, match="positive"):
        FreshnessPolicy().with_max_age(Program.SEMBAKO, 0)


def test_cache_age_with_policy(cache: RevocationCache) -> None:
    cache.apply_snapshot(snapshot(seq=1, issued_at=NOW))
    policy = FreshnessPolicy()
    assert policy.is_fresh(Program.BLT, cache.age(NOW + 23 * HOUR_S))
    assert not policy.is_fresh(Program.BLT, cache.age(NOW + 25 * HOUR_S))
    assert policy.is_fresh(Program.SEMBAKO, cache.age(NOW + 25 * HOUR_S))

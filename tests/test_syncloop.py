"""The background sync loop: rounds, backoff, the freshness deadline, sync-now, and surviving failures."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from terminal.syncloop import MIN_WAIT_S, SyncLoop, SyncLoopStatus


@dataclass
class Report:
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return not self.failed


class RecordingRounds:
    """A sync round that answers from a script and records each call; wakes waiters after each."""

    def __init__(self, *answers: Report | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.done = threading.Semaphore(0)

    def __call__(self) -> Report:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else Report()
        self.done.release()
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_round_records_success_and_failure() -> None:
    clock = Clock()
    seen: list[SyncLoopStatus] = []
    rounds = RecordingRounds(Report(), Report({"status_list": "unreachable"}), RuntimeError("bug"), Report())
    loop = SyncLoop(rounds, interval_s=300, clock=clock, on_round=seen.append)
    assert loop.run_round_now().last_success == 1_000.0
    clock.now = 1_300.0
    s = loop.run_round_now()
    assert (s.last_success, s.last_attempt, s.last_error) == (1_000.0, 1_300.0, "status_list: unreachable")
    clock.now = 1_600.0
    s = loop.run_round_now()  # a round that raises is a failed round, never a dead loop
    assert s.last_error == "internal: RuntimeError" and s.last_success == 1_000.0
    clock.now = 1_900.0
    s = loop.run_round_now()
    assert (s.rounds, s.last_success, s.last_error) == (4, 1_900.0, None)
    assert [x.rounds for x in seen] == [1, 2, 3, 4]


def test_wait_is_the_interval_the_backoff_or_the_freshness_deadline() -> None:
    backoff = [3_600.0]
    deadline: list[float | None] = [None]
    loop = SyncLoop(
        RecordingRounds(Report(), Report({"trust_list": "down"})),
        interval_s=300,
        next_delay=lambda: backoff[0],
        deadline=lambda: deadline[0],
    )
    loop.run_round_now()
    assert loop.wait_s() == 300  # healthy: never longer than the configured interval
    loop.run_round_now()
    assert loop.wait_s() == 3_600  # failing: the backoff
    deadline[0] = 120.0
    assert loop.wait_s() == 120  # the data would go stale first: pull before it does
    deadline[0] = -50.0
    assert loop.wait_s() == MIN_WAIT_S  # already late: as soon as allowed, not in a hot loop


def test_broken_policies_fall_back_to_the_interval() -> None:
    def broken() -> float:
        raise ValueError("no")

    loop = SyncLoop(RecordingRounds(), interval_s=60, next_delay=broken, deadline=broken)
    assert loop.wait_s() == 60


def test_the_thread_runs_at_once_again_on_sync_now_and_stops() -> None:
    rounds = RecordingRounds()
    loop = SyncLoop(rounds, interval_s=3_600)
    loop.start()
    try:
        assert rounds.done.acquire(timeout=10)  # first round at start
        loop.sync_now()  # a redemption was recorded
        assert rounds.done.acquire(timeout=10)
        assert loop.status().running and loop.status().next_attempt is not None
    finally:
        loop.stop()
    assert rounds.calls == 2 and not loop.status().running


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SyncLoop(RecordingRounds(), interval_s=0)

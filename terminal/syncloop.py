"""Sync that runs by itself: one round now and then, sooner after a redemption, backing off while the
server is unreachable, and never later than the terminal's data can afford.

:class:`SyncLoop` owns one daemon thread. Each round calls ``run_round`` (``Syncer.sync_once`` in a real
terminal: every step is tried, a failed step is recorded and retried next round; nothing queued is ever
dropped, so days without a server lose nothing). Between rounds it waits for the shortest of:

- ``next_delay()`` — the regular interval when healthy, exponential backoff with jitter after failures
  (``Syncer.next_delay``), capped by the configured interval when healthy;
- ``deadline()`` — seconds until the oldest data the terminal relies on would reach its freshness
  budget, minus a margin (so a kiosk pulls fresh revocation data *before* taps turn UNKNOWN);
- :meth:`sync_now` — a redemption was just recorded: upload it now.

The loop never raises: a round that raises is logged and counted as a failed round. :meth:`status`
says what the status bar shows (last success, last error, rounds, next attempt).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

log = logging.getLogger(__name__)

#: Never wait less than this between rounds (a server that answers errors at once is not hammered).
MIN_WAIT_S = 5.0


class RoundReport(Protocol):
    @property
    def success(self) -> bool: ...

    @property
    def failed(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class SyncLoopStatus:
    rounds: int = 0
    last_success: float | None = None
    last_attempt: float | None = None
    last_error: str | None = None  # None after a fully successful round
    next_attempt: float | None = None
    running: bool = False


class SyncLoop:
    def __init__(
        self,
        run_round: Callable[[], RoundReport],
        *,
        interval_s: float,
        next_delay: Callable[[], float] | None = None,
        deadline: Callable[[], float | None] | None = None,
        clock: Callable[[], float] = time.time,
        on_round: Callable[[SyncLoopStatus], None] | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("sync interval must be positive")
        self._run_round = run_round
        self.interval_s = float(interval_s)
        self._next_delay = next_delay
        self._deadline = deadline
        self._clock = clock
        self._on_round = on_round
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._status = SyncLoopStatus()
        self._thread: threading.Thread | None = None

    # -- control -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread; its first round runs at once."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="kartu-sync", daemon=True)
        self._set(running=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to stop and wait (a round in progress finishes first)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._set(running=False, next_attempt=None)

    def sync_now(self) -> None:
        """Run a round as soon as the current one (if any) ends: after a redemption, on a button."""
        self._wake.set()

    def status(self) -> SyncLoopStatus:
        with self._lock:
            return self._status

    # -- the thread ----------------------------------------------------------------------------------
    def run_round_now(self) -> SyncLoopStatus:
        """One round on the calling thread (``kartu sync`` is this, once)."""
        started = self._clock()
        error: str | None
        try:
            report = self._run_round()
            error = None if report.success else "; ".join(f"{k}: {v}" for k, v in report.failed.items())
        except Exception as exc:  # the loop must outlive any bug in a round
            log.exception("sync round failed")
            error = f"internal: {type(exc).__name__}"
        with self._lock:
            s = self._status
            self._status = replace(
                s,
                rounds=s.rounds + 1,
                last_attempt=started,
                last_success=started if error is None else s.last_success,
                last_error=error,
            )
            status = self._status
        if self._on_round is not None:
            try:
                self._on_round(status)
            except Exception:
                log.exception("sync status listener failed")
        return status

    def wait_s(self) -> float:
        """Seconds to wait before the next round (see the module docstring)."""
        delay = self.interval_s
        if self._next_delay is not None:
            try:
                delay = self._next_delay()
            except Exception:
                log.exception("sync delay policy failed")
            if self.status().last_error is None:
                delay = min(delay, self.interval_s)
        if self._deadline is not None:
            try:
                until = self._deadline()
            except Exception:
                log.exception("sync deadline failed")
                until = None
            if until is not None:
                delay = min(delay, until)
        return max(MIN_WAIT_S, delay)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            self.run_round_now()
            if self._stop.is_set():
                break
            wait = self.wait_s()
            self._set(next_attempt=self._clock() + wait)
            self._wake.wait(wait)

    def _set(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

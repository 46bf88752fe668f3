"""Threads: card I/O and printing run on one worker thread; reader events arrive as Qt signals.

- :class:`ReaderBridge` adapts the reader port (``terminal.readers``): the implementation calls it
  from its own thread, and it re-emits each event as a Qt signal, which Qt queues to the GUI thread.
- :class:`Jobs` owns a ``QThread`` with a :class:`_Worker` in it. ``submit(fn, ok, err)`` runs ``fn()``
  there — every call into the terminal core that touches a card, the printer or the database goes
  through it, one at a time — and calls ``ok(result)`` or ``err(exception)`` back on the GUI thread.
  ``forget()`` drops the callbacks of jobs still under way (the card left, the screen moved on), so a
  late answer can never paint over a newer screen.
- :class:`CardLink` is the card currently in the reader, touched only from jobs (the worker thread).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from kiosk_ui.qtcompat import emit
from terminal.card.connection import CardRemovedError
from terminal.card.session import KhbsSession
from terminal.readers import CardInserted, CardReaders, CardRemoved, ReaderEvent, ReadersChanged

log = logging.getLogger(__name__)


class ReaderBridge(QObject):
    inserted = Signal(object)  # CardInserted
    removed = Signal(object)  # CardRemoved
    changed = Signal(object)  # ReadersChanged

    def __init__(self, readers: CardReaders, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.readers = readers
        self.last: ReadersChanged | None = None
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self.readers.start(self._on_event)

    def stop(self) -> None:
        if self._started:
            self._started = False
            self.readers.stop()

    def _on_event(self, event: ReaderEvent) -> None:  # on the readers' thread: emit only
        if isinstance(event, CardInserted):
            emit(self.inserted, event)
        elif isinstance(event, CardRemoved):
            emit(self.removed, event)
        else:
            self.last = event
            emit(self.changed, event)


class CardLink:
    """The session with the card in the reader. Only jobs (the worker thread) touch it."""

    def __init__(self) -> None:
        self.session: KhbsSession | None = None
        self.reader: str | None = None
        self.sequence = -1

    def open(self, event: CardInserted) -> KhbsSession:
        self.close()
        self.session = KhbsSession(event.connect())
        self.reader, self.sequence = event.reader, event.sequence
        return self.session

    def current(self) -> KhbsSession:
        if self.session is None:
            raise CardRemovedError("no card in the reader")
        return self.session

    def close(self) -> None:
        session, self.session = self.session, None
        self.reader = None
        if session is not None:
            try:
                session.connection.close()
            except Exception:  # closing a link to a card that is gone may fail: nothing to do
                log.debug("closing the card connection failed", exc_info=True)


class _Worker(QObject):
    done = Signal(int, object)
    failed = Signal(int, object)

    @Slot(int, object)
    def run(self, token: int, fn: Callable[[], Any]) -> None:
        try:
            result = fn()
        except BaseException as exc:  # every failure goes back to the GUI as a value
            log.info("job %d failed: %s: %s", token, type(exc).__name__, exc)
            emit(self.failed, token, exc)
        else:
            emit(self.done, token, result)


class Jobs(QObject):
    _submit = Signal(int, object)
    #: Emitted when the queue becomes empty (tests wait on it).
    idle = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("card-worker")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[BaseException], None]]] = {}
        self._tokens = itertools.count(1)
        self._pending = 0
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def submit(
        self,
        fn: Callable[[], Any],
        ok: Callable[[Any], None] | None = None,
        err: Callable[[BaseException], None] | None = None,
    ) -> int:
        token = next(self._tokens)
        self._callbacks[token] = (ok or (lambda _r: None), err or _log_error)
        self._pending += 1
        emit(self._submit, token, fn)
        return token

    def forget(self) -> None:
        """Late results of the jobs submitted so far are dropped."""
        self._callbacks.clear()

    def _finish(self, token: int) -> tuple[Callable[[Any], None], Callable[[BaseException], None]] | None:
        self._pending -= 1
        callbacks = self._callbacks.pop(token, None)
        if self._pending == 0:
            emit(self.idle)
        return callbacks

    @Slot(int, object)
    def _on_done(self, token: int, result: object) -> None:
        callbacks = self._finish(token)
        if callbacks is not None:
            try:
                callbacks[0](result)
            except Exception as exc:  # a bug while showing a result: say so in plain words, never crash
                log.exception("showing the result of job %d failed", token)
                self._report(callbacks[1], exc)

    @Slot(int, object)
    def _on_failed(self, token: int, exc: object) -> None:
        callbacks = self._finish(token)
        if callbacks is not None:
            assert isinstance(exc, BaseException)
            self._report(callbacks[1], exc)

    @staticmethod
    def _report(err: Callable[[BaseException], None], exc: BaseException) -> None:
        try:
            err(exc)
        except Exception:
            log.exception("handling a job failure failed")

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self.forget()
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            log.warning("card worker did not stop in time")


def _log_error(exc: BaseException) -> None:
    log.warning("background job failed: %s: %s", type(exc).__name__, exc)


def now_ms() -> float:
    return time.perf_counter() * 1000

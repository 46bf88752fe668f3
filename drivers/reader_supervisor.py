"""The PC/SC reader supervisor: implements ``terminal.readers.CardReaders`` around SCardGetStatusChange.

A kiosk runs all day, through readers being unplugged and plugged back, several readers at once
(contact and contactless), and restarts of pcscd. pyscard's ``CardMonitor`` survives none of these (its
thread dies silently when pcscd restarts or a reader goes away, pyscard #82/#128; the global context
breaks after a service restart, #27; fast taps lose removals when the callback is slow, #220). So:

- one thread of our own owns one PC/SC context and blocks in SCardGetStatusChange on every reader plus
  the ``\\\\?PnP?\\Notification`` pseudo-reader, so reader arrival and departure wake it at once;
- any failure of the context (pcscd stopped or restarted: NO_SERVICE, INVALID_HANDLE, ...) reports the
  service down, reports every card removed, releases the context and establishes a new one every
  ``retry_s`` until pcscd answers again — no app restart;
- pcsc-lite's per-reader event counter (upper 16 bits of the event state) reveals a card swapped between
  two wake-ups: reported as a removal followed by an insertion, never lost;
- the listener only receives events; card I/O happens elsewhere, through the ``connect`` factory of
  :class:`~terminal.readers.CardInserted` (``drivers.pcsc.connect`` on that reader).

The scard API is injectable (``api=``) so the state machine can be tested with a fake as well as with
the real pcscd + vpcd.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from drivers import pcsc
from terminal.card.connection import Connection
from terminal.readers import (
    CardInserted,
    CardRemoved,
    ReaderEvent,
    ReaderInfo,
    ReaderListener,
    ReadersChanged,
    SlotState,
    reader_kind,
)

log = logging.getLogger(__name__)

PNP_NOTIFICATION = "\\\\?PnP?\\Notification"


class ScardApi(Protocol):
    """The part of ``smartcard.scard`` the supervisor uses (module attributes in the real thing)."""

    SCARD_S_SUCCESS: int
    SCARD_SCOPE_USER: int
    SCARD_E_TIMEOUT: int
    SCARD_E_CANCELLED: int
    SCARD_E_NO_READERS_AVAILABLE: int
    SCARD_E_UNKNOWN_READER: int
    SCARD_E_READER_UNAVAILABLE: int
    SCARD_STATE_UNAWARE: int
    SCARD_STATE_CHANGED: int
    SCARD_STATE_UNKNOWN: int
    SCARD_STATE_UNAVAILABLE: int
    SCARD_STATE_EMPTY: int
    SCARD_STATE_PRESENT: int
    SCARD_STATE_MUTE: int
    error: type[Exception]

    def SCardEstablishContext(self, scope: int) -> Any: ...
    def SCardReleaseContext(self, context: int) -> Any: ...
    def SCardListReaders(self, context: int, groups: list[str]) -> Any: ...
    def SCardGetStatusChange(self, context: int, timeout_ms: int, states: list[Any]) -> Any: ...
    def SCardCancel(self, context: int) -> Any: ...


def _default_api() -> ScardApi:
    from smartcard import scard

    api: ScardApi = scard  # pyscard ships no type hints: the module is Any to mypy
    return api


class _ServiceLost(Exception):
    """The context is no longer usable (pcscd stopped or restarted)."""


class ReaderSupervisor:
    """Watches every PC/SC reader from its own thread; see the module docstring.

    ``connect(reader)`` makes the Connection a CardInserted hands out (default: ``drivers.pcsc.connect``
    with ``connect_timeout``). ``wait_ms`` bounds each SCardGetStatusChange so the thread also notices a
    silent service loss; ``retry_s`` is the pause between attempts to reach a stopped pcscd.
    """

    def __init__(
        self,
        *,
        api: ScardApi | None = None,
        connect: Callable[[str], Connection] | None = None,
        connect_timeout: float = 2.0,
        wait_ms: int = 1000,
        retry_s: float = 0.2,
        ignore: Sequence[str] = (),
    ) -> None:
        self.api = api if api is not None else _default_api()
        self._connect = connect or functools.partial(_pcsc_connect, timeout=connect_timeout)
        self.wait_ms = wait_ms
        self.retry_s = retry_s
        self.ignore = tuple(ignore)
        self._listener: ReaderListener | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._context: int | None = None
        self._readers: dict[str, ReaderInfo] = {}
        self._known: dict[str, int] = {}
        self._service_up = False
        self._announced_down = False
        self._sequence = 0
        self._pnp = True
        self._last_announced: list[str] = []
        #: How often the context was (re-)established; tests and diagnostics read it.
        self.contexts_established = 0

    # -- port ------------------------------------------------------------------------------------------
    def start(self, listener: ReaderListener) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._listener = listener
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="pcsc-reader-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        self._cancel()
        thread.join(timeout)
        if thread.is_alive():
            log.warning("reader supervisor thread did not stop within %.1f s", timeout)

    def readers(self) -> tuple[ReaderInfo, ...]:
        with self._lock:
            return tuple(self._readers.values())

    @property
    def service_up(self) -> bool:
        return self._service_up

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the thread ----------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            context = self._establish()
            if context is None:
                self._service_down("PC/SC service not available")
                self._stopping.wait(self.retry_s)
                continue
            try:
                self._watch(context)
            except _ServiceLost as exc:
                log.info("PC/SC context lost (%s): re-establishing", exc)
                self._service_down(str(exc))
            except Exception:  # never let the supervisor die: log, drop the context, start over
                log.exception("reader supervisor failure: re-establishing the PC/SC context")
                self._service_down("reader supervisor error")
                self._stopping.wait(self.retry_s)
            finally:
                self._release(context)
        self._drop_all()

    def _establish(self) -> int | None:
        try:
            hresult, context = self.api.SCardEstablishContext(self.api.SCARD_SCOPE_USER)
        except self.api.error as exc:
            log.debug("establish context: %s", exc)
            return None
        if hresult != self.api.SCARD_S_SUCCESS:
            return None
        with self._lock:
            self._context = context
        self.contexts_established += 1
        if self._stopping.is_set():  # stop() came while we were establishing
            self._release(context)
            return None
        return int(context)

    def _release(self, context: int) -> None:
        with self._lock:
            if self._context == context:
                self._context = None
        with contextlib.suppress(self.api.error):
            self.api.SCardReleaseContext(context)

    def _cancel(self) -> None:
        with self._lock:
            context = self._context
        if context is not None:
            with contextlib.suppress(self.api.error):
                self.api.SCardCancel(context)

    def _watch(self, context: int) -> None:
        api = self.api
        self._known = {}
        self._pnp = True
        pnp_state = api.SCARD_STATE_UNAWARE
        self._relist(context)
        while not self._stopping.is_set():
            names = list(self._known)
            watch: list[Any] = [(n, self._known[n]) for n in names]
            if self._pnp:
                watch.append((PNP_NOTIFICATION, pnp_state))
            if not watch:  # no readers and no PnP support: poll the list
                self._stopping.wait(self.retry_s)
                self._relist(context)
                continue
            timeout = self.wait_ms if self._pnp else min(self.wait_ms, int(self.retry_s * 1000) + 1)
            try:
                result = api.SCardGetStatusChange(context, timeout, watch)
            except api.error as exc:
                raise _ServiceLost(f"get status change: {exc}") from exc
            hresult, states = result[0], result[1]
            if hresult == api.SCARD_E_TIMEOUT:
                if not self._pnp:
                    self._relist(context)
                continue
            if hresult == api.SCARD_E_CANCELLED:
                continue  # stop() (checked by the loop) or a spurious cancel
            if hresult in (api.SCARD_E_UNKNOWN_READER, api.SCARD_E_READER_UNAVAILABLE):
                self._relist(context)  # a reader went away between listing and watching
                continue
            if hresult != api.SCARD_S_SUCCESS:
                raise _ServiceLost(f"get status change: 0x{hresult & 0xFFFFFFFF:08X}")
            relist = False
            for name, event_state, atr in states:
                if name == PNP_NOTIFICATION:
                    if event_state & api.SCARD_STATE_UNKNOWN:
                        self._pnp = False  # this PC/SC has no PnP pseudo-reader: poll instead
                        relist = True
                    elif event_state & api.SCARD_STATE_CHANGED:
                        relist = True
                    pnp_state = event_state & ~api.SCARD_STATE_CHANGED
                    continue
                if event_state & (api.SCARD_STATE_UNKNOWN | api.SCARD_STATE_UNAVAILABLE) and not (
                    event_state & api.SCARD_STATE_PRESENT
                ):
                    relist = True
                self._reader_state(name, int(event_state), bytes(atr or b""))
            if relist:
                self._relist(context)

    def _relist(self, context: int) -> None:
        api = self.api
        try:
            hresult, names = api.SCardListReaders(context, [])
        except api.error as exc:
            raise _ServiceLost(f"list readers: {exc}") from exc
        if hresult == api.SCARD_E_NO_READERS_AVAILABLE:
            names = []
        elif hresult != api.SCARD_S_SUCCESS:
            raise _ServiceLost(f"list readers: 0x{hresult & 0xFFFFFFFF:08X}")
        current = [
            n
            for n in (names or [])
            if n != PNP_NOTIFICATION and not (self.ignore and n.startswith(self.ignore))
        ]
        events: list[ReaderEvent] = []
        with self._lock:
            for gone in [n for n in self._readers if n not in current]:
                info = self._readers.pop(gone)
                self._known.pop(gone, None)
                if info.state is SlotState.CARD:
                    events.append(CardRemoved(gone))
            for name in current:
                if name not in self._readers:
                    self._readers[name] = ReaderInfo(name, reader_kind(name))
                    self._known[name] = api.SCARD_STATE_UNAWARE
            changed = bool(events) or not self._service_up or set(current) != set(self._last_announced)
            self._service_up = True
            self._announced_down = False
        for event in events:
            self._emit(event)
        if changed:
            self._emit_readers()

    def _reader_state(self, name: str, event_state: int, atr: bytes) -> None:
        api = self.api
        with self._lock:
            info = self._readers.get(name)
            if info is None:
                return
            before = self._known.get(name, api.SCARD_STATE_UNAWARE)
            self._known[name] = event_state & ~api.SCARD_STATE_CHANGED
            if event_state & api.SCARD_STATE_PRESENT:
                state = SlotState.MUTE if event_state & api.SCARD_STATE_MUTE or not atr else SlotState.CARD
            elif event_state & api.SCARD_STATE_EMPTY:
                state = SlotState.EMPTY
            else:
                state = SlotState.UNAVAILABLE
            had_card = info.state is SlotState.CARD
            # pcsc-lite counts insertions and removals in the upper 16 bits: a jump of 2 or more while
            # the card looks present means it left and came back (or another card came) in between.
            swapped = (
                had_card
                and state is SlotState.CARD
                and before != api.SCARD_STATE_UNAWARE
                and ((event_state >> 16) - (before >> 16)) & 0xFFFF >= 2
            )
            kind = reader_kind(name, atr) if state is SlotState.CARD else info.kind
            self._readers[name] = ReaderInfo(name, kind, state, atr if state is not SlotState.EMPTY else b"")
            events: list[ReaderEvent] = []
            if had_card and (state is not SlotState.CARD or swapped):
                events.append(CardRemoved(name))
            if state is SlotState.CARD and (not had_card or swapped):
                self._sequence += 1
                events.append(
                    CardInserted(
                        name, atr, functools.partial(self._connect, name), kind, sequence=self._sequence
                    )
                )
            status_changed = info.state is not state
        for event in events:
            self._emit(event)
        if status_changed and not events:
            self._emit_readers()  # e.g. a mute card: the UI may say "turn the card over"

    def _service_down(self, detail: str) -> None:
        self._drop_all()
        with self._lock:
            already = self._announced_down
            self._service_up = False
            self._announced_down = True
        if not already:
            self._last_announced = []
            self._emit(ReadersChanged((), service_up=False, detail=detail))

    def _drop_all(self) -> None:
        with self._lock:
            with_card = [n for n, i in self._readers.items() if i.state is SlotState.CARD]
            self._readers.clear()
            self._known.clear()
        for name in with_card:
            self._emit(CardRemoved(name))

    def _emit_readers(self) -> None:
        readers = self.readers()
        self._last_announced = [r.name for r in readers]
        self._emit(ReadersChanged(readers, service_up=True))

    def _emit(self, event: ReaderEvent) -> None:
        listener = self._listener
        if listener is None:
            return
        try:
            listener(event)
        except Exception:  # a listener bug must not end the supervisor
            log.exception("reader listener failed on %r", event)


def _pcsc_connect(reader: str, timeout: float) -> Connection:
    return pcsc.connect(reader, timeout=timeout)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Small polling helper for callers and tests: True once ``predicate()`` holds, False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()

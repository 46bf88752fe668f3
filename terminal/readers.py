"""Port: card readers. What a kiosk or counter needs to know about its readers, and nothing more.

A :class:`CardReaders` implementation watches its readers on its own thread and calls the listener
with :data:`ReaderEvent` values: :class:`CardInserted` (carrying a factory that opens a
:class:`~terminal.card.connection.Connection` to that card), :class:`CardRemoved`, and
:class:`ReadersChanged` (the reader list, and whether the reader service itself is up). Listeners must
return quickly and never talk to the card inside the callback: hand the event to a worker.

Two implementations: ``drivers.reader_supervisor.ReaderSupervisor`` (PC/SC, real readers, survives
reader hot-plug and a restart of the PC/SC service) and :class:`DemoReaders` below (in-process cards for
the embedded demo and the UI tests). No Qt and no hardware library here.
"""

from __future__ import annotations

import enum
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from card_applet_spec import constants as c
from terminal.card.connection import (
    ApduCard,
    CardRemovedError,
    Connection,
    InProcessConnection,
    ReaderUnavailableError,
)

log = logging.getLogger(__name__)


class ReaderKind(enum.Enum):
    CONTACT = "contact"
    CONTACTLESS = "contactless"
    UNKNOWN = "unknown"


class SlotState(enum.Enum):
    EMPTY = "empty"
    CARD = "card"  # a card is present and powered (usable)
    MUTE = "mute"  # a card is present but does not answer (upside down, unsupported)
    UNAVAILABLE = "unavailable"  # the reader is listed but not usable


@dataclass(frozen=True)
class ReaderInfo:
    name: str
    kind: ReaderKind = ReaderKind.UNKNOWN
    state: SlotState = SlotState.EMPTY
    atr: bytes = b""


@dataclass(frozen=True)
class CardInserted:
    """A card arrived in ``reader``; ``connect()`` opens a Connection to it (call it off the listener)."""

    reader: str
    atr: bytes
    connect: Callable[[], Connection] = field(compare=False, repr=False)
    kind: ReaderKind = ReaderKind.UNKNOWN
    #: ``time.perf_counter()`` when the implementation saw the card (for latency measurements).
    seen_at: float = field(default_factory=time.perf_counter, compare=False)
    #: Increases with every insertion this implementation reports.
    sequence: int = 0


@dataclass(frozen=True)
class CardRemoved:
    reader: str
    seen_at: float = field(default_factory=time.perf_counter, compare=False)


@dataclass(frozen=True)
class ReadersChanged:
    """The reader list changed, or the reader service went away (``service_up`` False) or came back."""

    readers: tuple[ReaderInfo, ...]
    service_up: bool = True
    detail: str = ""
    seen_at: float = field(default_factory=time.perf_counter, compare=False)


ReaderEvent = CardInserted | CardRemoved | ReadersChanged
ReaderListener = Callable[[ReaderEvent], None]


class CardReaders(Protocol):
    """Port: the terminal's card readers."""

    def start(self, listener: ReaderListener) -> None:
        """Start watching; events go to ``listener`` from the implementation's own thread."""
        ...

    def stop(self) -> None:
        """Stop watching and end the thread (idempotent)."""
        ...

    def readers(self) -> tuple[ReaderInfo, ...]:
        """The readers as last seen (empty when the service is down)."""
        ...

    @property
    def service_up(self) -> bool: ...


# -- pure helpers ---------------------------------------------------------------------------------

_CONTACTLESS_HINTS = ("contactless", "picc", "nfc", "acr122", "rfid", "14443", " cl ", "-cl", "(cl)")
_CONTACT_HINTS = ("contact", "sam", "iso7816", "7816", "smart card reader", "ccid")
#: PC/SC part 3 storage-card ATRs: 3B 8F 80 01 80 4F 0C A0 00 00 03 06 ...
_PART3_STORAGE_PREFIX = bytes.fromhex("3B8F8001804F0CA000000306")


def reader_kind(name: str, atr: bytes = b"") -> ReaderKind:
    """Contact or contactless, from the reader's name, else from a typical contactless ATR.

    Dual-interface readers list two names (e.g. "... PICC 0" and "... 00 00"); the name decides. An ATR
    alone is weak evidence (our contact ATR has the same shape as a part 3 one), so only the exact
    contactless ATRs count.
    """
    lowered = f" {name.lower()} "
    if any(hint in lowered for hint in _CONTACTLESS_HINTS):
        return ReaderKind.CONTACTLESS
    if atr == c.ATR_CONTACTLESS or atr.startswith(_PART3_STORAGE_PREFIX):
        return ReaderKind.CONTACTLESS
    if any(hint in lowered for hint in _CONTACT_HINTS) or atr == c.ATR_CONTACT:
        return ReaderKind.CONTACT
    return ReaderKind.UNKNOWN


def card_present(readers: Sequence[ReaderInfo]) -> bool:
    return any(r.state is SlotState.CARD for r in readers)


# -- the in-process implementation (embedded demo, UI tests) ---------------------------------------


class _DemoSlot:
    def __init__(self, info: ReaderInfo) -> None:
        self.info = info
        self.card: ApduCard | None = None
        self.torn: tuple[type[BaseException], ...] = ()
        self.generation = 0


class _DemoConnection:
    """An InProcessConnection that fails with CardRemovedError once its card left the demo slot."""

    def __init__(self, readers: DemoReaders, slot: _DemoSlot, generation: int) -> None:
        self._readers = readers
        self._slot = slot
        self._generation = generation
        assert slot.card is not None
        self._inner = InProcessConnection(slot.card, slot.torn)

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        if not self._readers.plugged(self._slot.info.name):
            raise ReaderUnavailableError(f"{self._slot.info.name!r} is unplugged")
        if self._slot.generation != self._generation or self._slot.card is None:
            raise CardRemovedError(f"the card left {self._slot.info.name!r}")
        return self._inner.send_and_receive(apdu)

    def close(self) -> None:
        self._inner.close()


class DemoReaders:
    """In-process readers: ``tap(card)`` puts a card object in a reader, ``remove()`` takes it out.

    Events are delivered from a dispatcher thread of its own, like a real supervisor, so a UI goes
    through exactly the same cross-thread path. ``unplug()``/``plug()`` simulate a reader cable.
    """

    def __init__(
        self, names: Sequence[str] = ("Pembaca Demo (nirsentuh)",), kinds: Sequence[ReaderKind] | None = None
    ) -> None:
        kinds = list(kinds) if kinds is not None else [ReaderKind.CONTACTLESS] * len(names)
        self._slots = {n: _DemoSlot(ReaderInfo(n, k)) for n, k in zip(names, kinds, strict=True)}
        self._plugged = set(self._slots)
        self._lock = threading.RLock()
        self._queue: queue.SimpleQueue[ReaderEvent | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._sequence = itertools.count(1)
        self._service_up = True

    # -- port --------------------------------------------------------------------------------------
    def start(self, listener: ReaderListener) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(
            target=self._dispatch, args=(listener,), name="demo-readers", daemon=True
        )
        self._thread.start()
        self._queue.put(self._changed())
        with self._lock:
            for slot in self._slots.values():
                if slot.card is not None and slot.info.name in self._plugged:
                    self._queue.put(self._inserted(slot))

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(5)

    def readers(self) -> tuple[ReaderInfo, ...]:
        with self._lock:
            return tuple(s.info for s in self._slots.values() if s.info.name in self._plugged)

    @property
    def service_up(self) -> bool:
        return self._service_up

    # -- demo controls -------------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._slots)

    def plugged(self, reader: str) -> bool:
        with self._lock:
            return reader in self._plugged

    def card_in(self, reader: str | None = None) -> ApduCard | None:
        with self._lock:
            return self._slot(reader).card

    def tap(
        self, card: ApduCard, reader: str | None = None, torn: tuple[type[BaseException], ...] = ()
    ) -> None:
        """Put ``card`` in ``reader`` (default: the first); a card already there is removed first."""
        with self._lock:
            slot = self._slot(reader)
            if slot.card is not None:
                self._take_out(slot)
            reset = getattr(card, "reset", None)
            if callable(reset):  # a card arriving in a reader is powered up afresh
                reset()
            slot.card, slot.torn = card, torn
            slot.generation += 1
            slot.info = replace(slot.info, state=SlotState.CARD, atr=_atr_of(card, slot.info.kind))
            if slot.info.name in self._plugged and self._thread is not None:
                self._queue.put(self._inserted(slot))

    def remove(self, reader: str | None = None) -> None:
        with self._lock:
            slot = self._slot(reader)
            if slot.card is not None:
                self._take_out(slot)

    def unplug(self, reader: str | None = None) -> None:
        with self._lock:
            slot = self._slot(reader)
            if slot.info.name not in self._plugged:
                return
            if slot.card is not None:
                self._take_out(slot)
            self._plugged.discard(slot.info.name)
            self._queue.put(self._changed())

    def plug(self, reader: str | None = None) -> None:
        with self._lock:
            slot = self._slot(reader)
            if slot.info.name in self._plugged:
                return
            self._plugged.add(slot.info.name)
            self._queue.put(self._changed())

    def set_service(self, up: bool) -> None:
        """Simulate the reader service going away (all cards and readers vanish) or coming back."""
        with self._lock:
            if up == self._service_up:
                return
            if not up:
                for slot in self._slots.values():
                    if slot.card is not None:
                        self._take_out(slot)
            self._service_up = up
            self._queue.put(self._changed())

    # -- internals -----------------------------------------------------------------------------------
    def _slot(self, reader: str | None) -> _DemoSlot:
        if reader is None:
            return next(iter(self._slots.values()))
        try:
            return self._slots[reader]
        except KeyError:
            raise ReaderUnavailableError(f"no demo reader named {reader!r}") from None

    def _take_out(self, slot: _DemoSlot) -> None:
        slot.card = None
        slot.generation += 1
        slot.info = replace(slot.info, state=SlotState.EMPTY, atr=b"")
        if slot.info.name in self._plugged and self._thread is not None:
            self._queue.put(CardRemoved(slot.info.name))

    def _inserted(self, slot: _DemoSlot) -> CardInserted:
        generation = slot.generation

        def connect() -> Connection:
            with self._lock:
                if slot.card is None or slot.generation != generation:
                    raise CardRemovedError(f"the card left {slot.info.name!r}")
                return _DemoConnection(self, slot, generation)

        return CardInserted(
            slot.info.name, slot.info.atr, connect, slot.info.kind, sequence=next(self._sequence)
        )

    def _changed(self) -> ReadersChanged:
        readers = self.readers() if self._service_up else ()
        return ReadersChanged(readers, self._service_up, "" if self._service_up else "reader service stopped")

    def _dispatch(self, listener: ReaderListener) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            try:
                listener(event)
            except Exception:  # a listener bug must not end the readers
                log.exception("reader listener failed on %r", event)


def _atr_of(card: ApduCard, kind: ReaderKind) -> bytes:
    atr = getattr(card, "atr", None)
    if isinstance(atr, bytes):
        return atr
    return c.ATR_CONTACTLESS if kind is ReaderKind.CONTACTLESS else c.ATR_CONTACT

"""The card side of vsmartcard's vpcd protocol: a Python card object becomes a card in a pcscd reader.

pcscd's vpcd driver listens on TCP (35963 for "Virtual PCD 00 00"); the card connects to it. Opening the
connection inserts the card, closing it removes the card. Every message both ways is a 2-byte big-endian
length and a payload. A 1-byte payload from vpcd is a control message (power off / power on / reset: no
reply; "ATR?": reply with the ATR); anything longer is a command APDU, answered with data + SW1 SW2.

Two details decide the speed: vpcd writes length and payload separately (read exact lengths in a loop),
and Linux clears TCP_QUICKACK after every read (set it again before each ``recv``, otherwise Nagle on the
vpcd side meets our delayed ACK and every APDU costs ~40 ms).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from card_applet_spec.redaction import format_command

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 35963
#: The reader that pcscd's default /etc/reader.conf.d/vpcd attaches to DEFAULT_PORT.
DEFAULT_READER = "Virtual PCD 00 00"

CTRL_POWER_OFF = 0x00
CTRL_POWER_ON = 0x01
CTRL_RESET = 0x02
CTRL_ATR = 0x04
_POWER_EVENTS = {CTRL_POWER_OFF: "power off", CTRL_POWER_ON: "power on", CTRL_RESET: "reset"}

_JOIN_TIMEOUT_S = 5.0


@runtime_checkable
class VirtualCard(Protocol):
    """What the slot needs from a card (the reference card fits)."""

    @property
    def atr(self) -> bytes: ...

    def reset(self) -> None: ...

    def transmit(self, apdu: bytes) -> bytes: ...


CardSource = VirtualCard | Callable[[], VirtualCard]


class VpcdUnavailableError(ConnectionError):
    """Nothing listens on the vpcd port: pcscd is not running or has no vpcd reader there."""


@dataclass
class _Insertion:
    """One card in the slot: the TCP connection and the thread answering vpcd on it."""

    card: VirtualCard
    sock: socket.socket
    thread: threading.Thread | None = None
    pulled: threading.Event = field(default_factory=threading.Event)


class VirtualCardSlot:
    """A card slot on one vpcd port. Thread-safe; the serving thread ends on remove() and close().

    ``VirtualCardSlot(card)`` inserts ``card`` at once; ``VirtualCardSlot(factory)`` inserts ``factory()``;
    ``VirtualCardSlot()`` starts empty. ``insert()`` without an argument inserts a new card from the
    factory, or else the last card again. If the card's ``transmit`` or ``reset`` raises (e.g. CardTorn, a
    simulated power loss) the card counts as pulled: the connection closes and vpcd gets no answer.
    """

    def __init__(
        self,
        card: CardSource | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        connect_timeout: float = 2.0,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._lock = threading.Lock()
        self._insertion: _Insertion | None = None
        self._closed = False
        self._factory: Callable[[], VirtualCard] | None = None
        self._last_card: VirtualCard | None = None
        self.last_error: BaseException | None = None  # what the card raised when it was last "torn"
        if isinstance(card, VirtualCard):
            self.insert(card)
        elif card is not None:
            self._factory = card
            self.insert()

    # -- public API -------------------------------------------------------------------------------
    @property
    def inserted(self) -> bool:
        """True while the card's connection to vpcd is open (pcscd notices changes within ~400 ms)."""
        with self._lock:
            return self._insertion is not None and not self._insertion.pulled.is_set()

    @property
    def card(self) -> VirtualCard | None:
        """The card in the slot, or the last one inserted."""
        return self._last_card

    def insert(self, card: VirtualCard | None = None) -> VirtualCard:
        """Connect to vpcd with ``card`` (= put it on the reader) and serve it in a background thread."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the slot is closed")
            if self._insertion is not None and not self._insertion.pulled.is_set():
                raise RuntimeError("the slot already holds a card: remove() it first")
            stale, self._insertion = self._insertion, None
        if stale is not None:
            self._finish(stale)  # a card that pulled itself (torn): reap its thread
        chosen = card if card is not None else self._factory() if self._factory else self._last_card
        if chosen is None:
            raise ValueError("no card given and no card factory")
        sock = self._connect()
        insertion = _Insertion(chosen, sock)
        insertion.thread = threading.Thread(
            target=self._serve, args=(insertion,), name=f"vpcd-card-{self.port}", daemon=True
        )
        with self._lock:
            if self._closed or self._insertion is not None:
                sock.close()
                raise RuntimeError("the slot was closed or filled during insert()")
            self._insertion = insertion
            self._last_card = chosen
            insertion.thread.start()
        return chosen

    def remove(self) -> None:
        """Pull the card: close its connection and wait for the serving thread to end. Idempotent."""
        with self._lock:
            insertion, self._insertion = self._insertion, None
        if insertion is not None:
            self._finish(insertion)

    def close(self) -> None:
        """Remove the card (if any); the slot takes no more cards."""
        with self._lock:
            self._closed = True
        self.remove()

    def __enter__(self) -> VirtualCardSlot:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------------------------
    def _connect(self) -> socket.socket:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise VpcdUnavailableError(
                f"cannot reach vpcd on {self.host}:{self.port} ({exc}); is pcscd running with the "
                "vsmartcard-vpcd driver?"
            ) from exc
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _finish(self, insertion: _Insertion) -> None:
        insertion.pulled.set()
        with contextlib.suppress(OSError):  # already closed if the serving thread ended
            insertion.sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in recv()
        thread = insertion.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.warning("vpcd card thread (port %d) still runs after %.0f s", self.port, _JOIN_TIMEOUT_S)
        insertion.sock.close()

    def _serve(self, insertion: _Insertion) -> None:
        sock, card = insertion.sock, insertion.card
        try:
            while not insertion.pulled.is_set():
                header = _recv_exact(sock, 2)
                if header is None:
                    break
                payload = _recv_exact(sock, int.from_bytes(header, "big"))
                if payload is None:
                    break
                try:
                    reply = self._answer(card, payload)
                except Exception as exc:  # the card "lost power" (CardTorn or any fault): pull it
                    log.debug("card raised %r: treating it as pulled from port %d", exc, self.port)
                    self.last_error = exc
                    break
                if reply is not None:
                    sock.sendall(len(reply).to_bytes(2, "big") + reply)
        except OSError as exc:
            if not insertion.pulled.is_set():
                log.debug("vpcd connection on port %d lost: %s", self.port, exc)
        finally:
            insertion.pulled.set()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @staticmethod
    def _answer(card: VirtualCard, payload: bytes) -> bytes | None:
        if len(payload) == 1:
            ctrl = payload[0]
            if ctrl == CTRL_ATR:
                return bytes(card.atr)
            if ctrl in _POWER_EVENTS:
                log.debug("vpcd: %s", _POWER_EVENTS[ctrl])
                card.reset()  # RAM state is gone after any of the three
                return None
            log.warning("unknown vpcd control message %02X", ctrl)
            return None
        debug = log.isEnabledFor(logging.DEBUG)
        if debug:
            log.debug("card <- %s", format_command(payload))
        response = bytes(card.transmit(payload))
        if debug:
            log.debug("card -> %s", response.hex(" ").upper())
        return response


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """Read exactly n bytes, or None at end of stream. Sets TCP_QUICKACK before every recv."""
    chunks: list[bytes] = []
    remaining = n
    while remaining:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)

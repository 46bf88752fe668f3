"""PC/SC readers through pyscard's low-level API (smartcard.scard): the terminal's Connection to a card.

Every PC/SC failure is translated here, once, into terminal.card.connection's errors; no pyscard
exception leaves this module. Bytes go out as given: GET RESPONSE and chaining belong to the protocol
layer in terminal/. APDUs are logged at DEBUG only, PIN data redacted (card_applet_spec.redaction).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from smartcard import scard

from card_applet_spec.redaction import format_command, format_response
from terminal.card.connection import CardConnectionError, CardRemovedError, ReaderUnavailableError

log = logging.getLogger(__name__)

#: pyscard's own exception (SWIG-level failures); translated like every PC/SC error.
PyscardError: type[Exception] = scard.error

#: The PC/SC service or the reader is not there.
_READER_UNAVAILABLE = frozenset(
    {
        scard.SCARD_E_NO_SERVICE,  # 0x8010001D: pcscd not running
        scard.SCARD_E_SERVICE_STOPPED,  # 0x8010001E
        scard.SCARD_E_NO_READERS_AVAILABLE,  # 0x8010002E
        scard.SCARD_E_UNKNOWN_READER,  # 0x80100009
        scard.SCARD_E_READER_UNAVAILABLE,  # 0x80100017
        scard.SCARD_E_INVALID_HANDLE,  # 0x80100003: our context died with a restarted service
    }
)
#: The card is gone, or lost power or state: removed, unpowered, reset, mute, not there.
_CARD_REMOVED = frozenset(
    {
        scard.SCARD_W_REMOVED_CARD,  # 0x80100069
        scard.SCARD_W_UNPOWERED_CARD,  # 0x80100067
        scard.SCARD_W_RESET_CARD,  # 0x80100068
        scard.SCARD_W_UNRESPONSIVE_CARD,  # 0x80100066
        scard.SCARD_E_NOT_TRANSACTED,  # 0x80100016: the card left during the exchange
        scard.SCARD_E_NO_SMARTCARD,  # 0x8010000C
    }
)


def translate_error(hresult: int, action: str) -> CardConnectionError:
    """The terminal-side error for a failed PC/SC call (``action`` names it in the message)."""
    code = hresult & 0xFFFFFFFF
    message = f"{action}: {scard.SCardGetErrorMessage(hresult)} (0x{code:08X})"
    if code in _READER_UNAVAILABLE:
        return ReaderUnavailableError(message)
    if code in _CARD_REMOVED:
        return CardRemovedError(message)
    return CardConnectionError(message)


def _raw(action: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run one scard call as is (status code first), turning pyscard's own exception into ours."""
    try:
        return fn(*args)
    except PyscardError as exc:
        raise CardConnectionError(f"{action}: {exc}") from exc


def _call(action: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run one scard call; return its results after the status code, or raise the translated error."""
    result = _raw(action, fn, *args)
    hresult, rest = (result, []) if isinstance(result, int) else (result[0], list(result[1:]))
    if hresult != scard.SCARD_S_SUCCESS:
        raise translate_error(hresult, action)
    return rest[0] if len(rest) == 1 else rest


@contextmanager
def _context() -> Iterator[int]:
    context = _call("establish PC/SC context", scard.SCardEstablishContext, scard.SCARD_SCOPE_USER)
    try:
        yield context
    finally:
        with suppress(PyscardError):
            scard.SCardReleaseContext(context)


def _ms(seconds: float | None) -> int:
    return scard.INFINITE if seconds is None else max(0, int(seconds * 1000))


def list_readers() -> list[str]:
    """Names of the readers pcscd knows (empty if none). No pcscd → ReaderUnavailableError."""
    with _context() as context:
        hresult, readers = _raw("list readers", scard.SCardListReaders, context, [])
    if hresult in (scard.SCARD_E_NO_READERS_AVAILABLE, scard.SCARD_S_SUCCESS):
        return list(readers or [])
    raise translate_error(hresult, "list readers")


def _card_ready(event_state: int, atr: list[int]) -> bool:
    present = bool(event_state & scard.SCARD_STATE_PRESENT)
    return present and not event_state & scard.SCARD_STATE_MUTE and bool(atr)


def _await_state(context: int, reader: str, present: bool, deadline: float | None, known: int) -> int | None:
    """Block in SCardGetStatusChange until the card is there (present) or gone; the reader state or None."""
    while True:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return None
        action = f"watch reader {reader!r}"
        hresult, states = _raw(action, scard.SCardGetStatusChange, context, _ms(remaining), [(reader, known)])
        if hresult == scard.SCARD_E_TIMEOUT:
            return None
        if hresult != scard.SCARD_S_SUCCESS:
            raise translate_error(hresult, action)
        _name, known, atr = states[0]
        if known & scard.SCARD_STATE_UNKNOWN:
            raise ReaderUnavailableError(f"no reader named {reader!r}")
        if _card_ready(known, atr) if present else known & scard.SCARD_STATE_EMPTY:
            return int(known)
        known &= ~scard.SCARD_STATE_CHANGED


def wait_for_card(reader: str, present: bool = True, timeout: float | None = 2.0) -> bool:
    """Wait until the reader reports a usable card (present=True) or an empty slot; False on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _context() as context:
        return _await_state(context, reader, present, deadline, scard.SCARD_STATE_UNAWARE) is not None


class PcscConnection:
    """A Connection to the card in one PC/SC reader. Own context; close() releases it. Thread-safe."""

    def __init__(self, context: int, handle: int, protocol: int, reader: str) -> None:
        self._context = context
        self._handle: int | None = handle
        self._pci = scard.SCARD_PCI_T0 if protocol == scard.SCARD_PROTOCOL_T0 else scard.SCARD_PCI_T1
        self.protocol = protocol
        self.reader = reader
        self._lock = threading.Lock()
        _reader, _state, _protocol, atr = _call("read card status", scard.SCardStatus, handle)
        self._atr = bytes(atr)

    @property
    def atr(self) -> bytes:
        return self._atr

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        debug = log.isEnabledFor(logging.DEBUG)
        if debug:
            log.debug("%s <- %s", self.reader, format_command(apdu))
        with self._lock:
            if self._handle is None:
                raise CardConnectionError("the connection is closed")
            response = bytes(_call("transmit", scard.SCardTransmit, self._handle, self._pci, list(apdu)))
        if len(response) < 2:
            if not response:  # vpcd's answer when the card vanishes mid-command: success, no bytes
                raise CardRemovedError(f"{self.reader!r}: the card gave no response (it left the field)")
            raise CardConnectionError(f"{self.reader!r}: a {len(response)}-byte response has no status word")
        data, sw = response[:-2], int.from_bytes(response[-2:], "big")
        if debug:
            log.debug("%s -> %s", self.reader, format_response(data, sw))
        return data, sw

    def close(self, *, reset_card: bool = False) -> None:
        """Disconnect (the card stays powered, or is reset) and release the context. Idempotent."""
        disposition = scard.SCARD_RESET_CARD if reset_card else scard.SCARD_LEAVE_CARD
        with self._lock:
            handle, self._handle = self._handle, None
            if handle is None:
                return
            with suppress(PyscardError):  # disconnecting fails harmlessly when the card is gone
                scard.SCardDisconnect(handle, disposition)
                scard.SCardReleaseContext(self._context)

    def __enter__(self) -> PcscConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect(
    reader: str,
    timeout: float | None = 5.0,
    protocols: int = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
) -> PcscConnection:
    """Wait up to ``timeout`` s (None: forever) for a card in ``reader`` and connect to it.

    A card that pcscd still lists just after it left (presence is polled) fails to connect as
    unpowered/removed: we then wait for the reader's next state change and try again until the deadline.
    No card in time → CardRemovedError; no pcscd or no such reader → ReaderUnavailableError.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    context = _call("establish PC/SC context", scard.SCardEstablishContext, scard.SCARD_SCOPE_USER)
    try:
        handle, protocol = _connect_when_ready(context, reader, protocols, deadline, timeout)
        try:
            return PcscConnection(context, handle, protocol, reader)
        except CardConnectionError:
            scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
            raise
    except BaseException:
        scard.SCardReleaseContext(context)
        raise


def _connect_when_ready(
    context: int, reader: str, protocols: int, deadline: float | None, timeout: float | None
) -> tuple[int, int]:
    known = scard.SCARD_STATE_UNAWARE
    while True:
        state = _await_state(context, reader, True, deadline, known)
        if state is None:
            raise CardRemovedError(f"no card in {reader!r} within {timeout} s")
        action = f"connect to {reader!r}"
        hresult, handle, protocol = _raw(
            action, scard.SCardConnect, context, reader, scard.SCARD_SHARE_SHARED, protocols
        )
        if hresult == scard.SCARD_S_SUCCESS:
            return handle, protocol
        error = translate_error(hresult, action)
        if not isinstance(error, CardRemovedError):
            raise error
        log.debug("%s; waiting for the reader's next state", error)
        known = state  # SCardGetStatusChange now blocks until pcscd sees a change

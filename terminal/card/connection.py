"""Tier 1: a Connection moves APDU bytes to a card and back.

Drivers implement :class:`Connection` for real readers (PC/SC); :class:`InProcessConnection` talks to
an in-process card object (the reference card) for unit tests and the embedded demo.
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)


class CardConnectionError(Exception):
    """The link to the card failed (no card, card removed, reader gone). Raised by every Connection."""


class CardRemovedError(CardConnectionError):
    """The card left the reader (or lost power) during or before the exchange."""


class ReaderUnavailableError(CardConnectionError):
    """The reader or the PC/SC service is not there."""


@runtime_checkable
class Connection(Protocol):
    """What every card link offers: one APDU out, response data and status word back."""

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]: ...

    def close(self) -> None: ...


class ApduCard(Protocol):
    """An in-process card: takes command APDU bytes and returns response data + SW1 SW2."""

    def transmit(self, apdu: bytes) -> bytes: ...


class InProcessConnection:
    """A Connection to a card object in this process. Card 'power loss' becomes CardRemovedError."""

    def __init__(self, card: ApduCard, torn_exceptions: tuple[type[BaseException], ...] = ()) -> None:
        self._card: ApduCard | None = card
        self._torn = torn_exceptions

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        if self._card is None:
            raise CardRemovedError("connection closed")
        try:
            response = self._card.transmit(apdu)
        except self._torn as exc:  # type: ignore[misc]
            self._card = None
            raise CardRemovedError(f"card lost power: {exc}") from exc
        if len(response) < 2:
            raise CardConnectionError("response shorter than a status word")
        return response[:-2], int.from_bytes(response[-2:], "big")

    def close(self) -> None:
        self._card = None

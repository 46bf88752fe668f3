"""Tier 2: the APDU protocol as small composable processors (yubikit style).

``Transport`` encodes a short APDU and moves it over a Connection (logging at DEBUG, PINs redacted);
``CommandChainer`` splits data over 255 bytes into ISO command-chaining blocks; ``ResponseCollector``
follows 61xx with GET RESPONSE and 6Cxx with a corrected Le. ``open_protocol`` stacks them.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Protocol

from card_applet_spec import commands
from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.redaction import format_command, format_response
from terminal.card.connection import Connection
from terminal.card.errors import MalformedResponseError

log = logging.getLogger(__name__)

MAX_GET_RESPONSE_ROUNDS = 64


class ApduProcessor(Protocol):
    def process(self, cmd: CommandApdu) -> tuple[bytes, int]: ...


class Transport:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.apdus_sent = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    def process(self, cmd: CommandApdu) -> tuple[bytes, int]:
        raw = cmd.encode()
        debug = log.isEnabledFor(logging.DEBUG)
        if debug:
            log.debug("> %s", format_command(raw))
        data, sw = self.connection.send_and_receive(raw)
        self.apdus_sent += 1
        self.bytes_sent += len(raw)
        self.bytes_received += len(data) + 2
        if debug:
            log.debug("< %s", format_response(data, sw))
        return data, sw


class CommandChainer:
    """Send data longer than one short APDU as a chain (CLA bit 0x10 on all but the last block)."""

    def __init__(self, inner: ApduProcessor, block: int = c.MAX_SHORT_DATA) -> None:
        self.inner = inner
        self.block = block

    def process(self, cmd: CommandApdu) -> tuple[bytes, int]:
        data = cmd.data
        while len(data) > self.block:
            part, data = data[: self.block], data[self.block :]
            _, sw = self.inner.process(replace(cmd, cla=cmd.cla | c.CLA_CHAINING_BIT, data=part, le=None))
            if sw != c.SW.OK:
                return b"", sw
        return self.inner.process(replace(cmd, data=data))


class ResponseCollector:
    """Collect a response split over 61xx / GET RESPONSE, and retry a pure read once on 6Cxx (wrong Le).

    61xx means the command *completed* and more of its answer waits: if fetching the rest fails, the
    command's outcome is unknown to us, never "refused" — MalformedResponseError, so a DEBIT is settled
    from the card's log rather than written off. 6Cxx re-sends only commands without data (reads);
    re-sending a DEBIT would be a second DEBIT.
    """

    def __init__(self, inner: ApduProcessor) -> None:
        self.inner = inner

    def process(self, cmd: CommandApdu) -> tuple[bytes, int]:
        data, sw = self.inner.process(cmd)
        if sw >> 8 == c.SW1_WRONG_LE and not cmd.data:
            data, sw = self.inner.process(replace(cmd, le=(sw & 0xFF) or 256))
        if sw >> 8 != c.SW1_MORE_DATA:
            return data, sw
        buf = bytearray(data)
        for _ in range(MAX_GET_RESPONSE_ROUNDS):
            get_response = commands.get_response((sw & 0xFF) or 256)
            data, sw = self.inner.process(get_response)
            buf += data
            if sw == c.SW.OK:
                return bytes(buf), sw
            if sw >> 8 != c.SW1_MORE_DATA:
                raise MalformedResponseError(f"GET RESPONSE failed with SW {sw:04X} after 61xx")
        raise MalformedResponseError("response longer than the protocol allows")


def open_protocol(connection: Connection) -> tuple[ApduProcessor, Transport]:
    """The standard stack; returns the top processor and the transport (for its counters)."""
    transport = Transport(connection)
    return ResponseCollector(CommandChainer(transport)), transport

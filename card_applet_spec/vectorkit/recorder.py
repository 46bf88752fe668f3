"""The recording of one vector: a fresh reference card brought to a setup profile, then the case's APDUs.

:class:`Recorder` moves the bytes (against ``ReferenceCard(MemoryStore(), rng=Drbg(seed))``, the vector
card of SPEC §11.2), checks each status word against what the case expects and records every exchange
with its note; the terminal operations over it are :class:`card_applet_spec.vectorkit.tap.Tap`. The
generator refuses to write any file when the card does not answer as a case expects (:class:`VectorError`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.reference_card import MemoryStore, ReferenceCard
from card_applet_spec.vectorkit.inputs import CARD_RNG_SEED, Drbg

OK = c.SW.OK
#: A command as the cases give it: built (the usual case) or raw bytes (an APDU no builder makes).
Command = CommandApdu | bytes


class VectorError(RuntimeError):
    """The reference card did not answer as the case expects: the vectors are not written."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise VectorError(message)


@dataclass
class Profile:
    """A setup profile (SPEC §11.3): the exchanges that take a blank card to a known state."""

    name: str
    description: str
    exchanges: list[dict[str, str]]
    parameters: dict[str, Any] = field(default_factory=dict)


def sw_hex(sw: int) -> str:
    return f"{sw:04X}"


class Recorder:
    """The exchanges and steps of one recording, on a fresh vector card brought to profile ``setup``."""

    def __init__(self, profiles: dict[str, Profile], setup: str) -> None:
        self.setup = setup
        self.card = ReferenceCard(MemoryStore(), rng=Drbg(CARD_RNG_SEED))
        self.base = list(profiles[setup].exchanges)
        for ex in self.base:
            response = self.card.transmit(bytes.fromhex(ex["command"]))
            check(response.hex().upper() == ex["response"], f"setup {setup!r} does not replay: {ex['note']}")
        self.exchanges: list[dict[str, str]] = []
        self.steps: list[dict[str, Any]] = []
        #: the card nonce of the last command if it was a successful INTERNAL AUTHENTICATE (§5.1.3)
        self.nonce: bytes | None = None
        self._labels = 0

    def label(self, what: str) -> str:
        """A fresh label for the terminal's 'random' values of this recording."""
        self._labels += 1
        return f"{what} {self._labels}"

    def exchange(self, command: Command, note: str, sw: int | None = OK) -> tuple[bytes, int]:
        """Send one command; check the status word (None: 61xx or 9000 accepted); record it."""
        apdu = command.encode() if isinstance(command, CommandApdu) else command
        if len(apdu) < 2 or not (apdu[0] & c.CLA_CHAINING_BIT or apdu[1] == c.INS_GET_RESPONSE):
            self.nonce = None  # the card spends its nonce on this command, whatever the outcome
        response = self.card.transmit(apdu)
        data, got = response[:-2], int.from_bytes(response[-2:], "big")
        if sw is None:
            check(got == OK or got >> 8 == c.SW1_MORE_DATA, f"{note}: card said {got:04X}")
        else:
            check(got == sw, f"{note}: expected SW {sw:04X}, the card said {got:04X}")
        self.exchanges.append(
            {"command": apdu.hex().upper(), "response": response.hex().upper(), "note": note}
        )
        return data, got

    def collect(self, command: Command, note: str, sw: int = OK) -> bytes:
        """Send a command and follow 61xx with GET RESPONSE (Le=xx) as terminals do; check the final SW."""
        first_sw = None if sw == OK else sw
        data, got = self.exchange(command, note, first_sw)
        buf = data
        while got >> 8 == c.SW1_MORE_DATA:
            le = (got & 0xFF) or 256
            data, got = self.exchange(
                cmd.get_response(le), f"GET RESPONSE Le={le:02X}: next part of the answer", None
            )
            buf += data
        check(got == sw, f"{note}: final SW {got:04X}, expected {sw:04X}")
        return buf

    def raw(self, command: Command, note: str, sw: int | None = OK) -> bytes:
        """An APDU outside the ordinary terminal operations (recorded with a ``raw`` step)."""
        data, _ = self.exchange(command, note, sw)
        self.steps.append({"op": "raw"})
        return data

    def chain(self, header: CommandApdu, data: bytes, sizes: Sequence[int], note: str, sw: int = OK) -> None:
        """Send ``data`` as an ISO command chain of blocks of ``sizes`` (the rest in the last block)."""
        pos = 0
        for i, size in enumerate(sizes):
            block = data[pos : pos + size]
            pos += size
            apdu = CommandApdu(header.cla | c.CLA_CHAINING_BIT, header.ins, header.p1, header.p2, block)
            self.raw(apdu, f"{note}: chained block {i + 1} ({len(block)} bytes, CLA bit 10 set)")
        last = CommandApdu(header.cla, header.ins, header.p1, header.p2, data[pos:], header.le)
        self.raw(last, f"{note}: last block ({len(data) - pos} bytes); {len(data)} bytes in all", sw)

    def send_chained(self, header: CommandApdu, data: bytes, note: str, sw: int = OK) -> None:
        """As the terminal's CommandChainer: 255-byte blocks with CLA bit 10, then the last block."""
        pos = 0
        while len(data) - pos > c.MAX_SHORT_DATA:
            block = data[pos : pos + c.MAX_SHORT_DATA]
            pos += c.MAX_SHORT_DATA
            apdu = CommandApdu(header.cla | c.CLA_CHAINING_BIT, header.ins, header.p1, header.p2, block)
            self.exchange(apdu, f"{note}: chained block ({len(block)} bytes, CLA bit 10 set)")
        last = CommandApdu(header.cla, header.ins, header.p1, header.p2, data[pos:], header.le)
        self.collect(last, f"{note}: last block ({len(data) - pos} bytes, {len(data)} in all)", sw)

    def step(
        self, op: str, args: dict[str, Any] | None, sw: int, expect: dict[str, Any] | None = None
    ) -> None:
        """Record the terminal operation that produced the last exchanges (SPEC §11.4)."""
        entry: dict[str, Any] = {"op": op}
        if args:
            entry["args"] = args
        if sw != OK:
            entry["sw"] = sw_hex(sw)
        elif expect is not None:
            entry["expect"] = expect
        self.steps.append(entry)

"""The kit's link to the chip: one APDU out, data and status word back, each exchange timed and kept.

Unlike the terminal's protocol processors, the link lets every status word through to the case (a case
checks the exact one) and records every exchange, ``61xx`` chunks included, for the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from terminal.card.connection import Connection

OK = int(c.SW.OK)


@dataclass(frozen=True)
class Exchange:
    command: bytes
    response: bytes  # data + SW1 SW2
    seconds: float

    @property
    def sw(self) -> int:
        return int.from_bytes(self.response[-2:], "big")

    @property
    def ins(self) -> int:
        return self.command[1] if len(self.command) > 1 else -1


@dataclass
class Link:
    """APDUs to the chip over ``connection``; ``exchanges`` keeps every one of them (and its time)."""

    connection: Connection
    exchanges: list[Exchange] = field(default_factory=list)

    def send(self, command: CommandApdu | bytes) -> tuple[bytes, int]:
        apdu = command.encode() if isinstance(command, CommandApdu) else bytes(command)
        start = time.perf_counter()
        data, sw = self.connection.send_and_receive(apdu)
        self.exchanges.append(Exchange(apdu, data + sw.to_bytes(2, "big"), time.perf_counter() - start))
        return data, sw

    def collect(self, command: CommandApdu | bytes) -> tuple[bytes, int]:
        """Send and follow ``61xx`` with GET RESPONSE (Le = xx) to the final status word (§5.1.8)."""
        data, sw = self.send(command)
        buf = data
        while sw >> 8 == c.SW1_MORE_DATA:
            data, sw = self.send(cmd.get_response((sw & 0xFF) or 256))
            buf += data
        return buf, sw

    def chained(self, header: CommandApdu, data: bytes, block: int = c.MAX_SHORT_DATA) -> tuple[bytes, int]:
        """ISO chaining (§5.1.5): blocks of ``block`` bytes with CLA bit 10, then the last block."""
        pos = 0
        while len(data) - pos > block:
            part = CommandApdu(
                header.cla | c.CLA_CHAINING_BIT, header.ins, header.p1, header.p2, data[pos : pos + block]
            )
            pos += block
            _, sw = self.send(part)
            if sw != OK:
                return b"", sw
        return self.collect(CommandApdu(header.cla, header.ins, header.p1, header.p2, data[pos:], header.le))

    def mark(self) -> int:
        return len(self.exchanges)

    def since(self, mark: int) -> list[Exchange]:
        return self.exchanges[mark:]

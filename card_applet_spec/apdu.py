"""Short command APDUs (ISO 7816-4 §5.1): encoding and strict parsing.

Only short APDUs are part of the contract (Lc ≤ 255, Le ≤ 256 with 00 meaning 256). An extended
length field is a parse error.
"""

from __future__ import annotations

from dataclasses import dataclass


class ApduFormatError(ValueError):
    """The bytes are not a well-formed short command APDU."""


@dataclass(frozen=True)
class CommandApdu:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None  # None: no Le field; 1..256 expected bytes (256 encoded as 00)

    def encode(self) -> bytes:
        if len(self.data) > 255:
            raise ApduFormatError("short APDU data is at most 255 bytes; use command chaining")
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if self.data:
            out += bytes([len(self.data)]) + self.data
        if self.le is not None:
            if not 1 <= self.le <= 256:
                raise ApduFormatError("Le must be 1..256")
            out += bytes([self.le & 0xFF])
        return out

    @classmethod
    def parse(cls, apdu: bytes) -> CommandApdu:
        n = len(apdu)
        if n < 4:
            raise ApduFormatError("an APDU has at least four header bytes")
        cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
        if n == 4:
            return cls(cla, ins, p1, p2)
        if n == 5:
            return cls(cla, ins, p1, p2, b"", apdu[4] or 256)
        lc = apdu[4]
        if lc == 0:
            raise ApduFormatError("extended-length APDUs are not supported")
        if n == 5 + lc:
            return cls(cla, ins, p1, p2, bytes(apdu[5:]))
        if n == 6 + lc:
            return cls(cla, ins, p1, p2, bytes(apdu[5 : 5 + lc]), apdu[-1] or 256)
        raise ApduFormatError(f"Lc={lc} does not match the {n}-byte APDU")

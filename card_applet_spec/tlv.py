"""Minimal, strict BER-TLV (ISO 7816-4 / ISO 8825-1 subset) used by the applet.

Tags are one or two bytes (two when the low five bits of the first byte are all set), lengths use
the short form or 81/82 long forms. Parsing is strict: trailing garbage, truncated values and
indefinite lengths raise :class:`TlvError`.
"""

from __future__ import annotations

from collections.abc import Iterator


class TlvError(ValueError):
    """Malformed BER-TLV data."""


def encode_tag(tag: int) -> bytes:
    if tag < 0 or tag > 0xFFFF:
        raise TlvError(f"tag out of range: {tag:#x}")
    return bytes([tag]) if tag <= 0xFF else tag.to_bytes(2, "big")


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    if length <= 0xFFFF:
        return bytes([0x82]) + length.to_bytes(2, "big")
    raise TlvError(f"length too large: {length}")


def tlv(tag: int, value: bytes) -> bytes:
    """Encode one data object."""
    return encode_tag(tag) + encode_length(len(value)) + value


def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("truncated tag")
    first = data[pos]
    if first in (0x00, 0xFF):
        raise TlvError(f"invalid tag byte {first:#04x} at {pos}")
    if first & 0x1F != 0x1F:
        return first, pos + 1
    if pos + 1 >= len(data):
        raise TlvError("truncated two-byte tag")
    second = data[pos + 1]
    if second & 0x80:
        raise TlvError("tags longer than two bytes are not used")
    return (first << 8) | second, pos + 2


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise TlvError("truncated length")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    if first == 0x81:
        if pos + 1 >= len(data):
            raise TlvError("truncated length")
        return data[pos + 1], pos + 2
    if first == 0x82:
        if pos + 2 >= len(data):
            raise TlvError("truncated length")
        return int.from_bytes(data[pos + 1 : pos + 3], "big"), pos + 3
    raise TlvError(f"unsupported length form {first:#04x}")


def iter_tlv(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield (tag, value) for each top-level data object in ``data``."""
    pos = 0
    while pos < len(data):
        tag, pos = _read_tag(data, pos)
        length, pos = _read_length(data, pos)
        end = pos + length
        if end > len(data):
            raise TlvError(f"value of tag {tag:#x} truncated: need {length}, have {len(data) - pos}")
        yield tag, bytes(data[pos:end])
        pos = end


def parse_tlv(data: bytes) -> dict[int, bytes]:
    """Parse top-level objects into a dict; a repeated tag is an error (use iter_tlv for lists)."""
    out: dict[int, bytes] = {}
    for tag, value in iter_tlv(data):
        if tag in out:
            raise TlvError(f"duplicate tag {tag:#x}")
        out[tag] = value
    return out


def require(objects: dict[int, bytes], tag: int) -> bytes:
    try:
        return objects[tag]
    except KeyError:
        raise TlvError(f"missing tag {tag:#x}") from None


def parse_single(data: bytes, tag: int) -> bytes:
    """Parse data that must be exactly one object with ``tag``; return its value."""
    objects = list(iter_tlv(data))
    if len(objects) != 1 or objects[0][0] != tag:
        raise TlvError(f"expected exactly one object with tag {tag:#x}")
    return objects[0][1]

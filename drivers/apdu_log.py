"""APDU traffic as log text, with PIN-carrying command data redacted.

VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER carry PIN bytes: only their header and length are
ever shown. Callers format only when DEBUG is enabled (``log.isEnabledFor(logging.DEBUG)``).
"""

from __future__ import annotations

#: INS codes whose command data holds PIN bytes (ISO 7816-4 VERIFY, CHANGE REFERENCE DATA, RESET RETRY
#: COUNTER). Redacted whatever the CLA, chained or not.
PIN_INS: frozenset[int] = frozenset({0x20, 0x24, 0x2C})


def format_command(apdu: bytes) -> str:
    """Hex of a command APDU; for PIN commands only the 4 header bytes and the total length."""
    if len(apdu) >= 2 and apdu[1] in PIN_INS:
        return f"{apdu[:4].hex(' ').upper()} <{len(apdu) - 4} bytes redacted>"
    return apdu.hex(" ").upper()


def format_response(data: bytes, sw: int) -> str:
    """Hex of response data and the status word."""
    body = data.hex(" ").upper() if data else "-"
    return f"{body} SW={sw:04X}"

"""APDU traffic as log text, with PINs and personal data redacted.

VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER carry PIN bytes, and PUT DATA of the personal-data
object carries the full NIK: for those only the header and the length are ever shown. Response data is
never shown, only its length and the status word (a GET DATA answer may hold personal data; the terminal
session logs what it parsed at its own level). Callers format only when DEBUG is enabled.
"""

from __future__ import annotations

from card_applet_spec import constants as c

#: INS codes whose command data holds PIN bytes (ISO 7816-4 VERIFY, CHANGE REFERENCE DATA, RESET RETRY
#: COUNTER). Redacted whatever the CLA, chained or not.
PIN_INS: frozenset[int] = frozenset({c.INS_VERIFY, c.INS_CHANGE_REFERENCE_DATA, c.INS_RESET_RETRY_COUNTER})
_PERSONAL = (c.DO_PERSONAL_DATA >> 8, c.DO_PERSONAL_DATA & 0xFF)


def _secret(apdu: bytes) -> bool:
    if len(apdu) < 4:
        return False
    return apdu[1] in PIN_INS or (apdu[1] == c.INS_PUT_DATA and (apdu[2], apdu[3]) == _PERSONAL)


def format_command(apdu: bytes) -> str:
    """Hex of a command APDU; for PIN and personal-data commands only the 4 header bytes and the length."""
    if _secret(apdu):
        return f"{apdu[:4].hex(' ').upper()} <{len(apdu) - 4} bytes redacted>"
    return apdu.hex(" ").upper()


def format_response(data: bytes, sw: int) -> str:
    """Length of the response data and the status word."""
    return f"<{len(data)} bytes> SW={sw:04X}"

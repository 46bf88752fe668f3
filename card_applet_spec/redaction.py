"""The one redaction rule: what of a NIK, a PIN or personal data may appear on a screen, a receipt,
in a log or in an audit line.

- A NIK or family-card (KK) number shows its first four digits (province and regency) and its last four,
  never the district, birth date and sex in the middle: ``6271********0001``. A number too short to
  keep eight digits visible is hidden entirely.
- APDU logs: VERIFY, CHANGE REFERENCE DATA and RESET RETRY COUNTER carry PIN bytes, and PUT DATA of the
  personal-data object carries the full NIK: of those only the header and the length are ever shown.
  Response data is never shown, only its length and the status word (a GET DATA answer may hold
  personal data). Callers format only when DEBUG is enabled.
"""

from __future__ import annotations

from card_applet_spec import constants as c

_KEEP_HEAD = 4
_KEEP_TAIL = 4

#: INS codes whose command data holds PIN bytes (ISO 7816-4 VERIFY, CHANGE REFERENCE DATA, RESET RETRY
#: COUNTER). Redacted whatever the CLA, chained or not.
PIN_INS: frozenset[int] = frozenset({c.INS_VERIFY, c.INS_CHANGE_REFERENCE_DATA, c.INS_RESET_RETRY_COUNTER})
_PERSONAL = (c.DO_PERSONAL_DATA >> 8, c.DO_PERSONAL_DATA & 0xFF)


def mask_nik(number: str) -> str:
    """``6271********0001``: a NIK (or KK number) with its middle hidden."""
    number = number.strip()
    if len(number) <= _KEEP_HEAD + _KEEP_TAIL:
        return "*" * len(number)
    return number[:_KEEP_HEAD] + "*" * (len(number) - _KEEP_HEAD - _KEEP_TAIL) + number[-_KEEP_TAIL:]


def is_secret_command(ins: int, p1: int, p2: int) -> bool:
    """The command's data holds PIN bytes or the full NIK: never log it."""
    return ins in PIN_INS or (ins == c.INS_PUT_DATA and (p1, p2) == _PERSONAL)


def format_command(apdu: bytes) -> str:
    """Hex of a command APDU; for PIN and personal-data commands only the 4 header bytes and the length."""
    if len(apdu) >= 4 and is_secret_command(apdu[1], apdu[2], apdu[3]):
        return f"{apdu[:4].hex(' ').upper()} <{len(apdu) - 4} bytes redacted>"
    return apdu.hex(" ").upper()


def format_response(data: bytes, sw: int) -> str:
    """Length of the response data and the status word."""
    return f"<{len(data)} bytes> SW={sw:04X}"

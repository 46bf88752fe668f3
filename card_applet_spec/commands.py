"""The applet's command APDUs (SPEC.md §5), built once for every sender.

The terminal session (``terminal/card/session.py``) and the vector generator
(``card_applet_spec/vectorgen.py``) both build their commands here, so the bytes a terminal sends and
the bytes the vectors record come from one definition. Each builder returns a :class:`CommandApdu`; the
keyword arguments a terminal never changes (class byte, P1, P2, Le) let the vectors build the malformed
variants a card must refuse. Data longer than one short APDU is returned whole: the sender chains it
(SPEC §5.1.5).

Builders of command *data* (``*_data``) return bytes: the DEBIT fields and their MAC, the signed objects
of LOAD GRANT and SET STATUS, the issuer key of PUT DATA DF25, the terminal certificate and the data of
RESET RETRY COUNTER.
"""

from __future__ import annotations

from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.pin_envelope import debit_mac
from card_applet_spec.records import pin_block
from card_applet_spec.tlv import tlv

#: P1 of CHANGE REFERENCE DATA that sets the initial PIN in personalisation (one PIN block, no old PIN).
P1_INITIAL_PIN = 0x01
#: The header a DEBIT's MAC covers (§6.6): the command's CLA INS P1 P2.
DEBIT_HEADER = bytes([c.CLA_PROPRIETARY, c.INS_DEBIT, 0, 0])

# --- Selection and reading -------------------------------------------------------------------------


def select(
    aid: bytes = c.AID, *, cla: int = c.CLA_ISO, p1: int = c.SELECT_BY_NAME, p2: int = 0
) -> CommandApdu:
    """SELECT by AID (§5.2), Le=00 for the FCI."""
    return CommandApdu(cla, c.INS_SELECT, p1, p2, aid, le=256)


def get_data(do: int, le: int | None = 256) -> CommandApdu:
    """GET DATA of data object ``do`` (P1P2, §5.4)."""
    return CommandApdu(c.CLA_ISO, c.INS_GET_DATA, do >> 8, do & 0xFF, le=le)


def get_response(le: int) -> CommandApdu:
    """GET RESPONSE for the next ``le`` bytes of a 61xx answer (§5.3)."""
    return CommandApdu(c.CLA_ISO, c.INS_GET_RESPONSE, 0, 0, le=le)


def internal_authenticate(challenge: bytes, *, p1: int = 0, p2: int = 0, le: int = 256) -> CommandApdu:
    """INTERNAL AUTHENTICATE with the terminal's challenge (§5.11)."""
    return CommandApdu(c.CLA_ISO, c.INS_INTERNAL_AUTHENTICATE, p1, p2, challenge, le=le)


def get_challenge_withdrawn(le: int = c.CHALLENGE_LEN) -> CommandApdu:
    """GET CHALLENGE of applet version 1.0, withdrawn in 2.0 (§5.10: a card answers 6D00)."""
    return CommandApdu(c.CLA_ISO, c.INS_GET_CHALLENGE_WITHDRAWN, 0, 0, le=le)


# --- PIN -------------------------------------------------------------------------------------------


def verify(data: bytes = b"", *, p1: int = 0, p2: int = c.PIN_REFERENCE) -> CommandApdu:
    """VERIFY (§5.7): with the PIN envelope, or without data to ask for the PIN status."""
    return CommandApdu(c.CLA_ISO, c.INS_VERIFY, p1, p2, data)


def change_reference_data(data: bytes, *, p1: int = 0, p2: int = c.PIN_REFERENCE) -> CommandApdu:
    """CHANGE REFERENCE DATA (§5.8): P1=00 with the envelope of old || new PIN block."""
    return CommandApdu(c.CLA_ISO, c.INS_CHANGE_REFERENCE_DATA, p1, p2, data)


def set_initial_pin(pin: str) -> CommandApdu:
    """CHANGE REFERENCE DATA P1=01 in personalisation: the initial PIN block, in clear (§5.8)."""
    return change_reference_data(pin_block(pin), p1=P1_INITIAL_PIN)


def reset_retry_counter(data: bytes = b"", *, cla: int = c.CLA_ISO) -> CommandApdu:
    """RESET RETRY COUNTER (§5.9) of the holder PIN; its data is over 255 bytes: the sender chains it."""
    return CommandApdu(cla, c.INS_RESET_RETRY_COUNTER, 0, c.PIN_REFERENCE, data)


def terminal_cert_data(body: bytes, kid: bytes, issuer_signature: bytes) -> bytes:
    """A terminal certificate: ``7F21 { C5 body, C4 kid, 9E issuer signature }`` (§5.9, body §6.9)."""
    return tlv(c.TAG_TERMINAL_CERT, signed_object_data(c.TAG_TERMINAL_CERT_BODY, body, kid, issuer_signature))


def reset_retry_counter_data(cert: bytes, envelope: bytes, terminal_signature: bytes) -> bytes:
    """RESET RETRY COUNTER data: the certificate TLV, ``C9`` envelope, ``9E`` terminal signature."""
    return cert + tlv(c.TAG_PIN_ENVELOPE, envelope) + tlv(c.TAG_SIGNATURE, terminal_signature)


# --- Transactions ----------------------------------------------------------------------------------


def debit_fields(
    program: int, amount: int, terminal_id: bytes, nonce: bytes, terminal_time: int, expected_counter: int
) -> bytes:
    """The 29 bytes of DEBIT fields (§6.6), before their MAC."""
    return (
        bytes([program])
        + amount.to_bytes(4, "big")
        + terminal_id
        + nonce
        + terminal_time.to_bytes(4, "big")
        + expected_counter.to_bytes(4, "big")
    )


def debit_data(debit_key: bytes, fields: bytes, header: bytes = DEBIT_HEADER) -> bytes:
    """DEBIT command data (§6.6): the fields, then their MAC under ``debit_key`` (the VERIFY's)."""
    return fields + debit_mac(debit_key, header, fields)


def debit(data: bytes, *, p1: int = 0, p2: int = 0) -> CommandApdu:
    """DEBIT (§5.12) with its MACed data; the card answers the signed record."""
    return CommandApdu(c.CLA_PROPRIETARY, c.INS_DEBIT, p1, p2, data, le=256)


def read_log(count: int) -> CommandApdu:
    """READ LOG of the newest ``count`` records (0: all), §5.13."""
    return CommandApdu(c.CLA_PROPRIETARY, c.INS_READ_LOG, 0, count, le=256)


def signed_object_data(body_tag: int, body: bytes, kid: bytes, signature: bytes) -> bytes:
    """An issuer-signed object as commands carry it: body TLV, ``C4`` kid, ``9E`` signature."""
    return tlv(body_tag, body) + tlv(c.TAG_KEY_ID, kid) + tlv(c.TAG_SIGNATURE, signature)


def load_grant(data: bytes, *, cla: int = c.CLA_PROPRIETARY) -> CommandApdu:
    """LOAD GRANT (§5.14) with ``C3`` body, kid and signature (:func:`signed_object_data`)."""
    return CommandApdu(cla, c.INS_LOAD_GRANT, 0, 0, data)


def set_status(target: int, data: bytes = b"", *, p2: int = 0) -> CommandApdu:
    """SET STATUS to life cycle ``target`` (§5.15): ``C7`` body, kid and signature; none to activate."""
    return CommandApdu(c.CLA_PROPRIETARY, c.INS_SET_STATUS, target, p2, data)


# --- Personalisation -------------------------------------------------------------------------------


def generate_key(*, p1: int = 0, p2: int = 0) -> CommandApdu:
    """GENERATE KEY (§5.6): the card makes its key pair and answers the public point."""
    return CommandApdu(c.CLA_PROPRIETARY, c.INS_GENERATE_KEY, p1, p2, le=256)


def put_data(do: int, value: bytes, *, cla: int = c.CLA_ISO) -> CommandApdu:
    """PUT DATA of data object ``do`` (P1P2, §5.5)."""
    return CommandApdu(cla, c.INS_PUT_DATA, do >> 8, do & 0xFF, value)


def issuer_key_data(kid: bytes, point: bytes) -> bytes:
    """One issuer key for PUT DATA DF25: ``E4 { C4 kid, 86 point }``."""
    return tlv(c.TAG_ISSUER_KEY, tlv(c.TAG_KEY_ID, kid) + tlv(c.TAG_EC_POINT, point))


def activate() -> CommandApdu:
    """SET STATUS P1=0F without data: the end of personalisation (§5.15)."""
    return set_status(c.LifeCycle.OPERATIONAL)

"""Command data the vector terminals send, built from the fixed inputs with the shared builders.

The command builders themselves are :mod:`card_applet_spec.commands` (the terminal session's too); here
they are fed the vectors' fixed values: DEBIT fields of terminal ``KHBS-T01``, PIN envelopes to the vector
card key with the ephemeral key of a label (SPEC §11.2), and the data of RESET RETRY COUNTER signed by a
test terminal key.
"""

from __future__ import annotations

from collections.abc import Callable

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec.issuer import IssuerSigner, Signed
from card_applet_spec.pin_envelope import SealedVerify, private_key_from_scalar, seal, seal_verify
from card_applet_spec.records import pin_reset_message
from card_applet_spec.vectorkit.inputs import (
    CARD_COMPRESSED,
    CARD_POINT,
    HOLDER_NIK,
    SERIAL,
    TERMINAL_1,
    TERMINAL_ID,
    ephemeral_scalar,
    holder_reference,
)

#: The key a DEBIT is MACed under when no VERIFY of the case gave one (the card refuses it first).
NO_DEBIT_KEY = bytes(16)


def debit_fields(program: int, amount: int, nonce: bytes, terminal_time: int, counter: int) -> bytes:
    """The 29 bytes of DEBIT fields as terminal ``KHBS-T01`` sends them (before the MAC)."""
    return cmd.debit_fields(program, amount, TERMINAL_ID, nonce, terminal_time, counter)


def signed_data(body_tag: int, signed: Signed) -> bytes:
    """An issuer-signed object as LOAD GRANT / SET STATUS carry it: body TLV, kid, signature."""
    return cmd.signed_object_data(body_tag, signed.body, signed.kid, signed.signature)


def envelope(ins: int, nonce: bytes, plaintext: bytes, label: str) -> bytes:
    """A PIN envelope (§6.14) to the vector card key, with the ephemeral key of ``label``."""
    eph = private_key_from_scalar(ephemeral_scalar(label))
    return seal(CARD_POINT, ins, SERIAL, nonce, plaintext, ephemeral=eph)


def verify_envelope(nonce: bytes, block: bytes, label: str) -> SealedVerify:
    """A VERIFY envelope (§6.14) and the DEBIT key it yields, with the ephemeral key of ``label``."""
    eph = private_key_from_scalar(ephemeral_scalar(label))
    return seal_verify(CARD_POINT, SERIAL, nonce, block, ephemeral=eph)


def reset_message_data(
    cert: Signed,
    nonce: bytes,
    new_block: bytes,
    *,
    nik: str = HOLDER_NIK,
    label: str,
    signer: IssuerSigner | None = None,
    signed_nonce: bytes | None = None,
    mangle: Callable[[bytes], bytes] | None = None,
) -> bytes:
    """RESET RETRY COUNTER data: certificate, envelope (new block || holder_ref), terminal signature.

    ``signed_nonce`` signs over another nonce than the envelope's; ``mangle`` changes the envelope
    *before* it is signed (a terminal that signs what it sends, but sends a broken envelope).
    """
    env = envelope(c.INS_RESET_RETRY_COUNTER, nonce, new_block + holder_reference(nik), label)
    if mangle is not None:
        env = mangle(env)
    message = pin_reset_message(SERIAL, signed_nonce or nonce, CARD_COMPRESSED, env)
    cert_data = cmd.terminal_cert_data(cert.body, cert.kid, cert.signature)
    return cmd.reset_retry_counter_data(cert_data, env, (signer or TERMINAL_1).sign(message))


def flip_last(data: bytes) -> bytes:
    """``data`` with the last bit of its last byte flipped (a broken MAC or signature)."""
    return data[:-1] + bytes([data[-1] ^ 0x01])

"""The PIN envelope (SPEC.md §6.14): PIN data enciphered to the card's key, bound to one card nonce.

``E = P || C || T``: ``P`` the terminal's ephemeral P-256 public key (65 bytes, uncompressed), ``C`` the
plaintext under AES-128-CBC (IV = 0, ISO/IEC 9797-1 padding method 2), ``T`` the first 8 bytes of
AES-CMAC over ``P || C``. The keys come from ECDH between the ephemeral key and the card key (x
coordinate), through ANSI X9.63 KDF with SHA-256 (32 bytes, shared info ``'KHBS-PE1' || INS || card
serial || card nonce``): ``k_enc || k_mac``, 16 bytes each.

The terminal :func:`seal`s with the card key from the credential it verified; the card
:func:`open_envelope`s with its private key. Used by the terminal session and the reference card alike,
so there is one definition of the format. ``cryptography`` only.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import cmac, hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from card_applet_spec import constants as c

POINT_LEN = 65
MAC_LEN = 8
BLOCK = 16
_ZERO_IV = bytes(BLOCK)


class EnvelopeError(ValueError):
    """The envelope is malformed or does not authenticate (the card answers 6A80)."""


def padded_len(plaintext_len: int) -> int:
    """Ciphertext length for a plaintext of ``plaintext_len`` bytes (method 2 always adds 1..16 bytes)."""
    return (plaintext_len // BLOCK + 1) * BLOCK


def envelope_len(plaintext_len: int) -> int:
    """Length of the whole envelope: 65 + ciphertext + 8 (VERIFY: 89; CHANGE/RESET: 105)."""
    return POINT_LEN + padded_len(plaintext_len) + MAC_LEN


def _pad(data: bytes) -> bytes:
    data = data + b"\x80"
    return data + bytes(-len(data) % BLOCK)


def _unpad(data: bytes) -> bytes:
    end = data.rstrip(b"\x00")
    if not end or end[-1] != 0x80:
        raise EnvelopeError("bad padding")
    return end[:-1]


def derive_keys(shared_x: bytes, ins: int, card_serial: bytes, card_nonce: bytes) -> tuple[bytes, bytes]:
    """``k_enc, k_mac`` from the ECDH x coordinate (X9.63 KDF, SHA-256, 32 bytes)."""
    info = c.DOMAIN_PIN_ENVELOPE + bytes([ins]) + card_serial + card_nonce
    okm = X963KDF(algorithm=hashes.SHA256(), length=32, sharedinfo=info).derive(shared_x)
    return okm[:16], okm[16:]


def _mac(k_mac: bytes, data: bytes) -> bytes:
    mac = cmac.CMAC(algorithms.AES(k_mac))
    mac.update(data)
    return mac.finalize()[:MAC_LEN]


def _card_public_key(card_point: bytes) -> ec.EllipticCurvePublicKey:
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), card_point)
    except ValueError as exc:
        raise EnvelopeError(f"card key is not a P-256 point: {exc}") from exc


def seal(
    card_point: bytes,
    ins: int,
    card_serial: bytes,
    card_nonce: bytes,
    plaintext: bytes,
    *,
    ephemeral: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """Encipher ``plaintext`` to the card key ``card_point`` (SEC 1, compressed or not) for command ``ins``.

    ``ephemeral`` is for test vectors only; by default a fresh key is generated for every envelope.
    """
    if len(card_serial) != c.CARD_SERIAL_LEN or len(card_nonce) != c.CARD_NONCE_LEN:
        raise ValueError("card serial is 8 bytes and card nonce 16")
    card_key = _card_public_key(card_point)
    eph = ephemeral if ephemeral is not None else ec.generate_private_key(ec.SECP256R1())
    point = eph.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    k_enc, k_mac = derive_keys(eph.exchange(ec.ECDH(), card_key), ins, card_serial, card_nonce)
    encryptor = Cipher(algorithms.AES(k_enc), modes.CBC(_ZERO_IV)).encryptor()
    ciphertext = encryptor.update(_pad(plaintext)) + encryptor.finalize()
    return point + ciphertext + _mac(k_mac, point + ciphertext)


def open_envelope(
    card_key: ec.EllipticCurvePrivateKey,
    ins: int,
    card_serial: bytes,
    card_nonce: bytes,
    envelope: bytes,
    plaintext_len: int,
) -> bytes:
    """The card's side: check length, point, MAC and padding; return exactly ``plaintext_len`` bytes.

    Raises :class:`EnvelopeError` for any defect (one error for all, so no oracle tells them apart).
    """
    if len(envelope) != envelope_len(plaintext_len):
        raise EnvelopeError("envelope of the wrong length")
    point, ciphertext, tag = envelope[:POINT_LEN], envelope[POINT_LEN:-MAC_LEN], envelope[-MAC_LEN:]
    if point[0] != 0x04:
        raise EnvelopeError("ephemeral key must be an uncompressed point")
    try:
        eph = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise EnvelopeError("ephemeral key is not on P-256") from None
    k_enc, k_mac = derive_keys(card_key.exchange(ec.ECDH(), eph), ins, card_serial, card_nonce)
    if not hmac.compare_digest(_mac(k_mac, point + ciphertext), tag):
        raise EnvelopeError("MAC does not verify")
    decryptor = Cipher(algorithms.AES(k_enc), modes.CBC(_ZERO_IV)).decryptor()
    plaintext = _unpad(decryptor.update(ciphertext) + decryptor.finalize())
    if len(plaintext) != plaintext_len:
        raise EnvelopeError("plaintext of the wrong length")
    return plaintext


def private_key_from_scalar(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    """An ephemeral key from a fixed scalar (test vectors)."""
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())

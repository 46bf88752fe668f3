"""The PIN envelope (SPEC.md §6.14): PIN data enciphered to the card's key, bound to one card nonce.

``E = P || C || T``: ``P`` the terminal's ephemeral P-256 public key (65 bytes, uncompressed), ``C`` the
plaintext under AES-128-CBC (IV = 0, ISO/IEC 9797-1 padding method 2), ``T`` the first 8 bytes of
AES-CMAC over ``P || C``. The keys come from ECDH between the ephemeral key and the card key (x
coordinate), through ANSI X9.63 KDF with SHA-256 (48 bytes, shared info ``'KHBS-PE1' || INS || card
serial || card nonce``): ``k_enc || k_mac || k_debit``, 16 bytes each.

``k_debit`` is the DEBIT key of a VERIFY envelope (SPEC.md §6.14, §6.6): only the card and the terminal
that made the envelope know it; a DEBIT carries :func:`debit_mac` under it, so a relay that sees the
envelope cannot spend the holder's PIN verification on a DEBIT of its own.

The terminal :func:`seal`s (or :func:`seal_verify`s) with the card key from the credential it verified;
the card :func:`open_envelope`s (or :func:`open_verify`s) with its private key. Used by the terminal
session and the reference card alike, so there is one definition of the format. ``cryptography`` only.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography.hazmat.primitives import cmac, hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from card_applet_spec import constants as c

POINT_LEN = 65
MAC_LEN = 8
BLOCK = 16
KEY_LEN = 16
KDF_LEN = 3 * KEY_LEN  # k_enc || k_mac || k_debit
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


@dataclass(frozen=True)
class EnvelopeKeys:
    """The three keys of one envelope (§6.14): K = X9.63 KDF(Z, 48 bytes) = k_enc || k_mac || k_debit."""

    enc: bytes
    mac: bytes
    debit: bytes


@dataclass(frozen=True)
class SealedVerify:
    """A VERIFY envelope and the DEBIT key it yields once the card accepts the PIN (§6.14)."""

    envelope: bytes
    debit_key: bytes


def derive_keys(shared_x: bytes, ins: int, card_serial: bytes, card_nonce: bytes) -> EnvelopeKeys:
    """``k_enc, k_mac, k_debit`` from the ECDH x coordinate (X9.63 KDF, SHA-256, 48 bytes)."""
    info = c.DOMAIN_PIN_ENVELOPE + bytes([ins]) + card_serial + card_nonce
    okm = X963KDF(algorithm=hashes.SHA256(), length=KDF_LEN, sharedinfo=info).derive(shared_x)
    return EnvelopeKeys(okm[:KEY_LEN], okm[KEY_LEN : 2 * KEY_LEN], okm[2 * KEY_LEN :])


def debit_mac(debit_key: bytes, header: bytes, debit_fields: bytes) -> bytes:
    """The 8-byte MAC of a DEBIT (§6.6): AES-CMAC(k_debit, 'KHBS-DM1' || CLA INS P1 P2 || fields)[:8].

    ``header`` is the 4-byte command header, ``debit_fields`` the first 29 bytes of the DEBIT data.
    """
    if len(debit_key) != KEY_LEN or len(header) != 4 or len(debit_fields) != c.DEBIT_FIELDS_LEN:
        raise ValueError("DEBIT key 16 bytes, header 4, DEBIT fields 29")
    return _mac(debit_key, c.DOMAIN_DEBIT_MAC + header + debit_fields)


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
    return _seal(card_point, ins, card_serial, card_nonce, plaintext, ephemeral)[0]


def seal_verify(
    card_point: bytes,
    card_serial: bytes,
    card_nonce: bytes,
    block: bytes,
    *,
    ephemeral: ec.EllipticCurvePrivateKey | None = None,
) -> SealedVerify:
    """The VERIFY envelope of the PIN block ``block`` and its DEBIT key (keep it, never send it)."""
    envelope, keys = _seal(card_point, c.INS_VERIFY, card_serial, card_nonce, block, ephemeral)
    return SealedVerify(envelope, keys.debit)


def _seal(
    card_point: bytes,
    ins: int,
    card_serial: bytes,
    card_nonce: bytes,
    plaintext: bytes,
    ephemeral: ec.EllipticCurvePrivateKey | None,
) -> tuple[bytes, EnvelopeKeys]:
    if len(card_serial) != c.CARD_SERIAL_LEN or len(card_nonce) != c.CARD_NONCE_LEN:
        raise ValueError("card serial is 8 bytes and card nonce 16")
    card_key = _card_public_key(card_point)
    eph = ephemeral if ephemeral is not None else ec.generate_private_key(ec.SECP256R1())
    point = eph.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    keys = derive_keys(eph.exchange(ec.ECDH(), card_key), ins, card_serial, card_nonce)
    encryptor = Cipher(algorithms.AES(keys.enc), modes.CBC(_ZERO_IV)).encryptor()
    ciphertext = encryptor.update(_pad(plaintext)) + encryptor.finalize()
    return point + ciphertext + _mac(keys.mac, point + ciphertext), keys


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
    return _open(card_key, ins, card_serial, card_nonce, envelope, plaintext_len)[0]


def open_verify(
    card_key: ec.EllipticCurvePrivateKey, card_serial: bytes, card_nonce: bytes, envelope: bytes
) -> tuple[bytes, bytes]:
    """The card's side of VERIFY: the PIN block and the DEBIT key (kept only if the PIN is right)."""
    block, keys = _open(card_key, c.INS_VERIFY, card_serial, card_nonce, envelope, c.PIN_BLOCK_LEN)
    return block, keys.debit


def _open(
    card_key: ec.EllipticCurvePrivateKey,
    ins: int,
    card_serial: bytes,
    card_nonce: bytes,
    envelope: bytes,
    plaintext_len: int,
) -> tuple[bytes, EnvelopeKeys]:
    if len(envelope) != envelope_len(plaintext_len):
        raise EnvelopeError("envelope of the wrong length")
    point, ciphertext, tag = envelope[:POINT_LEN], envelope[POINT_LEN:-MAC_LEN], envelope[-MAC_LEN:]
    if point[0] != 0x04:
        raise EnvelopeError("ephemeral key must be an uncompressed point")
    try:
        eph = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise EnvelopeError("ephemeral key is not on P-256") from None
    keys = derive_keys(card_key.exchange(ec.ECDH(), eph), ins, card_serial, card_nonce)
    if not hmac.compare_digest(_mac(keys.mac, point + ciphertext), tag):
        raise EnvelopeError("MAC does not verify")
    decryptor = Cipher(algorithms.AES(keys.enc), modes.CBC(_ZERO_IV)).decryptor()
    plaintext = _unpad(decryptor.update(ciphertext) + decryptor.finalize())
    if len(plaintext) != plaintext_len:
        raise EnvelopeError("plaintext of the wrong length")
    return plaintext, keys


def private_key_from_scalar(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    """An ephemeral key from a fixed scalar (test vectors)."""
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())

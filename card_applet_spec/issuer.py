"""Issuer-side signing of what the card checks: grants, status changes, terminal certificates.

Used by the registration server, the issuance station, the demo and the test-vector generator.
Deterministic ECDSA (RFC 6979) by default so test vectors are reproducible.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec.cose import key_id
from card_applet_spec.records import GrantBody, StatusBody, TerminalCertBody

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def key_from_seed(seed: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 key derived from a text seed. For tests, vectors and demos only."""
    scalar = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def uncompressed_point(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


@dataclass(frozen=True)
class Signed:
    body: bytes
    kid: bytes
    signature: bytes  # DER


class IssuerSigner:
    """An issuer private key with its key id."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, *, deterministic: bool = True) -> None:
        self.key = key
        self.kid = key_id(key.public_key())
        self.point = uncompressed_point(key.public_key())
        self._algorithm = ec.ECDSA(hashes.SHA256(), deterministic_signing=deterministic)

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message, self._algorithm)

    def grant(self, body: GrantBody) -> Signed:
        return Signed(body.encode(), self.kid, self.sign(body.signed_message()))

    def status(self, body: StatusBody) -> Signed:
        return Signed(body.encode(), self.kid, self.sign(body.signed_message()))

    def terminal_cert(self, body: TerminalCertBody) -> Signed:
        return Signed(body.encode(), self.kid, self.sign(body.signed_message()))

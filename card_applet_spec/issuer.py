"""Issuer-side signing of what the card checks: grants, status changes, terminal certificates.

Used by the registration server, the issuance station, the demo and the test-vector generator.
Deterministic ECDSA (RFC 6979) by default so test vectors are reproducible.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec.cose import SigningKey, raw_to_der, sign_es256, signing_kid
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
    """An issuer key with its key id: a private key in memory (tests, vectors, the demo) or a key-store
    signer (``card_applet_spec.cose.Es256Signer``: the server's HSM or key file), same calls either way.
    ``key`` is what ``cose.sign1`` / ``credential.sign_credential`` take."""

    def __init__(self, key: SigningKey, *, deterministic: bool = True) -> None:
        self.key = key
        self.kid = signing_kid(key)
        self.point = uncompressed_point(key.public_key())
        self._deterministic = deterministic
        self._algorithm = ec.ECDSA(hashes.SHA256(), deterministic_signing=deterministic)

    def sign(self, message: bytes) -> bytes:
        """A DER ECDSA signature of ``message`` (as grants, status commands and certificates carry)."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return self.key.sign(message, self._algorithm)
        return raw_to_der(sign_es256(self.key, message))

    def grant(self, body: GrantBody) -> Signed:
        return Signed(body.encode(), self.kid, self.sign(body.signed_message()))

    def status(self, body: StatusBody) -> Signed:
        return Signed(body.encode(), self.kid, self.sign(body.signed_message()))

    def terminal_cert(self, body: TerminalCertBody) -> Signed:
        return Signed(body.encode(), self.kid, self.sign(body.signed_message()))

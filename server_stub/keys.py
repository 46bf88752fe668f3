"""The server's signing keys.

Demo/test deployments derive every key from one secret seed (``Settings.key_seed``) with
``card_applet_spec.issuer.key_from_seed``; the database only holds public keys and key generations.
A production deployment replaces :class:`KeyRing` by one backed by an HSM, with the same methods.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec.issuer import IssuerSigner, key_from_seed


class KeyRing:
    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._issuers: dict[int, IssuerSigner] = {}

    def issuer(self, generation: int) -> IssuerSigner:
        """Issuer key ``generation`` (1, 2, ... — a rotation adds the next one)."""
        signer = self._issuers.get(generation)
        if signer is None:
            signer = IssuerSigner(key_from_seed(f"{self._seed}/issuer/{generation}"))
            self._issuers[generation] = signer
        return signer

    @property
    def status_list_key(self) -> ec.EllipticCurvePrivateKey:
        return _derived(self._seed, "status-list")

    @property
    def trust_root_key(self) -> ec.EllipticCurvePrivateKey:
        """Signs the trust list; its public key is provisioned on every terminal."""
        return _derived(self._seed, "trust-root")


@lru_cache(maxsize=16)
def _derived(seed: str, purpose: str) -> ec.EllipticCurvePrivateKey:
    return key_from_seed(f"{seed}/{purpose}")

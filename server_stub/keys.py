"""The server's signing keys: a key ring over one key store (``server_stub.keystore``).

Labels: ``issuer-N`` (issuer key generation N: credentials, grants, status commands, terminal
certificates), ``status-N`` (status-list key generation N: snapshots and deltas) and, in demo mode
only, ``trust-root``. The database holds the public keys, generations and windows
(``IssuerKey``, ``StatusKeyRow``); the store holds the private keys and signs.

The trust root is offline outside demo mode: the server holds only its public key
(``Settings.trust_root_public_key``) and publishes the trust lists the root signed at a ceremony
(``kartu keys sign-trust-list``, ``server_stub.services.trust_ceremony``). :func:`load_keys` refuses to
start a server outside demo mode with demo (seed-derived) keys, without an offline root, or with a
demo key imported into a real store.
"""

from __future__ import annotations

import logging
import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec.cose import key_id
from card_applet_spec.issuer import IssuerSigner
from server_stub.keystore import (
    DEMO_SEED,
    DemoKeyStore,
    KeyStore,
    KeyStoreError,
    StoreSigner,
    demo_public_keys,
    open_key_store,
)
from server_stub.settings import Settings

log = logging.getLogger(__name__)

ROOT_LABEL = "trust-root"


class KeyConfigError(KeyStoreError):
    """The keys configured cannot be used for this server (demo keys outside demo mode, no root...)."""


def issuer_label(generation: int) -> str:
    return f"issuer-{generation}"


def status_label(generation: int) -> str:
    return f"status-{generation}"


class KeyRing:
    """The server's keys. ``store``: a key store, or a seed (a demo store: tests and the demo world).
    ``root_public_key``: the offline root; None: the store's ``trust-root`` signs (demo only)."""

    def __init__(
        self, store: KeyStore | str, *, root_public_key: ec.EllipticCurvePublicKey | None = None
    ) -> None:
        self.store: KeyStore = DemoKeyStore(store) if isinstance(store, str) else store
        self._root_public = root_public_key
        self._issuers: dict[int, IssuerSigner] = {}
        self._lock = threading.Lock()

    # --- issuer keys -----------------------------------------------------------------------------

    def issuer(self, generation: int) -> IssuerSigner:
        """Issuer key ``generation`` (1, 2, ... — a rotation adds the next one); call shape unchanged."""
        with self._lock:
            signer = self._issuers.get(generation)
        if signer is None:
            signer = IssuerSigner(self.store.signer(issuer_label(generation)))
            with self._lock:
                self._issuers[generation] = signer
        return signer

    def create_issuer(self, generation: int) -> IssuerSigner:
        """Generate issuer key ``generation`` in the store (a demo store derives it)."""
        self.store.create(issuer_label(generation))
        return self.issuer(generation)

    # --- status-list keys ------------------------------------------------------------------------

    def status(self, generation: int) -> StoreSigner:
        return self.store.signer(status_label(generation))

    def create_status(self, generation: int) -> StoreSigner:
        return self.store.create(status_label(generation))

    @property
    def status_list_key(self) -> StoreSigner:
        """Status-list key generation 1 (what a server without a rotation signs with)."""
        return self.status(1)

    # --- the trust root --------------------------------------------------------------------------

    @property
    def online_root(self) -> bool:
        """True in demo mode without an offline root: the server signs its trust lists itself."""
        return self._root_public is None

    @property
    def trust_root_key(self) -> StoreSigner:
        """The root signer (demo only: an online root). Raises :class:`KeyConfigError` when offline."""
        if self._root_public is not None:
            raise KeyConfigError("the trust root is offline: trust lists are signed at a key ceremony")
        return self.store.signer(ROOT_LABEL)

    @property
    def root_public_key(self) -> ec.EllipticCurvePublicKey:
        return self._root_public if self._root_public is not None else self.trust_root_key.public_key()


def load_root_public_key(path: object) -> ec.EllipticCurvePublicKey:
    try:
        with open(str(path), "rb") as f:
            key = serialization.load_pem_public_key(f.read())
    except (OSError, ValueError) as exc:
        raise KeyConfigError(f"trust root public key {path}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyConfigError(f"trust root public key {path}: not a P-256 public key")
    return key


def load_keys(settings: Settings) -> KeyRing:
    """The key ring the settings name, refused (:class:`KeyConfigError`) outside demo mode when any key
    is a demo key: the demo store, a store holding a seed-derived key, or a seed-derived root."""
    store = open_key_store(settings.key_store) if settings.key_store else DemoKeyStore(settings.key_seed)
    root = load_root_public_key(settings.trust_root_public_key) if settings.trust_root_public_key else None
    if settings.demo:
        if store.demo:
            log.warning(
                "DEMO KEYS (%s): anyone can compute them; never use this server for real", store.description
            )
        return KeyRing(store, root_public_key=root)
    if store.demo:
        raise KeyConfigError(
            f"refusing to start outside demo mode with demo keys ({store.description}): "
            "set KHBS_KEY_STORE (file:DIR or pkcs11:MODULE?token=LABEL), or run with --demo"
        )
    if root is None:
        raise KeyConfigError(
            "refusing to start outside demo mode without an offline trust root: set "
            "KHBS_TRUST_ROOT_PUBLIC_KEY to the root's public key (PEM); the root stays offline"
        )
    labels = store.labels()
    if ROOT_LABEL in labels:
        raise KeyConfigError(
            f"the key store holds {ROOT_LABEL!r}: the root belongs offline, not on the web server"
        )
    seeds = (DEMO_SEED, settings.key_seed)
    demo_kids = demo_public_keys([*labels, ROOT_LABEL], seeds)
    for label in labels:
        if store.signer(label).kid in demo_kids:
            raise KeyConfigError(f"key {label!r} in {store.description} is a seed-derived demo key")
    if key_id(root) in demo_kids:
        raise KeyConfigError("the trust root public key is a seed-derived demo key")
    return KeyRing(store, root_public_key=root)

"""Where the server's signing keys live: one small interface, three stores.

A :class:`KeyStore` holds P-256 keys under labels (``issuer-1``, ``status-1``, ``trust-root``...) and
hands out :class:`StoreSigner` objects (``card_applet_spec.cose.Es256Signer``: ``sign_digest`` gives raw
``r||s``, ``public_key()``, ``kid``); no private key material leaves a store through this interface.

- ``pkcs11:`` (:mod:`server_stub.keystore_pkcs11`): an HSM in production, SoftHSM2 in the tests. Keys are
  generated on the token, sensitive and not extractable.
- ``file:DIR``: one PKCS#8 PEM per key, encrypted with the best available scheme under a passphrase from
  the environment or a file (``KHBS_KEY_PASSPHRASE`` / ``KHBS_KEY_PASSPHRASE_FILE``): the demo's and a
  small deployment's store, and the offline root's on the ceremony machine.
- ``demo``: keys derived from a seed (:func:`card_applet_spec.issuer.key_from_seed`): anyone reading the
  source can compute them. ``demo`` is True: the server refuses it outside demo mode
  (``server_stub.keys.load_keys``).

Spec strings (``KHBS_KEY_STORE``, ``kartu keys --key-store``): ``demo[:SEED]``, ``file:DIR``,
``pkcs11:MODULE_PATH?token=LABEL`` (the user PIN from ``KHBS_PKCS11_PIN`` / ``KHBS_PKCS11_PIN_FILE``).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec.cose import LocalSigner, key_id
from card_applet_spec.issuer import key_from_seed

#: The seed of the demo store when none is given (the demo world's, public in this repository).
DEMO_SEED = "khbs-demo-issuer"
_LABEL = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


class KeyStoreError(Exception):
    """The key store cannot be opened or used (configuration, passphrase, token, PIN)."""


class KeyNotFound(KeyStoreError):
    """No key under this label."""


class KeyExists(KeyStoreError):
    """A key under this label exists already (a store never overwrites a key)."""


class StoreSigner(Protocol):
    """A key in a store: an ``Es256Signer`` with its label."""

    @property
    def label(self) -> str: ...

    @property
    def kid(self) -> bytes: ...

    def public_key(self) -> ec.EllipticCurvePublicKey: ...

    def sign_digest(self, digest: bytes) -> bytes: ...


class KeyStore(Protocol):
    """Labelled P-256 signing keys. ``demo``: keys anyone can compute (refused outside demo mode)."""

    @property
    def demo(self) -> bool: ...

    @property
    def description(self) -> str: ...

    def signer(self, label: str) -> StoreSigner:
        """The key under ``label`` (:class:`KeyNotFound` if none)."""
        ...

    def create(self, label: str) -> StoreSigner:
        """Generate a new key under ``label`` inside the store (:class:`KeyExists` if taken)."""
        ...

    def labels(self) -> list[str]: ...


def check_label(label: str) -> str:
    if not _LABEL.match(label):
        raise KeyStoreError(f"key label {label!r}: lower-case letters, digits and '-', at most 32")
    return label


class _Local(LocalSigner):
    """A key the store decrypted (file) or derived (demo) into this process's memory."""

    def __init__(self, label: str, key: ec.EllipticCurvePrivateKey) -> None:
        super().__init__(key)
        self.label = label


class DemoKeyStore:
    """Keys derived from a seed: ``key_from_seed(f"{seed}/{label}")``. Demo and tests only."""

    demo = True

    def __init__(self, seed: str = DEMO_SEED) -> None:
        self._seed = seed
        self._cache: dict[str, _Local] = {}
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return "demo keys derived from a seed (anyone can compute them)"

    def signer(self, label: str) -> StoreSigner:
        check_label(label)
        with self._lock:
            signer = self._cache.get(label)
            if signer is None:
                signer = _Local(label, key_from_seed(f"{self._seed}/{demo_purpose(label)}"))
                self._cache[label] = signer
        return signer

    def create(self, label: str) -> StoreSigner:
        return self.signer(label)

    def labels(self) -> list[str]:
        return sorted(self._cache)


def demo_purpose(label: str) -> str:
    """The seed suffix of a demo key: the names the seed-derived key ring has always used
    (``issuer/N``, ``status-list``, ``trust-root``), so the demo world's keys do not change."""
    if label.startswith("issuer-"):
        return "issuer/" + label.removeprefix("issuer-")
    if label == "status-1":
        return "status-list"
    return label


def demo_public_keys(labels: list[str], seeds: tuple[str, ...] = (DEMO_SEED,)) -> set[bytes]:
    """Key ids of the demo keys under these labels (to refuse a demo key smuggled into a real store)."""
    return {
        key_id(key_from_seed(f"{seed}/{demo_purpose(label)}").public_key())
        for seed in seeds
        for label in labels
    }


class FileKeyStore:
    """One encrypted PKCS#8 PEM per key (``DIR/LABEL.pem``, mode 0600) under one passphrase."""

    demo = False

    def __init__(self, directory: Path, passphrase: bytes) -> None:
        if len(passphrase) < 12:
            raise KeyStoreError("the key-file passphrase must be at least 12 bytes")
        self._dir = directory
        self._passphrase = passphrase
        self._cache: dict[str, _Local] = {}
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return f"encrypted key files in {self._dir}"

    def _path(self, label: str) -> Path:
        return self._dir / f"{check_label(label)}.pem"

    def signer(self, label: str) -> StoreSigner:
        with self._lock:
            cached = self._cache.get(label)
            if cached is not None:
                return cached
            path = self._path(label)
            try:
                pem = path.read_bytes()
            except FileNotFoundError:
                raise KeyNotFound(f"no key {label!r} in {self._dir}") from None
            except OSError as exc:
                raise KeyStoreError(f"cannot read {path}: {exc}") from exc
            try:
                key = serialization.load_pem_private_key(pem, self._passphrase)
            except (ValueError, TypeError) as exc:
                raise KeyStoreError(f"{path}: wrong passphrase or not an encrypted key file") from exc
            if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
                raise KeyStoreError(f"{path}: not a P-256 key")
            signer = _Local(label, key)
            self._cache[label] = signer
            return signer

    def create(self, label: str) -> StoreSigner:
        path = self._path(label)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._passphrase),
        )
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyExists(f"key {label!r} exists in {self._dir}") from None
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        return self.signer(label)

    def labels(self) -> list[str]:
        if not self._dir.is_dir():
            return []
        return sorted(p.stem for p in self._dir.glob("*.pem") if _LABEL.match(p.stem))


def secret_from_env(env: Mapping[str, str], name: str, what: str) -> bytes:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (trailing newline dropped)."""
    if env.get(f"{name}_FILE"):
        path = Path(env[f"{name}_FILE"])
        try:
            return path.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise KeyStoreError(f"cannot read the {what} from {path}: {exc}") from exc
    if env.get(name):
        return env[name].encode()
    raise KeyStoreError(f"no {what}: set {name} or {name}_FILE")


def open_key_store(spec: str, env: Mapping[str, str] | None = None) -> KeyStore:
    """Open the store a spec string names (see the module docstring)."""
    e = os.environ if env is None else env
    kind, _, rest = spec.partition(":")
    if kind == "demo":
        return DemoKeyStore(rest or DEMO_SEED)
    if kind == "file":
        if not rest:
            raise KeyStoreError("file: needs a directory (file:/etc/kartu/keys)")
        return FileKeyStore(Path(rest), secret_from_env(e, "KHBS_KEY_PASSPHRASE", "key-file passphrase"))
    if kind == "pkcs11":
        from server_stub.keystore_pkcs11 import Pkcs11KeyStore

        module, _, query = rest.partition("?")
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if not module or "token" not in params:
            raise KeyStoreError("pkcs11: needs a module and a token: pkcs11:/usr/lib/...so?token=LABEL")
        pin = secret_from_env(e, "KHBS_PKCS11_PIN", "PKCS#11 user PIN")
        return Pkcs11KeyStore(module, params["token"], pin.decode())
    raise KeyStoreError(f"unknown key store {spec!r}: demo[:SEED], file:DIR or pkcs11:MODULE?token=LABEL")

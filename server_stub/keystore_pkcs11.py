"""The PKCS#11 key store: the server's keys in an HSM (SoftHSM2 in the tests), through python-pkcs11.

Keys are P-256 key pairs generated on the token (``CKA_SENSITIVE``, not ``CKA_EXTRACTABLE``), found by
``CKA_LABEL``; signing is ``CKM_ECDSA`` over the SHA-256 digest the caller computed, and the token's
raw ``r||s`` is the ES256 signature. One logged-in session per process, used under a lock (several
server processes each open their own: the token holds the keys, not the process).
"""

from __future__ import annotations

import threading
from typing import cast

import pkcs11
from cryptography.hazmat.primitives.asymmetric import ec
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from card_applet_spec.cose import key_id
from server_stub.keystore import KeyExists, KeyNotFound, KeyStoreError, StoreSigner, check_label

_P256_POINT_LEN = 65


def _point(ec_point: bytes) -> bytes:
    """CKA_EC_POINT is a DER OCTET STRING around the SEC1 point (some tokens give the bare point)."""
    if len(ec_point) == _P256_POINT_LEN and ec_point[0] == 4:
        return ec_point
    if len(ec_point) == _P256_POINT_LEN + 2 and ec_point[:2] == b"\x04\x41":
        return ec_point[2:]
    raise KeyStoreError(f"the token gave a {len(ec_point)}-byte EC point, not an uncompressed P-256 point")


class _TokenSigner:
    def __init__(self, store: Pkcs11KeyStore, label: str, private: pkcs11.SignMixin, point: bytes) -> None:
        self._store = store
        self.label = label
        self._private = private
        self._public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        self.kid = key_id(self._public)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def sign_digest(self, digest: bytes) -> bytes:
        if len(digest) != 32:
            raise KeyStoreError("an ES256 digest is 32 bytes")
        with self._store.lock:
            try:
                raw = self._private.sign(digest, mechanism=Mechanism.ECDSA)
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(f"the token refused to sign with {self.label!r}: {exc!r}") from exc
        return bytes(raw)


class Pkcs11KeyStore:
    demo = False

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        self.lock = threading.RLock()
        self._token_label = token_label
        try:
            lib = pkcs11.lib(module)
            token = lib.get_token(token_label=token_label)
            try:
                self._session = token.open(user_pin=pin, rw=True)
            except pkcs11.UserAlreadyLoggedIn:  # a login is per process: another store object did it
                self._session = token.open(rw=True)
        except (pkcs11.PKCS11Error, RuntimeError, OSError) as exc:
            raise KeyStoreError(f"cannot open PKCS#11 token {token_label!r} with {module}: {exc!r}") from exc
        self._cache: dict[str, _TokenSigner] = {}

    @property
    def description(self) -> str:
        return f"PKCS#11 token {self._token_label!r}"

    def signer(self, label: str) -> StoreSigner:
        check_label(label)
        with self.lock:
            cached = self._cache.get(label)
            if cached is not None:
                return cached
            try:
                private = self._session.get_key(
                    object_class=ObjectClass.PRIVATE_KEY, key_type=KeyType.EC, label=label
                )
                public = self._session.get_key(
                    object_class=ObjectClass.PUBLIC_KEY, key_type=KeyType.EC, label=label
                )
            except pkcs11.NoSuchKey:
                raise KeyNotFound(f"no key {label!r} on token {self._token_label!r}") from None
            except pkcs11.MultipleObjectsReturned:
                raise KeyStoreError(f"several keys {label!r} on token {self._token_label!r}") from None
            signer = _TokenSigner(
                self, label, cast("pkcs11.SignMixin", private), _point(bytes(public[Attribute.EC_POINT]))
            )
            self._cache[label] = signer
            return signer

    def create(self, label: str) -> StoreSigner:
        check_label(label)
        with self.lock:
            if label in self.labels():
                raise KeyExists(f"key {label!r} exists on token {self._token_label!r}")
            params = self._session.create_domain_parameters(
                KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True
            )
            params.generate_keypair(
                store=True,
                label=label,
                private_template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.SIGN: True,
                },
            )
        return self.signer(label)

    def labels(self) -> list[str]:
        with self.lock:
            objects = self._session.get_objects(
                {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.EC}
            )
            return sorted({str(o[Attribute.LABEL]) for o in objects})

    def close(self) -> None:
        with self.lock:
            self._session.close()

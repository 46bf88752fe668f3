"""Key stores: the encrypted key files and a PKCS#11 token (SoftHSM2, initialised in a temp dir) sign
ES256 through one interface without handing out the private key; the server refuses demo keys outside
demo mode."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from card_applet_spec.cose import decode_sign1, sign1, verify_raw_es256
from card_applet_spec.issuer import IssuerSigner, key_from_seed
from card_applet_spec.records import GrantBody
from server_stub.keys import KeyConfigError, load_keys
from server_stub.keystore import (
    FileKeyStore,
    KeyExists,
    KeyNotFound,
    KeyStore,
    KeyStoreError,
    open_key_store,
)
from server_stub.settings import Settings

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def softhsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SoftHSM2 token (label ``khbs``, user PIN 1234) in a temp dir; yields the store spec."""
    if not (Path(SOFTHSM_MODULE).exists() and shutil.which("softhsm2-util")):
        pytest.fail("softhsm2 is not installed: run scripts/setup.sh", pytrace=False)
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "khbs", "--so-pin", "0000", "--pin", "1234"],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    monkeypatch.setenv("KHBS_PKCS11_PIN", "1234")
    yield f"pkcs11:{SOFTHSM_MODULE}?token=khbs"


def _exercise(store: KeyStore) -> None:
    signer = store.create("issuer-1")
    assert store.labels() == ["issuer-1"]
    with pytest.raises(KeyExists):
        store.create("issuer-1")
    with pytest.raises(KeyNotFound):
        store.signer("status-1")
    # a COSE_Sign1 through the store verifies with its public key; the kid is the key's
    envelope = decode_sign1(sign1(b"payload", signer, typ="t"), max_len=1000, typ="t")
    assert envelope.kid == signer.kid and envelope.verify(signer.public_key())
    # the issuer signer keeps its call shape (DER signatures over grant messages)
    issuer = IssuerSigner(signer)
    body = GrantBody(b"\x01" * 8, 1, 1, 1, 1, 100_000, 1_700_000_000, 1_800_000_000)
    signed = issuer.grant(body)
    assert signed.kid == signer.kid
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    signer.public_key().verify(signed.signature, body.signed_message(), ec.ECDSA(hashes.SHA256()))
    assert not verify_raw_es256(signer.public_key(), bytes(64), b"x")


def test_encrypted_file_store(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys", PASSPHRASE.encode())
    _exercise(store)
    pem = (tmp_path / "keys" / "issuer-1.pem").read_bytes()
    assert (
        b"ENCRYPTED PRIVATE KEY" in pem and (tmp_path / "keys" / "issuer-1.pem").stat().st_mode & 0o077 == 0
    )
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(pem, None)  # not readable without the passphrase
    # another process (another store object) with the wrong passphrase: refused, typed
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        FileKeyStore(tmp_path / "keys", b"not the passphrase at all").signer("issuer-1")
    again = open_key_store(f"file:{tmp_path / 'keys'}", {"KHBS_KEY_PASSPHRASE": PASSPHRASE})
    assert again.signer("issuer-1").kid == store.signer("issuer-1").kid
    with pytest.raises(KeyStoreError, match="KHBS_KEY_PASSPHRASE"):
        open_key_store(f"file:{tmp_path / 'keys'}", {})


def test_pkcs11_store_softhsm(softhsm: str) -> None:
    store = open_key_store(softhsm)
    _exercise(store)
    # another server process opens the same token and signs with the same key
    script = (
        "import sys\n"
        "from card_applet_spec.cose import sign1\n"
        "from server_stub.keystore import open_key_store\n"
        "key = open_key_store(sys.argv[1]).signer('issuer-1')\n"
        "sys.stdout.buffer.write(sign1(b'from the other process', key, typ='t'))\n"
    )
    other = subprocess.run([sys.executable, "-c", script, softhsm], check=True, capture_output=True)
    assert decode_sign1(other.stdout, max_len=1000, typ="t").verify(store.signer("issuer-1").public_key())
    wrong_pin = subprocess.run(
        [sys.executable, "-c", script, softhsm],
        capture_output=True,
        env={**os.environ, "KHBS_PKCS11_PIN": "9999"},
    )
    assert wrong_pin.returncode != 0 and b"PinIncorrect" in wrong_pin.stderr


def test_the_private_key_never_leaves_the_token(softhsm: str) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    store = open_key_store(softhsm)
    store.create("status-1")
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label="khbs")
    with token.open() as session:  # this process is logged in already (the store's login)
        private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label="status-1")
        assert private[Attribute.SENSITIVE] and not private[Attribute.EXTRACTABLE]
        with pytest.raises(pkcs11.AttributeSensitive):
            private[Attribute.VALUE]


def _root_pem(tmp_path: Path, key: object) -> Path:
    from cryptography.hazmat.primitives.asymmetric import ec

    assert isinstance(key, ec.EllipticCurvePrivateKey)
    path = tmp_path / "root.pem"
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def test_the_server_refuses_demo_keys_outside_demo_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    monkeypatch.setenv("KHBS_KEY_PASSPHRASE", PASSPHRASE)
    real_root = _root_pem(tmp_path, ec.generate_private_key(ec.SECP256R1()))
    base = Settings(data_dir=tmp_path, demo=False)
    # a deployment's settings (from the environment): demo off, no key store: the seed store, refused
    env_settings = Settings.from_env({"KHBS_DATA_DIR": str(tmp_path)})
    assert not env_settings.demo
    with pytest.raises(KeyConfigError, match="demo keys"):
        load_keys(env_settings)
    with pytest.raises(KeyConfigError, match="demo keys"):
        load_keys(base.with_(key_seed="a secret seed?", trust_root_public_key=real_root))
    with pytest.raises(KeyConfigError, match="demo keys"):
        load_keys(base.with_(key_store="demo:anything", trust_root_public_key=real_root))
    store = f"file:{tmp_path / 'keys'}"
    FileKeyStore(tmp_path / "keys", PASSPHRASE.encode()).create("issuer-1")
    with pytest.raises(KeyConfigError, match="offline trust root"):
        load_keys(base.with_(key_store=store))
    # the demo root's public key, or a demo key imported into a real store: refused
    demo_root = _root_pem(tmp_path, key_from_seed("khbs-demo-issuer/trust-root"))
    with pytest.raises(KeyConfigError, match="trust root public key is a seed-derived"):
        load_keys(base.with_(key_store=store, trust_root_public_key=demo_root))
    real_root = _root_pem(tmp_path, ec.generate_private_key(ec.SECP256R1()))
    imported = key_from_seed("khbs-demo-issuer/status-list").private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    )
    (tmp_path / "keys" / "status-1.pem").write_bytes(imported)
    with pytest.raises(KeyConfigError, match="seed-derived demo key"):
        load_keys(base.with_(key_store=store, trust_root_public_key=real_root))
    (tmp_path / "keys" / "status-1.pem").unlink()
    FileKeyStore(tmp_path / "keys", PASSPHRASE.encode()).create("trust-root")
    with pytest.raises(KeyConfigError, match="belongs offline"):
        load_keys(base.with_(key_store=store, trust_root_public_key=real_root))
    (tmp_path / "keys" / "trust-root.pem").unlink()
    ring = load_keys(base.with_(key_store=store, trust_root_public_key=real_root))
    assert not ring.online_root
    with pytest.raises(KeyConfigError, match="offline"):
        ring.trust_root_key  # noqa: B018 - the server cannot sign a trust list

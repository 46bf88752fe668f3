"""Test-vector generator: ``python -m card_applet_spec.vectorgen`` writes ``card_applet_spec/vectors/*.json``.

**SPEC.md §11 is the normative description** of the vector files (format of ``keys.json``,
``setup.json`` and the case files, every key and its encoding, the DRBG, how terminal challenges, nonces
and the ephemeral keys of PIN envelopes are derived, the replay procedure, coverage, and how to run the
vectors against a chip). This module is an implementation of SPEC.md: where it, the files it writes or the
reference card disagree with SPEC.md, SPEC.md wins and the disagreement is a defect to report. The notes
below are a summary for readers of the code.

Everything is deterministic (fixed keys, a fixed DRBG for the card, RFC 6979 signatures, a fixed clock),
so running the generator twice gives identical files; ``--check`` writes nothing and exits 1 when the
files on disk differ from what the generator would write. The generator refuses to write when the
reference card does not answer a case as the case expects, and it verifies the card signatures it parses.

This module writes and checks the files; the parts are in :mod:`card_applet_spec.vectorkit` (fixed
inputs and DRBG, the recording Tap, setup profiles, the cases grouped by command). It imports only
``card_applet_spec`` (an import-linter contract forbids ``terminal``): the command APDUs are built with
:mod:`card_applet_spec.commands` and the answers parsed with :mod:`card_applet_spec.responses`, the same
definitions the terminal session uses, and every exchange is recorded against a fresh
``ReferenceCard(MemoryStore(), rng=Drbg(seed))`` on the contactless interface (FCI capability byte ``0F``).

Summary (SPEC §11.2-§11.5)
--------------------------
* ``keys.json``: the published test keys (``issuer_1``, ``issuer_2``, ``terminal_1``, ``rogue``, and
  ``card``, the key the first GENERATE KEY makes from the card DRBG), the DRBG seed, the clock, the
  terminal ids.
* ``setup.json``: profiles ``blank``, ``personalised``, ``personalised_with_grants``, ``pin_blocked``,
  each ``{"description", "card_rng_seed", "parameters", "exchanges"}``.
* ``<command>.json``: ``{"command", "description", "keys", "setup", "cases"}``; a case is ``{"name",
  "description", "setup", "card_rng_seed", "exchanges": [{"command", "response", "note"}], "steps":
  [{"op", "args"?, "expect"?, "sw"?}]}``. The operations (``select``, ``authenticate``, ``verify_pin``,
  ``change_pin``, ``reset_pin``, ``debit``, ..., ``raw``) and their arguments and results are tabulated
  in SPEC §11.4.
* ``Drbg(seed)``: SHA-256(seed || 00000000) || SHA-256(seed || 00000001) || ... (4-byte big-endian
  counter); each request for n bytes takes the next n bytes. The card draws from it only in GENERATE KEY
  (32 bytes, retried while out of range) and in a successful INTERNAL AUTHENTICATE (the 16-byte card
  nonce).
* Terminal values: challenges and DEBIT nonces are SHA-256(b"KHBS vector " || label) truncated to 16 / 8
  bytes (``vectorkit.inputs.fixed_bytes``); the ephemeral scalar of a PIN envelope is
  SHA-256(b"KHBS vector ephemeral " || label) mod (n - 1) + 1 (``vectorkit.inputs.ephemeral_scalar``),
  recorded in the step as ``ephemeral_scalar``.
* Replay: a fresh blank card with ``Drbg(card_rng_seed)``, the setup profile's exchanges, then the case's,
  every response (data || SW1 SW2) compared byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec.credential import compressed_point
from card_applet_spec.tlv import TlvError
from card_applet_spec.vectorkit.cases import GROUPS
from card_applet_spec.vectorkit.inputs import (
    CARD_KEY,
    CARD_POINT,
    CARD_RNG_SEED,
    CERT_UNTIL,
    COUNTER_TERMINAL_ID,
    EXPIRES_AT,
    GRANT_FROM,
    GRANT_UNTIL,
    ISSUED_AT,
    KEY_SEEDS,
    SIGNERS,
    TERMINAL_ID,
    TERMINAL_TIME,
    card_private_scalar,
)
from card_applet_spec.vectorkit.profiles import build_profiles
from card_applet_spec.vectorkit.recorder import Profile, VectorError
from card_applet_spec.vectorkit.tap import Tap

VECTOR_DIR = Path(__file__).resolve().parent / "vectors"


def keys_document() -> dict[str, Any]:
    roles = {
        "issuer_1": "issuer key on every personalised card; signs the credential, grants, status changes "
        "and terminal certificates",
        "issuer_2": "second issuer key on every personalised card (key rotation)",
        "terminal_1": "a counter terminal's key, certified by issuer_1 for PIN_RESET",
        "rogue": "on no card: makes signatures the card must refuse",
    }
    keys: dict[str, Any] = {}
    for name, signer in SIGNERS.items():
        if not isinstance(signer.key, ec.EllipticCurvePrivateKey):  # the vectors' keys are seeds in memory
            raise TypeError(f"vector key {name} is not a private key in memory")
        keys[name] = {
            "seed": KEY_SEEDS[name],
            "role": roles[name],
            "private_scalar_TEST_ONLY": signer.key.private_numbers().private_value.to_bytes(32, "big").hex(),
            "public_point": signer.point.hex(),
            "kid": signer.kid.hex(),
        }
    keys["card"] = {
        "seed": None,
        "role": "the card's own key: what GENERATE KEY makes as the first use of the card DRBG "
        "(card_rng_seed below)",
        "private_scalar_TEST_ONLY": card_private_scalar().to_bytes(32, "big").hex(),
        "public_point": CARD_POINT.hex(),
        "public_point_compressed": compressed_point(CARD_KEY.public_key()).hex(),
    }
    return {
        "warning": "TEST ONLY. These private keys are published: never trust them outside tests.",
        "curve": "P-256 (secp256r1); points are SEC1; kid = first 8 bytes of "
        "SHA-256(SubjectPublicKeyInfo DER)",
        "key_from_seed": "scalar = int(SHA-256(UTF-8 seed)) mod (n - 1) + 1 "
        "(card_applet_spec.issuer.key_from_seed)",
        "signatures": "ECDSA P-256 / SHA-256, RFC 6979 deterministic nonces; DER, except the credential's "
        "COSE signature (raw r || s)",
        "keys": keys,
        "card_rng_seed": CARD_RNG_SEED.hex(),
        "drbg": "SHA-256(seed || 4-byte big-endian counter) for counter 0, 1, ...; each request takes the "
        "next n bytes of that stream",
        "clock": {
            "terminal_time": TERMINAL_TIME,
            "grant_valid_from": GRANT_FROM,
            "grant_valid_until": GRANT_UNTIL,
            "certificate_valid_until": CERT_UNTIL,
            "credential_issued_at": ISSUED_AT,
            "credential_expires_at": EXPIRES_AT,
        },
        "terminal_id": TERMINAL_ID.hex(),
        "counter_terminal_id": COUNTER_TERMINAL_ID.hex(),
        "terminal_values": "challenges and nonces are SHA-256('KHBS vector ' || label), first 16 / 8 bytes",
    }


def setup_document(profiles: dict[str, Profile]) -> dict[str, Any]:
    return {
        "description": "Setup profiles: the exchanges that take a blank card (random source "
        "Drbg(card_rng_seed)) to a known state. Replay them, then a case's exchanges, on the same card.",
        "keys": "keys.json",
        "profiles": {
            name: {
                "description": p.description,
                "card_rng_seed": CARD_RNG_SEED.hex(),
                "parameters": p.parameters,
                "exchanges": p.exchanges,
            }
            for name, p in profiles.items()
        },
    }


def case_documents(profiles: dict[str, Profile]) -> dict[str, dict[str, Any]]:
    out = {}
    for group in GROUPS:
        file = group.file
        cases = []
        for cd in group.cases:
            t = Tap(profiles, cd.setup)
            try:
                cd.record(t)
            except VectorError as exc:
                raise VectorError(f"{file}:{cd.name}: {exc}") from exc
            except (TlvError, ValueError) as exc:
                raise VectorError(f"{file}:{cd.name}: cannot parse the card's answer: {exc}") from exc
            cases.append(
                {
                    "name": cd.name,
                    "description": cd.description,
                    "setup": cd.setup,
                    "card_rng_seed": CARD_RNG_SEED.hex(),
                    "exchanges": t.exchanges,
                    "steps": t.steps,
                }
            )
        out[file] = {
            "command": group.command,
            "description": group.description,
            "keys": "keys.json",
            "setup": "setup.json",
            "cases": cases,
        }
    return out


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """File name -> content of every vector file."""
    profiles = build_profiles()
    files = {"keys.json": render(keys_document()), "setup.json": render(setup_document(profiles))}
    for name, doc in case_documents(profiles).items():
        files[f"{name}.json"] = render(doc)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m card_applet_spec.vectorgen", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, default=VECTOR_DIR, help="output directory (default: %(default)s)"
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files differ")
    args = parser.parse_args(argv)
    files = generate()
    out: Path = args.out
    if args.check:
        stale = [n for n, text in files.items() if not (out / n).is_file() or (out / n).read_text() != text]
        for name in stale:
            print(f"out of date: {out / name}", file=sys.stderr)
        return 1 if stale else 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
    n_cases = sum(len(group.cases) for group in GROUPS)
    print(f"wrote {len(files)} files, {n_cases} cases, to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

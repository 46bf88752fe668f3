"""``kartu keys``: key custody from the command line.

- ``kartu keys create LABEL --key-store SPEC`` — generate a key in a store (``issuer-1`` and ``status-1``
  in the server's store before its first start; ``trust-root`` in the offline machine's store).
- ``kartu keys public-key LABEL --key-store SPEC [--out FILE]`` — its public key (PEM) and fingerprint.
- ``kartu keys list --key-store SPEC`` — labels and key ids.
- ``kartu keys sign-trust-list --key-store SPEC --request REQ.json --out LISTS.cbor [--count N]
  [--interval-hours H] [--start UNIX] [--audit-log FILE]`` — on the offline machine: check the request the
  server exported (``GET /v1/admin/trust-list/request``), show it, sign a dated batch with ``trust-root``,
  append an audit line; an administrator uploads the file (``POST /v1/admin/trust-list``).
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from province.keys import fingerprint
from server_stub.keys import ROOT_LABEL
from server_stub.keystore import KeyStoreError, StoreSigner, open_key_store
from server_stub.trust_ceremony import CeremonyError, TrustListRequest, encode_bundle, sign_batch, summary

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 64


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    keys = sub.add_parser(
        "keys",
        help="key custody: key stores and the offline root's trust-list ceremony",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = keys.add_subparsers(dest="keys_command", required=True)
    for name, text in (("create", "generate a key in a store"), ("public-key", "print a key's public key")):
        p = actions.add_parser(name, help=text)
        p.add_argument("label")
        p.add_argument("--key-store", required=True, help="file:DIR or pkcs11:MODULE?token=LABEL")
        p.add_argument("--out", type=Path, help="write the public key (PEM) here")
    p = actions.add_parser("list", help="the keys in a store")
    p.add_argument("--key-store", required=True)
    p = actions.add_parser("sign-trust-list", help="offline: sign a batch of dated trust lists with the root")
    p.add_argument("--key-store", required=True, help="the offline machine's store holding trust-root")
    p.add_argument("--request", type=Path, required=True, help="the request the server exported")
    p.add_argument("--out", type=Path, required=True, help="the signed lists to upload (CBOR)")
    p.add_argument("--count", type=int, default=14, help="lists in the batch, one per interval (14)")
    p.add_argument("--interval-hours", type=int, default=24)
    p.add_argument("--start", type=int, default=None, help="issued_at of the first list (default: now)")
    p.add_argument("--audit-log", type=Path, default=None, help="append the ceremony record here")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def cmd_keys(args: argparse.Namespace) -> int:
    try:
        store = open_key_store(args.key_store)
        if args.keys_command == "list":
            for label in store.labels():
                print(f"{label}\t{store.signer(label).kid.hex()}")
            return EXIT_OK
        if args.keys_command in ("create", "public-key"):
            signer = store.create(args.label) if args.keys_command == "create" else store.signer(args.label)
            pem = signer.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            if args.out:
                args.out.write_bytes(pem)
            print(f"{args.label}\tkid {signer.kid.hex()}\tfingerprint {fingerprint(signer.public_key())}")
            if not args.out:
                print(pem.decode("ascii"), end="")
            return EXIT_OK
        return _sign_trust_list(args, store.signer(ROOT_LABEL))
    except (KeyStoreError, CeremonyError, OSError) as exc:
        print(f"kartu keys: {exc}", file=sys.stderr)
        return EXIT_REFUSED


def _sign_trust_list(args: argparse.Namespace, root: StoreSigner) -> int:
    raw = args.request.read_bytes()
    request = TrustListRequest.from_json(raw)
    start = int(time.time()) if args.start is None else args.start
    print(summary(request))
    print(f"signing {args.count} lists, every {args.interval_hours} h from {start}")
    if not args.yes and input("sign? [y/N] ").strip().lower() != "y":
        print("not signed", file=sys.stderr)
        return EXIT_REFUSED
    signed = sign_batch(request, root, start=start, count=args.count, interval_s=args.interval_hours * 3600)
    bundle = encode_bundle(signed)
    args.out.write_bytes(bundle)
    record = {
        "at": int(time.time()),
        "operator": getpass.getuser(),
        "request_sha256": hashlib.sha256(raw).hexdigest(),
        "bundle_sha256": hashlib.sha256(bundle).hexdigest(),
        "seqs": [request.next_seq, request.next_seq + args.count - 1],
        "issued_at": [start, start + (args.count - 1) * args.interval_hours * 3600],
        "lists_sha256": [hashlib.sha256(s).hexdigest() for s in signed],
    }
    log = args.audit_log or args.out.with_suffix(".audit.jsonl")
    with log.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    print(f"wrote {args.out} ({len(bundle)} bytes); audit record appended to {log}")
    return EXIT_OK

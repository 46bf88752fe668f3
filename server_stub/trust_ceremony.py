"""The offline root's key ceremony: what the server exports, what the root signs, what is uploaded.

1. The server exports a **request** (JSON, :class:`TrustListRequest`): the next free trust-list ``seq``
   and the unsigned content (issuer keys with windows, status-list keys with windows, terminals) as the
   trust list's CBOR payload, plus the root key id it expects.
2. On the offline machine ``kartu keys sign-trust-list`` checks the request strictly
   (``TrustList.from_payload``), shows what is being signed, and signs a **batch** of ``count`` lists
   with the root key from that machine's own key store: list ``k`` has ``seq = next_seq + k`` and
   ``issued_at = start + k * interval`` (:func:`sign_batch`). It appends an audit line per batch.
3. An administrator uploads the batch (CBOR array of signed lists, :func:`decode_bundle`); the server
   verifies every list against the root public key it holds and serves each from its ``issued_at``.

Freshness: terminals bound the age of the trust list (``issued_at``), 3 to 30 days by programme. A batch
of lists dated a day apart keeps the served list at most a day old for as long as the batch lasts, so
the ceremony's cadence is the batch length (e.g. 14 lists weekly); a terminal cut off from the centre,
or a centre whose batch ran out, ages past the limit: UNKNOWN, as before. The price: a list already
signed for a later day still carries the keys of its ceremony; withdrawing a key means a new ceremony
whose lists (higher ``seq``) terminals prefer, and a terminal that never hears the centre again could
be shown an old batch's later list up to the end of that batch. Keep batches short.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

import cbor2

from card_applet_spec.cose import SigningKey, signing_kid
from province.trust import MAX_UINT, TrustList, TrustListError, sign_trust_list, verify_trust_list

REQUEST_FORMAT = "khbs-trust-list-request/1"
MAX_BATCH = 400
MAX_BUNDLE_BYTES = 64 << 20


class CeremonyError(ValueError):
    """A request or bundle is malformed, or asks for something the ceremony must not sign."""


@dataclass(frozen=True)
class TrustListRequest:
    next_seq: int
    created_at: int
    root_kid: bytes
    content: TrustList  # seq/issued_at are placeholders: the ceremony sets them per list

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": REQUEST_FORMAT,
                "next_seq": self.next_seq,
                "created_at": self.created_at,
                "root_kid": self.root_kid.hex(),
                "content": base64.b64encode(self.content.to_payload()).decode("ascii"),
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> TrustListRequest:
        try:
            doc = json.loads(text)
            if not isinstance(doc, dict) or doc.get("format") != REQUEST_FORMAT:
                raise CeremonyError(f"not a trust-list request ({REQUEST_FORMAT})")
            next_seq, created_at = doc["next_seq"], doc["created_at"]
            if not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 <= v < MAX_UINT
                for v in (next_seq, created_at)
            ):
                raise CeremonyError("next_seq and created_at must be non-negative integers")
            root_kid = bytes.fromhex(doc["root_kid"])
            content = TrustList.from_payload(base64.b64decode(doc["content"], validate=True))
        except CeremonyError:
            raise
        except (ValueError, KeyError, TypeError, binascii.Error, TrustListError) as exc:
            raise CeremonyError(f"trust-list request rejected: {type(exc).__name__}: {exc}") from exc
        return cls(next_seq, created_at, root_kid, content)


def summary(request: TrustListRequest) -> str:
    """What the ceremony is about to sign, for the people in the room (and the audit log)."""
    tl = request.content
    lines = [f"trust list from seq {request.next_seq} (requested at {request.created_at})"]
    for e in tl.issuers:
        lines.append(
            f"  issuer key {e.kid.hex()}: issues {e.issue_from}..{e.issue_until},"
            f" verifies until {e.verify_until}"
        )
    for k in tl.status_keys:
        lines.append(f"  status-list key {k.kid.hex()}: signs {k.sign_from}..{k.sign_until}")
    lines.append(f"  {len(tl.terminals)} terminals")
    return "\n".join(lines)


def sign_batch(
    request: TrustListRequest, root: SigningKey, *, start: int, count: int, interval_s: int
) -> list[bytes]:
    """``count`` signed lists: seq ``next_seq + k``, issued_at ``start + k * interval_s``."""
    if signing_kid(root) != request.root_kid:
        raise CeremonyError(
            f"the request is for root {request.root_kid.hex()},"
            f" this key store's root is {signing_kid(root).hex()}"
        )
    if not 1 <= count <= MAX_BATCH:
        raise CeremonyError(f"count must be 1..{MAX_BATCH}")
    if not 3600 <= interval_s <= 31 * 86_400:
        raise CeremonyError("the interval must be between an hour and 31 days")
    if start < request.created_at:
        raise CeremonyError("the batch cannot start before the request was made")
    tl = request.content
    return [
        sign_trust_list(
            TrustList(request.next_seq + k, start + k * interval_s, tl.issuers, tl.status_keys, tl.terminals),
            root,
        )
        for k in range(count)
    ]


def encode_bundle(signed: list[bytes]) -> bytes:
    return cbor2.dumps(signed)


def decode_bundle(raw: bytes, root_public_key: object) -> list[tuple[bytes, TrustList]]:
    """The signed lists of an uploaded bundle, each verified with the root; seqs strictly increasing,
    dates not decreasing. Raises :class:`CeremonyError`."""
    from cryptography.hazmat.primitives.asymmetric import ec

    if not isinstance(root_public_key, ec.EllipticCurvePublicKey):
        raise CeremonyError("no root public key")
    if len(raw) > MAX_BUNDLE_BYTES:
        raise CeremonyError(f"bundle over {MAX_BUNDLE_BYTES} bytes")
    try:
        items = cbor2.loads(raw)
    except Exception as exc:  # a third-party decoder on uploaded bytes: any failure means "not a bundle"
        raise CeremonyError(f"not a CBOR bundle: {type(exc).__name__}") from exc
    if (
        not isinstance(items, list)
        or not 1 <= len(items) <= MAX_BATCH
        or not all(isinstance(i, bytes) for i in items)
    ):
        raise CeremonyError(f"a bundle is a CBOR array of 1..{MAX_BATCH} signed trust lists")
    out: list[tuple[bytes, TrustList]] = []
    for i, signed in enumerate(items):
        try:
            tl = verify_trust_list(signed, root_public_key)
        except TrustListError as exc:
            raise CeremonyError(f"list {i}: {exc}") from exc
        if out and (tl.seq <= out[-1][1].seq or tl.issued_at < out[-1][1].issued_at):
            raise CeremonyError(f"list {i}: seq and issued_at must increase through the bundle")
        out.append((bytes(signed), tl))
    return out

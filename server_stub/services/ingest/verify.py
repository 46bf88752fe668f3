"""Card signatures over transaction records (ECDSA P-256 over ``DOMAIN_TX || record``), verified on a
thread pool: ``cryptography`` releases the GIL in ECDSA verify.

While the pool verifies, the request thread should run next to no Python and wait on the database and
the verdicts: a thread that computes holds the GIL, and a verifier thread then waits up to the switch
interval (5 ms) to take it back after each signature, which costs far more than the overlap gains.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c

_ECDSA = ec.ECDSA(hashes.SHA256())
_DOMAIN = c.DOMAIN_TX

VERIFY_THREADS = os.cpu_count() or 1
_VERIFY_POOL = ThreadPoolExecutor(max_workers=VERIFY_THREADS, thread_name_prefix="khbs-verify")
#: Below this many records a batch is verified inline (the pool's hand-off costs more than it saves).
_PARALLEL_FROM = 64
#: Pieces per verifier thread: small pieces (~125 records of a full batch), so that the threads finish
#: together (a thread that is done early takes the next piece; one left alone runs on one core).
_PIECES_PER_THREAD = 8

#: What a verifier needs of one record: the card key's point (parsed through :data:`CARD_KEYS`, so a
#: cold cache is filled on the verifier threads), the signature, the record.
ToVerify = tuple[bytes, bytes, bytes]


class CardKeyCache:
    """Parsed card public keys by their compressed point (a point never changes its meaning)."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._keys: dict[bytes, ec.EllipticCurvePublicKey] = {}
        self._lock = threading.Lock()
        self._capacity = capacity

    def get(self, point: bytes) -> ec.EllipticCurvePublicKey:
        key = self._keys.get(point)
        if key is None:
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
            with self._lock:
                if len(self._keys) >= self._capacity:
                    self._keys.clear()
                self._keys[point] = key
        return key

    def clear(self) -> None:
        """Forget every parsed key (a benchmark measures a cold cache)."""
        with self._lock:
            self._keys.clear()


CARD_KEYS = CardKeyCache()


def _verify_chunk(chunk: Sequence[ToVerify]) -> list[bool]:
    out = []
    get_key = CARD_KEYS.get
    for point, signature, record in chunk:
        key = get_key(point)  # a point that is no key raises, as it always has: the batch fails
        try:
            key.verify(signature, _DOMAIN + record, _ECDSA)
            out.append(True)
        except (InvalidSignature, ValueError):
            out.append(False)
    return out


def verify_all(todo: list[ToVerify]) -> Callable[[], list[bool]]:
    """Start verifying; the returned function waits for the verdicts (in order)."""
    workers = VERIFY_THREADS
    if len(todo) < _PARALLEL_FROM or workers < 2:
        verdicts = _verify_chunk(todo)
        return lambda: verdicts
    size = max(16, -(-len(todo) // (workers * _PIECES_PER_THREAD)))
    futures = [_VERIFY_POOL.submit(_verify_chunk, todo[i : i + size]) for i in range(0, len(todo), size)]
    return lambda: [v for f in futures for v in f.result()]

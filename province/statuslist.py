"""The card status list: 2 bits per status index, published as signed snapshots and signed deltas.

Modelled on the IETF OAuth Token Status List (and the W3C Bitstring Status List): every card carries a
``status_index`` in its credential; the list holds 2 bits per index — :class:`CardStatus` VALID 0,
REVOKED 1, SUSPENDED 2 (3 is reserved and refused). Packing follows the IETF draft: index ``i`` lives in
byte ``i // 4`` at bit ``2 * (i % 4)``, least significant bits first; unused bits of the last byte are 0.

Both publications are tagged COSE_Sign1 (ES256) signed by a status-list key named in the trust list,
with a ``typ`` in the protected header (``province.trust.open_cose_sign1``). A terminal opens them with
:func:`open_snapshot` / :func:`open_delta`: the key is picked by the header's ``kid`` among the trust
list's status-list keys, and the signed ``issued_at`` must lie in that key's window (rotation: the old
key signs until X, the new one from Y):

* SNAPSHOT (``application/khbs-status-snapshot+cbor``), payload ``{1: list id, 2: seq, 3: issued_at,
  4: size, 5: bits = 2, 6: codec = 1 (xz), 7: compressed list}``.
* DELTA (``application/khbs-status-delta+cbor``), payload ``{1: list id, 2: from_seq, 3: to_seq =
  from_seq + 1, 4: issued_at, 5: size, 6: changes}``. ``size`` is the list's size after the delta (new
  cards get new indices, which start VALID; a list never shrinks). ``changes`` is a byte string of
  unsigned LEB128 varints, one per change in increasing index order: ``(gap << 2) | status`` where
  ``gap = index - previous index - 1`` (the first change counts from -1). A delta with no changes is
  valid: it only says "nothing changed up to ``issued_at``" and refreshes the data's age.

Compression (3,000,000 indices, 1 % revoked at random indices, see ``benchmarks/revocation.py``):
zlib-9 43.6 KB (decode 0.8 ms); xz/LZMA2 preset 9e with lc=lp=pb=0 36.5 KB (decode 2-4 ms); bz2-9
34.7 KB (decode 4.7 ms); a sparse list of varint gaps 38.2 KB raw, 34.0 KB with zlib, but decoded by a
Python loop (5 ms at 1 %, growing with every revocation); Rice coding k=6 30.4 KB (entropy bound 30.3
KB) but bit-by-bit Python decoding is far too slow. The list is therefore sent dense and xz-compressed:
C-speed decoding to exactly the in-memory form used for O(1) lookups, 28 % under the 50 KB target,
graceful on clustered changes (a whole region suspended compresses to almost nothing, where a sparse
list costs a byte per card), and the xz container's CRC32 catches damage at rest. Decoding is bounded:
the dictionary is at most 16 MiB, the decoder's memory limit 32 MiB, and output beyond ``size`` fails.
"""

from __future__ import annotations

import lzma
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec.cose import SigningKey, sign1
from province.trust import (
    MAX_UINT,
    SignedDataError,
    StatusListKey,
    cose_sign1_kid,
    expect_bytes,
    expect_int,
    expect_map,
    expect_text,
    loads_cbor,
    open_cose_sign1,
    status_key_for,
)


class CardStatus(IntEnum):
    VALID = 0
    REVOKED = 1
    SUSPENDED = 2
    RESERVED = 3  # never accepted in published data


class StatusListError(SignedDataError):
    """A snapshot or delta is malformed, not signed by the status-list key, or inconsistent."""


class Codec(IntEnum):
    XZ = 1  # xz container, LZMA2, CRC32 check


class SnapshotField(IntEnum):
    LIST_ID = 1
    SEQ = 2
    ISSUED_AT = 3
    SIZE = 4
    BITS = 5
    CODEC = 6
    LIST = 7


class DeltaField(IntEnum):
    LIST_ID = 1
    FROM_SEQ = 2
    TO_SEQ = 3
    ISSUED_AT = 4
    SIZE = 5
    CHANGES = 6


TYP_SNAPSHOT = "application/khbs-status-snapshot+cbor"
TYP_DELTA = "application/khbs-status-delta+cbor"
BITS = 2
PER_BYTE = 8 // BITS
#: At most 2^26 indices (16 MiB decoded): 20 times the province's population.
MAX_SIZE = 1 << 26
MAX_LIST_ID_LEN = 64
MAX_SNAPSHOT_BYTES = 20 << 20
MAX_DELTA_BYTES = 1 << 20
_MAX_VARINT_BYTES = 9  # 63 bits
_XZ_MEMLIMIT = 32 << 20
_XZ_MIN_DICT = 1 << 16
_XZ_MAX_DICT = 1 << 24
#: Every byte value in which no 2-bit field holds 3 (RESERVED).
_NO_RESERVED = bytes(b for b in range(256) if all((b >> s) & 3 != 3 for s in range(0, 8, BITS)))
_STATUSES = tuple(CardStatus)


# --- The packed list -----------------------------------------------------------------------------


def packed_len(size: int) -> int:
    """Bytes holding ``size`` 2-bit statuses."""
    return (size + PER_BYTE - 1) // PER_BYTE


def new_status_list(size: int) -> bytearray:
    """An all-VALID packed list of ``size`` indices."""
    return bytearray(packed_len(size))


def get_status(bits: bytes | bytearray, index: int) -> CardStatus:
    return _STATUSES[(bits[index >> 2] >> ((index & 3) << 1)) & 3]


def set_status(buf: bytearray, index: int, status: int) -> None:
    if not 0 <= index < len(buf) * PER_BYTE:
        raise StatusListError(f"index {index} outside the list")
    if status not in (CardStatus.VALID, CardStatus.REVOKED, CardStatus.SUSPENDED):
        raise StatusListError(f"status {status} is not VALID, REVOKED or SUSPENDED")
    shift = (index & 3) << 1
    buf[index >> 2] = (buf[index >> 2] & ~(3 << shift) & 0xFF) | (status << shift)


def check_packed(bits: bytes | bytearray, size: int) -> None:
    """A packed list of ``size`` indices: exact length, no RESERVED values, zero padding bits."""
    if not 0 <= size <= MAX_SIZE:
        raise StatusListError(f"size {size} outside [0, {MAX_SIZE}]")
    if len(bits) != packed_len(size):
        raise StatusListError(f"{len(bits)} bytes cannot hold exactly {size} statuses")
    if bytes(bits).translate(None, _NO_RESERVED):
        raise StatusListError("the list holds the reserved status 3")
    used = size % PER_BYTE
    if used and bits[-1] >> (used * BITS):
        raise StatusListError("padding bits after the last index are not zero")


# --- Snapshots -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusSnapshot:
    list_id: str
    seq: int
    issued_at: int
    size: int
    bits: bytes  # decompressed, packed as described above

    def status(self, index: int) -> CardStatus:
        if not 0 <= index < self.size:
            raise StatusListError(f"index {index} outside the list of {self.size}")
        return get_status(self.bits, index)


def _xz_filters(length: int) -> list[dict[str, int]]:
    dict_size = max(_XZ_MIN_DICT, min(_XZ_MAX_DICT, 1 << max(0, length - 1).bit_length()))
    return [
        {
            "id": lzma.FILTER_LZMA2,
            "preset": 9 | lzma.PRESET_EXTREME,
            "dict_size": dict_size,
            "lc": 0,  # the list has no byte-level context worth modelling: measured smaller
            "lp": 0,
            "pb": 0,
        }
    ]


def compress_list(bits: bytes | bytearray) -> bytes:
    return lzma.compress(
        bytes(bits), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32, filters=_xz_filters(len(bits))
    )


def decompress_list(blob: bytes, size: int) -> bytes:
    """Exactly one xz stream decoding to exactly ``packed_len(size)`` bytes, within the memory limit."""
    expected = packed_len(size)
    decoder = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=_XZ_MEMLIMIT)
    try:
        out = decoder.decompress(blob, max_length=expected + 1)
    except lzma.LZMAError as exc:
        raise StatusListError(f"compressed list does not decode: {exc}") from exc
    if len(out) != expected or not decoder.eof or decoder.unused_data:
        raise StatusListError(f"compressed list does not decode to exactly {expected} bytes")
    return out


def _list_id(value: object) -> str:
    list_id = expect_text(value, "list id", max_len=MAX_LIST_ID_LEN)
    if not list_id:
        raise StatusListError("list id is empty")
    return list_id


def build_snapshot(
    statuses: bytes | bytearray,
    seq: int,
    *,
    issued_at: int,
    list_id: str,
    key: SigningKey,
    size: int | None = None,
    deterministic: bool = True,
) -> bytes:
    """Compress and sign a packed list (server side). ``size`` defaults to ``4 * len(statuses)``."""
    size = len(statuses) * PER_BYTE if size is None else size
    try:
        check_packed(statuses, size)
        payload = cbor2.dumps(
            {
                SnapshotField.LIST_ID: _list_id(list_id),
                SnapshotField.SEQ: expect_int(seq, "seq"),
                SnapshotField.ISSUED_AT: expect_int(issued_at, "issued_at"),
                SnapshotField.SIZE: size,
                SnapshotField.BITS: BITS,
                SnapshotField.CODEC: Codec.XZ,
                SnapshotField.LIST: compress_list(statuses),
            }
        )
    except StatusListError:
        raise
    except SignedDataError as exc:
        raise StatusListError(str(exc)) from exc
    raw = sign1(payload, key, typ=TYP_SNAPSHOT, deterministic=deterministic)
    if len(raw) > MAX_SNAPSHOT_BYTES:
        raise StatusListError(f"snapshot is {len(raw)} bytes, over {MAX_SNAPSHOT_BYTES}")
    return raw


def verify_snapshot(raw: bytes, status_key: ec.EllipticCurvePublicKey) -> StatusSnapshot:
    """Check the status-list key's signature, decode strictly, decompress; else :class:`StatusListError`."""
    try:
        payload = open_cose_sign1(raw, TYP_SNAPSHOT, status_key, max_len=MAX_SNAPSHOT_BYTES)
        fields = expect_map(loads_cbor(payload, "snapshot"), "snapshot", list(SnapshotField))
        list_id = _list_id(fields[SnapshotField.LIST_ID])
        seq = expect_int(fields[SnapshotField.SEQ], "seq")
        issued_at = expect_int(fields[SnapshotField.ISSUED_AT], "issued_at")
        size = expect_int(fields[SnapshotField.SIZE], "size", hi=MAX_SIZE)
        if expect_int(fields[SnapshotField.BITS], "bits", hi=8) != BITS:
            raise StatusListError(f"only {BITS}-bit status lists are supported")
        if expect_int(fields[SnapshotField.CODEC], "codec", hi=255) != Codec.XZ:
            raise StatusListError("unknown list codec")
        blob = expect_bytes(fields[SnapshotField.LIST], "list")
    except StatusListError:
        raise
    except SignedDataError as exc:
        raise StatusListError(f"snapshot rejected: {exc}") from exc
    bits = decompress_list(blob, size)
    check_packed(bits, size)
    return StatusSnapshot(list_id, seq, issued_at, size, bits)


# --- Deltas --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusDelta:
    list_id: str
    from_seq: int
    to_seq: int
    issued_at: int
    size: int  # the list's size after this delta
    changes: tuple[tuple[int, CardStatus], ...]  # strictly increasing indices

    def apply_in_place(self, buf: bytearray) -> None:
        """Grow ``buf`` (a packed list of at most ``size`` indices) to ``size`` and apply the changes."""
        new_len = packed_len(self.size)
        if len(buf) > new_len:
            raise StatusListError(f"delta to seq {self.to_seq} would shrink the list")
        buf.extend(bytes(new_len - len(buf)))
        for index, status in self.changes:
            shift = (index & 3) << 1
            buf[index >> 2] = (buf[index >> 2] & ~(3 << shift) & 0xFF) | (status << shift)


def _put_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def encode_changes(changes: Iterable[tuple[int, int]], size: int) -> bytes:
    """The ``changes`` field: sorted, unique indices below ``size``; statuses VALID, REVOKED or SUSPENDED."""
    out = bytearray()
    previous = -1
    for index, status in sorted(changes):
        if not 0 <= index < size:
            raise StatusListError(f"index {index} outside the list of {size}")
        if index == previous:
            raise StatusListError(f"index {index} changed twice in one delta")
        if status not in (CardStatus.VALID, CardStatus.REVOKED, CardStatus.SUSPENDED):
            raise StatusListError(f"status {status} is not VALID, REVOKED or SUSPENDED")
        _put_varint(out, ((index - previous - 1) << 2) | int(status))
        previous = index
    return bytes(out)


def decode_changes(data: bytes, size: int) -> tuple[tuple[int, CardStatus], ...]:
    """Strict inverse of :func:`encode_changes`: minimal varints, no truncation, indices below ``size``."""
    changes: list[tuple[int, CardStatus]] = []
    previous = -1
    pos = 0
    end = len(data)
    while pos < end:
        value = 0
        shift = 0
        for count in range(1, _MAX_VARINT_BYTES + 1):
            if pos >= end:
                raise StatusListError("changes end inside a varint")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if byte == 0 and count > 1:
                    raise StatusListError("non-minimal varint in changes")
                break
            shift += 7
        else:
            raise StatusListError(f"varint longer than {_MAX_VARINT_BYTES} bytes in changes")
        status = value & 3
        if status == CardStatus.RESERVED:
            raise StatusListError("a change to the reserved status 3")
        index = previous + 1 + (value >> 2)
        if index >= size:
            raise StatusListError(f"change of index {index} outside the list of {size}")
        changes.append((index, _STATUSES[status]))
        previous = index
    return tuple(changes)


def build_delta(
    changes: Mapping[int, int] | Iterable[tuple[int, int]],
    from_seq: int,
    *,
    size: int,
    issued_at: int,
    list_id: str,
    key: SigningKey,
    deterministic: bool = True,
) -> bytes:
    """Encode and sign the delta from ``from_seq`` to ``from_seq + 1`` (server side)."""
    items = changes.items() if isinstance(changes, Mapping) else changes
    try:
        if not 0 <= size <= MAX_SIZE:
            raise StatusListError(f"size {size} outside [0, {MAX_SIZE}]")
        payload = cbor2.dumps(
            {
                DeltaField.LIST_ID: _list_id(list_id),
                DeltaField.FROM_SEQ: expect_int(from_seq, "from_seq", hi=MAX_UINT - 1),
                DeltaField.TO_SEQ: from_seq + 1,
                DeltaField.ISSUED_AT: expect_int(issued_at, "issued_at"),
                DeltaField.SIZE: size,
                DeltaField.CHANGES: encode_changes(items, size),
            }
        )
    except StatusListError:
        raise
    except SignedDataError as exc:
        raise StatusListError(str(exc)) from exc
    raw = sign1(payload, key, typ=TYP_DELTA, deterministic=deterministic)
    if len(raw) > MAX_DELTA_BYTES:
        raise StatusListError(f"delta is {len(raw)} bytes, over {MAX_DELTA_BYTES}: publish a snapshot")
    return raw


def verify_delta(raw: bytes, status_key: ec.EllipticCurvePublicKey) -> StatusDelta:
    """Check the status-list key's signature and decode strictly. Raises :class:`StatusListError`."""
    try:
        payload = open_cose_sign1(raw, TYP_DELTA, status_key, max_len=MAX_DELTA_BYTES)
        fields = expect_map(loads_cbor(payload, "delta"), "delta", list(DeltaField))
        list_id = _list_id(fields[DeltaField.LIST_ID])
        from_seq = expect_int(fields[DeltaField.FROM_SEQ], "from_seq", hi=MAX_UINT - 1)
        to_seq = expect_int(fields[DeltaField.TO_SEQ], "to_seq")
        if to_seq != from_seq + 1:
            raise StatusListError(f"delta from seq {from_seq} to {to_seq}: must advance by exactly one")
        issued_at = expect_int(fields[DeltaField.ISSUED_AT], "issued_at")
        size = expect_int(fields[DeltaField.SIZE], "size", hi=MAX_SIZE)
        changes = decode_changes(expect_bytes(fields[DeltaField.CHANGES], "changes"), size)
    except StatusListError:
        raise
    except SignedDataError as exc:
        raise StatusListError(f"delta rejected: {exc}") from exc
    return StatusDelta(list_id, from_seq, to_seq, issued_at, size, changes)


# --- Opening with the trust list's status-list keys ----------------------------------------------


def _signing_key(
    raw: bytes, keys: Sequence[StatusListKey], max_len: int, typ: str, what: str
) -> StatusListKey:
    try:
        kid = cose_sign1_kid(raw, typ, max_len=max_len)
    except SignedDataError as exc:
        raise StatusListError(f"{what} rejected: {exc}") from exc
    key = status_key_for(keys, kid)
    if key is None:
        raise StatusListError(f"{what} signed by key {kid.hex()}: not a status-list key of the trust list")
    return key


def _check_window(key: StatusListKey, issued_at: int, what: str) -> None:
    if not key.may_sign(issued_at):
        raise StatusListError(
            f"{what} issued at {issued_at}: outside the window [{key.sign_from}, {key.sign_until}] "
            f"of status-list key {key.kid.hex()}"
        )


def open_snapshot(raw: bytes, keys: Sequence[StatusListKey]) -> StatusSnapshot:
    """:func:`verify_snapshot` with the trust list's status-list key named by ``kid``, in its window."""
    key = _signing_key(raw, keys, MAX_SNAPSHOT_BYTES, TYP_SNAPSHOT, "snapshot")
    snapshot = verify_snapshot(raw, key.public_key)
    _check_window(key, snapshot.issued_at, "snapshot")
    return snapshot


def open_delta(raw: bytes, keys: Sequence[StatusListKey]) -> StatusDelta:
    """:func:`verify_delta` with the trust list's status-list key named by ``kid``, in its window."""
    key = _signing_key(raw, keys, MAX_DELTA_BYTES, TYP_DELTA, "delta")
    delta = verify_delta(raw, key.public_key)
    _check_window(key, delta.issued_at, "delta")
    return delta

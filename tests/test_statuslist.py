"""Status-list snapshots and deltas: packing, round trips, strict decoding, forgeries and fuzzing."""

from __future__ import annotations

import lzma
import random

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from card_applet_spec.cose import sign1
from card_applet_spec.issuer import key_from_seed
from province.statuslist import (
    MAX_SIZE,
    TYP_DELTA,
    TYP_SNAPSHOT,
    CardStatus,
    Codec,
    DeltaField,
    SnapshotField,
    StatusListError,
    build_delta,
    build_snapshot,
    check_packed,
    compress_list,
    decode_changes,
    encode_changes,
    get_status,
    new_status_list,
    packed_len,
    set_status,
    verify_delta,
    verify_snapshot,
)
from province.trust import sign_trust_list
from tests.test_trust import make_trust_list

NOW = 1_798_761_600
KEY = key_from_seed("KHBS test status-list key")
OTHER = key_from_seed("KHBS rogue status-list key")
LIST_ID = "ID-62/khbs/status/1"


def random_list(size: int, seed: int = 1, revoked: float = 0.05, suspended: float = 0.02) -> bytearray:
    rng = random.Random(seed)
    buf = new_status_list(size)
    for index in range(size):
        r = rng.random()
        if r < revoked:
            set_status(buf, index, CardStatus.REVOKED)
        elif r < revoked + suspended:
            set_status(buf, index, CardStatus.SUSPENDED)
    return buf


def snapshot_payload(**overrides: object) -> dict[int, object]:
    size = 10
    fields: dict[int, object] = {
        SnapshotField.LIST_ID: LIST_ID,
        SnapshotField.SEQ: 1,
        SnapshotField.ISSUED_AT: NOW,
        SnapshotField.SIZE: size,
        SnapshotField.BITS: 2,
        SnapshotField.CODEC: Codec.XZ,
        SnapshotField.LIST: compress_list(new_status_list(size)),
    }
    for name, value in overrides.items():
        fields[SnapshotField[name.upper()]] = value
    return fields


def delta_payload(**overrides: object) -> dict[int, object]:
    fields: dict[int, object] = {
        DeltaField.LIST_ID: LIST_ID,
        DeltaField.FROM_SEQ: 1,
        DeltaField.TO_SEQ: 2,
        DeltaField.ISSUED_AT: NOW,
        DeltaField.SIZE: 100,
        DeltaField.CHANGES: encode_changes([(3, 1), (50, 2)], 100),
    }
    for name, value in overrides.items():
        fields[DeltaField[name.upper()]] = value
    return fields


def sign(payload: object, typ: str, key: object = KEY) -> bytes:
    return sign1(cbor2.dumps(payload), key, typ=typ)  # type: ignore[arg-type]


# --- packing -----------------------------------------------------------------------------------


def test_packing_follows_the_ietf_layout() -> None:
    buf = new_status_list(9)
    assert len(buf) == packed_len(9) == 3
    set_status(buf, 0, CardStatus.REVOKED)
    set_status(buf, 3, CardStatus.SUSPENDED)
    set_status(buf, 5, CardStatus.REVOKED)
    assert buf == bytes([0b10_00_00_01, 0b00_00_01_00, 0])
    assert [get_status(buf, i) for i in range(9)] == [1, 0, 0, 2, 0, 1, 0, 0, 0]
    set_status(buf, 3, CardStatus.VALID)
    assert get_status(buf, 3) is CardStatus.VALID and buf[0] == 0b01


def test_set_status_refuses_reserved_and_outside() -> None:
    buf = new_status_list(8)
    with pytest.raises(StatusListError):
        set_status(buf, 8, CardStatus.REVOKED)
    with pytest.raises(StatusListError):
        set_status(buf, -1, CardStatus.REVOKED)
    with pytest.raises(StatusListError):
        set_status(buf, 0, CardStatus.RESERVED)


@pytest.mark.parametrize(
    ("bits", "size", "message"),
    [
        (b"\x00\x00", 9, "cannot hold"),
        (b"\x00", 9, "cannot hold"),
        (b"\x03", 4, "reserved"),
        (b"\x00\xc0", 8, "reserved"),
        (b"\x04", 1, "padding"),
        (b"\x00\x40", 7, "padding"),
        (b"", -1, "size"),
    ],
)
def test_check_packed(bits: bytes, size: int, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        check_packed(bits, size)


# --- snapshots ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 1000, 100_003])
def test_snapshot_round_trip(size: int) -> None:
    statuses = random_list(size, seed=size)
    raw = build_snapshot(statuses, 7, issued_at=NOW, list_id=LIST_ID, key=KEY, size=size)
    snapshot = verify_snapshot(raw, KEY.public_key())
    assert (snapshot.list_id, snapshot.seq, snapshot.issued_at, snapshot.size) == (LIST_ID, 7, NOW, size)
    assert snapshot.bits == bytes(statuses)
    for index in range(0, size, max(1, size // 500)):
        assert snapshot.status(index) == get_status(statuses, index)
    with pytest.raises(StatusListError):
        snapshot.status(size)


def test_snapshot_size_defaults_to_whole_bytes() -> None:
    snapshot = verify_snapshot(
        build_snapshot(bytes(5), 1, issued_at=NOW, list_id="L", key=KEY), KEY.public_key()
    )
    assert snapshot.size == 20


def test_build_snapshot_validates() -> None:
    with pytest.raises(StatusListError, match="reserved"):
        build_snapshot(b"\xff", 1, issued_at=NOW, list_id="L", key=KEY)
    with pytest.raises(StatusListError, match="cannot hold"):
        build_snapshot(bytes(2), 1, issued_at=NOW, list_id="L", key=KEY, size=3)
    with pytest.raises(StatusListError, match="empty"):
        build_snapshot(bytes(2), 1, issued_at=NOW, list_id="", key=KEY)
    with pytest.raises(StatusListError, match="seq"):
        build_snapshot(bytes(2), -1, issued_at=NOW, list_id="L", key=KEY)


def test_snapshot_is_small_at_province_scale() -> None:
    size = 3_000_000
    rng = random.Random(62)
    statuses = new_status_list(size)
    for index in rng.sample(range(size), size // 100):
        statuses[index >> 2] |= 1 << ((index & 3) << 1)
    raw = build_snapshot(statuses, 1, issued_at=NOW, list_id=LIST_ID, key=KEY)
    assert len(raw) <= 51_200
    assert verify_snapshot(raw, KEY.public_key()).bits == statuses


def test_snapshot_by_another_key_is_refused() -> None:
    raw = build_snapshot(bytes(4), 1, issued_at=NOW, list_id="L", key=OTHER)
    with pytest.raises(StatusListError, match="signed by key"):
        verify_snapshot(raw, KEY.public_key())


def test_publications_are_not_interchangeable() -> None:
    delta = build_delta({}, 1, size=4, issued_at=NOW, list_id="L", key=KEY)
    snapshot = build_snapshot(bytes(1), 1, issued_at=NOW, list_id="L", key=KEY)
    trust_list = sign_trust_list(make_trust_list(), KEY)
    for raw in (delta, trust_list):
        with pytest.raises(StatusListError, match="content type"):
            verify_snapshot(raw, KEY.public_key())
    for raw in (snapshot, trust_list):
        with pytest.raises(StatusListError, match="content type"):
            verify_delta(raw, KEY.public_key())


def test_tampered_snapshot_is_refused() -> None:
    raw = bytearray(build_snapshot(random_list(400), 1, issued_at=NOW, list_id="L", key=KEY))
    raw[len(raw) // 2] ^= 0x01
    with pytest.raises(StatusListError):
        verify_snapshot(bytes(raw), KEY.public_key())


def _xz(data: bytes) -> bytes:
    return lzma.compress(data, format=lzma.FORMAT_XZ)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"bits": 1}, "only 2-bit"),
        ({"codec": 2}, "unknown list codec"),
        ({"size": 13}, "exactly 4 bytes"),
        ({"size": 8}, "exactly 2 bytes"),
        ({"size": MAX_SIZE + 1}, "outside"),
        ({"list": b"not xz"}, "does not decode"),
        ({"list": _xz(b"\x00\x00\x30")}, "reserved"),
        ({"list": _xz(b"\x00\x00\x10")}, "padding"),
        ({"list": _xz(bytes(3)) + _xz(bytes(3))}, "exactly 3 bytes"),
        ({"list": _xz(bytes(3)) + b"\x00"}, "exactly 3 bytes"),
        ({"list": _xz(bytes(3))[:-1]}, "exactly 3 bytes"),
        ({"list": lzma.compress(bytes(3), format=lzma.FORMAT_ALONE)}, "does not decode"),
        ({"list": "text"}, "byte string"),
        ({"list_id": ""}, "empty"),
        ({"list_id": "x" * 65}, "longer"),
        ({"seq": -1}, "outside"),
        ({"issued_at": 1.5}, "integer"),
    ],
)
def test_malformed_snapshot_is_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        verify_snapshot(sign(snapshot_payload(**overrides), TYP_SNAPSHOT), KEY.public_key())


def test_snapshot_with_extra_or_missing_field_is_refused() -> None:
    payload = snapshot_payload()
    payload[99] = 0
    with pytest.raises(StatusListError, match="keys"):
        verify_snapshot(sign(payload, TYP_SNAPSHOT), KEY.public_key())
    payload = snapshot_payload()
    del payload[SnapshotField.BITS]
    with pytest.raises(StatusListError, match="keys"):
        verify_snapshot(sign(payload, TYP_SNAPSHOT), KEY.public_key())


def test_decompression_bomb_is_bounded() -> None:
    bomb = _xz(bytes(64 << 20))  # 64 MiB of zeros, ~10 KB compressed
    with pytest.raises(StatusListError, match="exactly"):
        verify_snapshot(sign(snapshot_payload(size=40, list=bomb), TYP_SNAPSHOT), KEY.public_key())


# --- deltas ------------------------------------------------------------------------------------


def test_delta_round_trip_and_apply() -> None:
    changes = {7: CardStatus.REVOKED, 0: CardStatus.SUSPENDED, 12: CardStatus.VALID, 15: CardStatus.REVOKED}
    raw = build_delta(changes, 41, size=16, issued_at=NOW, list_id=LIST_ID, key=KEY)
    delta = verify_delta(raw, KEY.public_key())
    assert (delta.list_id, delta.from_seq, delta.to_seq, delta.issued_at, delta.size) == (
        LIST_ID,
        41,
        42,
        NOW,
        16,
    )
    assert delta.changes == tuple(sorted(changes.items()))
    buf = bytearray(b"\x00\x00\x00\x01")  # index 12 revoked, list of 13
    delta.apply_in_place(buf)
    assert [get_status(buf, i) for i in range(16)] == [2, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]


def test_delta_cannot_shrink_a_list() -> None:
    delta = verify_delta(build_delta({}, 1, size=4, issued_at=NOW, list_id="L", key=KEY), KEY.public_key())
    with pytest.raises(StatusListError, match="shrink"):
        delta.apply_in_place(bytearray(2))


def test_empty_delta_is_valid() -> None:
    delta = verify_delta(build_delta([], 9, size=0, issued_at=NOW, list_id="L", key=KEY), KEY.public_key())
    assert delta.changes == () and delta.to_seq == 10


def test_delta_of_100_changes_is_under_1_kb() -> None:
    rng = random.Random(1)
    changes = {i: rng.choice([0, 1, 2]) for i in rng.sample(range(3_000_000), 100)}
    raw = build_delta(changes, 1, size=3_000_000, issued_at=NOW, list_id=LIST_ID, key=KEY)
    assert len(raw) <= 1024
    assert verify_delta(raw, KEY.public_key()).changes == tuple(sorted(changes.items()))


@pytest.mark.parametrize(
    ("changes", "size", "message"),
    [
        ([(1, 1), (1, 2)], 10, "twice"),
        ([(10, 1)], 10, "outside"),
        ([(-1, 1)], 10, "outside"),
        ([(1, 3)], 10, "not VALID"),
    ],
)
def test_encode_changes_validates(changes: list[tuple[int, int]], size: int, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        encode_changes(changes, size)


def test_changes_encoding() -> None:
    # (gap << 2) | status as LEB128: gaps 0, 0, 98 -> 0x01, 0x02, 393 = 0x89 0x03
    data = encode_changes([(0, 1), (1, 2), (100, 1)], 101)
    assert data == bytes([0x01, 0x02, 0x89, 0x03])
    assert decode_changes(data, 101) == ((0, 1), (1, 2), (100, 1))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x81", "inside a varint"),
        (b"\x81\x00", "non-minimal"),
        (b"\x80" * 9 + b"\x01", "longer than"),
        (b"\x03", "reserved"),
        (bytes([20 << 2 | 1]), "outside"),
    ],
)
def test_decode_changes_is_strict(data: bytes, message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        decode_changes(data, 10)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"to_seq": 3}, "exactly one"),
        ({"to_seq": 1}, "exactly one"),
        ({"size": 40}, "outside the list"),
        ({"changes": b"\x83"}, "inside a varint"),
        ({"changes": [1, 2]}, "byte string"),
        ({"from_seq": "1"}, "integer"),
        ({"list_id": 1}, "text"),
    ],
)
def test_malformed_delta_is_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(StatusListError, match=message):
        verify_delta(sign(delta_payload(**overrides), TYP_DELTA), KEY.public_key())


def test_delta_by_another_key_is_refused() -> None:
    raw = build_delta({1: 1}, 1, size=4, issued_at=NOW, list_id="L", key=OTHER)
    with pytest.raises(StatusListError, match="signed by key"):
        verify_delta(raw, KEY.public_key())


# --- fuzzing -----------------------------------------------------------------------------------

change_sets = st.dictionaries(st.integers(0, 5000), st.sampled_from([0, 1, 2]), max_size=60)


@settings(max_examples=300, deadline=None)
@given(change_sets)
def test_fuzz_changes_round_trip(changes: dict[int, int]) -> None:
    assert decode_changes(encode_changes(changes.items(), 5001), 5001) == tuple(sorted(changes.items()))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 1 << 20))
def test_fuzz_decode_changes_any_bytes(data: bytes, size: int) -> None:
    try:
        changes = decode_changes(data, size)
    except StatusListError:
        return
    indices = [index for index, _ in changes]
    assert indices == sorted(set(indices)) and all(0 <= i < size for i in indices)
    assert encode_changes(changes, size) == data  # strict: only the canonical encoding decodes


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_any_bytes_is_a_typed_error(raw: bytes) -> None:
    with pytest.raises(StatusListError):
        verify_snapshot(raw, KEY.public_key())
    with pytest.raises(StatusListError):
        verify_delta(raw, KEY.public_key())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_fuzz_any_signed_payload_bytes_is_a_typed_error(payload: bytes) -> None:
    with pytest.raises(StatusListError):
        verify_snapshot(sign1(payload, KEY, typ=TYP_SNAPSHOT), KEY.public_key())
    with pytest.raises(StatusListError):
        verify_delta(sign1(payload, KEY, typ=TYP_DELTA), KEY.public_key())


leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**65), 2**65)
    | st.binary(max_size=40)
    | st.text(max_size=8)
    | st.floats(allow_nan=False)
)
snapshot_fields = st.fixed_dictionaries(
    {
        SnapshotField.LIST_ID: st.text(max_size=70) | leaves,
        SnapshotField.SEQ: st.integers(-1, 2**64) | leaves,
        SnapshotField.ISSUED_AT: st.integers(-1, 2**64) | leaves,
        SnapshotField.SIZE: st.integers(-1, 64) | leaves,
        SnapshotField.BITS: st.integers(0, 9) | leaves,
        SnapshotField.CODEC: st.integers(0, 3) | leaves,
        SnapshotField.LIST: st.binary(max_size=16).map(_xz) | st.binary(max_size=80) | leaves,
    }
)
delta_fields = st.fixed_dictionaries(
    {
        DeltaField.LIST_ID: st.text(max_size=70) | leaves,
        DeltaField.FROM_SEQ: st.integers(-1, 2**64) | leaves,
        DeltaField.TO_SEQ: st.integers(-1, 2**64) | leaves,
        DeltaField.ISSUED_AT: st.integers(-1, 2**64) | leaves,
        DeltaField.SIZE: st.integers(-1, 2000) | leaves,
        DeltaField.CHANGES: st.binary(max_size=30) | leaves,
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(snapshot_fields | st.dictionaries(st.integers(0, 8), leaves, max_size=8) | leaves)
def test_fuzz_signed_snapshot_payloads(payload: object) -> None:
    try:
        snapshot = verify_snapshot(sign(payload, TYP_SNAPSHOT), KEY.public_key())
    except StatusListError:
        return
    check_packed(snapshot.bits, snapshot.size)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(delta_fields | st.dictionaries(st.integers(0, 7), leaves, max_size=7) | leaves)
def test_fuzz_signed_delta_payloads(payload: object) -> None:
    try:
        delta = verify_delta(sign(payload, TYP_DELTA), KEY.public_key())
    except StatusListError:
        return
    assert delta.to_seq == delta.from_seq + 1
    assert all(0 <= index < delta.size for index, _ in delta.changes)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_mutated_publications_are_refused(data: st.DataObject) -> None:
    for raw0, verify in (
        (build_snapshot(random_list(64), 3, issued_at=NOW, list_id="L", key=KEY), verify_snapshot),
        (build_delta({5: 1, 9: 2}, 3, size=64, issued_at=NOW, list_id="L", key=KEY), verify_delta),
    ):
        raw = bytearray(raw0)
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= data.draw(st.integers(1, 255))
        with pytest.raises(StatusListError):
            verify(bytes(raw), KEY.public_key())

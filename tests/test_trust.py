"""The root-signed trust list: format round trip, key rotation windows, forgeries, fuzzing, the store."""

from __future__ import annotations

from pathlib import Path

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from card_applet_spec import constants as c
from card_applet_spec.cose import COSE_HDR_TYP, der_to_raw, key_id, sig_structure, sign1
from card_applet_spec.credential import Claims, decode_credential, sign_credential
from card_applet_spec.issuer import key_from_seed
from province.statuslist import build_snapshot, new_status_list
from province.trust import (
    TYP_TRUST_LIST,
    IssuerKeyEntry,
    StatusListKey,
    TerminalEntry,
    TrustField,
    TrustList,
    TrustListError,
    TrustListRollbackError,
    sec1_point,
    sign_trust_list,
    verify_trust_list,
)
from terminal.db import make_engine
from terminal.truststore import TrustAnchor, TrustStore

NOW = 1_798_761_600  # 2027-01-01
DAY = 86_400
YEAR = 365 * DAY
ROOT = key_from_seed("KHBS test root")
OTHER_ROOT = key_from_seed("KHBS rogue root")
ISSUER_OLD = key_from_seed("KHBS test issuer 2025")
ISSUER_NEW = key_from_seed("KHBS test issuer 2027")
STATUS = key_from_seed("KHBS test status-list key")
TERMINAL = key_from_seed("KHBS test terminal PKY-0001")
ROTATION = NOW - 30 * DAY  # the old key stopped issuing here; it verifies its cards until NOW + 2 years
ANCHOR = TrustAnchor(ROOT.public_key())  # installed with the terminal


def issuer_entry(key: object, issue_from: int, issue_until: int, verify_until: int) -> IssuerKeyEntry:
    public = key.public_key()  # type: ignore[attr-defined]
    return IssuerKeyEntry(key_id(public), sec1_point(public), issue_from, issue_until, verify_until)


def make_trust_list(seq: int = 1, issued_at: int = NOW, **overrides: object) -> TrustList:
    fields: dict[str, object] = {
        "seq": seq,
        "issued_at": issued_at,
        "issuers": (
            issuer_entry(ISSUER_OLD, NOW - 3 * YEAR, ROTATION, NOW + 2 * YEAR),
            issuer_entry(ISSUER_NEW, ROTATION, NOW + 3 * YEAR, NOW + 8 * YEAR),
        ),
        "status_keys": (StatusListKey.of(STATUS.public_key()),),
        "terminals": (
            TerminalEntry(
                "PKY-0001", sec1_point(TERMINAL.public_key()), c.TerminalRole.PIN_RESET, "Kantor Dinsos", 6271
            ),
            TerminalEntry("KPS-0042", sec1_point(TERMINAL.public_key()), 0, "Puskesmas Kuala Kapuas", 6203),
        ),
    }
    fields.update(overrides)
    return TrustList(**fields)  # type: ignore[arg-type]


def signed_payload(payload: object, key: object = ROOT) -> bytes:
    return sign1(cbor2.dumps(payload), key, typ=TYP_TRUST_LIST)  # type: ignore[arg-type]


def valid_payload() -> dict[int, object]:
    decoded = cbor2.loads(make_trust_list().to_payload())
    assert isinstance(decoded, dict)
    return decoded


# --- format ------------------------------------------------------------------------------------


def test_round_trip() -> None:
    trust_list = make_trust_list()
    raw = sign_trust_list(trust_list, ROOT)
    decoded = verify_trust_list(raw, ROOT.public_key())
    assert decoded == trust_list
    assert decoded.status_keys[0].public_key.public_numbers() == STATUS.public_key().public_numbers()
    assert decoded.terminal("PKY-0001") is not None
    assert decoded.terminal("PKY-0001").has_role(c.TerminalRole.PIN_RESET)  # type: ignore[union-attr]
    assert not decoded.terminal("KPS-0042").has_role(c.TerminalRole.PIN_RESET)  # type: ignore[union-attr]
    assert decoded.terminal("NOPE-000") is None
    outer = cbor2.loads(raw)
    assert outer.tag == c.COSE_SIGN1_TAG
    header = cbor2.loads(outer.value[0])
    assert header == {
        c.COSE_HDR_ALG: c.COSE_ALG_ES256,
        c.COSE_HDR_KID: key_id(ROOT.public_key()),
        16: TYP_TRUST_LIST,
    }


def test_signing_is_deterministic_by_default() -> None:
    assert sign_trust_list(make_trust_list(), ROOT) == sign_trust_list(make_trust_list(), ROOT)
    assert sign_trust_list(make_trust_list(), ROOT, deterministic=False) != sign_trust_list(
        make_trust_list(), ROOT, deterministic=False
    )


def test_compressed_points_are_accepted() -> None:
    public = ISSUER_NEW.public_key()
    from card_applet_spec.credential import compressed_point

    entry = IssuerKeyEntry(key_id(public), compressed_point(public), 0, 1, 2)
    trust_list = make_trust_list(issuers=(entry,))
    assert verify_trust_list(sign_trust_list(trust_list, ROOT), ROOT.public_key()) == trust_list


# --- key rotation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "issued_at", "now", "expected"),
    [
        (ISSUER_OLD, ROTATION - DAY, NOW, ISSUER_OLD),  # retired key still verifies its own cards
        (ISSUER_OLD, ROTATION, NOW + 2 * YEAR, ISSUER_OLD),  # up to and including verify_until
        (ISSUER_OLD, ROTATION - DAY, NOW + 2 * YEAR + 1, None),  # after verify_until: no
        (ISSUER_OLD, ROTATION + 1, NOW, None),  # issued after it stopped issuing: no
        (ISSUER_OLD, NOW - 3 * YEAR - 1, NOW, None),  # before it started issuing: no
        (ISSUER_NEW, ROTATION, NOW, ISSUER_NEW),
        (ISSUER_NEW, ROTATION - 1, NOW, None),
        (ISSUER_NEW, NOW + 3 * YEAR + 1, NOW, None),
        (OTHER_ROOT, NOW, NOW, None),  # unknown kid
    ],
)
def test_issuer_for_rotation_windows(key: object, issued_at: int, now: int, expected: object) -> None:
    trust_list = make_trust_list()
    kid = key_id(key.public_key())  # type: ignore[attr-defined]
    entry = trust_list.issuer_for(kid, issued_at, now)
    if expected is None:
        assert entry is None
    else:
        assert entry is not None and entry.kid == key_id(expected.public_key())  # type: ignore[attr-defined]


def test_issuer_for_with_a_real_credential() -> None:
    card_key = key_from_seed("a card")
    from card_applet_spec.credential import compressed_point

    claims = Claims(
        card_serial=bytes(8),
        status_index=7,
        holder_commit=bytes(16),
        name="Siti Rahmawati",
        region=6271,
        card_key=compressed_point(card_key.public_key()),
        nik_masked="6271********0001",
        issued_at=ROTATION - DAY,
        expires_at=NOW + 5 * YEAR,
    )
    credential = decode_credential(sign_credential(claims, ISSUER_OLD))
    trust_list = verify_trust_list(sign_trust_list(make_trust_list(), ROOT), ROOT.public_key())
    entry = trust_list.issuer_for(credential.kid, credential.claims.issued_at, NOW)
    assert entry is not None and credential.verify(entry.public_key)
    assert trust_list.issuer_for(credential.kid, credential.claims.issued_at, NOW + 3 * YEAR) is None


# --- forged, misfiled, malformed ---------------------------------------------------------------


def test_signed_by_another_root_is_refused() -> None:
    raw = sign_trust_list(make_trust_list(), OTHER_ROOT)
    with pytest.raises(TrustListError, match="signed by key"):
        verify_trust_list(raw, ROOT.public_key())


def test_forged_signature_under_the_root_kid_is_refused() -> None:
    payload = make_trust_list(seq=99).to_payload()
    protected = cbor2.dumps(
        {
            c.COSE_HDR_ALG: c.COSE_ALG_ES256,
            c.COSE_HDR_KID: key_id(ROOT.public_key()),
            COSE_HDR_TYP: TYP_TRUST_LIST,
        }
    )
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    forged_sig = der_to_raw(OTHER_ROOT.sign(sig_structure(protected, payload), ec.ECDSA(hashes.SHA256())))
    raw = cbor2.dumps(cbor2.CBORTag(c.COSE_SIGN1_TAG, [protected, {}, payload, forged_sig]))
    with pytest.raises(TrustListError, match="signature does not verify"):
        verify_trust_list(raw, ROOT.public_key())


def test_tampered_payload_is_refused() -> None:
    good = make_trust_list(seq=5)
    raw = sign_trust_list(good, ROOT)
    tampered = raw.replace(good.to_payload(), make_trust_list(seq=6).to_payload())
    assert tampered != raw
    with pytest.raises(TrustListError, match="signature"):
        verify_trust_list(tampered, ROOT.public_key())


def test_a_status_snapshot_signed_by_the_root_is_not_a_trust_list() -> None:
    raw = build_snapshot(new_status_list(8), 1, issued_at=NOW, list_id="L", key=ROOT)
    with pytest.raises(TrustListError, match="content type"):
        verify_trust_list(raw, ROOT.public_key())


@pytest.mark.parametrize("cut", [0, 1, 10, 50, -65, -1])
def test_truncated_is_refused(cut: int) -> None:
    raw = sign_trust_list(make_trust_list(), ROOT)
    with pytest.raises(TrustListError):
        verify_trust_list(raw[:cut], ROOT.public_key())


def test_trailing_bytes_are_refused() -> None:
    raw = sign_trust_list(make_trust_list(), ROOT)
    with pytest.raises(TrustListError, match="after the CBOR item"):
        verify_trust_list(raw + b"\x00", ROOT.public_key())


def test_unprotected_header_must_be_empty() -> None:
    outer = cbor2.loads(sign_trust_list(make_trust_list(), ROOT))
    parts = list(outer.value)
    parts[1] = {c.COSE_HDR_KID: b"x"}
    with pytest.raises(TrustListError, match="unprotected header"):
        verify_trust_list(cbor2.dumps(cbor2.CBORTag(c.COSE_SIGN1_TAG, parts)), ROOT.public_key())


def _mutate(payload: dict[int, object], path: tuple[object, ...], value: object) -> dict[int, object]:
    target: object = payload
    for key in path[:-1]:
        target = target[key]  # type: ignore[index]
    if value is DELETE:
        del target[path[-1]]  # type: ignore[attr-defined]
    else:
        target[path[-1]] = value  # type: ignore[index]
    return payload


DELETE = object()
OTHER_POINT = sec1_point(OTHER_ROOT.public_key())


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ((TrustField.SEQ,), DELETE, "keys"),
        ((99,), 1, "keys"),
        ((TrustField.SEQ,), -1, "outside"),
        ((TrustField.SEQ,), True, "integer"),
        ((TrustField.SEQ,), 1 << 63, "outside"),
        ((TrustField.ISSUED_AT,), "2027-01-01", "integer"),
        ((TrustField.ISSUERS,), {}, "array"),
        ((TrustField.ISSUERS, 0, 0), b"\x00" * 8, "is not the id of its key"),
        ((TrustField.ISSUERS, 0, 0), b"\x00" * 7, "kid must be 8 bytes"),
        ((TrustField.ISSUERS, 0, 1), b"\x04" + b"\x01" * 64, "not a point on P-256"),
        ((TrustField.ISSUERS, 0, 1), b"\x05" + b"\x01" * 64, "SEC1"),
        ((TrustField.ISSUERS, 0, 2), NOW + 10 * YEAR, "issue_from <= issue_until"),
        ((TrustField.ISSUERS, 0, 4), ROTATION - 1, "issue_until <= verify_until"),
        ((TrustField.ISSUERS, 0), [b"k", b"p"], "expected 5 items"),
        ((TrustField.ISSUERS, 1), None, "array"),
        ((TrustField.STATUS_LIST_KEYS, 0, 1), OTHER_POINT, "is not the id of its key"),
        ((TrustField.STATUS_LIST_KEYS, 0), [b"x"], "expected 4 items"),
        ((TrustField.STATUS_LIST_KEYS,), [], "status_keys must be 1 to"),
        ((TrustField.STATUS_LIST_KEYS, 0, 3), -1, "outside"),
        ((TrustField.TERMINALS, 0, 0), "PKY-001", "8 printable ASCII"),
        ((TrustField.TERMINALS, 0, 0), "PKY 0001", "8 printable ASCII"),
        ((TrustField.TERMINALS, 0, 0), "PKY-000é", "8 printable ASCII"),
        ((TrustField.TERMINALS, 1, 0), "PKY-0001", "appears twice"),
        ((TrustField.TERMINALS, 0, 1), b"\x02" + b"\xff" * 32, "point"),
        ((TrustField.TERMINALS, 0, 2), -1, "outside"),
        ((TrustField.TERMINALS, 0, 3), 6271, "text"),
        ((TrustField.TERMINALS, 0, 3), "x" * 129, "longer than"),
        ((TrustField.TERMINALS, 0, 4), 10_000, "outside"),
    ],
)
def test_malformed_payload_is_refused(path: tuple[object, ...], value: object, message: str) -> None:
    payload = _mutate(valid_payload(), path, value)
    with pytest.raises(TrustListError, match=message):
        verify_trust_list(signed_payload(payload), ROOT.public_key())


def test_duplicate_issuer_kid_is_refused() -> None:
    payload = valid_payload()
    payload[TrustField.ISSUERS] = [payload[TrustField.ISSUERS][0]] * 2  # type: ignore[index]
    with pytest.raises(TrustListError, match="appears twice"):
        verify_trust_list(signed_payload(payload), ROOT.public_key())


def test_payload_with_trailing_bytes_is_refused() -> None:
    raw = sign1(make_trust_list().to_payload() + b"\xf6", ROOT, typ=TYP_TRUST_LIST)
    with pytest.raises(TrustListError, match="after the CBOR item"):
        verify_trust_list(raw, ROOT.public_key())


def test_construction_validates_too() -> None:
    with pytest.raises(TrustListError):
        issuer_entry(ISSUER_NEW, 10, 5, 20)
    with pytest.raises(TrustListError):
        TerminalEntry("short", sec1_point(TERMINAL.public_key()), 0, "", 6271)
    with pytest.raises(TrustListError, match="twice"):
        make_trust_list(issuers=(issuer_entry(ISSUER_NEW, 0, 1, 2), issuer_entry(ISSUER_NEW, 0, 1, 3)))
    with pytest.raises(TrustListError, match="need sign_from <= sign_until"):
        StatusListKey.of(STATUS.public_key(), NOW + 1, NOW)
    with pytest.raises(TrustListError, match="status-list kid appears twice"):
        make_trust_list(status_keys=(StatusListKey.of(STATUS.public_key()),) * 2)


# --- fuzzing -----------------------------------------------------------------------------------

cbor_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.binary(max_size=70)
    | st.text(max_size=12)
    | st.floats(allow_nan=False)
)
cbor_values = st.recursive(
    cbor_leaves,
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(st.integers(-2, 8) | st.text(max_size=3), children, max_size=7)
    ),
    max_leaves=25,
)
points = st.sampled_from(
    [sec1_point(k.public_key()) for k in (ISSUER_NEW, STATUS, TERMINAL)] + [b"\x04" + bytes(64), b""]
)
kids = st.sampled_from([key_id(k.public_key()) for k in (ISSUER_NEW, STATUS)] + [bytes(8)])
plausible_payloads = st.fixed_dictionaries(
    {
        TrustField.SEQ: st.integers(-2, 2**64),
        TrustField.ISSUED_AT: st.integers(-2, 2**64) | cbor_leaves,
        TrustField.ISSUERS: st.lists(
            st.tuples(kids, points, st.integers(-1, 10), st.integers(-1, 10), st.integers(-1, 10)).map(list)
            | cbor_values,
            max_size=3,
        ),
        TrustField.STATUS_LIST_KEYS: st.lists(
            st.tuples(kids, points, st.integers(-1, 10), st.integers(-1, 10)).map(list) | cbor_values,
            max_size=3,
        ),
        TrustField.TERMINALS: st.lists(
            st.tuples(
                st.text(max_size=9), points, st.integers(-1, 3), st.text(max_size=4), st.integers(-1, 7000)
            ).map(list)
            | cbor_values,
            max_size=3,
        ),
    }
)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_any_bytes_is_a_typed_error(raw: bytes) -> None:
    with pytest.raises(TrustListError):
        verify_trust_list(raw, ROOT.public_key())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_fuzz_any_signed_payload_bytes_is_a_typed_error(payload: bytes) -> None:
    with pytest.raises(TrustListError):
        verify_trust_list(sign1(payload, ROOT, typ=TYP_TRUST_LIST), ROOT.public_key())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cbor_values | plausible_payloads)
def test_fuzz_signed_cbor_payloads_decode_or_raise_typed(payload: object) -> None:
    try:
        trust_list = verify_trust_list(signed_payload(payload), ROOT.public_key())
    except TrustListError:
        return
    assert verify_trust_list(sign_trust_list(trust_list, ROOT), ROOT.public_key()) == trust_list


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzz_mutated_signed_list_is_refused(data: st.DataObject) -> None:
    raw = bytearray(sign_trust_list(make_trust_list(), ROOT))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(TrustListError):
        verify_trust_list(bytes(raw), ROOT.public_key())


# --- the store ---------------------------------------------------------------------------------


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "terminal.db"


def test_store_starts_empty_and_keeps_the_list_across_reopen(db_path: Path) -> None:
    store = TrustStore(make_engine(db_path), ANCHOR)
    assert store.current() is None and store.stored() is None
    raw = sign_trust_list(make_trust_list(seq=3), ROOT)
    assert store.update(raw, fetched_at=NOW + 5) == make_trust_list(seq=3)
    reopened = TrustStore(make_engine(db_path), ANCHOR)
    stored = reopened.stored()
    assert stored is not None
    assert stored.trust_list == make_trust_list(seq=3)
    assert stored.raw == raw and stored.fetched_at == NOW + 5


def test_store_refuses_forged_and_keeps_the_old_list(db_path: Path) -> None:
    store = TrustStore(make_engine(db_path), ANCHOR)
    store.update(sign_trust_list(make_trust_list(seq=1), ROOT))
    with pytest.raises(TrustListError):
        store.update(sign_trust_list(make_trust_list(seq=2), OTHER_ROOT))
    with pytest.raises(TrustListError):
        store.update(b"not a trust list")
    assert store.current() == make_trust_list(seq=1)


def test_store_refuses_rollback(db_path: Path) -> None:
    store = TrustStore(make_engine(db_path), ANCHOR)
    store.update(sign_trust_list(make_trust_list(seq=5), ROOT))
    with pytest.raises(TrustListRollbackError, match="older"):
        store.update(sign_trust_list(make_trust_list(seq=4), ROOT))
    with pytest.raises(TrustListRollbackError, match="same"):
        store.update(sign_trust_list(make_trust_list(seq=5, issued_at=NOW + 1), ROOT))
    assert store.current() == make_trust_list(seq=5)
    assert TrustStore(make_engine(db_path), ANCHOR).current() == make_trust_list(seq=5)


def test_store_same_list_again_is_a_no_op(db_path: Path) -> None:
    store = TrustStore(make_engine(db_path), ANCHOR)
    raw = sign_trust_list(make_trust_list(seq=5), ROOT)
    store.update(raw, fetched_at=NOW)
    assert store.update(raw, fetched_at=NOW + 60) == make_trust_list(seq=5)
    stored = TrustStore(make_engine(db_path), ANCHOR).stored()
    assert stored is not None and stored.fetched_at == NOW


def test_store_accepts_newer_and_other_stores_see_it(db_path: Path) -> None:
    first, second = TrustStore(make_engine(db_path), ANCHOR), TrustStore(make_engine(db_path), ANCHOR)
    first.update(sign_trust_list(make_trust_list(seq=1), ROOT))
    assert second.current() == make_trust_list(seq=1)
    second.update(sign_trust_list(make_trust_list(seq=2), ROOT))
    assert first.current() == make_trust_list(seq=2)
    with pytest.raises(TrustListRollbackError):
        first.update(sign_trust_list(make_trust_list(seq=1), ROOT))


def test_store_in_memory_database() -> None:
    store = TrustStore(make_engine(":memory:"), ANCHOR)
    store.update(sign_trust_list(make_trust_list(seq=1), ROOT))
    assert store.current() == make_trust_list(seq=1)


def test_damaged_stored_list_is_an_error_not_a_silent_trust(db_path: Path) -> None:
    engine = make_engine(db_path)
    TrustStore(engine, ANCHOR).update(sign_trust_list(make_trust_list(seq=1), ROOT))
    with engine.begin() as conn:
        raw = conn.exec_driver_sql("SELECT raw FROM trust_list").scalar_one()
        damaged = raw.replace(b"Kantor Dinsos", b"Kantor Dinas")
        conn.exec_driver_sql("UPDATE trust_list SET raw = ?", (damaged,))
    with pytest.raises(TrustListError, match="stored trust list does not verify"):
        TrustStore(make_engine(db_path), ANCHOR).current()

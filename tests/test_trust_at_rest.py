"""Trust at rest: the adversary holds the terminal's disk while it is off and writes ``terminal.db``
directly (sqlite3). Planting a root, a status-list key, a forged trust list or status list, editing or
rolling back a stored row: a forged card or a revoked card never becomes VALID, and nothing crashes —
the terminal answers UNKNOWN with a typed reason until it syncs again.

The root of trust is the anchor file installed next to the database (``trust-anchor.pem``); root
rotation only through links signed by the old root; status data only under the trust list's status-list
keys, inside their windows; the trust list itself ages out (risk-tiered, like status data).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from card_applet_spec.constants import Program
from card_applet_spec.issuer import IssuerSigner, key_from_seed
from card_applet_spec.reference_card import ReferenceCard
from kartu.cli import EXIT_DEVICE, main
from province.statuslist import CardStatus, StatusListError, build_delta, build_snapshot, new_status_list
from province.trust import (
    MAX_UINT,
    IssuerKeyEntry,
    StatusListKey,
    TrustList,
    TrustListError,
    sec1_point,
    sign_trust_list,
)
from terminal.ages import age_in_words
from terminal.db import make_engine
from terminal.demo import ISSUER, LIST_ID, LIST_SIZE, ROOT, STATUS_KEY, DemoWorld
from terminal.revocation import FreshnessPolicy, RevocationCache, StatusStoreError
from terminal.tap import check_tap
from terminal.truststore import (
    ANCHOR_FILE_NAME,
    RootRotation,
    RootRotationError,
    TrustAnchor,
    TrustAnchorError,
    TrustStore,
    sign_root_rotation,
)
from terminal.verify import Reason, Result, Verdict, Verifier
from tests.support.world import ISSUER as WORLD_ISSUER
from tests.support.world import StaticIssuers, connect, make_card, verifier

NOW = 1_798_761_600  # 2027-01-01
DAY = 86_400
YEAR = 365 * DAY
ROGUE_ROOT = key_from_seed("attacker root")
ROGUE_ISSUER = IssuerSigner(key_from_seed("attacker issuer"))
ROGUE_STATUS = key_from_seed("attacker status-list key")
UNKNOWN_REASONS = {Reason.TRUST_DATA_UNVERIFIED, Reason.STATUS_DATA_UNVERIFIED}


# --- the terminal, before and after the attacker had its disk ------------------------------------


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("provisioned")
    world = DemoWorld(path, clock=lambda: NOW)
    world.provision()
    world.engine.dispose()
    return path


@pytest.fixture
def data_dir(provisioned: Path, tmp_path: Path) -> Path:
    path = tmp_path / "terminal"
    shutil.copytree(provisioned, path)
    return path


@pytest.fixture
def forged_card() -> ReferenceCard:
    """A card personalised by the attacker's own issuer key (status index 77: VALID in the real list)."""
    card, _ = make_card("budi", serial=77, issuer=ROGUE_ISSUER)
    return card


@pytest.fixture
def db(data_dir: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(data_dir / "data" / "terminal.db", isolation_level=None)
    yield conn
    conn.close()


def restart(data_dir: Path) -> DemoWorld:
    """The terminal powered on again: stores as the attacker left them (no provisioning, no sync)."""
    return DemoWorld(data_dir, clock=lambda: NOW)


def tap(world: DemoWorld, card: ReferenceCard, program: int | None = None, now: int = NOW) -> Result:
    verifier = Verifier(world.trust, world.revocation, FreshnessPolicy())  # as DemoWorld.terminal wires it
    return check_tap(connect(card), verifier, now, program=program).result


def forged_trust_list(seq: int = 10**9, issued_at: int = NOW) -> TrustList:
    """The attacker's trust list: its own issuer next to the real one, its own status-list key."""
    return TrustList(
        seq=seq,
        issued_at=issued_at,
        issuers=(
            IssuerKeyEntry(ROGUE_ISSUER.kid, ROGUE_ISSUER.point, 0, MAX_UINT, MAX_UINT),
            IssuerKeyEntry(ISSUER.kid, ISSUER.point, 0, MAX_UINT, MAX_UINT),
        ),
        status_keys=(StatusListKey.of(ROGUE_STATUS.public_key()),),
    )


def all_valid_snapshot(key: ec.EllipticCurvePrivateKey, seq: int = 99, issued_at: int = NOW) -> bytes:
    return build_snapshot(
        new_status_list(LIST_SIZE), seq, issued_at=issued_at, list_id=LIST_ID, key=key, size=LIST_SIZE
    )


def plant_status(db: sqlite3.Connection, raw: bytes, seq: int = 99, issued_at: int = NOW) -> None:
    db.execute("DELETE FROM revocation_data")
    db.execute("INSERT INTO revocation_data (seq, kind, raw) VALUES (?, 'snapshot', ?)", (seq, raw))
    db.execute("UPDATE revocation_state SET seq = ?, issued_at = ?, size = ?", (seq, issued_at, LIST_SIZE))


def assert_not_valid(result: Result, *reasons: Reason) -> None:
    assert result.verdict is not Verdict.VALID, result
    if reasons:
        assert result.reason in reasons, result


# --- the baseline -------------------------------------------------------------------------------


def test_untouched_terminal(data_dir: Path, forged_card: ReferenceCard) -> None:
    world = restart(data_dir)
    assert tap(world, world.card("siti"), Program.BLT).verdict is Verdict.VALID
    assert (tap(world, world.card("agus")).reason, tap(world, forged_card).reason) == (
        Reason.REVOKED,
        Reason.UNKNOWN_ISSUER_KEY,
    )
    assert (data_dir / ANCHOR_FILE_NAME).read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


# --- planted roots and keys ---------------------------------------------------------------------


def test_planted_root_and_forged_trust_list_make_nothing_valid(
    data_dir: Path, db: sqlite3.Connection, forged_card: ReferenceCard
) -> None:
    raw = sign_trust_list(forged_trust_list(), ROGUE_ROOT)
    db.execute("UPDATE trust_list SET raw = ?, seq = ?", (raw, 10**9))
    plant_status(db, all_valid_snapshot(ROGUE_STATUS))  # and status data under the planted status key
    world = restart(data_dir)
    for card in (forged_card, world.card("agus"), world.card("siti")):
        assert_not_valid(tap(world, card), Reason.TRUST_DATA_UNVERIFIED)


def test_planted_root_rotation_link_is_not_a_root(
    data_dir: Path, db: sqlite3.Connection, forged_card: ReferenceCard
) -> None:
    link = sign_root_rotation(RootRotation(1, NOW, sec1_point(ROGUE_ROOT.public_key())), ROGUE_ROOT)
    db.execute("INSERT INTO trust_root_chain (position, raw) VALUES (1, ?)", (link,))
    db.execute(
        "UPDATE trust_list SET raw = ?, seq = ?", (sign_trust_list(forged_trust_list(), ROGUE_ROOT), 10**9)
    )
    world = restart(data_dir)
    assert_not_valid(tap(world, forged_card), Reason.TRUST_DATA_UNVERIFIED)
    assert_not_valid(tap(world, world.card("siti")), Reason.TRUST_DATA_UNVERIFIED)


def test_planted_status_key_does_not_unrevoke(data_dir: Path, db: sqlite3.Connection) -> None:
    plant_status(db, all_valid_snapshot(ROGUE_STATUS))
    world = restart(data_dir)
    assert_not_valid(tap(world, world.card("agus")), Reason.STATUS_DATA_UNVERIFIED)
    assert_not_valid(tap(world, world.card("siti")), Reason.STATUS_DATA_UNVERIFIED)


def test_status_list_signed_by_the_root_is_not_status_data(data_dir: Path, db: sqlite3.Connection) -> None:
    plant_status(db, all_valid_snapshot(ROOT))  # a key the terminal trusts, but not for status data
    world = restart(data_dir)
    assert_not_valid(tap(world, world.card("agus")), Reason.STATUS_DATA_UNVERIFIED)


def test_a_running_terminal_does_not_pick_up_a_planted_status_list(data_dir: Path) -> None:
    world = restart(data_dir)
    assert tap(world, world.card("agus")).reason is Reason.REVOKED  # held in memory, verified
    conn = sqlite3.connect(data_dir / "data" / "terminal.db", isolation_level=None)
    plant_status(conn, all_valid_snapshot(ROGUE_STATUS), seq=2)
    conn.close()
    assert_not_valid(tap(world, world.card("agus")), Reason.STATUS_DATA_UNVERIFIED)


# --- edited, damaged and rolled-back rows -------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE trust_list SET raw = substr(raw, 1, length(raw) - 1) || x'00'",
        "UPDATE trust_list SET raw = x'00'",
        "UPDATE trust_list SET raw = 'a text, not bytes'",
        "UPDATE trust_list SET raw = 42",
        "UPDATE trust_list SET raw = CAST(x'ff00fe' AS TEXT)",  # text that is not even UTF-8
        "UPDATE trust_list SET seq = CAST(x'ff' AS TEXT)",
        "UPDATE trust_list SET seq = seq + 1",
        "UPDATE trust_list SET seq = 'x'",
        "UPDATE trust_list SET fetched_at = 'yesterday'",
        "INSERT INTO trust_root_chain (position, raw) VALUES (2, x'00')",
        "INSERT INTO trust_root_chain (position, raw) VALUES (1, 'text')",
    ],
)
def test_edited_trust_row_is_unknown_never_valid(
    data_dir: Path, db: sqlite3.Connection, forged_card: ReferenceCard, sql: str
) -> None:
    db.execute(sql)
    world = restart(data_dir)
    for card in (forged_card, world.card("agus"), world.card("siti")):
        assert_not_valid(tap(world, card), Reason.TRUST_DATA_UNVERIFIED)


def test_deleted_trust_list_is_unknown(data_dir: Path, db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM trust_list")
    world = restart(data_dir)
    assert_not_valid(tap(world, world.card("siti")), Reason.NO_TRUST_LIST)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE revocation_data SET raw = substr(raw, 1, 60) || x'00' || substr(raw, 62)",
        "UPDATE revocation_data SET raw = 'text'",
        "UPDATE revocation_data SET raw = 7",
        "UPDATE revocation_data SET raw = CAST(x'ff00fe' AS TEXT)",
        "UPDATE revocation_state SET list_id = CAST(x'ff' AS TEXT)",
        "UPDATE revocation_state SET issued_at = issued_at + 86400",
        "UPDATE revocation_state SET seq = seq + 1",
        "UPDATE revocation_data SET kind = 'delta'",
    ],
)
def test_edited_status_row_is_unknown_never_valid(data_dir: Path, db: sqlite3.Connection, sql: str) -> None:
    db.execute(sql)
    world = restart(data_dir)
    for name in ("agus", "siti"):
        assert_not_valid(tap(world, world.card(name)), Reason.STATUS_DATA_UNVERIFIED)


def test_rolled_back_trust_list_ages_out(tmp_path: Path, forged_card: ReferenceCard) -> None:
    """The attacker writes back a genuinely signed list from two years ago (say, before an issuer key
    was withdrawn): it verifies, but it is two years old: UNKNOWN, with the age in plain words."""
    path = tmp_path / "terminal"
    old = DemoWorld(path, clock=lambda: NOW - 2 * YEAR)
    old.provision()
    stored = old.trust.stored()
    assert stored is not None
    DemoWorld(path, clock=lambda: NOW).provision()  # it syncs for two years; a new list every day
    conn = sqlite3.connect(path / "data" / "terminal.db", isolation_level=None)
    conn.execute("UPDATE trust_list SET raw = ?, seq = ?", (stored.raw, stored.trust_list.seq))
    conn.close()
    world = restart(path)
    result = tap(world, world.card("siti"))
    assert (result.verdict, result.reason) == (Verdict.UNKNOWN, Reason.TRUST_LIST_STALE)
    assert "2 years old" in result.detail and result.data_age_s == pytest.approx(2 * YEAR)


# --- the installed anchor -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n",
        TrustAnchor(ROGUE_ROOT.public_key()).to_pem()[:-40],
        b"x" * 10_000,
        rsa.generate_private_key(public_exponent=65537, key_size=1024)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
        TrustAnchor(ec.generate_private_key(ec.SECP256R1()).public_key())
        .to_pem()
        .replace(b"PUBLIC", b"PRIVATE"),
    ],
)
def test_corrupt_anchor_is_a_typed_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / ANCHOR_FILE_NAME
    path.write_bytes(content)
    with pytest.raises(TrustAnchorError):
        TrustAnchor.load(path)


def test_other_curve_anchor_and_missing_anchor(tmp_path: Path) -> None:
    with pytest.raises(TrustAnchorError, match="cannot read"):
        TrustAnchor.load(tmp_path / "missing.pem")
    with pytest.raises(TrustAnchorError, match="P-256"):
        TrustAnchor(ec.generate_private_key(ec.SECP384R1()).public_key())


def test_replaced_anchor_file_trusts_nothing_stored(data_dir: Path) -> None:
    """An anchor swapped for another key (this test's stand-in for a bad installation) verifies nothing."""
    TrustAnchor(ROGUE_ROOT.public_key()).install(data_dir / ANCHOR_FILE_NAME)
    world = restart(data_dir)
    assert_not_valid(tap(world, world.card("siti")), Reason.TRUST_DATA_UNVERIFIED)


def test_kartu_read_with_a_corrupt_anchor_exits_3_in_one_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data_dir / ANCHOR_FILE_NAME).write_bytes(b"garbage")
    assert main(["--data-dir", str(data_dir), "read", "--demo-card", "siti"]) == EXIT_DEVICE
    err = capsys.readouterr().err
    assert err.startswith("error: TrustAnchorError") and err.count("\n") == 1 and "Traceback" not in err


# --- root rotation ------------------------------------------------------------------------------

NEW_ROOT = key_from_seed("KHBS test root 2028")


def _store(tmp_path: Path) -> TrustStore:
    return TrustStore(make_engine(tmp_path / "terminal.db"), TrustAnchor(ROOT.public_key()))


def _list(seq: int, issued_at: int = NOW) -> TrustList:
    return TrustList(seq, issued_at, (), (StatusListKey.of(STATUS_KEY.public_key()),))


def test_root_rotates_only_by_a_link_the_old_root_signed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.update(sign_trust_list(_list(1), ROOT))
    link = sign_root_rotation(RootRotation(1, NOW, sec1_point(NEW_ROOT.public_key())), ROOT)
    with pytest.raises(TrustListError):  # the new root before its link
        store.update(sign_trust_list(_list(2), NEW_ROOT))
    with pytest.raises(RootRotationError):  # signed by the key it names, not by the old root
        store.add_root_rotations(
            [sign_root_rotation(RootRotation(1, NOW, sec1_point(NEW_ROOT.public_key())), NEW_ROOT)]
        )
    with pytest.raises(RootRotationError, match="expected link 1"):
        store.add_root_rotations(
            [sign_root_rotation(RootRotation(2, NOW, sec1_point(NEW_ROOT.public_key())), ROOT)]
        )
    with pytest.raises(RootRotationError, match="same key"):
        store.add_root_rotations(
            [sign_root_rotation(RootRotation(1, NOW, sec1_point(ROOT.public_key())), ROOT)]
        )
    assert store.add_root_rotations([link]) == 1
    assert store.add_root_rotations([link]) == 0  # the full chain again: nothing new
    assert sec1_point(store.root()) == sec1_point(NEW_ROOT.public_key())
    with pytest.raises(TrustListError, match="does not verify"):  # the old root's list is retired
        store.current()
    store.update(sign_trust_list(_list(2), NEW_ROOT))
    assert _store(tmp_path).current() == _list(2)  # after a restart: anchor + stored chain
    with pytest.raises(TrustListError):  # the old root can no longer sign lists
        store.update(sign_trust_list(_list(3), ROOT))
    other = sign_root_rotation(RootRotation(1, NOW + 1, sec1_point(ROGUE_ROOT.public_key())), ROOT)
    with pytest.raises(RootRotationError, match="differs"):
        store.add_root_rotations([other])


def test_cutting_the_chain_short_trusts_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add_root_rotations(
        [sign_root_rotation(RootRotation(1, NOW, sec1_point(NEW_ROOT.public_key())), ROOT)]
    )
    store.update(sign_trust_list(_list(2), NEW_ROOT))
    conn = sqlite3.connect(tmp_path / "terminal.db", isolation_level=None)
    conn.execute("DELETE FROM trust_root_chain")
    conn.close()
    with pytest.raises(TrustListError):
        _store(tmp_path).current()


def test_a_planted_row_does_not_block_updates(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.update(sign_trust_list(_list(1), ROOT))
    conn = sqlite3.connect(tmp_path / "terminal.db", isolation_level=None)
    conn.execute("UPDATE trust_list SET raw = x'00', seq = 9223372036854775807")
    conn.close()
    assert _store(tmp_path).update(sign_trust_list(_list(2), ROOT)) == _list(2)


# --- status-list key rotation -------------------------------------------------------------------

OLD_STATUS = key_from_seed("KHBS status-list key 2026")
NEW_STATUS = key_from_seed("KHBS status-list key 2027")
SWITCH = NOW - DAY  # the old key signs until SWITCH, the new one from SWITCH - 1 h


def _rotating_list(seq: int, *keys: StatusListKey) -> TrustList:
    return TrustList(seq, NOW, (IssuerKeyEntry(ISSUER.kid, ISSUER.point, 0, MAX_UINT, MAX_UINT),), keys)


def test_status_key_rotation_windows_are_honoured(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "terminal.db")
    trust = TrustStore(engine, TrustAnchor(ROOT.public_key()))
    old = StatusListKey.of(OLD_STATUS.public_key(), 0, SWITCH)
    new = StatusListKey.of(NEW_STATUS.public_key(), SWITCH - 3600)
    trust.update(sign_trust_list(_rotating_list(1, old, new), ROOT))
    cache = RevocationCache(engine, trust)  # one database, as on the terminal
    revoked = new_status_list(LIST_SIZE)
    revoked[1] = 1  # index 4: REVOKED
    cache.apply_snapshot(build_snapshot(revoked, 1, issued_at=SWITCH - 60, list_id=LIST_ID, key=OLD_STATUS))
    with pytest.raises(StatusListError, match="outside the window"):  # the old key after its end
        cache.apply_delta(build_delta({}, 1, size=LIST_SIZE, issued_at=NOW, list_id=LIST_ID, key=OLD_STATUS))
    with pytest.raises(StatusListError, match="not a status-list key"):
        cache.apply_delta(
            build_delta({}, 1, size=LIST_SIZE, issued_at=NOW, list_id=LIST_ID, key=ROGUE_STATUS)
        )
    cache.apply_delta(build_delta({}, 1, size=LIST_SIZE, issued_at=NOW, list_id=LIST_ID, key=NEW_STATUS))
    assert cache.status(4) is CardStatus.REVOKED and cache.seq == 2
    # the centre withdraws the old key altogether: what it signed no longer counts
    trust.update(sign_trust_list(_rotating_list(2, new), ROOT))
    with pytest.raises(StatusStoreError, match="not a status-list key"):
        cache.refresh()
    # a snapshot under the new key repairs it
    cache.apply_snapshot(build_snapshot(revoked, 3, issued_at=NOW, list_id=LIST_ID, key=NEW_STATUS))
    cache.refresh()
    assert cache.status(4) is CardStatus.REVOKED


# --- trust-list maximum age ---------------------------------------------------------------------


def _aged(tmp_path: Path, trust_age: int, status_age: int = 3600) -> DemoWorld:
    """A terminal whose trust list was signed ``trust_age`` ago and whose status data is fresh:
    the trust-list download was blocked, the status download was not."""
    path = tmp_path / "terminal"
    DemoWorld(path, clock=lambda: NOW - trust_age).provision()
    world = restart(path)
    seq = world.revocation.seq
    assert seq is not None
    issued = NOW - status_age
    world.revocation.apply_delta(
        build_delta({}, seq, size=LIST_SIZE, issued_at=issued, list_id=LIST_ID, key=STATUS_KEY)
    )
    return world


def test_two_year_old_trust_list_with_fresh_status_data_is_unknown(tmp_path: Path) -> None:
    world = _aged(tmp_path, 2 * YEAR)
    for program in (None, Program.BLT, Program.KESEHATAN):
        result = tap(world, world.card("siti"), program)
        assert (result.verdict, result.reason) == (Verdict.UNKNOWN, Reason.TRUST_LIST_STALE)
        assert result.detail.startswith("trust list 2 years old")
    assert tap(world, world.card("agus")).reason is Reason.REVOKED  # a refusal still stands


@pytest.mark.parametrize(
    ("program", "verdict"),
    [
        (Program.BLT, Verdict.UNKNOWN),
        (Program.SEMBAKO, Verdict.VALID),
        (Program.KESEHATAN, Verdict.VALID),
        (None, Verdict.VALID),
    ],
)
def test_trust_list_age_is_risk_tiered(tmp_path: Path, program: Program | None, verdict: Verdict) -> None:
    world = _aged(tmp_path, 4 * DAY)  # cash allows 3 days, staple food 7, eligibility and check taps 30
    result = tap(world, world.card("siti"), program)
    assert result.verdict is verdict, result
    if verdict is Verdict.UNKNOWN:
        assert (
            result.reason is Reason.TRUST_LIST_STALE
            and result.detail == "trust list 4 days old, limit 3 days"
        )


def test_trust_list_from_the_future_means_a_wrong_clock() -> None:
    card, _ = make_card()
    issuers = StaticIssuers.of(WORLD_ISSUER)
    issuers.issued_at = NOW + 2 * DAY  # signed "later" than this terminal's clock says it is now
    result = check_tap(connect(card), verifier(issuers=issuers), NOW).result
    assert (result.verdict, result.reason) == (Verdict.UNKNOWN, Reason.CLOCK_WRONG)
    assert "2 days behind the trust list" in result.detail


def test_policy_tiers_and_words() -> None:
    policy = FreshnessPolicy()
    assert policy.trust_list_max_age_s(Program.BLT) == 3 * DAY
    assert policy.trust_list_max_age_s(None) == 30 * DAY
    assert policy.trust_list_max_age_s(99) == 3 * DAY  # unknown program: the strictest
    assert policy.with_trust_list_max_age(Program.BLT, DAY).trust_list_max_age_s(Program.BLT) == DAY
    with pytest.raises(ValueError, match="trust list"):
        FreshnessPolicy(check_tap_trust_max_age_s=0)
    cases = [
        (59, "0 menit", "0 minutes"),
        (61, "1 menit", "1 minute"),
        (3 * 3600, "3 jam", "3 hours"),
        (47 * 3600, "47 jam", "47 hours"),
        (4 * DAY, "4 hari", "4 days"),
        (90 * DAY, "3 bulan", "3 months"),
        (729 * DAY, "24 bulan", "24 months"),
        (2 * YEAR, "2 tahun", "2 years"),
        (-5, "0 menit", "0 minutes"),
    ]
    for seconds, indonesian, english in cases:
        assert (age_in_words(seconds), age_in_words(seconds, "en")) == (indonesian, english)

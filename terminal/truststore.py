"""The terminal's root of trust and its stored trust list.

Root of trust: the root public key comes from a file installed with the terminal (a PEM
SubjectPublicKeyInfo, e.g. ``<data_dir>/trust-anchor.pem`` or a path in the configuration; on a real
terminal on a read-only, verified system partition), never from ``terminal.db``. It is read once
(:meth:`TrustAnchor.load`); a missing or damaged file is a :class:`TrustAnchorError`.

Root rotation: only by a chain. A rotation link is a tagged COSE_Sign1 (ES256) signed by the CURRENT
root, ``typ = "application/khbs-root-rotation+cbor"``, payload ``{1: n, 2: issued_at, 3: SEC1 point
of the new root}`` where ``n`` is the link's position (1 for the first rotation after the installed
anchor). The links are kept in ``terminal.db`` (table ``trust_root_chain``), but they certify
themselves from the installed anchor: the current root is found by walking the chain from the anchor
at every load, so writing the database can at most cut the chain short (then nothing newer verifies:
UNKNOWN, never a planted root). A compromised root can of course sign a rotation to anyone: rotation
retires a root, it cannot rescue a stolen one.

Stored trust list: only the raw signed bytes (and when they were fetched). Every load re-verifies them
with the current root (anchor + chain), so a row edited or planted while the terminal was off is a
:class:`TrustListError`, never a silently trusted list. Rollback by rewriting an older, genuinely signed
list into the row is bounded by the trust list's maximum age (its signed ``issued_at``, see
``terminal.revocation.FreshnessPolicy``), as for status data.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import cbor2
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import (
    CheckConstraint,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    delete,
    func,
    inspect,
    select,
)
from sqlalchemy.exc import DBAPIError

from card_applet_spec.cose import SigningKey, key_id, sign1
from province.trust import (
    MAX_TRUST_LIST_BYTES,
    SignedDataError,
    StatusListKey,
    TrustList,
    TrustListError,
    TrustListRollbackError,
    expect_bytes,
    expect_int,
    expect_map,
    loads_cbor,
    open_cose_sign1,
    parse_point,
    verify_trust_list,
)
from terminal.db import begin_immediate

log = logging.getLogger(__name__)

TYP_ROOT_ROTATION = "application/khbs-root-rotation+cbor"
MAX_ROTATION_BYTES = 512
MAX_CHAIN = 64
MAX_ANCHOR_BYTES = 4096
ANCHOR_FILE_NAME = "trust-anchor.pem"


class TrustAnchorError(TrustListError):
    """The installed root of trust is missing, unreadable or not a P-256 public key."""


class RootRotationError(TrustListError):
    """A root rotation link that is malformed, out of order, or not signed by the current root."""


# --- The installed anchor ------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustAnchor:
    """The root public key installed with the terminal (outside its database)."""

    public_key: ec.EllipticCurvePublicKey

    def __post_init__(self) -> None:
        if not isinstance(self.public_key, ec.EllipticCurvePublicKey) or not isinstance(
            self.public_key.curve, ec.SECP256R1
        ):
            raise TrustAnchorError("the trust anchor must be a P-256 public key")

    @property
    def kid(self) -> bytes:
        return key_id(self.public_key)

    @classmethod
    def load(cls, path: Path | str) -> TrustAnchor:
        """Read the anchor file (PEM SubjectPublicKeyInfo). Raises :class:`TrustAnchorError`."""
        path = Path(path)
        try:
            with path.open("rb") as f:
                data = f.read(MAX_ANCHOR_BYTES + 1)
        except OSError as exc:
            raise TrustAnchorError(f"trust anchor {path}: cannot read ({exc.strerror or exc})") from exc
        if len(data) > MAX_ANCHOR_BYTES:
            raise TrustAnchorError(f"trust anchor {path}: larger than {MAX_ANCHOR_BYTES} bytes")
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # not PEM, not a key, unknown OID
            raise TrustAnchorError(f"trust anchor {path}: not a PEM public key") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise TrustAnchorError(f"trust anchor {path}: not a P-256 public key")
        return cls(key)

    def to_pem(self) -> bytes:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def install(self, path: Path | str) -> None:
        """Write the anchor file atomically (installation / enrolment only; never from synced data),
        read-only (0444): a public key, which the kiosk's user reads and nothing rewrites in place."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as f:
            f.write(self.to_pem())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, path)


# --- Root rotation links -------------------------------------------------------------------------


class RotationField(IntEnum):
    POSITION = 1
    ISSUED_AT = 2
    NEW_ROOT = 3


@dataclass(frozen=True)
class RootRotation:
    """Link ``position`` of the chain: the root that signed it hands over to ``new_root`` (SEC1 point)."""

    position: int
    issued_at: int
    new_root: bytes

    @property
    def new_root_key(self) -> ec.EllipticCurvePublicKey:
        return parse_point(self.new_root, "new root")

    def to_payload(self) -> bytes:
        return cbor2.dumps(
            {
                RotationField.POSITION: self.position,
                RotationField.ISSUED_AT: self.issued_at,
                RotationField.NEW_ROOT: self.new_root,
            }
        )


def sign_root_rotation(rotation: RootRotation, current_root: SigningKey) -> bytes:
    """The rotation link, signed by the root being retired (server side)."""
    return sign1(rotation.to_payload(), current_root, typ=TYP_ROOT_ROTATION)


def verify_root_rotation(raw: bytes, current_root: ec.EllipticCurvePublicKey, position: int) -> RootRotation:
    """A link signed by ``current_root`` at ``position`` of the chain, to another P-256 key."""
    try:
        payload = open_cose_sign1(raw, TYP_ROOT_ROTATION, current_root, max_len=MAX_ROTATION_BYTES)
        fields = expect_map(loads_cbor(payload, "root rotation"), "root rotation", list(RotationField))
        rotation = RootRotation(
            expect_int(fields[RotationField.POSITION], "position"),
            expect_int(fields[RotationField.ISSUED_AT], "issued_at"),
            expect_bytes(fields[RotationField.NEW_ROOT], "new root"),
        )
        new_key = rotation.new_root_key
    except SignedDataError as exc:
        raise RootRotationError(f"root rotation rejected: {exc}") from exc
    if rotation.position != position:
        raise RootRotationError(f"root rotation is link {rotation.position}, expected link {position}")
    if key_id(new_key) == key_id(current_root):
        raise RootRotationError("root rotation to the same key")
    return rotation


def walk_chain(anchor: TrustAnchor, links: Sequence[bytes]) -> ec.EllipticCurvePublicKey:
    """The current root: the anchor, handed over link by link (each signed by the root before it)."""
    if len(links) > MAX_CHAIN:
        raise RootRotationError(f"more than {MAX_CHAIN} root rotations")
    root = anchor.public_key
    for position, raw in enumerate(links, start=1):
        root = verify_root_rotation(raw, root, position).new_root_key
    return root


def load_trust_list_file(path: Path | str, anchor: TrustAnchor, rotations: Sequence[bytes] = ()) -> TrustList:
    """A trust list saved from ``GET /v1/public/trust-list`` (the raw signed bytes), verified against
    ``anchor`` (and the root rotation links since it, oldest first). Raises :class:`TrustListError`."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_TRUST_LIST_BYTES + 1)
    except OSError as exc:
        raise TrustListError(f"trust list {path}: cannot read ({exc.strerror or exc})") from exc
    return verify_trust_list(raw, walk_chain(anchor, rotations))


# --- The terminal's store ------------------------------------------------------------------------

metadata = MetaData()
_trust_table = Table(
    "trust_list",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("fetched_at", Float, nullable=False),
    CheckConstraint("id = 1", name="trust_list_single_row"),
)
_chain_table = Table(
    "trust_root_chain",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("raw", LargeBinary, nullable=False),
)


_CACHE_KEY = select(
    _trust_table.c.seq,
    _trust_table.c.fetched_at,
    select(func.count()).select_from(_chain_table).scalar_subquery().label("chain_len"),
)


@dataclass(frozen=True)
class StoredTrustList:
    trust_list: TrustList
    raw: bytes
    fetched_at: float


def drop_legacy_table(engine: Engine, table: str, column: str) -> None:
    """Drop ``table`` when it still has ``column`` (a key stored next to the data it verified): it is a
    cache of signed publications, fetched again at the next sync."""
    inspector = inspect(engine)
    if inspector.has_table(table) and column in {col["name"] for col in inspector.get_columns(table)}:
        log.warning("dropping the old %s table (it kept its own verification key): sync again", table)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TABLE "{table}"')


class TrustStore:
    """The terminal's current trust list in SQLite: only ever replaced by a newer one signed by the root.

    The root is the installed :class:`TrustAnchor` handed on by the stored rotation chain; the parsed
    list is cached per process (it was verified when cached) and re-read and re-verified when the stored
    ``seq``, fetch time or chain length changes.
    """

    def __init__(self, engine: Engine, anchor: TrustAnchor) -> None:
        if not isinstance(anchor, TrustAnchor):
            raise TrustAnchorError("a TrustStore needs the installed TrustAnchor")
        self._engine = engine
        self.anchor = anchor
        drop_legacy_table(engine, "trust_list", "root_point")
        metadata.create_all(engine)
        self._cached: tuple[tuple[int, float, int], StoredTrustList] | None = None

    # --- reading ---------------------------------------------------------------------------------

    def current(self) -> TrustList | None:
        """The verified list; None when the terminal has none yet. TrustListError when it does not verify."""
        stored = self.stored()
        return None if stored is None else stored.trust_list

    @property
    def status_keys(self) -> tuple[StatusListKey, ...]:
        """The status-list keys of the verified list (empty without one): the revocation cache's keys."""
        current = self.current()
        return () if current is None else current.status_keys

    def root(self) -> ec.EllipticCurvePublicKey:
        """The current root: the installed anchor handed on by the stored rotation chain."""
        with self._engine.begin() as conn:
            return walk_chain(self.anchor, _chain(conn))

    def stored(self) -> StoredTrustList | None:
        """The current list with its raw bytes and fetch time; None when the terminal has none yet."""
        try:
            return self._stored()
        except DBAPIError as exc:  # e.g. bytes planted as TEXT that is not UTF-8: not even readable
            raise TrustListError(f"stored trust list is unreadable: {type(exc.orig).__name__}") from exc

    def _stored(self) -> StoredTrustList | None:
        with self._engine.begin() as conn:
            row = conn.execute(_CACHE_KEY).first()  # one statement: this runs at every tap
            if row is None:
                self._cached = None
                return None
            key = (row.seq, row.fetched_at, row.chain_len)
            if self._cached is not None and self._cached[0] == key:
                return self._cached[1]
            full = conn.execute(select(_trust_table)).one()
            try:
                links = _chain(conn)
                trust_list = verify_trust_list(full.raw, walk_chain(self.anchor, links))
            except SignedDataError as exc:
                raise TrustListError(f"stored trust list does not verify: {exc}") from exc
        if trust_list.seq != full.seq or not isinstance(full.fetched_at, float | int):
            raise TrustListError("stored trust list does not match its row")
        stored = StoredTrustList(trust_list, bytes(full.raw), float(full.fetched_at))
        self._cached = ((full.seq, full.fetched_at, len(links)), stored)
        return stored

    # --- writing ---------------------------------------------------------------------------------

    def update(self, raw: bytes, *, fetched_at: float | None = None) -> TrustList:
        """Verify (current root) and store a newer trust list; the same list again is a no-op; anything
        older than the stored list is refused (:class:`TrustListRollbackError`). A stored row that does
        not verify protects nothing: a verified list replaces it."""
        raw = bytes(raw)
        when = time.time() if fetched_at is None else fetched_at
        with begin_immediate(self._engine) as conn:
            root = walk_chain(self.anchor, _chain(conn))
            trust_list = verify_trust_list(raw, root)
            values = {"seq": trust_list.seq, "raw": raw, "fetched_at": when}
            try:
                row = conn.execute(select(_trust_table.c.raw)).first()
            except DBAPIError:  # an unreadable planted row protects nothing: replace it
                conn.execute(delete(_trust_table))
                row = None
            held = _verified_or_none(row.raw, root) if row is not None else None
            if row is None:
                conn.execute(_trust_table.insert().values(id=1, **values))
            elif held is not None and trust_list.seq == held.seq and raw == row.raw:
                return trust_list
            elif held is not None and trust_list.seq <= held.seq:
                detail = "other content under the same" if trust_list.seq == held.seq else "older than stored"
                raise TrustListRollbackError(f"trust list seq {trust_list.seq}: {detail} seq {held.seq}")
            else:
                conn.execute(_trust_table.update().where(_trust_table.c.id == 1).values(**values))
        self._cached = None
        return trust_list

    def add_root_rotations(self, links: Sequence[bytes]) -> int:
        """Append the rotation links the chain does not hold yet (the full chain from the anchor, oldest
        first, as the server publishes it); each must be signed by the root before it. Returns how many
        were added. A link that differs from a stored one at the same position is refused."""
        added = 0
        with begin_immediate(self._engine) as conn:
            held = _chain(conn)
            root = walk_chain(self.anchor, held)
            for position, raw in enumerate(links, start=1):
                raw = bytes(raw)
                if position <= len(held):
                    if raw != held[position - 1]:
                        raise RootRotationError(f"root rotation link {position} differs from the stored one")
                    continue
                if position > MAX_CHAIN:
                    raise RootRotationError(f"more than {MAX_CHAIN} root rotations")
                root = verify_root_rotation(raw, root, position).new_root_key
                conn.execute(_chain_table.insert().values(position=position, raw=raw))
                added += 1
        self._cached = None
        return added


def _chain(conn: Connection) -> list[bytes]:
    """The stored rotation links in order (not yet verified: :func:`walk_chain` does that)."""
    try:
        rows = conn.execute(select(_chain_table).order_by(_chain_table.c.position)).all()
    except DBAPIError as exc:
        raise RootRotationError("stored root rotation chain is unreadable") from exc
    if [r.position for r in rows] != list(range(1, len(rows) + 1)):
        raise RootRotationError("stored root rotation chain has a gap")
    if not all(isinstance(r.raw, bytes) for r in rows):
        raise RootRotationError("stored root rotation chain is damaged")
    return [r.raw for r in rows]


def _verified_or_none(raw: object, root: ec.EllipticCurvePublicKey) -> TrustList | None:
    if not isinstance(raw, bytes):
        return None
    try:
        return verify_trust_list(raw, root)
    except SignedDataError:
        return None

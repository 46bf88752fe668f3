"""The trust list: the issuer keys, status-list keys and terminals a terminal trusts, signed by the root.

Format: a tagged COSE_Sign1 (ES256) whose protected header is ``{alg: ES256, kid: key_id(root),
typ: "application/khbs-trust-list+cbor"}`` (the ``typ`` label of RFC 9596 keeps a trust list from ever
being read as a status-list snapshot or delta, which use the same envelope) and whose payload is a
CBOR map with integer keys (:class:`TrustField`)::

    {1: seq, 2: issued_at,
     3: [[kid, SEC1 point, issue_from, issue_until, verify_until], ...],   # issuer keys
     4: [[kid, SEC1 point, sign_from, sign_until], ...],                   # status-list keys (>= 1)
     5: [[terminal id, SEC1 point, roles, site, region], ...]}             # terminals

Times are Unix seconds. Key rotation: a credential verifies under an issuer key only if its ``iat``
lies in ``[issue_from, issue_until]`` and only while ``now <= verify_until``, so a retired key keeps
verifying the cards it issued until its end date. Status data (snapshot or delta) verifies under a
status-list key only if its signed ``issued_at`` lies in ``[sign_from, sign_until]``: the old key signs
until X, the new one from Y. Every ``kid`` must equal ``key_id(point)``. ``issued_at`` is when the root
signed this list: the server re-signs it at least daily, so its age says how long ago this terminal last
heard from the centre (``terminal.revocation.FreshnessPolicy`` bounds it per purpose).

The server encodes and signs (:func:`sign_trust_list`); terminals verify and decode
(:func:`verify_trust_list`) with the root of trust installed outside their database
(``terminal.truststore``). The COSE envelope and strict CBOR readers here are shared with
``province.statuslist`` and ``terminal.truststore``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.cose import CoseError, SigningKey, decode_sign1, key_id, loads, sign1

TYP_TRUST_LIST = "application/khbs-trust-list+cbor"
MAX_TRUST_LIST_BYTES = 8 << 20
#: Sequence numbers and times fit SQLite's signed 64-bit INTEGER.
MAX_UINT = (1 << 63) - 1
TERMINAL_ID_LEN = c.TERMINAL_ID_LEN
MAX_SITE_LEN = 128
MAX_REGION = 9999
MAX_ROLES = 0xFFFF_FFFF
MAX_STATUS_KEYS = 16


class SignedDataError(ValueError):
    """A signed publication (trust list, status-list snapshot or delta) is malformed, forged or misfiled."""


class TrustListError(SignedDataError):
    """The trust list bytes are malformed, not signed by the root key, or fail validation."""


class TrustListRollbackError(TrustListError):
    """A trust list not newer than the stored one (older seq, or the same seq with other content)."""


class TrustField(IntEnum):
    SEQ = 1
    ISSUED_AT = 2
    ISSUERS = 3
    STATUS_LIST_KEYS = 4
    TERMINALS = 5


# --- Opening a publication: the one COSE_Sign1 envelope (card_applet_spec.cose), errors typed here -----


def open_cose_sign1(raw: bytes, typ: str, public_key: ec.EllipticCurvePublicKey, *, max_len: int) -> bytes:
    """Check a province publication strictly and its ES256 signature by ``public_key``; return the payload.

    Raises :class:`SignedDataError` for anything else: not CBOR, wrong structure, other algorithm, other
    ``typ``, a ``kid`` that is not ``public_key``'s, or a signature that does not verify.
    """
    try:
        envelope = decode_sign1(raw, max_len=max_len, typ=typ)
    except CoseError as exc:
        raise SignedDataError(str(exc)) from exc
    expected_kid = key_id(public_key)
    if envelope.kid != expected_kid:
        raise SignedDataError(f"signed by key {envelope.kid.hex()}, expected {expected_kid.hex()}")
    if not envelope.verify(public_key):
        raise SignedDataError("signature does not verify")
    return envelope.payload


def cose_sign1_kid(raw: bytes, typ: str, *, max_len: int) -> bytes:
    """The ``kid`` a publication claims (NOT verified: only to pick the key to verify it with)."""
    try:
        return decode_sign1(raw, max_len=max_len, typ=typ).kid
    except CoseError as exc:
        raise SignedDataError(str(exc)) from exc


# --- Strict CBOR readers (raise SignedDataError) -------------------------------------------------


def loads_cbor(data: bytes, what: str) -> Any:
    """Exactly one CBOR item: definite lengths, no duplicate map keys, bounded depth, no trailing bytes."""
    try:
        return loads(data, what)
    except CoseError as exc:
        raise SignedDataError(str(exc)) from exc


def expect_map(value: object, what: str, keys: Sequence[int]) -> Mapping[Any, Any]:
    """A map whose keys are exactly ``keys`` (cbor2 gives dict or frozendict)."""
    if not isinstance(value, Mapping):
        raise SignedDataError(f"{what}: expected a map")
    if set(value.keys()) != set(keys) or len(value) != len(keys):
        raise SignedDataError(f"{what}: keys {sorted(map(repr, value.keys()))}, expected {sorted(keys)}")
    return value


def expect_array(
    value: object, what: str, *, length: int | None = None, max_len: int = 1 << 20
) -> tuple[Any, ...]:
    """An array (cbor2 gives list or tuple) of exactly ``length`` or at most ``max_len`` items."""
    if not isinstance(value, list | tuple):
        raise SignedDataError(f"{what}: expected an array")
    if length is not None and len(value) != length:
        raise SignedDataError(f"{what}: expected {length} items, got {len(value)}")
    if len(value) > max_len:
        raise SignedDataError(f"{what}: more than {max_len} items")
    return tuple(value)


def expect_int(value: object, what: str, *, lo: int = 0, hi: int = MAX_UINT) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise SignedDataError(f"{what}: expected an integer")
    if not lo <= value <= hi:
        raise SignedDataError(f"{what}: {value} outside [{lo}, {hi}]")
    return value


def expect_bytes(value: object, what: str, *, length: int | None = None) -> bytes:
    if not isinstance(value, bytes):
        raise SignedDataError(f"{what}: expected a byte string")
    if length is not None and len(value) != length:
        raise SignedDataError(f"{what}: expected {length} bytes, got {len(value)}")
    return value


def expect_text(value: object, what: str, *, max_len: int) -> str:
    if not isinstance(value, str):
        raise SignedDataError(f"{what}: expected a text string")
    if len(value) > max_len:
        raise SignedDataError(f"{what}: longer than {max_len} characters")
    return value


def parse_point(point: bytes, what: str) -> ec.EllipticCurvePublicKey:
    """A SEC1 P-256 point (compressed or uncompressed) that is on the curve."""
    if not isinstance(point, bytes) or not (
        (len(point) == 33 and point[0] in (2, 3)) or (len(point) == 65 and point[0] == 4)
    ):
        raise SignedDataError(f"{what}: expected a SEC1 P-256 point (33 or 65 bytes)")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise SignedDataError(f"{what}: not a point on P-256") from exc


def sec1_point(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The uncompressed SEC1 encoding (65 bytes), as the card stores issuer keys."""
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def _check_uint(value: object, what: str, hi: int = MAX_UINT) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= hi:
        raise TrustListError(f"{what}: expected an integer in [0, {hi}]")


def _key_with_kid(kid: object, point: object, what: str) -> ec.EllipticCurvePublicKey:
    if not isinstance(kid, bytes) or len(kid) != c.KEY_ID_LEN:
        raise TrustListError(f"{what}: kid must be {c.KEY_ID_LEN} bytes")
    if not isinstance(point, bytes):
        raise TrustListError(f"{what}: point must be bytes")
    try:
        key = parse_point(point, what)
    except SignedDataError as exc:
        raise TrustListError(str(exc)) from exc
    if key_id(key) != kid:
        raise TrustListError(f"{what}: kid {kid.hex()} is not the id of its key ({key_id(key).hex()})")
    return key


# --- The trust list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuerKeyEntry:
    """An issuer key and its rotation window; ``public_key`` is parsed (and checked) on construction."""

    kid: bytes
    point: bytes
    issue_from: int
    issue_until: int
    verify_until: int
    public_key: ec.EllipticCurvePublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_key", _key_with_kid(self.kid, self.point, "issuer key"))
        for name in ("issue_from", "issue_until", "verify_until"):
            _check_uint(getattr(self, name), f"issuer key {self.kid.hex()} {name}")
        if not self.issue_from <= self.issue_until <= self.verify_until:
            raise TrustListError(
                f"issuer key {self.kid.hex()}: need issue_from <= issue_until <= verify_until"
            )

    def may_verify(self, issued_at: int, now: float) -> bool:
        """True when a credential issued at ``issued_at`` may be verified with this key at ``now``."""
        return self.issue_from <= issued_at <= self.issue_until and now <= self.verify_until


@dataclass(frozen=True)
class StatusListKey:
    """A key that signs status-list snapshots and deltas issued (signed ``issued_at``) in its window."""

    kid: bytes
    point: bytes
    sign_from: int = 0
    sign_until: int = MAX_UINT
    public_key: ec.EllipticCurvePublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_key", _key_with_kid(self.kid, self.point, "status-list key"))
        _check_uint(self.sign_from, f"status-list key {self.kid.hex()} sign_from")
        _check_uint(self.sign_until, f"status-list key {self.kid.hex()} sign_until")
        if self.sign_from > self.sign_until:
            raise TrustListError(f"status-list key {self.kid.hex()}: need sign_from <= sign_until")

    @classmethod
    def of(
        cls, public_key: ec.EllipticCurvePublicKey, sign_from: int = 0, sign_until: int = MAX_UINT
    ) -> StatusListKey:
        return cls(key_id(public_key), sec1_point(public_key), sign_from, sign_until)

    def may_sign(self, issued_at: int) -> bool:
        """True when status data issued at ``issued_at`` may carry this key's signature."""
        return self.sign_from <= issued_at <= self.sign_until


def status_key_for(keys: Sequence[StatusListKey], kid: bytes) -> StatusListKey | None:
    """The status-list key with this kid, whatever its window."""
    return next((k for k in keys if k.kid == kid), None)


@dataclass(frozen=True)
class StatusKeyRing:
    """Status-list keys held outside a trust list (tools, benchmarks, tests); a ``TrustList`` is one too."""

    status_keys: tuple[StatusListKey, ...]

    @classmethod
    def of(cls, *public_keys: ec.EllipticCurvePublicKey) -> StatusKeyRing:
        return cls(tuple(StatusListKey.of(k) for k in public_keys))


@dataclass(frozen=True)
class TerminalEntry:
    """A terminal the scheme knows: its id (8 printable ASCII characters), key, role bits, site, region."""

    terminal_id: str
    point: bytes
    roles: int
    site: str
    region: int
    public_key: ec.EllipticCurvePublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tid = self.terminal_id
        if not (isinstance(tid, str) and len(tid) == TERMINAL_ID_LEN and all("!" <= ch <= "~" for ch in tid)):
            raise TrustListError(f"terminal id {tid!r}: must be {TERMINAL_ID_LEN} printable ASCII characters")
        if not isinstance(self.point, bytes):
            raise TrustListError(f"terminal {tid}: point must be bytes")
        try:
            key = parse_point(self.point, f"terminal {tid} key")
        except SignedDataError as exc:
            raise TrustListError(str(exc)) from exc
        object.__setattr__(self, "public_key", key)
        _check_uint(self.roles, f"terminal {tid} roles", MAX_ROLES)
        _check_uint(self.region, f"terminal {tid} region", MAX_REGION)
        if not isinstance(self.site, str) or len(self.site) > MAX_SITE_LEN:
            raise TrustListError(f"terminal {tid}: site must be text of at most {MAX_SITE_LEN} characters")

    def has_role(self, role: int) -> bool:
        return self.roles & role == role


@dataclass(frozen=True)
class TrustList:
    seq: int
    issued_at: int
    issuers: tuple[IssuerKeyEntry, ...]
    status_keys: tuple[StatusListKey, ...]
    terminals: tuple[TerminalEntry, ...] = ()
    _issuers_by_kid: Mapping[bytes, IssuerKeyEntry] = field(init=False, repr=False, compare=False)
    _terminals_by_id: Mapping[str, TerminalEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_uint(self.seq, "seq")
        _check_uint(self.issued_at, "issued_at")
        object.__setattr__(self, "issuers", tuple(self.issuers))
        object.__setattr__(self, "terminals", tuple(self.terminals))
        object.__setattr__(self, "status_keys", tuple(self.status_keys))
        if not all(isinstance(e, IssuerKeyEntry) for e in self.issuers):
            raise TrustListError("issuers must be IssuerKeyEntry")
        if not all(isinstance(t, TerminalEntry) for t in self.terminals):
            raise TrustListError("terminals must be TerminalEntry")
        if not 1 <= len(self.status_keys) <= MAX_STATUS_KEYS or not all(
            isinstance(k, StatusListKey) for k in self.status_keys
        ):
            raise TrustListError(f"status_keys must be 1 to {MAX_STATUS_KEYS} StatusListKey")
        if len({k.kid for k in self.status_keys}) != len(self.status_keys):
            raise TrustListError("a status-list kid appears twice")
        by_kid = {e.kid: e for e in self.issuers}
        if len(by_kid) != len(self.issuers):
            raise TrustListError("an issuer kid appears twice")
        by_id = {t.terminal_id: t for t in self.terminals}
        if len(by_id) != len(self.terminals):
            raise TrustListError("a terminal id appears twice")
        object.__setattr__(self, "_issuers_by_kid", by_kid)
        object.__setattr__(self, "_terminals_by_id", by_id)

    def issuer(self, kid: bytes) -> IssuerKeyEntry | None:
        """The issuer key with this kid, whatever its window."""
        return self._issuers_by_kid.get(kid)

    def issuer_for(self, kid: bytes, issued_at: int, now: float) -> IssuerKeyEntry | None:
        """The issuer key that may verify a credential with this kid and ``iat`` at ``now``, else None."""
        entry = self._issuers_by_kid.get(kid)
        return entry if entry is not None and entry.may_verify(issued_at, now) else None

    def terminal(self, terminal_id: str) -> TerminalEntry | None:
        return self._terminals_by_id.get(terminal_id)

    def to_payload(self) -> bytes:
        return cbor2.dumps(
            {
                TrustField.SEQ: self.seq,
                TrustField.ISSUED_AT: self.issued_at,
                TrustField.ISSUERS: [
                    [e.kid, e.point, e.issue_from, e.issue_until, e.verify_until] for e in self.issuers
                ],
                TrustField.STATUS_LIST_KEYS: [
                    [k.kid, k.point, k.sign_from, k.sign_until] for k in self.status_keys
                ],
                TrustField.TERMINALS: [
                    [t.terminal_id, t.point, t.roles, t.site, t.region] for t in self.terminals
                ],
            }
        )

    @classmethod
    def from_payload(cls, payload: bytes) -> TrustList:
        """Strictly decode a (signature-checked) payload."""
        try:
            fields = expect_map(loads_cbor(payload, "trust list"), "trust list", list(TrustField))
            issuers = tuple(
                IssuerKeyEntry(
                    expect_bytes(kid, "issuer kid"),
                    expect_bytes(point, "issuer point"),
                    expect_int(issue_from, "issue_from"),
                    expect_int(issue_until, "issue_until"),
                    expect_int(verify_until, "verify_until"),
                )
                for kid, point, issue_from, issue_until, verify_until in (
                    expect_array(item, "issuer entry", length=5)
                    for item in expect_array(fields[TrustField.ISSUERS], "issuers")
                )
            )
            status_keys = tuple(
                StatusListKey(
                    expect_bytes(kid, "status-list kid"),
                    expect_bytes(point, "status-list point"),
                    expect_int(sign_from, "status-list sign_from"),
                    expect_int(sign_until, "status-list sign_until"),
                )
                for kid, point, sign_from, sign_until in (
                    expect_array(item, "status-list key", length=4)
                    for item in expect_array(
                        fields[TrustField.STATUS_LIST_KEYS], "status-list keys", max_len=MAX_STATUS_KEYS
                    )
                )
            )
            terminals = tuple(
                TerminalEntry(
                    expect_text(tid, "terminal id", max_len=TERMINAL_ID_LEN),
                    expect_bytes(point, "terminal point"),
                    expect_int(roles, "terminal roles", hi=MAX_ROLES),
                    expect_text(site, "terminal site", max_len=MAX_SITE_LEN),
                    expect_int(region, "terminal region", hi=MAX_REGION),
                )
                for tid, point, roles, site, region in (
                    expect_array(item, "terminal entry", length=5)
                    for item in expect_array(fields[TrustField.TERMINALS], "terminals")
                )
            )
            return cls(
                seq=expect_int(fields[TrustField.SEQ], "seq"),
                issued_at=expect_int(fields[TrustField.ISSUED_AT], "issued_at"),
                issuers=issuers,
                status_keys=status_keys,
                terminals=terminals,
            )
        except TrustListError:
            raise
        except SignedDataError as exc:
            raise TrustListError(str(exc)) from exc


def sign_trust_list(trust_list: TrustList, root_key: SigningKey, *, deterministic: bool = True) -> bytes:
    """Encode and sign a trust list with the root key (server side)."""
    raw = sign1(trust_list.to_payload(), root_key, typ=TYP_TRUST_LIST, deterministic=deterministic)
    if len(raw) > MAX_TRUST_LIST_BYTES:
        raise TrustListError(f"trust list is {len(raw)} bytes, over {MAX_TRUST_LIST_BYTES}")
    return raw


def verify_trust_list(raw: bytes, root_public_key: ec.EllipticCurvePublicKey) -> TrustList:
    """Check the root signature and decode strictly; any problem is a :class:`TrustListError`."""
    try:
        payload = open_cose_sign1(raw, TYP_TRUST_LIST, root_public_key, max_len=MAX_TRUST_LIST_BYTES)
    except SignedDataError as exc:
        raise TrustListError(f"trust list rejected: {exc}") from exc
    return TrustList.from_payload(payload)

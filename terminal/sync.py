"""Sync with the central server over HTTP (server_stub's /v1/sync API).

Pulls: the signed trust list, the revocation snapshot or its deltas, issuer updates waiting for cards,
catalogues. Pushes: card-signed redemption records, voids, failure events, interest registrations.
Every step is independent (one failing does not stop the others), idempotent (stable ids: the server
stores each record once), and verified before use (the trust list against the root of trust installed
with the terminal, handed on only by root rotation links the old root signed; status data against the
trust list's status-list keys). Failures back off exponentially; days offline are caught up in batches.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Column, Engine, Float, Integer, MetaData, String, Table, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from province.statuslist import StatusListError
from province.trust import SignedDataError
from terminal.catalogue import Catalogue, CatalogueItem, CatalogueKind
from terminal.enrolment import TOKEN
from terminal.ledger import Ledger
from terminal.pending import PendingUpdate, PendingUpdates
from terminal.revocation import RevocationCache, RevocationError, StatusGapError
from terminal.truststore import TrustStore

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)
BATCH = 500
T = TypeVar("T")
MIN_BACKOFF_S = 5.0
MAX_BACKOFF_S = 900.0
HEALTHY_INTERVAL_S = 300.0

_CATALOGUE_KINDS = {
    "job": CatalogueKind.JOBS,
    "training": CatalogueKind.TRAINING,
    "housing": CatalogueKind.HOUSING,
}


class SyncError(Exception):
    """A sync step failed; ``code`` is short and stable (shown to clerks and logged)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise SyncError("bad_response", f"{what}: expected base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise SyncError("bad_response", f"{what}: not base64") from exc


def _int(value: object, limit: int) -> int:
    """A JSON integer in 0 ≤ value < limit (no floats, no booleans, no digit strings)."""
    if type(value) is not int or not 0 <= value < limit:
        raise ValueError("integer missing or out of range")
    return value


def _text(value: object, limit: int = 2000) -> str:
    """A JSON string of at most ``limit`` characters that is valid Unicode (no lone surrogates)."""
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError("text missing or too long")
    value.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
    return value


class SyncClient:
    """The HTTP client for /v1/sync (terminal bearer token)."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
        http: httpx.Client | None = None,
    ) -> None:
        """``http``: an existing client to use (e.g. an in-process test client); base_url is then its own."""
        import httpx  # here, not at module level: the kiosk imports this module at start-up, rarely syncs

        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self._http_error: type[Exception] = httpx.HTTPError
        self.headers = {"Authorization": f"Bearer {token}"} if token is not None else {}  # None: anonymous

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, headers=self.headers, **kw)
        except self._http_error as exc:
            raise SyncError("unreachable", f"server unreachable: {exc}") from exc
        if response.status_code >= 400:
            code = "http_" + str(response.status_code)
            with contextlib.suppress(ValueError, KeyError, TypeError):
                code = str(response.json()["error"]["code"])
            raise SyncError(code, f"{method} {path}: HTTP {response.status_code} ({code})")
        try:
            body = response.json()
        except (ValueError, RecursionError) as exc:
            raise SyncError("bad_response", f"{method} {path}: not JSON") from exc
        if not isinstance(body, dict):
            raise SyncError("bad_response", f"{method} {path}: not a JSON object")
        return body

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._call("GET", path, params=params or None)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", path, json=body)


metadata = MetaData()
sync_steps = Table(
    "sync_steps",
    metadata,
    Column("step", String(32), primary_key=True),
    Column("last_attempt", Float, nullable=True),
    Column("last_success", Float, nullable=True),
    Column("last_error", String(256), nullable=True),
    Column("failures", Integer, nullable=False, default=0),
)


@dataclass(frozen=True)
class StepState:
    step: str
    last_attempt: float | None
    last_success: float | None
    last_error: str | None
    failures: int


class SyncStateStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def record(self, step: str, now: float, error: str | None) -> None:
        prev = self.get(step)
        failures = 0 if error is None else (prev.failures + 1 if prev else 1)
        values = {
            "step": step,
            "last_attempt": now,
            "last_success": now if error is None else (prev.last_success if prev else None),
            "last_error": error[:256] if error else None,
            "failures": failures,
        }
        stmt = sqlite_insert(sync_steps).values(**values)
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["step"], set_=values))

    def get(self, step: str) -> StepState | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(sync_steps).where(sync_steps.c.step == step)).mappings().first()
        return StepState(**dict(row)) if row else None

    def all(self) -> list[StepState]:
        with self.engine.connect() as conn:
            return [StepState(**dict(r)) for r in conn.execute(select(sync_steps)).mappings()]

    def last_sync(self) -> float | None:
        """When every step last succeeded together (the oldest of their last successes)."""
        states = self.all()
        if not states or any(s.last_success is None for s in states):
            return None
        return min(s.last_success for s in states if s.last_success is not None)

    def consecutive_failures(self) -> int:
        return max((s.failures for s in self.all()), default=0)


@dataclass(frozen=True)
class SyncReport:
    ok: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return not self.failed


class Syncer:
    def __init__(
        self,
        client: SyncClient,
        *,
        trust: TrustStore,
        revocation: RevocationCache,
        ledger: Ledger,
        catalogue: Catalogue,
        pending: PendingUpdates,
        state: SyncStateStore,
        clock: Callable[[], float] = time.time,
        token_sink: Callable[[str], None] | None = None,
    ) -> None:
        """``token_sink``: keeps a renewed server token (written before it is used); without one, the
        token is never renewed."""
        self.client = client
        self.token_sink = token_sink
        self.trust = trust
        self.revocation = revocation
        self.ledger = ledger
        self.catalogue = catalogue
        self.pending = pending
        self.state = state
        self.clock = clock

    # -- the whole round ---------------------------------------------------------------------------
    def sync_once(self) -> SyncReport:
        ok: dict[str, str] = {}
        failed: dict[str, str] = {}
        steps: list[tuple[str, Callable[[], str]]] = [
            ("trust_list", self.pull_trust_list),
            ("status_list", self.pull_status_list),
            ("pending", self.pull_pending),
            ("catalogue", self.pull_catalogue),
            ("redemptions", self.push_redemptions),
            ("voids", self.push_voids),
            ("failures", self.push_failures),
            ("interests", self.push_interests),
            ("acks", self.push_acks),
        ]
        if self.token_sink is not None:
            steps.append(("token", self.renew_token))
        for name, step in steps:
            try:
                ok[name] = step()
            except (SyncError, SignedDataError, RevocationError) as exc:
                failed[name] = f"{getattr(exc, 'code', type(exc).__name__)}: {exc}"
            except Exception as exc:  # a bug or an odd answer: this step failed, the others still run
                log.exception("sync step %s failed", name)
                failed[name] = f"internal: {type(exc).__name__}: {exc}"
            self.state.record(name, self.clock(), failed.get(name))
        return SyncReport(ok, failed)

    def next_delay(self, rng: Callable[[], float] = random.random) -> float:
        """Seconds until the next round: regular when healthy, exponential backoff with jitter if not."""
        n = self.state.consecutive_failures()
        if n == 0:
            return HEALTHY_INTERVAL_S
        base = min(MAX_BACKOFF_S, MIN_BACKOFF_S * 2 ** min(n - 1, 20))
        return float(base * (0.5 + rng() / 2))

    # -- pulls ---------------------------------------------------------------------------------------
    def pull_trust_list(self) -> str:
        body = self.client.get("/v1/sync/trust-list")
        rotations = body.get("root_rotations", [])  # the chain from the installed anchor, if any
        if not isinstance(rotations, list):
            raise SyncError("bad_response", "root_rotations: expected a list")
        added = self.trust.add_root_rotations([unb64(r, "root rotation") for r in rotations])
        trust_list = self.trust.update(unb64(body.get("signed"), "trust list"), fetched_at=self.clock())
        return f"seq {trust_list.seq}" + (f", root rotated {added}x" if added else "")

    def pull_status_list(self) -> str:
        if self.trust.current() is None:
            raise SyncError("no_trust_list", "no verified trust list: cannot check the status list")
        seq = self.revocation.seq
        if seq is not None:
            try:
                body = self.client.get("/v1/sync/status-list/deltas", since=seq)
                deltas = body.get("deltas")
                if not isinstance(deltas, list):
                    raise SyncError("bad_response", "deltas: expected a list")
                for d in deltas:
                    if not isinstance(d, dict):
                        raise SyncError("bad_response", "delta: expected an object")
                    self.revocation.apply_delta(unb64(d.get("signed"), "delta"), fetched_at=self.clock())
                return f"{len(deltas)} deltas to seq {self.revocation.seq}"
            except StatusGapError:
                pass  # fall back to a snapshot
            except SyncError as exc:
                if exc.code != "ahead_of_server":
                    raise
        body = self.client.get("/v1/sync/status-list")
        try:
            snapshot = self.revocation.apply_snapshot(
                unb64(body.get("signed"), "snapshot"), fetched_at=self.clock()
            )
        except StatusListError as exc:
            raise SyncError("bad_status_list", str(exc)) from exc
        return f"snapshot seq {snapshot.seq}"

    def pull_pending(self) -> str:
        body = self.client.get("/v1/sync/pending")
        items: list[PendingUpdate] = []
        for kind, key, target in (("grant", "grants", "program"), ("status", "status_commands", "new_state")):
            entries = body.get(key)
            if not isinstance(entries, list):
                raise SyncError("bad_response", f"{key}: expected a list")
            for e in entries:
                try:
                    serial = bytes.fromhex(_text(e["card_serial"], 16))
                    if len(serial) != 8:
                        raise ValueError("card serial is not 8 bytes")
                    items.append(
                        PendingUpdate(
                            kind=kind,
                            server_id=_int(e["id"], 2**63),
                            card_serial=serial,
                            target=_int(e[target], 2**16),
                            seq=_int(e["grant_seq" if kind == "grant" else "status_seq"], 2**32),
                            body=unb64(e["body"], "body"),
                            kid=unb64(e["kid"], "kid"),
                            signature=unb64(e["signature"], "signature"),
                        )
                    )
                except (KeyError, TypeError, ValueError, OverflowError) as exc:
                    raise SyncError("bad_response", f"{key}: malformed entry") from exc
        return f"{self.pending.add(items)} new"

    def pull_catalogue(self) -> str:
        body = self.client.get("/v1/sync/catalogue")
        raw_items = body.get("items")
        if not isinstance(raw_items, list):
            raise SyncError("bad_response", "catalogue: expected a list")
        by_kind: dict[CatalogueKind, list[CatalogueItem]] = {k: [] for k in CatalogueKind}
        for it in raw_items:
            try:
                kind = _CATALOGUE_KINDS[_text(it["kind"], 20)]
                slots = it.get("slots")
                by_kind[kind].append(
                    CatalogueItem(
                        kind=kind,
                        item_id=_text(it["id"], 100),
                        region=_int(it["region"], 10_000),
                        title=_text(it["title"], 500),
                        agency=_text(it.get("organisation") or ""),
                        location=_text(it.get("location") or ""),
                        detail=_text(it.get("details") or "", 5000),
                        deadline=_date_to_ts(it.get("closes_on")),
                        places=None if slots is None else _int(slots, 2**31),
                    )
                )
            except (KeyError, TypeError, ValueError, OverflowError) as exc:
                raise SyncError("bad_response", "catalogue: malformed item") from exc
        version = int(self.clock())
        for kind, items in by_kind.items():
            self.catalogue.replace(kind, version, items)
        return f"{len(raw_items)} items"

    # -- pushes ----------------------------------------------------------------------------------------
    def _results(self, body: dict[str, Any], id_key: str) -> dict[str, str]:
        results = body.get("results")
        if not isinstance(results, list):
            raise SyncError("bad_response", "results: expected a list")
        # each result names its item by the item's own id key, or by "id" (the server's batch form)
        return {str(r.get(id_key, r.get("id"))): str(r.get("result")) for r in results if isinstance(r, dict)}

    def _push(
        self,
        items: Sequence[T],
        path: str,
        list_key: str,
        id_key: str,
        item_id: Callable[[T], str],
        to_json: Callable[[T], dict[str, Any]],
        mark: Callable[[list[str]], None],
        accepted: tuple[str, ...] = ("stored", "duplicate"),
    ) -> str:
        """Upload in batches; mark what the server has (a rejected item stays for a person to see)."""
        done = 0
        for batch in _batches(list(items)):
            results = self._results(self.client.post(path, {list_key: [to_json(i) for i in batch]}), id_key)
            ok = [item_id(i) for i in batch if results.get(item_id(i)) in accepted]
            mark(ok)
            done += len(ok)
        return f"{done}/{len(items)} uploaded"

    def push_redemptions(self) -> str:
        entries, _, _ = self.ledger.unsynced()
        by_record = {e.record_id: e.id for e in entries}
        return self._push(
            entries,
            "/v1/sync/redemptions",
            "records",
            "record_id",
            lambda e: e.record_id or "",
            lambda e: {
                "record_id": e.record_id,
                "record": b64(e.record or b""),
                "signature": b64(e.signature or b""),
                "card_serial": e.card_serial.hex(),
                "terminal_id": e.terminal_id,
                "ledger_id": e.id,
                "kind": "check_in" if e.amount == 0 else "debit",
            },
            lambda ids: self.ledger.mark_uploaded(redemption_ids=[by_record[i] for i in ids]),
            accepted=("stored", "duplicate", "flagged"),  # flagged: stored, and put up for review
        )

    def push_voids(self) -> str:
        _, _, voids = self.ledger.unsynced()
        return self._push(
            voids,
            "/v1/sync/voids",
            "voids",
            "void_id",
            lambda v: v.id,
            lambda v: {
                "void_id": v.id,
                "ledger_id": v.redemption_id,
                "record_id": self.ledger.get(v.redemption_id).record_id,
                "reason": v.reason,
                "clerk_id": v.clerk_id,
                "created_at": v.created_at,
            },
            lambda ids: self.ledger.mark_uploaded(void_ids=ids),
        )

    def push_failures(self) -> str:
        _, failures, _ = self.ledger.unsynced()
        return self._push(
            failures,
            "/v1/sync/failures",
            "events",
            "event_id",
            lambda f: f.id,
            lambda f: {
                "event_id": f.id,
                "occurred_at": f.created_at,
                "card_serial": f.card_serial.hex() if f.card_serial else None,
                "program": f.program,
                "reason": f.reason,
                "detail": f.detail,
                "clerk_id": f.clerk_id,
            },
            lambda ids: self.ledger.mark_uploaded(failure_ids=ids),
        )

    def push_interests(self) -> str:
        return self._push(
            self.catalogue.unsynced_interests(),
            "/v1/sync/interests",
            "interests",
            "interest_id",
            lambda i: i.id,
            lambda i: {
                "interest_id": i.id,
                "item_id": i.item_id,
                "card_serial": i.card_serial.hex(),
                "registered_at": int(i.created_at),
                "note": None,
            },
            self.catalogue.mark_interests_uploaded,
        )

    def push_acks(self) -> str:
        grants, statuses = self.pending.to_ack()
        if not grants and not statuses:
            return "nothing to acknowledge"
        self.client.post("/v1/sync/pending/ack", {"grants": grants, "status_commands": statuses})
        self.pending.mark_acked(grants, statuses)
        return f"{len(grants)} grants, {len(statuses)} status commands"

    def renew_token(self) -> str:
        """The server renews this terminal's token once a third of its life has passed: keep the new
        one (``token_sink`` writes it first), then use it. The old one works until the new one's first
        use (or an hour), so a lost answer or a failed write only means renewing again next round."""
        body = self.client.post("/v1/sync/token", {})
        token = body.get("token")
        if token is None:
            return "token still fresh"
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            raise SyncError("bad_response", "token: not a server token")
        assert self.token_sink is not None  # the step runs only with a sink
        self.token_sink(token)
        self.client.headers = {"Authorization": f"Bearer {token}"}
        return "token renewed"


def _batches(items: list[Any], size: int = BATCH) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _date_to_ts(value: object) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:  # a plain date or local time from the server: taken as UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())

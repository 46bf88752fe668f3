"""The terminal's own sync client against the real server, through HTTP, on SQLite and PostgreSQL:
a card issued at the centre is verified, redeemed, uploaded and later revoked at an offline-first
terminal — with every signed publication checked on the terminal side."""

from __future__ import annotations

import base64
from pathlib import Path

from card_applet_spec import constants as c
from terminal.card.session import KhbsSession
from terminal.catalogue import Catalogue, CatalogueKind
from terminal.db import make_engine
from terminal.ledger import Ledger
from terminal.pending import PendingUpdates
from terminal.redeem import Counter, RedemptionRefused, RedemptionService
from terminal.revocation import FreshnessPolicy, RevocationCache
from terminal.sync import SyncClient, Syncer, SyncStateStore
from terminal.truststore import ANCHOR_FILE_NAME, TrustAnchor, TrustStore
from terminal.verify import Reason, Verdict, Verifier
from tests.server.conftest import ADMIN, Clock, World, ok
from tests.server.helpers import PIN, CardUnderTest

NIK = "6271014708900002"


class Terminal:
    """A counter terminal's core, installed with the centre's root key as its trust anchor (a file next
    to, never inside, its database)."""

    def __init__(self, world: World, tmp: Path, token: str) -> None:
        anchor_path = tmp / ANCHOR_FILE_NAME
        if not anchor_path.exists():  # installation: the root comes with the terminal, not from a sync
            TrustAnchor(world.station().keys.trust_root_key.public_key()).install(anchor_path)
        self.engine = make_engine(tmp / "terminal.db")
        clock = world.clock
        self.trust = TrustStore(self.engine, TrustAnchor.load(anchor_path))
        self.revocation = RevocationCache(self.engine, self.trust)
        self.ledger = Ledger(self.engine, clock=clock)
        self.catalogue = Catalogue(self.engine, clock=clock)
        self.pending = PendingUpdates(self.engine, clock=clock)
        self.state = SyncStateStore(self.engine)
        self.tokens: list[str] = []
        self.syncer = Syncer(
            SyncClient("", token, http=world.client),
            trust=self.trust,
            revocation=self.revocation,
            ledger=self.ledger,
            catalogue=self.catalogue,
            pending=self.pending,
            state=self.state,
            clock=clock,
            token_sink=self.tokens.append,  # a renewed token is kept, as a station keeps it on disk
        )
        self.clock = clock

    def service(self) -> RedemptionService:
        verifier = Verifier(self.trust, self.revocation, FreshnessPolicy())
        counter = Counter("T6271001", "Kantor T6271001", "rina")
        return RedemptionService(self.ledger, verifier, counter, clock=self.clock, pending=self.pending)


def test_issue_sync_redeem_upload_revoke(world: World, clock: Clock, tmp_path: Path) -> None:
    token = world.terminal("T6271001")
    world.citizen(NIK, name="Sari Dewi", occupation="farmer", decile=2)
    card = CardUnderTest.blank()
    issued = world.station().issue(card.connection, nik=NIK, pin=PIN)
    term = Terminal(world, tmp_path, token)

    # offline and never synced: no trust list, no verdict
    result, _ = term.service().tap(KhbsSession(card.session().connection))
    assert (result.verdict, result.result.reason) == (Verdict.UNKNOWN, Reason.NO_TRUST_LIST)

    report = term.syncer.sync_once()
    assert report.success, report.failed
    assert term.trust.current() is not None and term.revocation.seq is not None
    assert term.state.last_sync() == clock.now
    assert term.catalogue.for_region(CatalogueKind.JOBS, 6271) or term.catalogue.version(CatalogueKind.JOBS)

    svc = term.service()
    session = card.session()
    done = svc.redeem(session, c.Program.BLT, 100_000, PIN)
    assert done.entry.balance_after == 200_000

    report = term.syncer.sync_once()
    assert report.ok["redemptions"] == "1/1 uploaded", report
    view = ok(world.client.get(f"/v1/admin/cards/{issued.serial}", headers=ADMIN))
    blt = next(e for e in view["entitlements"] if e["program"] == c.Program.BLT)
    assert blt["remaining"] == 200_000
    # idempotent: the same record again is a duplicate, and stays uploaded
    term.ledger.mark_uploaded()  # nothing new
    assert term.syncer.push_redemptions() == "0/0 uploaded"

    # the centre revokes the card; the terminal learns it by a signed delta at the next sync
    ok(world.client.post(f"/v1/admin/cards/{issued.serial}/revoke", headers=ADMIN, json={"reason": "dicuri"}))
    clock.advance(60)
    assert term.syncer.sync_once().success
    svc = term.service()
    result, _ = svc.tap(card.session())
    # the issuer's signed TERMINATE for the revoked card was applied at this tap, then the card re-read
    assert (result.verdict, result.result.reason) == (Verdict.INVALID, Reason.CARD_TERMINATED)
    assert card.card.state.life_cycle == c.LifeCycle.TERMINATED
    try:
        svc.redeem(card.session(), c.Program.BLT, 1_000, PIN)
    except RedemptionRefused as refused:
        assert refused.reason in (Reason.REVOKED, Reason.CARD_BLOCKED, Reason.CARD_TERMINATED)
    report = term.syncer.sync_once()
    assert report.success, report.failed
    assert report.ok["failures"].startswith("1/1")
    assert report.ok["acks"].startswith("0 grants, 1 status")


def test_tampered_trust_list_is_refused(world: World, tmp_path: Path) -> None:
    token = world.terminal("T6271001")
    term = Terminal(world, tmp_path, token)

    class Tampering:
        def __init__(self) -> None:
            self.inner = world.client

        def request(self, method: str, path: str, **kw: object):  # type: ignore[no-untyped-def]
            response = self.inner.request(method, path, **kw)  # type: ignore[arg-type]
            if path.endswith("trust-list"):
                body = response.json()
                raw = bytearray(base64.b64decode(body["signed"]))
                raw[-5] ^= 1
                body["signed"] = base64.b64encode(bytes(raw)).decode()
                response._content = __import__("json").dumps(body).encode()
            return response

    term.syncer.client.http = Tampering()  # type: ignore[assignment]
    report = term.syncer.sync_once()
    assert "trust_list" in report.failed and term.trust.current() is None
    assert "status_list" in report.failed  # no verified trust list: no status-list key to check with

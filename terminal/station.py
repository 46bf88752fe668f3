"""A terminal built from its configuration file and enrolment files: the one way a terminal starts.

:func:`open_station` reads nothing but what :mod:`terminal.config` and :mod:`terminal.enrolment` define:
the config (site, ids, server, devices, paths), the installed trust anchor (outside the data directory),
and the key, token and certificates in the data directory. It builds the core — trust store, revocation
cache, ledger, pending updates, catalogue, verifier, redemption service and the terminal facade — with
this terminal's own receipt key and, when certified, its PIN-reset key; and the syncer that talks to the
configured server with this terminal's token. An enrolled terminal gets its files from ``kartu enrol``;
the demo world (:mod:`terminal.demo`) writes the same files for its embedded centre and opens its
terminal here too. No key is chosen here: it is whatever the files hold.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine

from province.receipt_qr import QrPayloadError, ReceiptCert, ReceiptSigner
from terminal.app import KhbsTerminal, PinResetter, assemble_terminal
from terminal.card.errors import MalformedResponseError
from terminal.card.session import TerminalCert
from terminal.config import TerminalConfig
from terminal.db import make_engine
from terminal.enrolment import (
    TOKEN_FILE,
    EnrolmentError,
    TerminalSecrets,
    load_secrets,
    public_point,
    write_secret,
)
from terminal.pending import PendingUpdates
from terminal.redeem import Counter, ReceiptSink
from terminal.revocation import FreshnessPolicy, RevocationCache
from terminal.schema import migrate
from terminal.sync import SyncClient, Syncer, SyncStateStore
from terminal.syncloop import SyncLoop
from terminal.truststore import TrustAnchor, TrustStore

DB_FILE = "terminal.db"
#: Pull fresh status data when this share of the shortest freshness budget is left.
FRESHNESS_MARGIN = 0.25


@dataclass
class Station:
    config: TerminalConfig
    secrets: TerminalSecrets
    engine: Engine
    trust: TrustStore
    revocation: RevocationCache
    sync_state: SyncStateStore
    clock: Callable[[], float]
    receipt_signer: ReceiptSigner
    pin_resetter: PinResetter | None = None
    terminal: KhbsTerminal = field(init=False)  # the facade open_station assembles

    def assemble(
        self, receipts: ReceiptSink | None = None, clerk_id: str = "", clerk_name: str = ""
    ) -> KhbsTerminal:
        """Another terminal facade on this station's stores and keys (another receipt sink or clerk)."""
        return assemble_terminal(
            self.engine,
            trust=self.trust,
            revocation=self.revocation,
            sync_state=self.sync_state,
            counter=Counter(self.config.terminal_id, self.config.site, clerk_id, clerk_name),
            receipts=receipts,
            receipt_signer=self.receipt_signer,
            pin_resetter=self.pin_resetter,
            clock=self.clock,
        )

    @property
    def pending(self) -> PendingUpdates:
        pending = self.terminal.redemption.pending
        if pending is None:  # assemble_terminal always gives one
            raise StationError("this terminal has no pending-updates store")
        return pending

    def syncer(self, http: Any = None) -> Syncer:
        """One sync round's worth of parts against the configured server (``http``: a test client)."""
        return Syncer(
            SyncClient(self.config.server_url, self.secrets.token, http=http),
            trust=self.trust,
            revocation=self.revocation,
            ledger=self.terminal.ledger,
            catalogue=self.terminal.catalogue,
            pending=self.pending,
            state=self.sync_state,
            clock=self.clock,
            token_sink=self.keep_token,
        )

    def keep_token(self, token: str) -> None:
        """A renewed server token: written to the data directory (0600, atomically), then used."""
        write_secret(self.config.data_dir / TOKEN_FILE, token.encode("ascii"))
        self.secrets = replace(self.secrets, token=token)

    def sync_loop(self, http: Any = None) -> SyncLoop:
        """The background sync: the config's interval, the syncer's backoff, and never later than the
        revocation data's shortest freshness budget allows."""
        syncer = self.syncer(http)
        policy = FreshnessPolicy()

        def deadline() -> float | None:
            age = self.revocation.age(self.clock())
            if age is None:
                return 0.0  # no data at all: pull now
            # the strictest purpose (cash): a kiosk must never let its data age past what cash allows
            budget = min([policy.check_tap_max_age_s, *policy.program_max_age_s.values()])
            return budget * (1 - FRESHNESS_MARGIN) - age

        return SyncLoop(
            syncer.sync_once,
            interval_s=self.config.sync_interval_s,
            next_delay=syncer.next_delay,
            deadline=deadline,
            clock=self.clock,
        )

    def close(self) -> None:
        self.engine.dispose()


class StationError(Exception):
    """This terminal cannot start: not enrolled, a damaged or foreign key file, a bad certificate."""


def open_station(
    config: TerminalConfig,
    *,
    receipts: ReceiptSink | None = None,
    clerk_id: str = "",
    clerk_name: str = "",
    clock: Callable[[], float] = time.time,
) -> Station:
    """Build this terminal. Raises :class:`StationError` (or ``TrustAnchorError``) in words."""
    try:
        secrets = load_secrets(config.data_dir)
    except EnrolmentError as exc:
        raise StationError(str(exc)) from exc
    anchor = TrustAnchor.load(config.trust_anchor)
    try:
        receipt_cert = ReceiptCert.decode(secrets.receipt_cert)
        signer = ReceiptSigner(receipt_cert, secrets.key)
    except (QrPayloadError, ValueError) as exc:
        raise StationError(f"receipt certificate in {config.data_dir}: {exc}") from exc
    if receipt_cert.body.terminal_id != config.terminal_id.encode():
        raise StationError("the receipt certificate is for another terminal than the config names")
    resetter = None
    if secrets.pin_reset_cert is not None:
        try:
            cert = TerminalCert.decode(secrets.pin_reset_cert)
        except MalformedResponseError as exc:
            raise StationError(f"PIN-reset certificate in {config.data_dir}: {exc}") from exc
        if cert.body.public_key != public_point(secrets.key):
            raise StationError("the PIN-reset certificate is not for this terminal's key")
        resetter = PinResetter(cert, secrets.key)
    engine = make_engine(config.data_dir / DB_FILE)
    migrate(engine)  # the schema this release expects, from whatever release wrote the file
    trust = TrustStore(engine, anchor)
    revocation = RevocationCache(engine, trust)
    sync_state = SyncStateStore(engine)
    station = Station(config, secrets, engine, trust, revocation, sync_state, clock, signer, resetter)
    station.terminal = station.assemble(receipts, clerk_id, clerk_name)
    return station

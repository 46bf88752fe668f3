"""The terminal application facade: what a kiosk or counter UI (or the CLI) calls.

It composes the core services — verifier, ledger, redemption, catalogue, PIN reset — and keeps every
decision here, so UIs only adapt and render. All card methods take a KhbsSession for the card in the
reader; none touches a reader, a printer driver or Qt.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine

from card_applet_spec import constants as c
from card_applet_spec.credential import holder_commit, holder_ref, personal_details_digest
from card_applet_spec.records import TxRecord
from province.clock import WIB
from province.receipt_qr import ReceiptSigner
from terminal.card.connection import CardConnectionError
from terminal.card.errors import CardSessionError, MalformedResponseError
from terminal.card.session import KhbsSession, PersonalData, PinPurpose, PinStatus, TerminalCert
from terminal.catalogue import Catalogue, CatalogueItem, CatalogueKind, Interest
from terminal.clerks import ClerkEvent
from terminal.ledger import DayTotals, Entry, Ledger, ReconcileReport
from terminal.pending import PendingUpdates
from terminal.receipt import EndOfDayReport, build_report
from terminal.redeem import (
    Authorisation,
    Counter,
    ReceiptSink,
    Redemption,
    RedemptionError,
    RedemptionService,
)
from terminal.revocation import FreshnessPolicy, RevocationCache
from terminal.tap import TapResult
from terminal.verify import Reason, TrustSource, Verdict, Verifier, verify_der, verify_tx


class SyncState(Protocol):
    """Port: what the sync component knows (last successful sync)."""

    def last_sync(self) -> float | None: ...


class DataAge(Protocol):
    def age(self, now: float) -> float | None: ...


@dataclass(frozen=True)
class TerminalStatus:
    last_sync: float | None
    data_age_s: float | None
    uploads_pending: int
    receipts_pending: int


class PersonalDataMismatch(MalformedResponseError):
    """The card's personal data does not match the issuer-signed holder commitment."""


class NotTheCheckedCard(MalformedResponseError):
    """The card answering now did not prove to be the card the clerk checked (swap or relay)."""


class ResetNotAllowed(Exception):
    """The checked card's verdict is not VALID (revoked, suspended, expired, or not decidable now): a
    PIN reset would hand a card reported stolen to whoever knows the holder's NIK. ``reason`` is the
    verdict's reason."""

    def __init__(self, reason: Reason | None, verdict: Verdict) -> None:
        self.reason, self.verdict = reason, verdict
        super().__init__(f"no PIN reset for a card that is {verdict.name}({reason.value if reason else '-'})")


@dataclass(frozen=True)
class PinResetter:
    """This counter terminal's issuer certificate and private key (role PIN_RESET)."""

    cert: TerminalCert
    key: ec.EllipticCurvePrivateKey

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))


class KhbsTerminal:
    def __init__(
        self,
        redemption: RedemptionService,
        catalogue: Catalogue,
        *,
        revocation: DataAge | None = None,
        sync_state: SyncState | None = None,
        pin_resetter: PinResetter | None = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.redemption = redemption
        self.catalogue = catalogue
        self.revocation = revocation
        self.sync_state = sync_state
        self.pin_resetter = pin_resetter
        self.clock = clock
        self.rng = rng
        #: Called after something the server must hear about was recorded (a redemption, a void): the
        #: composition root points it at the background sync's "sync now".
        self.on_recorded: Callable[[], None] | None = None

    def _recorded(self) -> None:
        if self.on_recorded is not None:
            self.on_recorded()

    @property
    def ledger(self) -> Ledger:
        return self.redemption.ledger

    # -- citizen kiosk ---------------------------------------------------------------------------
    def tap(self, session: KhbsSession, program: int | None = None) -> TapResult:
        """Verify the card in the reader (settling any interrupted redemption of it first)."""
        result, _ = self.redemption.tap(session, program)
        return result

    def tap_and_settle(
        self, session: KhbsSession, program: int | None = None
    ) -> tuple[TapResult, ReconcileReport]:
        """As :meth:`tap`, also saying which interrupted redemptions of this card were settled and how."""
        return self.redemption.tap(session, program)

    def history(self, session: KhbsSession, tap: TapResult) -> list[TxRecord]:
        """The card's own signed log (newest first); records that fail verification are left out."""
        cred = tap.result.credential
        if cred is None or not tap.result.genuine:
            return []
        return [tx.record for tx in session.read_log() if verify_tx(cred, tx)]

    def personal_details(self, session: KhbsSession, tap: TapResult, pin: str) -> PersonalData:
        """After the holder's PIN: the PIN-protected data, checked against the signed holder reference."""
        cred = tap.result.credential
        if cred is None or not tap.result.genuine:
            raise PersonalDataMismatch("card not verified")
        # enciphered to the verified card key (SPEC §5.7); a PIN entered to read DF26 authorises no DEBIT:
        # the session drops the envelope's DEBIT key (§6.14), and the re-SELECT ends the card's verification
        session.verify_pin(pin, cred.claims.card_key, purpose=PinPurpose.READ_PERSONAL_DATA)
        try:
            data = session.read_personal_data()
        finally:
            with contextlib.suppress(CardSessionError, CardConnectionError):
                session.select()
        if data.holder_salt is None:
            raise PersonalDataMismatch("personal data on the card has no holder salt")
        # the commitment covers every field of DF26 (SPEC §4.4, §6.12): a relay rewriting one fails here
        details = personal_details_digest(data.nik, data.birth_date, data.sex, data.kk_number)
        commit = holder_commit(data.holder_salt, holder_ref(data.nik, cred.claims.card_serial), details)
        if not hmac.compare_digest(commit, cred.claims.holder_commit):
            raise PersonalDataMismatch("personal data on the card does not match its credential")
        return data

    def catalogue_for(self, kind: CatalogueKind, tap: TapResult) -> list[CatalogueItem]:
        cred = tap.result.credential
        return self.catalogue.for_region(kind, cred.claims.region) if cred else []

    def register_interest(self, tap: TapResult, item: CatalogueItem) -> Interest:
        cred = tap.result.credential
        if cred is None or not tap.result.genuine:
            raise PersonalDataMismatch("card not verified")
        return self.catalogue.register_interest(
            item,
            card_serial=cred.claims.card_serial,
            status_index=cred.claims.status_index,
            region=cred.claims.region,
            terminal_id=self.redemption.counter.terminal_id,
        )

    # -- clerk counter ---------------------------------------------------------------------------
    def login(self, clerk_id: str, clerk_name: str = "") -> None:
        """The clerk now at this counter: every later redemption, void and failure carries their id."""
        self.redemption.counter = replace(self.redemption.counter, clerk_id=clerk_id, clerk_name=clerk_name)

    @property
    def counter(self) -> Counter:
        return self.redemption.counter

    def redeem(self, session: KhbsSession, program: int, amount: int, pin: str) -> Redemption:
        try:
            return self.redemption.redeem(session, program, amount, pin)
        finally:  # refused or done, something was recorded (a redemption or a failure) for the server
            self._recorded()

    def authorise_redemption(
        self, session: KhbsSession, program: int, amount: int, pin: str
    ) -> Authorisation:
        """The counter's first half: the card checked and the holder's PIN verified before the clerk
        confirms (a wrong PIN is refused here); :meth:`complete_redemption` sends the DEBIT."""
        try:
            return self.redemption.authorise(session, program, amount, pin)
        except RedemptionError:
            self._recorded()  # a refusal was recorded for the server
            raise

    def complete_redemption(self, authorised: Authorisation) -> Redemption:
        try:
            return self.redemption.complete(authorised)
        finally:
            self._recorded()

    def cancel_redemption(self) -> None:
        """The clerk cancelled after the holder's PIN: no DEBIT may follow that VERIFY."""
        self.redemption.release()

    def record_clerk_event(self, event: ClerkEvent, clerk_id: str, detail: str = "") -> None:
        """A clerk security event (a lockout, an idle logout), recorded with the failures for the centre."""
        self.ledger.record_failure(
            event.value, detail, terminal_id=self.counter.terminal_id, clerk_id=clerk_id[:64] or None
        )
        self._recorded()

    def pin_status(self, session: KhbsSession) -> PinStatus:
        session.select()
        return session.pin_status()

    def reset_pin(self, session: KhbsSession, tap: TapResult, nik: str, new_pin: str) -> None:
        """Issuer-authorised PIN reset, bound to the card the clerk checked (SPEC §5.9, §9.5).

        ``tap`` is this card's check tap (its credential verified); ``nik`` the NIK the clerk typed from
        the holder's e-KTP. In the same card session, with no SELECT in between: INTERNAL AUTHENTICATE
        with a fresh challenge, its answer verified with the tap's card key and serial, then RESET RETRY
        COUNTER consuming that answer's card nonce, with the new PIN and holder_ref(NIK) enciphered to
        that key. A relay or a swapped card fails here or on the card (6300, 6A80, 6984).
        Raises ValueError for a NIK that is not 16 digits (nothing sent).
        """
        if self.pin_resetter is None:
            raise PermissionError("this terminal is not certified to reset PINs")
        cred = tap.result.credential
        if cred is None or not tap.result.genuine:
            raise NotTheCheckedCard("card not verified")
        if tap.result.verdict is not Verdict.VALID:  # revoked, suspended, expired, or stale data
            raise ResetNotAllowed(tap.result.reason, tap.result.verdict)
        reference = holder_ref(nik, cred.claims.card_serial)  # scrypt first: the reset follows the IA
        auth = session.authenticate(self.rng(c.CHALLENGE_LEN))
        if auth.body.card_serial != cred.claims.card_serial or not verify_der(
            cred.claims.card_key, auth.signature, auth.signed_message()
        ):
            raise NotTheCheckedCard("the card in the reader is not the card that was checked")
        session.reset_pin(
            self.pin_resetter.cert,
            self.pin_resetter.sign,
            new_pin,
            auth=auth,
            card_key=cred.claims.card_key,
            holder_reference=reference,
        )

    def reprint(self, entry_id: str) -> tuple[bool, str | None]:
        """A numbered copy, recorded with time and clerk; a voided entry's copy says DIBATALKAN."""
        return self.redemption.reprint(entry_id)

    def void(self, entry_id: str, reason: str) -> str:
        """Void (signed by this terminal) and print the void slip; a slip that does not print is
        recorded as a receipt failure (``void_slip`` gives the result)."""
        vid, _, _ = self.void_slip(entry_id, reason)
        return vid

    def void_slip(self, entry_id: str, reason: str) -> tuple[str, bool, str | None]:
        """As :meth:`void`, returning (void id, slip printed, printer error)."""
        try:
            return self.redemption.void(entry_id, reason)
        finally:
            self._recorded()

    def recent(self, limit: int = 50) -> list[Entry]:
        return self.ledger.entries(limit)

    def end_of_day(self, day: dt.date | None = None) -> DayTotals:
        day = day or dt.datetime.fromtimestamp(self.clock(), WIB).date()
        return self.ledger.day_totals(day, WIB)

    def end_of_day_report(self, day: dt.date | None = None) -> EndOfDayReport:
        """The end-of-day report as it is shown and printed: totals per program (gross, voided, net),
        the voids and reprints with their references, refusals by reason."""
        totals = self.end_of_day(day)
        return build_report(
            day=totals.date,
            site=self.counter.site,
            terminal_id=self.counter.terminal_id,
            printed_at=dt.datetime.fromtimestamp(self.clock(), WIB),
            per_program=totals.per_program,
            refusals=totals.refusals,
            clerk=self.counter.clerk_name or self.counter.clerk_id,
            voids=totals.voids,
            receipts_pending=len(self.ledger.receipts_pending()),
            gross=totals.gross,
            voided=totals.voided,
            void_lines=totals.void_lines,
            reprint_lines=totals.reprint_lines,
        )

    def status(self) -> TerminalStatus:
        now = self.clock()
        return TerminalStatus(
            last_sync=self.sync_state.last_sync() if self.sync_state else None,
            data_age_s=self.revocation.age(now) if self.revocation else None,
            uploads_pending=self.ledger.pending_upload_count() + len(self.catalogue.unsynced_interests()),
            receipts_pending=len(self.ledger.receipts_pending()),
        )


def assemble_terminal(
    engine: Engine,
    *,
    trust: TrustSource,
    revocation: RevocationCache,
    sync_state: SyncState,
    counter: Counter,
    receipts: ReceiptSink | None,
    receipt_signer: ReceiptSigner | None,
    pin_resetter: PinResetter | None,
    clock: Callable[[], float] = time.time,
) -> KhbsTerminal:
    """The core of one terminal on its database — verifier (trust list and revocation data read live at
    every tap), ledger, pending updates, catalogue, redemption service and the facade. The demo world and
    an enrolled terminal (``terminal.station``) differ only in what they pass here."""
    verifier = Verifier(trust, revocation, FreshnessPolicy())
    service = RedemptionService(
        Ledger(engine, clock=clock),
        verifier,
        counter,
        receipts,
        clock=clock,
        pending=PendingUpdates(engine, clock=clock),
        receipt_signer=receipt_signer,
    )
    return KhbsTerminal(
        service,
        Catalogue(engine, clock=clock),
        revocation=revocation,
        sync_state=sync_state,
        pin_resetter=pin_resetter,
        clock=clock,
    )

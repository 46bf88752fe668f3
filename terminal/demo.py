"""The embedded demo world: a provincial issuer in miniature, demo cards, and a working counter.

Everything a real deployment gets from the centre is made here from fixed seeds: the root key, the
issuer key, the status-list key; a signed trust list; a signed revocation snapshot (one demo card
revoked) refreshed by a signed delta at every start, as a sync would; demo card files ("carried"
between runs) and catalogues. Nothing here is used outside the demo and the tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from card_applet_spec import constants as c
from card_applet_spec.credential import compressed_point
from card_applet_spec.issuer import IssuerSigner, key_from_seed, uncompressed_point
from card_applet_spec.records import ReceiptCertBody, TerminalCertBody
from card_applet_spec.reference_card import CardTorn, FileStore, ReferenceCard
from card_applet_spec.reference_card.state import StateFileError
from province.issuance import GrantSpec, Holder
from province.receipt_qr import ReceiptCert
from province.statuslist import CardStatus, build_delta, build_snapshot, new_status_list, set_status
from province.trust import (
    IssuerKeyEntry,
    StatusListKey,
    TerminalEntry,
    TrustList,
    TrustListError,
    sign_trust_list,
)
from terminal.app import KhbsTerminal
from terminal.card.connection import InProcessConnection
from terminal.card.session import KhbsSession, TerminalCert
from terminal.catalogue import Catalogue, CatalogueItem, CatalogueKind
from terminal.config import TerminalConfig, load_config, write_config
from terminal.enrolment import KEY_FILE, TerminalSecrets, save_secrets
from terminal.ledger import Entry
from terminal.personalise import personalise
from terminal.receipt import PrinterError, ReceiptPrinter, receipt_from_entry, render_receipt_lines
from terminal.redeem import PrintFailed, ReceiptSink
from terminal.station import open_station
from terminal.truststore import ANCHOR_FILE_NAME, TrustAnchor

DAY = 86_400
#: The embedded centre re-signs the trust list when it is older than this (as the server does daily).
TRUST_REFRESH_S = DAY
LIST_ID = "khbs-demo"
LIST_SIZE = 4096
DEMO_PIN = "123456"
TERMINAL_ID = "T6271001"
SITE = "Kantor Kelurahan Langkai, Palangka Raya"

ROOT = key_from_seed("KHBS demo root")
ISSUER = IssuerSigner(key_from_seed("KHBS demo issuer 2026"))
STATUS_KEY = key_from_seed("KHBS demo status list")
TERMINAL_KEY = key_from_seed("KHBS demo counter T6271001")


@dataclass(frozen=True)
class DemoCard:
    name: str
    label: str  # shown on the demo panel
    holder: Holder
    serial: int
    grants: Callable[[int], list[GrantSpec]]
    revoked: bool = False
    expired: bool = False
    clone_of: str | None = None

    @property
    def serial_bytes(self) -> bytes:
        return (0x6271000000000000 + self.serial).to_bytes(8, "big")


def _month(now: int) -> int:
    return now + 30 * DAY


def _cash(now: int) -> list[GrantSpec]:
    return [
        GrantSpec(c.Program.BLT, 600_000, now - DAY, _month(now)),
        GrantSpec(c.Program.SEMBAKO, 10_000, now - DAY, _month(now)),
        GrantSpec(c.Program.KESEHATAN, c.UNLIMITED, now - DAY, now + 365 * DAY),
        GrantSpec(c.Program.PENDIDIKAN, c.UNLIMITED, now - DAY, now + 365 * DAY),
        GrantSpec(c.Program.LAPANGAN_KERJA, c.GrantStatus.ELIGIBLE, now - DAY, now + 365 * DAY),
        GrantSpec(c.Program.PELATIHAN, c.GrantStatus.ELIGIBLE, now - DAY, now + 365 * DAY),
    ]


def _farmer(now: int) -> list[GrantSpec]:
    return [
        GrantSpec(c.Program.MODAL_TANI_NELAYAN, 2_500_000, now - DAY, now + 90 * DAY),
        GrantSpec(c.Program.SEMBAKO, 15_000, now - DAY, _month(now)),
        GrantSpec(c.Program.KESEHATAN, c.UNLIMITED, now - DAY, now + 365 * DAY),
        GrantSpec(c.Program.PELATIHAN, c.GrantStatus.REGISTERED, now - DAY, now + 365 * DAY),
    ]


def _teacher(now: int) -> list[GrantSpec]:
    return [
        GrantSpec(c.Program.PERUMAHAN_GURU, c.GrantStatus.ELIGIBLE, now - DAY, now + 365 * DAY),
        GrantSpec(c.Program.KESEHATAN, c.UNLIMITED, now - DAY, now + 365 * DAY),
        GrantSpec(c.Program.PELATIHAN, c.GrantStatus.ELIGIBLE, now - DAY, now + 365 * DAY),
    ]


DEMO_CARDS: tuple[DemoCard, ...] = (
    DemoCard(
        "siti",
        "Siti — BLT & sembako",
        Holder("6271034512870001", "Siti Rahmawati", "6271030101090001"),
        1,
        _cash,
    ),
    DemoCard(
        "darto",
        "Darto — petani / farmer",
        Holder("6211011204750004", "Sudarto", "6211010505050004"),
        2,
        _farmer,
    ),
    DemoCard(
        "maria",
        "Maria — guru / teacher",
        Holder("6202016309880002", "Maria Ulfah", "6202010707120002"),
        3,
        _teacher,
    ),
    DemoCard(
        "agus",
        "Agus — dicabut / revoked",
        Holder("6203020305900005", "Agus Salim", "6203020909140005"),
        4,
        _cash,
        revoked=True,
    ),
    DemoCard(
        "rahmat",
        "Rahmat — kedaluwarsa / expired",
        Holder("6271021111600006", "Rahmat Hidayat", "6271020202020006"),
        5,
        _cash,
        expired=True,
    ),
    DemoCard(
        "klon",
        "Kartu klon / cloned card",
        Holder("6271034512870001", "Siti Rahmawati"),
        6,
        _cash,
        clone_of="siti",
    ),
)


def demo_catalogue() -> list[CatalogueItem]:
    J, T, H = CatalogueKind.JOBS, CatalogueKind.TRAINING, CatalogueKind.HOUSING
    return [
        CatalogueItem(
            J,
            "job-6271-01",
            6271,
            "Operator produksi rotan",
            "CV Rotan Kalteng",
            "Palangka Raya",
            "Lulusan SMA/SMK, pelatihan disediakan.",
            None,
            12,
        ),
        CatalogueItem(
            J,
            "job-6271-02",
            6271,
            "Petugas kebersihan taman kota",
            "DLH Kota Palangka Raya",
            "Palangka Raya",
            "Kontrak 12 bulan.",
            None,
            20,
        ),
        CatalogueItem(
            J,
            "job-6211-01",
            6211,
            "Pendamping kelompok tani",
            "Dinas Pertanian Pulang Pisau",
            "Pulang Pisau",
            "Pengalaman bertani diutamakan.",
            None,
            5,
        ),
        CatalogueItem(
            T,
            "trn-0-01",
            0,
            "Pelatihan menjahit dasar",
            "Dinas Tenaga Kerja Prov. Kalteng",
            "BLK Palangka Raya",
            "20 hari, gratis, uang transport.",
            None,
            30,
        ),
        CatalogueItem(
            T,
            "trn-6271-01",
            6271,
            "Wirausaha kuliner lokal",
            "Dinas Koperasi & UKM",
            "Palangka Raya",
            "Modal awal untuk lulusan terbaik.",
            None,
            25,
        ),
        CatalogueItem(
            T,
            "trn-6211-01",
            6211,
            "Budidaya ikan keramba",
            "Dinas Perikanan",
            "Pulang Pisau",
            "Untuk nelayan dan keluarga.",
            None,
            15,
        ),
        CatalogueItem(
            H,
            "hou-6202-01",
            6202,
            "Rumah guru Sampit (tipe 36)",
            "Dinas Pendidikan Prov. Kalteng",
            "Sampit",
            "Untuk guru honorer dan PNS di daerah terpencil.",
            None,
            10,
        ),
        CatalogueItem(
            H,
            "hou-0-01",
            0,
            "Rumah guru terpencil (tipe 36)",
            "Dinas Pendidikan Prov. Kalteng",
            "Seluruh Kalteng",
            "Prioritas guru di desa terpencil.",
            None,
            40,
        ),
    ]


def _session(card: ReferenceCard) -> KhbsSession:
    return KhbsSession(InProcessConnection(card, (CardTorn,)))


class DemoReceipts:
    """The demo's receipt printer: a plain-text preview per receipt, and the ESC/POS bytes when a
    printer factory is given (the composition root passes a file printer from drivers/)."""

    def __init__(
        self, directory: Path, printer_factory: Callable[[Path], ReceiptPrinter] | None = None
    ) -> None:
        self.directory = directory
        self.printer_factory = printer_factory
        self.last_preview: list[str] = []

    def print_entry(self, entry: Entry, *, copy: bool = False) -> None:
        receipt = receipt_from_entry(entry, copy=copy)  # the clerk recorded with the entry
        name = f"{entry.id}{'-salinan' if copy else ''}"
        self.last_preview = render_receipt_lines(receipt)
        (self.directory / f"{name}.txt").write_text("\n".join(self.last_preview) + "\n", encoding="utf-8")
        if self.printer_factory is not None:
            try:
                self.printer_factory(self.directory / f"{name}.escpos").print_receipt(receipt)
            except PrinterError as err:
                raise PrintFailed(err.code, str(err)) from err


class _DemoCardFile(ReferenceCard):
    """A reference card whose file may still be being written by the demo's card issuer."""

    def __init__(self, store: FileStore, ready: threading.Event) -> None:
        self._ready = ready
        self._current = ready.is_set()  # loaded after issuance: the state is the issued one
        super().__init__(store)

    def _catch_up(self) -> None:
        if not self._current:
            self._ready.wait(30)
            self._current = True
            super().reset()  # re-read the file the issuer has written meanwhile

    def reset(self) -> None:
        self._current = self._ready.wait(30)  # powered up: from its issued file
        super().reset()

    def transmit(self, apdu: bytes) -> bytes:
        self._catch_up()
        return super().transmit(apdu)


DEMO_TOKEN = "demo-terminal-token-T6271001"
#: Where the demo terminal would sync: the demo has no server (its embedded centre publishes locally).
DEMO_SERVER_URL = "http://127.0.0.1:8000"
CONFIG_FILE = "kartu.toml"


class DemoWorld:
    """The demo's directory: an embedded centre that provisions one terminal exactly as enrolment does
    (config file, trust anchor outside the data directory, key, token and certificates in it), then
    opens that terminal the one way every terminal opens (:func:`terminal.station.open_station`).

    Layout of ``workdir``: ``kartu.toml``, ``trust-anchor.pem``, ``data/`` (terminal.db and the
    enrolment files), ``cards/`` (the demo cards), ``receipts/``.
    """

    def __init__(self, workdir: Path, clock: Callable[[], float] = time.time) -> None:
        self.workdir = Path(workdir)
        self.clock = clock
        self.data_dir = self.workdir / "data"
        self.cards_dir = self.workdir / "cards"
        self.receipts_dir = self.workdir / "receipts"
        for d in (self.workdir, self.data_dir, self.cards_dir, self.receipts_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / CONFIG_FILE
        self.config = self._enrol()
        # the world's clock as it is at each call (tests move it)
        self.station = open_station(self.config, clock=lambda: self.clock(), clerk_name="Petugas Demo")
        self.engine = self.station.engine
        self.trust = self.station.trust
        self.revocation = self.station.revocation
        self.sync_state = self.station.sync_state
        self._cards_ready = threading.Event()
        self._cards_ready.set()

    def _enrol(self) -> TerminalConfig:
        """What ``kartu enrol`` writes, made by the embedded centre: the root of trust installed next to
        (never inside) the data directory, the terminal's key, token and certificates, the config.
        The anchor and the enrolment files already there are kept (an anchor is never replaced); the
        config is written anew, for this directory."""
        anchor_path = self.workdir / ANCHOR_FILE_NAME
        if not anchor_path.exists():
            TrustAnchor(ROOT.public_key()).install(anchor_path)
        if not (self.data_dir / KEY_FILE).exists():
            point = uncompressed_point(TERMINAL_KEY.public_key())
            reset_body = TerminalCertBody(TERMINAL_ID.encode(), c.TerminalRole.PIN_RESET, 2**32 - 1, point)
            signed = ISSUER.terminal_cert(reset_body)
            receipt_body = ReceiptCertBody(
                TERMINAL_ID.encode(), 0, 2**32 - 1, compressed_point(TERMINAL_KEY.public_key())
            )
            save_secrets(
                self.data_dir,
                TerminalSecrets(
                    key=TERMINAL_KEY,
                    token=DEMO_TOKEN,
                    receipt_cert=ReceiptCert.issue(receipt_body, ISSUER.kid, ISSUER.sign).encode(),
                    pin_reset_cert=TerminalCert(reset_body, signed.kid, signed.signature).encode(),
                ),
            )
        config = TerminalConfig(  # rewritten at every start: the directory may have been moved or copied
            terminal_id=TERMINAL_ID,
            site=SITE,
            region=6271,
            server_url=DEMO_SERVER_URL,
            data_dir=self.data_dir.resolve(),
            trust_anchor=anchor_path.resolve(),
        )
        write_config(config, self.config_path)
        return load_config(self.config_path)

    # -- provisioning ---------------------------------------------------------------------------
    def trust_list(self, now: int, seq: int = 1) -> TrustList:
        return TrustList(
            seq=seq,
            issued_at=now,
            issuers=(IssuerKeyEntry(ISSUER.kid, ISSUER.point, 0, 2**32 - 1, 2**32 - 1),),
            status_keys=(StatusListKey.of(STATUS_KEY.public_key()),),
            terminals=(
                TerminalEntry(
                    TERMINAL_ID,
                    uncompressed_point(TERMINAL_KEY.public_key()),
                    c.TerminalRole.PIN_RESET,
                    SITE,
                    6271,
                ),
            ),
        )

    def provision(self, *, cards_in_background: bool = False) -> None:
        """Make whatever is missing, and refresh the revocation data (as a sync would).

        ``cards_in_background``: issue missing demo cards on a thread (the kiosk shows its first screen
        meanwhile; a demo card tapped before its file exists waits for it).
        """
        now = int(self.clock())
        try:
            current = self.trust.current()
        except TrustListError:  # damaged or planted: the embedded centre publishes a fresh one
            current = None
        if current is None or current.issued_at + TRUST_REFRESH_S < now:
            trust_seq = max(now, current.seq + 1 if current is not None else 1)
            self.trust.update(sign_trust_list(self.trust_list(now, trust_seq), ROOT), fetched_at=now)
        statuses = new_status_list(LIST_SIZE)
        for card in DEMO_CARDS:
            if card.revoked:
                set_status(statuses, card.serial, CardStatus.REVOKED)
        seq = self.revocation.seq
        if seq is None:
            raw = build_snapshot(statuses, 1, issued_at=now, list_id=LIST_ID, key=STATUS_KEY, size=LIST_SIZE)
            self.revocation.apply_snapshot(raw, fetched_at=now)
        elif (self.revocation.issued_at or 0) < now:
            delta = build_delta({}, seq, size=LIST_SIZE, issued_at=now, list_id=LIST_ID, key=STATUS_KEY)
            self.revocation.apply_delta(delta, fetched_at=now)
        self.sync_state.record("demo_publisher", now, None)  # the embedded "centre" counts as a sync
        catalogue = Catalogue(self.engine)
        for kind in CatalogueKind:
            if catalogue.version(kind) is None:
                catalogue.replace(kind, 1, [i for i in demo_catalogue() if i.kind is kind])
        missing = [card for card in DEMO_CARDS if self._needs_issue(card)]
        if not missing:
            return
        if not cards_in_background:
            self._issue_all(missing, now)
            return
        self._cards_ready.clear()
        threading.Thread(target=self._issue_all, args=(missing, now), name="demo-cards", daemon=True).start()

    def _issue_all(self, cards: list[DemoCard], now: int) -> None:
        try:
            for card in cards:  # in DEMO_CARDS order: a clone's original comes first
                self._issue(card, now)
        finally:
            self._cards_ready.set()

    def _needs_issue(self, card: DemoCard) -> bool:
        """No card file yet, or one an older applet wrote (no holder reference, SPEC §5.5): issue anew."""
        path = self.card_path(card.name)
        if not path.exists():
            return True
        try:
            state = FileStore(path).load()
        except StateFileError:
            state = None
        if state is not None and state.holder_ref:
            return False
        path.unlink(missing_ok=True)
        return True

    def card_path(self, name: str) -> Path:
        return self.cards_dir / f"{name}.card"

    def card(self, name: str) -> ReferenceCard:
        """A demo card as the panel taps it: powering it up waits until its file is issued."""
        return _DemoCardFile(FileStore(self.card_path(name)), self._cards_ready)

    def _plain_card(self, name: str) -> ReferenceCard:
        return ReferenceCard(FileStore(self.card_path(name)))

    def _issue(self, card: DemoCard, now: int) -> None:
        issued_at = now - (800 * DAY if card.expired else 10 * DAY)
        expires_at = now - DAY if card.expired else now + 5 * 365 * DAY
        if card.clone_of is not None:
            original = self._plain_card(card.clone_of).state
            clone = self._plain_card(card.name)
            s = _session(clone)
            s.select()
            s.generate_key()  # its own key: the copied credential names another card's key
            s.put_data(c.DO_CARD_SERIAL, original.serial)
            s.put_issuer_key(ISSUER.kid, ISSUER.point)
            s.put_data(c.DO_CREDENTIAL, original.credential)
            s.put_data(c.DO_HOLDER_REF, bytes(c.HOLDER_REF_LEN))  # write-only on the original: unknown
            s.set_initial_pin(DEMO_PIN)
            s.activate()
            return
        personalise(
            _session(self._plain_card(card.name)),
            serial=card.serial_bytes,
            holder=card.holder,
            pin=DEMO_PIN,
            issuer=ISSUER,
            status_index=card.serial,
            issued_at=issued_at,
            expires_at=expires_at,
            grants=card.grants(now),
        )

    # -- the counter ----------------------------------------------------------------------------
    def terminal(self, receipts: ReceiptSink | None = None, clerk_id: str = "demo-clerk") -> KhbsTerminal:
        """The demo terminal (the station's stores and keys) with this receipt sink and clerk."""
        return self.station.assemble(receipts, clerk_id, "Petugas Demo")

"""A small test world: a fixed issuer, personalised reference cards, and simple port implementations.

The ports (issuer keys, statuses, freshness) are plain in-memory implementations for unit tests of the
verifier and the redemption flow; the SQLite-backed trust store and revocation cache have their own
tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.credential import compressed_point, decode_credential
from card_applet_spec.issuer import IssuerSigner, key_from_seed
from card_applet_spec.records import ReceiptCertBody
from card_applet_spec.reference_card import CardTorn, FileStore, MemoryStore, ReferenceCard
from province.issuance import GrantSpec, Holder, IssuedCard
from province.receipt_qr import ReceiptCert, ReceiptSigner
from terminal.card.connection import InProcessConnection
from terminal.card.session import KhbsSession
from terminal.personalise import personalise
from terminal.verify import FixedTrust, IssuerKey, Verifier

NOW = 1_798_761_600  # 2027-01-01T00:00:00Z
DAY = 86_400
PIN = "246810"
ISSUER = IssuerSigner(key_from_seed("KHBS test issuer 1"))
ROGUE = IssuerSigner(key_from_seed("KHBS rogue issuer"))
RECEIPT_KEY = key_from_seed("KHBS test receipts T6271001")


def receipt_signer(
    terminal_id: str = "T6271001",
    *,
    valid_from: int = 0,
    valid_until: int = 2**32 - 1,
    issuer: IssuerSigner = ISSUER,
    key: ec.EllipticCurvePrivateKey = RECEIPT_KEY,
) -> ReceiptSigner:
    """A counter terminal's receipt-signing key certified by ``issuer`` (every counter in tests has one)."""
    body = ReceiptCertBody(terminal_id.encode(), valid_from, valid_until, compressed_point(key.public_key()))
    return ReceiptSigner(ReceiptCert.issue(body, issuer.kid, issuer.sign), key)


HOLDERS = {
    "siti": Holder("6271034512870001", "Siti Rahmawati", "6271030101090001"),
    "budi": Holder("6203021505800002", "Budi Santoso", "6203020202100002"),
    "yohana": Holder("6210015708920003", "Yohana Dewi", "6210010303110003"),
}


def standard_grants(now: int = NOW) -> list[GrantSpec]:
    month = now + 30 * DAY
    return [
        GrantSpec(c.Program.BLT, 600_000, now - DAY, month),
        GrantSpec(c.Program.SEMBAKO, 10_000, now - DAY, month),  # 10 kg rice, in grams
        GrantSpec(c.Program.KESEHATAN, c.UNLIMITED, now - DAY, now + 365 * DAY),
        GrantSpec(c.Program.PELATIHAN, c.GrantStatus.ELIGIBLE, now - DAY, now + 365 * DAY),
    ]


@dataclass
class StaticIssuers:
    keys: dict[bytes, IssuerKey] = field(default_factory=dict)
    issued_at: int = NOW - 3600  # when the root signed this (pretend) trust list

    def issuer(self, kid: bytes) -> IssuerKey | None:
        return self.keys.get(kid)

    @classmethod
    def of(
        cls, *signers: IssuerSigner, issue_from: int = 0, issue_until: int = 2**32, verify_until: int = 2**32
    ) -> StaticIssuers:
        return cls(
            {s.kid: IssuerKey(s.key.public_key(), issue_from, issue_until, verify_until) for s in signers}
        )


@dataclass
class StaticStatuses:
    statuses: dict[int, int] = field(default_factory=dict)
    issued_at: float | None = NOW - 3600
    size: int = 1_000_000

    def refresh(self) -> None:
        return None

    def status(self, index: int) -> int:
        return self.statuses.get(index, 0)

    def age(self, now: float) -> float | None:
        return None if self.issued_at is None else now - self.issued_at

    def covers(self, index: int) -> bool:
        return 0 <= index < self.size


@dataclass
class StaticFreshness:
    default_s: float = 7 * DAY
    per_program: dict[int, float] = field(
        default_factory=lambda: {
            c.Program.BLT: DAY,
            c.Program.MODAL_TANI_NELAYAN: DAY,
            c.Program.SEMBAKO: 2 * DAY,
        }
    )

    def max_age_s(self, program: int | None) -> float:
        return self.per_program.get(program, self.default_s) if program is not None else self.default_s

    def trust_list_max_age_s(self, program: int | None) -> float:
        return 30 * DAY


def verifier(statuses: StaticStatuses | None = None, issuers: StaticIssuers | None = None) -> Verifier:
    return Verifier(
        FixedTrust(issuers if issuers is not None else StaticIssuers.of(ISSUER)),
        statuses if statuses is not None else StaticStatuses(),
        StaticFreshness(),
    )


def card_key(session: KhbsSession) -> bytes:
    """The key of the credential the card in ``session`` presents (for tests that enter a PIN as the
    holder or a thief would, without a terminal's verification in between)."""
    return decode_credential(session.read_credential()).claims.card_key


def connect(card: ReferenceCard) -> KhbsSession:
    return KhbsSession(InProcessConnection(card, (CardTorn,)))


def make_card(
    holder: str = "siti",
    *,
    serial: int = 1,
    status_index: int | None = None,
    grants: Sequence[GrantSpec] | None = None,
    issuer: IssuerSigner = ISSUER,
    path: Path | None = None,
    issued_at: int = NOW - 10 * DAY,
    expires_at: int = NOW + 5 * 365 * DAY,
) -> tuple[ReferenceCard, IssuedCard]:
    store = FileStore(path) if path is not None else MemoryStore()
    card = ReferenceCard(store)
    issued = personalise(
        connect(card),
        serial=(0x6200000000000000 + serial).to_bytes(8, "big"),
        holder=HOLDERS[holder],
        pin=PIN,
        issuer=issuer,
        status_index=status_index if status_index is not None else serial,
        issued_at=issued_at,
        expires_at=expires_at,
        grants=standard_grants() if grants is None else grants,
    )
    card.reset()
    return card, issued

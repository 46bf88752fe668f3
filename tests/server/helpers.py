"""Card and record helpers for the server tests (reference cards, signed records, upload bodies)."""

from __future__ import annotations

import base64
import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.records import TxRecord
from card_applet_spec.reference_card import ReferenceCard
from terminal.card.connection import InProcessConnection
from terminal.card.session import KhbsSession, SignedTx
from tests.support.world import card_key

PIN = "123456"
_nonces = itertools.count(1)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def rid(record: bytes) -> str:
    return hashlib.sha256(record).hexdigest()[:32]


@dataclass
class CardUnderTest:
    """A reference card on an in-process connection, with its transaction counter."""

    card: ReferenceCard
    connection: InProcessConnection
    counter: int = 0
    serial: str = ""
    txs: list[SignedTx] = field(default_factory=list)

    @classmethod
    def blank(cls, seed: int = 1) -> CardUnderTest:
        counter = itertools.count(1)
        card = ReferenceCard(rng=lambda n: (seed * 1_000_003 + next(counter)).to_bytes(n, "big"))
        return cls(card, InProcessConnection(card))

    def session(self) -> KhbsSession:
        self.connection = InProcessConnection(self.card)
        session = KhbsSession(self.connection)
        session.select()
        return session

    def debit(self, program: int, amount: int, *, terminal: str = "T6271001", when: int) -> SignedTx:
        session = self.session()
        session.verify_pin(PIN, card_key(session))
        tx = session.debit(
            program=program,
            amount=amount,
            terminal_id=terminal.encode(),
            nonce=next(_nonces).to_bytes(8, "big"),
            terminal_time=when,
            expected_counter=self.counter,
        )
        self.counter += 1
        self.txs.append(tx)
        return tx


def upload_item(tx: SignedTx, **extra: Any) -> dict[str, Any]:
    record = tx.record
    return {
        "record_id": rid(tx.record_bytes),
        "record": b64(tx.record_bytes),
        "signature": b64(tx.signature),
        "card_serial": record.card_serial.hex(),
        "terminal_id": record.terminal_id.decode(),
        "ledger_id": f"L-{rid(tx.record_bytes)[:8]}",
        **extra,
    }


def forge(
    key: ec.EllipticCurvePrivateKey,
    *,
    serial: bytes,
    counter: int,
    amount: int,
    when: int,
    program: int = c.Program.BLT,
    terminal: str = "T6271001",
    nonce: int = 0,
    balance_after: int = 0,
    grant_seq: int = 1,
    tx_type: int = c.TxType.DEBIT,
) -> dict[str, Any]:
    """A record signed by ``key`` (a clone of a card that knows its key, or a forger)."""
    rec = TxRecord(
        tx_type=tx_type,
        card_serial=serial,
        tx_counter=counter,
        program=program,
        grant_seq=grant_seq,
        amount=amount,
        balance_after=balance_after,
        terminal_id=terminal.encode(),
        terminal_nonce=nonce.to_bytes(8, "big"),
        terminal_time=when,
    )
    body = rec.encode()
    signature = key.sign(rec.signed_message(), ec.ECDSA(hashes.SHA256()))
    return {
        "record_id": rid(body),
        "record": b64(body),
        "signature": b64(signature),
        "card_serial": serial.hex(),
        "terminal_id": terminal,
    }

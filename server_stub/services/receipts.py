"""Receipt verification: a scanned receipt QR (``province.receipt_qr``) checked against the issuer keys
(with their windows) and against what terminals have uploaded. The answer carries no personal data.

A receipt the server holds (a terminal uploaded its record) is ``valid`` or ``voided`` as the server
knows it. One it does not hold yet is ``not_uploaded`` only when its issuing terminal's certified
signature verifies; a card-signed record without it (made with a home reader, or the old format) is
``invalid`` with the terminal reason — the server cannot tell it from a counter receipt otherwise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from card_applet_spec.records import record_id
from province.receipt_qr import (
    MALFORMED,
    QrPayloadError,
    ReceiptKind,
    decode_qr_payload,
    verify_card_part,
    verify_terminal_part,
)
from server_stub.models import Card, IssuerKey, Redemption
from server_stub.services.context import Ctx

#: What a receipt check concludes.
VerdictKind = Literal["valid", "not_uploaded", "voided", "conflict", "invalid", "malformed"]


@dataclass(frozen=True)
class Verdict:
    verdict: VerdictKind
    reason: str | None
    message: str
    record: dict[str, Any] | None


@dataclass(frozen=True)
class _Key:
    public_key: ec.EllipticCurvePublicKey


class _IssuerWindows:
    """The server's issuer keys with their windows (``issuer_for`` as ``province.trust.TrustList``)."""

    def __init__(self, keys: list[IssuerKey]) -> None:
        self.keys = {bytes.fromhex(k.kid): k for k in keys}

    def issuer_for(self, kid: bytes, issued_at: int, now: float) -> _Key | None:
        k = self.keys.get(kid)
        if k is None or issued_at < k.issue_from:
            return None
        if (k.issue_until is not None and issued_at > k.issue_until) or (
            k.verify_until is not None and now > k.verify_until
        ):
            return None
        return _Key(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), k.point))


def verify_receipt(ctx: Ctx, payload: str, now: float | None = None) -> Verdict:
    moment = time.time() if now is None else now
    issuers = _IssuerWindows(list(ctx.session.scalars(select(IssuerKey))))
    try:
        decoded = decode_qr_payload(payload)
        receipt = verify_card_part(decoded, issuers, moment)
    except QrPayloadError as err:
        kind: VerdictKind = "malformed" if err.reason in MALFORMED else "invalid"
        return Verdict(kind, err.reason.value, str(err), None)
    terminal_error: QrPayloadError | None = None
    try:
        verify_terminal_part(decoded, receipt, issuers, moment)
    except QrPayloadError as err:
        terminal_error = err
    rec = receipt.record
    serial = rec.card_serial.hex()
    card = ctx.session.get(Card, serial)
    summary = {
        "record_id": record_id(receipt.record_bytes),
        "reference": receipt.reference,
        "card_serial": serial,
        "tx_counter": rec.tx_counter,
        "program": rec.program,
        "amount": rec.amount,
        "balance_after": rec.balance_after,
        "terminal_id": rec.terminal_id.decode("ascii", "replace"),
        "terminal_time": rec.terminal_time,
    }
    if card is None or card.credential != receipt.credential.raw:
        return Verdict("invalid", "unknown_card", "the card of this receipt was not issued here", summary)
    stored = ctx.session.get(Redemption, summary["record_id"])
    if stored is not None:
        if stored.voided:
            return Verdict("voided", None, f"voided: {stored.void_reason or ''}".strip(), summary)
        if terminal_error is None and decoded.kind is ReceiptKind.VOIDED:
            return Verdict("voided", None, "voided at the terminal (the void is not uploaded yet)", summary)
        return Verdict("valid", None, "genuine and recorded by the server", summary)
    if terminal_error is not None:
        return Verdict("invalid", terminal_error.reason.value, str(terminal_error), summary)
    if decoded.kind is ReceiptKind.VOIDED:
        return Verdict("voided", None, "voided at the terminal (not uploaded yet)", summary)
    clash = ctx.session.scalars(
        select(Redemption.record_id).where(
            Redemption.card_serial == serial, Redemption.tx_counter == rec.tx_counter
        )
    ).first()
    if clash is not None:
        return Verdict(
            "conflict", "counter_conflict", "the card signed another transaction with this counter", summary
        )
    return Verdict(
        "not_uploaded", None, "genuine counter receipt (card and terminal signed), not uploaded yet", summary
    )

"""Receipt verification: a scanned receipt QR (``terminal.receipt_qr``) checked against the issuer keys
and against what terminals have uploaded. The answer carries no personal data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from server_stub.models import Card, IssuerKey, Redemption
from server_stub.services.context import Ctx
from server_stub.services.ingest import record_id
from terminal.receipt_qr import QrFailure, QrPayloadError, verify_qr_payload

MALFORMED = {
    QrFailure.PREFIX,
    QrFailure.ENCODING,
    QrFailure.STRUCTURE,
    QrFailure.VERSION,
    QrFailure.CREDENTIAL_MALFORMED,
    QrFailure.RECORD_MALFORMED,
    QrFailure.SIGNATURE_MALFORMED,
}


@dataclass(frozen=True)
class Verdict:
    verdict: str  # valid | not_uploaded | voided | conflict | invalid | malformed
    reason: str | None
    message: str
    record: dict[str, Any] | None


def verify_receipt(ctx: Ctx, payload: str) -> Verdict:
    points = {bytes.fromhex(k.kid): k.point for k in ctx.session.scalars(select(IssuerKey))}

    def lookup(kid: bytes) -> ec.EllipticCurvePublicKey | None:
        point = points.get(kid)
        return None if point is None else ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)

    try:
        receipt = verify_qr_payload(payload, lookup)
    except QrPayloadError as err:
        kind = "malformed" if err.reason in MALFORMED else "invalid"
        return Verdict(kind, err.reason.value, str(err), None)
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
        return Verdict("valid", None, "genuine and recorded by the server", summary)
    clash = ctx.session.scalars(
        select(Redemption.record_id).where(
            Redemption.card_serial == serial, Redemption.tx_counter == rec.tx_counter
        )
    ).first()
    if clash is not None:
        return Verdict(
            "conflict", "counter_conflict", "the card signed another transaction with this counter", summary
        )
    return Verdict("not_uploaded", None, "genuine (card-signed) but not uploaded by a terminal yet", summary)

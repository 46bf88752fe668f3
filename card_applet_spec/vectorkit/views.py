"""JSON views of parsed answers and signed objects: the ``expect`` and ``args`` of the vectors' steps.

SPEC §11.4 tabulates them; ``tests/test_vectors.py`` builds the same views from what the terminal session
parses, and compares them with the files.
"""

from __future__ import annotations

from typing import Any

from card_applet_spec.credential import Credential
from card_applet_spec.issuer import Signed
from card_applet_spec.records import AuthBody, Balance, GrantBody, TxRecord
from card_applet_spec.responses import AppInfo, PersonalData


def fci_json(info: AppInfo) -> dict[str, Any]:
    """The FCI of SELECT: version, capabilities, life cycle, serial (None on a blank card), log capacity."""
    return {
        "version": list(info.version),
        "capabilities": info.capabilities,
        "life_cycle": info.life_cycle,
        "serial": info.serial.hex() if info.serial is not None else None,
        "log_capacity": info.log_capacity,
    }


def personal_data_json(data: PersonalData) -> dict[str, Any]:
    """DF26 (personal data): NIK, birth date, sex, KK number, the holder salt."""
    return {
        "nik": data.nik,
        "birth_date": data.birth_date,
        "sex": data.sex,
        "kk_number": data.kk_number,
        "holder_salt": data.holder_salt.hex() if data.holder_salt is not None else None,
    }


def balance_json(b: Balance) -> dict[str, Any]:
    return {
        "program": b.program,
        "kind": b.kind,
        "unit": b.unit,
        "grant_seq": b.grant_seq,
        "remaining": b.remaining,
        "valid_until": b.valid_until,
    }


def auth_json(body: AuthBody) -> dict[str, Any]:
    return {
        "version": body.version,
        "card_serial": body.card_serial.hex(),
        "life_cycle": body.life_cycle,
        "pin_tries": body.pin_tries,
        "tx_counter": body.tx_counter,
        "balances": [balance_json(b) for b in body.balances],
    }


def tx_json(r: TxRecord) -> dict[str, Any]:
    return {
        "version": r.version,
        "tx_type": r.tx_type,
        "card_serial": r.card_serial.hex(),
        "tx_counter": r.tx_counter,
        "program": r.program,
        "grant_seq": r.grant_seq,
        "amount": r.amount,
        "balance_after": r.balance_after,
        "terminal_id": r.terminal_id.hex(),
        "terminal_nonce": r.terminal_nonce.hex(),
        "terminal_time": r.terminal_time,
    }


def grant_json(g: GrantBody) -> dict[str, Any]:
    return {
        "version": g.version,
        "card_serial": g.card_serial.hex(),
        "program": g.program,
        "kind": g.kind,
        "unit": g.unit,
        "grant_seq": g.grant_seq,
        "amount": g.amount,
        "valid_from": g.valid_from,
        "valid_until": g.valid_until,
    }


def credential_json(raw: bytes, cred: Credential) -> dict[str, Any]:
    """The credential ``raw`` (``cred`` decoded from it): its length, key id and claims."""
    return {
        "length": len(raw),
        "kid": cred.kid.hex(),
        "card_serial": cred.claims.card_serial.hex(),
        "status_index": cred.claims.status_index,
        "name": cred.claims.name,
        "region": cred.claims.region,
        "nik_masked": cred.claims.nik_masked,
        "card_key": cred.claims.card_key.hex(),
        "issued_at": cred.claims.issued_at,
        "expires_at": cred.claims.expires_at,
    }


def signed_json(s: Signed) -> dict[str, str]:
    return {"body": s.body.hex(), "kid": s.kid.hex(), "signature": s.signature.hex()}

"""Test-vector generator: ``python -m card_applet_spec.vectorgen`` writes ``card_applet_spec/vectors/*.json``.

**SPEC.md §11 is the normative description** of the vector files (format of ``keys.json``,
``setup.json`` and the case files, every key and its encoding, the DRBG, how terminal challenges, nonces
and the ephemeral keys of PIN envelopes are derived, the replay procedure, coverage, and how to run the
vectors against a chip). This module is an implementation of SPEC.md: where it, the files it writes or the
reference card disagree with SPEC.md, SPEC.md wins and the disagreement is a defect to report. The notes
below are a summary for readers of the code.

Everything is deterministic (fixed keys, a fixed DRBG for the card, RFC 6979 signatures, a fixed clock),
so running the generator twice gives identical files; ``--check`` writes nothing and exits 1 when the
files on disk differ from what the generator would write. The generator refuses to write when the
reference card does not answer a case as the case expects, and it verifies the card signatures it parses.

This module imports only ``card_applet_spec`` (an import-linter contract forbids ``terminal``): the
command APDUs are built here with small builders over :class:`CommandApdu`, and every exchange is
recorded against a fresh ``ReferenceCard(MemoryStore(), rng=Drbg(seed))`` on the contactless interface
(FCI capability byte ``0F``).

Summary (SPEC §11.2-§11.5)
--------------------------
* ``keys.json``: the published test keys (``issuer_1``, ``issuer_2``, ``terminal_1``, ``rogue``, and
  ``card``, the key the first GENERATE KEY makes from the card DRBG), the DRBG seed, the clock, the
  terminal ids.
* ``setup.json``: profiles ``blank``, ``personalised``, ``personalised_with_grants``, ``pin_blocked``,
  each ``{"description", "card_rng_seed", "parameters", "exchanges"}``.
* ``<command>.json``: ``{"command", "description", "keys", "setup", "cases"}``; a case is ``{"name",
  "description", "setup", "card_rng_seed", "exchanges": [{"command", "response", "note"}], "steps":
  [{"op", "args"?, "expect"?, "sw"?}]}``. The operations (``select``, ``authenticate``, ``verify_pin``,
  ``change_pin``, ``reset_pin``, ``debit``, ..., ``raw``) and their arguments and results are tabulated
  in SPEC §11.4.
* ``Drbg(seed)``: SHA-256(seed || 00000000) || SHA-256(seed || 00000001) || ... (4-byte big-endian
  counter); each request for n bytes takes the next n bytes. The card draws from it only in GENERATE KEY
  (32 bytes, retried while out of range) and in a successful INTERNAL AUTHENTICATE (the 16-byte card
  nonce).
* Terminal values: challenges and DEBIT nonces are SHA-256(b"KHBS vector " || label) truncated to 16 / 8
  bytes (:func:`fixed_bytes`); the ephemeral scalar of a PIN envelope is SHA-256(b"KHBS vector ephemeral "
  || label) mod (n - 1) + 1 (:func:`ephemeral_scalar`), recorded in the step as ``ephemeral_scalar``.
* Replay: a fresh blank card with ``Drbg(card_rng_seed)``, the setup profile's exchanges, then the case's,
  every response (data || SW1 SW2) compared byte for byte.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.credential import (
    Claims,
    Credential,
    compressed_point,
    decode_credential,
    holder_commit,
    holder_ref,
    personal_details_digest,
    sign_credential,
)
from card_applet_spec.issuer import IssuerSigner, Signed, key_from_seed, uncompressed_point
from card_applet_spec.pin_envelope import SealedVerify, debit_mac, private_key_from_scalar, seal, seal_verify
from card_applet_spec.records import (
    AuthBody,
    Balance,
    GrantBody,
    StatusBody,
    TerminalCertBody,
    TxRecord,
    pin_block,
    pin_reset_message,
)
from card_applet_spec.reference_card import MemoryStore, ReferenceCard
from card_applet_spec.tlv import TlvError, iter_tlv, parse_single, parse_tlv, require, tlv

VECTOR_DIR = Path(__file__).resolve().parent / "vectors"
SW = c.SW
L = c.LifeCycle
P = c.Program
OK = SW.OK
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


class VectorError(RuntimeError):
    """The reference card did not answer as the case expects: the vectors are not written."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise VectorError(message)


# --- Deterministic random source -------------------------------------------------------------------


class Drbg:
    """SHA-256(seed || 4-byte big-endian counter), counter 0, 1, 2, ...; n bytes per call off the stream."""

    def __init__(self, seed: bytes) -> None:
        self.seed = bytes(seed)
        self._counter = 0
        self._buffer = b""

    def __call__(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += hashlib.sha256(self.seed + self._counter.to_bytes(4, "big")).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out


# --- Fixed inputs ----------------------------------------------------------------------------------

CARD_RNG_SEED = b"KHBS test card 1"

#: Terminal clock for every DEBIT: 2027-01-01T00:00:00Z.
TERMINAL_TIME = 1798761600
GRANT_FROM = 1796083200  # 2026-12-01T00:00:00Z
GRANT_UNTIL = 1801439999  # 2027-01-31T23:59:59Z
CERT_UNTIL = 1830297599  # 2027-12-31T23:59:59Z
ISSUED_AT = 1796083200  # 2026-12-01T00:00:00Z
EXPIRES_AT = 1953849599  # 2031-11-30T23:59:59Z

SERIAL = bytes.fromhex("6271202600000042")
OTHER_SERIAL = bytes.fromhex("6271202600000043")
HOLDER_NIK = "6271011203850007"  # Palangka Raya, district 01, born 1985-03-12, male, serial 0007
HOLDER_NAME = "Yohanes Dimas Pratama"
HOLDER_KK = "6271010101100003"
HOLDER_BIRTH_DATE = "1985-03-12"
HOLDER_SEX = "L"
STATUS_INDEX = 42
#: The salt of the holder commitment (credential claim 4), kept in DF26 (SPEC §4.4).
HOLDER_SALT = hashlib.sha256(b"KHBS vector holder salt").digest()[:16]
OTHER_NIK = "6271015507900001"  # a NIK that is not the holder's (the clerk typed the wrong e-KTP)
PIN = "123456"
WRONG_PIN = "000000"
NEW_PIN = "246810"
RESET_PIN = "654321"

TERMINAL_ID = b"KHBS-T01"  # the counter terminal doing DEBITs
COUNTER_TERMINAL_ID = b"KHBS-C01"  # the certified terminal doing PIN resets

KEY_SEEDS = {
    "issuer_1": "KHBS test issuer 1",
    "issuer_2": "KHBS test issuer 2",
    "terminal_1": "KHBS test terminal 1",
    "rogue": "KHBS test rogue 1",
}
SIGNERS = {name: IssuerSigner(key_from_seed(seed)) for name, seed in KEY_SEEDS.items()}
ISSUER_1 = SIGNERS["issuer_1"]
ISSUER_2 = SIGNERS["issuer_2"]
TERMINAL_1 = SIGNERS["terminal_1"]
ROGUE = SIGNERS["rogue"]

#: The grants of the ``personalised_with_grants`` profile (program, amount, unit), all signed by issuer_1.
PROFILE_GRANTS: tuple[tuple[P, int, c.Unit], ...] = (
    (P.BLT, 600_000, c.Unit.RUPIAH),
    (P.SEMBAKO, 10_000, c.Unit.GRAM),
    (P.KESEHATAN, c.UNLIMITED, c.Unit.VISIT),
    (P.LAPANGAN_KERJA, c.GrantStatus.ELIGIBLE, c.Unit.STATUS),
)


def fixed_bytes(label: str, n: int) -> bytes:
    """Terminal-side 'random' values (challenges, nonces): SHA-256("KHBS vector " || label), first n."""
    return hashlib.sha256(b"KHBS vector " + label.encode()).digest()[:n]


def card_private_scalar(seed: bytes = CARD_RNG_SEED) -> int:
    """The scalar GENERATE KEY makes as the first use of the card DRBG (as the reference card does)."""
    rng = Drbg(seed)
    while True:
        scalar = int.from_bytes(rng(32), "big")
        if 1 <= scalar < _P256_ORDER:
            return scalar


CARD_KEY = ec.derive_private_key(card_private_scalar(), ec.SECP256R1())
CARD_POINT = uncompressed_point(CARD_KEY.public_key())
CARD_COMPRESSED = compressed_point(CARD_KEY.public_key())


@functools.cache
def holder_reference(nik: str = HOLDER_NIK) -> bytes:
    """holder_ref(NIK, SERIAL): scrypt, so computed once per NIK."""
    return holder_ref(nik, SERIAL)


def ephemeral_scalar(label: str) -> bytes:
    """The terminal's ephemeral PIN-envelope key for ``label`` (TEST ONLY: fixed so vectors are exact)."""
    value = int.from_bytes(hashlib.sha256(b"KHBS vector ephemeral " + label.encode()).digest(), "big")
    return (value % (_P256_ORDER - 1) + 1).to_bytes(32, "big")


def grant_body(
    program: P,
    amount: int,
    *,
    seq: int = 1,
    serial: bytes = SERIAL,
    kind: int | None = None,
    unit: int | None = None,
    valid_from: int = GRANT_FROM,
    valid_until: int = GRANT_UNTIL,
) -> GrantBody:
    default_unit = next((u for p, _, u in PROFILE_GRANTS if p == program), c.Unit.RUPIAH)
    return GrantBody(
        card_serial=serial,
        program=program,
        kind=c.PROGRAM_KIND[program] if kind is None else kind,
        unit=default_unit if unit is None else unit,
        grant_seq=seq,
        amount=amount,
        valid_from=valid_from,
        valid_until=valid_until,
    )


def forged(body: bytes, message: bytes, kid: bytes) -> Signed:
    """Signed by the rogue key but claiming key id ``kid``."""
    return Signed(body, kid, ROGUE.sign(message))


def status_signed(target: int, seq: int, signer: IssuerSigner = ISSUER_1, serial: bytes = SERIAL) -> Signed:
    return signer.status(StatusBody(serial, target, seq))


def terminal_cert(
    *,
    roles: int = c.TerminalRole.PIN_RESET,
    valid_until: int = CERT_UNTIL,
    signer: IssuerSigner = ISSUER_1,
    point: bytes = TERMINAL_1.point,
) -> Signed:
    return signer.terminal_cert(TerminalCertBody(COUNTER_TERMINAL_ID, roles, valid_until, point))


def credential_bytes() -> bytes:
    claims = Claims(
        card_serial=SERIAL,
        status_index=STATUS_INDEX,
        holder_commit=holder_commit(
            HOLDER_SALT,
            holder_reference(),
            personal_details_digest(HOLDER_NIK, HOLDER_BIRTH_DATE, HOLDER_SEX, HOLDER_KK),
        ),
        name=HOLDER_NAME,
        region=int(HOLDER_NIK[:4]),
        card_key=compressed_point(CARD_KEY.public_key()),
        nik_masked=f"{HOLDER_NIK[:4]}********{HOLDER_NIK[-4:]}",
        issued_at=ISSUED_AT,
        expires_at=EXPIRES_AT,
    )
    return sign_credential(claims, ISSUER_1.key)


def personal_data_bytes() -> bytes:
    return cbor2.dumps(
        {
            int(c.PersonalField.NIK): HOLDER_NIK,
            int(c.PersonalField.BIRTH_DATE): HOLDER_BIRTH_DATE,
            int(c.PersonalField.SEX): HOLDER_SEX,
            int(c.PersonalField.KK_NUMBER): HOLDER_KK,
            int(c.PersonalField.HOLDER_SALT): HOLDER_SALT,
        }
    )


# --- Command APDU builders -------------------------------------------------------------------------


def select_apdu(
    aid: bytes = c.AID, *, cla: int = c.CLA_ISO, p1: int = c.SELECT_BY_NAME, p2: int = 0
) -> bytes:
    return CommandApdu(cla, c.INS_SELECT, p1, p2, aid, le=256).encode()


def get_data_apdu(do: int, le: int | None = 256) -> bytes:
    return CommandApdu(c.CLA_ISO, c.INS_GET_DATA, do >> 8, do & 0xFF, le=le).encode()


def get_response_apdu(le: int) -> bytes:
    return CommandApdu(c.CLA_ISO, c.INS_GET_RESPONSE, 0, 0, le=le).encode()


def put_data_apdu(do: int, value: bytes, *, cla: int = c.CLA_ISO) -> bytes:
    return CommandApdu(cla, c.INS_PUT_DATA, do >> 8, do & 0xFF, value).encode()


def issuer_key_tlv(kid: bytes, point: bytes) -> bytes:
    return tlv(c.TAG_ISSUER_KEY, tlv(c.TAG_KEY_ID, kid) + tlv(c.TAG_EC_POINT, point))


def verify_apdu(data: bytes = b"", *, p1: int = 0, p2: int = c.PIN_REFERENCE) -> bytes:
    return CommandApdu(c.CLA_ISO, c.INS_VERIFY, p1, p2, data).encode()


def change_apdu(data: bytes, *, p1: int = 0, p2: int = c.PIN_REFERENCE) -> bytes:
    return CommandApdu(c.CLA_ISO, c.INS_CHANGE_REFERENCE_DATA, p1, p2, data).encode()


def get_challenge_apdu(le: int = c.CHALLENGE_LEN) -> bytes:
    """GET CHALLENGE of applet version 1.0, withdrawn in 2.0 (the card answers 6D00)."""
    return CommandApdu(c.CLA_ISO, c.INS_GET_CHALLENGE_WITHDRAWN, 0, 0, le=le).encode()


def internal_authenticate_apdu(challenge: bytes, *, p1: int = 0, p2: int = 0, le: int = 256) -> bytes:
    return CommandApdu(c.CLA_ISO, c.INS_INTERNAL_AUTHENTICATE, p1, p2, challenge, le=le).encode()


def generate_key_apdu(*, p1: int = 0, p2: int = 0) -> bytes:
    return CommandApdu(c.CLA_PROPRIETARY, c.INS_GENERATE_KEY, p1, p2, le=256).encode()


def debit_data(program: int, amount: int, nonce: bytes, terminal_time: int, counter: int) -> bytes:
    return (
        bytes([program])
        + amount.to_bytes(4, "big")
        + TERMINAL_ID
        + nonce
        + terminal_time.to_bytes(4, "big")
        + counter.to_bytes(4, "big")
    )


def debit_apdu(data: bytes, *, p1: int = 0, p2: int = 0) -> bytes:
    return CommandApdu(c.CLA_PROPRIETARY, c.INS_DEBIT, p1, p2, data, le=256).encode()


DEBIT_HEADER = bytes([c.CLA_PROPRIETARY, c.INS_DEBIT, 0, 0])
#: The key a DEBIT is MACed under when no VERIFY of the case gave one (the card refuses it first).
NO_DEBIT_KEY = bytes(16)


def maced(debit_key: bytes, fields: bytes, header: bytes = DEBIT_HEADER) -> bytes:
    """DEBIT command data (§6.6): the 29 bytes of fields, then their MAC under ``debit_key``."""
    return fields + debit_mac(debit_key, header, fields)


def read_log_apdu(count: int) -> bytes:
    return CommandApdu(c.CLA_PROPRIETARY, c.INS_READ_LOG, 0, count, le=256).encode()


def signed_object_tlv(body_tag: int, signed: Signed) -> bytes:
    return tlv(body_tag, signed.body) + tlv(c.TAG_KEY_ID, signed.kid) + tlv(c.TAG_SIGNATURE, signed.signature)


def load_grant_apdu(data: bytes, *, cla: int = c.CLA_PROPRIETARY) -> bytes:
    return CommandApdu(cla, c.INS_LOAD_GRANT, 0, 0, data).encode()


def set_status_apdu(target: int, data: bytes = b"", *, p2: int = 0) -> bytes:
    return CommandApdu(c.CLA_PROPRIETARY, c.INS_SET_STATUS, target, p2, data).encode()


def cert_tlv(cert: Signed) -> bytes:
    return tlv(c.TAG_TERMINAL_CERT, signed_object_tlv(c.TAG_TERMINAL_CERT_BODY, cert))


def rrc_data(cert: Signed, envelope: bytes, terminal_signature: bytes) -> bytes:
    return cert_tlv(cert) + tlv(c.TAG_PIN_ENVELOPE, envelope) + tlv(c.TAG_SIGNATURE, terminal_signature)


def envelope(ins: int, nonce: bytes, plaintext: bytes, label: str) -> bytes:
    """A PIN envelope (§6.14) to the vector card key, with the ephemeral key of ``label``."""
    eph = private_key_from_scalar(ephemeral_scalar(label))
    return seal(CARD_POINT, ins, SERIAL, nonce, plaintext, ephemeral=eph)


def verify_envelope(nonce: bytes, block: bytes, label: str) -> SealedVerify:
    """A VERIFY envelope (§6.14) and the DEBIT key it yields, with the ephemeral key of ``label``."""
    eph = private_key_from_scalar(ephemeral_scalar(label))
    return seal_verify(CARD_POINT, SERIAL, nonce, block, ephemeral=eph)


def reset_message_data(
    cert: Signed,
    nonce: bytes,
    new_block: bytes,
    *,
    nik: str = HOLDER_NIK,
    label: str,
    signer: IssuerSigner | None = None,
    signed_nonce: bytes | None = None,
    mangle: Callable[[bytes], bytes] | None = None,
) -> bytes:
    """RESET RETRY COUNTER data: certificate, envelope (new block || holder_ref), terminal signature.

    ``signed_nonce`` signs over another nonce than the envelope's; ``mangle`` changes the envelope
    *before* it is signed (a terminal that signs what it sends, but sends a broken envelope).
    """
    env = envelope(c.INS_RESET_RETRY_COUNTER, nonce, new_block + holder_reference(nik), label)
    if mangle is not None:
        env = mangle(env)
    message = pin_reset_message(SERIAL, signed_nonce or nonce, CARD_COMPRESSED, env)
    return rrc_data(cert, env, (signer or TERMINAL_1).sign(message))


def flip_last(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


def rrc_apdu(data: bytes, *, cla: int = c.CLA_ISO) -> bytes:
    return CommandApdu(cla, c.INS_RESET_RETRY_COUNTER, 0, c.PIN_REFERENCE, data).encode()


# --- JSON views of parsed results (the ``expect`` of steps) ----------------------------------------


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


# --- Recording -------------------------------------------------------------------------------------


@dataclass
class Profile:
    name: str
    description: str
    exchanges: list[dict[str, str]]
    parameters: dict[str, Any] = field(default_factory=dict)


def _verify_card_signature(signature: bytes, message: bytes, what: str) -> None:
    try:
        CARD_KEY.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except Exception as exc:
        raise VectorError(f"{what}: card signature does not verify") from exc


def _program_name(program: int) -> str:
    try:
        return f"program {program} ({P(program).name})"
    except ValueError:
        return f"program {program} (none such)"


def _sw_hex(sw: int) -> str:
    return f"{sw:04X}"


class Tap:
    """One recording: a fresh reference card brought to a setup profile, then the case's exchanges."""

    def __init__(self, profiles: dict[str, Profile], setup: str) -> None:
        self.setup = setup
        self.card = ReferenceCard(MemoryStore(), rng=Drbg(CARD_RNG_SEED))
        self.base = list(profiles[setup].exchanges)
        for ex in self.base:
            response = self.card.transmit(bytes.fromhex(ex["command"]))
            _check(response.hex().upper() == ex["response"], f"setup {setup!r} does not replay: {ex['note']}")
        self.exchanges: list[dict[str, str]] = []
        self.steps: list[dict[str, Any]] = []
        #: the card nonce of the last command if it was a successful INTERNAL AUTHENTICATE (§5.1.3)
        self.nonce: bytes | None = None
        #: as the terminal session: the DEBIT key of its last successful VERIFY, spent by the next DEBIT
        self.debit_key: bytes | None = None
        #: the DEBIT key of the last successful VERIFY, spent or not (what a retried DEBIT is MACed under)
        self.last_debit_key: bytes = NO_DEBIT_KEY
        self._labels = 0

    def label(self, what: str) -> str:
        """A fresh label for the terminal's 'random' values of this recording."""
        self._labels += 1
        return f"{what} {self._labels}"

    # -- raw exchanges ----------------------------------------------------------------------------
    def exchange(self, command: bytes, note: str, sw: int | None = OK) -> tuple[bytes, int]:
        """Send one command; check the status word (None: 61xx or 9000 accepted); record it."""
        if len(command) < 2 or not (command[0] & c.CLA_CHAINING_BIT or command[1] == c.INS_GET_RESPONSE):
            self.nonce = None  # the card spends its nonce on this command, whatever the outcome
        response = self.card.transmit(command)
        data, got = response[:-2], int.from_bytes(response[-2:], "big")
        if sw is None:
            _check(got == OK or got >> 8 == c.SW1_MORE_DATA, f"{note}: card said {got:04X}")
        else:
            _check(got == sw, f"{note}: expected SW {sw:04X}, the card said {got:04X}")
        self.exchanges.append(
            {"command": command.hex().upper(), "response": response.hex().upper(), "note": note}
        )
        return data, got

    def collect(self, command: bytes, note: str, sw: int = OK) -> bytes:
        """Send a command and follow 61xx with GET RESPONSE (Le=xx) as terminals do; check the final SW."""
        first_sw = None if sw == OK else sw
        data, got = self.exchange(command, note, first_sw)
        buf = data
        while got >> 8 == c.SW1_MORE_DATA:
            le = (got & 0xFF) or 256
            data, got = self.exchange(
                get_response_apdu(le), f"GET RESPONSE Le={le:02X}: next part of the answer", None
            )
            buf += data
        _check(got == sw, f"{note}: final SW {got:04X}, expected {sw:04X}")
        return buf

    def raw(self, command: bytes, note: str, sw: int | None = OK) -> bytes:
        """An APDU outside the ordinary terminal operations (recorded with a ``raw`` step)."""
        data, _ = self.exchange(command, note, sw)
        self.steps.append({"op": "raw"})
        return data

    def chain(self, header: CommandApdu, data: bytes, sizes: Sequence[int], note: str, sw: int = OK) -> None:
        """Send ``data`` as an ISO command chain of blocks of ``sizes`` (the rest in the last block)."""
        pos = 0
        for i, size in enumerate(sizes):
            block = data[pos : pos + size]
            pos += size
            apdu = CommandApdu(header.cla | c.CLA_CHAINING_BIT, header.ins, header.p1, header.p2, block)
            self.raw(apdu.encode(), f"{note}: chained block {i + 1} ({len(block)} bytes, CLA bit 10 set)")
        last = CommandApdu(header.cla, header.ins, header.p1, header.p2, data[pos:], header.le)
        self.raw(last.encode(), f"{note}: last block ({len(data) - pos} bytes); {len(data)} bytes in all", sw)

    def _step(
        self, op: str, args: dict[str, Any] | None, sw: int, expect: dict[str, Any] | None = None
    ) -> None:
        step: dict[str, Any] = {"op": op}
        if args:
            step["args"] = args
        if sw != OK:
            step["sw"] = _sw_hex(sw)
        elif expect is not None:
            step["expect"] = expect
        self.steps.append(step)

    # -- terminal operations ----------------------------------------------------------------------
    def select(self, note: str = "", sw: int = OK) -> dict[str, Any] | None:
        data = self.collect(select_apdu(), note or "SELECT the KHBS applet by AID", sw)
        self.debit_key = None
        if sw != OK:
            self._step("select", None, sw)
            return None
        prop = parse_tlv(require(parse_tlv(parse_single(data, c.TAG_FCI)), c.TAG_FCI_PROPRIETARY))
        serial = prop.get(c.TAG_CARD_SERIAL)
        info = {
            "version": list(require(prop, c.TAG_VERSION)),
            "capabilities": require(prop, c.TAG_CAPABILITIES)[0],
            "life_cycle": require(prop, c.TAG_LIFE_CYCLE)[0],
            "serial": serial.hex() if serial is not None else None,
            "log_capacity": require(prop, c.TAG_LOG_CAPACITY)[0],
        }
        _check(info["version"] == list(c.APPLET_VERSION), "FCI version")
        self._step("select", None, sw, info)
        return info

    def read_credential(self, sw: int = OK) -> bytes:
        data = self.collect(get_data_apdu(c.DO_CREDENTIAL), "GET DATA DF21 (credential), Le=00", sw)
        if sw != OK:
            self._step("read_credential", None, sw)
            return b""
        cred = decode_credential(data)
        _check(cred.verify(ISSUER_1.key.public_key()), "credential signature")
        _check(
            cred.claims.card_key == compressed_point(CARD_KEY.public_key()), "credential binds the card key"
        )
        self._step("read_credential", None, sw, credential_json(data, cred))
        return data

    def read_serial(self, sw: int = OK) -> bytes:
        data = self.collect(get_data_apdu(c.DO_CARD_SERIAL), "GET DATA DF24 (card serial)", sw)
        self._step("read_serial", None, sw, {"serial": data.hex()})
        return data

    def read_card_public_key(self, sw: int = OK) -> bytes:
        data = self.collect(get_data_apdu(c.DO_CARD_PUBLIC_KEY), "GET DATA DF27 (card public key)", sw)
        point = b""
        if sw == OK:
            point = require(parse_tlv(parse_single(data, c.TAG_PUBLIC_KEY_TEMPLATE)), c.TAG_EC_POINT)
            _check(point == CARD_POINT, "card public key")
        self._step("read_card_public_key", None, sw, {"point": point.hex()})
        return point

    def read_grants(self, note: str = "", sw: int = OK) -> list[GrantBody]:
        data = self.collect(get_data_apdu(c.DO_GRANTS), note or "GET DATA DF22 (grants), Le=00", sw)
        out: list[dict[str, Any]] = []
        bodies: list[GrantBody] = []
        for tag, value in iter_tlv(data):
            _check(tag == c.TAG_SIGNED_GRANT, "grant template")
            objects = parse_tlv(value)
            body = GrantBody.decode(require(objects, c.TAG_GRANT_BODY))
            bodies.append(body)
            out.append({"body": grant_json(body), "kid": require(objects, c.TAG_KEY_ID).hex()})
        self._step("read_grants", None, sw, {"grants": out})
        return bodies

    def read_personal_data(self, sw: int = OK) -> None:
        data = self.collect(
            get_data_apdu(c.DO_PERSONAL_DATA), "GET DATA DF26 (personal data, PIN-protected)", sw
        )
        expect = None
        if sw == OK:
            d = cbor2.loads(data)
            expect = {
                "nik": d[c.PersonalField.NIK],
                "birth_date": d[c.PersonalField.BIRTH_DATE],
                "sex": d[c.PersonalField.SEX],
                "kk_number": d[c.PersonalField.KK_NUMBER],
                "holder_salt": d[c.PersonalField.HOLDER_SALT].hex(),
            }
        self._step("read_personal_data", None, sw, expect)

    def authenticate(self, label: str, note: str = "", sw: int = OK) -> AuthBody | None:
        challenge = fixed_bytes(label, c.CHALLENGE_LEN)
        data = self.collect(
            internal_authenticate_apdu(challenge),
            note or "INTERNAL AUTHENTICATE with the terminal's 16-byte challenge",
            sw,
        )
        args = {"challenge": challenge.hex()}
        if sw != OK:
            self._step("authenticate", args, sw)
            return None
        objects = parse_tlv(parse_single(data, c.TAG_SIGNED_AUTH))
        body_bytes = require(objects, c.TAG_AUTH_BODY)
        body = AuthBody.decode(body_bytes)
        nonce = require(objects, c.TAG_CARD_NONCE)
        _check(len(nonce) == c.CARD_NONCE_LEN, "card nonce length")
        message = body.signed_message(challenge, nonce)
        _verify_card_signature(require(objects, c.TAG_SIGNATURE), message, "auth")
        self._step("authenticate", args, sw, {**auth_json(body), "card_nonce": nonce.hex()})
        self.nonce = nonce
        return body

    def ensure_nonce(self) -> bytes | None:
        """As the terminal session does before VERIFY / CHANGE REFERENCE DATA: INTERNAL AUTHENTICATE
        unless the last command was one. None when the card refuses it (then the PIN command is raw)."""
        if self.nonce is None:
            usable = self.card.state.life_cycle in (L.OPERATIONAL, L.BLOCKED)
            self.authenticate(
                self.label("pin nonce"),
                "INTERNAL AUTHENTICATE: its card nonce binds the PIN envelope of the next command",
                OK if usable else SW.CONDITIONS_NOT_SATISFIED,
            )
        return self.nonce

    def send_chained(self, header: CommandApdu, data: bytes, note: str, sw: int = OK) -> None:
        """As the terminal's CommandChainer: 255-byte blocks with CLA bit 10, then the last block."""
        pos = 0
        while len(data) - pos > c.MAX_SHORT_DATA:
            block = data[pos : pos + c.MAX_SHORT_DATA]
            pos += c.MAX_SHORT_DATA
            apdu = CommandApdu(header.cla | c.CLA_CHAINING_BIT, header.ins, header.p1, header.p2, block)
            self.exchange(apdu.encode(), f"{note}: chained block ({len(block)} bytes, CLA bit 10 set)")
        last = CommandApdu(header.cla, header.ins, header.p1, header.p2, data[pos:], header.le)
        self.collect(last.encode(), f"{note}: last block ({len(data) - pos} bytes, {len(data)} in all)", sw)

    def pin_command(
        self, op: str, ins: int, plaintext: bytes, args: dict[str, Any], note: str, sw: int
    ) -> None:
        """VERIFY or CHANGE REFERENCE DATA P1=00 with the plaintext enciphered to the card (§6.14)."""
        self.debit_key = None
        nonce = self.ensure_nonce()
        label = self.label("ephemeral")
        sealed = verify_envelope(nonce or bytes(c.CARD_NONCE_LEN), plaintext, label)
        env = sealed.envelope if ins == c.INS_VERIFY else envelope(ins, nonce or bytes(16), plaintext, label)
        apdu = verify_apdu(env) if ins == c.INS_VERIFY else change_apdu(env)
        self.collect(apdu, note, sw)
        if ins == c.INS_VERIFY and sw == OK and nonce is not None:
            self.debit_key = self.last_debit_key = sealed.debit_key
        if nonce is None:
            self.steps.append({"op": "raw"})
        else:
            self._step(op, {**args, "ephemeral_scalar": ephemeral_scalar(label).hex()}, sw)

    def pin_status(self, note: str = "", sw: int = OK) -> None:
        """VERIFY with no data: 63Cx (x tries, not verified), 9000 (verified) or a refusal (6983, 6985)."""
        if sw == OK:
            self.exchange(verify_apdu(), note or "VERIFY without data: PIN already verified in this session")
            self._step("pin_status", None, OK, {"verified": True, "tries_remaining": c.PIN_MAX_TRIES})
        elif sw & 0xFFF0 == c.sw_pin_tries(0):
            self.exchange(
                verify_apdu(), note or f"VERIFY without data: not verified, {sw & 0xF} tries left", sw
            )
            self._step("pin_status", None, OK, {"verified": False, "tries_remaining": sw & 0xF})
        else:
            self.exchange(verify_apdu(), note or "VERIFY without data", sw)
            self._step("pin_status", None, sw)

    def verify_pin(self, pin: str, note: str = "", sw: int = OK) -> None:
        note = note or f"VERIFY PIN {pin}"
        self.pin_command("verify_pin", c.INS_VERIFY, pin_block(pin), {"pin": pin}, f"{note} (enciphered)", sw)

    def change_pin(self, old: str, new: str, note: str = "", sw: int = OK) -> None:
        note = (note or f"CHANGE REFERENCE DATA {old} -> {new}") + " (enciphered)"
        blocks = pin_block(old) + pin_block(new)
        self.pin_command(
            "change_pin", c.INS_CHANGE_REFERENCE_DATA, blocks, {"old": old, "new": new}, note, sw
        )

    def reset_pin(
        self,
        cert: Signed,
        new_pin: str,
        *,
        signing_key: str = "terminal_1",
        nik: str = HOLDER_NIK,
        note: str = "",
        sw: int = OK,
    ) -> None:
        """As a certified counter terminal: INTERNAL AUTHENTICATE (verified with the checked
        credential's key), then RESET RETRY COUNTER bound to its card nonce (chained: over 255 bytes)."""
        self.debit_key = None
        self.authenticate(
            self.label("reset challenge"),
            "INTERNAL AUTHENTICATE: the terminal verifies it with the checked credential; its card nonce "
            "binds the reset",
        )
        nonce = self.nonce
        _check(nonce is not None, "a card nonce for the reset")
        assert nonce is not None
        label = self.label("ephemeral")
        data = reset_message_data(
            cert, nonce, pin_block(new_pin), nik=nik, label=label, signer=SIGNERS[signing_key]
        )
        self.send_chained(
            CommandApdu(c.CLA_ISO, c.INS_RESET_RETRY_COUNTER, 0, c.PIN_REFERENCE),
            data,
            note
            or f"RESET RETRY COUNTER: certificate, C9 envelope (new PIN {new_pin} || holder_ref), "
            f"{signing_key} signature over KHBS-PR2 || serial || card nonce || SHA-256(card key) || envelope",
            sw,
        )
        args = {
            "certificate": signed_json(cert),
            "signing_key": signing_key,
            "new_pin": new_pin,
            "holder_ref": holder_reference(nik).hex(),
            "ephemeral_scalar": ephemeral_scalar(label).hex(),
        }
        self._step("reset_pin", args, sw)

    def debit(
        self,
        program: int,
        amount: int,
        counter: int,
        *,
        label: str,
        terminal_time: int = TERMINAL_TIME,
        note: str = "",
        sw: int = OK,
    ) -> TxRecord | None:
        """As the terminal session: DEBIT MACed under the DEBIT key of this session's VERIFY (§6.6), which
        it spends. Without one the session sends nothing: the DEBIT is then recorded as ``raw``, MACed
        under the last VERIFY's key (a retried DEBIT) or, if there was none, :data:`NO_DEBIT_KEY`."""
        nonce = fixed_bytes(label, c.NONCE_LEN)
        key, self.debit_key = self.debit_key, None
        fields = debit_data(program, amount, nonce, terminal_time, counter)
        note = note or f"DEBIT {_program_name(program)} amount {amount}, expected counter {counter}"
        if key is None:
            what = "MAC under a spent key" if self.last_debit_key != NO_DEBIT_KEY else "MAC under no key"
            self.raw(debit_apdu(maced(self.last_debit_key, fields)), f"{note} ({what})", sw)
            return None
        data = self.collect(debit_apdu(maced(key, fields)), f"{note}, MAC under the VERIFY's DEBIT key", sw)
        args = {
            "program": program,
            "amount": amount,
            "terminal_id": TERMINAL_ID.hex(),
            "nonce": nonce.hex(),
            "terminal_time": terminal_time,
            "expected_counter": counter,
        }
        if sw != OK:
            self._step("debit", args, sw)
            return None
        objects = parse_tlv(parse_single(data, c.TAG_SIGNED_TX))
        record = TxRecord.decode(require(objects, c.TAG_TX_RECORD))
        _verify_card_signature(require(objects, c.TAG_SIGNATURE), record.signed_message(), "DEBIT")
        _check(record.tx_counter == counter + 1 and record.amount == amount, "DEBIT record")
        self._step("debit", args, sw, tx_json(record))
        return record

    def read_log(self, count: int, note: str = "", sw: int = OK) -> list[TxRecord]:
        data = self.collect(read_log_apdu(count), note or f"READ LOG P2={count:02X}", sw)
        records = []
        for tag, value in iter_tlv(data):
            _check(tag == c.TAG_SIGNED_TX, "log entry template")
            objects = parse_tlv(value)
            record = TxRecord.decode(require(objects, c.TAG_TX_RECORD))
            _verify_card_signature(require(objects, c.TAG_SIGNATURE), record.signed_message(), "log")
            records.append(record)
        self._step("read_log", {"count": count}, sw, {"records": [tx_json(r) for r in records]})
        return records

    def load_grant(self, signed: Signed, note: str = "", sw: int = OK) -> None:
        self.collect(load_grant_apdu(signed_object_tlv(c.TAG_GRANT_BODY, signed)), note or "LOAD GRANT", sw)
        self._step("load_grant", signed_json(signed), sw)

    def set_status(self, target: int, signed: Signed, note: str = "", sw: int = OK) -> None:
        data = signed_object_tlv(c.TAG_STATUS_BODY, signed)
        self.debit_key = None
        self.collect(set_status_apdu(target, data), note or f"SET STATUS to {target:02X}", sw)
        self._step("set_status", {"target": target, **signed_json(signed)}, sw)

    def generate_key(self, note: str = "", sw: int = OK) -> bytes:
        data = self.collect(
            generate_key_apdu(), note or "GENERATE KEY: the card makes its P-256 key pair", sw
        )
        point = b""
        if sw == OK:
            point = require(parse_tlv(parse_single(data, c.TAG_PUBLIC_KEY_TEMPLATE)), c.TAG_EC_POINT)
            _check(point == CARD_POINT, "GENERATE KEY gives the key derived from the card DRBG")
        self._step("generate_key", None, sw, {"point": point.hex()})
        return point

    def put_data(self, do: int, value: bytes, note: str, sw: int = OK) -> None:
        self.collect(put_data_apdu(do, value), note, sw)
        self._step("put_data", {"do": do, "value": value.hex()}, sw)

    def put_issuer_key(self, signer: IssuerSigner, note: str, sw: int = OK) -> None:
        self.collect(put_data_apdu(c.DO_ISSUER_KEYS, issuer_key_tlv(signer.kid, signer.point)), note, sw)
        self._step("put_issuer_key", {"kid": signer.kid.hex(), "point": signer.point.hex()}, sw)

    def set_initial_pin(self, pin: str, note: str = "", sw: int = OK) -> None:
        self.collect(
            change_apdu(pin_block(pin), p1=0x01),
            note or f"CHANGE REFERENCE DATA P1=01 (personalisation): initial PIN {pin}",
            sw,
        )
        self._step("set_initial_pin", {"pin": pin}, sw)

    def activate(self, note: str = "", sw: int = OK) -> None:
        self.collect(
            set_status_apdu(L.OPERATIONAL), note or "SET STATUS P1=0F without data: activate the card", sw
        )
        self._step("activate", None, sw)


# --- Setup profiles --------------------------------------------------------------------------------


def personalise(t: Tap) -> None:
    """The issuance station's sequence (terminal/personalise.py does the same)."""
    t.select("SELECT on the blank card: life cycle 01 (personalisation)")
    t.generate_key()
    t.put_data(c.DO_CARD_SERIAL, SERIAL, f"PUT DATA DF24: card serial {SERIAL.hex().upper()}")
    t.put_issuer_key(ISSUER_1, "PUT DATA DF25: issuer key 1 (E4 { C4 kid, 86 point })")
    t.put_issuer_key(ISSUER_2, "PUT DATA DF25: issuer key 2 (for rotation)")
    credential = credential_bytes()
    t.put_data(
        c.DO_CREDENTIAL,
        credential,
        f"PUT DATA DF21: issuer-signed credential ({len(credential)} bytes, fits one short APDU)",
    )
    t.put_data(
        c.DO_PERSONAL_DATA, personal_data_bytes(), "PUT DATA DF26: personal data (CBOR map, with the salt)"
    )
    t.put_data(c.DO_HOLDER_REF, holder_reference(), "PUT DATA DF28: holder_ref (write-only)")
    t.set_initial_pin(PIN)
    t.activate()


def load_profile_grants(t: Tap) -> None:
    for program, amount, _unit in PROFILE_GRANTS:
        t.load_grant(
            ISSUER_1.grant(grant_body(program, amount)),
            f"LOAD GRANT program {program} ({program.name}) seq 1 amount {amount}, signed by issuer_1",
        )


def build_profiles() -> dict[str, Profile]:
    profiles: dict[str, Profile] = {"blank": Profile("blank", "A blank card straight from the fab.", [])}

    def extend(name: str, base: str, description: str, fill: Callable[[Tap], None]) -> Profile:
        t = Tap(profiles, base)
        fill(t)
        profile = Profile(name, description, t.base + t.exchanges)
        profiles[name] = profile
        return profile

    perso = extend(
        "personalised",
        "blank",
        "Personalised and activated (life cycle 0F): key pair, serial, issuer keys 1 and 2, credential, "
        "personal data, PIN 123456 (3 tries). No grants.",
        personalise,
    )
    perso.parameters = {
        "serial": SERIAL.hex(),
        "holder": {"nik": HOLDER_NIK, "name": HOLDER_NAME, "kk_number": HOLDER_KK},
        "holder_salt": HOLDER_SALT.hex(),
        "pin": PIN,
        "issuer": "issuer_1",
        "extra_issuer_keys": ["issuer_2"],
        "status_index": STATUS_INDEX,
        "issued_at": ISSUED_AT,
        "expires_at": EXPIRES_AT,
        "grants": [],
    }

    grants = extend(
        "personalised_with_grants",
        "personalised",
        "personalised, then (same session, as terminal/personalise.py does) four issuer_1 grants "
        "(seq 1, valid 2026-12-01..2027-01-31): BLT 600000 rupiah, "
        "SEMBAKO 10000 g, KESEHATAN unlimited visits, LAPANGAN_KERJA status ELIGIBLE.",
        load_profile_grants,
    )
    grants.parameters = dict(perso.parameters)
    grants.parameters["grants"] = [
        {
            "program": int(p),
            "amount": amount,
            "unit": int(unit),
            "grant_seq": 1,
            "valid_from": GRANT_FROM,
            "valid_until": GRANT_UNTIL,
        }
        for p, amount, unit in PROFILE_GRANTS
    ]

    def block_pin(t: Tap) -> None:
        t.select()
        for left in (2, 1, 0):
            t.verify_pin(WRONG_PIN, f"VERIFY wrong PIN: {left} tries left", c.sw_pin_tries(left))

    extend(
        "pin_blocked",
        "personalised_with_grants",
        "personalised_with_grants, then three wrong PINs: the PIN is blocked (0 tries).",
        block_pin,
    )
    return profiles


# --- Cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseDef:
    name: str
    setup: str
    description: str
    record: Callable[[Tap], None]


FILES: dict[str, tuple[str, str]] = {
    "select": ("SELECT", "SELECT by AID and the checks every command goes through first (CLA, INS, Lc)."),
    "get_data": ("GET DATA / GET RESPONSE", "Reading the card's data objects; long answers over 61xx."),
    "internal_authenticate": (
        "INTERNAL AUTHENTICATE",
        "The card signs its state and the terminal's challenge.",
    ),
    "verify": ("VERIFY", "Holder PIN verification, try counter and status query."),
    "change_reference_data": ("CHANGE REFERENCE DATA", "Changing the PIN; setting the initial PIN."),
    "reset_retry_counter": (
        "RESET RETRY COUNTER",
        "PIN reset by an issuer-certified counter terminal, bound to the card nonce of the INTERNAL "
        "AUTHENTICATE right before, with the new PIN and the holder check enciphered to the card.",
    ),
    "debit": ("DEBIT", "Spending a grant (cash, quantity) or checking in (eligibility, application)."),
    "read_log": ("READ LOG", "The card's signed transaction log, newest first."),
    "load_grant": ("LOAD GRANT", "Loading issuer-signed entitlements."),
    "set_status": ("SET STATUS", "Issuer-signed life-cycle changes: block, unblock, terminate."),
    "personalisation": (
        "GENERATE KEY / PUT DATA / SET STATUS (activation) / command chaining",
        "Personalisation commands and ISO command chaining.",
    ),
}

CASES: dict[str, list[CaseDef]] = {name: [] for name in FILES}


def case(file: str, name: str, setup: str, description: str) -> Callable[[Callable[[Tap], None]], None]:
    def register(fn: Callable[[Tap], None]) -> None:
        if any(existing.name == name for existing in CASES[file]):
            raise ValueError(f"duplicate case {file}:{name}")
        CASES[file].append(CaseDef(name, setup, description, fn))

    return register


PERSO = "personalised"
GRANTS = "personalised_with_grants"
BLANK = "blank"
CHALLENGE = fixed_bytes("challenge 1", c.CHALLENGE_LEN)
SELECT_NOTE = "SELECT the KHBS applet (a new tap)"


# SELECT --------------------------------------------------------------------------------------------


@case("select", "blank_ok", BLANK, "SELECT on a blank card: FCI with life cycle 01 and no serial yet.")
def _select_blank(t: Tap) -> None:
    info = t.select("SELECT: FCI 6F { 84 AID, A5 { 80 version, 81 caps, 82 life cycle 01, 85 log cap } }")
    _check(info is not None and info["life_cycle"] == L.PERSONALISATION and info["serial"] is None, "FCI")


@case("select", "operational_ok", PERSO, "SELECT on a personalised card: life cycle 0F and the serial (83).")
def _select_operational(t: Tap) -> None:
    info = t.select("SELECT: FCI with life cycle 0F (operational) and 83 card serial")
    _check(info is not None and info["serial"] == SERIAL.hex() and info["life_cycle"] == L.OPERATIONAL, "FCI")


@case(
    "select",
    "wrong_aid",
    PERSO,
    "SELECT of another AID (or a partial AID): 6A82. The KHBS applet stays selected, with its session: "
    "GET DATA still works and a verified PIN still counts.",
)
def _select_wrong_aid(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.raw(
        select_apdu(bytes.fromhex("F04B4842530102")),
        "SELECT an AID this card does not have",
        SW.FILE_NOT_FOUND,
    )
    t.raw(
        select_apdu(c.AID[:5]),
        "SELECT with the first 5 bytes of the AID (no partial match)",
        SW.FILE_NOT_FOUND,
    )
    t.read_serial()
    t.read_personal_data()


@case("select", "wrong_p1p2", PERSO, "SELECT with P1 other than 04 (by name) or P2 other than 00: 6A86.")
def _select_wrong_p1(t: Tap) -> None:
    t.raw(select_apdu(p1=0x00), "SELECT P1=00 (by file id): not supported", SW.INCORRECT_P1P2)
    t.raw(select_apdu(p2=0x0C), "SELECT P2=0C (no FCI): not supported", SW.INCORRECT_P1P2)
    t.select("SELECT correctly afterwards: 9000")


@case("select", "command_before_select", BLANK, "Any command before the applet is selected: 6986.")
def _select_before(t: Tap) -> None:
    t.read_serial(SW.COMMAND_NOT_ALLOWED)


@case("select", "bad_cla", PERSO, "A class byte other than 00 / 80 (optionally with bit 10): 6E00.")
def _select_bad_cla(t: Tap) -> None:
    t.raw(select_apdu(cla=0xA0), "SELECT with CLA A0: class not supported", SW.CLA_NOT_SUPPORTED)
    t.raw(
        select_apdu(cla=0x84),
        "SELECT with CLA 84 (secure messaging): class not supported",
        SW.CLA_NOT_SUPPORTED,
    )
    t.raw(
        select_apdu(cla=0x10), "SELECT with CLA 10 (chaining): SELECT is never chained", SW.CLA_NOT_SUPPORTED
    )


@case("select", "unknown_ins", PERSO, "An instruction the applet does not have for that class: 6D00.")
def _select_unknown_ins(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(bytes.fromhex("00B0000000"), "READ BINARY (00 B0): not supported", SW.INS_NOT_SUPPORTED)
    t.raw(select_apdu(cla=c.CLA_PROPRIETARY), "SELECT INS under CLA 80: not supported", SW.INS_NOT_SUPPORTED)
    t.raw(
        bytes.fromhex("00540000"),
        "DEBIT INS under CLA 00: DEBIT is proprietary (CLA 80)",
        SW.INS_NOT_SUPPORTED,
    )


@case("select", "malformed_lc", PERSO, "Lc that does not match the APDU length: 6700.")
def _select_malformed_lc(t: Tap) -> None:
    t.raw(bytes.fromhex("00A4040007F04B48"), "SELECT with Lc=07 but 3 data bytes", SW.WRONG_LENGTH)
    t.raw(
        bytes.fromhex("00A4040005") + c.AID + b"\x00",
        "SELECT with Lc=05 and 7 data bytes + Le",
        SW.WRONG_LENGTH,
    )
    t.raw(bytes.fromhex("00A404"), "three bytes: not even a header", SW.WRONG_LENGTH)


@case("select", "extended_length", PERSO, "Extended-length APDUs are not supported: 6700.")
def _select_extended(t: Tap) -> None:
    t.raw(
        bytes.fromhex("00A40400000007") + c.AID + b"\x00\x00",
        "SELECT as an extended APDU (Lc=00 0007, Le=0000)",
        SW.WRONG_LENGTH,
    )


@case(
    "select",
    "reselect_clears_session",
    PERSO,
    "SELECT starts a new session: a PIN verified before no longer counts.",
)
def _select_reselect(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.read_personal_data()
    t.select("SELECT again")
    t.read_personal_data(SW.SECURITY_STATUS_NOT_SATISFIED)


# GET DATA ------------------------------------------------------------------------------------------


@case("get_data", "credential", PERSO, "The credential, whole, in one answer to GET DATA DF21 with Le=00.")
def _gd_credential(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_credential()


@case(
    "get_data",
    "grants_over_get_response",
    GRANTS,
    "Four grants (over 256 bytes): 256 bytes + 61xx, then GET RESPONSE with Le=xx gives the rest.",
)
def _gd_grants(t: Tap) -> None:
    t.select(SELECT_NOTE)
    grants = t.read_grants()
    _check([g.program for g in grants] == [p for p, _, _ in PROFILE_GRANTS], "grants in program order")
    _check(len(t.exchanges) == 3, "grants need one GET RESPONSE")


@case("get_data", "grants_none", PERSO, "No grants loaded: GET DATA DF22 answers 9000 with no data.")
def _gd_no_grants(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_grants()


@case("get_data", "serial", PERSO, "GET DATA DF24: the 8-byte card serial.")
def _gd_serial(t: Tap) -> None:
    t.select(SELECT_NOTE)
    _check(t.read_serial() == SERIAL, "serial")


@case("get_data", "card_public_key", PERSO, "GET DATA DF27: 7F49 { 86 uncompressed point }.")
def _gd_card_key(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_card_public_key()


@case("get_data", "issuer_keys", PERSO, "GET DATA DF25: one E4 { C4 kid, 86 point } per issuer key.")
def _gd_issuer_keys(t: Tap) -> None:
    t.select(SELECT_NOTE)
    data = t.raw(get_data_apdu(c.DO_ISSUER_KEYS), "GET DATA DF25 (issuer keys)")
    _check(
        data == issuer_key_tlv(ISSUER_1.kid, ISSUER_1.point) + issuer_key_tlv(ISSUER_2.kid, ISSUER_2.point),
        "keys",
    )


@case("get_data", "personal_data_without_pin", PERSO, "Personal data before VERIFY: 6982.")
def _gd_personal_no_pin(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_personal_data(SW.SECURITY_STATUS_NOT_SATISFIED)


@case("get_data", "personal_data_after_verify", PERSO, "Personal data after VERIFY: the CBOR map.")
def _gd_personal(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.read_personal_data()


@case("get_data", "unknown_do", PERSO, "GET DATA of an object the card does not have: 6A88.")
def _gd_unknown(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(get_data_apdu(0xDF30), "GET DATA DF30: no such object", SW.DATA_NOT_FOUND)
    t.raw(get_data_apdu(0x5F50), "GET DATA 5F50: no such object", SW.DATA_NOT_FOUND)


@case("get_data", "with_command_data", PERSO, "GET DATA carries no command data: 6700.")
def _gd_with_data(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(bytes.fromhex("00CADF240100"), "GET DATA DF24 with one data byte", SW.WRONG_LENGTH)


@case("get_data", "blank_card", BLANK, "A blank card: no credential or serial (6A88), empty lists (9000).")
def _gd_blank(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_credential(SW.DATA_NOT_FOUND)
    t.read_serial(SW.DATA_NOT_FOUND)
    t.read_card_public_key(SW.DATA_NOT_FOUND)
    t.read_grants()
    t.raw(get_data_apdu(c.DO_ISSUER_KEYS), "GET DATA DF25: no issuer keys yet, empty")


@case("get_data", "get_response_nothing_pending", PERSO, "GET RESPONSE with nothing pending: 6985.")
def _gd_get_response_nothing(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(get_response_apdu(256), "GET RESPONSE Le=00 after a complete answer", SW.CONDITIONS_NOT_SATISFIED)


@case(
    "get_data",
    "get_response_lost_after_other_command",
    GRANTS,
    "Pending response data is dropped by the next command other than GET RESPONSE.",
)
def _gd_get_response_lost(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(get_data_apdu(c.DO_GRANTS), "GET DATA DF22: first 256 bytes, 61xx", None)
    t.raw(get_data_apdu(c.DO_CARD_SERIAL), "GET DATA DF24 instead of GET RESPONSE")
    t.raw(get_response_apdu(256), "GET RESPONSE: the grants' rest is gone", SW.CONDITIONS_NOT_SATISFIED)


@case("get_data", "short_le", GRANTS, "Le smaller than the object: Le bytes, then 61xx for the rest.")
def _gd_short_le(t: Tap) -> None:
    t.select(SELECT_NOTE)
    data, sw = t.exchange(get_data_apdu(c.DO_CARD_SERIAL, le=4), "GET DATA DF24 with Le=04", None)
    t.steps.append({"op": "raw"})
    _check(sw == 0x6104 and data == SERIAL[:4], "61 04")
    t.raw(get_response_apdu(4), "GET RESPONSE Le=04: the last 4 bytes")
    t.raw(get_data_apdu(c.DO_GRANTS, le=0x80), "GET DATA DF22 with Le=80: 128 bytes, 61 00 (256+ left)", None)
    t.raw(get_response_apdu(0x80), "GET RESPONSE Le=80: 128 more", None)
    t.raw(get_response_apdu(256), "GET RESPONSE Le=00: the rest")
    t.raw(get_response_apdu(0x10), "GET RESPONSE P1P2 00 00 but nothing left", SW.CONDITIONS_NOT_SATISFIED)


@case("get_data", "get_response_bad_p1p2", GRANTS, "GET RESPONSE with P1P2 other than 0000: 6A86.")
def _gd_get_response_p1p2(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(get_data_apdu(c.DO_GRANTS), "GET DATA DF22: 61xx", None)
    t.raw(bytes.fromhex("00C0010000"), "GET RESPONSE P1=01", SW.INCORRECT_P1P2)


# INTERNAL AUTHENTICATE -----------------------------------------------------------------------------


@case(
    "internal_authenticate",
    "check_tap",
    GRANTS,
    "The check tap: SELECT, read the credential, INTERNAL AUTHENTICATE. The answer E2 { C1 body, 9E sig } "
    "carries serial, life cycle, PIN tries, counter and one 15-byte balance per grant; the card signs "
    "KHBS-AU1 || challenge || body with the key in the credential.",
)
def _ia_check_tap(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_credential()
    body = t.authenticate("challenge 1")
    _check(body is not None and len(body.balances) == 4 and body.tx_counter == 0, "auth body")


@case("internal_authenticate", "no_grants", PERSO, "A card without grants signs an empty balance list.")
def _ia_no_grants(t: Tap) -> None:
    t.select(SELECT_NOTE)
    body = t.authenticate("challenge 2")
    _check(body is not None and body.balances == () and body.pin_tries == 3, "auth body")


@case(
    "internal_authenticate",
    "after_debit",
    GRANTS,
    "After a DEBIT the signed state shows the new balance and counter 1.",
)
def _ia_after_debit(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 100_000, 0, label="nonce ia 1")
    body = t.authenticate("challenge 3")
    _check(body is not None and body.tx_counter == 1 and body.balances[0].remaining == 500_000, "auth body")


@case("internal_authenticate", "wrong_challenge_length", GRANTS, "A challenge of other than 16 bytes: 6700.")
def _ia_wrong_len(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(internal_authenticate_apdu(CHALLENGE[:8]), "INTERNAL AUTHENTICATE with 8 bytes", SW.WRONG_LENGTH)
    t.raw(
        internal_authenticate_apdu(CHALLENGE + b"\x00"),
        "INTERNAL AUTHENTICATE with 17 bytes",
        SW.WRONG_LENGTH,
    )


@case("internal_authenticate", "bad_p1p2", GRANTS, "INTERNAL AUTHENTICATE with P1P2 other than 0000: 6A86.")
def _ia_bad_p1p2(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(internal_authenticate_apdu(CHALLENGE, p1=0x01), "INTERNAL AUTHENTICATE P1=01", SW.INCORRECT_P1P2)
    t.raw(internal_authenticate_apdu(CHALLENGE, p2=0x80), "INTERNAL AUTHENTICATE P2=80", SW.INCORRECT_P1P2)


@case("internal_authenticate", "in_personalisation", BLANK, "Before activation: 6985.")
def _ia_perso(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.authenticate("challenge 1", sw=SW.CONDITIONS_NOT_SATISFIED)


# VERIFY --------------------------------------------------------------------------------------------


def _raw_pin(
    t: Tap,
    ins: int,
    plaintext: bytes,
    note: str,
    sw: int,
    *,
    mangle: Callable[[bytes], bytes] | None = None,
    seal_ins: int | None = None,
) -> bytes:
    """A PIN command no terminal operation sends (a defect on purpose), after a fresh card nonce."""
    nonce = t.ensure_nonce()
    _check(nonce is not None, "a card nonce")
    assert nonce is not None
    env = envelope(seal_ins or ins, nonce, plaintext, t.label("ephemeral"))
    if mangle is not None:
        env = mangle(env)
    apdu = verify_apdu(env) if ins == c.INS_VERIFY else change_apdu(env)
    t.raw(apdu, note, sw)
    return apdu


@case("verify", "tries_query", PERSO, "VERIFY without data is a status query: 63C3, nothing spent.")
def _v_query(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.pin_status(sw=c.sw_pin_tries(3))
    t.pin_status(sw=c.sw_pin_tries(3))


@case(
    "verify",
    "wrong_pin_until_blocked",
    PERSO,
    "Wrong PINs (each enciphered to the card after INTERNAL AUTHENTICATE): 63C2, 63C1, 63C0; then 6983 "
    "even for the right PIN, and for the status query.",
)
def _v_block(t: Tap) -> None:
    t.select(SELECT_NOTE)
    for left in (2, 1, 0):
        t.verify_pin(WRONG_PIN, f"VERIFY wrong PIN: {left} tries left", c.sw_pin_tries(left))
    t.verify_pin(PIN, "VERIFY the right PIN: blocked", SW.PIN_BLOCKED)
    t.pin_status("VERIFY without data: blocked", SW.PIN_BLOCKED)
    body = t.authenticate("challenge 4")
    _check(body is not None and body.pin_tries == 0, "signed state shows 0 tries")


@case(
    "verify",
    "right_pin",
    PERSO,
    "INTERNAL AUTHENTICATE, then VERIFY with the PIN envelope (C9-less: the data is the 89-byte envelope "
    "E = ephemeral point || AES-CBC(PIN block, padded) || CMAC): 9000; the status query then answers 9000.",
)
def _v_right(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.pin_status(sw=OK)


@case(
    "verify",
    "right_pin_restores_tries",
    PERSO,
    "A wrong PIN (63C2) then the right one: the counter is back at 3 (63C3 in the next session).",
)
def _v_restores(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(WRONG_PIN, "VERIFY wrong PIN: 2 tries left", c.sw_pin_tries(2))
    t.pin_status(sw=c.sw_pin_tries(2))
    t.verify_pin(PIN)
    t.select("SELECT again (new session)")
    t.pin_status(sw=c.sw_pin_tries(3))


@case(
    "verify",
    "wrong_pin_ends_verification",
    PERSO,
    "A wrong PIN after a right one withdraws the verification: personal data 6982 again.",
)
def _v_wrong_after_right(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.verify_pin(WRONG_PIN, "VERIFY wrong PIN: 2 tries left", c.sw_pin_tries(2))
    t.read_personal_data(SW.SECURITY_STATUS_NOT_SATISFIED)


@case(
    "verify",
    "non_digit_block",
    PERSO,
    "An envelope that opens to a PIN block that is not 4-8 ASCII digits padded with FF: 6A80, no try spent.",
)
def _v_non_digit(t: Tap) -> None:
    t.select(SELECT_NOTE)
    _raw_pin(t, c.INS_VERIFY, b"12A4\xff\xff\xff\xff", "VERIFY: a letter in the PIN", SW.WRONG_DATA)
    _raw_pin(t, c.INS_VERIFY, b"123\xff\xff\xff\xff\xff", "VERIFY: 3 digits", SW.WRONG_DATA)
    _raw_pin(t, c.INS_VERIFY, b"12\xff34\xff\xff\xff", "VERIFY: digits after the padding", SW.WRONG_DATA)
    t.pin_status("no try was spent: 63C3", c.sw_pin_tries(3))


@case(
    "verify",
    "plain_pin_refused",
    PERSO,
    "The PIN in clear (8-byte block, version 1.0) is refused: 6985 without a card nonce, 6A80 with one "
    "(not an 89-byte envelope); so is an envelope one byte short. No try is spent.",
)
def _v_plain(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(
        verify_apdu(pin_block(PIN)),
        "VERIFY with the plain PIN block, no card nonce",
        SW.CONDITIONS_NOT_SATISFIED,
    )
    t.ensure_nonce()
    t.raw(
        verify_apdu(pin_block(PIN)),
        "VERIFY with the plain PIN block after INTERNAL AUTHENTICATE",
        SW.WRONG_DATA,
    )
    _raw_pin(
        t,
        c.INS_VERIFY,
        pin_block(PIN),
        "VERIFY: envelope without its last byte",
        SW.WRONG_DATA,
        mangle=lambda e: e[:-1],
    )
    t.pin_status("no try was spent: 63C3", c.sw_pin_tries(3))


@case(
    "verify",
    "no_card_nonce",
    PERSO,
    "A well-formed envelope without INTERNAL AUTHENTICATE right before: 6985, no try spent.",
)
def _v_no_nonce(t: Tap) -> None:
    t.select(SELECT_NOTE)
    env = envelope(c.INS_VERIFY, fixed_bytes("not a card nonce", 16), pin_block(PIN), t.label("ephemeral"))
    t.raw(
        verify_apdu(env),
        "VERIFY with an envelope, no card nonce in this session",
        SW.CONDITIONS_NOT_SATISFIED,
    )
    t.pin_status("no try was spent: 63C3", c.sw_pin_tries(3))


@case(
    "verify",
    "bad_envelope",
    PERSO,
    "Envelopes that do not open: a MAC byte changed, a ciphertext byte changed, an ephemeral point not on "
    "P-256, a compressed point, an envelope made for CHANGE REFERENCE DATA (INS 24 in the key "
    "derivation): 6A80 each, no try spent, and each spends the card nonce.",
)
def _v_bad_envelope(t: Tap) -> None:
    t.select(SELECT_NOTE)
    block = pin_block(PIN)

    def flip(i: int) -> Callable[[bytes], bytes]:
        return lambda e: e[:i] + bytes([e[i] ^ 0x01]) + e[i + 1 :]

    _raw_pin(t, c.INS_VERIFY, block, "VERIFY: last MAC byte changed", SW.WRONG_DATA, mangle=flip(88))
    _raw_pin(t, c.INS_VERIFY, block, "VERIFY: a ciphertext byte changed", SW.WRONG_DATA, mangle=flip(70))
    _raw_pin(
        t,
        c.INS_VERIFY,
        block,
        "VERIFY: point not on P-256",
        SW.WRONG_DATA,
        mangle=lambda e: b"\x04" + bytes(64) + e[65:],
    )
    _raw_pin(
        t, c.INS_VERIFY, block, "VERIFY: compressed point", SW.WRONG_DATA, mangle=lambda e: b"\x02" + e[1:]
    )
    _raw_pin(
        t,
        c.INS_VERIFY,
        block,
        "VERIFY: envelope keyed for INS 24",
        SW.WRONG_DATA,
        seal_ins=c.INS_CHANGE_REFERENCE_DATA,
    )
    t.pin_status("no try was spent: 63C3", c.sw_pin_tries(3))


@case(
    "verify",
    "recorded_verify_replayed",
    PERSO,
    "A VERIFY recorded off the air (enciphered, accepted) is replayed in a new session after a new "
    "INTERNAL AUTHENTICATE: 6A80 (its keys were bound to the old card nonce); without one: 6985. No try "
    "spent, nothing verified.",
)
def _v_replayed(t: Tap) -> None:
    t.select(SELECT_NOTE)
    recorded = _raw_pin(t, c.INS_VERIFY, pin_block(PIN), "VERIFY (recorded by an eavesdropper)", OK)
    t.select("SELECT: a new session (the attacker's, with the stolen card)")
    t.raw(recorded, "the recorded VERIFY, no card nonce", SW.CONDITIONS_NOT_SATISFIED)
    t.ensure_nonce()
    t.raw(recorded, "the recorded VERIFY after a new INTERNAL AUTHENTICATE", SW.WRONG_DATA)
    t.pin_status("not verified, no try spent: 63C3", c.sw_pin_tries(3))


@case(
    "verify",
    "nonce_for_next_command_only",
    PERSO,
    "The card nonce is good for the next command only (§5.1.3 step 0): spent by a GET DATA that succeeds, "
    "by one refused (6A88), by a malformed APDU (3 bytes, 6700), by a wrong CLA (6E00), by a withdrawn "
    "GET CHALLENGE (6D00): the VERIFY after each gets 6985.",
)
def _v_nonce_spent(t: Tap) -> None:
    t.select(SELECT_NOTE)
    spenders = [
        (get_data_apdu(c.DO_CARD_SERIAL), "GET DATA DF24 (9000)", OK),
        (get_data_apdu(0xDF30), "GET DATA DF30 (6A88)", SW.DATA_NOT_FOUND),
        (bytes.fromhex("002000"), "3 bytes, not an APDU (6700)", SW.WRONG_LENGTH),
        (bytes.fromhex("A0200080"), "CLA A0 (6E00)", SW.CLA_NOT_SUPPORTED),
        (get_challenge_apdu(), "GET CHALLENGE, withdrawn in version 2.0 (6D00)", SW.INS_NOT_SUPPORTED),
    ]
    for apdu, what, sw in spenders:
        nonce = t.ensure_nonce()
        assert nonce is not None
        env = envelope(c.INS_VERIFY, nonce, pin_block(PIN), t.label("ephemeral"))
        t.raw(apdu, f"{what}: spends the card nonce", sw)
        t.raw(verify_apdu(env), f"VERIFY bound to the nonce spent by {what}", SW.CONDITIONS_NOT_SATISFIED)
    t.pin_status("no try was spent: 63C3", c.sw_pin_tries(3))


@case(
    "verify",
    "nonce_kept_over_get_response",
    PERSO,
    "GET RESPONSE does not spend the card nonce: INTERNAL AUTHENTICATE with Le=40 (61xx), GET RESPONSE for "
    "the rest, then VERIFY bound to its nonce: 9000.",
)
def _v_nonce_get_response(t: Tap) -> None:
    t.select(SELECT_NOTE)
    first = t.raw(
        internal_authenticate_apdu(fixed_bytes("challenge gr", 16), le=0x40),
        "INTERNAL AUTHENTICATE, Le=40: the first 64 bytes and 61xx",
        None,
    )
    rest = t.raw(get_response_apdu(0x40), "GET RESPONSE: the rest (does not spend the nonce)", None)
    answer = first + rest
    nonce = require(parse_tlv(parse_single(answer, c.TAG_SIGNED_AUTH)), c.TAG_CARD_NONCE)
    env = envelope(c.INS_VERIFY, nonce, pin_block(PIN), t.label("ephemeral"))
    t.raw(verify_apdu(env), "VERIFY bound to that nonce", OK)


@case("verify", "wrong_p1p2", PERSO, "P2 other than 80 (the holder PIN): 6A88; P1 other than 00: 6A86.")
def _v_wrong_p2(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(verify_apdu(pin_block(PIN), p2=0x81), "VERIFY P2=81: no such PIN", SW.DATA_NOT_FOUND)
    t.raw(verify_apdu(pin_block(PIN), p2=0x00), "VERIFY P2=00", SW.DATA_NOT_FOUND)
    t.raw(verify_apdu(pin_block(PIN), p1=0x01), "VERIFY P1=01", SW.INCORRECT_P1P2)


@case("verify", "in_personalisation", BLANK, "VERIFY before activation: 6985.")
def _v_perso(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_initial_pin(PIN)
    t.verify_pin(PIN, "VERIFY in personalisation", SW.CONDITIONS_NOT_SATISFIED)


# CHANGE REFERENCE DATA -----------------------------------------------------------------------------


@case(
    "change_reference_data",
    "change_ok",
    PERSO,
    "Old and new PIN blocks (16 bytes): 9000. The PIN does not count as verified afterwards (a DEBIT "
    "needs a VERIFY with the new PIN); the old PIN is then wrong and the new one right.",
)
def _crd_ok(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.change_pin(PIN, NEW_PIN)
    t.pin_status("VERIFY without data: not verified, 3 tries", c.sw_pin_tries(3))
    t.read_personal_data(SW.SECURITY_STATUS_NOT_SATISFIED)
    t.verify_pin(PIN, "VERIFY the old PIN: wrong now", c.sw_pin_tries(2))
    t.verify_pin(NEW_PIN, "VERIFY the new PIN")
    t.read_personal_data()


@case("change_reference_data", "wrong_old_pin", PERSO, "A wrong old PIN: 63C2, and the PIN is unchanged.")
def _crd_wrong(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.change_pin(WRONG_PIN, NEW_PIN, "CHANGE REFERENCE DATA with a wrong old PIN", c.sw_pin_tries(2))
    t.verify_pin(PIN, "VERIFY the unchanged PIN")


@case(
    "change_reference_data",
    "blocked",
    "pin_blocked",
    "With the PIN blocked, even the right old PIN gets 6983.",
)
def _crd_blocked(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.change_pin(PIN, NEW_PIN, "CHANGE REFERENCE DATA, PIN blocked", SW.PIN_BLOCKED)


@case(
    "change_reference_data",
    "initial_pin_in_personalisation",
    BLANK,
    "In personalisation, P1=01 with one PIN block sets the initial PIN (no old PIN).",
)
def _crd_initial(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_initial_pin(PIN)
    t.set_initial_pin(NEW_PIN, "P1=01 again: the initial PIN may be rewritten before activation")


@case(
    "change_reference_data",
    "initial_pin_after_activation",
    PERSO,
    "P1=01 (set the initial PIN) on an operational card: 6985.",
)
def _crd_state(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_initial_pin(NEW_PIN, "P1=01 on an operational card", SW.CONDITIONS_NOT_SATISFIED)


@case("change_reference_data", "change_in_personalisation", BLANK, "P1=00 before activation: 6985.")
def _crd_perso(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_initial_pin(PIN)
    t.change_pin(PIN, NEW_PIN, "CHANGE REFERENCE DATA P1=00 in personalisation", SW.CONDITIONS_NOT_SATISFIED)


@case(
    "change_reference_data",
    "malformed",
    PERSO,
    "P2 other than 80: 6A88; P1 other than 00/01: 6A86; no card nonce: 6985; an envelope of one PIN block "
    "(not old || new): 6A80; an invalid new block inside the envelope: 6A80. No try spent.",
)
def _crd_malformed(t: Tap) -> None:
    t.select(SELECT_NOTE)
    blocks = pin_block(PIN) + pin_block(NEW_PIN)
    t.raw(change_apdu(blocks, p2=0x81), "P2=81", SW.DATA_NOT_FOUND)
    t.raw(change_apdu(blocks, p1=0x02), "P1=02", SW.INCORRECT_P1P2)
    t.raw(
        change_apdu(blocks), "old || new in clear (version 1.0), no card nonce", SW.CONDITIONS_NOT_SATISFIED
    )
    ins = c.INS_CHANGE_REFERENCE_DATA
    _raw_pin(t, ins, pin_block(PIN), "an envelope of one block (89 bytes)", SW.WRONG_DATA)
    bad = pin_block(PIN) + b"12\xff\xff\xff\xff\xff\xff"
    _raw_pin(t, ins, bad, "new PIN of 2 digits inside the envelope", SW.WRONG_DATA)
    _raw_pin(t, ins, blocks, "envelope keyed for VERIFY (INS 20)", SW.WRONG_DATA, seal_ins=c.INS_VERIFY)
    t.pin_status("no try was spent", c.sw_pin_tries(3))


# RESET RETRY COUNTER (bound to INTERNAL AUTHENTICATE) ---------------------------------------------

PIN_BLOCKED = "pin_blocked"
RRC_HEADER = CommandApdu(c.CLA_ISO, c.INS_RESET_RETRY_COUNTER, 0, c.PIN_REFERENCE)


def _raw_reset(t: Tap, data: bytes, note: str, sw: int) -> None:
    """RESET RETRY COUNTER data sent as the terminal's chainer sends it, as raw steps."""
    t.chain(RRC_HEADER, data, [c.MAX_SHORT_DATA] * ((len(data) - 1) // c.MAX_SHORT_DATA), note, sw)


def _nonce(t: Tap, label: str) -> bytes:
    t.authenticate(label, "INTERNAL AUTHENTICATE: the card nonce a reset would be bound to")
    _check(t.nonce is not None, "card nonce")
    assert t.nonce is not None
    return t.nonce


@case(
    "reset_retry_counter",
    "reset_ok",
    PIN_BLOCKED,
    "A blocked PIN reset by the certified counter terminal, bound to the authenticated card: INTERNAL "
    "AUTHENTICATE (the terminal verifies it with the checked credential's key), then RESET RETRY COUNTER "
    "(chained) with 7F21 { C5 cert body, C4 kid, 9E issuer sig } || C9 envelope (new PIN block || "
    "holder_ref, enciphered to the card key and the card nonce) || 9E terminal sig over KHBS-PR2 || "
    "serial || card nonce || SHA-256(card key) || envelope. 3 tries again, the new PIN works.",
)
def _rrc_ok(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_credential()
    t.reset_pin(terminal_cert(), RESET_PIN)
    t.pin_status("VERIFY without data: 3 tries, not verified", c.sw_pin_tries(3))
    t.verify_pin(RESET_PIN, "VERIFY the new PIN")


@case(
    "reset_retry_counter",
    "reset_ok_small_blocks",
    PIN_BLOCKED,
    "The same reset chained in blocks of 128 bytes: the card joins the data; the nonce is spent by the "
    "last block only.",
)
def _rrc_chained(t: Tap) -> None:
    t.select(SELECT_NOTE)
    nonce = _nonce(t, "challenge rrc chained")
    data = reset_message_data(terminal_cert(), nonce, pin_block(RESET_PIN), label=t.label("ephemeral"))
    t.chain(RRC_HEADER, data, [128, 128], "RESET RETRY COUNTER")
    t.verify_pin(RESET_PIN, "VERIFY the new PIN")


@case(
    "reset_retry_counter",
    "without_card_nonce",
    PIN_BLOCKED,
    "RESET RETRY COUNTER without INTERNAL AUTHENTICATE right before: 6985.",
)
def _rrc_no_nonce(t: Tap) -> None:
    t.select(SELECT_NOTE)
    stale = fixed_bytes("not a card nonce", 16)
    data = reset_message_data(terminal_cert(), stale, pin_block(RESET_PIN), label=t.label("ephemeral"))
    _raw_reset(t, data, "RESET RETRY COUNTER, no card nonce", SW.CONDITIONS_NOT_SATISFIED)


@case(
    "reset_retry_counter",
    "nonce_used_up",
    PIN_BLOCKED,
    "A card nonce is good for the next command only: INTERNAL AUTHENTICATE, GET DATA, RESET RETRY "
    "COUNTER gives 6985; a failed reset spends its nonce too; and a command refused with 6A88 in between "
    "spends it as well. The PIN stays blocked until a reset directly follows INTERNAL AUTHENTICATE.",
)
def _rrc_used_up(t: Tap) -> None:
    t.select(SELECT_NOTE)
    block = pin_block(RESET_PIN)
    nonce = _nonce(t, "challenge rrc 1")
    t.raw(get_data_apdu(c.DO_CARD_SERIAL), "GET DATA DF24 in between: the nonce is spent")
    data = reset_message_data(terminal_cert(), nonce, block, label=t.label("ephemeral"))
    _raw_reset(t, data, "RESET RETRY COUNTER over the spent nonce", SW.CONDITIONS_NOT_SATISFIED)
    nonce = _nonce(t, "challenge rrc 2")
    bad = reset_message_data(terminal_cert(), nonce, block, label=t.label("ephemeral"), signer=ROGUE)
    _raw_reset(t, bad, "RESET RETRY COUNTER with a bad terminal signature", SW.AUTHENTICATION_FAILED)
    _raw_reset(t, data, "the first, well-signed data again: no nonce now", SW.CONDITIONS_NOT_SATISFIED)
    nonce = _nonce(t, "challenge rrc 3")
    t.raw(get_data_apdu(0xDF30), "GET DATA DF30: refused (6A88), and the nonce is spent", SW.DATA_NOT_FOUND)
    data = reset_message_data(terminal_cert(), nonce, block, label=t.label("ephemeral"))
    _raw_reset(t, data, "RESET RETRY COUNTER over the spent nonce", SW.CONDITIONS_NOT_SATISFIED)
    t.pin_status("still blocked", SW.PIN_BLOCKED)
    t.reset_pin(terminal_cert(), RESET_PIN)
    t.verify_pin(RESET_PIN, "VERIFY the new PIN")


@case(
    "reset_retry_counter",
    "replayed_reset",
    PIN_BLOCKED,
    "A reset recorded in one session and replayed after a new INTERNAL AUTHENTICATE: 6300 (the terminal "
    "signed the old card nonce). A reset whose signature covers another nonce than its envelope: 6300.",
)
def _rrc_replayed(t: Tap) -> None:
    t.select(SELECT_NOTE)
    nonce = _nonce(t, "challenge rrc replay")
    data = reset_message_data(terminal_cert(), nonce, pin_block(RESET_PIN), label=t.label("ephemeral"))
    _raw_reset(t, data, "RESET RETRY COUNTER (recorded)", OK)
    t.select("SELECT: a new session")
    _nonce(t, "challenge rrc replay 2")
    _raw_reset(t, data, "the recorded reset replayed", SW.AUTHENTICATION_FAILED)
    nonce = _nonce(t, "challenge rrc replay 3")
    other = fixed_bytes("another card's nonce", 16)
    mixed = reset_message_data(
        terminal_cert(), nonce, pin_block(PIN), label=t.label("ephemeral"), signed_nonce=other
    )
    _raw_reset(t, mixed, "signature over another card nonce", SW.AUTHENTICATION_FAILED)
    t.verify_pin(RESET_PIN, "VERIFY: the PIN of the first reset stands")


@case(
    "reset_retry_counter",
    "holder_mismatch",
    PIN_BLOCKED,
    "The clerk typed a NIK that is not the holder's: the envelope's holder_ref differs from DF28: 6984, one "
    "holder-check try spent, the PIN stays blocked. With the right NIK the reset works and the holder "
    "tries are restored (5).",
)
def _rrc_holder_mismatch(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.reset_pin(terminal_cert(), RESET_PIN, nik=OTHER_NIK, sw=SW.HOLDER_MISMATCH)
    t.pin_status("still blocked", SW.PIN_BLOCKED)
    _check(t.card.state.holder_tries == c.HOLDER_CHECK_MAX_TRIES - 1, "one holder try spent")
    t.reset_pin(terminal_cert(), RESET_PIN)
    _check(t.card.state.holder_tries == c.HOLDER_CHECK_MAX_TRIES, "holder tries restored")
    t.verify_pin(RESET_PIN, "VERIFY the new PIN")


@case(
    "reset_retry_counter",
    "holder_check_blocked",
    PIN_BLOCKED,
    "Five wrong NIKs: 6984 five times, then 6983 (holder check blocked) even with the right NIK. An "
    "issuer-signed block and unblock (SET STATUS 8F then 0F) restores the holder tries; the reset works.",
)
def _rrc_holder_blocked(t: Tap) -> None:
    t.select(SELECT_NOTE)
    for _ in range(c.HOLDER_CHECK_MAX_TRIES):
        t.reset_pin(terminal_cert(), RESET_PIN, nik=OTHER_NIK, sw=SW.HOLDER_MISMATCH)
    t.reset_pin(terminal_cert(), RESET_PIN, sw=SW.PIN_BLOCKED)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1), "SET STATUS 8F (block), seq 1")
    t.set_status(L.OPERATIONAL, status_signed(L.OPERATIONAL, 2), "SET STATUS 0F (unblock), seq 2")
    t.select("SELECT: a new session")
    t.reset_pin(terminal_cert(), RESET_PIN)
    t.verify_pin(RESET_PIN, "VERIFY the new PIN")


@case(
    "reset_retry_counter",
    "bad_envelope",
    PIN_BLOCKED,
    "A certified terminal signs an envelope that does not open (MAC byte changed): 6A80 after the "
    "signatures, no holder try spent; an envelope of the wrong length: 6A80 before any signature.",
)
def _rrc_bad_envelope(t: Tap) -> None:
    t.select(SELECT_NOTE)
    block = pin_block(RESET_PIN)
    nonce = _nonce(t, "challenge rrc env 1")
    data = reset_message_data(terminal_cert(), nonce, block, label=t.label("ephemeral"), mangle=flip_last)
    _raw_reset(t, data, "RESET RETRY COUNTER, envelope MAC broken", SW.WRONG_DATA)
    _check(t.card.state.holder_tries == c.HOLDER_CHECK_MAX_TRIES, "no holder try spent")
    nonce = _nonce(t, "challenge rrc env 2")
    data = reset_message_data(
        terminal_cert(), nonce, block, label=t.label("ephemeral"), mangle=lambda e: e[:-1]
    )
    _raw_reset(t, data, "RESET RETRY COUNTER, envelope one byte short", SW.WRONG_DATA)
    t.pin_status("still blocked", SW.PIN_BLOCKED)


@case(
    "reset_retry_counter",
    "bad_terminal_signature",
    PIN_BLOCKED,
    "The message is signed by a key other than the certified one: 6300; the PIN stays blocked.",
)
def _rrc_bad_terminal_sig(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.reset_pin(terminal_cert(), RESET_PIN, signing_key="rogue", sw=SW.AUTHENTICATION_FAILED)
    t.pin_status("still blocked", SW.PIN_BLOCKED)


@case(
    "reset_retry_counter",
    "certificate_without_role",
    PIN_BLOCKED,
    "A valid issuer certificate whose roles lack PIN_RESET (01): 6982.",
)
def _rrc_no_role(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.reset_pin(terminal_cert(roles=0), RESET_PIN, sw=SW.SECURITY_STATUS_NOT_SATISFIED)


@case(
    "reset_retry_counter",
    "bad_issuer_signature",
    PIN_BLOCKED,
    "A certificate naming issuer_1's kid but signed by another key: 6300.",
)
def _rrc_bad_issuer_sig(t: Tap) -> None:
    t.select(SELECT_NOTE)
    genuine = terminal_cert()
    body = TerminalCertBody.decode(genuine.body)
    cert = forged(genuine.body, body.signed_message(), ISSUER_1.kid)
    t.reset_pin(cert, RESET_PIN, sw=SW.AUTHENTICATION_FAILED)


@case(
    "reset_retry_counter",
    "unknown_kid",
    PIN_BLOCKED,
    "A certificate by an issuer key the card does not know: 6A88.",
)
def _rrc_unknown_kid(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.reset_pin(terminal_cert(signer=ROGUE), RESET_PIN, sw=SW.DATA_NOT_FOUND)


@case(
    "reset_retry_counter",
    "expired_certificate",
    GRANTS,
    "A certificate valid until before the last terminal time the card saw (from a DEBIT): 6300.",
)
def _rrc_expired(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 50_000, 0, label="nonce rrc 1")
    for left in (2, 1, 0):
        t.verify_pin(WRONG_PIN, f"VERIFY wrong PIN: {left} tries left", c.sw_pin_tries(left))
    t.reset_pin(terminal_cert(valid_until=TERMINAL_TIME - 1), RESET_PIN, sw=SW.AUTHENTICATION_FAILED)
    t.reset_pin(terminal_cert(valid_until=TERMINAL_TIME), RESET_PIN)


@case(
    "reset_retry_counter",
    "certificate_expired_by_grant_clock",
    PIN_BLOCKED,
    "No DEBIT yet, but LOAD GRANT raised the card's soft clock to the grants' valid_from (2026-12-01): a "
    "certificate valid until the second before is refused (6300), one valid until that second works.",
)
def _rrc_grant_clock(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.reset_pin(terminal_cert(valid_until=GRANT_FROM - 1), RESET_PIN, sw=SW.AUTHENTICATION_FAILED)
    t.reset_pin(terminal_cert(valid_until=GRANT_FROM), RESET_PIN)


@case(
    "reset_retry_counter",
    "invalid_new_pin",
    PIN_BLOCKED,
    "An envelope that opens to a new PIN block that is not valid: 6A80, no holder try spent.",
)
def _rrc_invalid_pin(t: Tap) -> None:
    t.select(SELECT_NOTE)
    nonce = _nonce(t, "challenge rrc pin")
    data = reset_message_data(terminal_cert(), nonce, b"12AB\xff\xff\xff\xff", label=t.label("ephemeral"))
    _raw_reset(t, data, "RESET RETRY COUNTER with new PIN block 12AB", SW.WRONG_DATA)
    _check(t.card.state.holder_tries == c.HOLDER_CHECK_MAX_TRIES, "no holder try spent")


@case(
    "reset_retry_counter",
    "get_challenge_withdrawn",
    PERSO,
    "GET CHALLENGE (INS 84) of version 1.0 is withdrawn: 6D00, like any unknown instruction.",
)
def _gc_withdrawn(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(get_challenge_apdu(), "GET CHALLENGE", SW.INS_NOT_SUPPORTED)


# DEBIT ---------------------------------------------------------------------------------------------


@case(
    "debit",
    "cash_ok",
    GRANTS,
    "A redemption: SELECT, credential, INTERNAL AUTHENTICATE (counter 0), VERIFY, DEBIT BLT 150000 with "
    "expected counter 0. The card answers E1 { C2 47-byte record, 9E sig over KHBS-TX1 || record }.",
)
def _d_cash(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_credential()
    t.authenticate("challenge 5")
    t.verify_pin(PIN)
    rec = t.debit(P.BLT, 150_000, 0, label="nonce cash 1")
    _check(rec is not None and rec.balance_after == 450_000 and rec.tx_type == c.TxType.DEBIT, "record")


@case("debit", "quantity_ok", GRANTS, "SEMBAKO (quantity, grams): 2500 g of 10000.")
def _d_quantity(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    rec = t.debit(P.SEMBAKO, 2_500, 0, label="nonce qty 1")
    _check(rec is not None and rec.balance_after == 7_500, "record")


@case(
    "debit",
    "eligibility_check_in",
    GRANTS,
    "KESEHATAN (eligibility) with amount 0: a CHECK_IN (02) record, balance unchanged (FFFFFFFF).",
)
def _d_check_in(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    rec = t.debit(P.KESEHATAN, 0, 0, label="nonce health 1")
    _check(
        rec is not None and rec.tx_type == c.TxType.CHECK_IN and rec.balance_after == c.UNLIMITED, "record"
    )


@case(
    "debit",
    "application_check_in",
    GRANTS,
    "LAPANGAN_KERJA (application status) with amount 0: CHECK_IN, balance_after = status (1 ELIGIBLE).",
)
def _d_application(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    rec = t.debit(P.LAPANGAN_KERJA, 0, 0, label="nonce job 1")
    _check(rec is not None and rec.tx_type == c.TxType.CHECK_IN and rec.balance_after == 1, "record")


@case("debit", "without_pin", GRANTS, "DEBIT without VERIFY in this session: 6982.")
def _d_no_pin(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.debit(P.BLT, 10_000, 0, label="nonce nopin", sw=SW.SECURITY_STATUS_NOT_SATISFIED)


@case(
    "debit",
    "pin_consumed",
    GRANTS,
    "One VERIFY authorises one DEBIT: the second DEBIT gets 6982 until the PIN is presented again.",
)
def _d_consumed(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 10_000, 0, label="nonce consumed 1")
    t.debit(P.BLT, 10_000, 1, label="nonce consumed 2", sw=SW.SECURITY_STATUS_NOT_SATISFIED)
    t.verify_pin(PIN)
    rec = t.debit(P.BLT, 10_000, 1, label="nonce consumed 3")
    _check(rec is not None and rec.tx_counter == 2 and rec.balance_after == 580_000, "record")


@case(
    "debit",
    "beyond_balance",
    GRANTS,
    "More than the remaining balance: 9101. The refused DEBIT used up the PIN verification (6982 next); "
    "after a new VERIFY the exact balance goes through (balance 0).",
)
def _d_beyond(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 600_001, 0, label="nonce beyond 1", sw=SW.INSUFFICIENT_BALANCE)
    t.debit(P.BLT, 600_000, 0, label="nonce beyond 2", sw=SW.SECURITY_STATUS_NOT_SATISFIED)
    t.verify_pin(PIN)
    rec = t.debit(P.BLT, 600_000, 0, label="nonce beyond 3")
    _check(rec is not None and rec.balance_after == 0, "record")


@case("debit", "stale_counter", GRANTS, "An expected counter that is not the card's: 9102.")
def _d_stale(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 10_000, 0, label="nonce stale 1")
    t.verify_pin(PIN)
    t.debit(
        P.BLT,
        10_000,
        0,
        label="nonce stale 2",
        note="DEBIT with expected counter 0 (card: 1)",
        sw=SW.COUNTER_MISMATCH,
    )
    t.verify_pin(PIN)
    t.debit(
        P.BLT,
        10_000,
        5,
        label="nonce stale 3",
        note="DEBIT with expected counter 5 (card: 1)",
        sw=SW.COUNTER_MISMATCH,
    )


@case(
    "debit",
    "outside_validity",
    GRANTS,
    "Terminal time after valid_until or before valid_from of the grant: 9103 (bounds are inclusive).",
)
def _d_validity(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 10_000, 0, label="nonce late", terminal_time=GRANT_UNTIL + 1, sw=SW.GRANT_NOT_VALID_NOW)
    t.verify_pin(PIN)
    t.debit(P.BLT, 10_000, 0, label="nonce early", terminal_time=GRANT_FROM - 1, sw=SW.GRANT_NOT_VALID_NOW)
    t.verify_pin(PIN)
    t.debit(P.BLT, 10_000, 0, label="nonce last second", terminal_time=GRANT_UNTIL)


@case("debit", "no_grant", GRANTS, "A program the card has no grant for: 6A88.")
def _d_no_grant(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.PENDIDIKAN, 0, 0, label="nonce school", sw=SW.DATA_NOT_FOUND)
    t.verify_pin(PIN)
    t.debit(0x63, 1, 0, label="nonce program 99", sw=SW.DATA_NOT_FOUND)


@case("debit", "eligibility_with_amount", GRANTS, "An amount above 0 for an eligibility program: 9105.")
def _d_elig_amount(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.KESEHATAN, 1, 0, label="nonce health 2", sw=SW.WRONG_KIND)
    t.verify_pin(PIN)
    t.debit(P.LAPANGAN_KERJA, 2, 0, label="nonce job 2", sw=SW.WRONG_KIND)


@case("debit", "cash_zero", GRANTS, "Amount 0 for a cash or quantity program: 6A80.")
def _d_cash_zero(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 0, 0, label="nonce zero", sw=SW.WRONG_DATA)
    t.verify_pin(PIN)
    t.debit(P.SEMBAKO, 0, 0, label="nonce zero 2", sw=SW.WRONG_DATA)


@case(
    "debit",
    "wrong_lc",
    GRANTS,
    "DEBIT data of other than 37 bytes: 6700 — the 29 bytes of fields without a MAC included; P1P2 other "
    "than 0000: 6A86. These are checked before the PIN, so they do not use up the verification.",
)
def _d_wrong_lc(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    key = t.last_debit_key
    fields = debit_data(P.BLT, 1_000, fixed_bytes("nonce lc", 8), TERMINAL_TIME, 0)
    data = maced(key, fields)
    t.raw(debit_apdu(fields), "DEBIT with the 29 bytes of fields and no MAC", SW.WRONG_LENGTH)
    t.raw(debit_apdu(data[:-1]), "DEBIT with 36 bytes", SW.WRONG_LENGTH)
    t.raw(debit_apdu(data + b"\x00"), "DEBIT with 38 bytes", SW.WRONG_LENGTH)
    t.raw(
        debit_apdu(maced(key, fields, bytes([0x80, c.INS_DEBIT, 1, 0])), p1=0x01),
        "DEBIT P1=01",
        SW.INCORRECT_P1P2,
    )
    t.debit(
        P.BLT, 1_000, 0, label="nonce lc", note="DEBIT, well formed: the malformed ones did not use the PIN"
    )


@case(
    "debit",
    "wrong_mac",
    GRANTS,
    "A DEBIT whose MAC is not the one of its fields under the DEBIT key of the VERIFY (one MAC byte changed; "
    "then one field byte changed, as a relay would, under the right MAC): 6982, and the verification is "
    "consumed — the same DEBIT with the right MAC then gets 6982 too, so a MAC cannot be guessed across "
    "tries. After a new VERIFY, its key's MAC goes through.",
)
def _d_wrong_mac(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    key = t.last_debit_key
    fields = debit_data(P.BLT, 1_000, fixed_bytes("nonce mac 1", 8), TERMINAL_TIME, 0)
    t.raw(
        debit_apdu(flip_last(maced(key, fields))),
        "DEBIT, last MAC byte changed",
        SW.SECURITY_STATUS_NOT_SATISFIED,
    )
    t.raw(
        debit_apdu(maced(key, fields)),
        "DEBIT with the right MAC after the wrong one: the verification was consumed",
        SW.SECURITY_STATUS_NOT_SATISFIED,
    )
    t.verify_pin(PIN)
    key = t.last_debit_key
    relayed = debit_data(P.BLT, 600_000, fixed_bytes("nonce mac 1", 8), TERMINAL_TIME, 0)
    t.raw(
        debit_apdu(relayed + debit_mac(key, DEBIT_HEADER, fields)),
        "DEBIT amount changed to 600000 by a relay, with the terminal's MAC of amount 1000",
        SW.SECURITY_STATUS_NOT_SATISFIED,
    )
    t.verify_pin(PIN)
    rec = t.debit(P.BLT, 1_000, 0, label="nonce mac 2")
    _check(rec is not None and rec.balance_after == 599_000, "record")


@case(
    "debit",
    "verified_by_another_terminal",
    GRANTS,
    "A relay, or a second terminal, makes its own VERIFY after the terminal's (a new envelope, a new "
    "DEBIT key). The terminal's DEBIT, MACed under the key of its own VERIFY, gets 6982 and consumes the "
    "verification; the other key's DEBIT then gets 6982 too. Only the key of the VERIFY that holds the "
    "verification authorises a DEBIT.",
)
def _d_other_terminal(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN, "VERIFY by the terminal")
    ours = t.last_debit_key
    t.verify_pin(PIN, "VERIFY by another terminal (a new envelope, its own DEBIT key)")
    theirs = t.last_debit_key
    _check(ours != theirs, "two VERIFYs, two DEBIT keys")
    fields = debit_data(P.BLT, 1_000, fixed_bytes("nonce other 1", 8), TERMINAL_TIME, 0)
    t.raw(
        debit_apdu(maced(ours, fields)),
        "DEBIT MACed under the key of the first VERIFY (not the one the card holds)",
        SW.SECURITY_STATUS_NOT_SATISFIED,
    )
    t.raw(
        debit_apdu(maced(theirs, fields)),
        "DEBIT MACed under the key of the second VERIFY: the verification was consumed",
        SW.SECURITY_STATUS_NOT_SATISFIED,
    )
    t.debit_key = None
    t.verify_pin(PIN)
    rec = t.debit(P.BLT, 1_000, 0, label="nonce other 2")
    _check(rec is not None and rec.tx_counter == 1, "record")


@case("debit", "in_personalisation", BLANK, "DEBIT before activation: 6985.")
def _d_perso(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.debit(P.BLT, 1_000, 0, label="nonce blank", sw=SW.CONDITIONS_NOT_SATISFIED)


# READ LOG ------------------------------------------------------------------------------------------


def _three_debits(t: Tap) -> None:
    t.select(SELECT_NOTE)
    for i, (program, amount) in enumerate([(P.BLT, 100_000), (P.SEMBAKO, 1_000), (P.KESEHATAN, 0)]):
        t.verify_pin(PIN)
        t.debit(program, amount, i, label=f"nonce log {i + 1}")


@case(
    "read_log",
    "all",
    GRANTS,
    "READ LOG P2=00 after three DEBITs: all records, newest first, E1 { C2 record, 9E sig } each; "
    "over 256 bytes, so 61xx and GET RESPONSE.",
)
def _rl_all(t: Tap) -> None:
    _three_debits(t)
    records = t.read_log(0)
    _check([r.tx_counter for r in records] == [3, 2, 1], "newest first")


@case("read_log", "last_one", GRANTS, "READ LOG P2=01: the newest record only.")
def _rl_last(t: Tap) -> None:
    _three_debits(t)
    records = t.read_log(1)
    _check([r.tx_counter for r in records] == [3], "newest")


@case("read_log", "empty", GRANTS, "READ LOG on a card without transactions: 9000, no data.")
def _rl_empty(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.read_log(0)


@case(
    "read_log",
    "wraps_at_capacity",
    GRANTS,
    "17 check-ins: the log keeps the newest 16 (counters 17..2), read in 256-byte parts (61 00 = 256 "
    "or more left).",
)
def _rl_wrap(t: Tap) -> None:
    t.select(SELECT_NOTE)
    for i in range(17):
        t.verify_pin(PIN)
        t.debit(P.KESEHATAN, 0, i, label=f"nonce wrap {i + 1}")
    records = t.read_log(0)
    _check([r.tx_counter for r in records] == list(range(17, 1, -1)), "16 newest")


@case("read_log", "p2_too_big", GRANTS, "READ LOG P2 above 16 (the log capacity): 6A86; P1 not 00: 6A86.")
def _rl_p2(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(read_log_apdu(17), "READ LOG P2=11", SW.INCORRECT_P1P2)
    t.raw(bytes.fromhex("80B2010000"), "READ LOG P1=01", SW.INCORRECT_P1P2)


# LOAD GRANT ----------------------------------------------------------------------------------------


@case(
    "load_grant",
    "load_ok",
    PERSO,
    "LOAD GRANT C3 body || C4 kid || 9E issuer signature over KHBS-GR1 || body: 9000; the grant shows in "
    "GET DATA DF22 and in the signed state.",
)
def _lg_ok(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.load_grant(ISSUER_1.grant(grant_body(P.BLT, 600_000)), "LOAD GRANT BLT seq 1, 600000 rupiah")
    t.read_grants()
    body = t.authenticate("challenge 6")
    _check(body is not None and body.balances[0].remaining == 600_000, "balance")


@case("load_grant", "second_issuer_key", PERSO, "A grant signed with issuer key 2 (rotation): 9000.")
def _lg_issuer2(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.load_grant(ISSUER_2.grant(grant_body(P.SEMBAKO, 5_000)), "LOAD GRANT SEMBAKO signed by issuer_2")
    t.read_grants()


@case(
    "load_grant",
    "newer_replaces",
    GRANTS,
    "A newer grant (seq 2) replaces the program's grant, remaining balance and all.",
)
def _lg_newer(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 100_000, 0, label="nonce lg 1")
    t.load_grant(ISSUER_1.grant(grant_body(P.BLT, 300_000, seq=2)), "LOAD GRANT BLT seq 2, 300000")
    body = t.authenticate("challenge 7")
    _check(
        body is not None and (body.balances[0].grant_seq, body.balances[0].remaining) == (2, 300_000), "new"
    )


@case("load_grant", "same_again", GRANTS, "The grant the card already has, loaded again: 9104.")
def _lg_same(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.load_grant(
        ISSUER_1.grant(grant_body(P.BLT, 600_000)), "LOAD GRANT BLT seq 1 again", SW.SEQUENCE_NOT_NEWER
    )


@case("load_grant", "older_seq", GRANTS, "A grant with a lower sequence number than the card's: 9104.")
def _lg_older(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.load_grant(ISSUER_1.grant(grant_body(P.SEMBAKO, 8_000, seq=3)), "LOAD GRANT SEMBAKO seq 3")
    t.load_grant(
        ISSUER_1.grant(grant_body(P.SEMBAKO, 20_000, seq=2)),
        "LOAD GRANT SEMBAKO seq 2",
        SW.SEQUENCE_NOT_NEWER,
    )


@case("load_grant", "bad_issuer_signature", PERSO, "Issuer_1's kid but another key's signature: 6300.")
def _lg_bad_sig(t: Tap) -> None:
    t.select(SELECT_NOTE)
    body = grant_body(P.BLT, 600_000)
    t.load_grant(
        forged(body.encode(), body.signed_message(), ISSUER_1.kid), "forged grant", SW.AUTHENTICATION_FAILED
    )


@case("load_grant", "unknown_kid", PERSO, "A grant by an issuer key the card does not know: 6A88.")
def _lg_unknown_kid(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.load_grant(ROGUE.grant(grant_body(P.BLT, 600_000)), "grant signed by the rogue key", SW.DATA_NOT_FOUND)


@case("load_grant", "other_card", PERSO, "A grant bound to another card serial: 6A80.")
def _lg_other_card(t: Tap) -> None:
    t.select(SELECT_NOTE)
    signed = ISSUER_1.grant(grant_body(P.BLT, 600_000, serial=OTHER_SERIAL))
    t.load_grant(signed, "genuine grant for card 6271202600000043", SW.WRONG_DATA)


@case("load_grant", "kind_mismatch", PERSO, "A kind that is not the program's (BLT as QUANTITY): 9105.")
def _lg_kind(t: Tap) -> None:
    t.select(SELECT_NOTE)
    signed = ISSUER_1.grant(grant_body(P.BLT, 600_000, kind=c.Kind.QUANTITY))
    t.load_grant(signed, "BLT grant of kind QUANTITY", SW.WRONG_KIND)


@case(
    "load_grant",
    "invalid_body",
    PERSO,
    "Unknown program (09) or valid_from after valid_until: 6A80; broken TLV: 6A80.",
)
def _lg_invalid(t: Tap) -> None:
    t.select(SELECT_NOTE)
    unknown = GrantBody(SERIAL, 9, c.Kind.CASH, c.Unit.RUPIAH, 1, 1_000, GRANT_FROM, GRANT_UNTIL)
    t.load_grant(ISSUER_1.grant(unknown), "grant for program 09", SW.WRONG_DATA)
    backwards = grant_body(P.BLT, 1_000, valid_from=GRANT_UNTIL, valid_until=GRANT_FROM)
    t.load_grant(ISSUER_1.grant(backwards), "grant valid from after until", SW.WRONG_DATA)
    good = signed_object_tlv(c.TAG_GRANT_BODY, ISSUER_1.grant(grant_body(P.BLT, 1_000)))
    t.raw(load_grant_apdu(good[:-3]), "LOAD GRANT with the signature cut short", SW.WRONG_DATA)
    t.raw(load_grant_apdu(good[: 2 + GrantBody.SIZE]), "LOAD GRANT without kid and signature", SW.WRONG_DATA)


@case("load_grant", "chained", PERSO, "LOAD GRANT as a command chain of two blocks (CLA 90 then 80): 9000.")
def _lg_chained(t: Tap) -> None:
    t.select(SELECT_NOTE)
    data = signed_object_tlv(c.TAG_GRANT_BODY, ISSUER_1.grant(grant_body(P.BLT, 600_000)))
    t.chain(CommandApdu(c.CLA_PROPRIETARY, c.INS_LOAD_GRANT, 0, 0), data, [40], "LOAD GRANT")
    t.read_grants()


# SET STATUS ----------------------------------------------------------------------------------------


@case(
    "set_status",
    "block",
    GRANTS,
    "SET STATUS P1=8F with C7 status body || C4 kid || 9E issuer sig: blocked. DEBIT and VERIFY get 6985; "
    "RESET RETRY COUNTER and LOAD GRANT 6985 too; SELECT, GET DATA, INTERNAL AUTHENTICATE (life cycle 8F "
    "in the signed state) and READ LOG still work.",
)
def _ss_block(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.verify_pin(PIN)
    t.debit(P.BLT, 100_000, 0, label="nonce ss 1")
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1), "SET STATUS 8F (block), status seq 1")
    info = t.select("SELECT: life cycle 8F")
    _check(info is not None and info["life_cycle"] == L.BLOCKED, "blocked")
    t.read_credential()
    body = t.authenticate("challenge 8")
    _check(body is not None and body.life_cycle == L.BLOCKED, "signed state shows blocked")
    t.read_log(0)
    t.verify_pin(PIN, "VERIFY on a blocked card", SW.CONDITIONS_NOT_SATISFIED)
    t.debit(P.BLT, 1_000, 1, label="nonce ss 2", sw=SW.CONDITIONS_NOT_SATISFIED)
    t.raw(get_data_apdu(c.DO_CARD_SERIAL), "GET DATA DF24 on a blocked card (works)")
    nonce = t.ensure_nonce()
    assert nonce is not None
    data = reset_message_data(terminal_cert(), nonce, pin_block(RESET_PIN), label=t.label("ephemeral"))
    _raw_reset(t, data, "RESET RETRY COUNTER on a blocked card", SW.CONDITIONS_NOT_SATISFIED)
    t.load_grant(
        ISSUER_1.grant(grant_body(P.BLT, 1_000, seq=2)),
        "LOAD GRANT on a blocked card",
        SW.CONDITIONS_NOT_SATISFIED,
    )


@case("set_status", "unblock", GRANTS, "Block (seq 1) then unblock (P1=0F, seq 2): DEBIT works again.")
def _ss_unblock(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1), "SET STATUS 8F (block), seq 1")
    t.set_status(L.OPERATIONAL, status_signed(L.OPERATIONAL, 2), "SET STATUS 0F (unblock), seq 2")
    t.select("SELECT: life cycle 0F again")
    t.verify_pin(PIN)
    t.debit(P.BLT, 1_000, 0, label="nonce ss 3")


@case(
    "set_status",
    "replayed_status",
    GRANTS,
    "A status change whose sequence number is not above the card's: 9104 (replaying the old block).",
)
def _ss_replay(t: Tap) -> None:
    t.select(SELECT_NOTE)
    block = status_signed(L.BLOCKED, 1)
    t.set_status(L.BLOCKED, block, "SET STATUS 8F, seq 1")
    t.set_status(L.OPERATIONAL, status_signed(L.OPERATIONAL, 2), "SET STATUS 0F, seq 2")
    t.set_status(L.BLOCKED, block, "the seq 1 block again", SW.SEQUENCE_NOT_NEWER)
    t.set_status(
        L.BLOCKED, status_signed(L.BLOCKED, 2), "a block with seq 2 (= card's)", SW.SEQUENCE_NOT_NEWER
    )


@case(
    "set_status",
    "terminate",
    GRANTS,
    "Terminate (P1=FF): SELECT still answers (life cycle FF); GET DATA, INTERNAL AUTHENTICATE, READ LOG, "
    "VERIFY, SET STATUS: 6985.",
)
def _ss_terminate(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_status(L.TERMINATED, status_signed(L.TERMINATED, 1), "SET STATUS FF (terminate), seq 1")
    info = t.select("SELECT: life cycle FF")
    _check(info is not None and info["life_cycle"] == L.TERMINATED, "terminated")
    t.read_credential(SW.CONDITIONS_NOT_SATISFIED)
    t.read_serial(SW.CONDITIONS_NOT_SATISFIED)
    t.authenticate("challenge 9", sw=SW.CONDITIONS_NOT_SATISFIED)
    t.read_log(0, sw=SW.CONDITIONS_NOT_SATISFIED)
    t.verify_pin(PIN, "VERIFY on a terminated card", SW.CONDITIONS_NOT_SATISFIED)
    t.set_status(L.OPERATIONAL, status_signed(L.OPERATIONAL, 2), "no way back", SW.CONDITIONS_NOT_SATISFIED)


@case("set_status", "terminate_blocked", GRANTS, "A blocked card can be terminated.")
def _ss_terminate_blocked(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1), "SET STATUS 8F, seq 1")
    t.set_status(L.TERMINATED, status_signed(L.TERMINATED, 2), "SET STATUS FF, seq 2")
    t.select("SELECT: life cycle FF")


@case(
    "set_status",
    "refused",
    GRANTS,
    "Not a transition from the current state (0F to 0F, to 01): 6985; body for another state or card: "
    "6A80; unknown or forging key: 6A88 / 6300; P1 not a life-cycle state or P2 not 00: 6A86.",
)
def _ss_refused(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.set_status(L.OPERATIONAL, status_signed(L.OPERATIONAL, 1), "0F -> 0F", SW.CONDITIONS_NOT_SATISFIED)
    t.set_status(
        L.PERSONALISATION, status_signed(L.PERSONALISATION, 1), "0F -> 01", SW.CONDITIONS_NOT_SATISFIED
    )
    t.set_status(L.BLOCKED, status_signed(L.TERMINATED, 1), "P1=8F, body says FF", SW.WRONG_DATA)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1, serial=OTHER_SERIAL), "another card", SW.WRONG_DATA)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1, signer=ROGUE), "rogue key", SW.DATA_NOT_FOUND)
    body = StatusBody(SERIAL, L.BLOCKED, 1)
    forgery = forged(body.encode(), body.signed_message(), ISSUER_1.kid)
    t.set_status(L.BLOCKED, forgery, "issuer_1 kid, rogue signature", SW.AUTHENTICATION_FAILED)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 0), "status seq 0 (card: 0)", SW.SEQUENCE_NOT_NEWER)
    data = signed_object_tlv(c.TAG_STATUS_BODY, status_signed(L.BLOCKED, 1))
    t.raw(set_status_apdu(0x42, data), "SET STATUS P1=42", SW.INCORRECT_P1P2)
    t.raw(set_status_apdu(L.BLOCKED, data, p2=0x01), "SET STATUS P2=01", SW.INCORRECT_P1P2)
    t.set_status(L.BLOCKED, status_signed(L.BLOCKED, 1), "and the genuine block, seq 1")


# Personalisation -----------------------------------------------------------------------------------


@case(
    "personalisation",
    "full",
    BLANK,
    "The whole personalisation (as setup profile 'personalised'): SELECT, GENERATE KEY, PUT DATA serial, "
    "issuer keys, credential, personal data (with the holder salt), holder_ref, initial PIN, activate.",
)
def _p_full(t: Tap) -> None:
    personalise(t)
    t.select("SELECT: life cycle 0F")
    t.read_credential()


@case(
    "personalisation",
    "credential_chained",
    BLANK,
    "PUT DATA of the credential as a command chain (CLA 10 then 00): the card joins the blocks.",
)
def _p_chained_credential(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.generate_key()
    credential = credential_bytes()
    header = CommandApdu(c.CLA_ISO, c.INS_PUT_DATA, c.DO_CREDENTIAL >> 8, c.DO_CREDENTIAL & 0xFF)
    t.chain(header, credential, [100, 100], "PUT DATA DF21")
    _check(t.read_credential() == credential, "credential")


@case(
    "personalisation",
    "activate_incomplete",
    BLANK,
    "Activation before serial, key, issuer key, credential, PIN and holder_ref are all written: 6985.",
)
def _p_activate_incomplete(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.activate("SET STATUS 0F on a blank card", SW.CONDITIONS_NOT_SATISFIED)
    t.generate_key()
    t.put_data(c.DO_CARD_SERIAL, SERIAL, "PUT DATA DF24 serial")
    t.put_issuer_key(ISSUER_1, "PUT DATA DF25 issuer key 1")
    t.put_data(c.DO_CREDENTIAL, credential_bytes(), "PUT DATA DF21 credential")
    t.activate("SET STATUS 0F without a PIN", SW.CONDITIONS_NOT_SATISFIED)
    t.set_initial_pin(PIN)
    t.raw(set_status_apdu(L.OPERATIONAL, b"\x00"), "SET STATUS 0F with data", SW.WRONG_LENGTH)
    t.raw(set_status_apdu(L.BLOCKED), "SET STATUS 8F in personalisation", SW.CONDITIONS_NOT_SATISFIED)
    t.activate("SET STATUS 0F without holder_ref (DF28)", SW.CONDITIONS_NOT_SATISFIED)
    t.put_data(c.DO_HOLDER_REF, holder_reference()[:15], "PUT DATA DF28 with 15 bytes", SW.WRONG_LENGTH)
    t.put_data(c.DO_HOLDER_REF, holder_reference(), "PUT DATA DF28 holder_ref")
    t.raw(get_data_apdu(c.DO_HOLDER_REF), "GET DATA DF28: write-only, 6A88", SW.DATA_NOT_FOUND)
    t.activate("SET STATUS 0F: now complete (personal data is optional)")


@case(
    "personalisation",
    "after_activation",
    PERSO,
    "Personalisation commands on an operational card: 6985.",
)
def _p_after(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.generate_key("GENERATE KEY", SW.CONDITIONS_NOT_SATISFIED)
    t.put_data(c.DO_CARD_SERIAL, OTHER_SERIAL, "PUT DATA DF24", SW.CONDITIONS_NOT_SATISFIED)
    t.put_data(c.DO_CREDENTIAL, credential_bytes(), "PUT DATA DF21", SW.CONDITIONS_NOT_SATISFIED)
    t.put_issuer_key(ROGUE, "PUT DATA DF25 (a new issuer key)", SW.CONDITIONS_NOT_SATISFIED)
    t.set_initial_pin(NEW_PIN, "CHANGE REFERENCE DATA P1=01", SW.CONDITIONS_NOT_SATISFIED)
    t.activate("SET STATUS 0F without data", SW.CONDITIONS_NOT_SATISFIED)


@case(
    "personalisation",
    "put_data_checks",
    BLANK,
    "PUT DATA checks: serial of 8 bytes (6700), unknown object (6A88), issuer key not a P-256 point "
    "(6A80), a third issuer key (6A84), personal data over 128 bytes (6700), credential over 256 (6700).",
)
def _p_put_checks(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.put_data(c.DO_CARD_SERIAL, SERIAL[:7], "PUT DATA DF24 with 7 bytes", SW.WRONG_LENGTH)
    t.put_data(0xDF30, b"\x01", "PUT DATA DF30", SW.DATA_NOT_FOUND)
    bad_point = b"\x04" + bytes(64)
    t.raw(
        put_data_apdu(c.DO_ISSUER_KEYS, issuer_key_tlv(ISSUER_1.kid, bad_point)),
        "PUT DATA DF25 with a point not on the curve",
        SW.WRONG_DATA,
    )
    t.put_issuer_key(ISSUER_1, "issuer key 1")
    t.put_issuer_key(ISSUER_2, "issuer key 2")
    t.put_issuer_key(ISSUER_1, "issuer key 1 again: replaces itself")
    t.put_issuer_key(ROGUE, "a third issuer key", SW.NOT_ENOUGH_MEMORY)
    t.put_data(c.DO_PERSONAL_DATA, bytes(129), "PUT DATA DF26 with 129 bytes", SW.WRONG_LENGTH)
    header = CommandApdu(c.CLA_ISO, c.INS_PUT_DATA, c.DO_CREDENTIAL >> 8, c.DO_CREDENTIAL & 0xFF)
    t.chain(header, bytes(257), [200], "PUT DATA DF21 of 257 bytes", SW.WRONG_LENGTH)


@case(
    "personalisation", "generate_key_checks", BLANK, "GENERATE KEY with P1P2 not 0000: 6A86; twice: new key."
)
def _p_genkey(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.raw(generate_key_apdu(p1=0x01), "GENERATE KEY P1=01", SW.INCORRECT_P1P2)
    t.generate_key()
    t.raw(generate_key_apdu(), "GENERATE KEY again: a new key from the next DRBG bytes")


@case(
    "personalisation",
    "generate_key_after_credential",
    BLANK,
    "Once a credential is written (it binds the card key), GENERATE KEY is refused with 6985, before its "
    "P1P2 check; the key stays the one the credential was issued for.",
)
def _p_genkey_after_credential(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.generate_key()
    t.put_data(c.DO_CREDENTIAL, credential_bytes(), "PUT DATA DF21 credential")
    t.generate_key("GENERATE KEY after the credential", SW.CONDITIONS_NOT_SATISFIED)
    t.raw(generate_key_apdu(p1=0x01), "GENERATE KEY P1=01: 6985 comes first", SW.CONDITIONS_NOT_SATISFIED)
    t.read_card_public_key()


@case(
    "personalisation",
    "credential_before_key",
    BLANK,
    "PUT DATA of the credential before GENERATE KEY is refused with 6985: the credential binds a key the "
    "card must already have (a credential first would leave a card that can never be activated).",
)
def _p_credential_before_key(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.put_data(
        c.DO_CREDENTIAL, credential_bytes(), "PUT DATA DF21 with no key yet", SW.CONDITIONS_NOT_SATISFIED
    )
    t.generate_key()
    t.put_data(c.DO_CREDENTIAL, credential_bytes(), "PUT DATA DF21 after GENERATE KEY")


@case(
    "personalisation",
    "chaining_mismatch",
    BLANK,
    "A chain interrupted by another command: 6883, and the chain is dropped; the next command is new.",
)
def _p_chain_mismatch(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.generate_key()
    credential = credential_bytes()
    t.raw(put_data_apdu(c.DO_CREDENTIAL, credential[:100], cla=0x10), "PUT DATA DF21 chained block 1")
    t.raw(get_data_apdu(c.DO_CARD_SERIAL), "GET DATA in the middle of the chain", SW.LAST_COMMAND_EXPECTED)
    t.raw(get_data_apdu(c.DO_CARD_SERIAL), "GET DATA again: the chain is gone", SW.DATA_NOT_FOUND)
    t.raw(put_data_apdu(c.DO_CREDENTIAL, credential[:100], cla=0x10), "PUT DATA DF21 chained block 1")
    t.raw(
        put_data_apdu(c.DO_PERSONAL_DATA, credential[100:], cla=0x10),
        "a chained block for another object (P2 changed)",
        SW.LAST_COMMAND_EXPECTED,
    )
    t.put_data(c.DO_CREDENTIAL, credential, "PUT DATA DF21 unchained")


@case(
    "personalisation",
    "chaining_not_supported",
    PERSO,
    "Command chaining on an instruction that does not take it (VERIFY, DEBIT): 6884.",
)
def _p_chain_unsupported(t: Tap) -> None:
    t.select(SELECT_NOTE)
    verify = CommandApdu(0x10, c.INS_VERIFY, 0, c.PIN_REFERENCE, pin_block(PIN))
    t.raw(verify.encode(), "VERIFY with CLA 10", SW.CHAINING_NOT_SUPPORTED)
    data = maced(NO_DEBIT_KEY, debit_data(P.BLT, 1_000, fixed_bytes("nonce chain", 8), TERMINAL_TIME, 0))
    debit = CommandApdu(c.CLA_PROPRIETARY | c.CLA_CHAINING_BIT, c.INS_DEBIT, 0, 0, data)
    t.raw(debit.encode(), "DEBIT with CLA 90", SW.CHAINING_NOT_SUPPORTED)
    t.verify_pin(PIN, "VERIFY unchained afterwards: 9000")


@case(
    "personalisation",
    "chain_too_long",
    BLANK,
    "Chained data over 1024 bytes: 6A84 on the block that passes the limit, intermediate or last.",
)
def _p_chain_long(t: Tap) -> None:
    t.select(SELECT_NOTE)
    for i in range(4):
        t.raw(
            put_data_apdu(c.DO_CREDENTIAL, bytes([i]) * 255, cla=0x10), f"PUT DATA DF21 chained block {i + 1}"
        )
    t.raw(
        put_data_apdu(c.DO_CREDENTIAL, bytes(5), cla=0x10), "block 5: 1025 bytes in all", SW.NOT_ENOUGH_MEMORY
    )
    for i in range(4):
        t.raw(put_data_apdu(c.DO_CREDENTIAL, bytes([i]) * 255, cla=0x10), f"a new chain: block {i + 1}")
    t.raw(
        put_data_apdu(c.DO_CREDENTIAL, bytes(5)),
        "last block: 1025 bytes in all, over the limit too",
        SW.NOT_ENOUGH_MEMORY,
    )
    t.read_credential(SW.DATA_NOT_FOUND)


@case(
    "personalisation",
    "select_ends_chain",
    BLANK,
    "A SELECT in the middle of a chain ends it and drops its data, even a refused SELECT (6A86): a new "
    "PUT DATA then stores exactly its own data.",
)
def _p_select_ends_chain(t: Tap) -> None:
    t.select(SELECT_NOTE)
    t.generate_key()
    credential = credential_bytes()
    t.raw(put_data_apdu(c.DO_CREDENTIAL, b"stale" * 20, cla=0x10), "PUT DATA DF21 chained block 1 (junk)")
    t.raw(select_apdu(p1=0x00), "SELECT P1=00: refused, and the chain is dropped", SW.INCORRECT_P1P2)
    t.put_data(c.DO_CREDENTIAL, credential, "PUT DATA DF21 unchained")
    _check(t.read_credential() == credential, "no stale prefix")


# --- Writing ---------------------------------------------------------------------------------------


def keys_document() -> dict[str, Any]:
    roles = {
        "issuer_1": "issuer key on every personalised card; signs the credential, grants, status changes "
        "and terminal certificates",
        "issuer_2": "second issuer key on every personalised card (key rotation)",
        "terminal_1": "a counter terminal's key, certified by issuer_1 for PIN_RESET",
        "rogue": "on no card: makes signatures the card must refuse",
    }
    keys: dict[str, Any] = {}
    for name, signer in SIGNERS.items():
        keys[name] = {
            "seed": KEY_SEEDS[name],
            "role": roles[name],
            "private_scalar_TEST_ONLY": signer.key.private_numbers().private_value.to_bytes(32, "big").hex(),
            "public_point": signer.point.hex(),
            "kid": signer.kid.hex(),
        }
    keys["card"] = {
        "seed": None,
        "role": "the card's own key: what GENERATE KEY makes as the first use of the card DRBG "
        "(card_rng_seed below)",
        "private_scalar_TEST_ONLY": card_private_scalar().to_bytes(32, "big").hex(),
        "public_point": CARD_POINT.hex(),
        "public_point_compressed": compressed_point(CARD_KEY.public_key()).hex(),
    }
    return {
        "warning": "TEST ONLY. These private keys are published: never trust them outside tests.",
        "curve": "P-256 (secp256r1); points are SEC1; kid = first 8 bytes of "
        "SHA-256(SubjectPublicKeyInfo DER)",
        "key_from_seed": "scalar = int(SHA-256(UTF-8 seed)) mod (n - 1) + 1 "
        "(card_applet_spec.issuer.key_from_seed)",
        "signatures": "ECDSA P-256 / SHA-256, RFC 6979 deterministic nonces; DER, except the credential's "
        "COSE signature (raw r || s)",
        "keys": keys,
        "card_rng_seed": CARD_RNG_SEED.hex(),
        "drbg": "SHA-256(seed || 4-byte big-endian counter) for counter 0, 1, ...; each request takes the "
        "next n bytes of that stream",
        "clock": {
            "terminal_time": TERMINAL_TIME,
            "grant_valid_from": GRANT_FROM,
            "grant_valid_until": GRANT_UNTIL,
            "certificate_valid_until": CERT_UNTIL,
            "credential_issued_at": ISSUED_AT,
            "credential_expires_at": EXPIRES_AT,
        },
        "terminal_id": TERMINAL_ID.hex(),
        "counter_terminal_id": COUNTER_TERMINAL_ID.hex(),
        "terminal_values": "challenges and nonces are SHA-256('KHBS vector ' || label), first 16 / 8 bytes",
    }


def setup_document(profiles: dict[str, Profile]) -> dict[str, Any]:
    return {
        "description": "Setup profiles: the exchanges that take a blank card (random source "
        "Drbg(card_rng_seed)) to a known state. Replay them, then a case's exchanges, on the same card.",
        "keys": "keys.json",
        "profiles": {
            name: {
                "description": p.description,
                "card_rng_seed": CARD_RNG_SEED.hex(),
                "parameters": p.parameters,
                "exchanges": p.exchanges,
            }
            for name, p in profiles.items()
        },
    }


def case_documents(profiles: dict[str, Profile]) -> dict[str, dict[str, Any]]:
    out = {}
    for file, (command, description) in FILES.items():
        cases = []
        for cd in CASES[file]:
            t = Tap(profiles, cd.setup)
            try:
                cd.record(t)
            except VectorError as exc:
                raise VectorError(f"{file}:{cd.name}: {exc}") from exc
            except (TlvError, ValueError) as exc:
                raise VectorError(f"{file}:{cd.name}: cannot parse the card's answer: {exc}") from exc
            cases.append(
                {
                    "name": cd.name,
                    "description": cd.description,
                    "setup": cd.setup,
                    "card_rng_seed": CARD_RNG_SEED.hex(),
                    "exchanges": t.exchanges,
                    "steps": t.steps,
                }
            )
        out[file] = {
            "command": command,
            "description": description,
            "keys": "keys.json",
            "setup": "setup.json",
            "cases": cases,
        }
    return out


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def generate() -> dict[str, str]:
    """File name -> content of every vector file."""
    profiles = build_profiles()
    files = {"keys.json": render(keys_document()), "setup.json": render(setup_document(profiles))}
    for name, doc in case_documents(profiles).items():
        files[f"{name}.json"] = render(doc)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m card_applet_spec.vectorgen", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--out", type=Path, default=VECTOR_DIR, help="output directory (default: %(default)s)"
    )
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files differ")
    args = parser.parse_args(argv)
    files = generate()
    out: Path = args.out
    if args.check:
        stale = [n for n, text in files.items() if not (out / n).is_file() or (out / n).read_text() != text]
        for name in stale:
            print(f"out of date: {out / name}", file=sys.stderr)
        return 1 if stale else 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text)
    n_cases = sum(len(v) for v in CASES.values())
    print(f"wrote {len(files)} files, {n_cases} cases, to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

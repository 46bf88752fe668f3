"""Fuzz targets: every parser that reads bytes from a card, a reader, a file, a QR code or the network.

One definition for the bounded property tests (``tests/test_fuzz_*.py``) and the long campaign
(``python -m benchmarks.fuzz``). A :class:`Target` names a parser, the typed errors it may raise and a
seed corpus of valid inputs made from a reference card, a signed trust list and status data, a receipt
QR code and sync answers. The contract checked on every input: the parser returns, or raises one of
its typed errors; anything else (IndexError, KeyError, struct.error, a cbor2 or Unicode error, a
RecursionError, ...) is a defect.

Inputs are bytes. Text parsers (QR payloads, NIKs) read them as Latin-1, so every byte is one
character and byte-level mutations stay meaningful. Card answers are whole responses (data + SW1 SW2).
Parsers whose input is signed (trust list, status data) have two targets: the signed bytes as received
(checked up to the signature), and a payload re-signed by the right key, so the fuzzer reaches the
decoder behind the signature; those targets are signature-bound and run slower.
"""

from __future__ import annotations

import binascii
import functools
import json
import os
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from card_applet_spec import constants as c
from card_applet_spec.cose import sign1
from card_applet_spec.credential import CredentialError, decode_credential
from card_applet_spec.issuer import IssuerSigner, key_from_seed
from card_applet_spec.pin_envelope import EnvelopeError, open_envelope, private_key_from_scalar, seal
from card_applet_spec.records import (
    AuthBody,
    Balance,
    GrantBody,
    RecordError,
    StatusBody,
    TerminalCertBody,
    TxRecord,
)
from card_applet_spec.reference_card import MemoryStore, ReferenceCard
from card_applet_spec.reference_card.state import StateFileError, state_from_bytes, state_to_bytes
from card_applet_spec.tlv import TlvError, iter_tlv, parse_tlv
from province.issuance import GrantSpec, Holder
from province.nik import NikError, parse_nik
from province.receipt_qr import (
    Base45Error,
    QrPayloadError,
    b45decode,
    decode_qr_payload,
    encode_qr_payload,
    verify_qr_payload,
)
from province.statuslist import (
    TYP_DELTA,
    TYP_SNAPSHOT,
    StatusListError,
    build_delta,
    build_snapshot,
    compress_list,
    decode_changes,
    decompress_list,
    verify_delta,
    verify_snapshot,
)
from province.trust import (
    TYP_TRUST_LIST,
    IssuerKeyEntry,
    SignedDataError,
    StatusListKey,
    TerminalEntry,
    TrustList,
    TrustListError,
    verify_trust_list,
)
from terminal.card.connection import CardConnectionError, Connection, InProcessConnection
from terminal.card.errors import CardSessionError
from terminal.card.session import KhbsSession, parse_personal_data, parse_signed_tx
from terminal.catalogue import Catalogue
from terminal.db import make_engine
from terminal.ledger import Ledger
from terminal.pending import PendingUpdates
from terminal.personalise import personalise
from terminal.revocation import FreshnessPolicy, RevocationCache, RevocationError
from terminal.sync import SyncClient, Syncer, SyncError, SyncStateStore
from terminal.tap import check_tap
from terminal.truststore import (
    TYP_ROOT_ROTATION,
    RootRotation,
    TrustAnchor,
    TrustAnchorError,
    TrustStore,
    sign_root_rotation,
    verify_root_rotation,
)
from terminal.verify import FixedTrust, Verifier

Source = Literal["card", "reader", "file", "qr", "network"]
SOURCES: tuple[Source, ...] = ("card", "reader", "file", "qr", "network")

NOW = 1_798_761_600  # 2027-01-01T00:00:00Z, as the test world
DAY = 86_400
PIN = "246810"
CHALLENGE = bytes(range(1, 17))
TERMINAL_ID = b"T6271001"
NONCE = b"\x5a" * 8
STATUS_SIZE = 1000
LIST_ID = "khbs-fuzz"
OK = b"\x90\x00"


@dataclass(frozen=True)
class Target:
    """One parser: ``run(data)`` feeds it one input; ``typed`` are the errors it may raise."""

    name: str
    source: Source
    run: Callable[[bytes], object]
    typed: tuple[type[Exception], ...]
    seeds: tuple[bytes, ...]
    examples: int = 300  # hypothesis examples in the CI-bounded tests
    max_size: int = 600  # size bound for random (not mutated) inputs


def untyped(target: Target, data: bytes) -> Exception | None:
    """The exception ``target`` raised for ``data`` that is not one of its typed errors, else None."""
    try:
        target.run(data)
    except target.typed:
        return None
    except Exception as exc:  # the defect we look for: any other exception (RecursionError included)
        return exc
    return None


# --- mutations ----------------------------------------------------------------------------------------

#: Byte values that sit on format boundaries: BER-TLV long lengths (81, 82) and bad tags (00, FF), CBOR
#: initial bytes with 1-8 byte arguments or an indefinite length (18-1B, 1F, 38, 58, 5F, 78, 7F, 98, 9F,
#: B8, BF, D8, F9-FB, FF), signed limits (7F, 80), status-word halves (61, 6C, 63, 90).
INTERESTING_BYTES = bytes.fromhex(
    "00 01 02 03 7f 80 81 82 83 84 ff 18 19 1a 1b 1f 38 58 59 5f 78 79 7f 98 9f b8 bf c0 d8 d9"
    " f4 f5 f6 f7 f9 fa fb ff 61 6c 63 90 30 3a"
)
INTERESTING_WORDS = (
    0,
    1,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
)
#: Tokens for text formats (JSON bodies, base45 and NIK text) and CBOR heads of big or deep items.
TOKENS = (
    b"null",
    b"true",
    b"false",
    b"0",
    b"-1",
    b"1e400",
    b"-1e400",
    b"NaN",
    b"Infinity",
    b"1.5",
    b"18446744073709551616",
    b"99999999999999999999999999",
    b'"\\ud800"',
    b'"\\u0000"',
    b"[]",
    b"{}",
    b'""',
    b"[" * 40,
    b'{"a":' * 20,
    b'"2027-13-45"',
    b'"9999-12-31T23:59:59+14:00"',
    b"KHBS1:",
    b"\x9f" * 30,
    b"\x81" * 30,
    b"\xc0\x00",
    b"\x1b\xff\xff\xff\xff\xff\xff\xff\xff",
    b"\x5a\xff\xff\xff\xff",
    b"\xd8\x12",
    b"\xf9\x7e\x00",
    b"\xef\xbf\xbf",
    b"\xc3\xa9",
    b"\xed\xa0\x80",
    b"::",
    b"%%%",
    b"GGW",
    b" ",
    b".",
)


def mutate(data: bytes, rng: random.Random, corpus: list[bytes]) -> bytes:
    """One to four stacked mutations of ``data``: bit flips, byte and word values at format
    boundaries, insertions, deletions, truncation, duplication, splicing with another corpus entry,
    length-field tweaks and tokens of the text and CBOR formats."""
    buf = bytearray(data)
    for _ in range(1 + int(rng.random() ** 2 * 4)):
        op = rng.randrange(12)
        n = len(buf)
        pos = rng.randrange(n) if n else 0
        if op == 0 and n:  # bit flip
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # random byte
            buf[pos] = rng.randrange(256)
        elif op == 2 and n:  # interesting byte
            buf[pos] = INTERESTING_BYTES[rng.randrange(len(INTERESTING_BYTES))]
        elif op == 3:  # insert random bytes
            buf[pos:pos] = rng.randbytes(rng.choice((1, 1, 2, 4, 8, 32)))
        elif op == 4 and n:  # delete a range
            del buf[pos : pos + rng.choice((1, 1, 2, 4, 16, 64))]
        elif op == 5 and n:  # truncate
            del buf[rng.randrange(n) :]
        elif op == 6 and n:  # duplicate a range elsewhere
            start = rng.randrange(n)
            chunk = bytes(buf[start : start + rng.choice((1, 2, 4, 16, 64, 256))])
            at = rng.randrange(n + 1)
            buf[at:at] = chunk
        elif op == 7 and corpus:  # splice: our head, another entry's tail
            other = corpus[rng.randrange(len(corpus))]
            cut = rng.randrange(len(other) + 1)
            buf = buf[:pos] + other[cut:]
        elif op == 8 and n:  # length-field tweak: small step, or the bytes that follow
            buf[pos] = (buf[pos] + rng.choice((-2, -1, 1, 2, 0x40, 0x80))) & 0xFF
            if rng.random() < 0.3:
                buf[pos] = min(255, n - pos - 1)
        elif op == 9 and n:  # interesting big-endian word
            width = rng.choice((2, 4))
            value = INTERESTING_WORDS[rng.randrange(len(INTERESTING_WORDS))] & ((1 << (8 * width)) - 1)
            buf[pos : pos + width] = value.to_bytes(width, "big")
        elif op == 10 and n:  # CBOR head: keep the major type, take a long or indefinite argument
            buf[pos] = (buf[pos] & 0xE0) | rng.choice((0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1F))
        else:  # a token of a text format or a CBOR head, inserted or written over
            token = TOKENS[rng.randrange(len(TOKENS))]
            if rng.random() < 0.5:
                buf[pos:pos] = token
            else:
                buf[pos : pos + len(token)] = token
    return bytes(buf)


# --- the world the seeds come from -----------------------------------------------------------------


class _Recorder:
    """A Connection that keeps every answer (data + SW) by command header (INS P1 P2)."""

    def __init__(self, inner: Connection) -> None:
        self.inner = inner
        self.answers: dict[bytes, list[bytes]] = {}
        self.commands: list[bytes] = []
        self._last: bytes | None = None

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw = self.inner.send_and_receive(apdu)
        self.commands.append(apdu)
        answer = data + sw.to_bytes(2, "big")
        if apdu[1] == c.INS_GET_RESPONSE and self._last is not None:
            answers = self.answers[self._last]  # the rest of the previous command's answer
            answers[-1] = answers[-1][:-2] + answer
        else:
            self._last = apdu[1:4]
            self.answers.setdefault(self._last, []).append(answer)
        return data, sw

    def close(self) -> None:
        self.inner.close()


class _Answering:
    """An in-process card that answers every command with the same response (data + SW1 SW2)."""

    def __init__(self, response: bytes) -> None:
        self.response = response

    def transmit(self, apdu: bytes) -> bytes:
        return self.response


class _Scripted:
    """An in-process card that answers with the given responses in turn (then the last one again)."""

    def __init__(self, responses: list[bytes]) -> None:
        self.responses = responses
        self.i = 0

    def transmit(self, apdu: bytes) -> bytes:
        response = self.responses[min(self.i, len(self.responses) - 1)]
        self.i += 1
        return response


class _Statuses:
    """Revocation data for the tap target: everything VALID, an hour old."""

    def refresh(self) -> None:
        return None

    def status(self, index: int) -> int:
        return 0

    def age(self, now: float) -> float | None:
        return 3600.0

    def covers(self, index: int) -> bool:
        return 0 <= index < STATUS_SIZE


class _Response:
    def __init__(self, body: bytes) -> None:
        self.status_code = 200
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class _Http:
    """An HTTP client whose every answer is ``body`` (the sync client parses it as the server's)."""

    def __init__(self) -> None:
        self.body = b"{}"

    def request(self, method: str, path: str, **kw: object) -> _Response:
        return _Response(self.body)

    def close(self) -> None:
        return None


@dataclass
class World:
    """Keys, a personalised reference card and its recorded answers, signed data and sync answers."""

    issuer: IssuerSigner
    root: IssuerSigner
    status_key: IssuerSigner
    card_state: bytes
    answers: dict[bytes, list[bytes]]
    commands: list[bytes]
    credential: bytes
    trust_list: TrustList
    trust_raw: bytes
    snapshot: bytes
    delta: bytes
    qr: str
    pending_body: bytes
    catalogue_body: bytes

    def answer(self, ins: int, p1: int = 0, p2: int = 0) -> bytes:
        return self.answers[bytes([ins, p1, p2])][-1]


@functools.cache
def world() -> World:
    issuer = IssuerSigner(key_from_seed("KHBS fuzz issuer"))
    root = IssuerSigner(key_from_seed("KHBS fuzz root"))
    status_key = IssuerSigner(key_from_seed("KHBS fuzz status list"))
    card = ReferenceCard(MemoryStore())
    recorder = _Recorder(InProcessConnection(card))
    session = KhbsSession(recorder)
    serial = bytes.fromhex("6271000000000001")
    issued = personalise(
        session,
        serial=serial,
        holder=Holder("6271034512870001", "Siti Rahmawati", "6271030101090001"),
        pin=PIN,
        issuer=issuer,
        status_index=7,
        issued_at=NOW - 10 * DAY,
        expires_at=NOW + 5 * 365 * DAY,
        grants=[
            GrantSpec(c.Program.BLT, 600_000, NOW - DAY, NOW + 30 * DAY),
            GrantSpec(c.Program.SEMBAKO, 10_000, NOW - DAY, NOW + 30 * DAY),
            GrantSpec(c.Program.PELATIHAN, c.GrantStatus.ELIGIBLE, NOW - DAY, NOW + 365 * DAY),
        ],
    )
    card_state = state_to_bytes(card.state)
    card.reset()
    session = KhbsSession(recorder)
    session.select()
    key = decode_credential(session.read_credential()).claims.card_key
    session.read_card_public_key()
    session.read_grants()
    session.pin_status()
    auth = session.authenticate(CHALLENGE)
    session.verify_pin(PIN, key)
    session.read_personal_data()
    tx = session.debit(
        program=c.Program.BLT,
        amount=50_000,
        terminal_id=TERMINAL_ID,
        nonce=NONCE,
        terminal_time=NOW,
        expected_counter=auth.body.tx_counter,
    )
    session.read_log()

    trust_list = TrustList(
        seq=1,
        issued_at=NOW - 3600,
        issuers=(IssuerKeyEntry(issuer.kid, issuer.point, 0, 2**32, 2**32),),
        status_keys=(StatusListKey(status_key.kid, status_key.point),),
        terminals=(TerminalEntry(TERMINAL_ID.decode(), root.point, 1, "Kantor Desa", 6271),),
    )
    statuses = bytearray(STATUS_SIZE // 4)
    statuses[1] = 0b0100  # index 5 revoked
    snapshot = build_snapshot(statuses, 1, issued_at=NOW - 3600, list_id=LIST_ID, key=status_key.key)
    delta = build_delta(
        {3: 1, 9: 2, 5: 0}, 1, size=STATUS_SIZE, issued_at=NOW - 1800, list_id=LIST_ID, key=status_key.key
    )
    grant = issuer.grant(GrantSpec(c.Program.BLT, 600_000, NOW, NOW + 30 * DAY, grant_seq=2).body(serial))
    status = issuer.status(StatusBody(serial, c.LifeCycle.BLOCKED, 1))
    pending = {
        "grants": [
            {
                "id": 1,
                "card_serial": serial.hex(),
                "program": 1,
                "grant_seq": 2,
                "body": _b64(grant.body),
                "kid": _b64(grant.kid),
                "signature": _b64(grant.signature),
            }
        ],
        "status_commands": [
            {
                "id": 2,
                "card_serial": serial.hex(),
                "new_state": int(c.LifeCycle.BLOCKED),
                "status_seq": 1,
                "body": _b64(status.body),
                "kid": _b64(status.kid),
                "signature": _b64(status.signature),
            }
        ],
    }
    catalogue = {
        "items": [
            {
                "id": "job-1",
                "kind": "job",
                "program": 6,
                "region": 6271,
                "title": "Operator alat berat",
                "organisation": "Disnakertrans",
                "location": "Palangka Raya",
                "slots": 3,
                "opens_on": "2027-01-01",
                "closes_on": "2027-02-01",
                "details": "SIM B1",
            }
        ]
    }
    return World(
        issuer=issuer,
        root=root,
        status_key=status_key,
        card_state=card_state,
        answers=recorder.answers,
        commands=recorder.commands,
        credential=issued.credential,
        trust_list=trust_list,
        trust_raw=sign1(trust_list.to_payload(), root.key, typ=TYP_TRUST_LIST),
        snapshot=snapshot,
        delta=delta,
        qr=encode_qr_payload(issued.credential, tx.record_bytes, tx.signature),
        pending_body=json.dumps(pending).encode(),
        catalogue_body=json.dumps(catalogue).encode(),
    )


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _cose_payload(raw: bytes) -> bytes:
    """The payload of a COSE_Sign1 we made (seeds for the re-signed targets)."""
    import cbor2

    value = cbor2.loads(raw).value[2]
    assert isinstance(value, bytes)
    return value


# --- card answers ------------------------------------------------------------------------------------

_CARD_TYPED: tuple[type[Exception], ...] = (CardSessionError, CardConnectionError)


def _session(response: bytes) -> KhbsSession:
    return KhbsSession(InProcessConnection(_Answering(response)))


def _chain(data: bytes) -> list[bytes]:
    """Split an input into responses: each is a length byte and that many bytes; the rest is the last."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data) and len(out) < 8:
        n = data[pos]
        out.append(data[pos + 1 : pos + 1 + n])
        pos += 1 + n
    return out or [b""]


def _unchain(responses: list[bytes]) -> bytes:
    return b"".join(bytes([len(r)]) + r for r in responses)


def _collected(data: bytes) -> object:
    return KhbsSession(InProcessConnection(_Scripted(_chain(data)))).read_credential()


def _split_answer(response: bytes, size: int) -> list[bytes]:
    """A 9000 answer as the card sends it in ``size``-byte pieces behind 61xx (GET RESPONSE)."""
    data = response[:-2]
    pieces = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    out = []
    for i, piece in enumerate(pieces):
        rest = len(data) - size * (i + 1)
        out.append(piece + (bytes([0x61, min(rest, 256) & 0xFF]) if rest > 0 else OK))
    return out


def _tap(w: World) -> Callable[[bytes], object]:
    """End to end: one of the three answers of a check tap replaced; the verdict must come back."""
    verifier = Verifier(FixedTrust(w.trust_list), _Statuses(), FreshnessPolicy())
    base = [
        w.answer(c.INS_SELECT, c.SELECT_BY_NAME, 0),
        w.answer(c.INS_GET_DATA, c.DO_CREDENTIAL >> 8, c.DO_CREDENTIAL & 0xFF),
        w.answer(c.INS_INTERNAL_AUTHENTICATE),
    ]

    def run(data: bytes) -> object:
        responses = list(base)
        if data:
            responses[data[0] % 3] = data[1:]
        card = _Scripted(responses)
        return check_tap(KhbsSession(InProcessConnection(card)), verifier, NOW, challenge=CHALLENGE)

    return run


def _reference_card(w: World) -> Callable[[bytes], object]:
    """The reference card after SELECT and a verified PIN takes any command APDUs and answers a SW."""
    select = w.commands[0]
    verify = next(cmd for cmd in w.commands if cmd[1] == c.INS_VERIFY and len(cmd) > 5)
    state = state_from_bytes(w.card_state)

    def run(data: bytes) -> object:
        card = ReferenceCard(MemoryStore(state), rng=lambda n: bytes(n))
        card.transmit(select)
        card.transmit(verify)
        for apdu in _chain(data):
            response = card.transmit(apdu)
            if len(response) < 2:
                raise AssertionError(f"answer of {len(response)} bytes: no status word")
        return None

    return run


def _card_targets(w: World) -> list[Target]:
    cred = w.answer(c.INS_GET_DATA, c.DO_CREDENTIAL >> 8, c.DO_CREDENTIAL & 0xFF)
    auth = w.answer(c.INS_INTERNAL_AUTHENTICATE)
    debit = w.answer(c.INS_DEBIT)
    log = w.answer(c.INS_READ_LOG)
    fci = w.answer(c.INS_SELECT, c.SELECT_BY_NAME, 0)
    auth_body = parse_tlv(parse_tlv(auth[:-2])[c.TAG_SIGNED_AUTH])[c.TAG_AUTH_BODY]
    signed_tx = parse_tlv(debit[:-2])[c.TAG_SIGNED_TX]
    record = parse_tlv(signed_tx)[c.TAG_TX_RECORD]
    grants = w.answer(c.INS_GET_DATA, c.DO_GRANTS >> 8, c.DO_GRANTS & 0xFF)
    grant_body = parse_tlv(next(v for _, v in iter_tlv(grants[:-2])))[c.TAG_GRANT_BODY]
    cert_body = TerminalCertBody(TERMINAL_ID, 1, NOW + DAY, w.root.point).encode()
    status_body = StatusBody(bytes(8), c.LifeCycle.BLOCKED, 1).encode()
    balance = Balance(1, 1, 1, 1, 600_000, NOW + DAY).encode()

    def session_target(name: str, answer: bytes, call: Callable[[KhbsSession], object]) -> Target:
        return Target(name, "card", lambda d: call(_session(d)), _CARD_TYPED, (answer,))

    pk = w.answer(c.INS_GET_DATA, c.DO_CARD_PUBLIC_KEY >> 8, c.DO_CARD_PUBLIC_KEY & 0xFF)
    generate = w.answer(c.INS_GENERATE_KEY)
    personal = w.answer(c.INS_GET_DATA, c.DO_PERSONAL_DATA >> 8, c.DO_PERSONAL_DATA & 0xFF)
    pin = w.answers[bytes([c.INS_VERIFY, 0, c.PIN_REFERENCE])]
    card_key = private_key_from_scalar(state_from_bytes(w.card_state).private_scalar)
    point = card_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    serial, nonce = bytes.fromhex("6271000000000001"), bytes(range(16))
    envelope = seal(point, c.INS_VERIFY, serial, nonce, b"246810\xff\xff")
    return [
        Target("tlv", "card", parse_tlv, (TlvError,), (fci[:-2], auth[:-2], debit[:-2], log[:-2])),
        Target("credential", "card", decode_credential, (CredentialError,), (cred[:-2],), max_size=300),
        Target("auth_body", "card", AuthBody.decode, (RecordError,), (auth_body,)),
        Target("tx_record", "card", TxRecord.decode, (RecordError,), (record,)),
        Target("grant_body", "card", GrantBody.decode, (RecordError,), (grant_body,)),
        Target("status_body", "card", StatusBody.decode, (RecordError,), (status_body,)),
        Target("terminal_cert_body", "card", TerminalCertBody.decode, (RecordError,), (cert_body,)),
        Target("balance", "card", Balance.decode, (RecordError,), (balance,)),
        Target("signed_tx", "card", parse_signed_tx, (CardSessionError,), (signed_tx,)),
        Target("personal_data", "card", parse_personal_data, (CardSessionError,), (personal[:-2],)),
        session_target("answer_select", fci, lambda s: s.select()),
        session_target("answer_public_key", pk, lambda s: s.read_card_public_key()),
        session_target("answer_grants", grants, lambda s: s.read_grants()),
        session_target("answer_personal_data", personal, lambda s: s.read_personal_data()),
        session_target("answer_authenticate", auth, lambda s: s.authenticate(CHALLENGE)),
        session_target(
            "answer_debit",
            debit,
            lambda s: s.debit(
                program=1,
                amount=1,
                terminal_id=TERMINAL_ID,
                nonce=NONCE,
                terminal_time=NOW,
                expected_counter=0,
            ),
        ),
        session_target("answer_read_log", log, lambda s: s.read_log()),
        session_target("answer_generate_key", generate, lambda s: s.generate_key()),
        Target(
            "answer_pin_status",
            "card",
            lambda d: _session(d).pin_status(),
            _CARD_TYPED,
            tuple(pin) + (b"\x63\xc2", b"\x69\x83"),
        ),
        Target(
            "answer_get_response_chain",
            "card",
            _collected,
            _CARD_TYPED,
            (
                _unchain(_split_answer(cred, 100)),
                _unchain(_split_answer(cred, 60)),
                _unchain([b"\x6c\x10", cred]),
            ),
        ),
        Target(
            "tap",
            "card",
            _tap(w),
            _CARD_TYPED,
            tuple(bytes([i]) + a for i, a in enumerate((fci, cred, auth))),
        ),
        Target(
            "pin_envelope",
            "reader",
            lambda d: open_envelope(card_key, c.INS_VERIFY, serial, nonce, d, c.PIN_BLOCK_LEN),
            (EnvelopeError,),
            (envelope,),
        ),
        Target(
            "pin_envelope_sealed",
            "reader",
            lambda d: open_envelope(
                card_key,
                c.INS_VERIFY,
                serial,
                nonce,
                seal(point, c.INS_VERIFY, serial, nonce, d),
                c.PIN_BLOCK_LEN,
            ),
            (EnvelopeError,),
            (b"246810\xff\xff", b"1234"),
            examples=100,
            max_size=64,
        ),
        Target(
            "reference_card_apdus",
            "reader",
            _reference_card(w),
            (),
            tuple(_unchain(w.commands[i : i + 3]) for i in range(0, len(w.commands), 3)),
            examples=200,
        ),
    ]


# --- files: trust list, status data, card files ------------------------------------------------------


def _file_targets(w: World) -> list[Target]:
    root_public = w.root.key.public_key()
    status_public = w.status_key.key.public_key()
    trust_payload = w.trust_list.to_payload()
    rotation = sign_root_rotation(RootRotation(1, NOW, w.issuer.point), w.root.key)

    def resigned_trust(payload: bytes) -> object:
        return verify_trust_list(sign1(payload, w.root.key, typ=TYP_TRUST_LIST), root_public)

    def resigned_snapshot(payload: bytes) -> object:
        return verify_snapshot(sign1(payload, w.status_key.key, typ=TYP_SNAPSHOT), status_public)

    def resigned_delta(payload: bytes) -> object:
        return verify_delta(sign1(payload, w.status_key.key, typ=TYP_DELTA), status_public)

    return [
        Target("trust_list_payload", "file", TrustList.from_payload, (TrustListError,), (trust_payload,)),
        Target(
            "trust_list_signed",
            "file",
            lambda d: verify_trust_list(d, root_public),
            (TrustListError,),
            (w.trust_raw,),
        ),
        Target(
            "trust_list_resigned", "file", resigned_trust, (TrustListError,), (trust_payload,), examples=150
        ),
        Target(
            "trust_store_row",
            "file",
            _trust_store_row(w),
            (TrustListError,),
            (b"\x00" + w.trust_raw, b"\x01" + rotation),
            examples=100,
        ),
        Target(
            "status_snapshot_signed",
            "file",
            lambda d: verify_snapshot(d, status_public),
            (StatusListError,),
            (w.snapshot,),
        ),
        Target(
            "status_snapshot_resigned",
            "file",
            resigned_snapshot,
            (StatusListError,),
            (_cose_payload(w.snapshot),),
            examples=150,
        ),
        Target(
            "status_delta_resigned",
            "file",
            resigned_delta,
            (StatusListError,),
            (_cose_payload(w.delta),),
            examples=150,
        ),
        Target(
            "status_changes",
            "file",
            lambda d: decode_changes(d, STATUS_SIZE),
            (StatusListError,),
            (b"\x0d\x15\x04", b"\x00\x81\x01"),
        ),
        Target(
            "status_list_xz",
            "file",
            lambda d: decompress_list(d, STATUS_SIZE),
            (StatusListError,),
            (compress_list(bytes(STATUS_SIZE // 4)),),
            examples=150,
        ),
        Target(
            "revocation_apply",
            "file",
            _revocation_apply(w),
            (StatusListError, RevocationError),
            (b"\x00" + w.snapshot, b"\x01" + w.delta),
            examples=100,
        ),
        Target("card_file", "file", state_from_bytes, (StateFileError,), (w.card_state,), max_size=2000),
        Target(
            "trust_anchor_file",
            "file",
            _trust_anchor_file,
            (TrustAnchorError,),
            (TrustAnchor(w.root.key.public_key()).to_pem(),),
            examples=150,
        ),
        Target(
            "root_rotation_signed",
            "file",
            lambda d: verify_root_rotation(d, root_public, 1),
            (TrustListError,),
            (rotation,),
        ),
        Target(
            "root_rotation_resigned",
            "file",
            lambda d: verify_root_rotation(sign1(d, w.root.key, typ=TYP_ROOT_ROTATION), root_public, 1),
            (TrustListError,),
            (_cose_payload(rotation),),
            examples=150,
        ),
    ]


def _trust_store_row(w: World) -> Callable[[bytes], object]:
    """Terminal disk: the stored trust list (first byte 0) or a root rotation link (1) written by someone
    else while the terminal was off; reading them back must refuse them (or find no list)."""
    from sqlalchemy import delete, insert, update

    from terminal import truststore

    engine = make_engine(":memory:")
    store = TrustStore(engine, TrustAnchor(w.root.key.public_key()))
    store.update(w.trust_raw, fetched_at=NOW)
    writes = iter(range(1, 1 << 62))

    def run(data: bytes) -> object:
        with engine.begin() as conn:  # a new fetch time: the store cannot answer from its cache
            conn.execute(delete(truststore._chain_table))
            raw = data[1:]
            if data[:1] == b"\x01":
                conn.execute(insert(truststore._chain_table).values(position=1, raw=raw))
                raw = w.trust_raw
            conn.execute(update(truststore._trust_table).values(raw=raw, fetched_at=NOW + next(writes)))
        return store.current()

    return run


def _trust_anchor_file(data: bytes) -> object:
    """The root of trust installed with the terminal: a PEM file (any bytes on the disk)."""
    path = Path(tempfile.gettempdir()) / f"khbs-fuzz-anchor-{os.getpid()}.pem"
    path.write_bytes(data)
    try:
        return TrustAnchor.load(path)
    finally:
        path.unlink()


def _revocation_apply(w: World) -> Callable[[bytes], object]:
    """Status data from the server applied to a terminal's cache (first byte: 0 snapshot, 1 delta)."""
    engine = make_engine(":memory:")
    cache = RevocationCache(engine, w.trust_list)

    def run(data: bytes) -> object:
        if data[:1] == b"\x01":
            return cache.apply_delta(data[1:], fetched_at=NOW)
        return cache.apply_snapshot(data[1:], fetched_at=NOW)

    return run


# --- QR codes --------------------------------------------------------------------------------------


def _latin1(parse: Callable[[str], object]) -> Callable[[bytes], object]:
    return lambda data: parse(data.decode("latin-1"))


def _qr_targets(w: World) -> list[Target]:
    issuer_public = w.issuer.key.public_key()

    def lookup(kid: bytes) -> Any:
        return issuer_public if kid == w.issuer.kid else None

    qr = w.qr.encode("latin-1")
    return [
        Target("base45", "qr", _latin1(b45decode), (Base45Error,), (qr[6:],), max_size=1600),
        Target("qr_decode", "qr", _latin1(decode_qr_payload), (QrPayloadError,), (qr,), max_size=1600),
        Target(
            "qr_verify",
            "qr",
            _latin1(lambda t: verify_qr_payload(t, lookup)),
            (QrPayloadError,),
            (qr,),
            max_size=1600,
        ),
    ]


# --- the network: sync answers on the terminal, uploads on the server --------------------------------


_SYNC_TYPED: tuple[type[Exception], ...] = (SyncError, SignedDataError, RevocationError)


def _syncer(w: World, name: str, *, with_status: bool) -> tuple[Syncer, _Http]:
    engine = make_engine(":memory:")
    trust = TrustStore(engine, TrustAnchor(w.root.key.public_key()))
    trust.update(w.trust_raw, fetched_at=NOW)
    revocation = RevocationCache(engine, trust)
    if with_status:
        revocation.apply_snapshot(w.snapshot, fetched_at=NOW)
    http = _Http()
    client = SyncClient("", "token", http=http)  # type: ignore[arg-type]
    syncer = Syncer(
        client,
        trust=trust,
        revocation=revocation,
        ledger=Ledger(engine, clock=lambda: NOW),
        catalogue=Catalogue(engine, clock=lambda: NOW),
        pending=PendingUpdates(engine, clock=lambda: NOW),
        state=SyncStateStore(engine),
        clock=lambda: NOW,
    )
    return syncer, http


def _sync_step(w: World, step: str) -> Callable[[bytes], object]:
    syncer, http = _syncer(w, step, with_status=step == "status_list")

    def run(data: bytes) -> object:
        http.body = data
        if step == "results":
            return syncer._results(syncer.client.post("/v1/sync/redemptions", {}), "record_id")
        return getattr(syncer, f"pull_{step}")()

    return run


def _records_in(data: bytes) -> object:
    """The redemption upload: the request schema, base64 as the route decodes it, then ingest's parse."""
    from server_stub.api.schemas import RecordsIn, b64decode
    from server_stub.services import ingest

    body = RecordsIn.model_validate_json(data)
    batch = []
    for r in body.records:
        record, signature = b64decode(r["record"]), b64decode(r["signature"])
        if record is not None and signature is not None:
            batch.append(
                ingest.RecordIn(r["record_id"], record, signature, r["card_serial"], r["terminal_id"])
            )
    results: list[Any] = [None] * len(batch)
    return ingest.parse_records(batch, results, "T6271001")  # as that terminal uploads it


def _model(name: str) -> Callable[[bytes], object]:
    from server_stub.api import schemas

    model = getattr(schemas, name)
    return lambda data: model.model_validate_json(data)


def _network_targets(w: World) -> list[Target]:
    from pydantic import ValidationError

    qr = w.qr
    issuer_public = w.issuer.key.public_key()

    def receipt(data: bytes) -> object:
        from server_stub.api.schemas import ReceiptIn

        payload = ReceiptIn.model_validate_json(data).payload
        return verify_qr_payload(payload, lambda kid: issuer_public if kid == w.issuer.kid else None)

    debit = w.answer(c.INS_DEBIT)
    tx = parse_signed_tx(parse_tlv(debit[:-2])[c.TAG_SIGNED_TX])
    from card_applet_spec.records import record_id

    records = {
        "records": [
            {
                "record_id": record_id(tx.record_bytes),
                "record": _b64(tx.record_bytes),
                "signature": _b64(tx.signature),
                "card_serial": tx.record.card_serial.hex(),
                "terminal_id": TERMINAL_ID.decode(),
                "ledger_id": "L1",
                "kind": "debit",
            }
        ]
    }
    trust_body = {"version": 1, "issued_at": NOW, "signed": _b64(w.trust_raw), "root_public_key": ""}
    snapshot_body = {"seq": 1, "issued_at": NOW, "size": STATUS_SIZE, "signed": _b64(w.snapshot)}
    deltas_body = {"since": 1, "seq": 2, "deltas": [{"seq": 2, "signed": _b64(w.delta)}]}
    results_body = {"results": [{"record_id": "ab" * 16, "result": "stored"}], "stored": 1}
    voids = {
        "voids": [
            {
                "void_id": "v1",
                "ledger_id": "L1",
                "record_id": "ab" * 16,
                "reason": "salah",
                "clerk_id": "rina",
                "created_at": NOW,
            }
        ]
    }
    failures = {
        "events": [
            {
                "event_id": "f1",
                "occurred_at": NOW,
                "card_serial": "6271000000000001",
                "program": 1,
                "reason": "not_genuine",
                "detail": "x",
                "clerk_id": "rina",
            }
        ]
    }
    interests = {
        "interests": [
            {"interest_id": "i1", "item_id": "job-1", "card_serial": "6271000000000001", "registered_at": NOW}
        ]
    }

    def js(value: object) -> bytes:
        return json.dumps(value).encode()

    def sync(step: str, *bodies: object, examples: int = 100) -> Target:
        seeds = tuple(b if isinstance(b, bytes) else js(b) for b in bodies)
        return Target(f"sync_{step}", "network", _sync_step(w, step), _SYNC_TYPED, seeds, examples=examples)

    server_typed: tuple[type[Exception], ...] = (ValidationError,)
    return [
        sync("trust_list", trust_body),
        sync("status_list", deltas_body | snapshot_body, snapshot_body),
        sync("pending", w.pending_body),
        sync("catalogue", w.catalogue_body),
        sync("results", results_body, examples=200),
        Target("server_records", "network", _records_in, server_typed, (js(records),), max_size=1200),
        Target("server_voids", "network", _model("VoidsIn"), server_typed, (js(voids),)),
        Target("server_failures", "network", _model("FailuresIn"), server_typed, (js(failures),)),
        Target("server_interests", "network", _model("InterestsIn"), server_typed, (js(interests),)),
        Target(
            "server_ack",
            "network",
            _model("AckIn"),
            server_typed,
            (js({"grants": [1], "status_commands": []}),),
        ),
        Target(
            "server_receipt",
            "network",
            receipt,
            server_typed + (QrPayloadError,),
            (js({"payload": qr}),),
            max_size=1600,
        ),
        Target(
            "nik",
            "network",
            _latin1(lambda t: parse_nik(t, today=_today())),
            (NikError,),
            (b"6271034512870001", b"6271 0345 1287 0001", b"6203021505800002"),
        ),
    ]


def _today() -> Any:
    import datetime as dt

    return dt.date(2027, 1, 1)


@functools.cache
def targets() -> tuple[Target, ...]:
    """Every target, built once per process (seeds need a personalised card: about a second)."""
    w = world()
    return tuple(_card_targets(w) + _file_targets(w) + _qr_targets(w) + _network_targets(w))


def by_source(*sources: Source) -> tuple[Target, ...]:
    return tuple(t for t in targets() if t.source in sources)


def target_names(*sources: Source) -> list[str]:
    """Names without building the world (for pytest parametrisation at collection time)."""
    return [t.name for t in by_source(*sources)]


def get(name: str) -> Target:
    return next(t for t in targets() if t.name == name)


__all__ = [
    "SOURCES",
    "Source",
    "Target",
    "World",
    "by_source",
    "get",
    "target_names",
    "targets",
    "untyped",
    "world",
]

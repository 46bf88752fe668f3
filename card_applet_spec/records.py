"""Fixed binary layouts the card signs or checks (SPEC.md §6). Big-endian, no padding.

Each layout is a frozen dataclass with ``encode()`` and ``decode()``; ``decode`` is strict and raises
:class:`RecordError` on any length or value problem. ``signed_message()`` gives the exact bytes a
signature covers: the 8-byte domain tag followed by the encoded layout (plus, for authentication,
the terminal's challenge in between).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from card_applet_spec import constants as c


class RecordError(ValueError):
    """A fixed-layout record is malformed."""


FORMAT_VERSION = 1


def _check_version(version: int, what: str) -> None:
    if version != FORMAT_VERSION:
        raise RecordError(f"{what}: unsupported format version {version}")


@dataclass(frozen=True)
class Balance:
    """One program's entitlement as the card reports it in the authentication answer."""

    program: int
    kind: int
    unit: int
    grant_seq: int
    remaining: int
    valid_until: int

    _FMT = struct.Struct(">BBBIII")
    SIZE = _FMT.size  # 15

    def encode(self) -> bytes:
        return self._FMT.pack(
            self.program, self.kind, self.unit, self.grant_seq, self.remaining, self.valid_until
        )

    @classmethod
    def decode(cls, data: bytes) -> Balance:
        if len(data) != cls.SIZE:
            raise RecordError(f"balance entry must be {cls.SIZE} bytes, got {len(data)}")
        return cls(*cls._FMT.unpack(data))


@dataclass(frozen=True)
class AuthBody:
    """The card's state, signed together with the terminal challenge by INTERNAL AUTHENTICATE."""

    card_serial: bytes
    life_cycle: int
    pin_tries: int
    tx_counter: int
    balances: tuple[Balance, ...]
    version: int = FORMAT_VERSION

    _HEAD = struct.Struct(">B8sBBIB")
    HEAD_SIZE = _HEAD.size  # 16

    def encode(self) -> bytes:
        head = self._HEAD.pack(
            self.version,
            self.card_serial,
            self.life_cycle,
            self.pin_tries,
            self.tx_counter,
            len(self.balances),
        )
        return head + b"".join(b.encode() for b in self.balances)

    @classmethod
    def decode(cls, data: bytes) -> AuthBody:
        if len(data) < cls.HEAD_SIZE:
            raise RecordError("authentication body truncated")
        version, serial, life_cycle, tries, counter, n = cls._HEAD.unpack_from(data)
        _check_version(version, "authentication body")
        if len(data) != cls.HEAD_SIZE + n * Balance.SIZE:
            raise RecordError("authentication body length does not match its entry count")
        balances = tuple(
            Balance.decode(data[cls.HEAD_SIZE + i * Balance.SIZE : cls.HEAD_SIZE + (i + 1) * Balance.SIZE])
            for i in range(n)
        )
        return cls(serial, life_cycle, tries, counter, balances, version)

    def signed_message(self, challenge: bytes, card_nonce: bytes) -> bytes:
        """'KHBS-AU2' || terminal challenge || card nonce || AuthBody (SPEC.md §5.11)."""
        return c.DOMAIN_AUTH + challenge + card_nonce + self.encode()


#: A transaction record's fields in layout order, as :meth:`TxRecord.unpack` returns them: version,
#: tx_type, card_serial, tx_counter, program, grant_seq, amount, balance_after, terminal_id,
#: terminal_nonce, terminal_time.
TxFields = tuple[int, int, bytes, int, int, int, int, int, bytes, bytes, int]
_TX_TYPES = frozenset({int(c.TxType.DEBIT), int(c.TxType.CHECK_IN)})


def record_id(record: bytes) -> str:
    """The stable id of a card-signed transaction record (the 47 bytes of :class:`TxRecord`):
    SHA-256 of the record, first 16 bytes in hex. The same on every terminal, the server and a receipt."""
    return hashlib.sha256(record).hexdigest()[:32]


@dataclass(frozen=True)
class TxRecord:
    """The transaction record the card signs for every DEBIT / CHECK-IN (47 bytes)."""

    tx_type: int
    card_serial: bytes
    tx_counter: int
    program: int
    grant_seq: int
    amount: int
    balance_after: int
    terminal_id: bytes
    terminal_nonce: bytes
    terminal_time: int
    version: int = FORMAT_VERSION

    _FMT = struct.Struct(">BB8sIBIII8s8sI")
    SIZE = _FMT.size  # 47

    def encode(self) -> bytes:
        return self._FMT.pack(
            self.version,
            self.tx_type,
            self.card_serial,
            self.tx_counter,
            self.program,
            self.grant_seq,
            self.amount,
            self.balance_after,
            self.terminal_id,
            self.terminal_nonce,
            self.terminal_time,
        )

    @classmethod
    def unpack(cls, data: bytes) -> TxFields:
        """The record's fields as a plain tuple in layout order (:data:`TxFields`), with every check of
        :meth:`decode` (which is built on it): for bulk parsing (the server's ingest), where building
        the frozen dataclass costs more than the rest of the parse. Raises :class:`RecordError`."""
        if len(data) != cls.SIZE:
            raise RecordError(f"transaction record must be {cls.SIZE} bytes, got {len(data)}")
        fields = cls._FMT.unpack(data)
        _check_version(fields[0], "transaction record")
        if fields[1] not in _TX_TYPES:
            raise RecordError(f"unknown transaction type {fields[1]}")
        return fields

    @classmethod
    def decode(cls, data: bytes) -> TxRecord:
        version, tx_type, serial, counter, program, seq, amount, after, tid, nonce, ttime = cls.unpack(data)
        return cls(tx_type, serial, counter, program, seq, amount, after, tid, nonce, ttime, version)

    def signed_message(self) -> bytes:
        return c.DOMAIN_TX + self.encode()


@dataclass(frozen=True)
class GrantBody:
    """An issuer-signed entitlement for one program and period, bound to one card (28 bytes)."""

    card_serial: bytes
    program: int
    kind: int
    unit: int
    grant_seq: int
    amount: int
    valid_from: int
    valid_until: int
    version: int = FORMAT_VERSION

    _FMT = struct.Struct(">B8sBBBIIII")
    SIZE = _FMT.size  # 28

    def encode(self) -> bytes:
        return self._FMT.pack(
            self.version,
            self.card_serial,
            self.program,
            self.kind,
            self.unit,
            self.grant_seq,
            self.amount,
            self.valid_from,
            self.valid_until,
        )

    @classmethod
    def decode(cls, data: bytes) -> GrantBody:
        if len(data) != cls.SIZE:
            raise RecordError(f"grant body must be {cls.SIZE} bytes, got {len(data)}")
        version, serial, program, kind, unit, seq, amount, vfrom, vuntil = cls._FMT.unpack(data)
        _check_version(version, "grant body")
        return cls(serial, program, kind, unit, seq, amount, vfrom, vuntil, version)

    def signed_message(self) -> bytes:
        return c.DOMAIN_GRANT + self.encode()


@dataclass(frozen=True)
class StatusBody:
    """An issuer-signed life-cycle change (block, unblock, terminate) for one card (14 bytes)."""

    card_serial: bytes
    new_state: int
    status_seq: int
    version: int = FORMAT_VERSION

    _FMT = struct.Struct(">B8sBI")
    SIZE = _FMT.size  # 14

    def encode(self) -> bytes:
        return self._FMT.pack(self.version, self.card_serial, self.new_state, self.status_seq)

    @classmethod
    def decode(cls, data: bytes) -> StatusBody:
        if len(data) != cls.SIZE:
            raise RecordError(f"status body must be {cls.SIZE} bytes, got {len(data)}")
        version, serial, state, seq = cls._FMT.unpack(data)
        _check_version(version, "status body")
        return cls(serial, state, seq, version)

    def signed_message(self) -> bytes:
        return c.DOMAIN_STATUS + self.encode()


@dataclass(frozen=True)
class TerminalCertBody:
    """An issuer certificate for a counter terminal's key, e.g. allowed to reset PINs (79 bytes)."""

    terminal_id: bytes
    roles: int
    valid_until: int
    public_key: bytes  # SEC1 uncompressed point, 65 bytes
    version: int = FORMAT_VERSION

    _FMT = struct.Struct(">B8sBI65s")
    SIZE = _FMT.size  # 79

    def encode(self) -> bytes:
        return self._FMT.pack(self.version, self.terminal_id, self.roles, self.valid_until, self.public_key)

    @classmethod
    def decode(cls, data: bytes) -> TerminalCertBody:
        if len(data) != cls.SIZE:
            raise RecordError(f"terminal certificate must be {cls.SIZE} bytes, got {len(data)}")
        version, tid, roles, until, key = cls._FMT.unpack(data)
        _check_version(version, "terminal certificate")
        if key[0] != 0x04:
            raise RecordError("terminal key must be an uncompressed SEC1 point")
        return cls(tid, roles, until, key, version)

    def signed_message(self) -> bytes:
        return c.DOMAIN_TERMINAL_CERT + self.encode()


def pin_reset_message(card_serial: bytes, card_nonce: bytes, card_key: bytes, envelope: bytes) -> bytes:
    """What the certified terminal signs to reset the holder PIN (SPEC.md §5.9, §6.10).

    ``'KHBS-PR2' || card serial || card nonce || SHA-256(card key, SEC 1 compressed) || PIN envelope``.
    """
    return c.DOMAIN_PIN_RESET + card_serial + card_nonce + hashlib.sha256(card_key).digest() + envelope


def pin_block(pin: str) -> bytes:
    """Encode a 4–8 digit PIN as ASCII digits padded with 0xFF to 8 bytes (PIV style)."""
    if not (c.PIN_MIN_DIGITS <= len(pin) <= c.PIN_MAX_DIGITS) or not pin.isascii() or not pin.isdigit():
        raise ValueError(f"a PIN has {c.PIN_MIN_DIGITS}-{c.PIN_MAX_DIGITS} digits")
    return pin.encode("ascii").ljust(c.PIN_BLOCK_LEN, bytes([c.PIN_PAD]))


def is_valid_pin_block(block: bytes) -> bool:
    if len(block) != c.PIN_BLOCK_LEN:
        return False
    digits = block.rstrip(bytes([c.PIN_PAD]))
    return (
        c.PIN_MIN_DIGITS <= len(digits) <= c.PIN_MAX_DIGITS
        and all(0x30 <= b <= 0x39 for b in digits)
        and bytes([c.PIN_PAD]) * (c.PIN_BLOCK_LEN - len(digits)) == block[len(digits) :]
    )


#: Domain tags of the receipt signatures (terminal side only: the card never sees them).
DOMAIN_RECEIPT_CERT = b"KHBS-RT1"  # the issuer certifies a terminal's receipt-signing key
DOMAIN_RECEIPT = b"KHBS-RC1"  # the terminal attests a receipt it issued
DOMAIN_RECEIPT_VOID = b"KHBS-RV1"  # the terminal attests that it voided the transaction


@dataclass(frozen=True)
class ReceiptCertBody:
    """An issuer certificate for a counter terminal's receipt-signing key (50 bytes).

    Separate from :class:`TerminalCertBody` (PIN reset): its own domain tag, a validity window with a
    start (a receipt is checked against the window at the record's time) and a compressed key (every
    byte counts in the receipt's QR code).
    """

    terminal_id: bytes
    valid_from: int
    valid_until: int
    public_key: bytes  # SEC1 compressed point, 33 bytes
    version: int = FORMAT_VERSION

    _FMT = struct.Struct(">B8sII33s")
    SIZE = _FMT.size  # 50

    def encode(self) -> bytes:
        return self._FMT.pack(
            self.version, self.terminal_id, self.valid_from, self.valid_until, self.public_key
        )

    @classmethod
    def decode(cls, data: bytes) -> ReceiptCertBody:
        if len(data) != cls.SIZE:
            raise RecordError(f"receipt certificate must be {cls.SIZE} bytes, got {len(data)}")
        version, tid, valid_from, valid_until, key = cls._FMT.unpack(data)
        _check_version(version, "receipt certificate")
        if key[0] not in (0x02, 0x03):
            raise RecordError("receipt key must be a compressed SEC1 point")
        if valid_from > valid_until:
            raise RecordError("receipt certificate window ends before it starts")
        return cls(tid, valid_from, valid_until, key, version)

    def signed_message(self) -> bytes:
        return DOMAIN_RECEIPT_CERT + self.encode()

    def covers(self, moment: int) -> bool:
        return self.valid_from <= moment <= self.valid_until


def receipt_message(domain: bytes, record: bytes, card_signature: bytes) -> bytes:
    """What a terminal signs for a receipt: ``domain || record (47) || card signature (raw r||s, 64)``."""
    if domain not in (DOMAIN_RECEIPT, DOMAIN_RECEIPT_VOID):
        raise ValueError("not a receipt domain tag")
    return domain + record + card_signature

"""Tier 3: a session speaks the KHBS applet over a Connection and returns typed, parsed results.

Sessions take a connection, never a reader name. Every refusal becomes a typed error from
``terminal.card.errors``; every response is parsed strictly (MalformedResponseError otherwise).
Signatures are *parsed* here and *verified* by ``terminal.verify``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cbor2

from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.records import (
    AuthBody,
    GrantBody,
    RecordError,
    TerminalCertBody,
    TxRecord,
    pin_block,
    pin_reset_message,
)
from card_applet_spec.tlv import TlvError, iter_tlv, parse_single, parse_tlv, require, tlv
from terminal.card.connection import Connection
from terminal.card.errors import InvalidPinError, MalformedResponseError, PinBlockedError, error_for_sw
from terminal.card.protocol import open_protocol


@dataclass(frozen=True)
class AppInfo:
    version: tuple[int, int]
    capabilities: int
    life_cycle: int
    serial: bytes | None
    log_capacity: int


@dataclass(frozen=True)
class SignedAuth:
    """The card's signed answer to INTERNAL AUTHENTICATE."""

    body: AuthBody
    body_bytes: bytes
    signature: bytes  # DER
    challenge: bytes

    def signed_message(self) -> bytes:
        return c.DOMAIN_AUTH + self.challenge + self.body_bytes


@dataclass(frozen=True)
class SignedTx:
    """A card-signed transaction record (from DEBIT or READ LOG)."""

    record: TxRecord
    record_bytes: bytes
    signature: bytes  # DER

    def signed_message(self) -> bytes:
        return c.DOMAIN_TX + self.record_bytes


@dataclass(frozen=True)
class SignedGrant:
    body: GrantBody
    body_bytes: bytes
    kid: bytes
    signature: bytes  # DER


@dataclass(frozen=True)
class PinStatus:
    verified: bool
    tries_remaining: int


@dataclass(frozen=True)
class PersonalData:
    nik: str
    birth_date: str
    sex: str
    kk_number: str


@dataclass(frozen=True)
class TerminalCert:
    """An issuer certificate for a counter terminal's key."""

    body: TerminalCertBody
    kid: bytes
    issuer_signature: bytes  # DER

    def encode(self) -> bytes:
        return tlv(
            c.TAG_TERMINAL_CERT,
            tlv(c.TAG_TERMINAL_CERT_BODY, self.body.encode())
            + tlv(c.TAG_KEY_ID, self.kid)
            + tlv(c.TAG_SIGNATURE, self.issuer_signature),
        )


def _parsing(what: str) -> Callable[[Exception], MalformedResponseError]:
    return lambda exc: MalformedResponseError(f"{what}: {exc}")


def parse_signed_tx(value: bytes) -> SignedTx:
    """Parse the value of an E1 (signed transaction) template."""
    try:
        objects = parse_tlv(value)
        record_bytes = require(objects, c.TAG_TX_RECORD)
        signature = require(objects, c.TAG_SIGNATURE)
        return SignedTx(TxRecord.decode(record_bytes), record_bytes, signature)
    except (TlvError, RecordError) as exc:
        raise _parsing("transaction record")(exc) from exc


class KhbsSession:
    """One conversation with a KHBS card. Counts APDUs and bytes for the benchmarks."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._protocol, self._transport = open_protocol(connection)
        self.info: AppInfo | None = None

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def apdu_count(self) -> int:
        return self._transport.apdus_sent

    @property
    def bytes_exchanged(self) -> int:
        return self._transport.bytes_sent + self._transport.bytes_received

    def _send(
        self, cla: int, ins: int, p1: int = 0, p2: int = 0, data: bytes = b"", le: int | None = None
    ) -> bytes:
        response, sw = self._protocol.process(CommandApdu(cla, ins, p1, p2, data, le))
        if sw != c.SW.OK:
            raise error_for_sw(sw)
        return response

    def _get_data(self, do: int) -> bytes:
        return self._send(c.CLA_ISO, c.INS_GET_DATA, do >> 8, do & 0xFF, le=256)

    # -- selection and reading -----------------------------------------------------------------
    def select(self) -> AppInfo:
        fci = self._send(c.CLA_ISO, c.INS_SELECT, c.SELECT_BY_NAME, 0x00, c.AID, le=256)
        try:
            outer = parse_tlv(parse_single(fci, c.TAG_FCI))
            if require(outer, c.TAG_DF_NAME) != c.AID:
                raise MalformedResponseError("FCI names another application")
            prop = parse_tlv(require(outer, c.TAG_FCI_PROPRIETARY))
            version = require(prop, c.TAG_VERSION)
            caps = require(prop, c.TAG_CAPABILITIES)
            state = require(prop, c.TAG_LIFE_CYCLE)
            capacity = require(prop, c.TAG_LOG_CAPACITY)
            if len(version) != 2 or len(caps) != 1 or len(state) != 1 or len(capacity) != 1:
                raise MalformedResponseError("FCI field of the wrong length")
        except TlvError as exc:
            raise _parsing("FCI")(exc) from exc
        self.info = AppInfo(
            (version[0], version[1]), caps[0], state[0], prop.get(c.TAG_CARD_SERIAL), capacity[0]
        )
        return self.info

    def read_credential(self) -> bytes:
        return self._get_data(c.DO_CREDENTIAL)

    def read_serial(self) -> bytes:
        return self._get_data(c.DO_CARD_SERIAL)

    def read_card_public_key(self) -> bytes:
        try:
            template = parse_tlv(
                parse_single(self._get_data(c.DO_CARD_PUBLIC_KEY), c.TAG_PUBLIC_KEY_TEMPLATE)
            )
            return require(template, c.TAG_EC_POINT)
        except TlvError as exc:
            raise _parsing("card public key")(exc) from exc

    def read_grants(self) -> list[SignedGrant]:
        out = []
        try:
            for tag, value in iter_tlv(self._get_data(c.DO_GRANTS)):
                if tag != c.TAG_SIGNED_GRANT:
                    raise MalformedResponseError(f"unexpected tag {tag:#x} in grants")
                objects = parse_tlv(value)
                body = require(objects, c.TAG_GRANT_BODY)
                out.append(
                    SignedGrant(
                        GrantBody.decode(body),
                        body,
                        require(objects, c.TAG_KEY_ID),
                        require(objects, c.TAG_SIGNATURE),
                    )
                )
        except (TlvError, RecordError) as exc:
            raise _parsing("grants")(exc) from exc
        return out

    def read_personal_data(self) -> PersonalData:
        """The PIN-protected personal data object (verify the PIN first)."""
        raw = self._get_data(c.DO_PERSONAL_DATA)
        try:
            d = cbor2.loads(raw)
            return PersonalData(
                nik=str(d[c.PersonalField.NIK]),
                birth_date=str(d[c.PersonalField.BIRTH_DATE]),
                sex=str(d[c.PersonalField.SEX]),
                kk_number=str(d.get(c.PersonalField.KK_NUMBER, "")),
            )
        except (cbor2.CBORDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise _parsing("personal data")(exc) from exc

    # -- authentication ------------------------------------------------------------------------
    def authenticate(self, challenge: bytes) -> SignedAuth:
        if len(challenge) != c.CHALLENGE_LEN:
            raise ValueError(f"challenge must be {c.CHALLENGE_LEN} bytes")
        response = self._send(c.CLA_ISO, c.INS_INTERNAL_AUTHENTICATE, 0, 0, challenge, le=256)
        try:
            objects = parse_tlv(parse_single(response, c.TAG_SIGNED_AUTH))
            body_bytes = require(objects, c.TAG_AUTH_BODY)
            return SignedAuth(
                AuthBody.decode(body_bytes), body_bytes, require(objects, c.TAG_SIGNATURE), challenge
            )
        except (TlvError, RecordError) as exc:
            raise _parsing("authentication answer")(exc) from exc

    def get_challenge(self) -> bytes:
        challenge = self._send(c.CLA_ISO, c.INS_GET_CHALLENGE, 0, 0, le=c.CHALLENGE_LEN)
        if len(challenge) != c.CHALLENGE_LEN:
            raise MalformedResponseError("challenge of the wrong length")
        return challenge

    # -- PIN -----------------------------------------------------------------------------------
    def pin_status(self) -> PinStatus:
        """Tries left without spending one (VERIFY with no data)."""
        try:
            self._send(c.CLA_ISO, c.INS_VERIFY, 0x00, c.PIN_REFERENCE)
        except InvalidPinError as err:
            return PinStatus(False, err.attempts_remaining)
        except PinBlockedError:
            return PinStatus(False, 0)
        return PinStatus(True, c.PIN_MAX_TRIES)

    def verify_pin(self, pin: str) -> None:
        self._send(c.CLA_ISO, c.INS_VERIFY, 0x00, c.PIN_REFERENCE, pin_block(pin))

    def change_pin(self, old: str, new: str) -> None:
        self._send(
            c.CLA_ISO, c.INS_CHANGE_REFERENCE_DATA, 0x00, c.PIN_REFERENCE, pin_block(old) + pin_block(new)
        )

    def reset_pin(self, cert: TerminalCert, sign: Callable[[bytes], bytes], new_pin: str) -> None:
        """Issuer-authorised PIN reset by a certified counter terminal; ``sign`` returns a DER signature."""
        serial = self.read_serial()
        block = pin_block(new_pin)
        challenge = self.get_challenge()
        signature = sign(pin_reset_message(serial, challenge, block))
        data = cert.encode() + tlv(c.TAG_NEW_PIN, block) + tlv(c.TAG_SIGNATURE, signature)
        self._send(c.CLA_ISO, c.INS_RESET_RETRY_COUNTER, 0x00, c.PIN_REFERENCE, data)

    # -- transactions --------------------------------------------------------------------------
    def debit(
        self,
        *,
        program: int,
        amount: int,
        terminal_id: bytes,
        nonce: bytes,
        terminal_time: int,
        expected_counter: int,
    ) -> SignedTx:
        if len(terminal_id) != c.TERMINAL_ID_LEN or len(nonce) != c.NONCE_LEN:
            raise ValueError("terminal id and nonce are 8 bytes each")
        data = (
            bytes([program])
            + amount.to_bytes(4, "big")
            + terminal_id
            + nonce
            + terminal_time.to_bytes(4, "big")
            + expected_counter.to_bytes(4, "big")
        )
        response = self._send(c.CLA_PROPRIETARY, c.INS_DEBIT, 0, 0, data, le=256)
        try:
            return parse_signed_tx(parse_single(response, c.TAG_SIGNED_TX))
        except TlvError as exc:
            raise _parsing("DEBIT answer")(exc) from exc

    def read_log(self, count: int = 0) -> list[SignedTx]:
        """The last ``count`` signed records, newest first (0: all the card keeps)."""
        if not 0 <= count <= c.LOG_CAPACITY:
            raise ValueError("count out of range")
        response = self._send(c.CLA_PROPRIETARY, c.INS_READ_LOG, 0, count, le=256)
        try:
            entries = list(iter_tlv(response))
        except TlvError as exc:
            raise _parsing("log")(exc) from exc
        if any(tag != c.TAG_SIGNED_TX for tag, _ in entries):
            raise MalformedResponseError("unexpected object in the log")
        return [parse_signed_tx(value) for _, value in entries]

    def load_grant(self, body: bytes, kid: bytes, signature: bytes) -> None:
        data = tlv(c.TAG_GRANT_BODY, body) + tlv(c.TAG_KEY_ID, kid) + tlv(c.TAG_SIGNATURE, signature)
        self._send(c.CLA_PROPRIETARY, c.INS_LOAD_GRANT, 0, 0, data)

    def set_status(self, target: int, body: bytes, kid: bytes, signature: bytes) -> None:
        """Issuer-signed block / unblock / terminate."""
        data = tlv(c.TAG_STATUS_BODY, body) + tlv(c.TAG_KEY_ID, kid) + tlv(c.TAG_SIGNATURE, signature)
        self._send(c.CLA_PROPRIETARY, c.INS_SET_STATUS, target, 0, data)

    # -- personalisation -----------------------------------------------------------------------
    def generate_key(self) -> bytes:
        """The card makes its key pair; returns the public point (65 bytes, uncompressed)."""
        response = self._send(c.CLA_PROPRIETARY, c.INS_GENERATE_KEY, 0, 0, le=256)
        try:
            point = require(parse_tlv(parse_single(response, c.TAG_PUBLIC_KEY_TEMPLATE)), c.TAG_EC_POINT)
        except TlvError as exc:
            raise _parsing("public key")(exc) from exc
        if len(point) != 65 or point[0] != 0x04:
            raise MalformedResponseError("public key is not an uncompressed P-256 point")
        return point

    def put_data(self, do: int, value: bytes) -> None:
        self._send(c.CLA_ISO, c.INS_PUT_DATA, do >> 8, do & 0xFF, value)

    def put_issuer_key(self, kid: bytes, point: bytes) -> None:
        self.put_data(
            c.DO_ISSUER_KEYS, tlv(c.TAG_ISSUER_KEY, tlv(c.TAG_KEY_ID, kid) + tlv(c.TAG_EC_POINT, point))
        )

    def set_initial_pin(self, pin: str) -> None:
        self._send(c.CLA_ISO, c.INS_CHANGE_REFERENCE_DATA, 0x01, c.PIN_REFERENCE, pin_block(pin))

    def activate(self) -> None:
        self._send(c.CLA_PROPRIETARY, c.INS_SET_STATUS, c.LifeCycle.OPERATIONAL, 0)

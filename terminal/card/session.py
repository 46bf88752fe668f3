"""Tier 3: a session speaks the KHBS applet over a Connection and returns typed, parsed results.

Sessions take a connection, never a reader name. Every refusal becomes a typed error from
``terminal.card.errors``; every response is parsed strictly (MalformedResponseError otherwise).
Signatures are *parsed* here and *verified* by ``terminal.verify``.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.pin_envelope import debit_mac, seal, seal_verify
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
from terminal.card.errors import (
    CardSessionError,
    HolderCheckBlockedError,
    InvalidPinError,
    MalformedResponseError,
    NoDebitAuthorisationError,
    PinBlockedError,
    error_for_sw,
)
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
    """The card's signed answer to INTERNAL AUTHENTICATE (SPEC.md §5.11)."""

    body: AuthBody
    body_bytes: bytes
    signature: bytes  # DER
    challenge: bytes  # the terminal's
    card_nonce: bytes  # the card's: valid for the next command only (VERIFY, RESET RETRY COUNTER, ...)

    def signed_message(self) -> bytes:
        return c.DOMAIN_AUTH + self.challenge + self.card_nonce + self.body_bytes


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
    holder_salt: bytes | None = None  # schema 2: the salt of the credential's holder commitment


class PinPurpose(enum.Enum):
    """What the holder enters the PIN for. Only a VERIFY for a DEBIT keeps the DEBIT key it yields."""

    DEBIT = "debit"  # the next DEBIT of this session (redemption, check-in)
    READ_PERSONAL_DATA = "read_personal_data"  # GET DATA DF26 only: the DEBIT key is dropped at once


class StaleAuthenticationError(CardSessionError):
    """A PIN reset needs the card nonce of the INTERNAL AUTHENTICATE answer it is bound to, and that
    answer must be the card's answer to the command right before: authenticate again."""


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

    @classmethod
    def decode(cls, blob: bytes) -> TerminalCert:
        """The TLV ``7F21 { C5 body, C4 kid, 9E signature }`` as the server issues it (strict)."""
        try:
            objects = parse_tlv(parse_single(blob, c.TAG_TERMINAL_CERT))
            body = TerminalCertBody.decode(require(objects, c.TAG_TERMINAL_CERT_BODY))
            kid, signature = require(objects, c.TAG_KEY_ID), require(objects, c.TAG_SIGNATURE)
        except (TlvError, RecordError) as exc:
            raise MalformedResponseError(f"terminal certificate: {exc}") from exc
        if len(kid) != c.KEY_ID_LEN or cls(body, kid, signature).encode() != blob:
            raise MalformedResponseError("terminal certificate: not in its one encoding")
        return cls(body, kid, signature)


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
        #: the answer of the last command if it was INTERNAL AUTHENTICATE: its card nonce is still fresh
        self._fresh: SignedAuth | None = None
        #: the card key of the credential read in this card session (cleared by SELECT)
        #: the DEBIT key of this session's last VERIFY for a DEBIT (SPEC §6.14); spent by the next DEBIT
        self._debit_key: bytes | None = None

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
        self._fresh = None  # any command spends the card nonce (SPEC.md §5.1.3 step 0)
        response, sw = self._protocol.process(CommandApdu(cla, ins, p1, p2, data, le))
        if sw != c.SW.OK:
            raise error_for_sw(sw)
        return response

    def _get_data(self, do: int) -> bytes:
        return self._send(c.CLA_ISO, c.INS_GET_DATA, do >> 8, do & 0xFF, le=256)

    # -- selection and reading -----------------------------------------------------------------
    def select(self) -> AppInfo:
        self._debit_key = None  # a new card session: the card has dropped its verification too
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
        """The credential's bytes as the card answers them: nothing here trusts them (the verifier does)."""
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
        """The PIN-protected personal data object (verify the PIN first); strictly parsed (§6.12)."""
        return parse_personal_data(self._get_data(c.DO_PERSONAL_DATA))

    # -- authentication ------------------------------------------------------------------------
    def authenticate(self, challenge: bytes) -> SignedAuth:
        if len(challenge) != c.CHALLENGE_LEN:
            raise ValueError(f"challenge must be {c.CHALLENGE_LEN} bytes")
        response = self._send(c.CLA_ISO, c.INS_INTERNAL_AUTHENTICATE, 0, 0, challenge, le=256)
        try:
            objects = parse_tlv(parse_single(response, c.TAG_SIGNED_AUTH))
            body_bytes = require(objects, c.TAG_AUTH_BODY)
            nonce = require(objects, c.TAG_CARD_NONCE)
            if len(nonce) != c.CARD_NONCE_LEN:
                raise MalformedResponseError("card nonce of the wrong length")
            auth = SignedAuth(
                AuthBody.decode(body_bytes), body_bytes, require(objects, c.TAG_SIGNATURE), challenge, nonce
            )
        except (TlvError, RecordError) as exc:
            raise _parsing("authentication answer")(exc) from exc
        self._fresh = auth
        return auth

    @property
    def fresh_auth(self) -> SignedAuth | None:
        """The last command's INTERNAL AUTHENTICATE answer, while its card nonce is unspent."""
        return self._fresh

    def _nonce_and_key(self, card_key: bytes) -> tuple[SignedAuth, bytes]:
        """A fresh card nonce (INTERNAL AUTHENTICATE now unless the last command was one) and the card key.

        ``card_key`` is always the caller's: the key of a credential the terminal verified. The session
        never picks one itself (a PIN sealed to an unverified credential's key is read by whoever made it).
        """
        if not card_key:
            raise MalformedResponseError("no verified card key to encipher the PIN to")
        auth = self._fresh if self._fresh is not None else self.authenticate(os.urandom(c.CHALLENGE_LEN))
        return auth, card_key

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

    def verify_pin(
        self,
        pin: str,
        card_key: bytes,
        *,
        purpose: PinPurpose = PinPurpose.DEBIT,
        ephemeral: ec.EllipticCurvePrivateKey | None = None,
    ) -> None:
        """VERIFY with the PIN block enciphered to ``card_key`` and the card nonce (SPEC.md §5.7).

        On success the envelope's DEBIT key (§6.14) authorises the next :meth:`debit` of this session —
        only when ``purpose`` is DEBIT; a PIN entered to read personal data authorises no DEBIT here.
        """
        block = pin_block(pin)
        self._debit_key = None  # whatever the outcome, an earlier verification no longer counts
        auth, key = self._nonce_and_key(card_key)
        sealed = seal_verify(key, auth.body.card_serial, auth.card_nonce, block, ephemeral=ephemeral)
        self._send(c.CLA_ISO, c.INS_VERIFY, 0x00, c.PIN_REFERENCE, sealed.envelope)
        if purpose is PinPurpose.DEBIT:
            self._debit_key = sealed.debit_key

    @property
    def debit_authorised(self) -> bool:
        """True while a VERIFY of this session for a DEBIT holds an unspent DEBIT key."""
        return self._debit_key is not None

    def change_pin(
        self,
        old: str,
        new: str,
        card_key: bytes,
        *,
        ephemeral: ec.EllipticCurvePrivateKey | None = None,
    ) -> None:
        blocks = pin_block(old) + pin_block(new)
        self._debit_key = None  # the card ends the verification (§5.8)
        auth, key = self._nonce_and_key(card_key)
        envelope = seal(
            key,
            c.INS_CHANGE_REFERENCE_DATA,
            auth.body.card_serial,
            auth.card_nonce,
            blocks,
            ephemeral=ephemeral,
        )
        self._send(c.CLA_ISO, c.INS_CHANGE_REFERENCE_DATA, 0x00, c.PIN_REFERENCE, envelope)

    def reset_pin(
        self,
        cert: TerminalCert,
        sign: Callable[[bytes], bytes],
        new_pin: str,
        *,
        auth: SignedAuth,
        card_key: bytes,
        holder_reference: bytes,
        ephemeral: ec.EllipticCurvePrivateKey | None = None,
    ) -> None:
        """Issuer-authorised PIN reset by a certified counter terminal (SPEC.md §5.9, §9.5).

        ``auth`` is the INTERNAL AUTHENTICATE answer the terminal has verified with ``card_key`` (the key
        of the credential it checked); it must be the answer to the command right before, so the reset
        consumes its card nonce. ``holder_reference`` is holder_ref(NIK typed by the clerk, serial).
        ``sign`` returns a DER signature with the certified key.
        """
        if self._fresh is None or self._fresh != auth:
            raise StaleAuthenticationError(
                "the reset must directly follow the verified INTERNAL AUTHENTICATE"
            )
        if len(holder_reference) != c.HOLDER_REF_LEN:
            raise ValueError(f"holder reference must be {c.HOLDER_REF_LEN} bytes")
        self._debit_key = None  # the card ends the verification (§5.9)
        serial = auth.body.card_serial
        plaintext = pin_block(new_pin) + holder_reference
        envelope = seal(
            card_key, c.INS_RESET_RETRY_COUNTER, serial, auth.card_nonce, plaintext, ephemeral=ephemeral
        )
        signature = sign(pin_reset_message(serial, auth.card_nonce, card_key, envelope))
        data = cert.encode() + tlv(c.TAG_PIN_ENVELOPE, envelope) + tlv(c.TAG_SIGNATURE, signature)
        try:
            self._send(c.CLA_ISO, c.INS_RESET_RETRY_COUNTER, 0x00, c.PIN_REFERENCE, data)
        except PinBlockedError as err:  # 6983 here: the holder check, not the PIN (which may be blocked)
            raise HolderCheckBlockedError(err.sw) from None

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
        """DEBIT (SPEC.md §5.12) MACed under the DEBIT key of this session's VERIFY (§6.6).

        Raises :class:`NoDebitAuthorisationError` before sending anything when no VERIFY of this session
        for a DEBIT holds an unspent key. The key is spent by this call whatever the card answers, as the
        card spends the verification.
        """
        if len(terminal_id) != c.TERMINAL_ID_LEN or len(nonce) != c.NONCE_LEN:
            raise ValueError("terminal id and nonce are 8 bytes each")
        debit_key, self._debit_key = self._debit_key, None
        if debit_key is None:
            raise NoDebitAuthorisationError()
        fields = (
            bytes([program])
            + amount.to_bytes(4, "big")
            + terminal_id
            + nonce
            + terminal_time.to_bytes(4, "big")
            + expected_counter.to_bytes(4, "big")
        )
        header = bytes([c.CLA_PROPRIETARY, c.INS_DEBIT, 0, 0])
        data = fields + debit_mac(debit_key, header, fields)
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
        self._debit_key = None  # the card ends the verification (§5.15)
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


def _text(d: Mapping[object, object], key: int, what: str) -> str:
    value = d.get(key)
    if not isinstance(value, str):
        raise MalformedResponseError(f"personal data: {what} is not text")
    return value


def parse_personal_data(raw: bytes) -> PersonalData:
    """Parse DF26 strictly (SPEC.md §6.12): typed errors only, whatever the card sends."""
    try:
        d = cbor2.loads(raw)
    except Exception as exc:  # cbor2 raises assorted types on hostile input: all mean "malformed"
        raise _parsing("personal data")(exc) from exc
    if not isinstance(d, Mapping):
        raise MalformedResponseError("personal data is not a CBOR map")
    nik = _text(d, c.PersonalField.NIK, "NIK")
    if len(nik) != 16 or not nik.isascii() or not nik.isdigit():
        raise MalformedResponseError("personal data: NIK is not 16 ASCII digits")
    kk = d.get(c.PersonalField.KK_NUMBER, "")
    if not isinstance(kk, str) or (kk and (len(kk) != 16 or not kk.isascii() or not kk.isdigit())):
        raise MalformedResponseError("personal data: KK number is not 16 ASCII digits")
    salt = d.get(c.PersonalField.HOLDER_SALT)
    if salt is not None and (not isinstance(salt, bytes) or len(salt) != c.HOLDER_SALT_LEN):
        raise MalformedResponseError(f"personal data: holder salt is not {c.HOLDER_SALT_LEN} bytes")
    return PersonalData(
        nik=nik,
        birth_date=_text(d, c.PersonalField.BIRTH_DATE, "birth date"),
        sex=_text(d, c.PersonalField.SEX, "sex"),
        kk_number=kk,
        holder_salt=salt,
    )

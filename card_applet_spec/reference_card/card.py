"""The reference card: a faithful Python implementation of the KHBS applet (SPEC.md).

A pure state machine: ``transmit(command APDU bytes) -> response bytes (data + SW1 SW2)``. Real P-256
keys via ``cryptography``; persistent state through a Store; every change committed atomically.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.apdu import ApduFormatError, CommandApdu
from card_applet_spec.pin_envelope import EnvelopeError, debit_mac, envelope_len, open_envelope, open_verify
from card_applet_spec.records import (
    AuthBody,
    Balance,
    GrantBody,
    RecordError,
    StatusBody,
    TerminalCertBody,
    TxRecord,
    is_valid_pin_block,
    pin_reset_message,
)
from card_applet_spec.reference_card.state import (
    CardState,
    LogEntry,
    MemoryStore,
    Store,
    StoredGrant,
)
from card_applet_spec.tlv import TlvError, iter_tlv, parse_single, parse_tlv, require, tlv

log = logging.getLogger(__name__)

RESPONSE_CHUNK = 256
RESET_PLAINTEXT_LEN = c.PIN_BLOCK_LEN + c.HOLDER_REF_LEN  # new PIN block || holder_ref
MAX_CHAINED_DATA = 1024
L = c.LifeCycle


class CardError(Exception):
    """Raised inside command handlers; becomes the status word of the response."""

    def __init__(self, sw: int) -> None:
        super().__init__(f"SW {sw:04X}")
        self.sw = sw


def _require(cond: bool, sw: int) -> None:
    if not cond:
        raise CardError(sw)


@dataclass
class _Session:
    """Transient (RAM) state: lost on reset, power-off or a new SELECT."""

    selected: bool = False
    #: the DEBIT key of the VERIFY that verified the PIN (§6.14): held exactly while the PIN is verified
    debit_key: bytes | None = None
    challenge: bytes | None = None  # the card nonce of the last INTERNAL AUTHENTICATE (§5.1.3 step 0)
    pending: bytes = b""
    chain_header: tuple[int, int, int, int] | None = None
    chain_data: bytes = b""

    @property
    def pin_verified(self) -> bool:
        """*PIN verified* (§5.1.2) is "a DEBIT key is held": the two are set and cleared together."""
        return self.debit_key is not None


def _point(scalar: bytes) -> bytes:
    key = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _compressed(scalar: bytes) -> bytes:
    key = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )


def _verify_der(point: bytes, signature: bytes, message: bytes) -> bool:
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


_ISO_INS = {
    c.INS_SELECT,
    c.INS_GET_RESPONSE,
    c.INS_GET_DATA,
    c.INS_PUT_DATA,
    c.INS_VERIFY,
    c.INS_CHANGE_REFERENCE_DATA,
    c.INS_RESET_RETRY_COUNTER,
    c.INS_INTERNAL_AUTHENTICATE,
}
_PROPRIETARY_INS = {
    c.INS_GENERATE_KEY,
    c.INS_DEBIT,
    c.INS_READ_LOG,
    c.INS_LOAD_GRANT,
    c.INS_SET_STATUS,
}
_CHAINABLE_INS = {c.INS_PUT_DATA, c.INS_RESET_RETRY_COUNTER, c.INS_LOAD_GRANT, c.INS_SET_STATUS}


class ReferenceCard:
    """The applet. ``rng`` supplies random bytes (keys, challenges); inject one for test vectors."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        rng: Callable[[int], bytes] = os.urandom,
        contactless: bool = True,
    ) -> None:
        self.store: Store = store if store is not None else MemoryStore()
        self.rng = rng
        self.atr = c.ATR_CONTACTLESS if contactless else c.ATR_CONTACT
        self.contactless = contactless
        self._state = self.store.load() or CardState()
        self._s = _Session()
        self._key: ec.EllipticCurvePrivateKey | None = None

    # -- power ----------------------------------------------------------------------------------
    @property
    def state(self) -> CardState:
        return self._state

    def reset(self) -> None:
        """Power cycle / warm reset: RAM state is lost, EEPROM state is re-read from the store."""
        self._s = _Session()
        self._state = self.store.load() or CardState()
        self._key = None

    # -- APDU entry point -------------------------------------------------------------------------
    def transmit(self, apdu: bytes) -> bytes:
        """Process one command APDU; return response data followed by SW1 SW2.

        Raises CardTorn (from the store's fault hook) when a test simulates the card leaving the
        field mid-command: the terminal then gets no answer at all.
        """
        try:
            data, le = self._dispatch(apdu)
        except CardError as err:
            self._s.pending = b""
            return err.sw.to_bytes(2, "big")
        return self._respond(data, le)

    def _respond(self, data: bytes, le: int = RESPONSE_CHUNK) -> bytes:
        chunk, rest = data[:le], data[le:]
        self._s.pending = rest
        if rest:
            return chunk + bytes([c.SW1_MORE_DATA, min(len(rest), 256) & 0xFF])
        return chunk + b"\x90\x00"

    def _dispatch(self, raw: bytes) -> tuple[bytes, int]:
        # The card nonce of INTERNAL AUTHENTICATE is valid for the next command only, whatever happens to
        # it (an APDU shorter than 2 bytes included); GET RESPONSE and the intermediate blocks of a chain
        # (one logical command) do not count.
        challenge = None
        if len(raw) < 2 or not (raw[0] & c.CLA_CHAINING_BIT or raw[1] == c.INS_GET_RESPONSE):
            challenge, self._s.challenge = self._s.challenge, None
        try:
            cmd = CommandApdu.parse(raw)
        except ApduFormatError:
            raise CardError(c.SW.WRONG_LENGTH) from None
        chained = bool(cmd.cla & c.CLA_CHAINING_BIT)
        base_cla = cmd.cla & ~c.CLA_CHAINING_BIT
        if base_cla not in (c.CLA_ISO, c.CLA_PROPRIETARY):
            raise CardError(c.SW.CLA_NOT_SUPPORTED)
        known = _ISO_INS if base_cla == c.CLA_ISO else _PROPRIETARY_INS
        if cmd.ins not in known:
            raise CardError(c.SW.INS_NOT_SUPPORTED)

        le = cmd.le or RESPONSE_CHUNK
        if cmd.ins == c.INS_GET_RESPONSE:
            return self._get_response(cmd), le
        self._s.pending = b""
        if cmd.ins == c.INS_SELECT:
            self._s.chain_header, self._s.chain_data = None, b""
            return self._select(cmd), le
        _require(self._s.selected, c.SW.COMMAND_NOT_ALLOWED)

        full = self._collect_chain(cmd, chained)
        if full is None:
            return b"", le  # intermediate block accepted (9000)
        handler = self._handlers()[full.ins]
        return handler(full, challenge), le

    def _collect_chain(self, cmd: CommandApdu, chained: bool) -> CommandApdu | None:
        header = (cmd.cla & ~c.CLA_CHAINING_BIT, cmd.ins, cmd.p1, cmd.p2)
        if self._s.chain_header is not None and self._s.chain_header != header:
            self._s.chain_header, self._s.chain_data = None, b""
            raise CardError(c.SW.LAST_COMMAND_EXPECTED)
        if chained:
            _require(cmd.ins in _CHAINABLE_INS, c.SW.CHAINING_NOT_SUPPORTED)
            data = self._s.chain_data + cmd.data
            if len(data) > MAX_CHAINED_DATA:
                self._s.chain_header, self._s.chain_data = None, b""
                raise CardError(c.SW.NOT_ENOUGH_MEMORY)
            self._s.chain_header, self._s.chain_data = header, data
            return None
        if self._s.chain_header is not None:
            data = self._s.chain_data + cmd.data
            self._s.chain_header, self._s.chain_data = None, b""
            _require(len(data) <= MAX_CHAINED_DATA, c.SW.NOT_ENOUGH_MEMORY)
            return replace(cmd, data=data)
        return cmd

    def _handlers(self) -> dict[int, Callable[[CommandApdu, bytes | None], bytes]]:
        return {
            c.INS_GET_DATA: self._get_data,
            c.INS_PUT_DATA: self._put_data,
            c.INS_VERIFY: self._verify,
            c.INS_CHANGE_REFERENCE_DATA: self._change_pin,
            c.INS_RESET_RETRY_COUNTER: self._reset_retry_counter,
            c.INS_INTERNAL_AUTHENTICATE: self._internal_authenticate,
            c.INS_GENERATE_KEY: self._generate_key,
            c.INS_DEBIT: self._debit,
            c.INS_READ_LOG: self._read_log,
            c.INS_LOAD_GRANT: self._load_grant,
            c.INS_SET_STATUS: self._set_status,
        }

    # -- helpers ---------------------------------------------------------------------------------
    def _commit(self, new: CardState) -> None:
        self.store.save(new)  # may raise CardTorn: the old state then stays, in memory and on disk
        self._state = new

    def _in_state(self, *allowed: int) -> None:
        _require(self._state.life_cycle in allowed, c.SW.CONDITIONS_NOT_SATISFIED)

    def _signing_key(self) -> ec.EllipticCurvePrivateKey:
        if self._key is None:
            self._key = ec.derive_private_key(
                int.from_bytes(self._state.private_scalar, "big"), ec.SECP256R1()
            )
        return self._key

    def _sign(self, message: bytes) -> bytes:
        # RFC 6979 deterministic ECDSA: reproducible test vectors. A chip may use a random nonce.
        return self._signing_key().sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))

    def _issuer_point(self, kid: bytes) -> bytes:
        for known_kid, point in self._state.issuer_keys:
            if known_kid == kid:
                return point
        raise CardError(c.SW.DATA_NOT_FOUND)

    def _check_issuer_signature(self, kid: bytes, signature: bytes, message: bytes) -> None:
        point = self._issuer_point(kid)
        _require(_verify_der(point, signature, message), c.SW.AUTHENTICATION_FAILED)

    @staticmethod
    def _no_data(cmd: CommandApdu) -> None:
        _require(not cmd.data, c.SW.WRONG_LENGTH)

    @staticmethod
    def _parse(data: bytes) -> dict[int, bytes]:
        try:
            return parse_tlv(data)
        except TlvError:
            raise CardError(c.SW.WRONG_DATA) from None

    # -- SELECT / GET RESPONSE -------------------------------------------------------------------
    def _select(self, cmd: CommandApdu) -> bytes:
        _require(cmd.p1 == c.SELECT_BY_NAME and cmd.p2 == 0x00, c.SW.INCORRECT_P1P2)
        _require(cmd.cla == c.CLA_ISO, c.SW.CLA_NOT_SUPPORTED)
        if cmd.data != c.AID:
            raise CardError(c.SW.FILE_NOT_FOUND)  # the current selection, if any, stays
        self._s = _Session()
        self._s.selected = True
        st = self._state
        caps = c.CAP_PIN_RESET_BY_TERMINAL_CERT | c.CAP_CHECK_IN | c.CAP_CHAINING
        if self.contactless:
            caps |= c.CAP_CONTACTLESS
        prop = (
            tlv(c.TAG_VERSION, bytes(c.APPLET_VERSION))
            + tlv(c.TAG_CAPABILITIES, bytes([caps]))
            + tlv(c.TAG_LIFE_CYCLE, bytes([st.life_cycle]))
            + (tlv(c.TAG_CARD_SERIAL, st.serial) if st.serial else b"")
            + tlv(c.TAG_LOG_CAPACITY, bytes([c.LOG_CAPACITY]))
        )
        return tlv(c.TAG_FCI, tlv(c.TAG_DF_NAME, c.AID) + tlv(c.TAG_FCI_PROPRIETARY, prop))

    def _get_response(self, cmd: CommandApdu) -> bytes:
        _require(cmd.cla & ~c.CLA_CHAINING_BIT == c.CLA_ISO, c.SW.CLA_NOT_SUPPORTED)
        _require(cmd.p1 == 0 and cmd.p2 == 0, c.SW.INCORRECT_P1P2)
        _require(bool(self._s.pending), c.SW.CONDITIONS_NOT_SATISFIED)
        data, self._s.pending = self._s.pending, b""
        return data

    # -- GET DATA / PUT DATA ---------------------------------------------------------------------
    def _get_data(self, cmd: CommandApdu, _ch: bytes | None) -> bytes:
        self._no_data(cmd)
        _require(self._state.life_cycle != L.TERMINATED, c.SW.CONDITIONS_NOT_SATISFIED)
        st = self._state
        tag = (cmd.p1 << 8) | cmd.p2
        if tag == c.DO_CREDENTIAL:
            _require(bool(st.credential), c.SW.DATA_NOT_FOUND)
            return st.credential
        if tag == c.DO_GRANTS:
            return b"".join(
                tlv(
                    c.TAG_SIGNED_GRANT,
                    tlv(c.TAG_GRANT_BODY, g.body)
                    + tlv(c.TAG_KEY_ID, g.kid)
                    + tlv(c.TAG_SIGNATURE, g.signature),
                )
                for g in st.grants
            )
        if tag == c.DO_CARD_SERIAL:
            _require(bool(st.serial), c.SW.DATA_NOT_FOUND)
            return st.serial
        if tag == c.DO_ISSUER_KEYS:
            return b"".join(
                tlv(c.TAG_ISSUER_KEY, tlv(c.TAG_KEY_ID, kid) + tlv(c.TAG_EC_POINT, point))
                for kid, point in st.issuer_keys
            )
        if tag == c.DO_CARD_PUBLIC_KEY:
            _require(bool(st.private_scalar), c.SW.DATA_NOT_FOUND)
            return tlv(c.TAG_PUBLIC_KEY_TEMPLATE, tlv(c.TAG_EC_POINT, _point(st.private_scalar)))
        if tag == c.DO_PERSONAL_DATA:
            _require(self._s.pin_verified, c.SW.SECURITY_STATUS_NOT_SATISFIED)
            _require(bool(st.personal_data), c.SW.DATA_NOT_FOUND)
            return st.personal_data
        raise CardError(c.SW.DATA_NOT_FOUND)

    def _put_data(self, cmd: CommandApdu, _ch: bytes | None) -> bytes:
        self._in_state(L.PERSONALISATION)
        st = self._state
        tag = (cmd.p1 << 8) | cmd.p2
        data = cmd.data
        if tag == c.DO_CREDENTIAL:
            _require(0 < len(data) <= c.MAX_CREDENTIAL_LEN, c.SW.WRONG_LENGTH)
            _require(bool(st.private_scalar), c.SW.CONDITIONS_NOT_SATISFIED)  # the key it binds comes first
            self._commit(replace(st, credential=data))
        elif tag == c.DO_CARD_SERIAL:
            _require(len(data) == c.CARD_SERIAL_LEN, c.SW.WRONG_LENGTH)
            self._commit(replace(st, serial=data))
        elif tag == c.DO_PERSONAL_DATA:
            _require(0 < len(data) <= 128, c.SW.WRONG_LENGTH)
            self._commit(replace(st, personal_data=data))
        elif tag == c.DO_HOLDER_REF:
            _require(len(data) == c.HOLDER_REF_LEN, c.SW.WRONG_LENGTH)
            self._commit(replace(st, holder_ref=data, holder_tries=c.HOLDER_CHECK_MAX_TRIES))
        elif tag == c.DO_ISSUER_KEYS:
            inner = self._parse(parse_single_or_error(data, c.TAG_ISSUER_KEY))
            kid = require_or_error(inner, c.TAG_KEY_ID)
            point = require_or_error(inner, c.TAG_EC_POINT)
            _require(len(kid) == c.KEY_ID_LEN and len(point) == 65 and point[0] == 4, c.SW.WRONG_DATA)
            try:
                ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
            except ValueError:
                raise CardError(c.SW.WRONG_DATA) from None
            keys = tuple(k for k in st.issuer_keys if k[0] != kid)
            _require(len(keys) < c.MAX_ISSUER_KEYS, c.SW.NOT_ENOUGH_MEMORY)
            self._commit(replace(st, issuer_keys=keys + ((kid, point),)))
        else:
            raise CardError(c.SW.DATA_NOT_FOUND)
        return b""

    def _generate_key(self, cmd: CommandApdu, _ch: bytes | None) -> bytes:
        self._in_state(L.PERSONALISATION)
        _require(not self._state.credential, c.SW.CONDITIONS_NOT_SATISFIED)  # the credential binds the key
        self._no_data(cmd)
        _require(cmd.p1 == 0 and cmd.p2 == 0, c.SW.INCORRECT_P1P2)
        n = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
        while True:
            scalar = int.from_bytes(self.rng(32), "big")
            if 1 <= scalar < n:
                break
        raw = scalar.to_bytes(32, "big")
        self._commit(replace(self._state, private_scalar=raw))
        self._key = None
        return tlv(c.TAG_PUBLIC_KEY_TEMPLATE, tlv(c.TAG_EC_POINT, _point(raw)))

    # -- PIN ---------------------------------------------------------------------------------------
    def _check_pin(self, candidate: bytes) -> None:
        """Compare a PIN block, decrementing the try counter *before* comparing (tear-safe)."""
        st = self._state
        _require(st.pin_tries > 0, c.SW.PIN_BLOCKED)
        self._commit(replace(st, pin_tries=st.pin_tries - 1))
        if hashlib.sha256(candidate).digest() != hashlib.sha256(st.pin_block).digest():
            self._s.debit_key = None
            raise CardError(c.sw_pin_tries(st.pin_tries - 1))
        self._commit(replace(self._state, pin_tries=c.PIN_MAX_TRIES))

    def _open(self, ins: int, nonce: bytes | None, envelope: bytes, plaintext_len: int) -> bytes:
        """Open a PIN envelope bound to this command and card nonce (§6.14); any defect → 6A80."""
        _require(nonce is not None, c.SW.CONDITIONS_NOT_SATISFIED)
        assert nonce is not None
        try:
            return open_envelope(self._signing_key(), ins, self._state.serial, nonce, envelope, plaintext_len)
        except EnvelopeError:
            raise CardError(c.SW.WRONG_DATA) from None

    def _verify(self, cmd: CommandApdu, nonce: bytes | None) -> bytes:
        self._in_state(L.OPERATIONAL)
        _require(cmd.p1 == 0x00, c.SW.INCORRECT_P1P2)
        _require(cmd.p2 == c.PIN_REFERENCE, c.SW.DATA_NOT_FOUND)
        st = self._state
        if not cmd.data:  # status query: spends nothing
            if st.pin_tries == 0:
                raise CardError(c.SW.PIN_BLOCKED)
            if self._s.pin_verified:
                return b""
            raise CardError(c.sw_pin_tries(st.pin_tries))
        _require(nonce is not None, c.SW.CONDITIONS_NOT_SATISFIED)
        assert nonce is not None
        try:
            block, debit_key = open_verify(self._signing_key(), st.serial, nonce, cmd.data)
        except EnvelopeError:
            raise CardError(c.SW.WRONG_DATA) from None
        _require(is_valid_pin_block(block), c.SW.WRONG_DATA)
        self._check_pin(block)
        self._s.debit_key = debit_key  # PIN verified, bound to the terminal that sealed this envelope
        return b""

    def _change_pin(self, cmd: CommandApdu, nonce: bytes | None) -> bytes:
        _require(cmd.p2 == c.PIN_REFERENCE, c.SW.DATA_NOT_FOUND)
        if cmd.p1 == 0x01:  # personalisation: set the initial PIN (in the issuance facility, plain)
            self._in_state(L.PERSONALISATION)
            _require(len(cmd.data) == c.PIN_BLOCK_LEN, c.SW.WRONG_LENGTH)
            _require(is_valid_pin_block(cmd.data), c.SW.WRONG_DATA)
            self._commit(replace(self._state, pin_block=cmd.data, pin_tries=c.PIN_MAX_TRIES))
            return b""
        _require(cmd.p1 == 0x00, c.SW.INCORRECT_P1P2)
        self._in_state(L.OPERATIONAL)
        blocks = self._open(c.INS_CHANGE_REFERENCE_DATA, nonce, cmd.data, 2 * c.PIN_BLOCK_LEN)
        old, new = blocks[: c.PIN_BLOCK_LEN], blocks[c.PIN_BLOCK_LEN :]
        _require(is_valid_pin_block(old) and is_valid_pin_block(new), c.SW.WRONG_DATA)
        self._check_pin(old)
        self._commit(replace(self._state, pin_block=new, pin_tries=c.PIN_MAX_TRIES))
        self._s.debit_key = None  # a DEBIT needs a VERIFY with the new PIN
        return b""

    def _reset_retry_counter(self, cmd: CommandApdu, nonce: bytes | None) -> bytes:
        self._in_state(L.OPERATIONAL)
        _require(cmd.p1 == 0x00, c.SW.INCORRECT_P1P2)
        _require(cmd.p2 == c.PIN_REFERENCE, c.SW.DATA_NOT_FOUND)
        _require(nonce is not None, c.SW.CONDITIONS_NOT_SATISFIED)
        assert nonce is not None
        top = self._parse(cmd.data)
        cert = self._parse(require_or_error(top, c.TAG_TERMINAL_CERT))
        envelope = require_or_error(top, c.TAG_PIN_ENVELOPE)
        terminal_sig = require_or_error(top, c.TAG_SIGNATURE)
        _require(len(envelope) == envelope_len(RESET_PLAINTEXT_LEN), c.SW.WRONG_DATA)
        try:
            body = TerminalCertBody.decode(require_or_error(cert, c.TAG_TERMINAL_CERT_BODY))
        except RecordError:
            raise CardError(c.SW.WRONG_DATA) from None
        self._check_issuer_signature(
            require_or_error(cert, c.TAG_KEY_ID),
            require_or_error(cert, c.TAG_SIGNATURE),
            body.signed_message(),
        )
        _require(bool(body.roles & c.TerminalRole.PIN_RESET), c.SW.SECURITY_STATUS_NOT_SATISFIED)
        _require(body.valid_until >= self._state.last_terminal_time, c.SW.AUTHENTICATION_FAILED)
        card_key = _compressed(self._state.private_scalar)
        message = pin_reset_message(self._state.serial, nonce, card_key, envelope)
        _require(_verify_der(body.public_key, terminal_sig, message), c.SW.AUTHENTICATION_FAILED)
        plain = self._open(c.INS_RESET_RETRY_COUNTER, nonce, envelope, RESET_PLAINTEXT_LEN)
        new_pin, claimed_holder = plain[: c.PIN_BLOCK_LEN], plain[c.PIN_BLOCK_LEN :]
        _require(is_valid_pin_block(new_pin), c.SW.WRONG_DATA)
        st = self._state
        _require(st.holder_tries > 0, c.SW.PIN_BLOCKED)  # the holder check is blocked
        self._commit(replace(st, holder_tries=st.holder_tries - 1))  # before comparing (tear-safe)
        _require(hmac.compare_digest(claimed_holder, st.holder_ref), c.SW.HOLDER_MISMATCH)
        self._commit(
            replace(
                self._state,
                pin_block=new_pin,
                pin_tries=c.PIN_MAX_TRIES,
                holder_tries=c.HOLDER_CHECK_MAX_TRIES,
            )
        )
        self._s.debit_key = None
        return b""

    # -- authentication --------------------------------------------------------------------------
    def auth_body(self) -> AuthBody:
        st = self._state
        balances = tuple(
            Balance(g.program, g.kind, g.unit, g.grant_seq, g.remaining, g.valid_until) for g in st.grants
        )
        return AuthBody(st.serial, st.life_cycle, st.pin_tries, st.tx_counter, balances)

    def _internal_authenticate(self, cmd: CommandApdu, _ch: bytes | None) -> bytes:
        self._in_state(L.OPERATIONAL, L.BLOCKED)
        _require(cmd.p1 == 0 and cmd.p2 == 0, c.SW.INCORRECT_P1P2)
        _require(len(cmd.data) == c.CHALLENGE_LEN, c.SW.WRONG_LENGTH)
        body = self.auth_body()
        card_nonce = self.rng(c.CARD_NONCE_LEN)
        signature = self._sign(body.signed_message(cmd.data, card_nonce))
        self._s.challenge = card_nonce  # for the next command only (§5.1.3 step 0)
        return tlv(
            c.TAG_SIGNED_AUTH,
            tlv(c.TAG_AUTH_BODY, body.encode())
            + tlv(c.TAG_CARD_NONCE, card_nonce)
            + tlv(c.TAG_SIGNATURE, signature),
        )

    # -- DEBIT / READ LOG ------------------------------------------------------------------------
    DEBIT_DATA_LEN = c.DEBIT_DATA_LEN  # 29 bytes of fields + 8 bytes of MAC

    def _debit(self, cmd: CommandApdu, _ch: bytes | None) -> bytes:
        self._in_state(L.OPERATIONAL)
        _require(cmd.p1 == 0 and cmd.p2 == 0, c.SW.INCORRECT_P1P2)
        _require(len(cmd.data) == self.DEBIT_DATA_LEN, c.SW.WRONG_LENGTH)
        debit_key = self._s.debit_key
        _require(debit_key is not None, c.SW.SECURITY_STATUS_NOT_SATISFIED)
        assert debit_key is not None
        # one PIN presentation authorises one DEBIT attempt, refused or not, a wrong MAC included (§5.12)
        self._s.debit_key = None
        d, tag = cmd.data[: c.DEBIT_FIELDS_LEN], cmd.data[c.DEBIT_FIELDS_LEN :]
        header = bytes([cmd.cla, cmd.ins, cmd.p1, cmd.p2])
        _require(
            hmac.compare_digest(debit_mac(debit_key, header, d), tag), c.SW.SECURITY_STATUS_NOT_SATISFIED
        )
        program = d[0]
        amount = int.from_bytes(d[1:5], "big")
        terminal_id = d[5:13]
        nonce = d[13:21]
        terminal_time = int.from_bytes(d[21:25], "big")
        expected_counter = int.from_bytes(d[25:29], "big")
        st = self._state
        grant = st.grant_for(program)
        _require(grant is not None, c.SW.DATA_NOT_FOUND)
        assert grant is not None
        _require(expected_counter == st.tx_counter, c.SW.COUNTER_MISMATCH)
        _require(grant.valid_from <= terminal_time <= grant.valid_until, c.SW.GRANT_NOT_VALID_NOW)
        if grant.kind in (c.Kind.CASH, c.Kind.QUANTITY):
            _require(amount > 0, c.SW.WRONG_DATA)
            _require(amount <= grant.remaining, c.SW.INSUFFICIENT_BALANCE)
            tx_type, remaining = c.TxType.DEBIT, grant.remaining - amount
        else:
            _require(amount == 0, c.SW.WRONG_KIND)
            tx_type, remaining = c.TxType.CHECK_IN, grant.remaining
        _require(st.tx_counter < 0xFFFFFFFF, c.SW.CONDITIONS_NOT_SATISFIED)
        record = TxRecord(
            tx_type=tx_type,
            card_serial=st.serial,
            tx_counter=st.tx_counter + 1,
            program=program,
            grant_seq=grant.grant_seq,
            amount=amount,
            balance_after=remaining,
            terminal_id=terminal_id,
            terminal_nonce=nonce,
            terminal_time=terminal_time,
        )
        encoded = record.encode()
        signature = self._sign(record.signed_message())
        new = replace(
            st.with_grant(replace(grant, remaining=remaining)).with_log(LogEntry(encoded, signature)),
            tx_counter=record.tx_counter,
            last_terminal_time=max(st.last_terminal_time, terminal_time),
        )
        self._commit(new)  # balance, counter and log change together or not at all
        return signed_tx_tlv(encoded, signature)

    def _read_log(self, cmd: CommandApdu, _ch: bytes | None) -> bytes:
        self._in_state(L.OPERATIONAL, L.BLOCKED)
        self._no_data(cmd)
        _require(cmd.p1 == 0 and cmd.p2 <= c.LOG_CAPACITY, c.SW.INCORRECT_P1P2)
        count = cmd.p2 or c.LOG_CAPACITY
        entries = list(reversed(self._state.log))[:count]
        return b"".join(signed_tx_tlv(e.record, e.signature) for e in entries)

    # -- LOAD GRANT / SET STATUS -----------------------------------------------------------------
    def _load_grant(self, cmd: CommandApdu, _ch: bytes | None) -> bytes:
        self._in_state(L.OPERATIONAL)
        _require(cmd.p1 == 0 and cmd.p2 == 0, c.SW.INCORRECT_P1P2)
        objects = self._parse(cmd.data)
        raw_body = require_or_error(objects, c.TAG_GRANT_BODY)
        kid = require_or_error(objects, c.TAG_KEY_ID)
        signature = require_or_error(objects, c.TAG_SIGNATURE)
        try:
            body = GrantBody.decode(raw_body)
        except RecordError:
            raise CardError(c.SW.WRONG_DATA) from None
        st = self._state
        _require(body.card_serial == st.serial, c.SW.WRONG_DATA)
        _require(body.program in c.PROGRAM_KIND, c.SW.WRONG_DATA)
        _require(c.PROGRAM_KIND[c.Program(body.program)] == body.kind, c.SW.WRONG_KIND)
        _require(body.valid_from <= body.valid_until, c.SW.WRONG_DATA)
        self._check_issuer_signature(kid, signature, body.signed_message())
        current = st.grant_for(body.program)
        _require(current is None or body.grant_seq > current.grant_seq, c.SW.SEQUENCE_NOT_NEWER)
        grant = StoredGrant(
            body=raw_body,
            kid=kid,
            signature=signature,
            program=body.program,
            kind=body.kind,
            unit=body.unit,
            grant_seq=body.grant_seq,
            remaining=body.amount,
            valid_from=body.valid_from,
            valid_until=body.valid_until,
        )
        new = replace(st.with_grant(grant), last_terminal_time=max(st.last_terminal_time, body.valid_from))
        self._commit(new)  # valid_from is issuer-signed: a trustworthy lower bound for the soft clock
        return b""

    def _set_status(self, cmd: CommandApdu, _ch: bytes | None) -> bytes:
        st = self._state
        _require(cmd.p2 == 0 and cmd.p1 in {s.value for s in L}, c.SW.INCORRECT_P1P2)
        target = cmd.p1
        if st.life_cycle == L.PERSONALISATION:
            _require(target == L.OPERATIONAL, c.SW.CONDITIONS_NOT_SATISFIED)
            self._no_data(cmd)
            complete = all(
                (st.serial, st.private_scalar, st.credential, st.pin_block, st.issuer_keys, st.holder_ref)
            )
            _require(complete, c.SW.CONDITIONS_NOT_SATISFIED)
            self._commit(replace(st, life_cycle=L.OPERATIONAL))
            return b""
        allowed = {
            L.OPERATIONAL: {L.BLOCKED, L.TERMINATED},
            L.BLOCKED: {L.OPERATIONAL, L.TERMINATED},
        }.get(L(st.life_cycle), set())
        _require(target in allowed, c.SW.CONDITIONS_NOT_SATISFIED)
        objects = self._parse(cmd.data)
        try:
            body = StatusBody.decode(require_or_error(objects, c.TAG_STATUS_BODY))
        except RecordError:
            raise CardError(c.SW.WRONG_DATA) from None
        _require(body.card_serial == st.serial and body.new_state == target, c.SW.WRONG_DATA)
        self._check_issuer_signature(
            require_or_error(objects, c.TAG_KEY_ID),
            require_or_error(objects, c.TAG_SIGNATURE),
            body.signed_message(),
        )
        _require(body.status_seq > st.status_seq, c.SW.SEQUENCE_NOT_NEWER)
        # an issuer-signed unblock also restores the holder-check tries of RESET RETRY COUNTER (§5.15)
        holder_tries = c.HOLDER_CHECK_MAX_TRIES if target == L.OPERATIONAL else st.holder_tries
        self._commit(replace(st, life_cycle=target, status_seq=body.status_seq, holder_tries=holder_tries))
        self._s.debit_key = None
        return b""


def signed_tx_tlv(record: bytes, signature: bytes) -> bytes:
    return tlv(c.TAG_SIGNED_TX, tlv(c.TAG_TX_RECORD, record) + tlv(c.TAG_SIGNATURE, signature))


def require_or_error(objects: dict[int, bytes], tag: int) -> bytes:
    try:
        return require(objects, tag)
    except TlvError:
        raise CardError(c.SW.WRONG_DATA) from None


def parse_single_or_error(data: bytes, tag: int) -> bytes:
    try:
        return parse_single(data, tag)
    except TlvError:
        raise CardError(c.SW.WRONG_DATA) from None


__all__ = ["CardError", "ReferenceCard", "iter_tlv", "signed_tx_tlv"]

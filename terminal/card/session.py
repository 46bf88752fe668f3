"""Tier 3: a session speaks the KHBS applet over a Connection and returns typed, parsed results.

Sessions take a connection, never a reader name. Every refusal becomes a typed error from
``terminal.card.errors``; every response is parsed strictly (MalformedResponseError otherwise).
Signatures are *parsed* here and *verified* by ``terminal.verify``. The commands are built by
``card_applet_spec.commands`` and the answers parsed by ``card_applet_spec.responses``, the definitions
the test vectors are generated with.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import commands, responses
from card_applet_spec import constants as c
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.pin_envelope import seal, seal_verify
from card_applet_spec.records import RecordError, TerminalCertBody, pin_block, pin_reset_message

# The parsed answers are defined with their parsers; the layers above import them from here (re-exported).
from card_applet_spec.responses import AppInfo as AppInfo
from card_applet_spec.responses import PersonalData as PersonalData
from card_applet_spec.responses import ResponseError
from card_applet_spec.responses import SignedAuth as SignedAuth
from card_applet_spec.responses import SignedGrant as SignedGrant
from card_applet_spec.responses import SignedTx as SignedTx
from card_applet_spec.tlv import TlvError, parse_single, parse_tlv, require
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
class PinStatus:
    verified: bool
    tries_remaining: int


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
        return commands.terminal_cert_data(self.body.encode(), self.kid, self.issuer_signature)

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


@contextmanager
def _strict() -> Iterator[None]:
    """An answer the shared parsers refuse (``ResponseError``) is a MalformedResponseError here."""
    try:
        yield
    except ResponseError as exc:
        raise MalformedResponseError(str(exc)) from exc


def parse_signed_tx(value: bytes) -> SignedTx:
    """Parse the value of an E1 (signed transaction) template."""
    with _strict():
        return responses.parse_signed_tx(value)


def parse_personal_data(raw: bytes) -> PersonalData:
    """Parse DF26 strictly (SPEC.md §6.12): typed errors only, whatever the card sends."""
    with _strict():
        return responses.parse_personal_data(raw)


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

    def _send(self, command: CommandApdu) -> bytes:
        self._fresh = None  # any command spends the card nonce (SPEC.md §5.1.3 step 0)
        response, sw = self._protocol.process(command)
        if sw != c.SW.OK:
            raise error_for_sw(sw)
        return response

    def _get_data(self, do: int) -> bytes:
        return self._send(commands.get_data(do))

    # -- selection and reading -----------------------------------------------------------------
    def select(self) -> AppInfo:
        self._debit_key = None  # a new card session: the card has dropped its verification too
        fci = self._send(commands.select())
        with _strict():
            self.info = responses.parse_fci(fci)
        return self.info

    def read_credential(self) -> bytes:
        """The credential's bytes as the card answers them: nothing here trusts them (the verifier does)."""
        return self._get_data(c.DO_CREDENTIAL)

    def read_serial(self) -> bytes:
        return self._get_data(c.DO_CARD_SERIAL)

    def read_card_public_key(self) -> bytes:
        answer = self._get_data(c.DO_CARD_PUBLIC_KEY)
        with _strict():
            return responses.parse_card_public_key(answer)

    def read_grants(self) -> list[SignedGrant]:
        answer = self._get_data(c.DO_GRANTS)
        with _strict():
            return responses.parse_grants(answer)

    def read_personal_data(self) -> PersonalData:
        """The PIN-protected personal data object (verify the PIN first); strictly parsed (§6.12)."""
        return parse_personal_data(self._get_data(c.DO_PERSONAL_DATA))

    # -- authentication ------------------------------------------------------------------------
    def authenticate(self, challenge: bytes) -> SignedAuth:
        if len(challenge) != c.CHALLENGE_LEN:
            raise ValueError(f"challenge must be {c.CHALLENGE_LEN} bytes")
        response = self._send(commands.internal_authenticate(challenge))
        with _strict():
            auth = responses.parse_signed_auth(response, challenge)
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
            self._send(commands.verify())
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
        self._send(commands.verify(sealed.envelope))
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
        self._send(commands.change_reference_data(envelope))

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
        data = commands.reset_retry_counter_data(cert.encode(), envelope, signature)
        try:
            self._send(commands.reset_retry_counter(data))
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
        fields = commands.debit_fields(program, amount, terminal_id, nonce, terminal_time, expected_counter)
        response = self._send(commands.debit(commands.debit_data(debit_key, fields)))
        with _strict():
            return responses.parse_debit_answer(response)

    def read_log(self, count: int = 0) -> list[SignedTx]:
        """The last ``count`` signed records, newest first (0: all the card keeps)."""
        if not 0 <= count <= c.LOG_CAPACITY:
            raise ValueError("count out of range")
        response = self._send(commands.read_log(count))
        with _strict():
            return responses.parse_log(response)

    def load_grant(self, body: bytes, kid: bytes, signature: bytes) -> None:
        data = commands.signed_object_data(c.TAG_GRANT_BODY, body, kid, signature)
        self._send(commands.load_grant(data))

    def set_status(self, target: int, body: bytes, kid: bytes, signature: bytes) -> None:
        """Issuer-signed block / unblock / terminate."""
        self._debit_key = None  # the card ends the verification (§5.15)
        data = commands.signed_object_data(c.TAG_STATUS_BODY, body, kid, signature)
        self._send(commands.set_status(target, data))

    # -- personalisation -----------------------------------------------------------------------
    def generate_key(self) -> bytes:
        """The card makes its key pair; returns the public point (65 bytes, uncompressed)."""
        response = self._send(commands.generate_key())
        with _strict():
            return responses.parse_generated_key(response)

    def put_data(self, do: int, value: bytes) -> None:
        self._send(commands.put_data(do, value))

    def put_issuer_key(self, kid: bytes, point: bytes) -> None:
        self.put_data(c.DO_ISSUER_KEYS, commands.issuer_key_data(kid, point))

    def set_initial_pin(self, pin: str) -> None:
        self._send(commands.set_initial_pin(pin))

    def activate(self) -> None:
        self._send(commands.activate())

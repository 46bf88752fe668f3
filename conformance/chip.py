"""The kit's terminal: it speaks the applet over a :class:`~conformance.link.Link` and checks each answer
against the contract — exact status words and layouts, card signatures *verified* with the chip's key.

Everything the kit signs or writes uses the published TEST keys and holder of the vectors (SPEC §11.2):
``issuer_1`` / ``issuer_2`` (issuer keys on the card), ``terminal_1`` (the certified counter terminal),
``rogue`` (on no card). A chip draws its own key, nonces and ECDSA nonces; the kit seals its PIN envelopes
to the chip's key and the chip's card nonce, as §11.8 says a chip harness must.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec import responses
from card_applet_spec.apdu import CommandApdu
from card_applet_spec.credential import compressed_point, holder_ref
from card_applet_spec.issuer import IssuerSigner, Signed
from card_applet_spec.pin_envelope import seal, seal_verify
from card_applet_spec.records import AuthBody, TxRecord, pin_block, pin_reset_message
from card_applet_spec.tlv import tlv
from card_applet_spec.vectorkit import inputs as v
from conformance.link import OK as OK
from conformance.link import Link

SW = c.SW
#: The issuer keys a test card may carry: the vectors' published ones (SPEC §11.2). Anything else on a
#: card is a production (or foreign) key, and the kit refuses the card.
TEST_ISSUERS: dict[bytes, IssuerSigner] = {v.ISSUER_1.kid: v.ISSUER_1, v.ISSUER_2.kid: v.ISSUER_2}


class Mismatch(Exception):
    """The chip answered outside the contract: what the SPEC says, what came back."""

    def __init__(self, expected: str, observed: str) -> None:
        super().__init__(f"expected {expected}; observed {observed}")
        self.expected = expected
        self.observed = observed


def sw_text(sw: int) -> str:
    try:
        return f"{sw:04X} ({SW(sw).name})"
    except ValueError:
        return f"{sw:04X}"


def expect_sw(got: int, want: int, what: str) -> None:
    if got != want:
        raise Mismatch(f"{what}: SW {sw_text(want)}", f"{what}: SW {sw_text(got)}")


def expect(condition: bool, expected: str, observed: str) -> None:
    if not condition:
        raise Mismatch(expected, observed)


def verify_card_signature(point: bytes, signature: bytes, message: bytes, what: str) -> None:
    try:
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError) as exc:
        raise Mismatch(
            f"{what}: a card signature that verifies with the chip's key", f"it does not ({exc!r})"
        ) from exc


@functools.cache
def holder_reference(nik: str, serial: bytes) -> bytes:
    return holder_ref(nik, serial)  # scrypt: once per NIK and card


def fresh(n: int) -> bytes:
    return os.urandom(n)


def fci_bytes(capabilities: int, life_cycle: int, serial: bytes | None) -> bytes:
    """The FCI of §2.3, byte for byte: the order, the one-byte lengths, the serial only once written."""
    prop = (
        tlv(c.TAG_VERSION, bytes(c.APPLET_VERSION))
        + tlv(c.TAG_CAPABILITIES, bytes([capabilities]))
        + tlv(c.TAG_LIFE_CYCLE, bytes([life_cycle]))
        + (tlv(c.TAG_CARD_SERIAL, serial) if serial is not None else b"")
        + tlv(c.TAG_LOG_CAPACITY, bytes([c.LOG_CAPACITY]))
    )
    return tlv(c.TAG_FCI, tlv(c.TAG_DF_NAME, c.AID) + tlv(c.TAG_FCI_PROPRIETARY, prop))


@dataclass
class Verified:
    """A VERIFY the chip accepted: its DEBIT key (this terminal's, spent by the next DEBIT)."""

    debit_key: bytes


class Chip:
    """The card under test, as the kit's terminal sees it. ``reconnect`` replaces the link after a tear."""

    def __init__(self, link: Link, reconnect: Callable[[], Link]) -> None:
        self.link = link
        self._reconnect = reconnect
        self.serial = b""
        self.point = b""  # the chip's public key, SEC 1 uncompressed
        self.pin = v.PIN
        self.capabilities = 0
        self.nonce: bytes | None = None  # card nonce of the last command if it was INTERNAL AUTHENTICATE
        self.status_seq = 0  # the last status_seq the kit used on this card

    def reconnect(self) -> None:
        self.link = self._reconnect()
        self.nonce = None

    # -- raw -------------------------------------------------------------------------------------------
    def send(self, command: CommandApdu | bytes) -> tuple[bytes, int]:
        apdu = command.encode() if isinstance(command, CommandApdu) else command
        if len(apdu) < 2 or not (apdu[0] & c.CLA_CHAINING_BIT or apdu[1] == c.INS_GET_RESPONSE):
            self.nonce = None  # §5.1.3 step 0: the card spends its nonce on this command
        return self.link.collect(apdu)

    def raw(self, command: CommandApdu | bytes, want: int, what: str) -> bytes:
        data, sw = self.send(command)
        expect_sw(sw, want, what)
        if sw != OK:
            expect(data == b"", f"{what}: no data with an error (§5.1.3)", f"{len(data)} bytes")
        return data

    # -- reading ---------------------------------------------------------------------------------------
    def select(self) -> responses.AppInfo:
        data = self.raw(cmd.select(), OK, "SELECT")
        info = responses.parse_fci(data)
        expect(info.version == c.APPLET_VERSION, "applet version 2.0", f"{info.version}")
        expect(
            info.capabilities in (0x0E, 0x0F),
            "capabilities 0F (contactless) or 0E (contact)",
            f"{info.capabilities:02X}",
        )
        want = fci_bytes(info.capabilities, info.life_cycle, info.serial)
        expect(data == want, f"FCI {want.hex().upper()}", data.hex().upper())
        if self.serial and info.serial is not None:
            expect(info.serial == self.serial, f"FCI serial {self.serial.hex()}", info.serial.hex())
        self.capabilities = info.capabilities
        return info

    def get_data(self, do: int, want: int = OK) -> bytes:
        return self.raw(cmd.get_data(do), want, f"GET DATA {do:04X}")

    def authenticate(self, challenge: bytes | None = None, want: int = OK) -> responses.SignedAuth | None:
        challenge = fresh(c.CHALLENGE_LEN) if challenge is None else challenge
        data = self.raw(cmd.internal_authenticate(challenge), want, "INTERNAL AUTHENTICATE")
        if want != OK:
            return None
        try:
            auth = responses.parse_signed_auth(data, challenge)
        except responses.ResponseError as exc:
            raise Mismatch("E2 { C1 AuthBody, C8 nonce, 9E signature }", str(exc)) from exc
        layout = tlv(
            c.TAG_SIGNED_AUTH,
            tlv(c.TAG_AUTH_BODY, auth.body_bytes)
            + tlv(c.TAG_CARD_NONCE, auth.card_nonce)
            + tlv(c.TAG_SIGNATURE, auth.signature),
        )
        expect(data == layout, "E2 with C1, C8, 9E in this order, shortest lengths (§5.11)", data.hex())
        verify_card_signature(self.point, auth.signature, auth.signed_message(), "INTERNAL AUTHENTICATE")
        body = auth.body
        expect(
            body.card_serial == self.serial, f"AuthBody serial {self.serial.hex()}", body.card_serial.hex()
        )
        expect(
            body.life_cycle in (c.LifeCycle.OPERATIONAL, c.LifeCycle.BLOCKED),
            "life cycle 0F/8F",
            f"{body.life_cycle:02X}",
        )
        expect(0 <= body.pin_tries <= c.PIN_MAX_TRIES, "PIN tries 0..3", str(body.pin_tries))
        programs = [b.program for b in body.balances]
        expect(programs == sorted(set(programs)), "balances in ascending programme order", str(programs))
        expect(auth.card_nonce != bytes(16), "a random card nonce", "16 zero bytes")
        self.nonce = auth.card_nonce
        return auth

    def state(self) -> AuthBody:
        auth = self.authenticate()
        assert auth is not None
        return auth.body

    def balance(self, program: int) -> tuple[int, int]:
        """(grant_seq, remaining) of ``program`` from a fresh signed state; (0, 0) without a grant."""
        for b in self.state().balances:
            if b.program == program:
                return b.grant_seq, b.remaining
        return 0, 0

    # -- PIN -------------------------------------------------------------------------------------------
    def ensure_nonce(self) -> bytes:
        if self.nonce is None:
            self.authenticate()
        assert self.nonce is not None
        return self.nonce

    def verify(self, pin: str | None = None, want: int = OK) -> Verified | None:
        nonce = self.ensure_nonce()
        sealed = seal_verify(self.point, self.serial, nonce, pin_block(self.pin if pin is None else pin))
        self.raw(cmd.verify(sealed.envelope), want, "VERIFY (enciphered)")
        return Verified(sealed.debit_key) if want == OK else None

    def tries(self) -> int:
        """VERIFY without data: 63Cx = x tries (not verified), 9000 = verified (3)."""
        _, sw = self.send(cmd.verify())
        if sw == OK:
            return c.PIN_MAX_TRIES
        expect(sw & 0xFFF0 == 0x63C0 or sw == SW.PIN_BLOCKED, "63Cx or 6983", sw_text(sw))
        return 0 if sw == SW.PIN_BLOCKED else sw & 0x0F

    def change_pin(self, old: str, new: str, want: int = OK) -> None:
        nonce = self.ensure_nonce()
        env = seal(
            self.point, c.INS_CHANGE_REFERENCE_DATA, self.serial, nonce, pin_block(old) + pin_block(new)
        )
        self.raw(cmd.change_reference_data(env), want, "CHANGE REFERENCE DATA (enciphered)")
        if want == OK:
            self.pin = new

    def reset_pin(
        self,
        new: str,
        *,
        nik: str = v.HOLDER_NIK,
        cert: Signed | None = None,
        signer: IssuerSigner = v.TERMINAL_1,
        want: int = OK,
    ) -> None:
        """§9.5: INTERNAL AUTHENTICATE right before, then the chained reset bound to its nonce."""
        self.authenticate()
        nonce = self.nonce
        assert nonce is not None
        env = seal(
            self.point,
            c.INS_RESET_RETRY_COUNTER,
            self.serial,
            nonce,
            pin_block(new) + holder_reference(nik, self.serial),
        )
        cert = cert or v.terminal_cert()
        message = pin_reset_message(self.serial, nonce, compressed_point(self._public_key()), env)
        data = cmd.reset_retry_counter_data(
            cmd.terminal_cert_data(cert.body, cert.kid, cert.signature), env, signer.sign(message)
        )
        self.nonce = None
        _, sw = self.link.chained(cmd.reset_retry_counter(), data)
        expect_sw(sw, want, "RESET RETRY COUNTER (chained)")
        if want == OK:
            self.pin = new

    def _public_key(self) -> ec.EllipticCurvePublicKey:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.point)

    # -- transactions ----------------------------------------------------------------------------------
    def debit_fields(
        self,
        program: int,
        amount: int,
        counter: int,
        *,
        time: int = v.TERMINAL_TIME,
        nonce: bytes | None = None,
    ) -> bytes:
        return cmd.debit_fields(program, amount, v.TERMINAL_ID, nonce or fresh(8), time, counter)

    def debit(self, key: bytes, fields: bytes, want: int = OK) -> tuple[bytes, TxRecord | None]:
        """DEBIT MACed under ``key``; on 9000 the whole answer is checked against what was asked."""
        self.nonce = None
        data = self.raw(cmd.debit(cmd.debit_data(key, fields)), want, "DEBIT")
        if want != OK:
            return data, None
        return data, self.check_tx(data, fields)

    def check_tx(self, answer: bytes, fields: bytes) -> TxRecord:
        try:
            tx = responses.parse_debit_answer(answer)
        except responses.ResponseError as exc:
            raise Mismatch("E1 { C2 TxRecord, 9E signature }", str(exc)) from exc
        layout = tlv(
            c.TAG_SIGNED_TX, tlv(c.TAG_TX_RECORD, tx.record_bytes) + tlv(c.TAG_SIGNATURE, tx.signature)
        )
        expect(answer == layout, "E1 with C2 (47 bytes) then 9E, shortest lengths (§5.12)", answer.hex())
        verify_card_signature(self.point, tx.signature, tx.signed_message(), "DEBIT record")
        r = tx.record
        program, amount, terminal_id, nonce = (
            fields[0],
            int.from_bytes(fields[1:5], "big"),
            fields[5:13],
            fields[13:21],
        )
        when, counter = int.from_bytes(fields[21:25], "big"), int.from_bytes(fields[25:29], "big")
        got = (
            r.card_serial,
            r.tx_counter,
            r.program,
            r.amount,
            r.terminal_id,
            r.terminal_nonce,
            r.terminal_time,
        )
        want = (self.serial, counter + 1, program, amount, terminal_id, nonce, when)
        expect(got == want, f"record echoing the DEBIT {want}", f"{got}")
        return r

    def read_log(self, count: int) -> list[responses.SignedTx]:
        data = self.raw(cmd.read_log(count), OK, f"READ LOG P2={count:02X}")
        entries = responses.parse_log(data)
        for tx in entries:
            verify_card_signature(self.point, tx.signature, tx.signed_message(), "log record")
        return entries

    def load_grant(self, signed: Signed, want: int = OK) -> None:
        self.raw(
            cmd.load_grant(
                cmd.signed_object_data(c.TAG_GRANT_BODY, signed.body, signed.kid, signed.signature)
            ),
            want,
            "LOAD GRANT",
        )

    def set_status(self, target: int, signed: Signed, want: int = OK) -> None:
        data = cmd.signed_object_data(c.TAG_STATUS_BODY, signed.body, signed.kid, signed.signature)
        self.raw(cmd.set_status(target, data), want, f"SET STATUS {target:02X}")

    def status(self, target: int, signer: IssuerSigner = v.ISSUER_1, seq: int | None = None) -> Signed:
        if seq is None:
            self.status_seq += 1
            seq = self.status_seq
        return v.status_signed(target, seq, signer, serial=self.serial)

    def grant(
        self, program: c.Program, amount: int, seq: int, signer: IssuerSigner = v.ISSUER_1, **kw: int
    ) -> Signed:
        return signer.grant(v.grant_body(program, amount, seq=seq, serial=self.serial, **kw))

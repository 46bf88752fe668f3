"""The terminal operations of the vectors (SPEC §11.4 steps), recorded as a terminal session makes them.

Each operation of :class:`Tap` sends what the terminal's ``KhbsSession`` sends for it (the commands of
:mod:`card_applet_spec.commands`, the GET RESPONSE and chaining of its protocol processors), parses the
answer with :mod:`card_applet_spec.responses`, verifies every card signature with the vector card key and
the credential's issuer signature, and records the step with its arguments and the parsed result (or the
status word of the refusal). An operation the card refuses where the case does not expect it is a
:class:`VectorError`.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import commands as cmd
from card_applet_spec import constants as c
from card_applet_spec import responses
from card_applet_spec.constants import SW
from card_applet_spec.constants import LifeCycle as L
from card_applet_spec.constants import Program as P
from card_applet_spec.credential import compressed_point, decode_credential
from card_applet_spec.issuer import IssuerSigner, Signed
from card_applet_spec.records import AuthBody, GrantBody, TxRecord, pin_block
from card_applet_spec.vectorkit.inputs import (
    CARD_KEY,
    CARD_POINT,
    HOLDER_NIK,
    ISSUER_1,
    SIGNERS,
    TERMINAL_ID,
    TERMINAL_TIME,
    ephemeral_scalar,
    fixed_bytes,
    holder_reference,
)
from card_applet_spec.vectorkit.payloads import (
    NO_DEBIT_KEY,
    debit_fields,
    envelope,
    reset_message_data,
    signed_data,
    verify_envelope,
)
from card_applet_spec.vectorkit.recorder import OK, Profile, Recorder, VectorError, check
from card_applet_spec.vectorkit.views import (
    auth_json,
    credential_json,
    fci_json,
    grant_json,
    personal_data_json,
    signed_json,
    tx_json,
)


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


class Tap(Recorder):
    """One recording, driven by terminal operations (and raw APDUs where no operation sends them)."""

    def __init__(self, profiles: dict[str, Profile], setup: str) -> None:
        super().__init__(profiles, setup)
        #: as the terminal session: the DEBIT key of its last successful VERIFY, spent by the next DEBIT
        self.debit_key: bytes | None = None
        #: the DEBIT key of the last successful VERIFY, spent or not (what a retried DEBIT is MACed under)
        self.last_debit_key: bytes = NO_DEBIT_KEY

    # -- selection and reading ----------------------------------------------------------------------
    def select(self, note: str = "", sw: int = OK) -> dict[str, Any] | None:
        data = self.collect(cmd.select(), note or "SELECT the KHBS applet by AID", sw)
        self.debit_key = None
        if sw != OK:
            self.step("select", None, sw)
            return None
        info = fci_json(responses.parse_fci(data))
        check(info["version"] == list(c.APPLET_VERSION), "FCI version")
        self.step("select", None, sw, info)
        return info

    def read_credential(self, sw: int = OK) -> bytes:
        data = self.collect(cmd.get_data(c.DO_CREDENTIAL), "GET DATA DF21 (credential), Le=00", sw)
        if sw != OK:
            self.step("read_credential", None, sw)
            return b""
        cred = decode_credential(data)
        check(cred.verify(ISSUER_1.key.public_key()), "credential signature")
        check(
            cred.claims.card_key == compressed_point(CARD_KEY.public_key()), "credential binds the card key"
        )
        self.step("read_credential", None, sw, credential_json(data, cred))
        return data

    def read_serial(self, sw: int = OK) -> bytes:
        data = self.collect(cmd.get_data(c.DO_CARD_SERIAL), "GET DATA DF24 (card serial)", sw)
        self.step("read_serial", None, sw, {"serial": data.hex()})
        return data

    def read_card_public_key(self, sw: int = OK) -> bytes:
        data = self.collect(cmd.get_data(c.DO_CARD_PUBLIC_KEY), "GET DATA DF27 (card public key)", sw)
        point = b""
        if sw == OK:
            point = responses.parse_card_public_key(data)
            check(point == CARD_POINT, "card public key")
        self.step("read_card_public_key", None, sw, {"point": point.hex()})
        return point

    def read_grants(self, note: str = "", sw: int = OK) -> list[GrantBody]:
        data = self.collect(cmd.get_data(c.DO_GRANTS), note or "GET DATA DF22 (grants), Le=00", sw)
        grants = responses.parse_grants(data)
        out = [{"body": grant_json(g.body), "kid": g.kid.hex()} for g in grants]
        self.step("read_grants", None, sw, {"grants": out})
        return [g.body for g in grants]

    def read_personal_data(self, sw: int = OK) -> None:
        data = self.collect(
            cmd.get_data(c.DO_PERSONAL_DATA), "GET DATA DF26 (personal data, PIN-protected)", sw
        )
        expect = None
        if sw == OK:
            personal = responses.parse_personal_data(data)
            check(personal.holder_salt is not None, "personal data carries the holder salt")
            expect = personal_data_json(personal)
        self.step("read_personal_data", None, sw, expect)

    # -- authentication -----------------------------------------------------------------------------
    def authenticate(self, label: str, note: str = "", sw: int = OK) -> AuthBody | None:
        challenge = fixed_bytes(label, c.CHALLENGE_LEN)
        data = self.collect(
            cmd.internal_authenticate(challenge),
            note or "INTERNAL AUTHENTICATE with the terminal's 16-byte challenge",
            sw,
        )
        args = {"challenge": challenge.hex()}
        if sw != OK:
            self.step("authenticate", args, sw)
            return None
        signed = responses.parse_signed_auth(data, challenge)
        _verify_card_signature(signed.signature, signed.signed_message(), "auth")
        self.step("authenticate", args, sw, {**auth_json(signed.body), "card_nonce": signed.card_nonce.hex()})
        self.nonce = signed.card_nonce
        return signed.body

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

    # -- PIN ----------------------------------------------------------------------------------------
    def pin_command(
        self, op: str, ins: int, plaintext: bytes, args: dict[str, Any], note: str, sw: int
    ) -> None:
        """VERIFY or CHANGE REFERENCE DATA P1=00 with the plaintext enciphered to the card (§6.14)."""
        self.debit_key = None
        nonce = self.ensure_nonce()
        label = self.label("ephemeral")
        sealed = verify_envelope(nonce or bytes(c.CARD_NONCE_LEN), plaintext, label)
        env = sealed.envelope if ins == c.INS_VERIFY else envelope(ins, nonce or bytes(16), plaintext, label)
        apdu = cmd.verify(env) if ins == c.INS_VERIFY else cmd.change_reference_data(env)
        self.collect(apdu, note, sw)
        if ins == c.INS_VERIFY and sw == OK and nonce is not None:
            self.debit_key = self.last_debit_key = sealed.debit_key
        if nonce is None:
            self.steps.append({"op": "raw"})
        else:
            self.step(op, {**args, "ephemeral_scalar": ephemeral_scalar(label).hex()}, sw)

    def pin_status(self, note: str = "", sw: int = OK) -> None:
        """VERIFY with no data: 63Cx (x tries, not verified), 9000 (verified) or a refusal (6983, 6985)."""
        if sw == OK:
            self.exchange(cmd.verify(), note or "VERIFY without data: PIN already verified in this session")
            self.step("pin_status", None, OK, {"verified": True, "tries_remaining": c.PIN_MAX_TRIES})
        elif sw & 0xFFF0 == c.sw_pin_tries(0):
            self.exchange(
                cmd.verify(), note or f"VERIFY without data: not verified, {sw & 0xF} tries left", sw
            )
            self.step("pin_status", None, OK, {"verified": False, "tries_remaining": sw & 0xF})
        else:
            self.exchange(cmd.verify(), note or "VERIFY without data", sw)
            self.step("pin_status", None, sw)

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
        check(nonce is not None, "a card nonce for the reset")
        assert nonce is not None
        label = self.label("ephemeral")
        data = reset_message_data(
            cert, nonce, pin_block(new_pin), nik=nik, label=label, signer=SIGNERS[signing_key]
        )
        self.send_chained(
            cmd.reset_retry_counter(),
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
        self.step("reset_pin", args, sw)

    # -- transactions -------------------------------------------------------------------------------
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
        fields = debit_fields(program, amount, nonce, terminal_time, counter)
        note = note or f"DEBIT {_program_name(program)} amount {amount}, expected counter {counter}"
        if key is None:
            what = "MAC under a spent key" if self.last_debit_key != NO_DEBIT_KEY else "MAC under no key"
            self.raw(cmd.debit(cmd.debit_data(self.last_debit_key, fields)), f"{note} ({what})", sw)
            return None
        data = self.collect(
            cmd.debit(cmd.debit_data(key, fields)), f"{note}, MAC under the VERIFY's DEBIT key", sw
        )
        args = {
            "program": program,
            "amount": amount,
            "terminal_id": TERMINAL_ID.hex(),
            "nonce": nonce.hex(),
            "terminal_time": terminal_time,
            "expected_counter": counter,
        }
        if sw != OK:
            self.step("debit", args, sw)
            return None
        tx = responses.parse_debit_answer(data)
        _verify_card_signature(tx.signature, tx.signed_message(), "DEBIT")
        check(tx.record.tx_counter == counter + 1 and tx.record.amount == amount, "DEBIT record")
        self.step("debit", args, sw, tx_json(tx.record))
        return tx.record

    def read_log(self, count: int, note: str = "", sw: int = OK) -> list[TxRecord]:
        data = self.collect(cmd.read_log(count), note or f"READ LOG P2={count:02X}", sw)
        entries = responses.parse_log(data)
        for tx in entries:
            _verify_card_signature(tx.signature, tx.signed_message(), "log")
        records = [tx.record for tx in entries]
        self.step("read_log", {"count": count}, sw, {"records": [tx_json(r) for r in records]})
        return records

    def load_grant(self, signed: Signed, note: str = "", sw: int = OK) -> None:
        self.collect(cmd.load_grant(signed_data(c.TAG_GRANT_BODY, signed)), note or "LOAD GRANT", sw)
        self.step("load_grant", signed_json(signed), sw)

    def set_status(self, target: int, signed: Signed, note: str = "", sw: int = OK) -> None:
        data = signed_data(c.TAG_STATUS_BODY, signed)
        self.debit_key = None
        self.collect(cmd.set_status(target, data), note or f"SET STATUS to {target:02X}", sw)
        self.step("set_status", {"target": target, **signed_json(signed)}, sw)

    # -- personalisation ----------------------------------------------------------------------------
    def generate_key(self, note: str = "", sw: int = OK) -> bytes:
        data = self.collect(cmd.generate_key(), note or "GENERATE KEY: the card makes its P-256 key pair", sw)
        point = b""
        if sw == OK:
            point = responses.parse_generated_key(data)
            check(point == CARD_POINT, "GENERATE KEY gives the key derived from the card DRBG")
        self.step("generate_key", None, sw, {"point": point.hex()})
        return point

    def put_data(self, do: int, value: bytes, note: str, sw: int = OK) -> None:
        self.collect(cmd.put_data(do, value), note, sw)
        self.step("put_data", {"do": do, "value": value.hex()}, sw)

    def put_issuer_key(self, signer: IssuerSigner, note: str, sw: int = OK) -> None:
        self.collect(cmd.put_data(c.DO_ISSUER_KEYS, cmd.issuer_key_data(signer.kid, signer.point)), note, sw)
        self.step("put_issuer_key", {"kid": signer.kid.hex(), "point": signer.point.hex()}, sw)

    def set_initial_pin(self, pin: str, note: str = "", sw: int = OK) -> None:
        self.collect(
            cmd.set_initial_pin(pin),
            note or f"CHANGE REFERENCE DATA P1=01 (personalisation): initial PIN {pin}",
            sw,
        )
        self.step("set_initial_pin", {"pin": pin}, sw)

    def activate(self, note: str = "", sw: int = OK) -> None:
        self.collect(cmd.activate(), note or "SET STATUS P1=0F without data: activate the card", sw)
        self.step("activate", None, sw)

"""The test vectors are the contract: the reference card and the terminal are both tested against them.

(a) every case replayed on a fresh in-process reference card (setup profile, then the case): each response
    equals the recorded bytes;
(b) the terminal's KhbsSession driven through the case's steps over a ScriptedConnection that plays the
    recorded exchanges: the session sends exactly the recorded commands, parses what the vector expects,
    the signatures verify, and every refusal becomes the typed error for its status word;
(c) the replay of (a) through the real pcscd + vpcd + pyscard path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

import card_applet_spec
from card_applet_spec import constants as c
from card_applet_spec import vectorgen
from card_applet_spec.cose import key_id
from card_applet_spec.credential import compressed_point, decode_credential
from card_applet_spec.issuer import IssuerSigner, key_from_seed, uncompressed_point
from card_applet_spec.pin_envelope import private_key_from_scalar
from card_applet_spec.records import TerminalCertBody
from card_applet_spec.reference_card import MemoryStore, ReferenceCard
from card_applet_spec.vectorkit import views
from card_applet_spec.vectorkit.inputs import Drbg
from province.issuance import GrantSpec, Holder
from terminal.card.errors import (
    ApduError,
    ApplicationNotFoundError,
    AuthorisationFailedError,
    CounterMismatchError,
    DataNotFoundError,
    GrantNotValidNowError,
    HolderCheckBlockedError,
    HolderMismatchError,
    IncorrectParametersError,
    InsufficientBalanceError,
    InvalidPinError,
    NotSelectedError,
    PinBlockedError,
    PinRequiredError,
    ProtocolError,
    SequenceNotNewerError,
    WrongDataError,
    WrongKindError,
    WrongLengthError,
    WrongStateError,
    error_for_sw,
)
from terminal.card.session import KhbsSession, TerminalCert
from terminal.personalise import personalise
from tests.fakes import ScriptedConnection

VECTORS = Path(card_applet_spec.__file__).resolve().parent / "vectors"
KEYS: dict[str, Any] = json.loads((VECTORS / "keys.json").read_text())
PROFILES: dict[str, Any] = json.loads((VECTORS / "setup.json").read_text())["profiles"]
CASE_FILES = sorted(p for p in VECTORS.glob("*.json") if p.name not in ("keys.json", "setup.json"))


@dataclass(frozen=True)
class Case:
    file: str
    data: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.file}:{self.data['name']}"

    def exchanges(self, *, with_setup: bool = True) -> list[tuple[bytes, bytes, str]]:
        setup = PROFILES[self.data["setup"]]["exchanges"] if with_setup else []
        return [
            (bytes.fromhex(e["command"]), bytes.fromhex(e["response"]), e["note"])
            for e in [*setup, *self.data["exchanges"]]
        ]


def _load_cases() -> list[Case]:
    cases = []
    for path in CASE_FILES:
        for data in json.loads(path.read_text())["cases"]:
            cases.append(Case(path.stem, data))
    return cases


CASES = _load_cases()
CASE_IDS = [case.id for case in CASES]


def _fresh_card(case: Case) -> ReferenceCard:
    return ReferenceCard(MemoryStore(), rng=Drbg(bytes.fromhex(case.data["card_rng_seed"])))


# --- the vector files themselves -------------------------------------------------------------------


def test_vector_files_are_generated_and_up_to_date() -> None:
    files = vectorgen.generate()
    on_disk = {p.name for p in VECTORS.glob("*.json")}
    assert on_disk == set(files), "vector files on disk differ from the generator's"
    for name, text in files.items():
        assert (VECTORS / name).read_text() == text, (
            f"{name} is stale: run python -m card_applet_spec.vectorgen"
        )


def test_generator_is_deterministic() -> None:
    assert vectorgen.generate() == vectorgen.generate()


def test_drbg_follows_its_definition() -> None:
    seed = b"any seed"
    stream = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(4))
    drbg = Drbg(seed)
    assert drbg(5) + drbg(40) + drbg(32) == stream[:77]


def test_keys_follow_their_seeds() -> None:
    assert "TEST ONLY" in KEYS["warning"]
    for name, entry in KEYS["keys"].items():
        if entry["seed"] is None:
            continue
        key = key_from_seed(entry["seed"])
        assert key.private_numbers().private_value == int(entry["private_scalar_TEST_ONLY"], 16), name
        assert uncompressed_point(key.public_key()).hex() == entry["public_point"], name
        assert key_id(key.public_key()).hex() == entry["kid"], name
    card = KEYS["keys"]["card"]
    card_key = ec.derive_private_key(int(card["private_scalar_TEST_ONLY"], 16), ec.SECP256R1())
    assert uncompressed_point(card_key.public_key()).hex() == card["public_point"]
    assert compressed_point(card_key.public_key()).hex() == card["public_point_compressed"]
    assert Drbg(bytes.fromhex(KEYS["card_rng_seed"]))(32).hex() == card["private_scalar_TEST_ONLY"]


def test_every_case_is_well_formed() -> None:
    assert len(set(CASE_IDS)) == len(CASE_IDS)
    for case in CASES:
        assert case.data["setup"] in PROFILES, case.id
        assert case.data["exchanges"], case.id
        assert case.data["card_rng_seed"] == PROFILES[case.data["setup"]]["card_rng_seed"], case.id
        for exchange in case.data["exchanges"]:
            assert exchange["note"], case.id
            assert len(bytes.fromhex(exchange["response"])) >= 2, case.id


# --- (a) the reference card against the vectors ----------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_reference_card_replays_case(case: Case) -> None:
    card = _fresh_card(case)
    for i, (command, response, note) in enumerate(case.exchanges()):
        got = card.transmit(command)
        assert got.hex().upper() == response.hex().upper(), f"exchange {i} ({note})"


# --- (b) the terminal against the vectors ----------------------------------------------------------

#: The typed error the session must raise for each status word (and its extra attributes).
EXPECTED_ERRORS: dict[int, tuple[type[ApduError], dict[str, Any]]] = {
    0x6300: (AuthorisationFailedError, {}),
    0x63C0: (InvalidPinError, {"attempts_remaining": 0}),
    0x63C1: (InvalidPinError, {"attempts_remaining": 1}),
    0x63C2: (InvalidPinError, {"attempts_remaining": 2}),
    0x63C3: (InvalidPinError, {"attempts_remaining": 3}),
    0x6700: (WrongLengthError, {}),
    0x6883: (ProtocolError, {}),
    0x6884: (ProtocolError, {}),
    0x6982: (PinRequiredError, {}),
    0x6983: (PinBlockedError, {}),
    0x6984: (HolderMismatchError, {}),
    0x6985: (WrongStateError, {}),
    0x6986: (NotSelectedError, {}),
    0x6A80: (WrongDataError, {}),
    0x6A82: (ApplicationNotFoundError, {}),
    0x6A84: (ProtocolError, {}),
    0x6A86: (IncorrectParametersError, {}),
    0x6A88: (DataNotFoundError, {}),
    0x6D00: (ProtocolError, {}),
    0x6E00: (ProtocolError, {}),
    0x9101: (InsufficientBalanceError, {}),
    0x9102: (CounterMismatchError, {}),
    0x9103: (GrantNotValidNowError, {}),
    0x9104: (SequenceNotNewerError, {}),
    0x9105: (WrongKindError, {}),
}


#: Status words whose meaning depends on the command (the session maps them per command).
EXPECTED_BY_OP: dict[tuple[str, int], tuple[type[ApduError], dict[str, Any]]] = {
    ("reset_pin", 0x6983): (HolderCheckBlockedError, {}),  # the holder check, not the PIN, is blocked
}


def _check_typed_error(error: BaseException, sw: int, op: str = "") -> None:
    cls, attributes = EXPECTED_BY_OP.get((op, sw)) or EXPECTED_ERRORS[sw]
    assert type(error) is cls, f"SW {sw:04X}: {type(error).__name__}, expected {cls.__name__}"
    assert isinstance(error, ApduError) and error.sw == sw
    for name, value in attributes.items():
        assert getattr(error, name) == value, f"SW {sw:04X}: {name}"


def _public_key(point_hex: str) -> ec.EllipticCurvePublicKey:
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), bytes.fromhex(point_hex))


def _private_key(name: str) -> ec.EllipticCurvePrivateKey:
    scalar = int(KEYS["keys"][name]["private_scalar_TEST_ONLY"], 16)
    return ec.derive_private_key(scalar, ec.SECP256R1())


ISSUER_KEYS = {
    bytes.fromhex(entry["kid"]): _public_key(entry["public_point"])
    for name, entry in KEYS["keys"].items()
    if name.startswith("issuer_")
}


def _verify_der(key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes, what: str) -> None:
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        pytest.fail(f"{what}: signature does not verify")


class StepRunner:
    """Runs a case's steps with a KhbsSession; returns each operation's result in the vectors' JSON form."""

    def __init__(self, connection: ScriptedConnection) -> None:
        self.connection = connection
        self.session = KhbsSession(connection)
        #: The key card signatures are checked with: from keys.json until a credential is read.
        self.card_key = _public_key(KEYS["keys"]["card"]["public_point"])
        self.ops: dict[str, Callable[[dict[str, Any]], Any]] = {
            name[4:]: getattr(self, name) for name in dir(self) if name.startswith("_op_")
        }

    def run(self, step: dict[str, Any]) -> Any:
        return self.ops[step["op"]](step.get("args", {}))

    def _op_raw(self, _args: dict[str, Any]) -> None:
        command, response = self.connection.peek()
        data, sw = self.connection.send_and_receive(command)
        assert data + sw.to_bytes(2, "big") == response
        if sw != c.SW.OK and sw >> 8 != c.SW1_MORE_DATA:
            _check_typed_error(error_for_sw(sw), sw)  # what a session would raise for it

    def _op_select(self, _args: dict[str, Any]) -> dict[str, Any]:
        info = self.session.select()
        return {
            "version": list(info.version),
            "capabilities": info.capabilities,
            "life_cycle": info.life_cycle,
            "serial": info.serial.hex() if info.serial is not None else None,
            "log_capacity": info.log_capacity,
        }

    def _op_read_credential(self, _args: dict[str, Any]) -> dict[str, Any]:
        raw = self.session.read_credential()
        cred = decode_credential(raw)
        assert cred.verify(ISSUER_KEYS[cred.kid]), "credential: issuer signature (raw r||s) does not verify"
        self.card_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), cred.claims.card_key)
        return views.credential_json(raw, cred)

    def _op_read_serial(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"serial": self.session.read_serial().hex()}

    def _op_read_card_public_key(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"point": self.session.read_card_public_key().hex()}

    def _op_read_grants(self, _args: dict[str, Any]) -> dict[str, Any]:
        grants = self.session.read_grants()
        for g in grants:
            _verify_der(ISSUER_KEYS[g.kid], g.signature, g.body.signed_message(), "grant")
            assert g.body.encode() == g.body_bytes
        return {"grants": [{"body": views.grant_json(g.body), "kid": g.kid.hex()} for g in grants]}

    def _op_read_personal_data(self, _args: dict[str, Any]) -> dict[str, Any]:
        data = self.session.read_personal_data()
        assert data.holder_salt is not None
        return {
            "nik": data.nik,
            "birth_date": data.birth_date,
            "sex": data.sex,
            "kk_number": data.kk_number,
            "holder_salt": data.holder_salt.hex(),
        }

    def _op_authenticate(self, args: dict[str, Any]) -> dict[str, Any]:
        signed = self.session.authenticate(bytes.fromhex(args["challenge"]))
        _verify_der(self.card_key, signed.signature, signed.signed_message(), "authentication")
        assert signed.signed_message() == signed.body.signed_message(signed.challenge, signed.card_nonce)
        assert self.session.fresh_auth == signed
        return {**views.auth_json(signed.body), "card_nonce": signed.card_nonce.hex()}

    @property
    def card_point(self) -> bytes:
        return compressed_point(self.card_key)

    def _op_pin_status(self, _args: dict[str, Any]) -> dict[str, Any]:
        status = self.session.pin_status()
        return {"verified": status.verified, "tries_remaining": status.tries_remaining}

    def _op_verify_pin(self, args: dict[str, Any]) -> None:
        ephemeral = private_key_from_scalar(bytes.fromhex(args["ephemeral_scalar"]))
        self.session.verify_pin(args["pin"], self.card_point, ephemeral=ephemeral)

    def _op_change_pin(self, args: dict[str, Any]) -> None:
        ephemeral = private_key_from_scalar(bytes.fromhex(args["ephemeral_scalar"]))
        self.session.change_pin(args["old"], args["new"], self.card_point, ephemeral=ephemeral)

    def _op_reset_pin(self, args: dict[str, Any]) -> None:
        cert = args["certificate"]
        terminal_cert = TerminalCert(
            TerminalCertBody.decode(bytes.fromhex(cert["body"])),
            bytes.fromhex(cert["kid"]),
            bytes.fromhex(cert["signature"]),
        )
        key = _private_key(args["signing_key"])

        def sign(message: bytes) -> bytes:
            return key.sign(message, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))

        auth = self.session.fresh_auth
        assert auth is not None, "a reset follows the INTERNAL AUTHENTICATE it is bound to"
        self.session.reset_pin(
            terminal_cert,
            sign,
            args["new_pin"],
            auth=auth,
            card_key=self.card_point,
            holder_reference=bytes.fromhex(args["holder_ref"]),
            ephemeral=private_key_from_scalar(bytes.fromhex(args["ephemeral_scalar"])),
        )

    def _op_debit(self, args: dict[str, Any]) -> dict[str, Any]:
        tx = self.session.debit(
            program=args["program"],
            amount=args["amount"],
            terminal_id=bytes.fromhex(args["terminal_id"]),
            nonce=bytes.fromhex(args["nonce"]),
            terminal_time=args["terminal_time"],
            expected_counter=args["expected_counter"],
        )
        _verify_der(self.card_key, tx.signature, tx.signed_message(), "transaction record")
        return views.tx_json(tx.record)

    def _op_read_log(self, args: dict[str, Any]) -> dict[str, Any]:
        records = self.session.read_log(args["count"])
        for tx in records:
            _verify_der(self.card_key, tx.signature, tx.signed_message(), "log record")
        return {"records": [views.tx_json(tx.record) for tx in records]}

    def _op_load_grant(self, args: dict[str, Any]) -> None:
        self.session.load_grant(
            bytes.fromhex(args["body"]), bytes.fromhex(args["kid"]), bytes.fromhex(args["signature"])
        )

    def _op_set_status(self, args: dict[str, Any]) -> None:
        self.session.set_status(
            args["target"],
            bytes.fromhex(args["body"]),
            bytes.fromhex(args["kid"]),
            bytes.fromhex(args["signature"]),
        )

    def _op_generate_key(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"point": self.session.generate_key().hex()}

    def _op_put_data(self, args: dict[str, Any]) -> None:
        self.session.put_data(args["do"], bytes.fromhex(args["value"]))

    def _op_put_issuer_key(self, args: dict[str, Any]) -> None:
        self.session.put_issuer_key(bytes.fromhex(args["kid"]), bytes.fromhex(args["point"]))

    def _op_set_initial_pin(self, args: dict[str, Any]) -> None:
        self.session.set_initial_pin(args["pin"])

    def _op_activate(self, _args: dict[str, Any]) -> None:
        self.session.activate()


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_terminal_session_follows_case(case: Case) -> None:
    connection = ScriptedConnection(
        (command, response) for command, response, _ in case.exchanges(with_setup=False)
    )
    runner = StepRunner(connection)
    assert case.data["steps"], "every case says how a terminal produces its exchanges"
    for i, step in enumerate(case.data["steps"]):
        where = f"step {i} ({step['op']})"
        if step["op"] == "pin_status" and step.get("sw") == "6983":
            # a blocked PIN is a state the session reports, not an error: no tries left
            assert runner.run(step) == {"verified": False, "tries_remaining": 0}, where
        elif "sw" in step:
            sw = int(step["sw"], 16)
            with pytest.raises(ApduError) as refused:
                runner.run(step)
            _check_typed_error(refused.value, sw, step["op"])
        else:
            assert runner.run(step) == step.get("expect"), where
    connection.assert_done()


def test_every_refusal_in_the_vectors_has_a_typed_error() -> None:
    seen = set()
    for case in CASES:
        for _, response, _ in case.exchanges():
            sw = int.from_bytes(response[-2:], "big")
            if sw != c.SW.OK and sw >> 8 != c.SW1_MORE_DATA:
                seen.add(sw)
    assert seen <= set(EXPECTED_ERRORS), (
        f"no typed error listed for {sorted(f'{s:04X}' for s in seen - set(EXPECTED_ERRORS))}"
    )
    for sw in seen:
        _check_typed_error(error_for_sw(sw), sw)


@pytest.mark.parametrize("profile", ["personalised", "personalised_with_grants"])
def test_personalise_sends_the_setup_profile(profile: str) -> None:
    """terminal.personalise with the profile's parameters sends exactly the profile's exchanges."""
    p = PROFILES[profile]["parameters"]
    connection = ScriptedConnection(
        (bytes.fromhex(e["command"]), bytes.fromhex(e["response"])) for e in PROFILES[profile]["exchanges"]
    )
    issuer = IssuerSigner(_private_key(p["issuer"]))
    extra = [
        (bytes.fromhex(KEYS["keys"][name]["kid"]), bytes.fromhex(KEYS["keys"][name]["public_point"]))
        for name in p["extra_issuer_keys"]
    ]
    grants = [
        GrantSpec(
            program=c.Program(g["program"]),
            amount=g["amount"],
            valid_from=g["valid_from"],
            valid_until=g["valid_until"],
            grant_seq=g["grant_seq"],
            unit=c.Unit(g["unit"]),
        )
        for g in p["grants"]
    ]
    issued = personalise(
        KhbsSession(connection),
        serial=bytes.fromhex(p["serial"]),
        holder=Holder(**p["holder"]),
        pin=p["pin"],
        issuer=issuer,
        status_index=p["status_index"],
        issued_at=p["issued_at"],
        expires_at=p["expires_at"],
        extra_issuer_points=extra,
        grants=grants,
        holder_salt=bytes.fromhex(p["holder_salt"]),
    )
    connection.assert_done()
    assert issued.card_point.hex() == KEYS["keys"]["card"]["public_point"]


# --- (c) the reference card through pcscd + vpcd + pyscard ----------------------------------------


class FreshCardHolder:
    """The card in the vpcd slot: it answers with whichever reference card a case puts in.

    One insertion serves every case (pcscd takes ~0.4 s to notice each insertion and removal); a case
    swaps in a fresh card, which is what a new card in the reader is at the APDU level.
    """

    def __init__(self) -> None:
        self.current = ReferenceCard(MemoryStore())

    @property
    def atr(self) -> bytes:
        return self.current.atr

    def reset(self) -> None:
        self.current.reset()

    def transmit(self, apdu: bytes) -> bytes:
        return self.current.transmit(apdu)


@pytest.fixture(scope="module")
def pcsc_link(pcscd: Any) -> Iterator[tuple[FreshCardHolder, Any]]:
    """A PcscConnection to a FreshCardHolder in the vpcd reader, for the whole module."""
    from drivers.pcsc import connect, wait_for_card
    from drivers.vpcd import DEFAULT_PORT, DEFAULT_READER, VirtualCardSlot

    if not wait_for_card(DEFAULT_READER, present=False, timeout=3.0):
        pytest.fail(f"{DEFAULT_READER!r} still holds a card from something else", pytrace=False)
    holder = FreshCardHolder()
    with VirtualCardSlot(holder, port=DEFAULT_PORT):
        connection = connect(DEFAULT_READER, timeout=3.0)
        try:
            yield holder, connection
        finally:
            connection.close()
    assert wait_for_card(DEFAULT_READER, present=False, timeout=3.0), "reader did not empty"


@pytest.mark.pcsc
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_reference_card_replays_case_over_pcsc(case: Case, pcsc_link: tuple[FreshCardHolder, Any]) -> None:
    holder, connection = pcsc_link
    holder.current = _fresh_card(case)
    for i, (command, response, note) in enumerate(case.exchanges()):
        data, sw = connection.send_and_receive(command)
        got = data + sw.to_bytes(2, "big")
        assert got.hex().upper() == response.hex().upper(), f"exchange {i} ({note})"

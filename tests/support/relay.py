"""An adversary between the terminal and a real (reference) card: a relay or an emulator.

:class:`Relay` passes every APDU to the card, except the first one with a chosen INS, which it may
rewrite before the card sees it, answer in the card's place (the card never sees it), or let the card
execute and then answer with something else (the card *has* committed). :func:`resign` models an
emulator holding the card's key (a cloned key): it re-signs a changed record, so the record verifies.

A rewritten DEBIT carries a MAC under the DEBIT key of the holder's VERIFY (SPEC §6.6, §6.14), which a
plain relay does not have: the card refuses it (6982). The command rewrites here model the same cloned-key
adversary as :func:`resign`: with the card's private key the relay opens the VERIFY envelope it passed on,
derives that DEBIT key and re-MACs the DEBIT it changed — so the terminal's own checks of the signed
record are what is tested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from card_applet_spec import constants as c
from card_applet_spec.pin_envelope import EnvelopeError, debit_mac, open_verify
from card_applet_spec.records import TxRecord
from card_applet_spec.reference_card import CardTorn, ReferenceCard
from card_applet_spec.tlv import parse_single, parse_tlv, require, tlv
from terminal.card.connection import CardRemovedError, InProcessConnection
from terminal.card.session import KhbsSession

#: An answer in place of the card's: response data + SW, or LOST (the card leaves the field).
LOST = b"lost"
Rewrite = Callable[[bytes], bytes]


class Relay:
    def __init__(
        self,
        card: ReferenceCard,
        ins: int,
        *,
        rewrite_command: Rewrite | None = None,
        rewrite_answer: Rewrite | None = None,
        answer: bytes | None = None,
        forward: bool = True,
    ) -> None:
        """At the first APDU with ``ins``: ``rewrite_command`` changes what the card receives;
        ``forward`` False keeps it from the card; ``answer`` (data + SW, or LOST) replaces the card's
        answer and ``rewrite_answer`` changes it (data + SW in, data + SW out)."""
        self.inner = InProcessConnection(card, (CardTorn,))
        self.ins = ins
        self.rewrite_command = rewrite_command
        self.rewrite_answer = rewrite_answer
        self.answer = answer
        self.forward = forward
        self.done = False
        self.card_answer: bytes | None = None  # what the card really said
        self.card = card
        self._nonce: bytes | None = None  # the card nonce of the last INTERNAL AUTHENTICATE answer
        self.debit_key: bytes | None = None  # derived from the last VERIFY with the cloned card key

    def _watch(self, apdu: bytes, data: bytes, sw: int) -> None:
        if len(apdu) < 2:
            return
        if apdu[1] == c.INS_VERIFY and len(apdu) > 5 and self._nonce is not None:
            self.debit_key = cloned_debit_key(self.card, self._nonce, apdu)
        self._nonce = None
        if apdu[1] == c.INS_INTERNAL_AUTHENTICATE and sw == c.SW.OK:
            self._nonce = require(parse_tlv(parse_single(data, c.TAG_SIGNED_AUTH)), c.TAG_CARD_NONCE)

    def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
        apdu = bytes(apdu)
        if self.done or len(apdu) < 2 or apdu[1] != self.ins:
            data, sw = self.inner.send_and_receive(apdu)
            self._watch(apdu, data, sw)
            return data, sw
        self.done = True
        if self.rewrite_command is not None:
            apdu = self.rewrite_command(apdu)
            if apdu[1] == c.INS_DEBIT and self.debit_key is not None:
                apdu = remac(self.debit_key, apdu)
        if self.forward:
            data, sw = self.inner.send_and_receive(apdu)
            self.card_answer = data + sw.to_bytes(2, "big")
        out = self.answer if self.answer is not None else self.card_answer
        assert out is not None, "an answer is needed when the card does not get the command"
        if out == LOST:
            self.inner.close()
            raise CardRemovedError("the card left the field")
        if self.rewrite_answer is not None:
            out = self.rewrite_answer(out)
        return out[:-2], int.from_bytes(out[-2:], "big")

    def close(self) -> None:
        self.inner.close()


def session(relay: Relay) -> KhbsSession:
    return KhbsSession(relay)


# -- DEBIT command data (SPEC §6.6): programme ‖ amount ‖ terminal id ‖ nonce ‖ time ‖ expected counter
# ‖ MAC (8 bytes, under the DEBIT key of the VERIFY)
_DATA = 5  # offset of the data in a short APDU with Lc


def cloned_debit_key(card: ReferenceCard, card_nonce: bytes, verify_apdu: bytes) -> bytes | None:
    """The DEBIT key of a VERIFY envelope, as whoever holds the card's private key derives it."""
    key = ec.derive_private_key(int.from_bytes(card.state.private_scalar, "big"), ec.SECP256R1())
    envelope = verify_apdu[_DATA : _DATA + verify_apdu[4]]
    try:
        return open_verify(key, card.state.serial, card_nonce, envelope)[1]
    except EnvelopeError:
        return None


def remac(debit_key: bytes, apdu: bytes) -> bytes:
    """A (changed) DEBIT APDU with its MAC recomputed under ``debit_key``."""
    end = _DATA + c.DEBIT_FIELDS_LEN
    fields = apdu[_DATA:end]
    return apdu[:end] + debit_mac(debit_key, apdu[:4], fields) + apdu[end + c.DEBIT_MAC_LEN :]


def shift_time(seconds: int) -> Rewrite:
    def rewrite(apdu: bytes) -> bytes:
        t = int.from_bytes(apdu[_DATA + 21 : _DATA + 25], "big") + seconds
        return apdu[: _DATA + 21] + t.to_bytes(4, "big") + apdu[_DATA + 25 :]

    return rewrite


def other_program(program: int, amount: int) -> Rewrite:
    def rewrite(apdu: bytes) -> bytes:
        return apdu[:_DATA] + bytes([program]) + amount.to_bytes(4, "big") + apdu[_DATA + 5 :]

    return rewrite


def resign(card: ReferenceCard, **changes: object) -> Rewrite:
    """Answer rewrite of an emulator with the card's key: the record changed as given, re-signed."""
    key = ec.derive_private_key(int.from_bytes(card.state.private_scalar, "big"), ec.SECP256R1())

    def rewrite(answer: bytes) -> bytes:
        data, sw = answer[:-2], answer[-2:]
        assert sw == b"\x90\x00", "the card refused; nothing to re-sign"
        record = TxRecord.decode(require(parse_tlv(parse_single(data, c.TAG_SIGNED_TX)), c.TAG_TX_RECORD))
        changed = replace(record, **changes)  # type: ignore[arg-type]
        signature = key.sign(changed.signed_message(), ec.ECDSA(hashes.SHA256()))
        body = tlv(c.TAG_TX_RECORD, changed.encode()) + tlv(c.TAG_SIGNATURE, signature)
        return tlv(c.TAG_SIGNED_TX, body) + sw

    return rewrite

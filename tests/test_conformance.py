"""The conformance kit (``kartu conformance``) through pcscd + vpcd: the reference card conforms (tearing
by a power switch on the virtual card, destructive cases on a fresh card), and reference cards that break
one rule each fail with the right case named."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from card_applet_spec import constants as c
from card_applet_spec.reference_card import MemoryStore, ReferenceCard
from card_applet_spec.reference_card.card import CardError, _require
from card_applet_spec.reference_card.state import CardTorn
from conformance import KitOptions, RefusedCard, Report, run
from conformance.report import Verdict
from conformance.tearing import TearPoint
from tests.conftest import READER_STATE_TIMEOUT_S, VPCD_READER

pytestmark = pytest.mark.pcsc


class TearableCard(ReferenceCard):
    """A reference card whose power can be cut during its next command, at a point of its commit."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(MemoryStore(), **kwargs)
        self.armed: TearPoint | None = None

    def transmit(self, apdu: bytes) -> bytes:
        point, self.armed = self.armed, None
        if point is None:
            return super().transmit(apdu)
        if point is TearPoint.ANSWER_LOST:
            super().transmit(apdu)
            raise CardTorn("answer lost")
        at = "write_begin" if point is TearPoint.BEFORE_FIRST_WRITE else "after_rename"

        def fault(name: str) -> None:
            if name == at:
                raise CardTorn(name)

        self.store.fault = fault  # type: ignore[attr-defined]
        try:
            return super().transmit(apdu)
        finally:
            self.store.fault = None  # type: ignore[attr-defined]


class VpcdPowerSwitch:
    """A reader that can cut power, for the virtual card: tear inside the card, then put it back."""

    exact = True

    def __init__(self, slot: Any, card: TearableCard) -> None:
        self.slot, self.card = slot, card

    def arm(self, point: TearPoint, what: str) -> None:
        self.card.armed = point

    def restore(self) -> None:
        from drivers.pcsc import wait_for_card

        self.card.armed = None
        if self.slot.inserted:
            return  # the command answered: nothing was cut
        assert wait_for_card(VPCD_READER, present=False, timeout=READER_STATE_TIMEOUT_S)
        self.slot.insert(self.card)


# -- faulty cards: each breaks one rule ------------------------------------------------------------


class ReusedNonceCard(TearableCard):
    """Draws the same 16-byte card nonce every time."""

    def __init__(self) -> None:
        super().__init__(rng=lambda n: bytes(range(1, 17)) if n == 16 else os.urandom(n))


class PinSpentAfterComparisonCard(TearableCard):
    """Compares the PIN first and spends the try only when it was wrong (a tear can win free tries)."""

    def _check_pin(self, candidate: bytes) -> None:
        st = self._state
        _require(st.pin_tries > 0, c.SW.PIN_BLOCKED)
        if candidate != st.pin_block:
            self._commit(replace(st, pin_tries=st.pin_tries - 1))
            self._s.debit_key = None
            raise CardError(c.sw_pin_tries(st.pin_tries - 1))
        self._commit(replace(self._state, pin_tries=c.PIN_MAX_TRIES))


class WrongStatusWordCard(TearableCard):
    """Answers LOAD GRANT with an unknown issuer key 6A80 instead of 6A88."""

    def transmit(self, apdu: bytes) -> bytes:
        out = super().transmit(apdu)
        if len(apdu) > 1 and apdu[1] == 0xE2 and out[-2:] == b"\x6a\x88":
            return b"\x6a\x80"
        return out


class WrongRecordSignatureCard(TearableCard):
    """Signs its transaction records over the record with the terminal time left out."""

    def _sign(self, message: bytes) -> bytes:
        if message.startswith(c.DOMAIN_TX):
            message = message[:-4]
        return super()._sign(message)


# -- running the kit -------------------------------------------------------------------------------


@pytest.fixture
def kit(vpcd_slot: Any) -> Iterator[Callable[..., Report]]:
    from drivers.pcsc import connect

    def run_kit(card: TearableCard, *, switch: bool = True, **options: Any) -> Report:
        vpcd_slot.insert(card)
        return run(
            lambda: connect(VPCD_READER, timeout=READER_STATE_TIMEOUT_S),
            VPCD_READER,
            KitOptions(switch=VpcdPowerSwitch(vpcd_slot, card) if switch else None, **options),
        )

    yield run_kit


def test_the_reference_card_conforms_destructive_cases_included(
    kit: Callable[..., Report], tmp_path: Path
) -> None:
    report = kit(TearableCard(), destructive=True, timing=True)
    assert report.failed_cases == [], report.text()
    assert report.passed and report.count(Verdict.SKIPPED) == 0
    assert report.personalised_by_kit and report.atr == "3B 80 80 01 01"
    names = [r.name for r in report.results]
    assert names[0] == "personalisation:flow" and names[-1] == "set_status:terminate"
    assert {"tearing:verify_spends_try_first", "tearing:debit", "flow:redemption"} <= set(names)
    assert [t.flow for t in report.timings] == ["check tap (3 APDUs)", "redemption (5 APDUs)"]
    doc = json.loads(report.dumps())
    assert doc["summary"]["conforms"] and doc["fci"].startswith("6F 22")
    assert "CONFORMS" in report.text()


def test_a_second_run_on_the_same_test_card_skips_destructive_cases(
    kit: Callable[..., Report], vpcd_slot: Any
) -> None:
    card = TearableCard()
    first = kit(card, switch=False, only=("flow:",))
    assert first.passed, first.text()
    from drivers.pcsc import wait_for_card

    vpcd_slot.remove()
    assert wait_for_card(VPCD_READER, present=False, timeout=READER_STATE_TIMEOUT_S)
    again = kit(card, switch=False)
    assert again.passed and not again.personalised_by_kit, again.text()
    skipped = {r.name for r in again.results if r.verdict is Verdict.SKIPPED}
    assert {"verify:pin_blocked", "set_status:terminate", "tearing:debit"} <= skipped


@pytest.mark.parametrize(
    ("card", "case"),
    [
        (ReusedNonceCard, "internal_authenticate:nonce_fresh"),
        (PinSpentAfterComparisonCard, "tearing:verify_spends_try_first"),
        (WrongStatusWordCard, "load_grant:refusals"),
        (WrongRecordSignatureCard, "flow:redemption"),
    ],
)
def test_a_faulty_card_fails_the_case_of_its_fault(
    kit: Callable[..., Report], card: type[TearableCard], case: str
) -> None:
    report = kit(card())
    assert case in report.failed_cases, report.text()
    assert not report.passed
    failed = next(r for r in report.results if r.name == case)
    assert failed.expected and failed.observed


def test_a_card_with_a_production_credential_is_refused(kit: Callable[..., Report]) -> None:
    from card_applet_spec.issuer import IssuerSigner, key_from_seed

    card = TearableCard()
    production = IssuerSigner(key_from_seed("not a test issuer"))
    card.transmit(bytes.fromhex("00A4040007") + c.AID)
    key = bytes([0xC4, 8]) + production.kid + bytes([0x86, 65]) + production.point
    assert card.transmit(bytes([0, 0xDA, 0xDF, 0x25, 79, 0xE4, 77]) + key) == b"\x90\x00"
    with pytest.raises(RefusedCard, match="non-test issuer key"):
        kit(card, switch=False)


def test_the_command_line_writes_both_reports_and_exits_0(
    vpcd_slot: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kartu.cli import main

    vpcd_slot.insert(TearableCard())
    out, doc = tmp_path / "chip.txt", tmp_path / "chip.json"
    argv = [
        "conformance",
        "--reader",
        VPCD_READER,
        "--case",
        "flow:",
        "--report",
        str(out),
        "--json",
        str(doc),
    ]
    assert main(argv) == 0, capsys.readouterr()
    assert "CONFORMS" in out.read_text() and json.loads(doc.read_text())["summary"]["conforms"]
    assert main(["conformance", "--reader", "No Such Reader"]) == 3

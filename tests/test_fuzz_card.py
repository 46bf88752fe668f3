"""Fuzzing as a habit: the parsers of card answers (and the reference card's parser of reader commands)
return or raise their typed errors, whatever the card, an emulator or a relay sends."""

from __future__ import annotations

import pytest

from benchmarks.fuzz_targets import get, target_names
from terminal.card.errors import ApduError, error_for_sw
from tests.support.fuzzing import assert_typed, check_parser


@pytest.mark.parametrize("name", target_names("card", "reader"))
def test_parser_raises_only_typed_errors(name: str) -> None:
    check_parser(name)


#: Inputs the campaign found (shortest form): each once raised an untyped error.
FOUND = [
    ("answer_personal_data", "809000"),  # an empty CBOR array: IndexError
    ("answer_personal_data", "6270319000"),  # a text string: IndexError
    ("answer_personal_data", "830131029000"),  # a short array: IndexError
]


@pytest.mark.parametrize(("name", "data"), FOUND)
def test_found_inputs_raise_only_typed_errors(name: str, data: str) -> None:
    assert_typed(get(name), bytes.fromhex(data))


def test_every_status_word_maps_to_a_typed_error() -> None:
    for sw in range(0x10000):
        if sw != 0x9000:
            assert isinstance(error_for_sw(sw), ApduError), f"{sw:04X}"

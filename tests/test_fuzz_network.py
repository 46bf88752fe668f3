"""Fuzzing as a habit: the terminal's parsing of server answers (sync) and the server's parsing of
uploads and public requests return or raise their typed errors, whatever the other side sends."""

from __future__ import annotations

import pytest

from benchmarks.fuzz_targets import get, target_names
from tests.support.fuzzing import assert_typed, check_parser


@pytest.mark.parametrize("name", target_names("network"))
def test_parser_raises_only_typed_errors(name: str) -> None:
    check_parser(name)


#: Server answers the campaign found: each once raised an untyped error out of a sync step.
FOUND = [
    # a grant sequence number beyond SQLite's 64 bits: OverflowError when storing the pending update
    (
        "sync_pending",
        '{"grants": [{"id": 1, "card_serial": "6271000000000001", "program": 1, "grant_seq": '
        '99999999999999999999, "body": "", "kid": "", "signature": ""}], "status_commands": []}',
    ),
    # a lone surrogate in a catalogue text: UnicodeEncodeError when storing the catalogue
    (
        "sync_catalogue",
        '{"items": [{"id": "j", "kind": "job", "region": 1, "title": "\\ud800"}]}',
    ),
]


@pytest.mark.parametrize(("name", "body"), FOUND)
def test_found_inputs_raise_only_typed_errors(name: str, body: str) -> None:
    assert_typed(get(name), body.encode())

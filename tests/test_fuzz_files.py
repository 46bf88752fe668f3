"""Fuzzing as a habit: what a terminal reads from files and from its own disk (trust list, status-list
snapshots and deltas, the stored rows, card files) is parsed or refused with a typed error."""

from __future__ import annotations

import cbor2
import pytest

from benchmarks.fuzz_targets import get, target_names
from tests.support.fuzzing import assert_typed, check_parser


@pytest.mark.parametrize("name", target_names("file"))
def test_parser_raises_only_typed_errors(name: str) -> None:
    check_parser(name)


def test_card_file_with_a_short_issuer_key_entry_is_a_typed_error() -> None:
    """Found by the campaign: a card file whose issuer key entry is an empty array (IndexError)."""
    fields = {
        "v": 1,
        "life_cycle": 7,
        "serial": bytes(8),
        "private_scalar": bytes(32),
        "credential": b"",
        "personal_data": b"",
        "issuer_keys": [[]],
    }
    assert_typed(get("card_file"), cbor2.dumps(fields))


def test_trust_anchor_with_an_unknown_key_algorithm_is_a_typed_error() -> None:
    """Found by the campaign: an anchor PEM whose algorithm OID is mangled (UnsupportedAlgorithm)."""
    pem = bytes.fromhex(
        "2d2d2d2d2d424547494e205055424c4943204b45592d2d2d2d2d4d466b77457759484b6f52497a6a3043415159494b6f5a"
        "497a6a30444151634451674145764c796132724654456a4871623866565a3231637a6e45495a494f4d3278435834745a6b"
        "305847426838516f507544502f3356364971736d6f33413948395579412f4632796a706652435a42744844764a71676479"
        "773d3d2d2d2d2d2d454e44205055424c4943204b45592d2d2d2d2d"
    )
    assert_typed(get("trust_anchor_file"), pem)

"""Fuzzing as a habit: a scanned receipt QR code (any text) is verified or refused with QrPayloadError."""

from __future__ import annotations

import pytest

from benchmarks.fuzz_targets import target_names
from tests.support.fuzzing import check_parser


@pytest.mark.parametrize("name", target_names("qr"))
def test_parser_raises_only_typed_errors(name: str) -> None:
    check_parser(name)

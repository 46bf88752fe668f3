"""Holder names (card_applet_spec.names): one normal form, tricks refused, and the cut that makes a name
fit the card's byte budget on a character boundary (shared by the server and the issuance station)."""

from __future__ import annotations

import re
import unicodedata

import pytest

from card_applet_spec.constants import NAME_MAX_BYTES
from card_applet_spec.names import (
    NAME_PATTERN,
    REFUSED_RANGES,
    NameProblem,
    NameRefused,
    card_name,
    cut_to_bytes,
    normalise_name,
)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("Budi\u202eosotnaS", NameProblem.INVISIBLE),  # right-to-left override
        ("Bu\u200bdi", NameProblem.INVISIBLE),  # zero-width space
        ("Budi\u200d", NameProblem.INVISIBLE),  # zero-width joiner
        ("\u2067Budi\u2069", NameProblem.INVISIBLE),  # right-to-left isolate
        ("Budi\u200f", NameProblem.INVISIBLE),  # right-to-left mark
        ("\ufeffBudi", NameProblem.INVISIBLE),  # byte order mark
        ("Bu\u00addi", NameProblem.INVISIBLE),  # soft hyphen
        ("Budi\x00", NameProblem.CONTROL),
        ("Budi\nSantoso", NameProblem.CONTROL),
        ("Budi\x85", NameProblem.CONTROL),  # C1 next line
        ("Budi\ud800", NameProblem.SURROGATE),
        ("<script>alert(1)</script>", NameProblem.MARKUP),
        ("Budi <b>", NameProblem.MARKUP),
        ("   ", NameProblem.EMPTY),
        ("x" * 101, NameProblem.TOO_LONG),
    ],
)
def test_tricks_are_refused_with_a_reason(raw: str, problem: NameProblem) -> None:
    with pytest.raises(NameRefused) as caught:
        normalise_name(raw)
    assert caught.value.problem is problem
    if problem is not NameProblem.TOO_LONG:  # the schema's maxLength says that one
        assert not re.match(NAME_PATTERN, raw)  # the API's schema says the same


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("  Budi   Santoso ", "Budi Santoso"),
        ("Jose\u0301", "José"),  # NFC: e + combining acute is é
        ("Siti\u00a0Rahmawati", "Siti Rahmawati"),  # a no-break space is a space
        ("Nguyễn Thị Minh Khai", "Nguyễn Thị Minh Khai"),
        ("O'Brien-Smith", "O'Brien-Smith"),
        ("Tom & Jerry", "Tom & Jerry"),  # not markup; rendering escapes it
        ("\u738b\u5c0f\u660e", "\u738b\u5c0f\u660e"),
    ],
)
def test_names_are_kept_in_their_normal_form(raw: str, normal: str) -> None:
    assert normalise_name(raw) == normal
    assert re.match(NAME_PATTERN, raw)


def test_the_refused_ranges_are_the_control_format_and_surrogate_code_points() -> None:
    refused = {cp for a, b in REFUSED_RANGES for cp in range(a, b + 1)}
    assert refused == {cp for cp in range(0x110000) if unicodedata.category(chr(cp)) in ("Cc", "Cf", "Cs")}


def test_a_long_name_is_cut_to_the_card_budget_on_a_character_boundary() -> None:
    cjk = "\u4e00" * 100  # 300 bytes of UTF-8
    assert card_name(cjk) == "\u4e00" * 16 and len(card_name(cjk).encode()) == NAME_MAX_BYTES
    mixed = "a" + "\u4e00" * 20  # 1 + 60 bytes: the cut falls inside the 16th CJK character
    assert card_name(mixed) == "a" + "\u4e00" * 15 and len(card_name(mixed).encode()) == 46
    assert card_name("Budi Santoso") == "Budi Santoso"
    latin = "Raden Mas " + "Hadiwijaya " * 5
    cut = card_name(latin)
    assert len(cut.encode()) <= NAME_MAX_BYTES and latin.startswith(cut) and not cut.endswith(" ")


def test_a_letter_is_never_cut_from_its_combining_marks() -> None:
    # "a" + two combining marks that NFC cannot compose into one character: 5 bytes per letter
    letter = "a\u0323\u0306"
    text = letter * 10
    cut = cut_to_bytes(text, 48)  # 9 whole letters are 45 bytes; the 10th would not fit whole
    assert cut == letter * 9
    assert cut_to_bytes(text, 47) == letter * 9
    assert cut_to_bytes(text, 46) == letter * 9
    assert cut_to_bytes("\u00e9" * 30, 5) == "\u00e9\u00e9"  # 2-byte characters, never half of one

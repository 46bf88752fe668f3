"""Holder names: one normal form, and the form that fits on a card.

A name is stored and signed as people read it, never as a trick: Unicode NFC, whitespace collapsed to
single spaces, and no character that is invisible or changes how the text around it is shown — control
characters (C0, C1), format characters (bidi embeddings, overrides and isolates, the right-to-left and
zero-width marks, zero-width spaces and joiners, the soft hyphen, the BOM; Unicode category Cf), lone
surrogates — nor markup (``<`` or ``>``). Such a name is refused (:class:`NameRefused`), not silently
changed: what a registrar typed is either kept as it is (up to NFC and spaces) or sent back.
:data:`NAME_PATTERN` is the same rule as a regular expression, for the API's schema.

On a card the name is a credential claim of at most :data:`~card_applet_spec.constants.NAME_MAX_BYTES`
bytes of UTF-8 (SPEC §4.3): :func:`card_name` cuts a longer name on a character boundary — never
inside a UTF-8 sequence, never between a letter and its combining marks — so 100 CJK characters become
16 (48 bytes), not 144 bytes that no card accepts. The server (issuance plan) and the issuance station
both use it.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from card_applet_spec.constants import NAME_MAX_BYTES

#: Unicode general categories never allowed in a name: control, format, surrogate.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})
#: The code points of those categories (Unicode 14, Python 3.11's ``unicodedata``; a test recomputes
#: them), as inclusive ranges.
REFUSED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x001F), (0x007F, 0x009F), (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C),
    (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0xD800, 0xDFFF),
    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)  # fmt: skip
_MARKUP = frozenset("<>")
#: The longest name accepted at all (the register's column).
NAME_MAX_CHARS = 100


def _class(negated_extra: str) -> str:
    """A regex character class of every code point but the refused ones, markup and ``negated_extra``
    (escaped: ``\\uXXXX`` in the basic plane, as JSON Schema writes it, ``\\UXXXXXXXX`` above)."""

    def esc(cp: int) -> str:
        return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"

    parts = "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in REFUSED_RANGES)
    return f"[^{parts}<>{negated_extra}]"


#: A name as the API accepts it: no refused character, no markup, at least one that is not a space.
NAME_PATTERN = f"^{_class('')}*{_class(chr(92) + 's')}{_class('')}*$"


class NameProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    CONTROL = "control_character"  # C0/C1 controls
    INVISIBLE = "invisible_character"  # bidi controls, zero-width and other format characters
    SURROGATE = "lone_surrogate"  # half of a UTF-16 pair: no character at all
    MARKUP = "markup"


class NameRefused(ValueError):
    """A name that is not accepted; ``problem`` says why (stable), the message names the character."""

    def __init__(self, problem: NameProblem, message: str) -> None:
        self.problem = problem
        super().__init__(message)


def _problem_of(ch: str) -> NameProblem | None:
    if ch in _MARKUP:
        return NameProblem.MARKUP
    category = unicodedata.category(ch)
    if category not in _REFUSED_CATEGORIES:
        return None
    if category == "Cc":
        return NameProblem.CONTROL
    if category == "Cf":
        return NameProblem.INVISIBLE
    return NameProblem.SURROGATE


def normalise_name(raw: str) -> str:
    """The name's normal form (NFC, single spaces, trimmed); :class:`NameRefused` when it is empty,
    longer than :data:`NAME_MAX_CHARS`, or holds a character a name may not hold."""
    text = unicodedata.normalize("NFC", raw)
    # whitespace (including the line and paragraph separators, which are not controls) becomes one space;
    # the controls among it (tab, newline) are refused like every other control character
    for ch in text:
        problem = _problem_of(ch)
        if problem is not None:
            raise NameRefused(problem, f"a name may not contain U+{ord(ch):04X} ({problem.value})")
    name = " ".join(text.split())
    if not name:
        raise NameRefused(NameProblem.EMPTY, "a name must not be empty")
    if len(name) > NAME_MAX_CHARS:
        raise NameRefused(NameProblem.TOO_LONG, f"a name has at most {NAME_MAX_CHARS} characters")
    return name


def cut_to_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8 on a character boundary: whole code points, and
    a letter is dropped with its combining marks rather than shown without them."""
    if len(text.encode("utf-8")) <= limit:
        return text
    cut = len(text.encode("utf-8")[:limit].decode("utf-8", errors="ignore"))  # whole code points
    # a cut among a letter's combining marks moves back before the letter
    while cut > 0 and unicodedata.combining(text[cut]):
        cut -= 1
    return text[:cut].rstrip()


def card_name(raw: str) -> str:
    """The name as it goes on a card: :func:`normalise_name`, cut to :data:`NAME_MAX_BYTES` bytes."""
    return cut_to_bytes(normalise_name(raw), NAME_MAX_BYTES)

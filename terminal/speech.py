"""What the kiosk says aloud, as text: each screen's main message and the holder's entitlements, in Bahasa
Indonesia or English, with numbers, amounts and dates in words (``terminal.numwords``).

The UI hands over what it shows (already translated: one definition of each on-screen word) and the
entitlements as data; this module decides what of it is spoken and how it reads:

- the services screen: a greeting, then one sentence per service the holder has ("Bantuan Langsung Tunai,
  sisa enam ratus ribu rupiah, berlaku sampai tiga puluh satu Desember dua ribu dua puluh enam"), then the
  services the card is not enrolled in, in one sentence;
- a service's detail: that sentence, then how to claim it;
- every other screen: its title and main lines as shown, made speakable (:func:`speakable`).

What is never spoken: a NIK or family card number (masked or not: anything with ``*`` or a long digit run),
the PIN, and personal details. The holder's name only when the audio is private (headphones).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from card_applet_spec import constants as c
from terminal.entitlements import Entitlement, Status
from terminal.numwords import (
    MONTHS,
    Lang,
    count_words,
    decimal_words,
    number_words,
    rupiah_words,
    thousandths_words,
    time_words,
)
from terminal.numwords import date_words as _date_words

LANGS: tuple[Lang, ...] = ("id", "en")


def lang_of(code: str) -> Lang:
    """ "en" → "en"; anything else → "id" (the kiosk's own language)."""
    return "en" if code == "en" else "id"


@dataclass(frozen=True)
class Script:
    """What to say: sentences in one language."""

    lang: Lang
    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(_sentence(s) for s in self.sentences if s.strip())

    def __bool__(self) -> bool:
        return bool(self.text)


def _sentence(s: str) -> str:
    s = s.strip()
    return s if s[-1:] in ".?!" else s + "."


# -- words only speech needs (the screen abbreviates: "s.d.", "kg", "Rp") ---------------------------------

_WORDS: dict[str, dict[Lang, str]] = {
    "left": {"id": "sisa", "en": "left"},
    "until": {"id": "berlaku sampai", "en": "valid until"},
    "ended": {"id": "sudah berakhir pada", "en": "ended on"},
    "unlimited": {"id": "gratis, tanpa batas", "en": "free, no limit"},
    "hello": {"id": "Halo", "en": "Hello"},
    "not_enrolled": {"id": "Tidak terdaftar di", "en": "Not enrolled in"},
    "and": {"id": "serta", "en": "and"},  # "serta": program names have "dan" in them
}

_STATUS: dict[Status, dict[Lang, str]] = {
    Status.ACTIVE: {"id": "aktif", "en": "active"},
    Status.USED_UP: {"id": "sudah habis", "en": "used up"},
    Status.EXPIRED: {"id": "sudah berakhir", "en": "ended"},
    Status.NOT_YET_VALID: {"id": "belum mulai", "en": "not started yet"},
    Status.NOT_ENROLLED: {"id": "tidak terdaftar", "en": "not enrolled"},
    Status.REGISTERED: {"id": "terdaftar", "en": "registered"},
    Status.ACCEPTED: {"id": "diterima", "en": "accepted"},
    Status.COMPLETED: {"id": "selesai", "en": "completed"},
}
_MAY_APPLY = {"id": "bisa mendaftar", "en": "you can register"}


def amount_words(unit: int | None, amount: int, lang: Lang) -> str:
    """An amount in a program's unit, in words: "enam ratus ribu rupiah", "sepuluh kilogram"."""
    if amount == c.UNLIMITED:
        return _WORDS["unlimited"][lang]
    if unit == c.Unit.RUPIAH:
        return rupiah_words(amount, lang)
    if unit == c.Unit.GRAM:
        return thousandths_words(amount, "kilogram", "kilogram", lang)
    if unit == c.Unit.MILLILITRE:
        return thousandths_words(amount, "liter", "litre", lang)
    if unit == c.Unit.PIECE:
        return count_words(amount, "piece", "pieces", "buah", lang)
    if unit == c.Unit.VISIT:
        return count_words(amount, "visit", "visits", "kunjungan", lang)
    return number_words(amount, lang)


def program_name(e: Entitlement, lang: Lang) -> str:
    return e.info.name_en if lang == "en" else e.info.name_id


def entitlement_sentence(e: Entitlement, lang: Lang) -> str:
    """One service as a sentence: its name, what is left (or its state), until when."""
    parts = [program_name(e, lang)]
    until = e.period_end.date() if isinstance(e.period_end, dt.datetime) else e.period_end
    if e.status is Status.NOT_ENROLLED:
        return f"{parts[0]}, {_STATUS[Status.NOT_ENROLLED][lang]}"
    if e.status is Status.EXPIRED:
        if until is None:
            return f"{parts[0]}, {_STATUS[Status.EXPIRED][lang]}"
        return f"{parts[0]}, {_WORDS['ended'][lang]} {_date_words(until, lang)}"
    if e.status is Status.ACTIVE and e.kind in (c.Kind.CASH, c.Kind.QUANTITY) and e.remaining is not None:
        parts.append(f"{_WORDS['left'][lang]} {amount_words(e.unit, e.remaining, lang)}")
    elif e.status is Status.ACTIVE and e.kind is c.Kind.ELIGIBILITY and e.remaining is not None:
        if e.remaining == c.UNLIMITED:
            parts.append(_WORDS["unlimited"][lang])
        else:
            parts.append(f"{_WORDS['left'][lang]} {amount_words(c.Unit.VISIT, e.remaining, lang)}")
    elif e.status is Status.ACTIVE and e.kind is c.Kind.APPLICATION:
        parts.append(_MAY_APPLY[lang])
    else:
        parts.append(_STATUS[e.status][lang])
    if until is not None:
        parts.append(f"{_WORDS['until'][lang]} {_date_words(until, lang)}")
    return ", ".join(parts)


def _names(names: list[str], lang: Lang) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f", {_WORDS['and'][lang]} " + names[-1]


def services_script(
    lang: Lang, entitlements: Iterable[Entitlement], *, name: str | None = None, hint: str = ""
) -> Script:
    """The services screen: "Halo[, name]." then each service the holder has, then those not enrolled in,
    then ``hint`` (the screen's "touch a service" line, as shown). ``name`` only when the audio is private."""
    items = list(entitlements)
    hello = _WORDS["hello"][lang] + (f", {name}" if name else "")
    sentences = [hello]
    sentences += [entitlement_sentence(e, lang) for e in items if e.status is not Status.NOT_ENROLLED]
    missing = [program_name(e, lang) for e in items if e.status is Status.NOT_ENROLLED]
    if missing:
        sentences.append(f"{_WORDS['not_enrolled'][lang]} {_names(missing, lang)}")
    if hint:
        sentences.append(speakable(hint, lang))
    return Script(lang, tuple(sentences))


def detail_script(lang: Lang, e: Entitlement, *lines: str) -> Script:
    """A service's detail: its sentence, then ``lines`` as shown (how to claim it)."""
    return Script(lang, (entitlement_sentence(e, lang), *(speakable(x, lang) for x in lines)))


def lines_script(lang: Lang, *lines: str) -> Script:
    """A screen's main message as shown (title, body, what to do next), made speakable."""
    return Script(lang, tuple(t for t in (speakable(x, lang) for x in lines) if t))


# -- displayed text → speakable text ------------------------------------------------------------------

#: "Des", "Desember", "Dec", "December" → 12 (the screen's short months and the full names, both languages).
_MONTH_NUMBER = {month[:3].lower(): i + 1 for lang in LANGS for i, month in enumerate(MONTHS[lang])}
_NUMBER = r"\d{1,3}(?:\.\d{3})+|\d+"
_SECRET = re.compile(r"\S*\*{2,}\S*|\d{9,}")  # a masked NIK/KK number, or any long digit run
_DATE = re.compile(r"\b(\d{1,2}) ([A-Za-z]{3})[a-z]*\.? (\d{4})\b")
_RUPIAH = re.compile(rf"\bRp\.? ?({_NUMBER})(?:,-|,00)?")
_QUANTITY = re.compile(rf"\b({_NUMBER})(?:,(\d+))? ?(kg|liter)\b")
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})\b")
_DECIMAL = re.compile(rf"\b({_NUMBER}),(\d+)\b")
_INTEGER = re.compile(rf"\b({_NUMBER})\b")
_SYMBOLS = str.maketrans(
    {"…": " ", "·": ",", "✓": " ", "⌫": " ", "—": ",", "–": ",", "●": " ", "(": ",", ")": " "}
)


def _int(text: str) -> int:
    return int(text.replace(".", ""))


def speakable(text: str, lang: Lang) -> str:
    """Text as shown on screen → text for a speech engine: amounts, quantities, dates, times and numbers
    in words, abbreviations spelled out, symbols dropped, and nothing secret (masked numbers, long digit
    runs) left to read."""
    text = _SECRET.sub(" ", text)

    def date(m: re.Match[str]) -> str:
        month = _MONTH_NUMBER.get(m.group(2).lower())
        if month is None:
            return m.group(0)
        try:
            return _date_words(dt.date(int(m.group(3)), month, int(m.group(1))), lang)
        except ValueError:
            return m.group(0)

    def quantity(m: re.Match[str]) -> str:
        words = decimal_words(_int(m.group(1)), m.group(2) or "", lang)
        unit = "kilogram" if m.group(3) == "kg" else ("liter" if lang == "id" else "litre")
        plural = lang == "en" and (m.group(2) or _int(m.group(1)) != 1)
        return f"{words} {unit}{'s' if plural else ''}"

    text = _DATE.sub(date, text)
    text = _RUPIAH.sub(lambda m: rupiah_words(_int(m.group(1)), lang), text)
    text = _QUANTITY.sub(quantity, text)
    text = _TIME.sub(lambda m: time_words(int(m.group(1)), int(m.group(2)), lang), text)
    text = _DECIMAL.sub(lambda m: decimal_words(_int(m.group(1)), m.group(2), lang), text)
    text = _INTEGER.sub(lambda m: number_words(_int(m.group(1)), lang), text)
    if lang == "id":
        text = re.sub(r"\bs\.d\.", "sampai", text)
    text = text.translate(_SYMBOLS)
    text = re.sub(r"\s+([,.:;?!])", r"\1", text)
    text = re.sub(r"([,:;])(?:\s*[,:;])+", r"\1", text)
    return re.sub(r"\s+", " ", text).strip(" ,;:")

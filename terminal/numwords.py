"""Numbers, amounts, dates and times as words, the way a person reads them aloud, in Bahasa Indonesia and
English (for the kiosk's voice, ``terminal.speech``).

A speech engine reads "Rp 600.000" or "31 Des 2026" badly (or in the wrong language's way): these give it
the words instead. Indonesian: "enam ratus ribu rupiah", "tiga puluh satu Desember dua ribu dua puluh
enam", "dua koma lima kilogram", "pukul sembilan lewat lima menit". English: "six hundred thousand rupiah",
"the thirty-first of December, two thousand twenty-six".
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

Lang = Literal["id", "en"]

_ID_ONES = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")
#: 10^3k group names; "seribu" (not "satu ribu") is special-cased below.
_ID_SCALES = ((10**12, "triliun"), (10**9, "miliar"), (10**6, "juta"), (10**3, "ribu"))

_EN_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_EN_ORDINAL = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip

MONTHS: dict[Lang, tuple[str, ...]] = {
    "id": (
        "Januari", "Februari", "Maret", "April", "Mei", "Juni",
        "Juli", "Agustus", "September", "Oktober", "November", "Desember",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip

#: Largest number read in words (beyond it, digit by digit): far above any balance a card can hold.
MAX_WORDS = 10**15 - 1


def _id_below_1000(n: int) -> str:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds == 1:
        words.append("seratus")
    elif hundreds:
        words.append(f"{_ID_ONES[hundreds]} ratus")
    if rest == 10:
        words.append("sepuluh")
    elif rest == 11:
        words.append("sebelas")
    elif 12 <= rest <= 19:
        words.append(f"{_ID_ONES[rest - 10]} belas")
    elif rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(f"{_ID_ONES[tens]} puluh" + (f" {_ID_ONES[ones]}" if ones else ""))
    elif rest:
        words.append(_ID_ONES[rest])
    return " ".join(words)


def _en_below_1000(n: int) -> str:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words.append(f"{_EN_ONES[hundreds]} hundred")
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else ""))
    elif rest:
        words.append(_EN_ONES[rest])
    return " ".join(words)


def number_words(n: int, lang: Lang = "id") -> str:
    """A whole number in words: 1000 → "seribu" / "one thousand"; 21 → "dua puluh satu" / "twenty-one"."""
    if n < 0:
        return "minus " + number_words(-n, lang)
    if n == 0:
        return _ID_ONES[0] if lang == "id" else _EN_ONES[0]
    if n > MAX_WORDS:
        return digits_words(str(n), lang)
    below = _id_below_1000 if lang == "id" else _en_below_1000
    scales = _ID_SCALES if lang == "id" else _EN_SCALES
    words: list[str] = []
    for scale, name in scales:
        count, n = divmod(n, scale)
        if not count:
            continue
        if lang == "id" and scale == 1000 and count == 1:
            words.append("seribu")
        else:
            words.append(f"{number_words(count, lang)} {name}")
    if n:
        words.append(below(n))
    return " ".join(words)


def digits_words(digits: str, lang: Lang = "id") -> str:
    """Digit by digit: "0812" → "nol delapan satu dua" (phone numbers, codes)."""
    ones = _ID_ONES if lang == "id" else _EN_ONES
    return " ".join(ones[int(d)] for d in digits if d.isdigit())


def ordinal_words(n: int) -> str:
    """English ordinals: 1 → "first", 31 → "thirty-first"."""
    words = number_words(n, "en")
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    if last in _EN_ORDINAL:
        last = _EN_ORDINAL[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def decimal_words(whole: int, fraction: str, lang: Lang = "id") -> str:
    """2 and "5" → "dua koma lima" / "two point five" (the fraction digit by digit)."""
    text = number_words(whole, lang)
    fraction = fraction.rstrip("0")
    if not fraction:
        return text
    return f"{text} {'koma' if lang == 'id' else 'point'} {digits_words(fraction, lang)}"


def rupiah_words(amount: int, lang: Lang = "id") -> str:
    """600000 → "enam ratus ribu rupiah" (in English too: the currency's name is rupiah)."""
    return f"{number_words(amount, lang)} rupiah"


def thousandths_words(amount: int, unit_id: str, unit_en: str, lang: Lang = "id") -> str:
    """An amount kept in thousandths (grams, millilitres) read in kilograms or litres:
    2500 → "dua koma lima kilogram" / "two point five kilograms"."""
    whole, frac = divmod(amount, 1000)
    words = decimal_words(whole, f"{frac:03d}", lang)
    if lang == "id":
        return f"{words} {unit_id}"
    return f"{words} {unit_en}" + ("" if amount == 1000 else "s")


def count_words(n: int, one_en: str, many_en: str, word_id: str, lang: Lang = "id") -> str:
    """3 → "tiga kunjungan" / "three visits" (Indonesian nouns do not change in the plural)."""
    if lang == "id":
        return f"{number_words(n, lang)} {word_id}"
    return f"{number_words(n, lang)} {one_en if n == 1 else many_en}"


def year_words(year: int, lang: Lang = "id") -> str:
    return number_words(year, lang)


def date_words(day: dt.date, lang: Lang = "id") -> str:
    """2026-12-31 → "tiga puluh satu Desember dua ribu dua puluh enam" /
    "the thirty-first of December, two thousand twenty-six"."""
    month = MONTHS[lang][day.month - 1]
    if lang == "id":
        return f"{number_words(day.day, lang)} {month} {year_words(day.year, lang)}"
    return f"the {ordinal_words(day.day)} of {month}, {year_words(day.year, lang)}"


def time_words(hour: int, minute: int, lang: Lang = "id") -> str:
    """09:05 → "pukul sembilan lewat lima menit" / "nine oh five"; 14:00 → "pukul empat belas" /
    "fourteen hundred"."""
    if lang == "id":
        text = f"pukul {number_words(hour, lang)}"
        return text + (f" lewat {number_words(minute, lang)} menit" if minute else "")
    if not minute:
        return f"{number_words(hour, lang)} o'clock" if hour <= 12 else f"{number_words(hour, lang)} hundred"
    mm = number_words(minute, lang) if minute >= 10 else f"oh {number_words(minute, lang)}"
    return f"{number_words(hour, lang)} {mm}"

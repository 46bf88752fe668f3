"""How old data is, in plain words: ``45 menit``, ``3 jam``, ``4 hari``, ``5 bulan``, ``2 tahun``.

One formatter for every age the terminal reports (status data, trust list): minutes below an hour, hours
below two days, days below two months, months below two years, then years — always rounded down, so a
list 729 days old is "24 bulan", never "2 tahun".
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["id", "en"]

_MINUTE = 60
_HOUR = 3_600
_DAY = 86_400
_MONTH = 30 * _DAY
_YEAR = 365 * _DAY

_UNITS: dict[Lang, dict[str, tuple[str, str]]] = {
    "id": {
        u: (w, w) for u, w in (("m", "menit"), ("h", "jam"), ("d", "hari"), ("mo", "bulan"), ("y", "tahun"))
    },
    "en": {
        "m": ("minute", "minutes"),
        "h": ("hour", "hours"),
        "d": ("day", "days"),
        "mo": ("month", "months"),
        "y": ("year", "years"),
    },
}


def age_in_words(seconds: float, lang: Lang = "id") -> str:
    """``seconds`` (negative counts as 0) as a whole number of the largest fitting unit."""
    s = max(0, int(seconds))
    if s < _HOUR:
        n, unit = s // _MINUTE, "m"
    elif s < 2 * _DAY:
        n, unit = s // _HOUR, "h"
    elif s < 2 * _MONTH:
        n, unit = s // _DAY, "d"
    elif s < 2 * _YEAR:
        n, unit = s // _MONTH, "mo"
    else:
        n, unit = s // _YEAR, "y"
    one, many = _UNITS[lang][unit]
    return f"{n} {one if n == 1 else many}"

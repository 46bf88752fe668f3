"""The one time zone of the programme: Central Kalimantan keeps Western Indonesian Time (WIB, UTC+7).

Receipts, screens, end-of-day totals and the public figures all count days in it; nothing else
defines its own offset.
"""

from __future__ import annotations

import datetime as dt

WIB = dt.timezone(dt.timedelta(hours=7), "WIB")

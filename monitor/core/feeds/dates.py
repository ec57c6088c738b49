"""An entry's publication date, as UTC, and what stands in for a missing or implausible
one. Pure."""

from __future__ import annotations

import calendar
import email.utils
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

# A date before any feed existed, or more than a day ahead (time zones and clocks aside),
# is taken for a missing one.
_EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
_FUTURE_SLACK = timedelta(days=1)


def _published(entry: Mapping[str, Any], now: datetime) -> datetime:
    when = None
    for key in ("published", "updated", "created"):
        # dict.get: FeedParserDict maps a missing "updated" to "published", with a warning.
        when = (_struct_to_datetime(dict.get(entry, f"{key}_parsed"))
                or _localized_date(dict.get(entry, key)))
        if when is not None:
            break
    if when is None or when < _EARLIEST or when > now + _FUTURE_SLACK:
        return now
    return when


def _struct_to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


# RFC 822 dates written with local month names ("Seg, 24 Set 2018 19:42:40 -0300",
# as Brazilian and other sites do), which feedparser leaves unparsed.
_MONTHS = {
    # pt, es, it, de, fr (abbreviations and full names, accents removed)
    "fev": "Feb", "fevereiro": "Feb", "abr": "Apr", "abril": "Apr", "mai": "May", "maio": "May",
    "set": "Sep", "setembro": "Sep", "out": "Oct", "outubro": "Oct", "dez": "Dec", "dezembro": "Dec",
    "janeiro": "Jan", "marco": "Mar", "junho": "Jun", "julho": "Jul", "ago": "Aug", "agosto": "Aug",
    "novembro": "Nov", "ene": "Jan", "enero": "Jan", "febrero": "Feb", "marzo": "Mar", "mayo": "May",
    "junio": "Jun", "julio": "Jul", "sept": "Sep", "septiembre": "Sep", "octubre": "Oct",
    "noviembre": "Nov", "dic": "Dec", "diciembre": "Dec", "gen": "Jan", "mag": "May", "giu": "Jun",
    "lug": "Jul", "ott": "Oct", "mrz": "Mar", "okt": "Oct", "janv": "Jan", "fevr": "Feb",
    "mars": "Mar", "avr": "Apr", "juin": "Jun", "juil": "Jul", "aout": "Aug", "oct": "Oct",
    "dec": "Dec",
}


def _localized_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.split(",", 1)[-1]  # the weekday, in whatever language
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))

    def month(m: re.Match[str]) -> str:
        word = m.group(0)
        return _MONTHS.get(word.lower().rstrip("."), word)

    folded = re.sub(r"[^\W\d_]+\.?", month, folded)
    try:
        parsed = email.utils.parsedate_to_datetime(folded.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return _as_utc(parsed)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)

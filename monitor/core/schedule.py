"""Digest schedules and quiet hours. Pure: touches nothing outside itself.

Forms a user writes: ``hourly``, ``daily 08:00``, ``every 30m`` / ``every 2h``;
quiet hours ``22:00-07:00`` (in the configured time zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_EVERY = re.compile(r"^every\s+(\d+)\s*(m|min|minutes?|h|hours?)$", re.I)
_DAILY = re.compile(r"^daily\s+(?:at\s+)?(\d{1,2}):(\d{2})$", re.I)
_QUIET = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Schedule:
    """Every ``minutes``, or daily at ``at`` (local time)."""

    minutes: int | None = None
    at: time | None = None

    def due(self, oldest_held: datetime, now: datetime, tz: str = "UTC") -> bool:
        """Whether a digest holding items since ``oldest_held`` should go out at ``now``."""
        if self.minutes is not None:
            return now - oldest_held >= timedelta(minutes=self.minutes)
        local_now = now.astimezone(ZoneInfo(tz))
        today_at = local_now.replace(hour=self.at.hour, minute=self.at.minute, second=0, microsecond=0)
        last_slot = today_at if local_now >= today_at else today_at - timedelta(days=1)
        return oldest_held.astimezone(ZoneInfo(tz)) < last_slot


def parse_schedule(text: str) -> Schedule:
    """``hourly``, ``daily 08:00`` or ``every 30m``; raises ValueError with the accepted forms."""
    t = " ".join(str(text).split())
    if t.lower() == "hourly":
        return Schedule(minutes=60)
    if m := _EVERY.match(t):
        n = int(m.group(1)) * (60 if m.group(2).lower().startswith("h") else 1)
        if n < 1:
            raise ValueError("a digest period must be at least 1 minute")
        return Schedule(minutes=n)
    if m := _DAILY.match(t):
        h, mi = int(m.group(1)), int(m.group(2))
        if h < 24 and mi < 60:
            return Schedule(at=time(h, mi))
    raise ValueError(f"unknown schedule {text!r}: write hourly, 'daily 08:00' or 'every 30m'")


def parse_quiet_hours(text: str) -> tuple[time, time]:
    """``22:00-07:00`` -> (start, end); raises ValueError."""
    m = _QUIET.match(str(text).strip())
    if m:
        h1, m1, h2, m2 = map(int, m.groups())
        if h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60:
            return time(h1, m1), time(h2, m2)
    raise ValueError(f"quiet hours must look like 22:00-07:00, not {text!r}")


def in_quiet_hours(span: tuple[time, time] | None, now: datetime, tz: str = "UTC") -> bool:
    """Whether ``now`` falls in the span (which may wrap past midnight)."""
    if span is None:
        return False
    start, end = span
    t = now.astimezone(ZoneInfo(tz)).time()
    return start <= t < end if start <= end else (t >= start or t < end)

"""Query-string filters of the dashboard and the API (and of the read models they select), parsed and checked.

Pure: builds frozen dataclasses from a mapping of strings and touches nothing
else. Empty values count as absent (an HTML form sends every field). Every
problem is a :class:`FilterError` naming the parameter, so a page or the API
can answer 400 with a message a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from monitor.core.errors import MonitorError

__all__ = ["FilterError", "AlertFilter", "FeedFilter", "DeliveryFilter", "parse_alert_filter",
           "parse_feed_filter", "parse_delivery_filter", "DELIVERY_STATUSES", "FEED_HEALTH", "MAX_PAGE", "MAX_INT"]

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed", "dead", "held", "digested")
FEED_HEALTH = ("ok", "warning", "failing", "never", "disabled")
MAX_PAGE = 200
# Ids and offsets are compared with INTEGER columns: PostgreSQL refuses a larger number (an error, not no rows).
MAX_INT = 2**31 - 1
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


class FilterError(MonitorError, ValueError):
    """A query parameter is unknown or malformed; ``param`` names it."""

    def __init__(self, message: str, *, param: str):
        self.param, self.message = param, message
        super().__init__(f"{param}: {message}")


@dataclass(frozen=True)
class AlertFilter:
    rule: str | None = None
    feed: int | None = None
    language: str | None = None
    since: datetime | None = None  # inclusive, UTC
    until: datetime | None = None  # exclusive, UTC
    status: str | None = None  # an alert with at least one delivery in this state
    before: int | None = None  # keyset cursor: match ids below this one
    limit: int = 50


@dataclass(frozen=True)
class FeedFilter:
    health: str | None = None
    q: str | None = None
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True)
class DeliveryFilter:
    statuses: tuple[str, ...] = ("failed", "dead")
    rule: str | None = None
    channel: str | None = None
    before: int | None = None
    limit: int = 50


class _Params:
    def __init__(self, params: Mapping[str, str], known: tuple[str, ...]):
        for key in params:
            if key not in known:
                raise FilterError(f"unknown parameter (expected one of: {', '.join(known)})", param=key)
        self._p = {k: v.strip() for k, v in params.items() if v is not None and v.strip()}

    def text(self, name: str, max_len: int = 200) -> str | None:
        v = self._p.get(name)
        if v is not None and len(v) > max_len:
            raise FilterError(f"longer than {max_len} characters", param=name)
        return v

    def integer(self, name: str, *, lo: int, hi: int = MAX_INT, default: int | None = None) -> int | None:
        v = self._p.get(name)
        if v is None:
            return default
        if not re.fullmatch(r"[0-9]{1,18}", v):
            raise FilterError(f"{v[:40]!r} is not a whole number", param=name)
        n = int(v)
        if not lo <= n <= hi:
            raise FilterError(f"{n} is out of range ({lo} to {hi})", param=name)
        return n

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        v = self._p.get(name)
        if v is not None and v not in choices:
            raise FilterError(f"{v[:40]!r} is not one of: {', '.join(choices)}", param=name)
        return v

    def when(self, name: str, *, end: bool = False) -> datetime | None:
        """A date (YYYY-MM-DD; as an end, the whole day is included) or an ISO 8601 time."""
        v = self._p.get(name)
        if v is None:
            return None
        try:
            if len(v) == 10:
                d = date.fromisoformat(v)
                t = datetime.combine(d, time(), tzinfo=timezone.utc)
                return t + timedelta(days=1) if end else t
            t = datetime.fromisoformat(v)
            return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)
        except ValueError:
            raise FilterError(f"{v[:40]!r} is not a date (YYYY-MM-DD) or an ISO 8601 time",
                              param=name) from None
        except OverflowError:  # the day after 9999-12-31, or a time in year 1 or 9999 moved to UTC
            raise FilterError(f"{v[:40]!r} is out of range (years 1 to 9999, in UTC)", param=name) from None


def parse_alert_filter(params: Mapping[str, str]) -> AlertFilter:
    """Filters of the alert list: rule, feed (id), language, since, until (dates), status,
    before (cursor), limit. Raises FilterError."""
    p = _Params(params, ("rule", "feed", "language", "since", "until", "status", "before", "limit"))
    language = p.text("language", 20)
    if language is not None and not _LANGUAGE.match(language):
        raise FilterError(f"{language!r} is not a language code like 'fr' or 'fr-CA'", param="language")
    f = AlertFilter(rule=p.text("rule"), feed=p.integer("feed", lo=1), language=language and language.lower(),
                    since=p.when("since"), until=p.when("until", end=True),
                    status=p.choice("status", DELIVERY_STATUSES), before=p.integer("before", lo=1),
                    limit=p.integer("limit", lo=1, hi=MAX_PAGE, default=50))
    if f.since and f.until and f.since >= f.until:
        raise FilterError("must be before 'until'", param="since")
    return f


def parse_feed_filter(params: Mapping[str, str]) -> FeedFilter:
    """Filters of the feed list: health, q (name or URL contains), offset, limit. Raises FilterError."""
    p = _Params(params, ("health", "q", "offset", "limit"))
    return FeedFilter(health=p.choice("health", FEED_HEALTH), q=p.text("q"),
                      offset=p.integer("offset", lo=0, default=0),
                      limit=p.integer("limit", lo=1, hi=MAX_PAGE * 5, default=100))


def parse_delivery_filter(params: Mapping[str, str]) -> DeliveryFilter:
    """Filters of the delivery list: status (comma-separated, default failed,dead; "all"),
    rule, channel, before (cursor), limit. Raises FilterError."""
    p = _Params(params, ("status", "rule", "channel", "before", "limit"))
    raw = p.text("status")
    statuses: tuple[str, ...] = ("failed", "dead")
    if raw == "all":
        statuses = ()
    elif raw is not None:
        statuses = tuple(s.strip() for s in raw.split(",") if s.strip())
        for s in statuses:
            if s not in DELIVERY_STATUSES:
                raise FilterError(f"{s[:40]!r} is not one of: all, {', '.join(DELIVERY_STATUSES)}",
                                  param="status")
    return DeliveryFilter(statuses=statuses, rule=p.text("rule"), channel=p.text("channel"),
                          before=p.integer("before", lo=1),
                          limit=p.integer("limit", lo=1, hi=MAX_PAGE, default=50))

"""The watchdog: say when a feed or a rule goes quiet or breaks, once.

Pure: every function here computes from its arguments and touches nothing
outside itself. The caller stores the returned state (plain data) and passes
it back on the next check; that is what makes each condition reported once
rather than once per poll.

Feed conditions (:func:`feed_alerts`):

* ``permanent``: the last poll answered 404 or 410, or a page that is not a
  feed. Reported at the first such poll.
* ``failing``: ``failures`` polls in a row failed (and the error is not a
  permanent one, already reported as such).
* ``quiet``: polls succeed but no new article came for much longer than the
  feed's usual cadence (:func:`cadence`): longer than ``quiet_factor`` times
  its median gap between articles, ``long_factor`` times its longest
  recurring pause (nights, weekends), and ``min_quiet``.

When the feed is healthy again (a poll succeeds and, for ``quiet``, an article
came), one ``recovered`` alert says which reported conditions cleared.

Rule condition (:func:`rule_silence`): a rule that matched on most days of
the weeks before its last match and has not matched for ``silence`` (a
week).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Cadence", "FeedHealth", "PERMANENT_STATUSES", "WatchdogAlert", "WatchdogState", "cadence",
           "feed_alerts", "rule_silence"]

#: HTTP statuses that will not get better by polling again.
PERMANENT_STATUSES = frozenset({404, 410})


@dataclass(frozen=True)
class Cadence:
    """A feed's normal rhythm, learnt from the times of its recent articles."""

    median_gap: timedelta
    long_gap: timedelta  # the longest pause seen at least twice: a night, a weekend
    samples: int  # gaps it was learnt from


@dataclass(frozen=True)
class FeedHealth:
    """What the watchdog reads about one feed (from storage)."""

    feed: str  # name or URL, for the message
    consecutive_failures: int = 0
    last_status: int | None = None  # HTTP status of the last poll; None if it never answered
    not_a_feed: bool = False  # the last poll answered a page that is not a feed
    last_error: str | None = None  # one line
    article_times: Sequence[datetime] = ()  # when its recent new articles appeared (any order)


@dataclass(frozen=True)
class WatchdogAlert:
    """One message for the operations channel."""

    subject: str  # feed name or rule name
    kind: str  # permanent, failing, quiet, recovered, rule_silent
    message: str  # one line


@dataclass(frozen=True)
class WatchdogState:
    """The conditions already reported for one feed (plain data: store the names)."""

    reported: frozenset[str] = frozenset()


def cadence(times: Sequence[datetime], *, min_samples: int = 5) -> Cadence | None:
    """The cadence of a feed from its article times, or None with fewer than ``min_samples`` gaps.

    Times equal to the previous one (a batch of entries found by one poll)
    count once. Never raises on valid datetimes.
    """
    ts = sorted(set(times))
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    if len(gaps) < min_samples:
        return None
    gaps.sort()
    # The second longest: a pause that recurs, where the longest may be a one-off outage.
    return Cadence(statistics.median_low(gaps), gaps[-2], len(gaps))


def _conditions(h: FeedHealth, now: datetime, *, failures: int, quiet_factor: float,
                long_factor: float, min_quiet: timedelta) -> dict[str, str]:
    found: dict[str, str] = {}
    if h.last_status in PERMANENT_STATUSES or h.not_a_feed:
        what = f"HTTP {h.last_status}" if h.last_status in PERMANENT_STATUSES else "a page that is not a feed"
        found["permanent"] = f"{h.feed} answers {what}; it will not recover by itself"
    elif h.consecutive_failures >= failures:
        found["failing"] = (f"{h.feed} failed {h.consecutive_failures} polls in a row"
                            + (f": {h.last_error}" if h.last_error else ""))
    elif h.consecutive_failures == 0 and h.article_times:
        c = cadence(h.article_times)
        if c is not None:
            limit = max(c.median_gap * quiet_factor, c.long_gap * long_factor, min_quiet)
            silent = now - max(h.article_times)
            if silent > limit:
                found["quiet"] = (f"{h.feed} has published nothing for {_human(silent)} "
                                  f"(usually every {_human(c.median_gap)}, at most {_human(c.long_gap)})")
    return found


def feed_alerts(health: FeedHealth, now: datetime, *, state: WatchdogState | None = None,
                failures: int = 5, quiet_factor: float = 3.0, long_factor: float = 1.5,
                min_quiet: timedelta = timedelta(hours=6)) -> tuple[list[WatchdogAlert], WatchdogState]:
    """The new watchdog alerts for one feed, and the state to store for the next check.

    A condition is reported when it first holds and not again while it
    holds; when a reported condition no longer holds, one ``recovered``
    alert says so. ``state`` is what the previous call returned (None: nothing
    reported yet). Never raises on valid input.
    """
    state = state or WatchdogState()
    active = _conditions(health, now, failures=failures, quiet_factor=quiet_factor,
                         long_factor=long_factor, min_quiet=min_quiet)
    alerts = [WatchdogAlert(health.feed, kind, msg) for kind, msg in active.items() if kind not in state.reported]
    failing_now = bool(health.consecutive_failures) or "permanent" in active
    if failing_now:
        # Still broken, perhaps differently: keep what was said, so nothing is said twice.
        return alerts, WatchdogState(state.reported | active.keys())
    cleared = state.reported - active.keys()
    if cleared:
        alerts.append(WatchdogAlert(health.feed, "recovered",
                                    f"{health.feed} is back to normal ({', '.join(sorted(cleared))} cleared)"))
    return alerts, WatchdogState(frozenset(active))


def rule_silence(rule: str, match_times: Sequence[datetime], now: datetime, *,
                 reported_for: datetime | None = None, silence: timedelta = timedelta(days=7),
                 history: timedelta = timedelta(days=28), min_days: int = 7,
                 daily_share: float = 0.7) -> tuple[WatchdogAlert | None, datetime | None]:
    """Report a rule that usually matches daily and has been silent for ``silence``, once.

    "Usually daily": over the ``history`` before its last match (or since its
    first match, if that is shorter but at least ``min_days``), the rule
    matched on at least ``daily_share`` of the days. ``reported_for`` is what
    the previous call returned; store the returned value (the time of the
    last match the silence was reported after, or None). Never raises on
    valid input.
    """
    if not match_times:
        return None, reported_for
    last = max(match_times)
    if now - last < silence:
        return None, None  # matching again: a later silence is reported anew
    if reported_for == last:
        return None, reported_for
    start = max(min(match_times), last - history)
    span_days = (last.date() - start.date()).days + 1
    if span_days < min_days:
        return None, reported_for
    days = {t.date() for t in match_times if t >= start}
    if len(days) / span_days < daily_share:
        return None, reported_for
    alert = WatchdogAlert(rule, "rule_silent",
                          f"rule {rule} matched on {len(days)} of {span_days} days until {last:%Y-%m-%d}, "
                          f"and nothing for {_human(now - last)}")
    return alert, last


def _human(d: timedelta) -> str:
    s = int(d.total_seconds())
    if s >= 2 * 86400:
        return f"{s / 86400:.1f} days"
    if s >= 2 * 3600:
        return f"{s / 3600:.1f} hours"
    return f"{max(s // 60, 1)} minutes"

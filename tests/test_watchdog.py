"""The watchdog reports a broken or silent feed, and a silent rule, once: not once per poll."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from monitor.core.watchdog import FeedHealth, WatchdogState, cadence, feed_alerts, rule_silence

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
POLL = timedelta(minutes=15)


def hourly(n, start=T0):
    return [start + timedelta(hours=h) for h in range(n)]


def poll_many(healths, start):
    """Run the watchdog after each poll; return every alert with its poll number."""
    state, out = None, []
    for i, h in enumerate(healths):
        alerts, state = feed_alerts(h, start + i * POLL, state=state)
        out += [(i, a) for a in alerts]
    return out, state


def test_a_feed_that_starts_answering_410_is_reported_once():
    times = hourly(48)
    now = times[-1]
    ok = [FeedHealth("lemonde", 0, 200, article_times=times)] * 4
    gone = [FeedHealth("lemonde", n, 410, last_error="HTTP 410 Gone", article_times=times) for n in range(1, 40)]
    alerts, state = poll_many(ok + gone, now)
    assert [(i, a.kind) for i, a in alerts] == [(4, "permanent")]
    assert "410" in alerts[0][1].message and "lemonde" in alerts[0][1].message
    assert state == WatchdogState(frozenset({"permanent"}))


def test_a_feed_that_goes_silent_is_reported_once():
    times = hourly(72)  # one article an hour for three days
    start = times[-1] + POLL
    health = FeedHealth("reuters", 0, 200, article_times=times)
    alerts, _ = poll_many([health] * (4 * 48), start)  # two more days of polls, nothing new
    assert [a.kind for _, a in alerts] == ["quiet"]
    i, a = alerts[0]
    # Usually hourly: reported after hours, not after days, and not at the first empty poll.
    assert timedelta(hours=2) < i * POLL <= timedelta(hours=7), i
    assert "reuters" in a.message and "usually every" in a.message


def test_a_feed_with_nightly_pauses_is_not_quiet_at_night():
    # Every 30 minutes from 07:00 to 22:00, for two weeks.
    times = [T0 + timedelta(days=d, hours=7, minutes=30 * k) for d in range(14) for k in range(31)]
    assert cadence(times).median_gap == timedelta(minutes=30)
    night = T0 + timedelta(days=14, hours=5)  # 7 hours after the last article
    alerts, _ = feed_alerts(FeedHealth("night", 0, 200, article_times=times), night)
    assert alerts == []


def test_failing_polls_are_reported_once_after_n_and_recovery_once():
    times = hourly(48)
    healths = [FeedHealth("flaky", n, 503, last_error="HTTP 503", article_times=times) for n in range(1, 12)]
    healths += [FeedHealth("flaky", 0, 200, article_times=times + [times[-1] + timedelta(hours=3)])] * 3
    alerts, state = poll_many(healths, times[-1])
    assert [(i, a.kind) for i, a in alerts] == [(4, "failing"), (11, "recovered")]
    assert "5 polls in a row" in alerts[0][1].message
    assert state == WatchdogState()


def test_failing_that_turns_permanent_says_so_once_and_a_blip_is_no_recovery():
    h = [FeedHealth("x", n, 500) for n in range(1, 6)] + [FeedHealth("x", 6, 404)]
    h += [FeedHealth("x", 7, 500), FeedHealth("x", 8, 404)]
    alerts, _ = poll_many(h, T0)
    assert [a.kind for _, a in alerts] == ["failing", "permanent"]


def test_a_page_that_is_not_a_feed_is_permanent():
    alerts, _ = feed_alerts(FeedHealth("blog", 1, 200, not_a_feed=True), T0)
    assert [a.kind for a in alerts] == ["permanent"] and "not a feed" in alerts[0].message


def test_too_little_history_has_no_cadence_and_no_quiet_alert():
    assert cadence(hourly(3)) is None
    alerts, _ = feed_alerts(FeedHealth("new", 0, 200, article_times=hourly(3)), T0 + timedelta(days=30))
    assert alerts == []


def test_a_daily_rule_silent_for_a_week_is_reported_once():
    matches = [T0 + timedelta(days=d, hours=9) for d in range(30)]
    last = matches[-1]
    reported, fired = None, []
    for hour in range(24 * 12):
        now = last + timedelta(hours=hour)
        alert, reported = rule_silence("otan-nato", matches, now, reported_for=reported)
        if alert:
            fired.append((now - last, alert))
    assert len(fired) == 1
    after, alert = fired[0]
    assert after == timedelta(days=7) and alert.kind == "rule_silent" and "otan-nato" in alert.message
    # It matches again, then goes silent again: a new report.
    matches2 = matches + [last + timedelta(days=9)]
    alert, reported = rule_silence("otan-nato", matches2, last + timedelta(days=10), reported_for=reported)
    assert alert is None and reported is None
    alert, _ = rule_silence("otan-nato", matches2, last + timedelta(days=17), reported_for=reported)
    assert alert is not None


def test_a_rule_that_fires_now_and_then_is_never_reported():
    matches = [T0 + timedelta(days=d) for d in range(0, 60, 5)]
    alert, _ = rule_silence("rare", matches, matches[-1] + timedelta(days=30))
    assert alert is None

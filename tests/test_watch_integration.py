"""The watchdog and spike alerts on a real store: each thing said once, to the right channel."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from support.fakes import RecordingNotifier

from monitor import pipeline
from monitor.config import FeedSpec
from monitor.core.rules import parse_rules
from monitor.core.types import Article, Hit, Match

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=timezone.utc)


def feeds(store, *names):
    return store.sync_feeds([FeedSpec(url=f"https://{n}.example.org/rss", name=n) for n in names],
                            default_interval=600)


def test_a_feed_that_starts_answering_410_is_reported_once(store):
    ids = feeds(store, "gone", "fine")
    n = RecordingNotifier()
    for i in range(6):  # six polls, each one 410
        now = T0 + timedelta(minutes=10 * i)
        store.record_poll_failure(ids["https://gone.example.org/rss"], "HTTP 410 Gone", status=410, now=now)
        store.record_poll(ids["https://fine.example.org/rss"], status=304, now=now)
        pipeline.run_watchdog(store=store, notifier=n, ops_channel="ops", now=now)
    assert len(n.sent) == 1
    channel, msg = n.sent[0]
    assert channel == "ops" and "gone" in msg.body and "410" in msg.body and "fine" not in msg.body


def test_a_feed_that_goes_silent_is_reported_once(store):
    ids = feeds(store, "hourly")
    fid = ids["https://hourly.example.org/rss"]
    n = RecordingNotifier()
    for h in range(72):  # an article every hour for three days
        t = T0 + timedelta(hours=h)
        store.record_poll(fid, status=200, now=t,
                          articles=[Article(f"a{h}", f"https://hourly.example.org/{h}", f"T{h}", "x")])
    last = T0 + timedelta(hours=71)
    for h in range(1, 30):  # then polls that bring nothing
        now = last + timedelta(hours=h)
        store.record_poll(fid, status=304, now=now)
        pipeline.run_watchdog(store=store, notifier=n, ops_channel="ops", now=now)
    assert len(n.sent) == 1 and "quiet" in n.sent[0][1].body


def test_without_an_ops_channel_watchdog_alerts_are_logged(store, caplog):
    ids = feeds(store, "gone")
    store.record_poll_failure(ids["https://gone.example.org/rss"], "HTTP 404", status=404, now=T0)
    alerts = pipeline.run_watchdog(store=store, notifier=None, ops_channel=None, now=T0)
    assert len(alerts) == 1 and "404" in caplog.text


def _matches_per_hour(store, fid, counts, start):
    k = 0
    for h, c in enumerate(counts):
        t = start + timedelta(hours=h, minutes=5)
        arts = [Article(f"{start:%j%H}-{k + j}", f"https://x.example.org/{start:%j%H}/{k + j}", f"OTAN {k + j}", "x")
                for j in range(c)]
        k += c
        ids = store.record_poll(fid, status=200, now=t, articles=arts)
        store.record_matches({i: [Match("otan", ("OTAN",), (Hit("title", 0, 4, "OTAN"),), ("desk",))]
                              for i in ids}, now=t)


RULES = parse_rules("rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n    spike_alerts: true\n", "r.yaml")


def test_a_burst_fires_one_spike_alert_and_a_steady_stream_none(store):
    fid = feeds(store, "wire")["https://wire.example.org/rss"]
    RULES_DESK = [r.model_copy(update={"channels": ("desk",)}) for r in RULES]
    steady = [2, 3, 1, 2, 4, 2, 3, 2] * 9  # three days, about 2 an hour
    _matches_per_hour(store, fid, steady, T0)
    n = RecordingNotifier()
    for h in range(len(steady) - 24, len(steady) + 1):  # a day of steady hours: nothing
        assert pipeline.run_spikes(store=store, notifier=n, rules=RULES_DESK,
                                   now=T0 + timedelta(hours=h)) == []
    _matches_per_hour(store, fid, [40, 45], T0 + timedelta(hours=len(steady)))  # a two-hour burst
    fired = [pipeline.run_spikes(store=store, notifier=n, rules=RULES_DESK,
                                 now=T0 + timedelta(hours=len(steady) + h)) for h in (1, 1, 2)]
    assert fired == [["otan"], [], []]
    [(channel, msg)] = n.sent
    assert channel == "desk" and "40 matches" in msg.body and "[spike]" in msg.title

"""Digest, throttle and quiet hours: held alerts go out together, none lost, none twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from support.fakes import RecordingNotifier

from monitor import pipeline
from monitor.config import ChannelSpec, FeedSpec
from monitor.core.schedule import in_quiet_hours, parse_quiet_hours, parse_schedule
from monitor.adapters.store import Store
from monitor.core.types import Article, Hit, Match

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday, 10:00 in Paris


class RuleStub:
    """A matcher whose rules match by title prefix: 'otan: ...' matches rule otan."""

    def __init__(self, policies):
        self.policies = policies  # rule -> (delivery, per_hour, channels)

    def match(self, doc):
        rule = doc.title.split(":")[0]
        if rule not in self.policies:
            return []
        delivery, per_hour, channels = self.policies[rule]
        return [Match(rule=rule, terms=(rule,), hits=(Hit("title", 0, len(rule), rule),),
                      channels=channels, delivery=delivery, per_hour=per_hour)]


Notifier = RecordingNotifier


@pytest.fixture
def store(db_url):
    s = Store.open(db_url)
    s.fid = s.sync_feeds([FeedSpec(url="https://example.org/f.rss", name="F")],
                         default_interval=60)["https://example.org/f.rss"]
    yield s
    s.close()


def ingest(store, titles, now):
    arts = [Article(dedup_key=f"k{i}-{t}", url=f"https://example.org/{i}-{abs(hash(t))}", title=t, text="x",
                    published=now - timedelta(minutes=len(titles) - i)) for i, t in enumerate(titles)]
    return store.record_poll(store.fid, status=200, articles=arts, now=now)


def test_a_digest_window_of_50_matches_for_3_rules_is_one_message_with_counts(store):
    rules = RuleStub({r: ("digest", None, ("desk",)) for r in ("otan", "ukraine", "climat")})
    titles = [f"otan: {i}" for i in range(25)] + [f"ukraine: {i}" for i in range(15)] + \
             [f"climat: {i}" for i in range(10)]
    channels = {"desk": ChannelSpec(url="json://x", digest="hourly")}
    ids = ingest(store, titles, T0)
    assert pipeline.match_articles(ids, store=store, matcher=rules, channels=channels, now=T0) == []
    assert pipeline.due_digests(store=store, channels=channels, now=T0 + timedelta(minutes=30)) == []
    [digest] = pipeline.due_digests(store=store, channels=channels, now=T0 + timedelta(minutes=61))
    n = Notifier()
    pipeline.deliver_digest(digest, store=store, notifier=n)
    [(channel, msg)] = n.sent
    assert channel == "desk"
    assert "50" in msg.title
    for rule, count in (("otan", 25), ("ukraine", 15), ("climat", 10)):
        assert f"{rule}: {count}" in msg.body
    # the newest first
    assert msg.body.index("otan: 24") < msg.body.index("otan: 0") or "otan: 24" in msg.body
    assert store.counts()["deliveries_sent"] == 50
    # sent once: nothing held, nothing to send again
    assert pipeline.due_digests(store=store, channels=channels, now=T0 + timedelta(hours=3)) == []
    assert pipeline.deliver_digest(digest, store=store, notifier=n).ok and len(n.sent) == 1


def test_a_throttle_of_5_per_hour_sends_5_and_carries_15_into_the_digest(store):
    rules = RuleStub({"otan": ("throttle", 5, ("chat",))})
    channels = {"chat": ChannelSpec(url="json://x", digest="every 30m")}
    ids = ingest(store, [f"otan: {i}" for i in range(20)], T0)
    now_ids = pipeline.match_articles(ids, store=store, matcher=rules, channels=channels, now=T0)
    assert len(now_ids) == 5
    n = Notifier()
    for d in now_ids:
        pipeline.deliver(d, store=store, notifier=n)
    [digest] = pipeline.due_digests(store=store, channels=channels, now=T0 + timedelta(minutes=31))
    pipeline.deliver_digest(digest, store=store, notifier=n)
    assert len(n.sent) == 6
    assert "15" in n.sent[-1][1].title and "otan: 15" in n.sent[-1][1].body
    assert store.counts()["deliveries_sent"] == 20


def test_throttle_budget_is_per_hour(store):
    rules = RuleStub({"otan": ("throttle", 2, ("chat",))})
    channels = {"chat": ChannelSpec(url="json://x")}
    first = pipeline.match_articles(ingest(store, ["otan: a", "otan: b", "otan: c"], T0), store=store,
                                    matcher=rules, channels=channels, now=T0)
    later = T0 + timedelta(minutes=61)
    arts = [Article(dedup_key="late", url="https://example.org/late", title="otan: late", text="x")]
    second = pipeline.match_articles(store.record_poll(store.fid, status=200, articles=arts, now=later),
                                     store=store, matcher=rules, channels=channels, now=later)
    assert len(first) == 2 and len(second) == 1


def test_quiet_hours_hold_alerts_then_send_them_as_one_digest(store):
    rules = RuleStub({"otan": ("immediate", None, ("phone",))})
    channels = {"phone": ChannelSpec(url="json://x", quiet_hours="22:00-07:00", digest="daily 08:00")}
    night = datetime(2026, 3, 2, 23, 30, tzinfo=timezone.utc)  # 00:30 in Paris
    ids = ingest(store, ["otan: nuit 1", "otan: nuit 2"], night)
    assert pipeline.match_articles(ids, store=store, matcher=rules, channels=channels, tz="Europe/Paris",
                                   now=night) == []
    assert pipeline.due_digests(store=store, channels=channels, tz="Europe/Paris",
                                now=night + timedelta(hours=2)) == []
    morning = datetime(2026, 3, 3, 6, 5, tzinfo=timezone.utc)  # 07:05 in Paris
    [digest] = pipeline.due_digests(store=store, channels=channels, tz="Europe/Paris", now=morning)
    n = Notifier()
    pipeline.deliver_digest(digest, store=store, notifier=n, tz="Europe/Paris")
    assert len(n.sent) == 1 and "nuit 1" in n.sent[0][1].body and "nuit 2" in n.sent[0][1].body


def test_a_channel_in_digest_mode_overrides_immediate_rules(store):
    rules = RuleStub({"otan": ("immediate", None, ("email", "chat"))})
    channels = {"email": ChannelSpec(url="json://x", mode="digest"), "chat": ChannelSpec(url="json://y")}
    now_ids = pipeline.match_articles(ingest(store, ["otan: 1"], T0), store=store, matcher=rules,
                                      channels=channels, now=T0)
    assert len(now_ids) == 1 and store.held()["email"][1] == {"digest"}


@pytest.mark.parametrize("text,minutes,at", [("hourly", 60, None), ("every 30m", 30, None),
                                             ("every 2h", 120, None), ("daily 08:00", None, "08:00")])
def test_schedules_parse(text, minutes, at):
    s = parse_schedule(text)
    assert s.minutes == minutes and (s.at.strftime("%H:%M") if s.at else None) == at


@pytest.mark.parametrize("bad", ["weekly", "every 0m", "daily 25:00", ""])
def test_bad_schedules_say_what_is_accepted(bad):
    with pytest.raises(ValueError, match="hourly|at least"):
        parse_schedule(bad)


def test_daily_digest_is_due_once_its_time_has_passed():
    s = parse_schedule("daily 08:00")
    held = datetime(2026, 3, 2, 5, 0, tzinfo=timezone.utc)  # 06:00 Paris
    assert not s.due(held, datetime(2026, 3, 2, 6, 30, tzinfo=timezone.utc), "Europe/Paris")  # 07:30
    assert s.due(held, datetime(2026, 3, 2, 7, 1, tzinfo=timezone.utc), "Europe/Paris")  # 08:01


def test_quiet_hours_wrap_past_midnight():
    span = parse_quiet_hours("22:00-07:00")
    assert in_quiet_hours(span, datetime(2026, 3, 2, 23, 0, tzinfo=timezone.utc))
    assert in_quiet_hours(span, datetime(2026, 3, 2, 6, 59, tzinfo=timezone.utc))
    assert not in_quiet_hours(span, datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc))
    assert not in_quiet_hours(span, datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc))

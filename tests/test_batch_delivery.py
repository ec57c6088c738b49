"""Deliveries sent in batches (monitor.pipeline.deliver_many) to real HTTP receivers on loopback:
one failing channel fails only its own deliveries, and a batch sent twice sends each alert once."""

from __future__ import annotations

import pytest

from monitor import pipeline
from monitor.config import FeedSpec
from monitor.core.matching import compile_rules
from monitor.adapters.notify import AppriseNotifier
from monitor.core.rules import parse_rules
from monitor.adapters.store import Store
from support.fakes import FakeFetcher
from support.http import Receiver
from support.samples import article_rss

RULES = """
rules:
  - name: otan
    keywords: {any: [OTAN]}
    channels: [good, bad]
  - name: ukraine
    keywords: {any: [ukrain*]}
    channels: [good, bad]
"""


@pytest.fixture
def receivers():
    good, bad = Receiver(), Receiver()
    yield good, bad
    good.close()
    bad.close()


def _pending(db_url, good, bad):
    store = Store.open(db_url)
    fid = store.sync_feeds([FeedSpec(url="https://news.example.org/rss", name="News")],
                           default_interval=60)["https://news.example.org/rss"]
    out = pipeline.poll_feed(fid, store=store, fetcher=FakeFetcher().serve_any(article_rss(link="https://news.example.org/a")))
    matcher = compile_rules(parse_rules(RULES, "rules.yaml", channels=["good", "bad"]))
    ids = pipeline.match_articles(out.new_article_ids, store=store, matcher=matcher)
    assert len(ids) == 4
    return store, ids, AppriseNotifier({"good": good.url, "bad": bad.url})


def _status(store):
    return {(d.rule, d.channel): (d.status, d.attempts) for d in store.list_deliveries()}


def test_a_failing_channel_fails_only_its_own_deliveries_in_a_batch(db_url, receivers):
    good, bad = receivers
    store, ids, notifier = _pending(db_url, good, bad)
    bad.status = 500
    out = pipeline.deliver_many(ids, store=store, notifier=notifier, max_workers=4)
    assert len(out.sent) == 2 and len(out.failed) == 2 and not out.skipped and not out.left
    assert len(good.posts) == 2 and bad.attempts == 2 and bad.posts == []
    assert _status(store) == {("otan", "good"): ("sent", 1), ("ukraine", "good"): ("sent", 1),
                              ("otan", "bad"): ("failed", 1), ("ukraine", "bad"): ("failed", 1)}
    assert all("500" in d.last_error for d in store.list_deliveries(status="failed"))
    # The retry carries only the failed ones; sending the whole batch again changes nothing more.
    bad.status = 200
    again = pipeline.deliver_many(ids, store=store, notifier=notifier)
    assert sorted(again.sent) == sorted(i for i, _ in out.failed) and sorted(again.skipped) == sorted(out.sent)
    assert len(good.posts) == 2 and good.attempts == 2  # never sent twice
    assert len(bad.posts) == 2
    assert {s for s, _ in _status(store).values()} == {"sent"}


def test_the_last_attempt_makes_the_failing_ones_dead(db_url, receivers):
    good, bad = receivers
    store, ids, notifier = _pending(db_url, good, bad)
    bad.status = 500
    out = pipeline.deliver_many(ids, store=store, notifier=notifier, final_attempt=True)
    assert len(out.failed) == 2
    assert sorted(d.channel for d in store.list_deliveries(status="dead")) == ["bad", "bad"]
    assert store.counts()["deliveries_sent"] == 2
    # Dead deliveries are not taken again.
    assert pipeline.deliver_many(ids, store=store, notifier=notifier).sent == ()
    assert bad.attempts == 2


def test_a_batch_delivered_twice_sends_each_alert_once(db_url, receivers):
    good, bad = receivers
    store, ids, notifier = _pending(db_url, good, bad)
    first = pipeline.deliver_many(ids, store=store, notifier=notifier)
    second = pipeline.deliver_many(list(reversed(ids)) + ids, store=store, notifier=notifier)
    assert len(first.sent) == 4 and second.sent == () and sorted(second.skipped) == sorted(ids)
    assert len(good.posts) == 2 and len(bad.posts) == 2
    assert good.attempts == 2 and bad.attempts == 2


def test_deliveries_left_sending_by_a_live_sender_are_not_taken(db_url, receivers):
    """Another worker holds them (``sending`` within its lease): this batch leaves them alone."""
    good, bad = receivers
    store, ids, notifier = _pending(db_url, good, bad)
    assert store.claim_deliveries(ids[:2]) == set(ids[:2])
    out = pipeline.deliver_many(ids, store=store, notifier=notifier)
    assert sorted(out.skipped) == sorted(ids[:2]) and sorted(out.sent) == sorted(ids[2:])
    assert len(good.posts) + len(bad.posts) == 2

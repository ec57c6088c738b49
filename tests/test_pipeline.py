"""The orchestration with a fake fetcher and notifier, on a real SQLite store."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from monitor import pipeline
from monitor.config import FeedSpec
from monitor.core.errors import DeliveryError, FetchError
from monitor.core.matching import compile_rules
from monitor.core.rules import parse_rules
from monitor.service import RuleSource
from monitor.adapters.store import Store
from support.fakes import FakeFetcher, RecordingNotifier
from support.samples import article_rss

RULES = """
rules:
  - name: otan
    keywords: {any: [OTAN, NATO]}
    channels: [hook, mail]
  - name: climat
    keywords: {any: [climat]}
    channels: [hook]
"""


FORMATS = {"hook": "text", "mail": "html"}  # the fake notifier's body format per channel
A, B = "https://a.example.org/feed.rss", "https://b.example.org/feed.rss"


@pytest.fixture
def store(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path / 'm.sqlite'}")
    ids = s.sync_feeds([FeedSpec(url=A, name="Feed A"), FeedSpec(url=B, name="Feed B")], default_interval=60)
    s.ids = ids
    yield s
    s.close()


@pytest.fixture
def matcher():
    return compile_rules(parse_rules(RULES, "rules.yaml", channels=["hook", "mail"]))


def test_new_articles_are_stored_once_whatever_the_feed_does(store):
    f = FakeFetcher().serve(A, article_rss(link="https://x.example.org/a?utm_source=rss"))
    first = pipeline.poll_feed(store.ids[A], store=store, fetcher=f)
    assert len(first.new_article_ids) == 1 and first.error is None
    again = pipeline.poll_feed(store.ids[A], store=store, fetcher=f)
    assert again.new_article_ids == () and again.skipped == "unchanged body"
    f.serve(A, article_rss(link="https://x.example.org/a", build_date="Tue, 25 Jan 2022 10:00:00 GMT"))
    changed = pipeline.poll_feed(store.ids[A], store=store, fetcher=f)
    assert changed.new_article_ids == () and changed.skipped is None
    assert store.counts()["articles"] == 1


def test_conditional_get_uses_the_stored_etag(store):
    f = FakeFetcher().serve(A, article_rss(link="https://x.example.org/a"), etag='"v1"')
    pipeline.poll_feed(store.ids[A], store=store, fetcher=f)
    out = pipeline.poll_feed(store.ids[A], store=store, fetcher=f)
    assert f.calls[-1][1] == '"v1"' and out.skipped == "not modified"


def test_one_failing_feed_never_stops_the_others(store):
    f = (FakeFetcher().fail(A, FetchError("connection refused", url=A))
         .serve(B, article_rss(link="https://x.example.org/b")))
    bad = pipeline.poll_feed(store.ids[A], store=store, fetcher=f)
    good = pipeline.poll_feed(store.ids[B], store=store, fetcher=f)
    assert "connection refused" in bad.error and len(good.new_article_ids) == 1
    health = {r.url: r for r in store.list_feeds()}
    assert health[A].consecutive_failures == 1 and "connection refused" in health[A].last_error
    assert health[B].consecutive_failures == 0 and health[B].articles_seen == 1


def test_a_page_that_is_not_a_feed_is_recorded_as_a_failure(store):
    f = FakeFetcher().serve(A, b"<html><body>Moved to our new site</body></html>")
    out = pipeline.poll_feed(store.ids[A], store=store, fetcher=f)
    assert out.error and out.url in out.error
    assert "\n" not in store.list_feeds()[0].last_error


def _matched(store, matcher):
    f = FakeFetcher().serve(A, article_rss(link="https://x.example.org/a?utm_source=rss"))
    ids = pipeline.poll_feed(store.ids[A], store=store, fetcher=f).new_article_ids
    return pipeline.match_articles(ids, store=store, matcher=matcher)


def test_matches_become_one_delivery_per_rule_and_channel(store, matcher):
    deliveries = _matched(store, matcher)
    assert len(deliveries) == 2  # otan -> hook, mail; climat does not match
    n = RecordingNotifier(FORMATS)
    for d in deliveries:
        pipeline.deliver(d, store=store, notifier=n, tz="Europe/Paris")
    by_channel = dict(n.sent)
    assert by_channel["mail"].body_format == "html" and "<mark>OTAN</mark>" in by_channel["mail"].body
    assert "https://x.example.org/a" in by_channel["hook"].body and "utm_source" not in by_channel["hook"].body
    assert "otan" in by_channel["hook"].title
    # re-matching and re-delivering sends nothing twice
    assert pipeline.match_articles([1], store=store, matcher=matcher) == []
    for d in deliveries:
        assert pipeline.deliver(d, store=store, notifier=n).reason == "already sent"
    assert len(n.sent) == 2


def test_a_refused_delivery_is_failed_then_dead_with_the_reason(store, matcher):
    d = _matched(store, matcher)[0]
    n = RecordingNotifier(FORMATS)
    n.failing["hook"] = "HTTP 500 from receiver"
    n.failing["mail"] = "HTTP 500 from receiver"
    with pytest.raises(DeliveryError, match="HTTP 500"):
        pipeline.deliver(d, store=store, notifier=n)
    assert store.list_deliveries(status="failed")[0].last_error == "HTTP 500 from receiver"
    with pytest.raises(DeliveryError):
        pipeline.deliver(d, store=store, notifier=n, final_attempt=True)
    [dead] = store.list_deliveries(status="dead")
    assert dead.attempts == 2
    n.failing.clear()
    store.requeue_deliveries(status="dead")
    assert pipeline.deliver(d, store=store, notifier=n).ok and len(n.sent) == 1


def test_edited_rules_apply_and_broken_edits_keep_the_last_good_set(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    source = RuleSource(path, ["hook", "mail"])
    assert [r.name for r in source.matcher().rules] == ["otan", "climat"]
    path.write_text(RULES.replace("climat]", "climat, COP30]").replace("name: climat", "name: climate"))
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert [r.name for r in source.matcher().rules] == ["otan", "climate"]
    path.write_text("rules:\n  - name: broken\n    keywords: {any: []}\n")
    os.utime(path, (time.time() + 10, time.time() + 10))
    assert [r.name for r in source.matcher().rules] == ["otan", "climate"]


HEADLINE_ONLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Depeches</title><link>https://c.example.org/</link>
<item><title>Sommet de l'OTAN</title><link>https://c.example.org/sommet</link><guid>s1</guid></item>
</channel></rss>"""
PAGE = ("<html><head><title>Sommet</title></head><body><nav>Accueil | Monde | Sport</nav><article>"
        "<h1>Sommet de l'OTAN</h1>" + "<p>Les dirigeants de l’Alliance se réunissent à Vilnius pour discuter "
        "de l’adhésion de l’Ukraine et du soutien militaire à Kiev.</p>" * 5 +
        "</article><footer>Mentions légales</footer></body></html>").encode("utf-8")


def test_full_text_is_fetched_for_headline_only_feeds(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'm.sqlite'}")
    url = "https://c.example.org/feed.rss"
    fid = store.sync_feeds([FeedSpec(url=url, name="C", fulltext=True)], default_interval=60)[url]
    f = FakeFetcher().serve(url, HEADLINE_ONLY).serve("https://c.example.org/sommet", PAGE)
    [aid] = pipeline.poll_feed(fid, store=store, fetcher=f).new_article_ids
    [article] = store.articles([aid])
    assert "adhésion de l’Ukraine" in article.text and "Mentions légales" not in article.text
    m = compile_rules(parse_rules("rules:\n  - name: u\n    keywords: {any: [Ukraine]}\n", "r.yaml"))
    assert [x.rule for x in m.match(article.document())] == ["u"]


def test_full_text_failure_keeps_the_feed_text(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'm.sqlite'}")
    url = "https://c.example.org/feed.rss"
    fid = store.sync_feeds([FeedSpec(url=url, name="C", fulltext=True)], default_interval=60)[url]
    f = (FakeFetcher().serve(url, HEADLINE_ONLY)
         .fail("https://c.example.org/sommet", FetchError("HTTP 404", url="https://c.example.org/sommet")))
    out = pipeline.poll_feed(fid, store=store, fetcher=f)
    assert len(out.new_article_ids) == 1 and out.error is None
    assert store.articles(list(out.new_article_ids))[0].title == "Sommet de l'OTAN"


def test_a_batch_of_feeds_polls_each_once_even_when_one_fails(store):
    f = (FakeFetcher().fail(A, FetchError("timed out", url=A))
         .serve(B, article_rss(link="https://x.example.org/b")))
    outs = pipeline.poll_feeds([store.ids[A], store.ids[B]], store=store, fetcher=f, max_workers=4)
    assert [o.url for o in outs] == [A, B]
    assert outs[0].error and len(outs[1].new_article_ids) == 1
    assert sorted(c[0] for c in f.calls) == [A, B]

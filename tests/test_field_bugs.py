"""Field bugs found end to end (issue 19, finding 6), each through the real store and pipeline.

- Two feeds carrying one article in one poll batch: the first stored copy is the article,
  for every reader of it (the poll's outcome, ``feeds list``, the stored row, the alert).
- An entity rule's alert lists the words of the article that matched, not ``entity:ukraine``.
- A delivery being sent has its claim renewed by its sender, so that one left ``sending`` by
  a dead sender is taken over soon, whatever the lease (the real worker processes killed
  mid-send are in tests/test_faults.py).
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest

from monitor import pipeline
from monitor.core import render
from monitor.config import FeedSpec
from monitor.core.matching import compile_rules
from monitor.core.rules import parse_rules
from support.fakes import FakeFetcher, RecordingNotifier
from support.procs import wait_for
from support.samples import ARTICLE_TITLE, SAMPLE_BODY, article_rss


def one_item_rss(*, feed: str, guid: str, link: str, title: str, published: datetime) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{feed}</title><link>https://example.org/</link>
<description>t</description><language>en</language>
<item><title>{escape(title)}</title><link>{escape(link)}</link><guid isPermaLink="false">{guid}</guid>
<pubDate>{format_datetime(published, usegmt=True)}</pubDate>
<description>NATO ministers met in Brussels on Tuesday to discuss air defence.</description></item>
</channel></rss>""".encode()


A, B = "https://a.example.org/feed.rss", "https://b.example.org/feed.rss"
FIRST = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)  # the first feed's copy
SECOND = datetime(2026, 3, 2, 11, 45, tzinfo=timezone.utc)  # the second feed's copy, later
RULES = """
rules:
  - name: nato
    keywords: {any: [NATO]}
    channels: [hook]
"""


def test_an_article_two_feeds_carry_in_one_batch_is_the_first_feeds_copy_everywhere(store):
    ids = store.sync_feeds([FeedSpec(url=A, name="Feed A"), FeedSpec(url=B, name="Feed B")],
                           default_interval=60)
    link = "https://wire.example.org/2026/03/02/nato-air-defence"
    fetcher = FakeFetcher({
        A: one_item_rss(feed="Feed A", guid="a-1", link=link, title="NATO steps up air defence", published=FIRST),
        B: one_item_rss(feed="Feed B", guid="b-77", link=link, title="NATO steps up air defence",
                        published=SECOND)})
    out = {o.url: o for o in pipeline.poll_feeds([ids[A], ids[B]], store=store, fetcher=fetcher, max_workers=1)}
    # Credited to the first feed: the poll's new article (what the worker logs) and feeds list.
    [aid] = out[A].new_article_ids
    assert out[B].new_article_ids == ()
    assert {f.name: f.articles_seen for f in store.list_feeds()} == {"Feed A": 1, "Feed B": 0}
    assert store.sources(aid) == ["Feed A", "Feed B"]
    # The stored row is that copy too: its feed and its publication time.
    [article] = store.articles([aid])
    assert (article.feed, article.published) == ("Feed A", FIRST)
    # And so is the alert.
    matcher = compile_rules(parse_rules(RULES, "rules.yaml", channels=["hook"]))
    [d] = pipeline.match_articles([aid], store=store, matcher=matcher)
    alert = store.delivery_job(d).alert
    assert (alert.feed, alert.published) == ("Feed A", FIRST)
    notifier = RecordingNotifier()
    pipeline.deliver(d, store=store, notifier=notifier)
    [(_, sent)] = notifier.sent
    assert "Feed: Feed A\n" in sent.body and "Published: 2026-03-02 09:30 UTC\n" in sent.body, sent.body


# -- entity alerts -------------------------------------------------------------------------

SAMPLE_TITLE, SAMPLE_TEXT = ARTICLE_TITLE, SAMPLE_BODY
ENTITY_RULES = """
rules:
  - name: ukraine-entity
    entities: [ukraine]
    channels: [hook]
  - name: tensions
    query: '("risque réel" NEAR/5 conflit OR entity:nato) AND entity:ukraine AND NOT title:sport'
    channels: [hook]
"""


def mentions(pattern: str) -> list[str]:
    """What ``pattern`` finds in the sample's title, then its text: distinct, in order."""
    return list(dict.fromkeys(re.findall(pattern, SAMPLE_TITLE) + re.findall(pattern, SAMPLE_TEXT)))


def test_an_entity_alert_lists_the_words_of_the_article_that_matched(tmp_path):
    from monitor.adapters.store import Store

    # The Ukraine entity of rules/entities.yaml: "Ukraine" and the French forms, inflected.
    words = mentions(r"\b[Uu]krain\w*")
    assert {"Ukraine", "ukrainienne"} <= set(words)
    store = Store.open(f"sqlite:///{tmp_path / 'm.sqlite'}")
    try:
        ids = store.sync_feeds([FeedSpec(url=A, name="Actualités Monde")], default_interval=60)
        fetcher = FakeFetcher({A: article_rss(link="https://example.org/otan-ukraine")})
        new = pipeline.poll_feed(ids[A], store=store, fetcher=fetcher).new_article_ids
        matcher = compile_rules(parse_rules(ENTITY_RULES, "rules.yaml", channels=["hook"]))
        deliveries = pipeline.match_articles(new, store=store, matcher=matcher)
        alerts = {a.rule: a for a in (store.delivery_job(d).alert for d in deliveries)}
        assert alerts["ukraine-entity"].terms == tuple(words)
        # A query mixing terms and entities: its terms as the rule wrote them, the entities' as the article did.
        tensions = alerts["tensions"].terms
        assert '"risque réel"' in tensions and "conflit" in tensions and "OTAN" in tensions
        assert [t for t in tensions if t.lower().startswith("ukrain")] == words
        assert not [t for t in tensions if t.startswith("entity:")]
        for fmt in ("text", "markdown", "html"):
            body = render.render_alert(alerts["ukraine-entity"], fmt).body
            assert "entity:" not in body
        text = render.render_alert(alerts["ukraine-entity"], "text").body
        assert f"Terms: {', '.join(words)}\n" in text, text
        notifier = RecordingNotifier()
        for d in deliveries:
            pipeline.deliver(d, store=store, notifier=notifier)
        assert any(f"Terms: {', '.join(words)}\n" in sent.body for _, sent in notifier.sent)
    finally:
        store.close()


@pytest.mark.parametrize("accelerate", [True, False], ids=["hyperscan", "automaton"])
def test_entity_terms_are_the_mentions_on_both_engines_and_in_other_scripts(accelerate):
    from monitor.core.types import Document

    doc = Document(title=SAMPLE_TITLE, text=SAMPLE_TEXT, language="fr")
    rules = parse_rules("rules:\n  - name: p\n    query: 'entity:putin'\n    channels: [hook]\n", "r.yaml",
                        channels=["hook"])
    [m] = compile_rules(rules, accelerate=accelerate).match(doc)
    # "Vladimir Poutine" is one mention; the hits keep the rule's term.
    assert m.terms == tuple(mentions(r"(?:Vladimir )?Poutine"))
    assert {h.term for h in m.hits} == {"entity:putin"}
    text = "Генсек НАТО заявил, что Путин не победит. Œuvre de l’OTAN."
    rules = parse_rules("rules:\n  - name: q\n    query: 'entity:nato OR entity:putin'\n    channels: [hook]\n",
                        "r.yaml", channels=["hook"])
    [m] = compile_rules(rules, accelerate=accelerate).match(Document(title="", text=text))
    assert m.terms == ("НАТО", "Путин", "OTAN")


# -- a delivery's claim while it is sent -----------------------------------------------------


@pytest.mark.parametrize("batch", [True, False], ids=["deliver_many", "deliver"])
def test_a_send_in_flight_keeps_renewing_its_claim_so_no_one_else_takes_it(store, batch):
    ids = store.sync_feeds([FeedSpec(url=A, name="Feed A")], default_interval=60)
    fetcher = FakeFetcher({A: one_item_rss(feed="Feed A", guid="a-1", link="https://wire.example.org/x",
                                       title="NATO steps up air defence", published=FIRST)})
    new = pipeline.poll_feed(ids[A], store=store, fetcher=fetcher).new_article_ids
    matcher = compile_rules(parse_rules(RULES, "rules.yaml", channels=["hook"]))
    [d] = pipeline.match_articles(new, store=store, matcher=matcher)
    # A lease of an hour, a heartbeat of 0.2 s: the claim lapses 0.6 s after its last renewal.
    claims = {"lease": timedelta(hours=1), "heartbeat": timedelta(seconds=0.2)}
    notifier = RecordingNotifier(held=True)  # each send held until notifier.release is set
    if batch:
        run = lambda: pipeline.deliver_many([d], store=store, notifier=notifier, timeout=60, **claims)  # noqa: E731
    else:
        run = lambda: pipeline.deliver(d, store=store, notifier=notifier, **claims)  # noqa: E731
    sender = threading.Thread(target=run)
    sender.start()
    try:
        assert notifier.started.wait(30)
        [row] = store.list_deliveries()
        claimed = row.updated_at
        # Renewed while the send is in flight, several times over the claim's own expiry...
        for _ in range(3):
            renewed = wait_for(lambda: (r := store.list_deliveries()[0]).updated_at > claimed and r, 30,
                               what="the claim renewed")
            assert renewed.status == "sending"
            claimed = renewed.updated_at
            # ... so neither another worker nor the sweeper takes it over meanwhile.
            assert store.claim_deliveries([d], **claims) == set()
            assert store.pending_work(timedelta(hours=2), sending_lease=claims["lease"],
                                      heartbeat=claims["heartbeat"]).sending_deliveries == []
    finally:
        notifier.release.set()
        sender.join(60)
    assert len(notifier.sent) == 1
    [row] = store.list_deliveries()
    assert (row.status, row.attempts) == ("sent", 1)

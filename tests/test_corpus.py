"""The whole generated corpus through the real poller, on a real SQLite store.

Every document is a feed of its own, served by a fake fetcher. Nothing may
escape ``poll_feed``; what is not a feed is a one-line error on the feed's
health row; and every entry feedparser sees in a document is either an
article or a rejection with a reason, and every distinct article is stored.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import datetime, timezone

import feedparser
import pytest

from monitor import pipeline
from monitor.config import FeedSpec
from monitor.core.feeds import parse_feed
from monitor.adapters.store import Store
from support.fakes import FakeFetcher
from support.feedcorpus import FEED, NOT_A_FEED, USABLE, CorpusDoc, corpus

NOW = datetime(2022, 1, 25, 12, 0, tzinfo=timezone.utc)
MOJIBAKE = re.compile("Ã|â€|Â|\ufffd")
MARKUP = re.compile(r"<[a-zA-Z/]|&(lt|gt|amp|quot|nbsp|#\d+|#x[0-9a-f]+);")


def _url(i: int, doc: CorpusDoc) -> str:
    return f"https://feeds{i % 7}.example.org/{doc.name}.xml"


def test_the_corpus_is_the_same_for_the_same_seed_and_covers_every_kind():
    a, b = corpus(seed=7, size=60), corpus(seed=7, size=60)
    assert [(d.name, d.body) for d in a] == [(d.name, d.body) for d in b]
    assert [d.body for d in corpus(seed=8, size=60)] != [d.body for d in a]
    docs = corpus()
    assert len(docs) == 300 and {d.kind for d in docs} == {FEED, USABLE, NOT_A_FEED}
    feats = Counter(f for d in docs for f in d.features)
    for needed in ("cdata", "xml-base", "relative-link", "duplicate", "no-guid", "no-link", "no-date",
                   "no-title", "odd-date", "html-title", "netscape-doctype", "enc-utf-16", "enc-cp1252",
                   "enc-iso-8859-1", "enc-utf-8-undeclared", "empty-entry", "truncated", "json", "empty"):
        assert feats[needed], needed
    heads = Counter(d.body.lstrip()[:5] for d in docs if d.kind == FEED)
    assert heads[b"\xff\xfe<\x00?"] or heads[b"\xfe\xff\x00<\x00"]  # UTF-16 with its BOM


def test_every_document_through_the_poller(tmp_path):
    docs = corpus()
    store = Store.open(f"sqlite:///{tmp_path / 'corpus.sqlite'}")
    try:
        urls = [_url(i, d) for i, d in enumerate(docs)]
        ids = store.sync_feeds([FeedSpec(url=u, name=d.name) for u, d in zip(urls, docs)], default_interval=900)
        fetcher = FakeFetcher()  # each document at its own URL, with its own Content-Type
        for u, d in zip(urls, docs):
            fetcher.serve(u, d.body, content_type=d.content_type)

        entries = stored = rejected = 0
        failed: list[str] = []
        problems: list[str] = []
        for url, doc in zip(urls, docs):
            outcome = pipeline.poll_feed(ids[url], store=store, fetcher=fetcher, now=NOW)  # must not raise
            if outcome.error:
                failed.append(f"{doc.name}: {outcome.error}")
                assert doc.kind == NOT_A_FEED, f"{doc.name} ({doc.kind}) failed: {outcome.error}"
                continue
            assert doc.kind != NOT_A_FEED, f"{doc.name} was taken for a feed"

            seen = feedparser.parse(io.BytesIO(doc.body)).entries
            parsed = parse_feed(doc.body, url=url, headers={"content-type": doc.content_type}, now=NOW)
            assert len(seen) == len(parsed.articles) + len(parsed.rejected), doc.name
            assert all(reason.strip() for _, reason in parsed.rejected), doc.name
            assert len({i for i, _ in parsed.rejected}) == len(parsed.rejected) and \
                all(0 <= i < len(seen) for i, _ in parsed.rejected), doc.name
            keys = {a.dedup_key for a in parsed.articles}
            assert len(outcome.new_article_ids) == len(keys), doc.name  # a duplicated item counts once
            if doc.kind == FEED and parsed.problem:
                problems.append(f"{doc.name} ({doc.content_type}): {parsed.problem}")
            if doc.kind == USABLE:
                assert parsed.problem and "\n" not in parsed.problem, doc.name
            for a in parsed.articles:
                assert not MOJIBAKE.search(a.title + a.text), (doc.name, a.title, a.text)
                assert not MARKUP.search(a.title) and not MARKUP.search(a.text), (doc.name, a.title, a.text)
                assert "alert(" not in a.text and "\n" not in a.title, (doc.name, a.text)
                assert a.url == "" or (a.url.startswith("https://") and "utm_" not in a.url), (doc.name, a.url)
                assert a.published is not None and a.published <= NOW, (doc.name, a.published)
            entries += len(seen)
            stored += len(outcome.new_article_ids)
            rejected += len(parsed.rejected)

        health = {row.url: row for row in store.list_feeds()}
        for url, doc in zip(urls, docs):
            row = health[url]
            if doc.kind == NOT_A_FEED:
                assert row.consecutive_failures == 1 and row.last_error, doc.name
                assert "\n" not in row.last_error and url in row.last_error, doc.name
            else:
                assert row.consecutive_failures == 0 and row.last_success_at is not None, doc.name
                assert row.last_error is None or "\n" not in row.last_error, doc.name
        assert store.counts()["articles"] == stored == sum(r.articles_seen for r in health.values())
        assert entries > 1000 and stored > 800 and rejected > 0
        print(f"\ncorpus: {len(docs)} documents, {entries} entries, {stored} stored, {rejected} rejected, "
              f"{len(failed)} failed feeds, {len(problems)} well-formed feeds flagged")
        # A well-formed feed is not reported as broken, unless served as text/xml (see below).
        assert [p for p in problems if "(text/xml)" not in p] == []
    finally:
        store.close()


@pytest.mark.parametrize("kind", [FEED, USABLE])
def test_a_second_poll_of_the_same_bytes_parses_nothing_again(tmp_path, kind):
    doc = next(d for d in corpus(size=20) if d.kind == kind)
    store = Store.open(f"sqlite:///{tmp_path / 'again.sqlite'}")
    try:
        url = _url(0, doc)
        ids = store.sync_feeds([FeedSpec(url=url)], default_interval=900)
        fetcher = FakeFetcher().serve(url, doc.body, content_type=doc.content_type)
        first = pipeline.poll_feed(ids[url], store=store, fetcher=fetcher, now=NOW)
        again = pipeline.poll_feed(ids[url], store=store, fetcher=fetcher, now=NOW)
        assert first.error is None and first.new_article_ids
        assert again.skipped == "unchanged body" and again.new_article_ids == ()
    finally:
        store.close()


def test_a_well_formed_feed_served_as_text_xml_is_not_flagged():
    flagged = [d.name for d in corpus() if d.kind == FEED and d.content_type == "text/xml"
               and parse_feed(d.body, url="https://e.example.org/f.xml",
                              headers={"content-type": d.content_type}, now=NOW).problem]
    assert flagged == []

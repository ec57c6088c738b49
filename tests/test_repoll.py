"""Re-polls parse only the items that were not in the last poll's body, and lose nothing.

A busy feed shows mostly the items of its last poll; they are left out before
parsing (monitor.core.feeds.cut_items). Real HTTP on loopback, real SQLite and
PostgreSQL (the ``store`` fixture).
"""

from __future__ import annotations

import random
from datetime import datetime, timezone
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import inspect
from support.db import upgraded_from_before
from support.samples import FEEDS

from monitor import pipeline
from monitor.adapters.fetch import HttpFetcher
from monitor.adapters.store import Store
from monitor.config import FeedSpec
from monitor.core.feeds import cut_items, parse_feed

LOOPBACK = ("127.0.0.0/8",)
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def item(n: int, text: str = "") -> str:
    return (f"<item><title>Dépêche {n} sur l'OTAN</title><link>https://example.org/{n}</link>"
            f"<guid>item-{n}</guid><pubDate>Mon, 24 Jan 2022 09:{n % 60:02d}:00 GMT</pubDate>"
            f"<description>{escape(text or f'<p>Texte de la dépêche {n}.</p>')}</description></item>")


def rss(items: list[str], *, build: int = 0, language: str = "fr") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>Fil</title>'
            f"<link>https://example.org/</link><description>essai</description><language>{language}</language>"
            f"<lastBuildDate>Mon, 24 Jan 2022 10:{build:02d}:00 GMT</lastBuildDate>\n"
            + "\n".join(items) + "\n</channel></rss>").encode()


@pytest.fixture
def feed(store, feed_server):
    """(poll(), serve(body)) of one feed served on loopback, with updates on."""
    url = f"{feed_server.base}/feed.xml"
    fid = store.sync_feeds([FeedSpec(url=url, name="Fil", updates=True)], default_interval=60)[url]
    fetcher = HttpFetcher(allow=LOOPBACK)

    def serve(body: bytes) -> None:
        feed_server.routes["/feed.xml"] = (body, "application/rss+xml")

    def poll():
        return pipeline.poll_feed(fid, store=store, fetcher=fetcher, now=NOW)

    yield poll, serve
    fetcher.close()


def titles(store: Store, ids) -> list[str]:
    return sorted(a.title for a in store.articles(list(ids)))


def test_a_repoll_parses_only_the_new_items_and_misses_none(store, feed):
    poll, serve = feed
    serve(rss([item(n) for n in range(20)]))
    first = poll()
    assert len(first.new_article_ids) == 20 and first.skipped is None
    # Two new items on top, the oldest gone, and the feed's build date moved on.
    serve(rss([item(n) for n in range(1, 22)], build=5))
    second = poll()
    assert second.skipped == "19 of 21 items known"
    assert titles(store, second.new_article_ids) == ["Dépêche 20 sur l'OTAN", "Dépêche 21 sur l'OTAN"]
    serve(rss([item(n) for n in range(1, 22)], build=6))
    third = poll()
    assert third.new_article_ids == () and third.skipped == "no new items"
    assert store.counts()["articles"] == 22


def test_an_edited_item_is_parsed_again(store, feed):
    poll, serve = feed
    serve(rss([item(n) for n in range(5)]))
    poll()
    edited = "L'OTAN a annoncé de nouvelles livraisons de défense aérienne à l'Ukraine après une semaine de frappes."
    serve(rss([item(n) for n in range(4)] + [item(4, edited)]))
    out = poll()
    assert out.skipped == "4 of 5 items known"
    assert len(out.new_article_ids) == 1  # the new version: this feed alerts on material changes
    assert [a.text for a in store.articles(list(out.new_article_ids))] == [edited]


def test_a_change_around_the_items_parses_them_all_again(store, feed):
    poll, serve = feed
    serve(rss([item(n) for n in range(5)], language="fr"))
    poll()
    # The feed's language is every item's language: the items are the same bytes, but
    # would not parse the same.
    serve(rss([item(n) for n in range(5)], language="en"))
    out = poll()
    assert out.skipped is None and out.new_article_ids == ()


def test_a_feed_with_a_problem_is_parsed_whole_and_reported_at_every_poll(store, feed):
    poll, serve = feed
    empty = "<item><description></description></item>"  # no title, text nor link: rejected
    serve(rss([item(0), empty]))
    poll()
    serve(rss([item(0), empty], build=1))
    out = poll()
    assert out.skipped is None
    (row,) = store.list_feeds()
    assert row.last_error and "rejected" in row.last_error


def test_a_cut_fooled_by_an_item_tag_in_a_comment_falls_back_to_the_whole_body(store, feed):
    poll, serve = feed
    known = ("<item> --><title>Dépêche B</title><link>https://example.org/b</link><guid>b</guid>"
             "<description>Texte B.</description></item>")
    serve(rss([item(0), known]))
    poll()
    # A new item ends in a comment holding "</item><item>". Cut at that tag, the rest of the
    # comment looks like the known item; the new item alone does not parse (its comment never
    # closes) and would be reported broken, where the whole feed is well-formed.
    body = rss([item(0), item(1).replace("</item>", "<!-- </item>") + known])
    assert cut_items(body).items[1:] == (item(1).replace("</item>", "<!-- </item>").encode(), known.encode())
    assert parse_feed(body, url="https://example.org/feed", now=NOW).problem is None
    serve(body)
    out = poll()
    assert out.error is None and out.skipped is None  # parsed whole
    (row,) = store.list_feeds()
    assert not row.last_error
    # The feed has no problem, so its items were kept: with one more, only that one is parsed.
    serve(rss([item(0), item(1).replace("</item>", "<!-- </item>") + known, item(2)]))
    out = poll()
    assert out.skipped == "3 of 4 items known" and titles(store, out.new_article_ids) == ["Dépêche 2 sur l'OTAN"]


def test_a_database_made_before_the_item_hashes_gets_them_on_upgrade(db_url, feed_server):
    # Refused until `monitor db upgrade`, which adds the column.
    s = upgraded_from_before(db_url, "feed", "item_hashes")
    try:
        assert "item_hashes" in {c["name"] for c in inspect(s.engine).get_columns("feed")}
        url = f"{feed_server.base}/feed.xml"
        fid = s.sync_feeds([FeedSpec(url=url)], default_interval=60)[url]
        feed_server.routes["/feed.xml"] = (rss([item(n) for n in range(3)]), "application/rss+xml")
        with HttpFetcher(allow=LOOPBACK) as fetcher:
            assert len(pipeline.poll_feed(fid, store=s, fetcher=fetcher).new_article_ids) == 3
            feed_server.routes["/feed.xml"] = (rss([item(n) for n in range(4)], build=1), "application/rss+xml")
            assert pipeline.poll_feed(fid, store=s, fetcher=fetcher).skipped == "3 of 4 items known"
    finally:
        s.close()


# -- the cut itself, on real feeds --------------------------------------------------------


@pytest.mark.parametrize("path", sorted(p for p in FEEDS.iterdir() if p.name != "unrecognized.rss"),
                         ids=lambda p: p.name)
def test_any_items_cut_from_a_real_feed_parse_as_they_do_in_the_whole_feed(path):
    body = path.read_bytes()
    cut = cut_items(body)
    assert cut is not None and len(cut.items) == len(set(cut.hashes)) >= 1
    whole = parse_feed(body, url="https://example.org/feed", now=NOW)
    picked = sorted(random.Random(path.name).sample(range(len(cut.items)), max(1, len(cut.items) // 2)))
    part = parse_feed(cut.only([cut.items[i] for i in picked]), url="https://example.org/feed", now=NOW)
    if whole.rejected:  # entries that are not articles: each picked one is one or the other
        assert set(part.articles) <= set(whole.articles)
        assert len(part.articles) + len(part.rejected) == len(picked)
    else:
        assert list(part.articles) == [whole.articles[i] for i in picked]


def test_only_what_changes_how_items_parse_changes_their_hashes():
    base = cut_items(rss([item(1), item(2)]))
    assert cut_items(rss([item(1), item(2)], build=9)).hashes == base.hashes  # the build date: no
    assert cut_items(rss([item(2), item(1)])).hashes == base.hashes[::-1]  # the order: no
    assert cut_items(rss([item(1), item(2)], language="en")).hashes[0] != base.hashes[0]
    assert cut_items(rss([item(1), item(2)]), {"Content-Type": "application/rss+xml; charset=latin-1"}).hashes[0] \
        != base.hashes[0]
    assert cut_items(rss([item(1), item(3)])).hashes[0] == base.hashes[0] != cut_items(rss([item(3)])).hashes[0]


def test_an_rss_1_feed_lists_its_items_in_its_head_and_still_skips_the_known_ones():
    body = (FEEDS / "rss-1.rss").read_bytes()
    url = "http://science.sciencemag.org/new?rss=1"
    # The next poll: one more item, listed in the channel's <items> as RSS 1.0 wants.
    newer = body.replace(b"<rdf:Seq>", b'<rdf:Seq>\n  <rdf:li rdf:resource="%s" />' % url.encode(), 1).replace(
        b"<item ", b'<item rdf:about="%s"><title>New</title><link>%s</link></item>\n\n<item ' % (url.encode(),
                                                                                               url.encode()), 1)
    before, after = cut_items(body), cut_items(newer)
    assert after.new_items(before.packed) == [after.items[0]]
    (article,) = parse_feed(after.only(after.new_items(before.packed)), url="https://example.org/feed",
                            now=NOW).articles
    assert article.title == "New"
    # Anything else in the head still counts.
    assert cut_items(newer.replace(b"<channel ", b'<channel xml:lang="fr" ', 1)).new_items(before.packed) \
        == list(after.items)


def test_a_hostile_head_of_megabytes_is_cut():
    # Every "<" with no ">" after it used to start a search to the end of the head: 81 s for
    # 100 KB of "<", hours for these 4 MB (the test run would not end). Now a second or so.
    body = rss([item(1)]).replace(b"<item>", b"<items>" * 20_000 + b"<language " * 20_000 + b"<" * 4_000_000
                                   + b"<item>", 1)
    cut = cut_items(body)
    assert cut is not None and cut.items == (item(1).encode(),)


@pytest.mark.parametrize("body", [
    rss([item(1), "<!-- a comment -->", item(2)]),  # something between two items
    rss([item(1).replace("<description>", "<description><![CDATA[<p>a</item> b</p>]]>"), item(2)]),
    rss([item(1)]).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
    rss([]),
    rss([item(1), "<item><title>x</title>" * 1000]),
    rss([item(1), "<item><title>a</title>" + item(2) + "</item>"]),
], ids=["text between items", "an item tag in CDATA", "UTF-16", "no items", "unclosed items", "an item in an item"])
def test_a_body_that_cannot_be_cut_safely_is_parsed_whole(body):
    assert cut_items(body) is None

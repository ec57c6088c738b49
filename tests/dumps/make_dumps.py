"""Make the database dumps beside this script with the code of an earlier commit.

Run from a worktree of that commit, with PYTHONPATH set to it, e.g.::

    git worktree add /tmp/old2 2e02678
    cd /tmp/old2 && PYTHONPATH=/tmp/old2 python tests/dumps/make_dumps.py fill sqlite:////tmp/x.sqlite

``legacy URL`` makes only the tables (with the code before story_band: the story_key
table and its index are the leftovers a database made then keeps); ``fill URL`` fills
every table through that code's Store API. The dumps are then taken with
``sqlite3 x.sqlite .dump`` and ``pg_dump --no-owner --no-privileges``. Fixed times and
values, so that a dump made again is the same.
"""

import sys
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from monitor.store import Store

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=timezone.utc)


def legacy(url: str) -> None:
    store = Store.open(url)
    with store.engine.begin() as c:  # the old story index had rows; nothing reads them now
        c.execute(text("INSERT INTO story_key (key, article_id, story_id, published) VALUES "
                       "('b0:abc', 1, 1, '2025-02-01 08:00:00'), ('e:nato', 1, 1, '2025-02-01 08:00:00')"))
    store.close()


def fill(url: str) -> None:
    from monitor import pipeline
    from monitor.config import FeedSpec
    from monitor.types import Article, Hit, Match, PollRecord

    store = Store.open(url)
    ids = store.sync_feeds([FeedSpec(url="https://news.example.org/rss", name="Example News", language="fr",
                                     tags=("press", "fr")),
                            FeedSpec(url="https://wire.example.com/atom.xml", name="Wire", interval=300,
                                     updates=True)], default_interval=900)
    a, b = ids["https://news.example.org/rss"], ids["https://wire.example.com/atom.xml"]

    def art(n, title, text, feed="news"):
        return Article(dedup_key=f"https://{feed}.example.org/{n}", url=f"https://{feed}.example.org/{n}",
                       title=title, text=text, guid=f"{feed}-{n}", author="A. Reporter" if n % 2 else None,
                       published=T0 + timedelta(minutes=n), language="fr", content_hash=f"h{n:04d}")

    first = [art(1, "L'OTAN se réunit à Bruxelles", "Les ministres de l'OTAN se réunissent à Bruxelles ce jeudi."),
             art(2, "Grève à la SNCF", "Une grève touche la SNCF ce matin, « trafic perturbé ».")]
    wire = [art(1, "L'OTAN se réunit à Bruxelles", "Les ministres de l'OTAN se réunissent à Bruxelles ce jeudi."),
            art(3, "Élections en Ukraine", "Kyiv prépare les élections ; l'Ukraine vote.", feed="wire")]
    new = store.record_polls([
        PollRecord(feed_id=a, status=200, articles=tuple(first), etag='"e1"', last_modified="Sat, 01 Mar 2025",
                   body_hash="bh1", item_hashes=b"\x01\x02\x03\x04\x05\x06\x07\x08"),
        PollRecord(feed_id=b, status=200, articles=tuple(wire), body_hash="bh2"),
    ], now=T0 + timedelta(minutes=10))
    store.record_polls([PollRecord(feed_id=b, status=503, error="HTTP 503 from wire.example.com")],
                       now=T0 + timedelta(minutes=20))
    article_ids = sorted({i for v in new.values() for i in v})
    pipeline.group_stories(store.articles(article_ids), store=store, now=T0 + timedelta(minutes=11))
    hit = Hit("title", 2, 6, "OTAN")
    results = {article_ids[0]: [Match("otan", ("OTAN",), (hit,), channels=("desk", "digest-desk")),
                                Match("defense", ("OTAN",), (hit,), channels=("desk",))],
               article_ids[1]: [Match("sncf", ("SNCF", "grève"), (Hit("text", 14, 18, "SNCF"),),
                                      channels=("digest-desk",))]}
    for i in article_ids[2:]:
        results[i] = []
    kwargs = {"prefixes": {article_ids[1]: 200_000}} if "prefixes" in Store.record_matches.__code__.co_varnames \
        else {}
    send = store.record_matches(results, now=T0 + timedelta(minutes=12), digest_channels=["digest-desk"], **kwargs)
    store.begin_delivery(send[0], now=T0 + timedelta(minutes=13))
    store.finish_delivery(send[0], ok=True, now=T0 + timedelta(minutes=13))
    if len(send) > 1:
        store.begin_delivery(send[1], now=T0 + timedelta(minutes=13))
        store.finish_delivery(send[1], ok=False, error="HTTP 500 from hooks.example.net", dead=True,
                              now=T0 + timedelta(minutes=14))
    digest = store.create_digest("digest-desk", now=T0 + timedelta(hours=1))
    store.begin_digest(digest, now=T0 + timedelta(hours=1))
    store.finish_digest(digest, ok=True, now=T0 + timedelta(hours=1))
    store.save_watch_states("watchdog", {"feed:https://wire.example.com/atom.xml": {"told": "failing", "n": 1}},
                            now=T0 + timedelta(minutes=30))
    store.save_watch_states("spike", {"otan": {"since": "2025-03-01T08:00:00+00:00"}}, now=T0 + timedelta(minutes=30))
    store.note_attempt("celery-task-1", "match", now=T0 + timedelta(minutes=15))
    store.note_attempt("celery-task-1", "match", now=T0 + timedelta(minutes=16))
    store.dead_letter("article", [article_ids[-1]], "poison: matcher raised ValueError", attempts=3,
                      now=T0 + timedelta(minutes=17))
    try:
        from monitor.web.sessions import SessionStore
    except ImportError:  # before the dashboard kept its logins in the database
        pass
    else:
        SessionStore(lambda: store.engine, clock=lambda: T0 + timedelta(minutes=40)).open("tag" * 4, 3600)
    store.close()


if __name__ == "__main__":
    {"legacy": legacy, "fill": fill}[sys.argv[1]](sys.argv[2])

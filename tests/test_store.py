"""Storage on SQLite and PostgreSQL: idempotent writes, claims, delivery states."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from monitor.config import FeedSpec
from monitor.core.errors import StoreError
from monitor.adapters.store import Store
from monitor.core.types import Article, Hit, Match

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


def art(key: str, title: str = "Titre") -> Article:
    return Article(dedup_key=key, url=f"https://example.org/{key}", title=title, text="texte")


def match(rule: str, channels=("email", "hook")) -> Match:
    return Match(rule=rule, terms=("OTAN",), hits=(Hit("title", 0, 4, "OTAN"),), channels=tuple(channels))


@pytest.fixture
def feed_id(store):
    return store.sync_feeds([FeedSpec(url="https://example.org/a.rss", name="A", interval=60)],
                            default_interval=900)["https://example.org/a.rss"]


def test_same_article_is_never_stored_twice(store, feed_id):
    first = store.record_poll(feed_id, status=200, articles=[art("g1"), art("g2"), art("g1")], now=T0)
    assert len(first) == 2
    again = store.record_poll(feed_id, status=200, articles=[art("g1"), art("g2"), art("g3")], now=T0)
    assert len(again) == 1
    assert store.counts()["articles"] == 3
    assert [f.articles_seen for f in store.list_feeds()] == [3]


def test_matches_and_deliveries_are_idempotent(store, feed_id):
    [aid] = store.record_poll(feed_id, status=200, articles=[art("g1")], now=T0)
    pending = store.record_matches({aid: [match("otan"), match("ukraine")]}, now=T0)
    assert len(pending) == 4
    assert store.record_matches({aid: [match("otan"), match("ukraine")]}, now=T0) == pending
    assert store.counts()["matches"] == 2
    assert store.counts()["deliveries_pending"] == 4


def test_each_alert_carries_its_own_matches_terms_and_hits_when_a_batch_is_stored_at_once(store, feed_id):
    # A batch of matches and deliveries is written in one statement; each alert reads back its own.
    a1, a2 = store.record_poll(feed_id, status=200, articles=[art("g1", "OTAN et Ukraine"), art("g2")], now=T0)
    both = Match(rule="both", terms=("OTAN", "Ukraine"), channels=("hook",),
                 hits=(Hit("title", 0, 4, "OTAN"), Hit("title", 8, 15, "Ukraine"), Hit("text", 2, 9, "Ukraine")))
    quote = Match(rule="quote", terms=('l\'"OTAN"',), hits=(Hit("text", 1, 3, 'l\'"OTAN"'),), channels=("hook",))
    ids = store.record_matches({a1: [both, match("otan", ["hook"])], a2: [quote]}, now=T0)
    jobs = [store.delivery_job(d) for d in ids]
    assert {(j.alert.rule, j.alert.terms, tuple(j.alert.hits), j.status, j.attempts) for j in jobs} == {
        ("both", both.terms, both.hits, "pending", 0), ("otan", ("OTAN",), match("otan").hits, "pending", 0),
        ("quote", quote.terms, quote.hits, "pending", 0)}


def test_a_throttle_counts_the_last_hour_per_rule_and_channel_and_prefixes_are_kept_per_article(store, feed_id):
    ids = store.record_poll(feed_id, status=200, articles=[art(f"t{i}") for i in range(6)], now=T0)
    throttle = lambda rule, channels: Match(rule=rule, terms=("OTAN",), hits=(), channels=channels,  # noqa: E731
                                            delivery="throttle", per_hour=2)
    # The last hour: rule a sent once to mail, rule b once to chat (a/chat and b/mail: none).
    store.record_matches({ids[0]: [throttle("a", ("mail",)), throttle("b", ("chat",))]}, now=T0)
    sent = store.record_matches({i: [throttle("a", ("mail", "chat")), throttle("b", ("mail", "chat"))]
                                 for i in ids[1:4]}, now=T0 + timedelta(minutes=5),
                                prefixes={ids[1]: 100, ids[2]: 100, ids[3]: 7})
    by_key: dict[tuple[str, str], int] = {}
    for d in store.list_deliveries(limit=50):
        if d.id in sent:
            by_key[(d.rule, d.channel)] = by_key.get((d.rule, d.channel), 0) + 1
    assert by_key == {("a", "mail"): 1, ("a", "chat"): 2, ("b", "mail"): 2, ("b", "chat"): 1}
    assert [a.matched_prefix for a in store.articles(ids[:4])] == [None, 100, 100, 7]


def test_a_sent_delivery_is_never_sent_again(store, feed_id):
    [aid] = store.record_poll(feed_id, status=200, articles=[art("g1")], now=T0)
    d, *_ = store.record_matches({aid: [match("otan")]}, now=T0)
    assert store.begin_delivery(d)
    assert not store.begin_delivery(d)  # someone else is sending it
    store.finish_delivery(d, ok=True)
    assert not store.begin_delivery(d)
    assert store.record_matches({aid: [match("otan")]}) == [d + 1]  # only the other channel still pending
    job = store.delivery_job(d)
    assert job.status == "sent" and job.alert.title == "Titre" and job.alert.hits[0].term == "OTAN"


def test_failed_delivery_becomes_dead_then_can_be_requeued(store, feed_id):
    [aid] = store.record_poll(feed_id, status=200, articles=[art("g1")], now=T0)
    d, _ = store.record_matches({aid: [match("otan")]}, now=T0)
    store.begin_delivery(d)
    store.finish_delivery(d, ok=False, error="smtp refused\n  second line")
    assert store.begin_delivery(d)  # failed: may be retried
    store.finish_delivery(d, ok=False, error="still refused", dead=True)
    assert not store.begin_delivery(d)
    [row] = store.list_deliveries(status="dead")
    assert row.last_error == "still refused" and row.attempts == 2
    assert store.requeue_deliveries(status="dead") == [d]
    assert store.begin_delivery(d)


def test_a_claim_renewed_by_its_sender_holds_and_one_left_by_a_dead_sender_is_taken_over(store, feed_id):
    [aid] = store.record_poll(feed_id, status=200, articles=[art("g1")], now=T0)
    d, e = store.record_matches({aid: [match("otan")]}, now=T0)
    hour, beat = timedelta(hours=1), timedelta(seconds=10)
    assert store.begin_delivery(d, now=T0, lease=hour, heartbeat=beat)
    assert store.claim_deliveries([e], now=T0, lease=hour, heartbeat=beat) == {e}
    # Renewed every heartbeat: held, by begin_delivery, claim_deliveries and the sweeper alike.
    for k in range(1, 10):
        assert store.renew_deliveries([d, e], now=T0 + k * beat) == 2
        later = T0 + k * beat + 2.5 * beat
        assert not store.begin_delivery(d, now=later, lease=hour, heartbeat=beat)
        assert store.claim_deliveries([e], now=later, lease=hour, heartbeat=beat) == set()
        assert store.pending_work(timedelta(hours=2), sending_lease=hour, heartbeat=beat,
                                  now=later).sending_deliveries == []
    # Three heartbeats without a renewal: its sender is dead, whatever the lease.
    dead = T0 + 9 * beat + 3 * beat + timedelta(seconds=1)
    assert store.pending_work(timedelta(hours=2), sending_lease=hour, heartbeat=beat,
                              now=dead).sending_deliveries == [d, e]
    assert store.begin_delivery(d, now=dead, lease=hour, heartbeat=beat)
    assert store.claim_deliveries([e], now=dead, lease=hour, heartbeat=beat) == {e}
    # A sent delivery is not renewed back into a claim.
    store.finish_delivery(d, ok=True, now=dead)
    assert store.renew_deliveries([d, e], now=dead) == 1
    # A lease shorter than three heartbeats is the most a claim holds without a renewal.
    assert store.claim_deliveries([e], now=dead + timedelta(seconds=6), lease=timedelta(seconds=5),
                                  heartbeat=beat) == {e}


def test_two_schedulers_never_claim_the_same_feed(store, feed_id):
    now = datetime.now(timezone.utc) + timedelta(seconds=1)
    assert store.claim_due_feeds(now) == [feed_id]
    assert store.claim_due_feeds(now) == []
    assert store.claim_due_feeds(now + timedelta(seconds=67)) == [feed_id]


def test_a_feed_claimed_meanwhile_by_another_scheduler_is_left_to_it(store, db_url):
    ids = store.sync_feeds([FeedSpec(url=f"https://example.org/{i}.rss", interval=100) for i in range(3)],
                           default_interval=900)
    rival = Store.open(db_url)
    now = datetime.now(timezone.utc) + timedelta(seconds=1)

    class RivalFirst:
        # Called once per due feed between our read and our claim: the rival claims one.
        calls = 0

        def uniform(self, a, b):
            if self.calls == 0:
                with rival.engine.begin() as c:
                    c.execute(text("UPDATE feed SET next_poll_at = :t WHERE id = :i"),
                              {"t": (now + timedelta(hours=1)).replace(tzinfo=None), "i": ids["https://example.org/1.rss"]})
            self.calls += 1
            return b

    try:
        claimed = store.claim_due_feeds(now, rng=RivalFirst())
    finally:
        rival.close()
    assert sorted(claimed) == sorted([ids["https://example.org/0.rss"], ids["https://example.org/2.rss"]])
    assert store.claim_due_feeds(now) == []


def test_a_feed_is_polled_within_its_interval_feeds_drifting_apart(store):
    ids = store.sync_feeds([FeedSpec(url=f"https://example.org/{i}.rss", interval=100) for i in range(50)],
                           default_interval=900)
    now = T0 + timedelta(days=365 * 5)  # due now, whatever the clock

    def delays(at):
        return sorted((f.next_poll_at - at).total_seconds() for f in store.list_feeds() if f.id in ids.values())

    # New feeds are polled at once, and next at random times over their interval (a tick
    # early at each end): added together, they are not polled in waves.
    assert sorted(store.claim_due_feeds(now, early=5)) == sorted(ids.values())
    first = delays(now)
    assert 5 <= first[0] and first[-1] <= 95 and first[-1] - first[0] > 50
    for fid in ids.values():
        store.record_poll(fid, status=200, now=now)
    # Then every interval: up to 10 % sooner, never later, and a tick early, so a feed
    # found due a tick late is still polled within its interval.
    later = now + timedelta(seconds=first[-1])
    store.claim_due_feeds(later, early=5)
    again = [d for d in delays(later) if d > 0]
    assert len(again) == 50 and 85 <= again[0] and again[-1] <= 95 and again[-1] - again[0] > 1
    # After a whole interval down, they spread over the interval again.
    woken = later + timedelta(days=1)
    store.claim_due_feeds(woken, early=5)
    assert delays(woken)[-1] - delays(woken)[0] > 50


def test_failures_back_off_and_success_resets(store, feed_id):
    store.record_poll_failure(feed_id, "boom\nwith detail", status=500, now=T0)
    store.record_poll_failure(feed_id, "boom again", status=500, now=T0)
    [f] = store.list_feeds()
    assert f.consecutive_failures == 2 and f.last_error == "boom again" and f.last_status == 500
    assert f.next_poll_at == T0 + timedelta(seconds=120)
    store.record_poll(feed_id, status=200, articles=[], now=T0)
    [f] = store.list_feeds()
    assert f.consecutive_failures == 0 and f.last_error is None
    assert f.next_poll_at == T0 + timedelta(seconds=120)  # the next poll is the scheduler's to move


def test_a_batch_records_each_feed_as_it_went(store, feed_id):
    other = store.sync_feeds([FeedSpec(url="https://example.org/a.rss", name="A", interval=60),
                              FeedSpec(url="https://example.org/b.rss", interval=30)],
                             default_interval=900)["https://example.org/b.rss"]
    from monitor.core.types import PollRecord

    store.record_poll(feed_id, status=200, articles=[art("g1")], etag='"e1"', last_modified="Mon",
                      body_hash="h1", now=T0)
    out = store.record_polls([PollRecord(feed_id, status=304), PollRecord(other, status=503, error="busy",
                                                                          retry_after=3600),
                              PollRecord(other, status=500, error="down")], now=T0)
    assert out == {feed_id: [], other: []}
    a, b = store.feed_state(feed_id), store.feed_state(other)
    assert (a.etag, a.last_modified, a.body_hash, a.consecutive_failures) == ('"e1"', "Mon", "h1", 0)
    by_id = {f.id: f for f in store.list_feeds()}
    assert by_id[feed_id].articles_seen == 1 and by_id[feed_id].last_status == 304
    assert b.consecutive_failures == 2 and by_id[other].last_error == "down"
    assert by_id[other].next_poll_at == T0 + timedelta(seconds=60)  # the second failure decides


def test_stale_work_is_found_for_the_sweeper(store, feed_id):
    ids = store.record_poll(feed_id, status=200, articles=[art("g1"), art("g2")], now=T0)
    store.record_matches({ids[0]: [match("otan")]}, now=T0)
    work = store.pending_work(timedelta(minutes=5), now=T0 + timedelta(minutes=10))
    assert work.articles == [ids[1]] and len(work.deliveries) == 2
    early = store.pending_work(timedelta(minutes=5), now=T0 + timedelta(minutes=1))
    assert early.articles == [] and early.deliveries == []


def test_feeds_removed_from_the_file_are_disabled(store, feed_id):
    store.sync_feeds([FeedSpec(url="https://example.org/b.rss")], default_interval=900)
    by_url = {f.url: f for f in store.list_feeds()}
    assert not by_url["https://example.org/a.rss"].enabled
    assert by_url["https://example.org/b.rss"].enabled and by_url["https://example.org/b.rss"].interval == 900


def test_sync_follows_every_field_and_keeps_the_feed_state(store, feed_id):
    store.record_poll(feed_id, status=200, articles=[art("g1")], etag='"e1"', now=T0)
    a, b = "https://example.org/a.rss", "https://example.org/b.rss"
    ids = store.sync_feeds([FeedSpec(url=a, name="A2", interval=120, language="fr", tags=("x", "y"),
                                     updates=True, fulltext=True),
                            FeedSpec(url=b, enabled=False)], default_interval=900)
    assert ids[a] == feed_id and ids[b] != feed_id
    by_url = {f.url: f for f in store.list_feeds()}
    assert (by_url[a].name, by_url[a].interval, by_url[a].enabled) == ("A2", 120, True)
    state = store.feed_state(feed_id)
    assert (state.language, state.tags, state.fulltext, state.etag) == ("fr", ("x", "y"), True, '"e1"')
    assert (by_url[b].name, by_url[b].enabled, by_url[b].articles_seen) == (b, False, 0)
    assert store.claim_due_feeds(datetime.now(timezone.utc) + timedelta(days=1)) == [feed_id]  # b is disabled
    # dropped from the file: disabled, its state kept; listed again: enabled, same id
    store.sync_feeds([FeedSpec(url=b)], default_interval=900)
    assert not {f.url: f for f in store.list_feeds()}[a].enabled
    again = store.sync_feeds([FeedSpec(url=a, name="A2")], default_interval=900)
    by_url = {f.url: f for f in store.list_feeds()}
    assert again == {a: feed_id} and by_url[a].enabled and by_url[a].interval == 900
    assert by_url[a].articles_seen == 1 and not by_url[b].enabled


def test_unreachable_database_is_one_clear_error():
    with pytest.raises(StoreError) as e:
        Store.open("postgresql+psycopg://postgres:hunter2@127.0.0.1:1/nope")
    msg = str(e.value)
    assert "cannot connect to database" in msg and "127.0.0.1:1" in msg
    assert "hunter2" not in msg and "\n" not in msg
    assert str(pickle.loads(pickle.dumps(e.value))) == msg


def test_the_same_story_in_two_feeds_is_one_article_with_two_sources(store, feed_id):
    other = store.sync_feeds([FeedSpec(url="https://example.org/a.rss", name="A"),
                              FeedSpec(url="https://example.org/b.rss", name="B")],
                             default_interval=900)["https://example.org/b.rss"]
    wire = Article(dedup_key="guid:afp-123", url="https://news.example.org/story", title="T", text="x")
    same_in_b = Article(dedup_key="guid:other-guid", url="https://news.example.org/story", title="T", text="x")
    [aid] = store.record_poll(feed_id, status=200, articles=[wire], now=T0)
    assert store.record_poll(other, status=200, articles=[same_in_b], now=T0) == []
    assert store.counts()["articles"] == 1
    assert store.sources(aid) == ["A", "B"]


def _with_updates(store, url="https://example.org/u.rss"):
    return store.sync_feeds([FeedSpec(url=url, name="U", updates=True)], default_interval=900)[url]


def test_a_material_text_change_is_a_new_version_when_the_feed_asks(store):
    fid = _with_updates(store)
    v1 = Article("guid:1", "https://example.org/s", "Explosion à Kiev", "Un mort selon la police.",
                 content_hash="h1")
    v1_typo = Article("guid:1", "https://example.org/s", "Explosion à Kiev", "Un mort, selon la police.",
                      content_hash="h1b")
    v2 = Article("guid:1", "https://example.org/s", "Explosion à Kiev : douze morts",
                 "Le bilan s'alourdit : douze morts et des dizaines de blessés, l'OTAN condamne.",
                 content_hash="h2")
    [first] = store.record_poll(fid, status=200, articles=[v1], now=T0)
    assert store.record_poll(fid, status=200, articles=[v1_typo], now=T0) == []
    [second] = store.record_poll(fid, status=200, articles=[v2], now=T0)
    assert second != first
    assert store.record_poll(fid, status=200, articles=[v2], now=T0) == []
    assert [a.title for a in store.articles([second])] == ["Explosion à Kiev : douze morts"]


def test_without_updates_a_changed_entry_never_alerts_again(store, feed_id):
    v1 = Article("guid:1", "https://example.org/s", "Titre", "Texte court.", content_hash="h1")
    v2 = Article("guid:1", "https://example.org/s", "Tout autre titre", "Et un tout autre texte.",
                 content_hash="h2")
    store.record_poll(feed_id, status=200, articles=[v1], now=T0)
    assert store.record_poll(feed_id, status=200, articles=[v2], now=T0) == []


def test_processes_starting_together_on_a_new_database_all_open_it(db_url):
    # docker compose starts the worker and the beat at once: both create the tables.
    import subprocess
    import sys
    import time as _time

    start = _time.time() + 1.5
    code = ("import sys, time; from monitor.adapters.store import Store; "
            f"time.sleep(max(0, {start} - time.time())); Store.open(sys.argv[1]).close()")
    procs = [subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    store = Store.open(db_url)
    assert store.counts()["articles"] == 0
    store.close()


@pytest.mark.parametrize("hook", ["monitor.adapters.store.engine:_sqlite_pragmas", "workers.sqlite_queue:_wal"])
def test_connections_switching_a_new_sqlite_database_to_wal_together_all_succeed(tmp_path, hook):
    # Every new connection of the store and of the embedded queue sets WAL; on a new file
    # SQLite refuses all but one of those arriving at the same moment, without waiting.
    # Rare per start: many rounds of 8.
    import importlib
    import multiprocessing
    import sqlite3
    import time as _time

    module, name = hook.split(":")
    on_connect = getattr(importlib.import_module(module), name)
    ctx = multiprocessing.get_context("fork")

    def connect_at(path, start, errors):
        _time.sleep(max(0.0, start - _time.time()))
        try:
            on_connect(sqlite3.connect(path, timeout=30), None)
        except sqlite3.OperationalError as e:
            errors.put(str(e))
            raise SystemExit(1) from None

    errors = ctx.Queue()
    for round_ in range(40):
        path = tmp_path / f"round{round_}.sqlite"
        start = _time.time() + 0.1
        procs = [ctx.Process(target=connect_at, args=(path, start, errors)) for _ in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        codes = [p.exitcode for p in procs]
        assert codes == [0] * 8, [errors.get(timeout=5) for c in codes if c]


def test_the_dashboards_filters_at_their_extremes_are_a_message_or_one_small_page(store, feed_id):
    """What a stranger can put in the dashboard's query strings, at its worst: each value is
    refused with a message naming it, or selects one bounded page (SQLite and PostgreSQL)."""
    from monitor.adapters.store import readmodels
    from monitor.core.filters import (MAX_INT, MAX_PAGE, FilterError, parse_alert_filter, parse_delivery_filter,
                                      parse_feed_filter)

    [aid] = store.record_poll(feed_id, status=200, articles=[art("g1")], now=T0)
    store.record_matches({aid: [match("otan")]}, now=T0)
    biggest = str(MAX_INT)  # ids are INTEGER columns: PostgreSQL refuses a larger number with an error
    for param, value in [("until", "9999-12-31"), ("until", "9999-12-31T23:00:00-05:00"),
                         ("since", "0001-01-01T00:00:00+01:00"), ("before", "9" * 19), ("before", str(MAX_INT + 1)),
                         ("feed", "9" * 18), ("limit", str(MAX_PAGE + 1)), ("feed", "0"), ("rule", "r" * 201),
                         ("language", "fr-" + "a" * 30)]:
        with pytest.raises(FilterError) as e:
            parse_alert_filter({param: value})
        assert e.value.param == param
    for parse, param in [(parse_feed_filter, "offset"), (parse_delivery_filter, "before")]:
        with pytest.raises(FilterError, match="out of range"):
            parse({param: str(MAX_INT + 1)})
    page = readmodels.alerts(store.engine, parse_alert_filter({
        "before": biggest, "feed": biggest, "limit": str(MAX_PAGE), "since": "0001-01-01", "until": "9999-12-30",
        "rule": "%" * 200, "language": "fr-CA", "status": "dead"}))
    assert page.items == [] and page.next_before is None
    assert [a.id for a in readmodels.alerts(store.engine, parse_alert_filter({"before": biggest})).items] != []
    wild = "%_\\" * 66
    page = readmodels.feeds(store.engine, parse_feed_filter({"offset": biggest, "limit": "1000", "q": wild}))
    assert page.items == [] and page.total == 0
    page = readmodels.feeds(store.engine, parse_feed_filter({"offset": biggest}))
    assert page.items == [] and page.total == 1
    page = readmodels.deliveries(store.engine, parse_delivery_filter({"status": "all", "before": biggest,
                                                                      "limit": str(MAX_PAGE)}))
    assert len(page.items) == 2 and page.next_before is None
    with pytest.raises(FilterError):
        parse_delivery_filter({"status": ",".join(["sent"] * 100)})  # 499 characters: past the 200 of a value
    # The ids of a URL path (/api/alerts/{id}...): no such row, whatever the number.
    for row_id in (0, -(10**17), MAX_INT + 1, 10**17):
        assert readmodels.alert(store.engine, row_id) is None
        assert readmodels.feed(store.engine, row_id) is None
        assert readmodels.delivery(store.engine, row_id) is None

"""Feeds in, alerts out, with real parts only: an HTTP feed server, Celery
worker processes, Redis, PostgreSQL (or SQLite), a real SMTP server and a
real webhook receiver on loopback."""

from __future__ import annotations

import signal
import time
from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from support.procs import start_monitor, wait_for
from support.samples import ARTICLE_TITLE, article_rss
from monitor.adapters.store import Store

pytestmark = pytest.mark.slow
LINK = "https://www.example.org/monde/canada-otan-ukraine?utm_source=rss&utm_medium=feed"
CANONICAL = "https://www.example.org/monde/canada-otan-ukraine"
RULES = {
    "rules": [
        {"name": "otan", "description": "NATO", "keywords": {"any": ["OTAN", "NATO"]},
         "channels": ["email", "hook"]},
        {"name": "ukraine", "description": "Ukraine", "keywords": {"any": ["Ukraine", "ukrain*"]},
         "channels": ["email", "hook"]},
    ]
}


def make_config(tmp: Path, *, feed_url: str, smtp, receiver, **settings) -> Path:
    (tmp / "rules").mkdir()
    (tmp / "rules" / "watch.yaml").write_text(yaml.safe_dump(RULES, allow_unicode=True), encoding="utf-8")
    (tmp / "feeds.yaml").write_text(yaml.safe_dump(
        {"feeds": [{"url": feed_url, "name": "Actualités Monde", "interval": 1, "language": "fr"}]}))
    cfg = {"rules_path": "rules", "feeds_path": "feeds.yaml", "data_dir": "data", "poll_tick": 0.5,
           "allow_networks": ["127.0.0.1"], "deliver_retry_base": 1, "log_level": "INFO",
           "channels": {"email": smtp.url, "hook": receiver.url}, **settings}
    path = tmp / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def serve_article(feed_server) -> str:
    # Each response differs (lastBuildDate), so every poll parses the feed again
    # and only the article de-duplication stands between a re-poll and a re-alert.
    def route():
        stamp = format_datetime(datetime.now(timezone.utc), usegmt=True)
        return article_rss(link=LINK, build_date=stamp), "application/rss+xml; charset=utf-8"

    feed_server.routes["/monde.rss"] = route
    return feed_server.base + "/monde.rss"


def assert_alerts_arrived(smtp, receiver):
    wait_for(lambda: len(smtp.messages) >= 2 and len(receiver.posts) >= 2, 90,
             what="2 emails and 2 webhook posts")
    rules_seen = set()
    for msg in smtp.messages:
        html = msg.get_body(("html",)).get_content()
        assert ARTICLE_TITLE.replace("’", "&#x27;") in html or ARTICLE_TITLE in html
        assert CANONICAL in html and "utm_source" not in html
        assert "<mark>" in html
        rules_seen.add("otan" if "<mark>OTAN</mark>" in html and "otan" in msg["Subject"].lower() else
                       "ukraine" if "ukraine" in msg["Subject"].lower() else "?")
    assert rules_seen == {"otan", "ukraine"}
    by_rule = {}
    for post in receiver.posts:
        text = post["title"] + "\n" + post["message"]
        rule = "otan" if "[otan]" in text else "ukraine" if "[ukraine]" in text else None
        assert rule, text
        by_rule[rule] = text
        assert CANONICAL in text
        assert ARTICLE_TITLE[:40] in text
    assert set(by_rule) == {"otan", "ukraine"}
    assert "OTAN" in by_rule["otan"]  # the matched term, and in the snippet
    assert "Ukraine" in by_rule["ukraine"]


def wait_for_repoll_quiet(feed_server, store: Store, before: dict):
    hits = feed_server.hits["/monde.rss"]
    wait_for(lambda: feed_server.hits["/monde.rss"] >= hits + 2, 30, what="two more polls")
    time.sleep(2)  # time for any match/deliver task that a re-poll would wrongly queue
    return store.counts()


def stop(proc, sig=signal.SIGTERM, timeout=60) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except Exception:
        proc.kill()
        raise


def test_redis_worker_processes_deliver_once(tmp_path, feed_server, smtp_server, receiver, redis_url,
                                             request):
    try:
        db = request.getfixturevalue("pg_url")
    except pytest.skip.Exception:
        db = f"sqlite:///{tmp_path / 'monitor.sqlite'}"
    cfg = make_config(tmp_path, feed_url=serve_article(feed_server), smtp=smtp_server, receiver=receiver,
                      database_url=db, broker_url=redis_url, queue_prefix=f"t{tmp_path.name[-12:]}-")
    worker = start_monitor("--config", cfg, "worker", "-c", "2", log=tmp_path / "worker.log")
    beat = start_monitor("--config", cfg, "beat", log=tmp_path / "beat.log")
    try:
        assert_alerts_arrived(smtp_server, receiver)
        store = Store.open(db)
        wait_for(lambda: store.counts()["deliveries_sent"] == 4, 30, what="4 deliveries recorded as sent")
        before = store.counts()
        assert before["articles"] == 1 and before["matches"] == 2
        after = wait_for_repoll_quiet(feed_server, store, before)
        assert after == before
        assert len(smtp_server.messages) == 2 and len(receiver.posts) == 2
    finally:
        stop(beat)
        stop(worker)
    log = (tmp_path / "worker.log").read_text()
    assert "Traceback" not in log, log


def test_monitor_run_embedded(tmp_path, feed_server, smtp_server, receiver):
    cfg = make_config(tmp_path, feed_url=serve_article(feed_server), smtp=smtp_server, receiver=receiver)
    proc = start_monitor("--config", cfg, "run", log=tmp_path / "run.log")
    try:
        assert_alerts_arrived(smtp_server, receiver)
        store = Store.open(f"sqlite:///{tmp_path / 'data' / 'monitor.sqlite'}")
        wait_for(lambda: store.counts()["deliveries_sent"] == 4, 30, what="4 deliveries recorded as sent")
        before = store.counts()
        after = wait_for_repoll_quiet(feed_server, store, before)
        assert after == before
        assert len(smtp_server.messages) == 2 and len(receiver.posts) == 2
    finally:
        code = stop(proc, signal.SIGINT)
    log = (tmp_path / "run.log").read_text()
    assert code == 0, log
    assert "stopped" in log and "Traceback" not in log, log
    # it printed what it did
    assert "match: rule 'otan'" in log and "sent: rule" in log, log

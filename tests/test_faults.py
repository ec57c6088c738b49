"""No article and no alert lost: faults injected into the real deployment shape.

Separate `monitor worker` and `monitor beat` processes, a Redis of our own
(AOF on) so that stopping it disturbs nobody, PostgreSQL (behind a TCP proxy
we can make refuse connections), a real SMTP server and HTTP receivers.

The sweeper runs every second here and takes work idle for 3 s as lost
(MONITOR_SWEEP_INTERVAL, MONITOR_SWEEP_STALE_AFTER), so each recovery is
bounded by seconds: every ``wait_for`` timeout below is the stated bound of
that test, never a measured speed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml

from support.http import FeedServer, Receiver
from support.procs import free_port, reachable, run_monitor, start_monitor, wait_for

pytestmark = pytest.mark.slow

FAST_SWEEP = {"MONITOR_SWEEP_INTERVAL": "1", "MONITOR_SWEEP_STALE_AFTER": "3",
              "MONITOR_POISON_MAX_DELIVERIES": "3"}
RULES = {"rules": [{"name": "nato", "description": "NATO", "keywords": {"any": ["NATO"]},
                    "channels": ["hook"]}]}


# -- real servers of our own ----------------------------------------------------------


class OwnRedis:
    """A redis-server on a free port with AOF (fsync always), stoppable and restartable."""

    def __init__(self, tmp: Path):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("no redis-server binary")
        self.binary, self.dir, self.port = binary, tmp / "redis", free_port()
        self.dir.mkdir()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always",
             "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL)
        wait_for(lambda: reachable("127.0.0.1", self.port), 10, what="redis-server")

    def stop(self):
        # SIGTERM: Redis flushes the AOF and exits, like `docker stop`.
        self.proc.terminate()
        self.proc.wait(10)

    def llen(self, key: str) -> int:
        import redis

        return redis.Redis.from_url(self.url).llen(key)


class PgProxy:
    """A TCP proxy in front of PostgreSQL; ``down()`` drops every connection and refuses new ones."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.refusing = False
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def down(self):
        self.refusing = True
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def up(self):
        self.refusing = False

    def close(self):
        self.down()
        self.listener.close()


class Feeds(FeedServer):
    """Serves RSS feeds; ``on_get[path]`` runs once, on the next request for that path."""

    def add(self, name: str, n: int) -> str:
        self.routes[f"/{name}.rss"] = (rss(name, n), "application/rss+xml; charset=utf-8")
        return self.base + f"/{name}.rss"


def _words(seed: str, k: int) -> str:
    # Unrelated made-up words per item, so that no two items are one story (near-duplicates
    # of one story are alerted once, which is not what these tests are about).
    import random

    rng = random.Random(seed)
    return " ".join("".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(3))
                    for _ in range(k))


def rss(name: str, n: int) -> bytes:
    now = datetime.now(timezone.utc)
    items = "".join(
        f"<item><title>{escape(f'NATO story {i} of {name}: ' + _words(f'{name}{i}t', 5))}</title>"
        f"<link>https://news.example.org/{name}/{i}</link><guid isPermaLink=\"false\">{name}-{i}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=i), usegmt=True)}</pubDate>"
        f"<description>NATO: {escape(_words(f'{name}{i}d', 40))}.</description></item>"
        for i in range(n))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{name}</title>'
            f"<link>https://news.example.org/</link><description>t</description><language>en</language>"
            f"{items}</channel></rss>").encode()


@pytest.fixture
def feeds():
    f = Feeds()
    yield f
    f.close()


@pytest.fixture
def hooks():
    made = []

    def make(**kw) -> Receiver:  # a webhook receiver: delay, status, query, hold
        made.append(Receiver(**kw))
        return made[-1]

    yield make
    for h in made:
        h.close()


@pytest.fixture
def own_redis(tmp_path):
    r = OwnRedis(tmp_path)
    yield r
    if r.proc.poll() is None:
        r.proc.kill()
        r.proc.wait(10)


# -- the deployment under test ---------------------------------------------------------


class Deployment:
    """A config file, and the worker and beat processes started on it (killed at the end)."""

    def __init__(self, tmp: Path, *, db: str, broker: str, feed_urls, channels: dict, rules=RULES,
                 interval: int = 3600, **settings):
        self.tmp = tmp
        (tmp / "rules").mkdir(exist_ok=True)
        (tmp / "rules" / "watch.yaml").write_text(yaml.safe_dump(rules))
        (tmp / "feeds.yaml").write_text(yaml.safe_dump(
            {"feeds": [{"url": u, "name": u.rsplit("/", 1)[-1], "interval": interval} for u in feed_urls]}))
        cfg = {"rules_path": "rules", "feeds_path": "feeds.yaml", "data_dir": "data", "poll_tick": 0.5,
               "allow_networks": ["127.0.0.1"], "deliver_retry_base": 0.5, "log_level": "INFO",
               "database_url": db, "broker_url": broker, "queue_prefix": f"f{tmp.name[-10:]}-",
               "channels": channels, **settings}
        self.config = tmp / "monitor.yaml"
        self.config.write_text(yaml.safe_dump(cfg))
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.prefix = cfg["queue_prefix"]
        self.db = db

    def start(self, what: str, *args, env=None) -> subprocess.Popen:
        log = self.tmp / f"{what}-{len(self.procs)}.log"
        proc = start_monitor("--config", self.config, what, *args, env={**FAST_SWEEP, **(env or {})},
                             cwd=self.tmp, log=log)
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def worker(self, concurrency: int = 2, env=None) -> subprocess.Popen:
        proc = self.start("worker", "-c", str(concurrency), env=env)
        wait_for(lambda: len(children(proc.pid)) >= concurrency or proc.poll() is not None, 60,
                 what="the worker's pool")
        assert proc.poll() is None, self.log_text()
        return proc

    def beat(self) -> subprocess.Popen:
        return self.start("beat")

    def store(self):
        from monitor.adapters.store import Store

        return Store.open(self.db)

    def settings(self):
        from monitor.config import load_settings

        return load_settings(self.config, environ={})

    def log_text(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-6000:]}" for p in self.logs if p.exists())

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(10)


@pytest.fixture
def deployment(tmp_path, request):
    made = []

    def make(**kw) -> Deployment:
        made.append(Deployment(tmp_path, **kw))
        return made[-1]

    yield make
    for d in made:
        d.close()
        print(d.log_text())  # shown by pytest when the test failed


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def pid_of_client_port(port: int, candidates: list[int]) -> int | None:
    """The process among ``candidates`` holding the TCP connection from local ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if int(parts[1].split(":")[1], 16) == port:
                inodes.add(parts[9])
    for pid in candidates:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return pid
        except OSError:
            continue
    return None


def assert_each_once(hook: Receiver, n: int, bound: float, what: str):
    """Every one of ``n`` distinct alerts arrives within ``bound`` seconds, none twice."""
    wait_for(lambda: len(hook.titles()) >= n, bound, what=f"{n} alerts ({what})")
    titles = hook.titles()
    assert len(titles) == n, titles
    assert max(titles.values()) == 1, [t for t, c in titles.items() if c > 1]


def settled(store, n: int, *, stuck: int) -> dict:
    """All ``n`` deliveries recorded sent, but for at most ``stuck`` left "sending" by a fault."""
    return wait_for(lambda: (c := store.counts())["deliveries_sent"] >= n - stuck
                    and c["deliveries_sent"] + c["deliveries_sending"] == n and c, 30,
                    what=f"{n} deliveries recorded (at most {stuck} left sending)")


def quiet(dep: Deployment, redis_url: str, seconds: float = 4.0):
    """Wait until this deployment's queues are empty, then a little longer than a sweep."""
    import redis

    r = redis.Redis.from_url(redis_url)
    wait_for(lambda: all(r.llen(dep.prefix + q) == 0 for q in ("poll", "match", "deliver")), 30,
             what="empty queues")
    time.sleep(seconds)


@pytest.fixture
def db(request, tmp_path):
    try:
        return request.getfixturevalue("pg_url")
    except pytest.skip.Exception:
        return f"sqlite:///{tmp_path / 'monitor.sqlite'}"


# -- the tests --------------------------------------------------------------------------


def test_sigkill_of_a_worker_child_mid_batch(own_redis, deployment, feeds, hooks, db):
    """A pool process killed while it sends: its message goes back at once (reject on worker lost)."""
    hook = hooks(delay=0.3)
    url = feeds.add("kill-child", 30)
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[url], channels={"hook": hook.url})
    worker = dep.worker(2)
    dep.beat()
    # Kill the very process that is inside a send, while the receiver holds its request.
    def sender_in_flight():
        with hook.lock:
            ports = list(hook.in_flight) if len(hook.posts) >= 5 else []
        for port in ports:
            pid = pid_of_client_port(port, children(worker.pid))
            if pid:
                return pid
        return None

    victim = wait_for(sender_in_flight, 60, interval=0.02, what="a pool process inside a send")
    os.kill(victim, signal.SIGKILL)
    # Bound: the killed process's message is requeued and retried in seconds.
    assert_each_once(hook, 30, 60, "after SIGKILL of a pool process")
    # The sends in flight in the killed process (a batch sends DELIVER_THREADS at a time) may
    # stay "sending" until their claim, no longer renewed, lapses (delivery_heartbeat) and the
    # sweeper sends them again; the rest of its batch was never claimed and went out with the
    # redelivered message.
    from workers.tasks import DELIVER_THREADS

    settled(dep.store(), 30, stuck=DELIVER_THREADS)
    assert worker.poll() is None, dep.log_text()


def test_sigkill_of_the_whole_worker_then_a_new_one(own_redis, deployment, feeds, hooks, db):
    """Every message the dead worker held is recovered from the database by the sweeper."""
    hook = hooks(delay=0.3)
    url = feeds.add("kill-worker", 30)
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[url], channels={"hook": hook.url})
    worker = dep.worker(2)
    dep.beat()
    # Both pool processes inside a send: nothing is between "sending" and the channel.
    wait_for(lambda: len(hook.posts) >= 5 and len(hook.in_flight) >= 2, 60, what="two sends in flight")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    arrived = len(hook.titles())
    assert arrived < 30
    dep.worker(2)
    # Bound: stale_after (3 s) + a sweep (1 s) + the sends; their Redis copies come back
    # only after the visibility timeout, as harmless duplicates.
    assert_each_once(hook, 30, 60, "after SIGKILL of the whole worker and a new one")
    from workers.tasks import DELIVER_THREADS

    settled(dep.store(), 30, stuck=2 * DELIVER_THREADS)  # those in flight in the two killed processes


def test_a_dead_workers_sending_delivery_is_sent_once_its_death_is_seen_long_before_the_lease(
        own_redis, deployment, feeds, hooks, db):
    """A worker killed inside a send that never got through: its claim is no longer renewed,
    and once that shows (three heartbeats), the sweeper sends the alert again, once; with
    the lease at an hour, nothing waits for the lease."""
    hook = hooks(hold=1)  # the first send is held unanswered, and never taken in
    url = feeds.add("lease", 1)
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[url], channels={"hook": hook.url})
    claims = {"MONITOR_DELIVERY_LEASE": "3600", "MONITOR_DELIVERY_HEARTBEAT": "1"}
    worker = dep.worker(2, env=claims)
    dep.beat()
    store = dep.store()
    # Killed while the channel holds the request: well within apprise's 4 s read timeout,
    # so the send is neither through nor recorded failed.
    wait_for(lambda: len(hook.in_flight) == 1 and store.counts()["deliveries_sending"] == 1, 60,
             interval=0.02, what="the send in flight")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    [row] = store.list_deliveries()
    assert (row.status, row.attempts, len(hook.posts)) == ("sending", 1, 0), dep.log_text()
    dep.worker(2, env=claims)
    # Guard against a hang only: the lease (an hour) is never waited for.
    wait_for(lambda: hook.posts, 90, what="the alert sent again")
    quiet(dep, own_redis.url)
    assert len(hook.posts) == 1 and hook.attempts == 2, hook.posts
    [row] = store.list_deliveries()
    assert (row.status, row.attempts) == ("sent", 2), dep.log_text()


def test_sigterm_finishes_the_sends_in_hand(own_redis, deployment, feeds, hooks, db):
    """A warm shutdown: the tasks running finish and are recorded; the rest stays queued."""
    hook = hooks(delay=1.0)
    url = feeds.add("sigterm", 10)
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[url], channels={"hook": hook.url})
    worker = dep.worker(2)
    dep.beat()
    wait_for(lambda: len(hook.posts) >= 2 and len(hook.in_flight) >= 2, 60, what="two sends in flight")
    # To the main process, as docker (init: true) and systemd with KillMode=mixed do: a
    # SIGTERM to every pool process too would kill the sends in hand (KillMode=control-group).
    os.kill(worker.pid, signal.SIGTERM)
    assert worker.wait(60) == 0, dep.log_text()
    store = dep.store()
    counts = store.counts()
    assert counts["deliveries_sending"] == 0, counts  # the sends in hand were finished and recorded
    dep.worker(2)
    assert_each_once(hook, 10, 60, "after a SIGTERM and a new worker")
    settled(store, 10, stuck=0)


def test_redis_stopped_and_restarted_with_aof(own_redis, deployment, feeds, hooks, db):
    """Queued messages survive the restart (AOF); workers and beat reconnect by themselves."""
    hook = hooks(delay=0.2)
    url = feeds.add("redis-restart", 30)
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[url], channels={"hook": hook.url})
    worker = dep.worker(2)
    beat = dep.beat()
    wait_for(lambda: len(hook.posts) >= 3, 60, what="the first alerts")
    queued = own_redis.llen(dep.prefix + "deliver")
    own_redis.stop()
    time.sleep(2)  # down for a while: the workers' connections fail
    own_redis.start()
    # Bound: reconnection (kombu retries forever) + the sweeper for what was in hand.
    assert_each_once(hook, 30, 60, f"after a Redis restart with {queued} messages queued")
    assert worker.poll() is None and beat.poll() is None, dep.log_text()
    quiet(dep, own_redis.url)
    assert len(hook.posts) == 30


def test_redis_down_when_the_poller_publishes(own_redis, deployment, feeds, hooks, db):
    """The article waits in the outbox (matched_at NULL) and the sweeper queues it once Redis is back."""
    hook = hooks()
    url = feeds.add("redis-down", 3)
    stopped = threading.Event()

    def stop_redis():  # the broker dies while the worker is fetching: its publish will fail
        own_redis.stop()
        stopped.set()

    feeds.on_get["/redis-down.rss"] = stop_redis
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[url], channels={"hook": hook.url})
    dep.worker(2)
    dep.beat()
    wait_for(stopped.is_set, 60, what="the poll")
    store = dep.store()
    wait_for(lambda: store.counts()["articles"] == 3, 30, what="the articles stored")
    time.sleep(6)  # longer than the publish retries (about 5 s): the publish has failed by now
    st = store.status()
    assert st["stages"]["match"]["waiting"] == 3, st  # in the outbox, not lost
    assert hook.posts == []
    own_redis.start()
    # Bound: reconnection + stale_after (3 s) + a sweep (1 s).
    assert_each_once(hook, 3, 60, "after Redis came back")
    assert store.status()["stages"]["match"]["waiting"] == 0


def test_database_refusing_connections_for_a_while(own_redis, deployment, feeds, hooks, pg_url):
    """Tasks retry while PostgreSQL is unreachable; nothing is lost, nothing sent twice."""
    from sqlalchemy.engine import make_url

    real = make_url(pg_url)
    proxy = PgProxy(real.host or "127.0.0.1", real.port or 5432)
    try:
        via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        hook = hooks(delay=0.2)
        url = feeds.add("db-down", 30)
        dep = deployment(db=via_proxy, broker=own_redis.url, feed_urls=[url], channels={"hook": hook.url})
        worker = dep.worker(2)
        dep.beat()
        wait_for(lambda: len(hook.posts) >= 3, 60, what="the first alerts")
        proxy.down()
        time.sleep(4)
        proxy.up()
        # Bound: the database retry countdown (1, 2, 4 s...) + the sweeper.
        assert_each_once(hook, 30, 60, "after the database refused connections for 4 s")
        from monitor.adapters.store import Store

        from workers.tasks import DELIVER_THREADS

        # A send whose "sent" could not be written stays "sending" (not sent again): at most the
        # sends of one wave (DELIVER_THREADS) in each of the two processes.
        settled(Store.open(pg_url), 30, stuck=2 * DELIVER_THREADS)
        assert worker.poll() is None
        assert "database unavailable, retry" in dep.logs[0].read_text()
    finally:
        proxy.close()


def test_the_same_match_message_twice_gives_one_notification(own_redis, deployment, feeds, hooks, db):
    hook = hooks()
    url = feeds.add("twice", 1)
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[url], channels={"hook": hook.url})
    store = dep.store()
    from monitor.config import load_feeds
    from monitor.core.feeds import parse_feed

    store.sync_feeds(load_feeds(dep.tmp / "feeds.yaml"), default_interval=900)
    fid = store.feed_id(url)
    [aid] = store.record_poll(fid, status=200, articles=parse_feed(rss("twice", 1), url=url).articles)
    from workers import configure
    from workers.tasks import deliver, match_articles

    configure(dep.settings())
    for _ in range(2):  # one message, delivered twice (same id, as Redis would restore it)
        match_articles.apply_async(([aid],), task_id="same-match-message")
    dep.worker(2)
    wait_for(lambda: len(hook.posts) == 1, 30, what="the alert")
    [d] = store.list_deliveries()
    for _ in range(2):
        deliver.apply_async((d.id,), task_id="same-deliver-message")
    quiet(dep, own_redis.url)
    assert len(hook.posts) == 1
    assert store.counts()["deliveries_sent"] == 1


@pytest.mark.parametrize("fault", ["refuses", "hangs"])
def test_one_failing_channel_retries_alone_then_is_dead(own_redis, deployment, feeds, hooks, db, fault):
    good = hooks()
    # "hangs": answers after 3 s, past the 1 s read timeout of the channel URL (apprise's rto).
    bad = hooks(status=500) if fault == "refuses" else hooks(delay=3, query="?rto=1&cto=1")
    url = feeds.add(f"bad-{fault}", 1)
    rules = {"rules": [{"name": "nato", "keywords": {"any": ["NATO"]}, "channels": ["good", "bad"]}]}
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[url], rules=rules,
                     channels={"good": good.url, "bad": bad.url}, deliver_max_retries=2)
    dep.worker(2)
    dep.beat()
    store = dep.store()
    # Bound: 3 attempts, 0.5 s then 1 s apart (+ 1 s timeouts when it hangs).
    wait_for(lambda: store.counts()["deliveries_dead"] == 1, 60, what="the failing channel's delivery dead")
    assert bad.attempts == 3  # the first attempt and deliver_max_retries=2 retries
    assert len(good.posts) == 1 and good.attempts == 1  # never sent again
    out = run_monitor("--config", dep.config, "alerts", "list", "--status", "dead", env=FAST_SWEEP)
    assert out.returncode == 0, out.stderr
    assert "dead" in out.stdout and "-> bad" in out.stdout and "attempts 3" in out.stdout, out.stdout
    status = run_monitor("--config", dep.config, "status", "--json", env=FAST_SWEEP)
    if status.returncode == 0:  # once the command is registered in monitor/cli/
        import json

        report = json.loads(status.stdout)
        assert report["dead_deliveries"] == 1 and report["failing_channels"]["bad"]["dead"] == 1


def test_a_poison_article_is_dead_lettered_and_the_batch_goes_on(own_redis, deployment, feeds, hooks, db):
    """Matching one article raises (its feed's tags are corrupt): split, retried, dead-lettered after 3."""
    hook = hooks()
    good_url, bad_url = feeds.add("good", 10), feeds.add("poison", 1)
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[good_url, bad_url], channels={"hook": hook.url})
    store = dep.store()
    from sqlmodel import Session, update

    from monitor.config import load_feeds
    from monitor.core.feeds import parse_feed
    from monitor.adapters.store import Feed

    store.sync_feeds(load_feeds(dep.tmp / "feeds.yaml"), default_interval=900)
    ids = []
    for url, name, n in ((good_url, "good", 10), (bad_url, "poison", 1)):
        ids += store.record_poll(store.feed_id(url), status=200,
                                 articles=parse_feed(rss(name, n), url=url).articles)
    with Session(store.engine) as s:  # a value the matcher cannot hash: TypeError in matching
        s.exec(update(Feed).where(Feed.id == store.feed_id(bad_url)).values(tags=[["corrupt"]]))
        s.commit()
    from workers import configure
    from workers.tasks import match_articles

    configure(dep.settings())
    match_articles.delay(sorted(ids))  # one batch, the poison in it
    worker = dep.worker(2)
    assert_each_once(hook, 10, 60, "the rest of the batch")
    wait_for(lambda: store.dead_letters(), 60, what="the dead letter")
    [dl] = store.dead_letters()
    assert dl.kind == "article" and dl.item_id == store.articles(ids)[-1].id
    assert dl.attempts == 3 and "TypeError" in dl.reason and "unhashable" in dl.reason, dl
    # The sweeper does not queue it again, and status shows it.
    dep.beat()
    quiet(dep, own_redis.url)
    assert len(store.dead_letters()) == 1 and len(hook.posts) == 10
    st = store.status()
    assert st["dead_letters"] == {"article": 1} and st["stages"]["match"]["waiting"] == 0
    assert worker.poll() is None


@pytest.mark.parametrize("death", ["crash", "hard time limit"])
def test_a_message_that_never_finishes_is_dead_lettered(own_redis, deployment, feeds, hooks, db, death):
    """A match message whose process dies every time is counted per delivery: a crash or out of
    memory (the message comes back), or a kill at the hard time limit (Celery acknowledges it)."""
    hook = hooks()
    url = feeds.add("dies", 1)
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[url], channels={"hook": hook.url})
    store = dep.store()
    from celery.exceptions import TimeLimitExceeded

    from monitor.config import load_feeds
    from monitor.core.feeds import parse_feed

    store.sync_feeds(load_feeds(dep.tmp / "feeds.yaml"), default_interval=900)
    [aid] = store.record_poll(store.feed_id(url), status=200, articles=parse_feed(rss("dies", 1), url=url).articles)
    # Three deliveries of this very message started (each noted) and died with their process.
    for _ in range(3):
        store.note_attempt("match:dying-message:0", "match")
    from workers import configure
    from workers.tasks import match_articles

    configure(dep.settings())
    if death == "crash":
        match_articles.apply_async(([aid],), task_id="dying-message")
    else:
        # What the worker's main process does after killing the child at the hard time
        # limit, before acknowledging the message.
        match_articles.on_failure(TimeLimitExceeded(150), "dying-message", ([aid],), {}, None)
    dep.worker(1)
    wait_for(lambda: store.dead_letters(), 30, what="the dead letter")
    [dl] = store.dead_letters()
    assert dl.item_id == aid and "never finished" in dl.reason
    assert hook.posts == []


def test_two_beat_processes_poll_each_feed_once_per_interval(own_redis, deployment, feeds, hooks, db):
    hook = hooks()
    url = feeds.add("two-beats", 1)
    dep = deployment(db=db, broker=own_redis.url, feed_urls=[url], channels={"hook": hook.url}, interval=2,
                     poll_tick=0.25)
    dep.worker(2)
    dep.beat()
    dep.beat()
    wait_for(lambda: feeds.hits.get("/two-beats.rss", 0) >= 5, 60, what="5 polls")
    times = [r.at for r in feeds.requests if r.path == "/two-beats.rss"]
    gaps = [b - a for a, b in zip(times, times[1:])]
    # A double poll would be two requests a few milliseconds apart; claims are
    # 0.8 s apart at least (90 % of the interval, less at most half of it for the
    # scheduler's tick and dispatch), less the queueing jitter.
    assert min(gaps) > 0.3, gaps
    assert len(hook.posts) == 1

"""Feed ingestion benchmark: the real worker setup against bare feedparser.

Serves N distinct 50-item feeds from a local HTTP server (its own process),
then, in one run:

1. ingestion: `monitor worker` processes on Redis (PostgreSQL when reachable,
   else SQLite) poll every feed once through the real tasks (dispatch, fetch,
   parse, dedup, store, queue the match work); articles/s until every article
   is stored. The timed window opens when the dispatch task is queued, with
   the new feeds written to the feeds file: it holds the worker reloading that
   file into the database, claiming the due feeds and queueing their polls, all
   the polls, and up to 0.25 s until the article count is seen complete;
2. the floor: the same bytes through bare ``feedparser.parse`` in this process;
3. unchanged feeds: every feed polled again while the server answers 304;
   polls/s;
4. memory: the workers' peak RSS after a tenth of the feeds and after all.

    python bench/feeds.py            # 1,000 feeds
    python bench/feeds.py --quick    # 100 feeds

Ends with one line of JSON holding every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ITEMS = 50
WORDS_FR = ("l’OTAN Ukraine Kiev Moscou sommet alliance défense ministre gouvernement élection budget "
            "réforme énergie climat accord frontière sanctions négociations président armée Europe").split()
WORDS_EN = ("NATO Ukraine Kyiv Moscow summit alliance defence minister government election budget reform "
            "energy climate agreement border sanctions talks president army Europe").split()


_SYLLABLES = "ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu " \
             "ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu".split()
FILLER = sorted({"".join(r.choice(_SYLLABLES) for _ in range(2 + k % 3))
                 for k, r in ((k, random.Random(k)) for k in range(3000))})


def make_feed(i: int) -> bytes:
    """Feed number i: 50 items, distinct URLs, ~600 characters of text each.

    Mostly filler words from a vocabulary of thousands, with news terms mixed in,
    so that articles are distinct stories, as in real feeds.
    """
    rng = random.Random(i)
    topical = WORDS_FR if i % 2 else WORDS_EN

    def word() -> str:
        return rng.choice(topical) if rng.random() < 0.15 else rng.choice(FILLER)

    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    items = []
    for j in range(ITEMS):
        title = " ".join(word() for _ in range(9)).capitalize()
        text = ". ".join(" ".join(word() for _ in range(12)) for _ in range(8))
        when = format_datetime(now - timedelta(minutes=37 * j + i), usegmt=True)
        items.append(f"<item><title>{escape(title)}</title>"
                     f"<link>https://news{i % 50}.example.org/{i}/{j}?utm_source=rss</link>"
                     f"<guid isPermaLink=\"false\">feed{i}-item{j}</guid><pubDate>{when}</pubDate>"
                     f"<description>{escape('<p>' + text + '.</p>')}</description></item>")
    lang = "fr" if i % 2 else "en"
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Feed {i}</title><link>https://news{i % 50}.example.org/</link>"
            f"<description>bench</description><language>{lang}</language>{''.join(items)}"
            f"</channel></rss>").encode("utf-8")


# -- a small keep-alive HTTP server in its own process --------------------------


def _serve(port: int, n: int, ready) -> None:
    bodies = {f"/feed/{i}.xml".encode(): make_feed(i) for i in range(n)}
    etags = {p: f'"{hash(b) & 0xffffffff:x}"'.encode() for p, b in bodies.items()}
    serve_feeds(lambda path: (bodies.get(path), etags.get(path)), port, ready)


def serve_feeds(feed, port: int, ready) -> None:
    """Serve feeds over keep-alive HTTP/1.1 on a loopback port, with ETags and 304s.

    ``feed(path)`` gives (body, etag) of the feed at that path, or (None, None) for a 404.
    """
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.split(b"\r\n")
                inm = next((ln.split(b":", 1)[1].strip() for ln in lines[1:]
                            if ln.lower().startswith(b"if-none-match:")), None)
                body, etag = feed(lines[0].split(b" ")[1])
                if body is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                elif inm == etag:
                    writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\n"
                                 b"ETag: " + etag + b"\r\nContent-Length: "
                                 + str(len(body)).encode() + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    serve_forever(handle, port, ready)


def serve_forever(handle, port: int, ready) -> None:
    """Run an asyncio connection handler on a loopback port; set ``ready`` once listening."""
    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def peak_rss(pid: int) -> float | None:
    """Peak RSS (VmHWM) of one process in MB; None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def peak_rss_mb(pid: int) -> float:
    """Peak RSS (VmHWM) of a process and its children, the largest one, in MB."""
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        pids += [int(p) for p in out.split()]
    except OSError:
        pass
    return max([v for v in map(peak_rss, pids) if v is not None], default=0.0)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)  # the check itself must not steal the CPU being measured
    raise SystemExit(f"bench: timed out waiting for {what}")


class BenchServices:
    """Redis (the machine's, else one started on a free port) and a fresh PostgreSQL
    database (else SQLite in ``tmp``), for one benchmark run; ``stop()`` removes them."""

    def __init__(self, tmp: Path):
        self.redis_proc = None
        if reachable("127.0.0.1", 6379):
            self.broker = "redis://127.0.0.1:6379/0"
        else:
            port = free_port()
            self.redis_proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                                                "--appendonly", "no"], stdout=subprocess.DEVNULL)
            wait_for(lambda: reachable("127.0.0.1", port), 10, "redis-server")
            self.broker = f"redis://127.0.0.1:{port}/0"
        self.pg_name = self.admin = None
        if reachable("127.0.0.1", 5432):
            from sqlalchemy import create_engine, text

            self.pg_name = f"mm_bench_{uuid.uuid4().hex[:8]}"
            self.admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test",
                                       isolation_level="AUTOCOMMIT")
            with self.admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{self.pg_name}"'))
            self.database = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.pg_name}"
        else:
            self.database = f"sqlite:///{tmp / 'bench.sqlite'}"
        self.kind = "postgresql" if self.pg_name else "sqlite"

    def stop(self) -> None:
        if self.pg_name:
            from sqlalchemy import text

            with self.admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'))
        if self.redis_proc:
            self.redis_proc.terminate()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 feeds instead of 1,000")
    ap.add_argument("--feeds", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of unchanged-feed polls")
    args = ap.parse_args()
    n = args.feeds or (100 if args.quick else 1000)

    tmp = Path(tempfile.mkdtemp(prefix="mm-bench-"))
    services = BenchServices(tmp)
    broker, database = services.broker, services.database

    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(port, n, ready), daemon=True)
    server.start()
    ready.wait(60)

    import yaml

    from monitor.config import load_settings
    from monitor.adapters.store import Feed, Store
    from sqlmodel import Session, update

    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    feeds = [{"url": f"http://127.0.0.1:{port}/feed/{i}.xml", "name": f"Feed {i}", "interval": 3600}
             for i in range(n)]
    (tmp / "rules").mkdir()
    (tmp / "rules" / "r.yaml").write_text("rules:\n  - name: otan\n    keywords: {any: [OTAN, NATO]}\n")
    cfg = tmp / "monitor.yaml"
    cfg.write_text(yaml.safe_dump({
        "database_url": database, "broker_url": broker, "queue_prefix": prefix, "rules_path": "rules",
        "feeds_path": "feeds.yaml", "allow_networks": ["127.0.0.1"], "log_level": "WARNING",
        "data_dir": "data"}))

    def write_feeds(k: int) -> None:
        (tmp / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds[:k]}))

    write_feeds(max(1, n // 10))
    settings = load_settings(cfg, environ={})
    from workers import configure
    from workers.tasks import dispatch_due_feeds

    app = configure(settings)
    store = Store.open(settings.effective_database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    worker = subprocess.Popen([sys.executable, "-m", "monitor.cli", "--config", str(cfg), "worker",
                               "-c", str(args.workers), "-Q", "poll"], cwd=tmp, env=env,
                              stdout=open(tmp / "worker.log", "wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    results: dict = {"feeds": n, "items_per_feed": ITEMS, "workers": args.workers,
                     "database": services.kind}
    try:
        wait_for(lambda: app.control.ping(timeout=0.5), 60, "the worker")

        def ingest(k: int) -> float:
            write_feeds(k)
            os.utime(tmp / "feeds.yaml", (time.time() + k, time.time() + k))
            t0 = time.perf_counter()
            dispatch_due_feeds.delay()
            wait_for(lambda: article_count() >= k * ITEMS, 600, f"{k * ITEMS} articles")
            return time.perf_counter() - t0

        def article_count() -> int:
            from sqlmodel import func, select

            from monitor.adapters.store import StoredArticleRow

            with Session(store.engine) as s:
                return s.exec(select(func.count()).select_from(StoredArticleRow)).one()

        # warm-up and the small size: a tenth of the feeds
        small = max(1, n // 10)
        ingest(small)
        results["peak_rss_mb_at_tenth"] = round(peak_rss_mb(worker.pid), 1)
        elapsed = ingest(n)
        articles = (n - small) * ITEMS
        results["articles_per_s"] = round(articles / elapsed, 1)
        results["peak_rss_mb"] = round(peak_rss_mb(worker.pid), 1)

        # the floor: bare feedparser on the same bytes, one process
        import feedparser

        bodies = [make_feed(i) for i in range(small, n)]
        t0 = time.perf_counter()
        parsed = sum(len(feedparser.parse(io.BytesIO(b)).entries) for b in bodies)
        floor_s = time.perf_counter() - t0
        assert parsed == articles, (parsed, articles)
        results["floor_articles_per_s"] = round(articles / floor_s, 1)
        results["ratio_to_floor"] = round(results["articles_per_s"] / results["floor_articles_per_s"], 2)

        # unchanged feeds: every server answer is 304
        polls = 0
        t_total = 0.0
        for _ in range(args.rounds):
            with Session(store.engine) as s:
                s.exec(update(Feed).values(next_poll_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
                s.commit()
            mark = datetime.now(timezone.utc)
            t0 = time.perf_counter()
            dispatch_due_feeds.delay()

            def done():
                with Session(store.engine) as s:
                    from sqlmodel import func, select

                    return s.exec(select(func.count()).select_from(Feed)
                                  .where(Feed.last_polled_at >= mark.replace(tzinfo=None)
                                         if store.dialect == "sqlite" else Feed.last_polled_at >= mark)).one() >= n

            wait_for(done, 600, "a round of unchanged polls")
            t_total += time.perf_counter() - t0
            polls += n
        results["unchanged_polls_per_s"] = round(polls / t_total, 1)
        results["feeds_at_5min_interval"] = int(results["unchanged_polls_per_s"] * 300)
        results["peak_rss_mb_after_304s"] = round(peak_rss_mb(worker.pid), 1)
        results["rss_growth_tenth_to_all"] = round(results["peak_rss_mb"] / results["peak_rss_mb_at_tenth"], 2)
        stored = store.counts()
        assert stored["articles"] == n * ITEMS, stored
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        server.terminate()
        store.close()
        with app.connection_for_write() as conn:  # drop the queued match work of this run
            for q in ("poll", "match", "deliver"):
                try:
                    conn.default_channel.queue_purge(prefix + q)
                except Exception:
                    pass
        services.stop()

    print(f"feeds: {n} x {ITEMS} items, {args.workers} worker processes, {results['database']} + redis")
    print(f"ingestion (fetch, parse, dedup, store, queue): {results['articles_per_s']:>9.1f} articles/s")
    print(f"floor (bare feedparser.parse, one process):    {results['floor_articles_per_s']:>9.1f} articles/s")
    print(f"ratio to floor:                                {results['ratio_to_floor']:>9.2f}  (goal >= 1.0)")
    print(f"unchanged feeds (304):                         {results['unchanged_polls_per_s']:>9.1f} polls/s "
          f"(= {results['feeds_at_5min_interval']} feeds at a 5-minute interval; goal >= 500/s)")
    print(f"worker peak RSS: {results['peak_rss_mb_at_tenth']} MB at {n // 10} feeds, "
          f"{results['peak_rss_mb']} MB at {n} feeds (x{results['rss_growth_tenth_to_all']}), "
          f"{results['peak_rss_mb_after_304s']} MB after the 304 rounds")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

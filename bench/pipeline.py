"""End-to-end benchmark: a burst of new articles, processed to the last alert.

2,000 feeds of 50 new items each (100,000 articles) appear at once on a local
feed server (its own process, bench/feeds.py's server); one `monitor worker`
with two pool processes polls, stores, matches and delivers them through Redis
and PostgreSQL (SQLite when PostgreSQL is unreachable). One rule matches the
English half; its channel is a json:// webhook on a fast local receiver (its own
process). Prints:

- articles/s end to end (burst published -> last alert received);
- arrival-to-alert latency, median and p99 (arrival = the burst's publication;
  in a burst this is mostly queueing), and poll-to-alert (article stored -> alert);
- alerts received, duplicates, and peak RSS of every process.

Then a live phase, on the same worker and database, with `monitor beat` running:
1,000 more feeds, polled every 10 s, where new articles appear one by one at a
steady 300 articles/s for 60 s. Each article's arrival is the moment it appears
in its feed; the run prints arrival-to-alert, median and p99, against the goal
of 2 s plus the poll interval (an article waits for the next poll of its feed).

    python bench/pipeline.py            # 2,000 feeds, 100,000 articles; live 1,000 feeds, 300/s, 60 s
    python bench/pipeline.py --quick    # 100 feeds, 5,000 articles; live 100 feeds, 50/s, 20 s
    python bench/pipeline.py --stories matched   # group only matched articles into stories

Ends with one line of JSON holding every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from feeds import (ITEMS, BenchServices, _serve, free_port, make_feed, peak_rss,  # noqa: E402
                   serve_feeds, serve_forever, wait_for)  # (bench/feeds.py)

LINK = re.compile(rb"news\d+\.example\.org/(\d+)/(\d+)")


# -- a fast webhook receiver in its own process ------------------------------------


def _receive(port: int, ready, out_path: str, count) -> None:
    """Answer every POST with 200; record (receive time, feed, item) of each alert."""
    records: list[tuple[float, int, int]] = []

    def flush(*_):
        with open(out_path, "w") as f:
            for t, i, j in records:
                f.write(f"{t:.6f} {i} {j}\n")
        os._exit(0)

    signal.signal(signal.SIGTERM, flush)

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                now = time.time()
                m = LINK.search(body)
                records.append((now, int(m.group(1)), int(m.group(2))) if m else (now, -1, -1))
                with count.get_lock():
                    count.value += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    serve_forever(handle, port, ready)


# -- live feeds: articles appearing one by one, in their own process ---------------

LIVE_BASE = 1_000_000  # live feed i links its items as feed LIVE_BASE + i (the receiver's key)
LIVE_SHOWN = 20  # items a live feed shows, newest first


def arrival(start: float, feeds: int, rate: float, i: int, j: int) -> float:
    """When item j of live feed i appears: the (j * feeds + i)-th article, at ``rate`` a second."""
    return start + (j * feeds + i) / rate


def _serve_live(port: int, feeds: int, rate: float, start, stop, ready) -> None:
    """Live feed i at /live/i.xml: the items that have appeared (before ``stop``), newest first."""
    from email.utils import format_datetime
    from xml.sax.saxutils import escape

    from feeds import FILLER, WORDS_EN, WORDS_FR

    cache: dict[tuple[int, int], str] = {}

    def item(i: int, j: int) -> str:
        got = cache.get((i, j))
        if got is None:
            rng = random.Random(i * 100_003 + j)
            topical = WORDS_FR if i % 2 else WORDS_EN
            word = lambda: rng.choice(topical) if rng.random() < 0.15 else rng.choice(FILLER)  # noqa: E731
            title = " ".join(word() for _ in range(9)).capitalize()
            text = ". ".join(" ".join(word() for _ in range(12)) for _ in range(8))
            when = datetime.fromtimestamp(arrival(start.value, feeds, rate, i, j), timezone.utc)
            got = cache[i, j] = (
                f"<item><title>{escape(title)}</title>"
                f"<link>https://news{i % 50}.example.org/{LIVE_BASE + i}/{j}</link>"
                f"<guid isPermaLink=\"false\">live{i}-item{j}</guid><pubDate>{format_datetime(when, usegmt=True)}"
                f"</pubDate><description>{escape('<p>' + text + '.</p>')}</description></item>")
        return got

    def body(i: int) -> tuple[bytes, bytes]:
        now = min(time.time(), stop.value) if start.value else 0.0
        # items j with arrival <= now: j <= ((now - start) * rate - i) / feeds
        last = math.floor(((now - start.value) * rate - i) / feeds) if start.value else -1
        shown = [item(i, j) for j in range(last, max(-1, last - LIVE_SHOWN), -1)]
        lang = "fr" if i % 2 else "en"
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Live {i}</title>'
               f"<link>https://news{i % 50}.example.org/</link><description>bench</description>"
               f"<language>{lang}</language>{''.join(shown)}</channel></rss>").encode()
        return xml, f'"{last}"'.encode()

    def feed(path: bytes) -> tuple[bytes | None, bytes | None]:
        m = re.fullmatch(rb"/live/(\d+)\.xml", path)
        return body(int(m.group(1))) if m and int(m.group(1)) < feeds else (None, None)

    serve_feeds(feed, port, ready)


# -- measuring ---------------------------------------------------------------------


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def cpu_times() -> tuple[int, int, int]:
    """(all CPU time, time stolen by the hypervisor, time idle or waiting for I/O) of this
    machine so far, in ticks (Linux)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0, 0
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0, fields[3] + fields[4]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 feeds (5,000 articles) instead of 2,000")
    ap.add_argument("--feeds", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2, help="worker pool processes (default 2)")
    ap.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    ap.add_argument("--live-feeds", type=int, default=None, help="live phase: feeds (default 1,000; quick 100)")
    ap.add_argument("--live-rate", type=float, default=None,
                    help="live phase: new articles a second (default 300; quick 50)")
    ap.add_argument("--live-seconds", type=float, default=None, help="live phase: how long (default 60; quick 20)")
    ap.add_argument("--live-interval", type=int, default=10, help="live phase: seconds between polls of a feed")
    ap.add_argument("--stories", choices=["all", "matched"], default="all",
                    help="the stories setting: group all articles (default) or only matched ones")
    args = ap.parse_args()
    n = args.feeds or (100 if args.quick else 2000)
    live_feeds = args.live_feeds or (100 if args.quick else 1000)
    live_rate = args.live_rate or (50.0 if args.quick else 300.0)
    live_seconds = args.live_seconds or (20.0 if args.quick else 60.0)

    tmp = Path(tempfile.mkdtemp(prefix="mm-bench-pipeline-"))
    services = BenchServices(tmp)
    broker, database = services.broker, services.database

    feed_port, hook_port, live_port = free_port(), free_port(), free_port()
    ready_feeds, ready_hook, ready_live = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Event()
    received = multiprocessing.Value("i", 0)
    live_start, live_stop = multiprocessing.Value("d", 0.0), multiprocessing.Value("d", 0.0)
    feed_server = multiprocessing.Process(target=_serve, args=(feed_port, n, ready_feeds), daemon=True)
    hook_server = multiprocessing.Process(target=_receive, args=(hook_port, ready_hook, str(tmp / "alerts.txt"),
                                                                 received), daemon=True)
    live_server = multiprocessing.Process(target=_serve_live, args=(live_port, live_feeds, live_rate, live_start,
                                                                    live_stop, ready_live), daemon=True)
    feed_server.start()
    hook_server.start()
    live_server.start()
    ready_feeds.wait(120)
    ready_hook.wait(60)
    ready_live.wait(60)

    import yaml

    prefix = f"benchp{uuid.uuid4().hex[:6]}-"
    (tmp / "rules").mkdir()
    # Feeds alternate English and French: the rule matches the English half.
    (tmp / "rules" / "r.yaml").write_text(yaml.safe_dump({"rules": [
        {"name": "nato", "keywords": {"any": ["NATO"]}, "languages": ["en"], "channels": ["hook"]}]}))
    burst_feeds = [{"url": f"http://127.0.0.1:{feed_port}/feed/{i}.xml", "name": f"Feed {i}", "interval": 3600}
                   for i in range(n)]
    (tmp / "feeds.yaml").write_text(yaml.safe_dump({"feeds": burst_feeds}))
    cfg = tmp / "monitor.yaml"
    cfg.write_text(yaml.safe_dump({
        # the live phase's beat looks for due feeds every second
        "poll_tick": 1.0,
        "database_url": database, "broker_url": broker, "queue_prefix": prefix, "rules_path": "rules",
        "feeds_path": "feeds.yaml", "allow_networks": ["127.0.0.1"], "log_level": "WARNING", "data_dir": "data",
        "channels": {"hook": f"json://127.0.0.1:{hook_port}/hook"}, "stories": args.stories}))

    from monitor.config import load_settings
    from monitor.adapters.store import Store
    from workers import configure
    from workers.tasks import dispatch_due_feeds

    settings = load_settings(cfg, environ={})
    app = configure(settings)
    store = Store.open(settings.effective_database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    worker = subprocess.Popen([sys.executable, "-m", "monitor.cli", "--config", str(cfg), "worker",
                               "-c", str(args.workers)], cwd=tmp, env=env,
                              stdout=open(tmp / "worker.log", "wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    results: dict = {"feeds": n, "articles": n * ITEMS, "worker_processes": args.workers, "stories": args.stories,
                     "database": services.kind, "broker": "redis"}
    rss: dict[str, float | None] = {}

    beat = None
    live_total = math.floor(live_seconds * live_rate) + 1  # articles k = 0 .. rate * seconds

    def sample_rss():
        procs = {"worker-main": worker.pid, "feed-server": feed_server.pid, "receiver": hook_server.pid,
                 "live-feed-server": live_server.pid}
        if beat is not None:
            procs["beat"] = beat.pid
        for k, pid in enumerate(sorted(children(worker.pid))):
            procs[f"worker-pool-{k + 1}"] = pid
        for name, pid in procs.items():
            v = peak_rss(pid)
            if v is not None:
                rss[name] = max(rss.get(name) or 0, v)

    from sqlalchemy import text as sql

    def all_alerted(articles: int, mark: str | None = None):
        """True once ``articles`` are stored and matched, and every delivery is sent and received."""
        stored_all = False

        def done() -> bool:
            # Light queries only (one a second): the check must not load the database
            # being measured (row counts of every table, as store.counts() does, did).
            nonlocal stored_all
            sample_rss()
            with store.engine.connect() as conn:
                if not stored_all:
                    if conn.execute(sql("SELECT count(*) FROM article")).scalar() < articles:
                        return False
                    stored_all = True
                if mark and mark not in results:
                    if conn.execute(sql("SELECT EXISTS (SELECT 1 FROM article WHERE matched_at IS NULL)")).scalar():
                        return False
                    results[mark] = round(time.time() - t0, 2)  # only sends left
                by = dict(conn.execute(sql("SELECT status, count(*) FROM delivery GROUP BY status")).all())
            total = sum(by.get(s, 0) for s in ("pending", "sending", "sent", "failed", "dead"))
            return total > 0 and by.get("sent", 0) + by.get("dead", 0) == total and received.value >= by.get("sent", 0)
        return done

    try:
        wait_for(lambda: app.control.ping(timeout=0.5), 120, "the worker")
        t0, cpu0 = time.time(), cpu_times()
        dispatch_due_feeds.delay()  # the burst: every feed is due, every item is new
        wait_for(all_alerted(n * ITEMS, "matched_all_s"), args.timeout, "the last alert", 1.0)
        t_end, cpu1 = time.time(), cpu_times()
        sample_rss()

        # The live phase: new feeds, polled by the beat every live_interval seconds.
        (tmp / "feeds.yaml").write_text(yaml.safe_dump({"feeds": burst_feeds + [
            {"url": f"http://127.0.0.1:{live_port}/live/{i}.xml", "name": f"Live {i}",
             "interval": args.live_interval} for i in range(live_feeds)]}))
        beat = subprocess.Popen([sys.executable, "-m", "monitor.cli", "--config", str(cfg), "beat"], cwd=tmp,
                                env=env, stdout=open(tmp / "beat.log", "wb"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        live_start.value = time.time() + 3  # the beat's first polls find empty feeds
        live_stop.value = live_start.value + live_seconds
        time.sleep(max(0.0, live_stop.value - time.time()))
        wait_for(all_alerted(n * ITEMS + live_total), args.timeout, "the last live alert", 1.0)
        sample_rss()
    finally:
        for proc in (beat, worker):
            if proc is None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        hook_server.terminate()
        hook_server.join(30)
        feed_server.terminate()
        live_server.terminate()

    # The machine's speed in this run, for comparing runs on different or busy machines: bare
    # feedparser on one core over the burst's own feeds, and the CPU time the hypervisor took.
    import feedparser

    bodies = [make_feed(i) for i in range(min(n, 200))]
    start = time.process_time()
    parsed = sum(len(feedparser.parse(io.BytesIO(b)).entries) for b in bodies)
    results["reference_parse_articles_per_s"] = round(parsed / (time.process_time() - start), 1)
    results["cpu_steal_pct"] = round(100 * (cpu1[1] - cpu0[1]) / max(1, cpu1[0] - cpu0[0]), 1)
    results["cpu_idle_pct"] = round(100 * (cpu1[2] - cpu0[2]) / max(1, cpu1[0] - cpu0[0]), 1)
    counts = store.counts()  # once, after the run
    lines = (tmp / "alerts.txt").read_text().split("\n") if (tmp / "alerts.txt").exists() else []
    everything = [(float(t), int(i), int(j)) for t, i, j in (ln.split() for ln in lines if ln)]
    alerts = [a for a in everything if a[1] < LIVE_BASE]  # the burst's
    live = [(t, i - LIVE_BASE, j) for t, i, j in everything if i >= LIVE_BASE]
    last = max(t for t, _, _ in alerts)
    keys = [(i, j) for _, i, j in everything]  # both phases: no alert may come twice
    burst_keys = {(i, j) for _, i, j in alerts}
    # when each article was stored (the poll that found it), by its feed and item number
    from sqlmodel import Session, select

    from monitor.adapters.store import StoredArticleRow

    stored_at = {}
    with Session(store.engine) as s:
        for url, fetched in s.exec(select(StoredArticleRow.url, StoredArticleRow.fetched_at)):
            m = LINK.search(url.encode())
            if m:
                stored_at[(int(m.group(1)), int(m.group(2)))] = fetched.timestamp() if fetched.tzinfo \
                    else fetched.replace(tzinfo=timezone.utc).timestamp()
    waited = [t - t0 for t, _, _ in alerts]
    poll_to_alert = [t - stored_at[(i, j)] for t, i, j in alerts if (i, j) in stored_at]
    live_waited = [t - arrival(live_start.value, live_feeds, live_rate, i, j) for t, i, j in live]
    live_poll_to_alert = [t - stored_at[(LIVE_BASE + i, j)] for t, i, j in live if (LIVE_BASE + i, j) in stored_at]
    elapsed = last - t0
    live_goal = 2 + args.live_interval
    results.update({
        "matches": counts["matches"], "alerts_received": len(alerts), "alerts_distinct": len(burst_keys),
        "duplicates": len(keys) - len(set(keys)), "deliveries_sent": counts["deliveries_sent"],
        "deliveries_dead": counts["deliveries_dead"],
        "seconds": round(elapsed, 2), "articles_per_s": round(n * ITEMS / elapsed, 1),
        "alerts_per_s": round(len(alerts) / elapsed, 1),
        "arrival_to_alert_median_s": round(percentile(waited, 0.5), 2),
        "arrival_to_alert_p99_s": round(percentile(waited, 0.99), 2),
        "poll_to_alert_median_s": round(percentile(poll_to_alert, 0.5), 2),
        "poll_to_alert_p99_s": round(percentile(poll_to_alert, 0.99), 2),
        "wall_s_until_all_recorded": round(t_end - t0, 2),
        "poll_match_articles_per_s": round(n * ITEMS / results["matched_all_s"], 1),
        "live_feeds": live_feeds, "live_rate": live_rate, "live_seconds": live_seconds,
        "live_interval_s": args.live_interval, "live_articles": live_total, "live_alerts": len(live),
        "live_arrival_to_alert_median_s": round(percentile(live_waited, 0.5), 2),
        "live_arrival_to_alert_p99_s": round(percentile(live_waited, 0.99), 2),
        "live_arrival_to_alert_max_s": round(max(live_waited, default=float("nan")), 2),
        "live_poll_to_alert_median_s": round(percentile(live_poll_to_alert, 0.5), 2),
        "live_poll_to_alert_p99_s": round(percentile(live_poll_to_alert, 0.99), 2),
        "live_goal_s": live_goal,
        "live_p99_within_goal": percentile(live_waited, 0.99) < live_goal,
        "peak_rss_mb": rss,
    })
    results["ratio_to_reference"] = round(results["articles_per_s"] / results["reference_parse_articles_per_s"], 3)
    store.close()
    with app.connection_for_write() as conn:  # drop anything of this run left queued
        for q in ("poll", "match", "deliver"):
            try:
                conn.default_channel.queue_purge(prefix + q)
            except Exception:
                pass
    services.stop()

    print(f"burst: {n} feeds x {ITEMS} items = {n * ITEMS} articles, {args.workers} worker processes, "
          f"{results['database']} + redis; rule matches the English half")
    print(f"end to end:        {results['articles_per_s']:>9.1f} articles/s  ({results['seconds']} s to the last "
          f"alert; goal >= 1000/s)")
    print(f"alerts:            {results['alerts_received']} received, {results['alerts_distinct']} distinct, "
          f"{results['alerts_per_s']}/s; {results['duplicates']} duplicates in both phases")
    print(f"arrival -> alert:  median {results['arrival_to_alert_median_s']} s, p99 "
          f"{results['arrival_to_alert_p99_s']} s (burst: mostly queueing)")
    print(f"poll + match:      {n * ITEMS / results['matched_all_s']:>9.1f} articles/s (all stored and matched "
          f"after {results['matched_all_s']} s; the rest of the time is sending)")
    print(f"poll -> alert:     median {results['poll_to_alert_median_s']} s, p99 {results['poll_to_alert_p99_s']} s")
    print(f"live: {live_feeds} feeds polled every {args.live_interval} s, {live_total} new articles at "
          f"{live_rate:g}/s for {live_seconds:g} s, {len(live)} alerts")
    print(f"arrival -> alert:  median {results['live_arrival_to_alert_median_s']} s, p99 "
          f"{results['live_arrival_to_alert_p99_s']} s, max {results['live_arrival_to_alert_max_s']} s "
          f"(goal p99 < {live_goal} s: 2 s + the poll interval)")
    print(f"poll -> alert:     median {results['live_poll_to_alert_median_s']} s, p99 "
          f"{results['live_poll_to_alert_p99_s']} s")
    print("peak RSS (MB):     " + ", ".join(f"{k} {v}" for k, v in rss.items()))
    print(f"this machine:      bare feedparser on one core {results['reference_parse_articles_per_s']} articles/s "
          f"(end to end is {results['ratio_to_reference']}x that); {results['cpu_steal_pct']}% of the CPU "
          f"taken by the hypervisor and {results['cpu_idle_pct']}% idle (or waiting for I/O) during the burst")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

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

    python bench/pipeline.py            # 2,000 feeds, 100,000 articles
    python bench/pipeline.py --quick    # 100 feeds, 5,000 articles

Ends with one line of JSON holding every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from feeds import ITEMS, BenchServices, _serve, free_port, peak_rss, serve_forever, wait_for  # noqa: E402  (bench/feeds.py)

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 feeds (5,000 articles) instead of 2,000")
    ap.add_argument("--feeds", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2, help="worker pool processes (default 2)")
    ap.add_argument("--timeout", type=float, default=1800, help="give up after this many seconds")
    args = ap.parse_args()
    n = args.feeds or (100 if args.quick else 2000)

    tmp = Path(tempfile.mkdtemp(prefix="mm-bench-pipeline-"))
    services = BenchServices(tmp)
    broker, database = services.broker, services.database

    feed_port, hook_port = free_port(), free_port()
    ready_feeds, ready_hook = multiprocessing.Event(), multiprocessing.Event()
    received = multiprocessing.Value("i", 0)
    feed_server = multiprocessing.Process(target=_serve, args=(feed_port, n, ready_feeds), daemon=True)
    hook_server = multiprocessing.Process(target=_receive, args=(hook_port, ready_hook, str(tmp / "alerts.txt"),
                                                                 received), daemon=True)
    feed_server.start()
    hook_server.start()
    ready_feeds.wait(120)
    ready_hook.wait(60)

    import yaml

    prefix = f"benchp{uuid.uuid4().hex[:6]}-"
    (tmp / "rules").mkdir()
    # Feeds alternate English and French: the rule matches the English half.
    (tmp / "rules" / "r.yaml").write_text(yaml.safe_dump({"rules": [
        {"name": "nato", "keywords": {"any": ["NATO"]}, "languages": ["en"], "channels": ["hook"]}]}))
    (tmp / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [
        {"url": f"http://127.0.0.1:{feed_port}/feed/{i}.xml", "name": f"Feed {i}", "interval": 3600}
        for i in range(n)]}))
    cfg = tmp / "monitor.yaml"
    cfg.write_text(yaml.safe_dump({
        "database_url": database, "broker_url": broker, "queue_prefix": prefix, "rules_path": "rules",
        "feeds_path": "feeds.yaml", "allow_networks": ["127.0.0.1"], "log_level": "WARNING", "data_dir": "data",
        "channels": {"hook": f"json://127.0.0.1:{hook_port}/hook"}}))

    from monitor.config import load_settings
    from monitor.store import Store
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
    results: dict = {"feeds": n, "articles": n * ITEMS, "worker_processes": args.workers,
                     "database": services.kind, "broker": "redis"}
    rss: dict[str, float | None] = {}

    def sample_rss():
        procs = {"worker-main": worker.pid, "feed-server": feed_server.pid, "receiver": hook_server.pid}
        for k, pid in enumerate(sorted(children(worker.pid))):
            procs[f"worker-pool-{k + 1}"] = pid
        for name, pid in procs.items():
            v = peak_rss(pid)
            if v is not None:
                rss[name] = max(rss.get(name) or 0, v)

    try:
        wait_for(lambda: app.control.ping(timeout=0.5), 120, "the worker")
        t0 = time.time()
        dispatch_due_feeds.delay()  # the burst: every feed is due, every item is new

        from sqlalchemy import text as sql

        stored_all = False

        def done() -> bool:
            # Light queries only (one a second): the check must not load the database
            # being measured (row counts of every table, as store.counts() does, did).
            nonlocal stored_all
            sample_rss()
            with store.engine.connect() as conn:
                if not stored_all:
                    if conn.execute(sql("SELECT count(*) FROM article")).scalar() < n * ITEMS:
                        return False
                    stored_all = True
                if "matched_all_s" not in results:
                    if conn.execute(sql("SELECT EXISTS (SELECT 1 FROM article WHERE matched_at IS NULL)")).scalar():
                        return False
                    results["matched_all_s"] = round(time.time() - t0, 2)  # only sends left
                by = dict(conn.execute(sql("SELECT status, count(*) FROM delivery GROUP BY status")).all())
            total = sum(by.get(s, 0) for s in ("pending", "sending", "sent", "failed", "dead"))
            return total > 0 and by.get("sent", 0) + by.get("dead", 0) == total and received.value >= by.get("sent", 0)

        wait_for(done, args.timeout, "the last alert", 1.0)
        t_end = time.time()
        sample_rss()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        hook_server.terminate()
        hook_server.join(30)
        feed_server.terminate()

    counts = store.counts()  # once, after the run
    lines = (tmp / "alerts.txt").read_text().split("\n") if (tmp / "alerts.txt").exists() else []
    alerts = [(float(t), int(i), int(j)) for t, i, j in (ln.split() for ln in lines if ln)]
    last = max(t for t, _, _ in alerts)
    keys = [(i, j) for _, i, j in alerts]
    # when each article was stored (the poll that found it), by its feed and item number
    from sqlmodel import Session, select

    from monitor.store import StoredArticleRow

    stored_at = {}
    with Session(store.engine) as s:
        for url, fetched in s.exec(select(StoredArticleRow.url, StoredArticleRow.fetched_at)):
            m = LINK.search(url.encode())
            if m:
                stored_at[(int(m.group(1)), int(m.group(2)))] = fetched.timestamp() if fetched.tzinfo \
                    else fetched.replace(tzinfo=__import__("datetime").timezone.utc).timestamp()
    arrival = [t - t0 for t, _, _ in alerts]
    poll_to_alert = [t - stored_at[(i, j)] for t, i, j in alerts if (i, j) in stored_at]
    elapsed = last - t0
    results.update({
        "matches": counts["matches"], "alerts_received": len(alerts), "alerts_distinct": len(set(keys)),
        "duplicates": len(keys) - len(set(keys)), "deliveries_sent": counts["deliveries_sent"],
        "deliveries_dead": counts["deliveries_dead"],
        "seconds": round(elapsed, 2), "articles_per_s": round(n * ITEMS / elapsed, 1),
        "alerts_per_s": round(len(alerts) / elapsed, 1),
        "arrival_to_alert_median_s": round(percentile(arrival, 0.5), 2),
        "arrival_to_alert_p99_s": round(percentile(arrival, 0.99), 2),
        "poll_to_alert_median_s": round(percentile(poll_to_alert, 0.5), 2),
        "poll_to_alert_p99_s": round(percentile(poll_to_alert, 0.99), 2),
        "peak_rss_mb": rss,
        "wall_s_until_all_recorded": round(t_end - t0, 2),
        "poll_match_articles_per_s": round(n * ITEMS / results["matched_all_s"], 1),
    })
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
          f"{results['duplicates']} duplicates, {results['alerts_per_s']}/s")
    print(f"arrival -> alert:  median {results['arrival_to_alert_median_s']} s, p99 "
          f"{results['arrival_to_alert_p99_s']} s (burst: mostly queueing)")
    print(f"poll + match:      {n * ITEMS / results['matched_all_s']:>9.1f} articles/s (all stored and matched "
          f"after {results['matched_all_s']} s; the rest of the time is sending)")
    print(f"poll -> alert:     median {results['poll_to_alert_median_s']} s, p99 {results['poll_to_alert_p99_s']} s")
    print("peak RSS (MB):     " + ", ".join(f"{k} {v}" for k, v in rss.items()))
    print(json.dumps(results))


if __name__ == "__main__":
    main()

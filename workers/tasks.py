"""Thin, idempotent tasks: take ids, call monitor.pipeline, queue what follows.

No task waits on another (no ``.get()``); work is published only after the
database transaction that records it has committed.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from monitor import pipeline
from monitor.errors import DeliveryError

from .app import app, services, settings

log = logging.getLogger("monitor")
MATCH_BATCH = 200  # article ids per match task: one task per poll, bounded
POLL_BATCH = 20  # feeds per poll task, fetched concurrently
DISPATCH_PAGE = 1000
MAX_DISPATCH_PER_TICK = 50_000


def _queue_matches(article_ids) -> None:
    ids = list(article_ids)
    for i in range(0, len(ids), MATCH_BATCH):
        match_articles.delay(ids[i:i + MATCH_BATCH])


@app.task(name="monitor.dispatch_due_feeds")
def dispatch_due_feeds() -> int:
    svc = services()
    try:
        svc.sync_feeds()
    except Exception as e:  # a broken feeds file: keep polling the feeds we know
        log.error("feeds file not reloaded: %s", e)
    total = 0
    # Claim in pages until nothing is due: 100,000 feeds at a 5-minute interval
    # is ~3,300 per 10-second tick, and a page bounds the memory it takes.
    while total < MAX_DISPATCH_PER_TICK:
        due = svc.store.claim_due_feeds(limit=DISPATCH_PAGE)
        for i in range(0, len(due), POLL_BATCH):
            # A poll that waited longer than the tick is stale: the next tick re-dispatches
            # what is due then, so an expired batch is never a lost poll for long.
            poll_feeds.apply_async((due[i:i + POLL_BATCH],), expires=settings().default_interval)
        total += len(due)
        if len(due) < DISPATCH_PAGE:
            break
    return total


@app.task(name="monitor.poll_feeds")
def poll_feeds(feed_ids: list[int]) -> int:
    """Poll a batch of feeds: one task per ~20 feeds keeps Celery's overhead off the hot path."""
    svc = services()
    outcomes = pipeline.poll_feeds(feed_ids, store=svc.store, fetcher=svc.fetcher)
    new_ids = []
    for out in outcomes:
        if out.error is None:
            what = f"{len(out.new_article_ids)} new article(s)" if not out.skipped else out.skipped
            log.info("polled %s: %s", out.url, what)
        new_ids += out.new_article_ids
    _queue_matches(new_ids)
    return len(new_ids)


@app.task(name="monitor.poll_feed")
def poll_feed(feed_id: int) -> int:
    """Poll one feed now (the scheduler uses poll_feeds, in batches)."""
    return poll_feeds([feed_id])


@app.task(name="monitor.match_articles")
def match_articles(article_ids: list[int]) -> int:
    svc = services()
    cfg = settings()
    delivery_ids = pipeline.match_articles(article_ids, store=svc.store, matcher=svc.rules.matcher(),
                                           channels=cfg.channels, tz=cfg.timezone)
    for d in delivery_ids:
        deliver.delay(d)
    return len(delivery_ids)


def _send_with_retries(task, send, what: str) -> bool:
    """Run ``send(final_attempt)``; on a refusal retry with exponential backoff, then give up (dead)."""
    cfg = settings()
    final = task.request.retries >= cfg.deliver_max_retries
    try:
        send(final)
    except DeliveryError as e:
        if final:
            log.error("%s is dead after %d attempts: %s", what, task.request.retries + 1, e)
            return False
        countdown = min(cfg.deliver_retry_base * 2 ** task.request.retries, 1800)
        log.warning("%s failed, retry in %.0fs: %s", what, countdown, e)
        raise task.retry(countdown=countdown) from None
    return True


@app.task(name="monitor.deliver", bind=True, max_retries=None)
def deliver(self, delivery_id: int) -> bool:
    svc, cfg = services(), settings()
    return _send_with_retries(self, lambda final: pipeline.deliver(
        delivery_id, store=svc.store, notifier=svc.notifier, tz=cfg.timezone, final_attempt=final),
        f"delivery {delivery_id}")


@app.task(name="monitor.deliver_digest", bind=True, max_retries=None)
def deliver_digest(self, digest_id: int) -> bool:
    svc, cfg = services(), settings()
    return _send_with_retries(self, lambda final: pipeline.deliver_digest(
        digest_id, store=svc.store, notifier=svc.notifier, tz=cfg.timezone, final_attempt=final),
        f"digest {digest_id}")


@app.task(name="monitor.flush_digests")
def flush_digests() -> int:
    """Send the digests that are due (held alerts: digest mode, throttle overflow, quiet hours)."""
    svc, cfg = services(), settings()
    made = pipeline.due_digests(store=svc.store, channels=cfg.channels, tz=cfg.timezone)
    for d in made:
        deliver_digest.delay(d)
    return len(made)


@app.task(name="monitor.sweep")
def sweep() -> int:
    """Requeue work committed but never picked up (broker down at publish time, lost message)."""
    svc = services()
    articles, deliveries = svc.store.stale_work(older_than=timedelta(minutes=5))
    _queue_matches(articles)
    for d in deliveries:
        deliver.delay(d)
    if articles or deliveries:
        log.warning("sweeper requeued %d article(s) and %d deliveries", len(articles), len(deliveries))
    return len(articles) + len(deliveries)

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
    due = svc.store.claim_due_feeds()
    for feed_id in due:
        state = svc.store.feed_state(feed_id)
        # A poll that waited longer than an interval is stale: the next one replaces it.
        poll_feed.apply_async((feed_id,), expires=state.interval if state else None)
    return len(due)


@app.task(name="monitor.poll_feed")
def poll_feed(feed_id: int) -> int:
    svc = services()
    out = pipeline.poll_feed(feed_id, store=svc.store, fetcher=svc.fetcher)
    if out.error is None:
        what = f"{len(out.new_article_ids)} new article(s)" if not out.skipped else out.skipped
        log.info("polled %s: %s", out.url, what)
    _queue_matches(out.new_article_ids)
    return len(out.new_article_ids)


@app.task(name="monitor.match_articles")
def match_articles(article_ids: list[int]) -> int:
    svc = services()
    delivery_ids = pipeline.match_articles(article_ids, store=svc.store, matcher=svc.rules.matcher())
    for d in delivery_ids:
        deliver.delay(d)
    return len(delivery_ids)


@app.task(name="monitor.deliver", bind=True, max_retries=None)
def deliver(self, delivery_id: int) -> bool:
    svc = services()
    cfg = settings()
    final = self.request.retries >= cfg.deliver_max_retries
    try:
        pipeline.deliver(delivery_id, store=svc.store, notifier=svc.notifier, tz=cfg.timezone,
                         final_attempt=final)
    except DeliveryError as e:
        if final:
            log.error("delivery %d is dead after %d attempts: %s", delivery_id, self.request.retries + 1, e)
            return False
        countdown = min(cfg.deliver_retry_base * 2 ** self.request.retries, 1800)
        log.warning("delivery %d failed, retry in %.0fs: %s", delivery_id, countdown, e)
        raise self.retry(countdown=countdown) from None
    return True


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

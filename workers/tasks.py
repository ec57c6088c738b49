"""Thin, idempotent tasks: take ids, call monitor.pipeline, queue what follows.

No task waits on another (no ``.get()``); work is published only after the
database transaction that records it has committed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from monitor import pipeline

from monitor.core import stories
from monitor.core.decide.retry import Backoff
from monitor.core.errors import DeliveryError, StoreError

from workers.app import app, services, settings
from workers.config import (DELIVER_BATCH, DELIVER_BUDGET, DELIVER_THREADS, DELIVER_TIMEOUT, DISPATCH_LATENCY,
                            DISPATCH_PAGE, MATCH_BATCH, MAX_COUNTDOWN, MAX_DISPATCH_PER_TICK, POLL_BATCH,
                            TRANSIENT_MAX_COUNTDOWN, match_time_limits)

log = logging.getLogger("monitor")
# The database refused or dropped the connection: wait and try again, forever,
# since the work is safe in the queue meanwhile (the message is acked only when
# the retry is published).
TRANSIENT = (OperationalError, InterfaceError, PoolTimeout, StoreError)


def _retry_transient(task, e: Exception, **kwargs):
    countdown = Backoff(1, TRANSIENT_MAX_COUNTDOWN).delay(task.request.retries + 1)
    log.warning("%s: database unavailable, retry in %ds: %s", task.name, countdown,
                " ".join(str(getattr(e, "orig", None) or e).split())[:200])
    return task.retry(countdown=countdown, max_retries=None, **kwargs)


def _queue_matches(article_ids) -> None:
    ids = list(article_ids)
    for i in range(0, len(ids), MATCH_BATCH):
        match_articles.delay(ids[i:i + MATCH_BATCH])


def _periodic(fn):
    # A periodic task that meets a database outage says so in one line; the next
    # tick tries again (retrying would pile up copies of the same tick).
    import functools

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TRANSIENT as e:
            log.warning("%s skipped, database unavailable: %s", fn.__name__,
                        " ".join(str(getattr(e, "orig", None) or e).split())[:200])
            return 0
    return run


@app.task(name="monitor.dispatch_due_feeds")
@_periodic
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
        # Due a tick early, so a feed found due at the next tick is still polled within its
        # interval; and a second more for this task and the polls to reach a worker.
        due = svc.store.claim_due_feeds(limit=DISPATCH_PAGE, early=settings().poll_tick + DISPATCH_LATENCY)
        for i in range(0, len(due), POLL_BATCH):
            # A poll that waited longer than the tick is stale: the next tick re-dispatches
            # what is due then, so an expired batch is never a lost poll for long.
            poll_feeds.apply_async((due[i:i + POLL_BATCH],), expires=settings().default_interval)
        total += len(due)
        if len(due) < DISPATCH_PAGE:
            break
    return total


@app.task(name="monitor.poll_feeds", bind=True)
def poll_feeds(self, feed_ids: list[int]) -> int:
    """Poll a batch of feeds: one task per ~20 feeds keeps Celery's overhead off the hot path."""
    svc = services()
    try:
        outcomes = pipeline.poll_feeds(feed_ids, store=svc.store, fetcher=svc.fetcher)
    except TRANSIENT as e:
        raise _retry_transient(self, e) from None
    new_ids = []
    for out in outcomes:
        if out.error is None:
            what = f"{len(out.new_article_ids)} new article(s)" + (f" ({out.skipped})" if out.skipped else "")
            log.info("polled %s: %s", out.url, what)
        new_ids += out.new_article_ids
    _queue_matches(new_ids)
    return len(new_ids)


@app.task(name="monitor.poll_feed")
def poll_feed(feed_id: int) -> int:
    """Poll one feed now (the scheduler uses poll_feeds, in batches)."""
    return poll_feeds([feed_id])


def _split(ids: list[int], why: str) -> None:
    # Bisect a failing batch: the good halves go on, the poison narrows down to one id.
    half = len(ids) // 2
    log.warning("match batch of %d split in two: %s", len(ids), why)
    for part in (ids[:half], ids[half:]):
        match_articles.apply_async((part,))


def _one_at_a_time(ids: list[int], why: str) -> None:
    # A batch out of time: each article goes on in a message of its own, so the others are
    # matched at once (in parallel) and only the slow one meets the time limit again, alone.
    log.warning("match batch of %d queued one article at a time: %s", len(ids), why)
    for i in ids:
        match_articles.apply_async(([i],))


class _CountedTask(Task):
    """A task whose message, when its process is killed at the hard time limit, comes back under its id."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # Celery calls this in the worker's main process after killing the child at the
        # hard time limit, then acknowledges the message (task_acks_on_failure_or_timeout).
        # Queued again under the same id, its delivery count (note_attempt) grows as after
        # a crash, and it says why: a batch goes on one article at a time and an article
        # alone is dead-lettered, where the sweeper would have queued it as new work,
        # counted from zero, every sweep forever.
        if isinstance(exc, TimeLimitExceeded):
            log.error("%s %s killed at its hard time limit; queued again to be counted", self.name, task_id)
            self.apply_async(args, {**kwargs, "killed": True}, task_id=task_id)


@app.task(name="monitor.match_articles", bind=True, max_retries=None, base=_CountedTask)
def match_articles(self, article_ids: list[int], failures: int = 0, killed: bool = False) -> int:
    """Match a batch; a batch that fails is split, a single article that keeps failing is dead-lettered.

    ``failures`` counts the times this work raised; the store counts the times
    this very message was delivered, which catches work that kills its process
    (a crash, memory exhausted, the hard time limit): after ``MONITOR_POISON_MAX_DELIVERIES`` of either
    the article gets a dead-letter record with the reason and is never queued again.
    A batch out of time (the ``match_time_limit`` setting) goes on one article at a
    time; an article alone out of time is dead-lettered at once (``killed``: its
    process was killed at the hard time limit).
    """
    svc, cfg = services(), settings()
    ids = list(article_ids)
    limit = settings().poison_max_deliveries
    soft, hard = match_time_limits(cfg)
    key = f"match:{self.request.id or 'local'}:{self.request.retries}"
    try:
        delivered = svc.store.note_attempt(key, "match")
    except TRANSIENT as e:
        raise _retry_transient(self, e, kwargs={"failures": failures}) from None
    if delivered > 1 and killed:  # killed at the hard time limit
        if len(ids) > 1:
            _one_at_a_time(ids, f"killed at the hard time limit ({hard:g} s)")
        else:
            reason = f"matching was killed at the hard time limit ({hard:g} s) and never finished"
            svc.store.dead_letter("article", ids, reason, attempts=delivered - 1)
            log.error("article %s dead-lettered: %s", ids[0], reason)
        svc.store.forget_attempt(key)
        return 0
    if delivered > 1:  # this message came back: the process running it died
        if len(ids) > 1:
            _split(ids, f"delivered {delivered} times, its worker died")
            svc.store.forget_attempt(key)
            return 0
        if delivered > limit:
            reason = f"delivered {delivered - 1} times and never finished (worker crash or out of memory)"
            svc.store.dead_letter("article", ids, reason, attempts=delivered - 1)
            log.error("article %s dead-lettered: %s", ids[0], reason)
            svc.store.forget_attempt(key)
            return 0
    try:
        delivery_ids = pipeline.match_articles(ids, store=svc.store, matcher=svc.rules.matcher(),
                                               channels=cfg.channels, tz=cfg.timezone, stories=cfg.stories)
    except TRANSIENT as e:
        raise _retry_transient(self, e, kwargs={"failures": failures}) from None
    except SoftTimeLimitExceeded:
        # The hard limit follows in as long again (30 s at most): record and go on quickly.
        if len(ids) > 1:
            _one_at_a_time(ids, f"over the {soft:g} s time limit")
        else:
            reason = f"matching took longer than the {soft:g} s time limit (match_time_limit)"
            svc.store.dead_letter("article", ids, reason, attempts=failures + 1)
            log.error("article %s dead-lettered: %s", ids[0], reason)
        svc.store.forget_attempt(key)
        return 0
    except Exception as e:  # noqa: BLE001  (poison: anything the matching raises)
        reason = f"{type(e).__name__}: {e}"
        if len(ids) > 1:
            _split(ids, reason)
        elif failures + 1 >= limit:
            svc.store.dead_letter("article", ids, reason, attempts=failures + 1)
            log.error("article %s dead-lettered after %d attempts: %s", ids[0], failures + 1, reason)
        else:
            svc.store.forget_attempt(key)
            countdown = Backoff(1, 60).delay(failures + 1)
            log.warning("article %s failed to match, retry in %ds: %s", ids[0], countdown, reason)
            raise self.retry(countdown=countdown, kwargs={"failures": failures + 1}) from None
        svc.store.forget_attempt(key)
        return 0
    queue_deliveries(delivery_ids)
    svc.store.forget_attempt(key)
    return len(delivery_ids)


def _send_with_retries(task, send, record_failure, what: str, failures: int | None) -> bool:
    """Run ``send(final_attempt)``; on a refusal retry with exponential backoff, then give up (dead).

    ``failures`` (the attempts that failed before this one) comes with a message
    the sweeper queued again; otherwise Celery's retry count says it. A database
    outage retries without using up an attempt.
    """
    cfg = settings()
    failed = task.request.retries if failures is None else failures
    final = failed >= cfg.deliver_max_retries
    try:
        send(final)
    except TRANSIENT as e:
        raise _retry_transient(task, e, kwargs={"failures": failed}) from None
    except (DeliveryError, SoftTimeLimitExceeded) as e:
        if isinstance(e, SoftTimeLimitExceeded):  # the channel hangs: record it as a failure
            e = f"no answer within {task.soft_time_limit or app.conf.task_soft_time_limit}s"
            record_failure(str(e), final)
        if final:
            log.error("%s is dead after %d attempts: %s", what, failed + 1, e)
            return False
        countdown = Backoff(cfg.deliver_retry_base, MAX_COUNTDOWN).delay(failed + 1)
        log.warning("%s failed, retry in %.0fs: %s", what, countdown, e)
        raise task.retry(countdown=countdown, kwargs={"failures": failed + 1}) from None
    return True


@app.task(name="monitor.deliver", bind=True, max_retries=None)
def deliver(self, delivery_ids: int | list[int], failures: int | None = None) -> int:
    """Send a batch of deliveries (or one id), concurrently; retry only those that failed.

    ``failures`` (the attempts that failed before this one) comes with a message
    the sweeper queued again; otherwise Celery's retry count says it. After
    ``deliver_max_retries`` retries the deliveries still failing are dead. A
    database outage retries the whole message without using up an attempt (what
    was sent is recorded sent, and is not sent again). Returns how many were sent.
    """
    svc, cfg = services(), settings()
    ids = list(delivery_ids) if isinstance(delivery_ids, (list, tuple)) else [delivery_ids]
    failed = self.request.retries if failures is None else failures
    final = failed >= cfg.deliver_max_retries
    try:
        out = pipeline.deliver_many(ids, store=svc.store, notifier=svc.notifier, tz=cfg.timezone,
                                    final_attempt=final, templates=cfg.templates, max_workers=DELIVER_THREADS,
                                    timeout=DELIVER_TIMEOUT, budget=DELIVER_BUDGET, **_claims(cfg))
    except TRANSIENT as e:
        raise _retry_transient(self, e, kwargs={"failures": failed}) from None
    if out.left:  # out of time (a slow channel): the untried rest goes on in a message of its own
        deliver.apply_async((list(out.left),), {"failures": failures} if failures is not None else {})
    if not out.failed:
        return len(out.sent)
    what = f"{len(out.failed)} of {len(ids)} deliveries ({', '.join(str(i) for i, _ in out.failed[:5])}...)" \
        if len(out.failed) > 1 else f"delivery {out.failed[0][0]}"
    reason = out.failed[0][1]
    if final:
        log.error("%s dead after %d attempts: %s", what, failed + 1, reason)
        return len(out.sent)
    countdown = Backoff(cfg.deliver_retry_base, MAX_COUNTDOWN).delay(failed + 1)
    log.warning("%s failed, retry in %.0fs: %s", what, countdown, reason)
    # Only the failed ones go again: what was sent is never sent twice.
    raise self.retry(args=([i for i, _ in out.failed],), kwargs={"failures": failed + 1},
                     countdown=countdown) from None


def _claims(cfg) -> dict[str, timedelta]:
    # How a delivery's claim is held: renewed every heartbeat while it is sent, for the lease at most.
    return {"lease": timedelta(seconds=cfg.delivery_lease), "heartbeat": timedelta(seconds=cfg.delivery_heartbeat)}


def queue_deliveries(delivery_ids, failures: int | None = None) -> int:
    """Publish delivery work in batches of one channel each (one for a throttled channel);
    how many messages. A failing or hanging channel then holds up only its own batches."""
    ids = list(delivery_ids)
    if not ids:
        return 0
    channel_of = services().store.delivery_channels(ids)
    notifier = services().notifier
    by_channel: dict[str, list[int]] = {}
    for i in ids:
        if i in channel_of:
            by_channel.setdefault(channel_of[i], []).append(i)
    kwargs = {} if failures is None else {"failures": failures}
    sent = 0
    for channel, mine in by_channel.items():
        try:
            size = 1 if notifier.serial(channel) else DELIVER_BATCH
        except DeliveryError:  # a channel no longer configured: each fails (and dies) on its own
            size = 1
        for k in range(0, len(mine), size):
            deliver.apply_async((mine[k:k + size],), kwargs)
            sent += 1
    return sent


@app.task(name="monitor.deliver_digest", bind=True, max_retries=None)
def deliver_digest(self, digest_id: int, failures: int | None = None) -> bool:
    svc, cfg = services(), settings()
    return _send_with_retries(self, lambda final: pipeline.deliver_digest(
        digest_id, store=svc.store, notifier=svc.notifier, tz=cfg.timezone, final_attempt=final,
        templates=cfg.templates),
        lambda err, final: svc.store.finish_digest(digest_id, ok=False, error=err, dead=final),
        f"digest {digest_id}", failures)


@app.task(name="monitor.flush_digests")
@_periodic
def flush_digests() -> int:
    """Send the digests that are due (held alerts: digest mode, throttle overflow, quiet hours)."""
    svc, cfg = services(), settings()
    made = pipeline.due_digests(store=svc.store, channels=cfg.channels, tz=cfg.timezone)
    for d in made:
        deliver_digest.delay(d)
    return len(made)


@app.task(name="monitor.watchdog")
@_periodic
def watchdog() -> int:
    """Tell the ops channel about feeds failing, gone or quiet, and daily rules gone silent (each once)."""
    svc, cfg = services(), settings()
    rules = [r.name for r in svc.rules.matcher().rules]
    return len(pipeline.run_watchdog(store=svc.store, notifier=svc.notifier, ops_channel=cfg.ops_channel,
                                     rules=rules, failures=cfg.watchdog_failures))


@app.task(name="monitor.spikes")
@_periodic
def spikes() -> int:
    """One alert per burst for rules with spike_alerts: matches in the last hour far above normal."""
    svc = services()
    return len(pipeline.run_spikes(store=svc.store, notifier=svc.notifier, rules=svc.rules.matcher().rules))


@app.task(name="monitor.sweep")
@_periodic
def sweep() -> int:
    """Requeue work committed but never picked up (broker down at publish time, lost message).

    Articles never matched, deliveries pending, failed deliveries whose retry is
    long overdue (the retry message died with its worker), and deliveries left
    ``sending`` by a dead worker (their claim no longer renewed: see the settings
    delivery_heartbeat and delivery_lease). Duplicates are harmless: every task is idempotent.
    """
    svc, cfg = services(), settings()
    claims = _claims(cfg)
    work = svc.store.pending_work(timedelta(seconds=settings().sweep_stale_after),
                                  retry_base=cfg.deliver_retry_base, max_countdown=MAX_COUNTDOWN,
                                  sending_lease=claims["lease"], heartbeat=claims["heartbeat"])
    _queue_matches(work.articles)
    queue_deliveries(work.deliveries + work.sending_deliveries)
    by_attempts: dict[int, list[int]] = {}
    for d, attempts in work.failed_deliveries:
        by_attempts.setdefault(attempts, []).append(d)
    for attempts, ids in by_attempts.items():
        queue_deliveries(ids, failures=attempts)
    n = len(work.articles) + len(work.deliveries) + len(work.sending_deliveries) + len(work.failed_deliveries)
    # The story index only needs the story window (and a day's margin for late feeds).
    pruned = svc.store.prune_story_keys(datetime.now(timezone.utc) - stories.DEFAULT_WINDOW - timedelta(days=1))
    if pruned:
        log.info("sweeper pruned %d story index row(s) past the story window", pruned)
    if n:
        log.warning("sweeper requeued %d article(s) and %d deliveries", len(work.articles), n - len(work.articles))
    return n

"""Delivering: alerts and digests through the notifier, each claim renewed while it is sent.

No Celery, no SQL and no policy here: the store, fetcher and notifier are passed in.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from monitor.adapters.notify import Notifier
from monitor.adapters.store import Store
from monitor.config import ChannelSpec
from monitor.core import render
from monitor.core.decide.retry import DELIVERY_HEARTBEAT, DELIVERY_LEASE, claim_expiry
from monitor.core.errors import DeliveryError
from monitor.core.schedule import in_quiet_hours, parse_quiet_hours, parse_schedule
from monitor.core.decide.waves import next_wave
from monitor.core.types import DeliveryResult

log = logging.getLogger("monitor")


def due_digests(*, store: Store, channels: Mapping[str, ChannelSpec], tz: str = "UTC",
                now: datetime | None = None) -> list[int]:
    """Gather the held deliveries of every channel whose digest is due; the new digests' ids.

    A channel in quiet hours waits; when its quiet hours end, what they held
    goes out at once.
    """
    now = now or datetime.now(timezone.utc)
    made = []
    for name, (oldest, reasons) in store.held().items():
        spec = channels.get(name)
        if spec is None:
            log.warning("alerts held for channel %r, which is no longer configured", name)
            continue
        quiet = parse_quiet_hours(spec.quiet_hours) if spec.quiet_hours else None
        if in_quiet_hours(quiet, now, tz):
            continue
        if "quiet hours" in reasons or parse_schedule(spec.digest).due(oldest, now, tz):
            digest_id = store.create_digest(name, now=now)
            if digest_id is not None:
                made.append(digest_id)
    return made


def deliver_digest(digest_id: int, *, store: Store, notifier: Notifier, tz: str = "UTC",
                   final_attempt: bool = False, templates=None) -> DeliveryResult:
    """Render and send one digest, recording the outcome (see :func:`deliver`)."""
    job = store.digest_job(digest_id)
    if job is None:
        return DeliveryResult(channel="", ok=False, reason="unknown digest")
    channel, reason, alerts = job
    if not store.begin_digest(digest_id):
        return DeliveryResult(channel=channel, ok=True, reason="already sent or being sent")
    try:
        rendered = render.render_digest(channel, alerts, notifier.format_for(channel), tz=tz,
                                        held_reason=reason, templates=templates)
        notifier.send(channel, rendered)
    except DeliveryError as e:
        store.finish_digest(digest_id, ok=False, error=e.reason, dead=final_attempt)
        raise
    store.finish_digest(digest_id, ok=True)
    log.info("sent: digest of %d alert(s) to channel %r", len(alerts), channel)
    return DeliveryResult(channel=channel, ok=True)


def _renew_until(lease: timedelta, heartbeat: timedelta) -> float:
    # The monotonic time of a claim's last renewal: one later would hold it past the lease.
    return time.monotonic() + (lease - claim_expiry(lease, heartbeat)).total_seconds()


@contextmanager
def _renewing(store: Store, delivery_ids: list[int], lease: timedelta, heartbeat: timedelta):
    """Renew the claims of ``delivery_ids`` every ``heartbeat`` while the block runs (a send),
    within the ``lease``: so they are taken over soon after their sender dies, not before."""
    stop, until = threading.Event(), _renew_until(lease, heartbeat)

    def renew() -> None:
        while not stop.wait(heartbeat.total_seconds()) and time.monotonic() <= until:
            try:
                store.renew_deliveries(delivery_ids)
            except Exception as e:  # the database is away: the send goes on, the claim may lapse
                log.warning("claim of delivery %s not renewed: %s", delivery_ids, e)

    threading.Thread(target=renew, name="renew-claim", daemon=True).start()
    try:
        yield
    finally:
        stop.set()


def deliver(delivery_id: int, *, store: Store, notifier: Notifier, tz: str = "UTC",
            final_attempt: bool = False, templates=None, lease: timedelta = DELIVERY_LEASE,
            heartbeat: timedelta = DELIVERY_HEARTBEAT) -> DeliveryResult:
    """Render and send one delivery, recording the outcome.

    Sends nothing when the delivery was already sent (a duplicate message or
    a retry after success). Raises DeliveryError when the channel refused,
    after recording it as failed (or dead, on the final attempt). While it
    sends, its claim is renewed every ``heartbeat`` (for ``lease`` at most).
    """
    job = store.delivery_job(delivery_id)
    if job is None:
        return DeliveryResult(channel="", ok=False, reason="unknown delivery")
    if not store.begin_delivery(delivery_id, lease=lease, heartbeat=heartbeat):
        return DeliveryResult(channel=job.channel, ok=True, reason=f"already {job.status}")
    try:
        rendered = render.render_alert(job.alert, notifier.format_for(job.channel), tz=tz, templates=templates)
        with _renewing(store, [delivery_id], lease, heartbeat):
            notifier.send(job.channel, rendered)
    except DeliveryError as e:
        store.finish_delivery(delivery_id, ok=False, error=e.reason, dead=final_attempt)
        raise
    store.finish_delivery(delivery_id, ok=True)
    log.info("sent: rule %r, %r to channel %r", job.alert.rule, job.alert.title[:80], job.channel)
    return DeliveryResult(channel=job.channel, ok=True)


@dataclass(frozen=True)
class BatchOutcome:
    """What :func:`deliver_many` did with each delivery id it was given."""

    sent: tuple[int, ...] = ()
    failed: tuple[tuple[int, str], ...] = ()  # (delivery id, reason), recorded failed (or dead)
    skipped: tuple[int, ...] = ()  # unknown, already sent, dead, or being sent by another worker
    left: tuple[int, ...] = ()  # not tried: the batch ran out of time; still pending, queue again


def _wait_renewing(futures: dict, *, store: Store, timeout: float, heartbeat: timedelta,
                   renew_until: float) -> set:
    """Wait for a wave's sends, ``timeout`` at most, renewing the claims of those still in
    flight every ``heartbeat`` until ``renew_until``; the futures that finished."""
    # Waited for a heartbeat at a time (most sends take milliseconds: no renewal at all).
    wave_end = time.monotonic() + timeout
    while True:
        left = wave_end - time.monotonic()
        finished, running = wait(futures, timeout=max(0.0, min(heartbeat.total_seconds(), left)))
        if not running or left <= heartbeat.total_seconds():
            return finished
        if time.monotonic() <= renew_until:
            store.renew_deliveries([futures[f].id for f in running])


def _outcomes(futures: dict, finished: set, timeout: float) -> tuple[list[int], list[tuple[int, str]]]:
    """The ids sent, and those failed with why, of a wave's sends."""
    done: tuple[list[int], list[tuple[int, str]]] = ([], [])
    for fut, job in futures.items():
        # A send still hanging is not waited for: it is recorded failed and
        # retried (the channel's own socket timeouts end it).
        why = fut.result() if fut in finished else f"no answer within {timeout:g}s"
        if why is None:
            done[0].append(job.id)
            log.info("sent: rule %r, %r to channel %r", job.alert.rule, job.alert.title[:80], job.channel)
        else:
            done[1].append((job.id, why))
            log.warning("delivery %d to channel %r failed: %s", job.id, job.channel, why)
    return done


def deliver_many(delivery_ids, *, store: Store, notifier: Notifier, tz: str = "UTC", final_attempt: bool = False,
                 templates=None, max_workers: int = 4, timeout: float = 20.0, budget: float = 25.0,
                 lease: timedelta = DELIVERY_LEASE, heartbeat: timedelta = DELIVERY_HEARTBEAT) -> BatchOutcome:
    """Render and send many deliveries, a few at a time concurrently; record every outcome.

    The batch is read in one query, then sent in waves of ``max_workers``:
    one statement claims a wave (``sending``, committed before any channel is
    called) together with recording the previous wave's outcomes, and the
    wave's sends run in a thread pool. So only the sends actually in flight
    are ever ``sending``: a process killed mid-batch leaves the rest pending,
    to be taken at once by the message's redelivery, and the one duplicate
    no design avoids (the channel accepted, the process died before recording
    it) stays confined to those in-flight sends. A channel apprise throttles
    gets one send per wave. A send that raises or gets no answer within
    ``timeout`` seconds fails alone: recorded failed (dead on the
    ``final_attempt``); the others are recorded sent and never sent again.
    No new wave starts after ``budget`` seconds: what was not tried is
    returned in ``left``, untouched. While a wave's sends are in flight their
    claims are renewed every ``heartbeat`` (for ``lease`` at most), so those of
    a process that died are taken over three heartbeats after, by the sweeper
    or a redelivered message (:func:`monitor.core.decide.retry.claim_expiry`). Errors are
    values; raises only what the store raises.
    """
    ids = list(dict.fromkeys(delivery_ids))
    jobs = store.delivery_jobs(ids)
    skipped = [i for i in ids if i not in jobs or jobs[i].status not in ("pending", "failed", "sending")]
    todo = [jobs[i] for i in ids if i not in skipped]
    serial = getattr(notifier, "serial", lambda channel: False)
    sent: list[int] = []
    failed: list[tuple[int, str]] = []
    done: tuple[list[int], list[tuple[int, str]]] = ([], [])  # the last wave's outcomes, not yet recorded
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers))

    def send(job) -> str | None:
        try:
            rendered = render.render_alert(job.alert, notifier.format_for(job.channel), tz=tz, templates=templates)
            notifier.send(job.channel, rendered)
            return None
        except DeliveryError as e:
            return e.reason
        except Exception as e:  # a bug for this one alert (rendering...): it fails alone
            log.exception("delivery %d raised", job.id)
            return f"{type(e).__name__}: {e}"

    try:
        while todo and time.monotonic() - started < budget:
            wave, todo = next_wave(todo, max_workers, serial)
            claimed = store.claim_deliveries([j.id for j in wave], sent=done[0], failed=done[1],
                                             dead=final_attempt, lease=lease, heartbeat=heartbeat)
            skipped += [j.id for j in wave if j.id not in claimed]
            futures = {pool.submit(send, j): j for j in wave if j.id in claimed}
            finished = _wait_renewing(futures, store=store, timeout=timeout, heartbeat=heartbeat,
                                      renew_until=_renew_until(lease, heartbeat))
            done = _outcomes(futures, finished, timeout)
            sent += done[0]
            failed += done[1]
        store.claim_deliveries([], sent=done[0], failed=done[1], dead=final_attempt, lease=lease, heartbeat=heartbeat)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return BatchOutcome(sent=tuple(sent), failed=tuple(failed), skipped=tuple(skipped),
                        left=tuple(j.id for j in todo))

"""What a poll changes in its feed, and when a feed is polled next.

Pure: takes the feed's state and the poll's outcome and returns a
:class:`PollIntent` for the store to write; touches nothing outside itself
(randomness comes in as ``rng``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.core.decide.retry import Backoff
from monitor.core.types import PollRecord

__all__ = ["MAX_BACKOFF", "PollIntent", "after_poll", "next_poll_at"]

# The longest a failing feed waits between polls (unless its server asks for longer).
MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class PollIntent:
    """What recording one poll writes to its feed; None fields are left as they are.

    A success leaves ``next_poll_at`` to the scheduler's claim; a failure moves it
    back (backoff) and keeps the validators and body hashes of the last success.
    """

    last_polled_at: datetime
    last_status: int | None
    last_error: str | None
    consecutive_failures: int
    failed: bool = False
    next_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    articles_seen: int | None = None
    validators: tuple[str | None, str | None] | None = None  # (etag, last_modified)
    body: tuple[str, bytes | None] | None = None  # (body_hash, item_hashes)


def failure_delay(interval: float, failures: int, retry_after: float | None = None) -> timedelta:
    """How long a feed that failed ``failures`` times in a row waits: its interval doubled per
    failure, at most :data:`MAX_BACKOFF`, and at least what the server asked (Retry-After)."""
    delay = timedelta(seconds=Backoff(interval, MAX_BACKOFF.total_seconds()).delay(failures))
    if retry_after:
        delay = max(delay, timedelta(seconds=retry_after))
    return delay


def after_poll(record: PollRecord, *, interval: int, consecutive_failures: int, articles_seen: int,
               new_articles: int, now: datetime) -> PollIntent:
    """What ``record`` changes in a feed with this interval, failure count and article count.

    A success resets the failures and counts ``new_articles``; its validators are
    kept unless the server sent new ones or the answer was not a 304. A failure
    counts one more and backs off (:func:`failure_delay`).
    """
    if record.error is not None:
        failures = consecutive_failures + 1
        return PollIntent(last_polled_at=now, last_status=record.status, last_error=record.error,
                          consecutive_failures=failures, failed=True,
                          next_poll_at=now + failure_delay(interval, failures, record.retry_after))
    validators = None
    if record.etag is not None or record.last_modified is not None or record.status != 304:
        validators = (record.etag, record.last_modified)
    body = (record.body_hash, record.item_hashes) if record.body_hash is not None else None
    return PollIntent(last_polled_at=now, last_status=record.status, last_error=record.problem,
                      consecutive_failures=0, last_success_at=now, articles_seen=articles_seen + new_articles,
                      validators=validators, body=body)


def next_poll_at(now: datetime, *, scheduled: datetime, interval: float, polled: bool, jitter: float = 0.1,
                 early: float = 0.0, rng: random.Random | None = None) -> datetime:
    """When a feed found due at ``now`` (it was due at ``scheduled``) is polled next.

    A feed's interval is the longest it goes unpolled: the next poll is due up
    to ``jitter`` (a fraction of the interval) sooner, so feeds added together
    drift apart instead of hitting the workers in waves, and ``early`` seconds
    sooner still (at most half the interval): the scheduler only looks every so
    often (its tick), and a feed found due up to a tick late is then still
    polled within its interval.

    A feed never ``polled``, or overdue by a whole interval (the service was
    down), is next polled at a random time within its interval (less ``early``
    at each end): feeds added or woken together spread over the interval at
    once, instead of polling in waves.
    """
    rng = rng or random  # type: ignore[assignment]
    ahead = min(early, interval / 2)
    if not polled or scheduled < now - timedelta(seconds=interval):
        wait = rng.uniform(ahead, interval - ahead)
    else:
        wait = interval * (1 - rng.uniform(0, jitter)) - ahead
    return now + timedelta(seconds=wait)

"""The one retry policy: exponential backoff, and how long a delivery's claim holds.

Pure: arithmetic on numbers and times, touching nothing outside itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Backoff", "DELIVERY_HEARTBEAT", "DELIVERY_LEASE", "STALE_HEARTBEATS", "claim_expiry", "retry_overdue"]

# Past this many doublings every delay is at its cap (and 2 ** n stays a small number).
_MAX_DOUBLINGS = 32


@dataclass(frozen=True)
class Backoff:
    """Wait ``base`` seconds after the first failure, doubling after each one, never more than ``cap``.

    Used for a failing feed (base: its interval, cap: 6 hours), a failed delivery
    (``deliver_retry_base``), a poison article and a database outage.
    """

    base: float
    cap: float

    def delay(self, failures: int) -> float:
        """Seconds to wait after ``failures`` consecutive failures (1: ``base``; 0 counts as 1)."""
        doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
        return min(self.base * 2 ** doublings, self.cap)


def retry_overdue(policy: Backoff, attempts: int, failed_at: datetime, cutoff: datetime) -> bool:
    """Whether the retry of a delivery that failed at ``failed_at`` after ``attempts`` attempts
    was due before ``cutoff`` (so its retry message was lost, and the sweeper queues it again)."""
    return failed_at + timedelta(seconds=policy.delay(attempts)) < cutoff


# A delivery's claim (``sending``): its sender renews it (updated_at) every heartbeat while
# the send is in flight. A claim not renewed for STALE_HEARTBEATS heartbeats is a dead
# sender's, and is taken over (see claim_expiry); and since a sender stops renewing where
# that would keep its claim past ``lease``, a claim is never held longer than the lease.
DELIVERY_HEARTBEAT = timedelta(seconds=10)
DELIVERY_LEASE = timedelta(minutes=5)
STALE_HEARTBEATS = 3


def claim_expiry(lease: timedelta = DELIVERY_LEASE, heartbeat: timedelta = DELIVERY_HEARTBEAT) -> timedelta:
    """How long a ``sending`` claim holds without a renewal: three heartbeats, at most the lease."""
    return min(lease, heartbeat * STALE_HEARTBEATS)

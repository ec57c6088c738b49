"""Operations: redelivery counts, dead letters, the sweeper's pending work, status, watch state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from monitor.adapters.store.engine import _one_line
from monitor.adapters.store.tables import (DEAD, DIGESTED, FAILED, HELD, PENDING, SENDING, SENT, DeadLetter, Delivery,
                                           Feed, MatchRow, StoredArticleRow, WatchStateRow, WorkAttempt, _aware, utcnow)
from monitor.core.decide.retry import DELIVERY_HEARTBEAT, DELIVERY_LEASE, Backoff, claim_expiry, retry_overdue


@dataclass(frozen=True)
class DeadLetterRow:
    id: int
    kind: str
    item_id: int
    reason: str
    attempts: int
    created_at: datetime | None


@dataclass(frozen=True)
class PendingWork:
    """What the sweeper queues again (see :meth:`Store.pending_work`)."""

    articles: list[int]
    deliveries: list[int]
    failed_deliveries: list[tuple[int, int]]  # (id, attempts so far)
    sending_deliveries: list[int]


class OpsMixin:
    def counts(self) -> dict[str, int]:
        """Row counts, for status lines and tests."""
        with self._session() as s:
            out = {
                "feeds": s.exec(select(func.count()).select_from(Feed)).one(),
                "articles": s.exec(select(func.count()).select_from(StoredArticleRow)).one(),
                "matches": s.exec(select(func.count()).select_from(MatchRow)).one(),
            }
            for st in (PENDING, SENDING, SENT, FAILED, DEAD, HELD, DIGESTED):
                out[f"deliveries_{st}"] = s.exec(
                    select(func.count()).select_from(Delivery).where(Delivery.status == st)).one()
            return out

    # -- watchdog and spike state ----------------------------------------------

    def watch_states(self, kind: str) -> dict[str, dict]:
        """What the watchdog (kind "feed", "rule") or spike check ("spike") remembers, by key."""
        with self._session() as s:
            return {k: v for k, v in s.exec(select(WatchStateRow.key, WatchStateRow.state)
                                            .where(WatchStateRow.kind == kind)).all()}

    def save_watch_states(self, kind: str, states: dict[str, dict], now: datetime | None = None) -> None:
        now = now or utcnow()
        with self._session() as s:
            existing = {r.key: r for r in s.exec(select(WatchStateRow).where(
                WatchStateRow.kind == kind, WatchStateRow.key.in_(list(states))))}
            for key, state in states.items():
                row = existing.get(key) or WatchStateRow(kind=kind, key=key)
                row.state, row.updated_at = state, now
                s.add(row)
            s.commit()

    def note_attempt(self, task_id: str, kind: str, now: datetime | None = None) -> int:
        """Count one more delivery of the queue message ``task_id``; how many there were so far.

        A message that comes back (its worker died, it raised, it was retried)
        counts again, so poison work is recognised even when it kills the process
        running it.
        """
        now = now or utcnow()
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = WorkAttempt.__table__
        stmt = (insert(table).values(task_id=task_id[:200], kind=kind, attempts=1, updated_at=now)
                .on_conflict_do_update(index_elements=["task_id"],
                                       set_={"attempts": table.c.attempts + 1, "updated_at": now})
                .returning(table.c.attempts))
        with self._session() as s:
            n = s.connection().execute(stmt).scalar_one()
            s.commit()
            return n

    def forget_attempt(self, task_id: str) -> None:
        """The message ``task_id`` finished: drop its delivery count."""
        with self._session() as s:
            s.exec(WorkAttempt.__table__.delete().where(WorkAttempt.task_id == task_id[:200]))
            s.commit()

    def dead_letter(self, kind: str, item_ids: Sequence[int], reason: str, *, attempts: int = 0,
                    now: datetime | None = None) -> None:
        """Record work that is given up (poison): it is never queued again by the sweeper."""
        now = now or utcnow()
        with self._session() as s:
            self._insert_ignore(s, DeadLetter, [dict(kind=kind, item_id=i, reason=_one_line(reason),
                                                     attempts=attempts, created_at=now) for i in item_ids],
                                ["kind", "item_id"], returning=())
            s.commit()

    def dead_letters(self, *, kind: str | None = None, limit: int = 50) -> list[DeadLetterRow]:
        """Dead-lettered work, newest first."""
        with self._session() as s:
            q = select(DeadLetter)
            if kind:
                q = q.where(DeadLetter.kind == kind)
            return [DeadLetterRow(d.id, d.kind, d.item_id, d.reason, d.attempts, _aware(d.created_at))
                    for d in s.exec(q.order_by(DeadLetter.id.desc()).limit(limit)).all()]

    def pending_work(self, older_than: timedelta, *, retry_base: float = 30.0, max_countdown: float = 1800,
                     sending_lease: timedelta = DELIVERY_LEASE, heartbeat: timedelta = DELIVERY_HEARTBEAT,
                     now: datetime | None = None, limit: int = 1000) -> PendingWork:
        """Work committed but apparently not in the queue any more, for the sweeper.

        Articles never matched (and not dead-lettered), deliveries pending,
        failed deliveries whose retry was due ``older_than`` ago (their retry
        message was lost with a worker), and deliveries left ``sending`` by a
        dead sender: not renewed for :func:`claim_expiry` (three heartbeats,
        ``sending_lease`` at most). Sending one again is the one duplicate no
        design avoids, when the channel had accepted it.
        """
        now = now or utcnow()
        cutoff = now - older_than
        with self._session() as s:
            dead = select(DeadLetter.item_id).where(DeadLetter.kind == "article")
            arts = s.exec(select(StoredArticleRow.id)
                          .where(StoredArticleRow.matched_at.is_(None), StoredArticleRow.fetched_at < cutoff,
                                 StoredArticleRow.id.not_in(dead))
                          .order_by(StoredArticleRow.id).limit(limit)).all()
            pend = s.exec(select(Delivery.id)
                          .where(Delivery.status == PENDING, Delivery.updated_at < cutoff)
                          .order_by(Delivery.id).limit(limit)).all()
            policy = Backoff(retry_base, max_countdown)
            failed = [(did, attempts) for did, attempts, updated in s.exec(
                select(Delivery.id, Delivery.attempts, Delivery.updated_at)
                .where(Delivery.status == FAILED, Delivery.updated_at < cutoff)
                .order_by(Delivery.id).limit(limit)).all()
                if retry_overdue(policy, attempts, _aware(updated), cutoff)]
            sending = s.exec(select(Delivery.id)
                             .where(Delivery.status == SENDING,
                                    Delivery.updated_at < now - claim_expiry(sending_lease, heartbeat))
                             .order_by(Delivery.id).limit(limit)).all()
        return PendingWork(list(arts), list(pend), failed, list(sending))

    def status(self, now: datetime | None = None) -> dict[str, Any]:
        """What an operator needs at a glance: the oldest item waiting in each stage,
        dead work, and failing feeds and channels (plain values, for ``monitor status``)."""
        now = now or utcnow()

        def age(t) -> float | None:
            return None if t is None else max(0.0, round((now - _aware(t)).total_seconds(), 1))

        with self._session() as s:
            dead_articles = select(DeadLetter.item_id).where(DeadLetter.kind == "article")
            n_unmatched, oldest_unmatched = s.exec(
                select(func.count(), func.min(StoredArticleRow.fetched_at))
                .where(StoredArticleRow.matched_at.is_(None), StoredArticleRow.id.not_in(dead_articles))).one()
            stages = {"match": {"waiting": n_unmatched, "oldest_age_s": age(oldest_unmatched)}}
            for st in (PENDING, SENDING, FAILED, HELD):
                n, oldest = s.exec(select(func.count(), func.min(Delivery.updated_at if st != HELD
                                                                  else Delivery.created_at))
                                   .where(Delivery.status == st)).one()
                stages[f"deliver_{st}"] = {"waiting": n, "oldest_age_s": age(oldest)}
            dead_letters = {k: n for k, n in s.exec(select(DeadLetter.kind, func.count())
                                                     .group_by(DeadLetter.kind)).all()}
            dead_deliveries = s.exec(select(func.count()).select_from(Delivery)
                                     .where(Delivery.status == DEAD)).one()
            failing_feeds = [dict(id=f.id, url=f.url, name=f.name, failures=f.consecutive_failures,
                                  last_error=f.last_error, last_success_age_s=age(f.last_success_at))
                             for f in s.exec(select(Feed).where(Feed.enabled == True,  # noqa: E712
                                                                Feed.consecutive_failures > 0)
                                             .order_by(Feed.consecutive_failures.desc()).limit(20)).all()]
            channels: dict[str, dict[str, Any]] = {}
            for ch, st, n in s.exec(select(Delivery.channel, Delivery.status, func.count())
                                    .where(Delivery.status.in_([FAILED, DEAD]))
                                    .group_by(Delivery.channel, Delivery.status)).all():
                channels.setdefault(ch, {"failed": 0, "dead": 0})[st] = n
            for ch in channels:
                channels[ch]["last_error"] = s.exec(
                    select(Delivery.last_error).where(Delivery.channel == ch, Delivery.status.in_([FAILED, DEAD]))
                    .order_by(Delivery.updated_at.desc()).limit(1)).first()
        return {"stages": stages, "dead_letters": dead_letters, "dead_deliveries": dead_deliveries,
                "failing_feeds": failing_feeds, "failing_channels": channels}



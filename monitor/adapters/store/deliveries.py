"""Deliveries and digests: claiming, renewing and finishing sends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import bindparam, func, or_, text, update
from sqlmodel import Session, select

from monitor.adapters.store.engine import _chunks, _one_line
from monitor.adapters.store.matches import _alert
from monitor.adapters.store.tables import (DEAD, DIGESTED, FAILED, HELD, PENDING, SENDING, SENT, Delivery, Digest, Feed,
                                           MatchRow, StoredArticleRow, _aware, utcnow)
from monitor.core.decide.retry import DELIVERY_HEARTBEAT, DELIVERY_LEASE, claim_expiry
from monitor.core.types import AlertContent, DeliveryJob


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    rule: str
    channel: str
    status: str
    attempts: int
    last_error: str | None
    title: str
    url: str
    updated_at: datetime | None



# Store.claim_deliveries on PostgreSQL: record the last wave's outcomes, claim the next.
_CLAIM_SQL = text(f"""
WITH s AS (UPDATE delivery SET status = '{SENT}', sent_at = :now, updated_at = :now, last_error = NULL
           WHERE id = ANY(CAST(:sent AS integer[])) AND status <> '{SENT}'),
     f AS (UPDATE delivery SET status = :fstatus, updated_at = :now, last_error = v.err
           FROM unnest(CAST(:fid AS integer[]), CAST(:ferr AS text[])) AS v(id, err)
           WHERE delivery.id = v.id AND delivery.status <> '{SENT}')
UPDATE delivery SET status = '{SENDING}', attempts = attempts + 1, updated_at = :now
WHERE id = ANY(CAST(:claim AS integer[]))
  AND (status IN ('{PENDING}', '{FAILED}') OR (status = '{SENDING}' AND updated_at < :stale))
RETURNING id""")




class DeliveriesMixin:
    # -- digests -------------------------------------------------------------

    def held(self) -> dict[str, tuple[datetime, set[str]]]:
        """Channels with held deliveries: when the oldest was held, and why they were."""
        out: dict[str, tuple[datetime, set[str]]] = {}
        with self._session() as s:
            for c, reason, t in s.exec(
                    select(Delivery.channel, Delivery.held_reason, func.min(Delivery.created_at))
                    .where(Delivery.status == HELD).group_by(Delivery.channel, Delivery.held_reason)).all():
                oldest, reasons = out.get(c, (_aware(t), set()))
                out[c] = (min(oldest, _aware(t)), reasons | {reason or "digest"})
        return out

    def create_digest(self, channel: str, now: datetime | None = None) -> int | None:
        """Gather the channel's held deliveries into a new digest; its id, or None if none were held."""
        now = now or utcnow()
        with self._session() as s:
            held = s.exec(select(Delivery.id, Delivery.held_reason)
                          .where(Delivery.channel == channel, Delivery.status == HELD)).all()
            if not held:
                return None
            reasons = sorted({r or "digest" for _, r in held})
            d = Digest(channel=channel, reason=", ".join(reasons), created_at=now, updated_at=now)
            s.add(d)
            s.flush()
            res = s.exec(update(Delivery).where(Delivery.id.in_([i for i, _ in held]), Delivery.status == HELD)
                         .values(status=DIGESTED, digest_id=d.id, updated_at=now))
            if res.rowcount == 0:  # another scheduler took them first
                s.rollback()
                return None
            s.commit()
            return d.id

    def digest_job(self, digest_id: int) -> tuple[str, str, list[AlertContent]] | None:
        """(channel, reason, alerts newest first) of a digest."""
        with self._session() as s:
            d = s.get(Digest, digest_id)
            if d is None:
                return None
            rows = s.exec(
                select(MatchRow, StoredArticleRow, Feed.name)
                .join(Delivery, Delivery.match_id == MatchRow.id)
                .join(StoredArticleRow, StoredArticleRow.id == Delivery.article_id)
                .join(Feed, Feed.id == StoredArticleRow.feed_id)
                .where(Delivery.digest_id == digest_id)
            ).all()
            sources = self.story_sources([a.id for _, a, _ in rows]) if rows else {}
            alerts = [replace(_alert(m, a, feed), sources=sources.get(a.id, ())) for m, a, feed in rows]
            alerts.sort(key=lambda x: x.published or datetime.min.replace(tzinfo=timezone.utc), reverse=True)
            return d.channel, d.reason, alerts

    def begin_digest(self, digest_id: int, now: datetime | None = None,
                     lease: timedelta = timedelta(minutes=5)) -> bool:
        now = now or utcnow()
        with self._session() as s:
            takeable = or_(Digest.status.in_([PENDING, FAILED]),
                           (Digest.status == SENDING) & (Digest.updated_at < now - lease))
            res = s.exec(update(Digest).where(Digest.id == digest_id, takeable)
                         .values(status=SENDING, attempts=Digest.attempts + 1, updated_at=now))
            s.commit()
            return res.rowcount == 1

    def finish_digest(self, digest_id: int, *, ok: bool, error: str | None = None, dead: bool = False,
                      now: datetime | None = None) -> None:
        now = now or utcnow()
        with self._session() as s:
            if ok:
                s.exec(update(Digest).where(Digest.id == digest_id)
                       .values(status=SENT, sent_at=now, updated_at=now, last_error=None))
                s.exec(update(Delivery).where(Delivery.digest_id == digest_id)
                       .values(status=SENT, sent_at=now, updated_at=now))
            else:
                s.exec(update(Digest).where(Digest.id == digest_id, Digest.status != SENT)
                       .values(status=DEAD if dead else FAILED, updated_at=now,
                               last_error=_one_line(error or "failed")))
            s.commit()

    # -- deliveries --------------------------------------------------------

    def delivery_job(self, delivery_id: int) -> DeliveryJob | None:
        with self._session() as s:
            row = s.exec(
                select(Delivery, MatchRow, StoredArticleRow, Feed.name)
                .join(MatchRow, MatchRow.id == Delivery.match_id)
                .join(StoredArticleRow, StoredArticleRow.id == Delivery.article_id)
                .join(Feed, Feed.id == StoredArticleRow.feed_id)
                .where(Delivery.id == delivery_id)
            ).first()
            if row is None:
                return None
            d, m, a, feed = row
            alert = _alert(m, a, feed)
            return DeliveryJob(id=d.id, channel=d.channel, status=d.status, attempts=d.attempts, alert=alert)

    def begin_delivery(self, delivery_id: int, now: datetime | None = None, lease: timedelta = DELIVERY_LEASE,
                       heartbeat: timedelta = DELIVERY_HEARTBEAT) -> bool:
        """Move a delivery to ``sending``; False when it is sent, dead, or being sent.

        A ``sending`` not renewed (:meth:`renew_deliveries`) for
        :func:`claim_expiry` is taken over: its sender died.
        """
        now = now or utcnow()
        with self._session() as s:
            takeable = or_(Delivery.status.in_([PENDING, FAILED]),
                           (Delivery.status == SENDING) & (Delivery.updated_at < now - claim_expiry(lease, heartbeat)))
            res = s.exec(update(Delivery)
                         .where(Delivery.id == delivery_id, takeable)
                         .values(status=SENDING, attempts=Delivery.attempts + 1, updated_at=now))
            s.commit()
            return res.rowcount == 1

    def finish_delivery(self, delivery_id: int, *, ok: bool, error: str | None = None,
                        dead: bool = False, now: datetime | None = None) -> None:
        now = now or utcnow()
        values: dict[str, Any] = {"updated_at": now}
        if ok:
            values.update(status=SENT, sent_at=now, last_error=None)
        else:
            values.update(status=DEAD if dead else FAILED, last_error=_one_line(error or "failed"))
        with self._session() as s:
            s.exec(update(Delivery).where(Delivery.id == delivery_id, Delivery.status != SENT).values(**values))
            s.commit()

    def delivery_jobs(self, delivery_ids: Sequence[int]) -> dict[int, DeliveryJob]:
        """The jobs of these deliveries (unknown ids left out), in one query."""
        if not delivery_ids:
            return {}
        with self._session() as s:
            return self._delivery_jobs(s, delivery_ids)

    def _delivery_jobs(self, s: Session, delivery_ids: Sequence[int]) -> dict[int, DeliveryJob]:
        # Columns, not ORM objects: building a model object per row cost more than the query.
        A = StoredArticleRow
        rows = s.exec(
            select(Delivery.id, Delivery.channel, Delivery.status, Delivery.attempts, MatchRow.rule, MatchRow.terms,
                   MatchRow.hits, A.title, A.url, A.published_at, A.text, Feed.name.label("feed"))
            .join(MatchRow, MatchRow.id == Delivery.match_id)
            .join(A, A.id == Delivery.article_id)
            .join(Feed, Feed.id == A.feed_id)
            .where(Delivery.id.in_(list(delivery_ids)))
        ).all()
        # A row has the attributes _alert reads of a match and of an article.
        return {r.id: DeliveryJob(id=r.id, channel=r.channel, status=r.status, attempts=r.attempts,
                                  alert=_alert(r, r, r.feed)) for r in rows}

    def delivery_channels(self, delivery_ids: Sequence[int]) -> dict[int, str]:
        """The channel of each of these deliveries (to queue them in batches of one channel)."""
        out: dict[int, str] = {}
        with self._session() as s:
            for chunk in _chunks(sorted(set(delivery_ids)), 1000):
                out.update(s.exec(select(Delivery.id, Delivery.channel).where(Delivery.id.in_(chunk))).all())
        return out

    def claim_deliveries(self, delivery_ids: Sequence[int], *, sent: Sequence[int] = (),
                         failed: Sequence[tuple[int, str]] = (), dead: bool = False, now: datetime | None = None,
                         lease: timedelta = DELIVERY_LEASE, heartbeat: timedelta = DELIVERY_HEARTBEAT) -> set[int]:
        """Record the outcomes of sends, and move more deliveries to ``sending``, in one transaction.

        ``sent`` ids become sent; ``failed`` (id, error) pairs become failed, or
        dead when that was their last attempt; a delivery already sent stays
        sent. Then one conditional UPDATE claims ``delivery_ids`` (as
        :meth:`begin_delivery` does one), committed before this returns, so
        ``sending`` is recorded before any channel is called. Returns the ids
        claimed: not those sent, dead, or being sent by another worker
        (``sending``, renewed within :func:`claim_expiry`).
        """
        now = now or utcnow()
        stale = now - claim_expiry(lease, heartbeat)
        t = Delivery.__table__
        claimed: set[int] = set()
        if not (delivery_ids or sent or failed):
            return claimed
        if self.dialect == "postgresql":
            # A wave of sends is claimed about once a millisecond in a burst: one statement and
            # one round trip, with arrays for the ids, cost a third of three ORM statements.
            # (The three sets of ids are disjoint: a statement must not update a row twice.)
            with self.engine.begin() as conn:
                return set(conn.execute(_CLAIM_SQL, {
                    "now": now, "stale": stale, "sent": list(sent),
                    "fid": [i for i, _ in failed], "ferr": [_one_line(e or "failed") for _, e in failed],
                    "fstatus": DEAD if dead else FAILED,
                    "claim": sorted(set(delivery_ids) - set(sent) - {i for i, _ in failed})}).scalars())
        with self._session() as s:
            conn = s.connection()
            if sent:
                conn.execute(update(t).where(t.c.id.in_(list(sent)), t.c.status != SENT)
                             .values(status=SENT, sent_at=now, updated_at=now, last_error=None))
            if failed:
                conn.execute(update(t).where(t.c.id == bindparam("did"), t.c.status != SENT)
                             .values(status=DEAD if dead else FAILED, updated_at=now,
                                     last_error=bindparam("err")),
                             [dict(did=i, err=_one_line(e or "failed")) for i, e in failed])
            if delivery_ids:
                takeable = or_(t.c.status.in_([PENDING, FAILED]), (t.c.status == SENDING) & (t.c.updated_at < stale))
                claimed = set(conn.execute(
                    update(t).where(t.c.id.in_(sorted(set(delivery_ids))), takeable)
                    .values(status=SENDING, attempts=t.c.attempts + 1, updated_at=now)
                    .returning(t.c.id)).scalars())
            s.commit()
        return claimed

    def renew_deliveries(self, delivery_ids: Sequence[int], now: datetime | None = None) -> int:
        """Renew the claims of these deliveries, still ``sending``: their sender is alive and
        sending them. How many were renewed."""
        if not delivery_ids:
            return 0
        now = now or utcnow()
        with self._session() as s:
            res = s.exec(update(Delivery).where(Delivery.id.in_(sorted(set(delivery_ids))),
                                                Delivery.status == SENDING).values(updated_at=now))
            s.commit()
            return res.rowcount

    def requeue_deliveries(self, *, status: str = DEAD, ids: Sequence[int] = ()) -> list[int]:
        """Put dead (or failed) deliveries back to pending; returns their ids."""
        with self._session() as s:
            q = select(Delivery.id).where(Delivery.status == status)
            if ids:
                q = q.where(Delivery.id.in_(list(ids)))
            found = list(s.exec(q).all())
            if found:
                s.exec(update(Delivery).where(Delivery.id.in_(found))
                       .values(status=PENDING, attempts=0, updated_at=utcnow()))
                s.commit()
            return found

    def list_deliveries(self, *, status: str | None = None, limit: int = 50) -> list[DeliveryRow]:
        with self._session() as s:
            q = (select(Delivery, StoredArticleRow.title, StoredArticleRow.url)
                 .join(StoredArticleRow, StoredArticleRow.id == Delivery.article_id))
            if status:
                q = q.where(Delivery.status == status)
            rows = s.exec(q.order_by(Delivery.id.desc()).limit(limit)).all()
            return [DeliveryRow(d.id, d.rule, d.channel, d.status, d.attempts, d.last_error, t, u,
                                _aware(d.updated_at)) for d, t, u in rows]


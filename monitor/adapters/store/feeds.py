"""Feeds: following the feeds file, claiming due polls, recording polls."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import select

from monitor.adapters.store.engine import _one_line
from monitor.adapters.store.tables import Feed, SourceRow, _aware, utcnow
from monitor.core.decide.poll import PollIntent, after_poll, next_poll_at
from monitor.core.feedspec import FeedSpec
from monitor.core.types import Article, FeedState, PollRecord


# What recording a poll reads of each feed.
_POLL_COLUMNS = ("id", "language", "updates", "interval", "consecutive_failures", "articles_seen")


@dataclass(frozen=True)
class FeedRow:
    """A feed with its health, for listing."""

    id: int
    url: str
    name: str
    enabled: bool
    interval: int
    next_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_status: int | None
    consecutive_failures: int
    articles_seen: int



class FeedsMixin:
    def sync_feeds(self, specs: Iterable[FeedSpec], *, default_interval: int) -> dict[str, int]:
        """Make the feeds table follow the feeds file; feeds no longer listed are disabled.

        Returns the id of every listed feed, by URL.
        """
        specs = list(specs)
        wanted = {s.url: s for s in specs}
        t = Feed.__table__
        fields = ("name", "language", "tags", "interval", "enabled", "updates", "fulltext")
        # Plain rows and batched statements, not one ORM object per feed: a
        # thousand new feeds cost 0.5 s that way, before the first one is polled.
        with self._session() as s:
            conn = s.connection()
            existing = {r.url: r for r in conn.execute(select(t.c.id, t.c.url, t.c.enabled,
                                                              *(t.c[f] for f in fields if f != "enabled")))}
            new_rows, changed = [], []
            now = utcnow()
            for url, spec in wanted.items():
                values = dict(name=spec.name or url, language=spec.language, tags=list(spec.tags),
                              interval=spec.interval or default_interval, enabled=spec.enabled,
                              updates=spec.updates, fulltext=spec.fulltext)
                old = existing.get(url)
                if old is None:
                    new_rows.append(dict(url=url, **values, next_poll_at=now, created_at=now))
                elif any(getattr(old, f) != values[f] for f in fields):
                    changed.append(dict(values, fid=old.id))
            changed += [dict(zip(fields, (r.name, r.language, r.tags, r.interval, False, r.updates, r.fulltext)),
                             fid=r.id)
                        for url, r in existing.items() if url not in wanted and r.enabled]
            if changed:
                conn.execute(update(t).where(t.c.id == bindparam("fid"))
                             .values({f: bindparam(f) for f in fields}), changed)
            # a scheduler syncing the same file at the same time may insert some first
            self._insert_ignore(s, Feed, new_rows, ["url"], returning=())
            ids = {url: r.id for url, r in existing.items() if url in wanted}
            if len(ids) < len(wanted):
                ids.update((url, fid) for fid, url in conn.execute(select(t.c.id, t.c.url)) if url in wanted)
            s.commit()
            return ids

    def claim_due_feeds(self, now: datetime | None = None, *, limit: int = 1000,
                        jitter: float = 0.1, early: float = 0.0, rng: random.Random | None = None) -> list[int]:
        """Feeds due for a poll, each claimed by moving its next poll forward.

        The claim is a conditional UPDATE on the old ``next_poll_at``, so two
        schedulers running by mistake never both poll the same feed. When each is
        polled next (``jitter``, ``early``, ``rng``) is
        :func:`monitor.core.decide.poll.next_poll_at`'s decision.
        """
        now = now or utcnow()
        claimed = []
        with self._session() as s:
            due = s.exec(
                select(Feed.id, Feed.next_poll_at, Feed.interval, Feed.last_polled_at)
                .where(Feed.enabled == True, Feed.next_poll_at <= now)  # noqa: E712
                .order_by(Feed.next_poll_at)
                .limit(limit)
            ).all()
            plan = [(fid, old, next_poll_at(now, scheduled=_aware(old), interval=interval, polled=polled is not None,
                                            jitter=jitter, early=early, rng=rng))
                    for fid, old, interval, polled in due]
            if plan:
                # All claims in one executemany; when its row count says another
                # scheduler took some, roll back and claim one by one to know which.
                stmt = (update(Feed.__table__)
                        .where(Feed.__table__.c.id == bindparam("fid"),
                               Feed.__table__.c.next_poll_at == bindparam("old"))
                        .values(next_poll_at=bindparam("new")))
                res = s.connection().execute(stmt, [dict(fid=f, old=o, new=n) for f, o, n in plan])
                if res.rowcount == len(plan):
                    s.commit()
                    return [fid for fid, _, _ in plan]
                s.rollback()
            for fid, old, new in plan:
                res = s.exec(update(Feed).where(Feed.id == fid, Feed.next_poll_at == old)
                             .values(next_poll_at=new))
                if res.rowcount == 1:
                    claimed.append(fid)
            s.commit()
        return claimed

    def feed_states(self, feed_ids: Sequence[int]) -> dict[int, FeedState]:
        """The states of these feeds (unknown ids left out), in one query."""
        t = Feed.__table__
        with self._session() as s:
            rows = s.connection().execute(
                select(t.c.id, t.c.url, t.c.name, t.c.language, t.c.tags, t.c.interval, t.c.etag,
                       t.c.last_modified, t.c.body_hash, t.c.item_hashes, t.c.consecutive_failures, t.c.fulltext)
                .where(self._in(t.c.id, list(feed_ids)))).all()
            return {f.id: FeedState(id=f.id, url=f.url, name=f.name, language=f.language, tags=tuple(f.tags),
                                    interval=f.interval, etag=f.etag, last_modified=f.last_modified,
                                    body_hash=f.body_hash, item_hashes=f.item_hashes,
                                    consecutive_failures=f.consecutive_failures,
                                    fulltext=f.fulltext) for f in rows}

    def feed_state(self, feed_id: int) -> FeedState | None:
        return self.feed_states([feed_id]).get(feed_id)

    def feed_id(self, url: str) -> int | None:
        with self._session() as s:
            return s.exec(select(Feed.id).where(Feed.url == url)).first()

    def record_poll(self, feed_id: int, *, status: int | None, articles: Sequence[Article] = (),
                    etag: str | None = None, last_modified: str | None = None,
                    body_hash: str | None = None, problem: str | None = None,
                    now: datetime | None = None) -> list[int]:
        """Record one successful poll; see :meth:`record_polls`."""
        rec = PollRecord(feed_id, status=status, articles=tuple(articles), etag=etag,
                         last_modified=last_modified, body_hash=body_hash, problem=problem)
        return self.record_polls([rec], now=now).get(feed_id, [])

    def record_poll_failure(self, feed_id: int, error: str, *, status: int | None = None,
                            retry_after: float | None = None, now: datetime | None = None) -> None:
        """Record one failed poll; see :meth:`record_polls`."""
        self.record_polls([PollRecord(feed_id, status=status, error=error, retry_after=retry_after)], now=now)

    def record_polls(self, records: Sequence[PollRecord], now: datetime | None = None) -> dict[int, list[int]]:
        """Record a batch of polls and store their new articles, in one transaction.

        Per feed, an entry already listed (same guid, else URL, else hash) is
        not new; an article already listed by another feed gains a source but
        is not new either. With the feed's ``updates`` on, an entry whose words
        changed materially is stored as a new version. What each poll changes in
        its feed (a failure's backoff included) is :func:`monitor.core.decide.poll.after_poll`'s.
        Returns, per feed id, the ids of the articles to match.
        """
        now = now or utcnow()
        out: dict[int, list[int]] = {r.feed_id: [] for r in records}
        t = Feed.__table__
        with self._session() as s:
            conn = s.connection()
            # Plain rows, not ORM objects: this runs for every batch of polls.
            feeds = {r.id: r for r in conn.execute(select(*(t.c[c] for c in _POLL_COLUMNS))
                                                   .where(self._in(t.c.id, list(out))))}
            records = [r for r in records if r.feed_id in feeds]
            ok = [r for r in records if r.error is None]
            self._store_articles(s, feeds, [r for r in ok if r.articles], out, now)
            values = {fid: dict(f._mapping) for fid, f in feeds.items()}
            changed: dict[int, dict[str, Any]] = {}
            # ok ones first: a failure after a success in the same batch counts from 0
            for r in ok + [r for r in records if r.error is not None]:
                f, ch = values[r.feed_id], changed.setdefault(r.feed_id, {})
                ch.update(_columns(after_poll(r, interval=f["interval"], consecutive_failures=f["consecutive_failures"],
                                              articles_seen=f["articles_seen"], new_articles=len(out[r.feed_id]),
                                              now=now)))
                f.update(ch)
            # One executemany per set of columns written; only what changed is written
            # (next_poll_at belongs to the scheduler's claims unless the poll failed).
            groups: dict[tuple[str, ...], list[dict]] = {}
            for fid, ch in changed.items():
                groups.setdefault(tuple(sorted(ch)), []).append({**ch, "fid": fid})
            for names, params in groups.items():
                conn.execute(update(t).where(t.c.id == bindparam("fid"))
                             .values({n: bindparam(n) for n in names}), params)
            s.commit()
        return {k: sorted(v) for k, v in out.items()}

    def list_feeds(self) -> list[FeedRow]:
        with self._session() as s:
            return [FeedRow(f.id, f.url, f.name, f.enabled, f.interval, _aware(f.next_poll_at),
                            _aware(f.last_success_at), f.last_error, f.last_status,
                            f.consecutive_failures, f.articles_seen)
                    for f in s.exec(select(Feed).order_by(Feed.name)).all()]


    def feed_activity(self, since: datetime) -> list[tuple[FeedRow, list[datetime]]]:
        """Each enabled feed's health, with the times its new articles appeared since ``since``."""
        feeds = [f for f in self.list_feeds() if f.enabled]
        times: dict[int, list[datetime]] = {}
        with self._session() as s:
            for fid, t in s.exec(select(SourceRow.feed_id, SourceRow.seen_at).where(SourceRow.seen_at >= since)):
                times.setdefault(fid, []).append(_aware(t))
        return [(f, times.get(f.id, [])) for f in feeds]


def _columns(intent: PollIntent) -> dict[str, Any]:
    """The feed's columns that ``intent`` writes (only what it changes)."""
    ch: dict[str, Any] = dict(last_polled_at=intent.last_polled_at, last_status=intent.last_status,
                              consecutive_failures=intent.consecutive_failures,
                              last_error=_one_line(intent.last_error) if intent.failed else intent.last_error)
    if intent.next_poll_at is not None:
        ch["next_poll_at"] = intent.next_poll_at
    if intent.last_success_at is not None:
        ch["last_success_at"] = intent.last_success_at
    if intent.articles_seen is not None:
        ch["articles_seen"] = intent.articles_seen
    if intent.validators is not None:
        ch["etag"], ch["last_modified"] = intent.validators
    if intent.body is not None:
        ch["body_hash"], ch["item_hashes"] = intent.body  # the items of this body, or None
    return ch

"""Matches and the deliveries they make (pending, or held for a digest)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from monitor.adapters.store.tables import (DEAD, FAILED, HELD, PENDING, SENDING, SENT, Delivery, MatchRow,
                                           StoredArticleRow, _aware, utcnow)
from monitor.core.decide.route import Candidate, route
from monitor.core.types import AlertContent, Hit, Match


def _alert(m: "MatchRow", a: "StoredArticleRow", feed: str) -> AlertContent:
    return AlertContent(rule=m.rule, terms=tuple(m.terms), title=a.title, link=a.url, feed=feed,
                        published=_aware(a.published_at), text=a.text,
                        hits=tuple(Hit(f, st, en, t) for f, st, en, t in m.hits))




class MatchesMixin:
    def record_matches(self, results: dict[int, list[Match]], now: datetime | None = None, *,
                       digest_channels: Iterable[str] = (), quiet_channels: Iterable[str] = (),
                       prefixes: dict[int, int] | None = None) -> list[int]:
        """Store matches and their deliveries, and mark the articles matched.

        ``prefixes``: article id -> the characters of each field its matching
        looked at, for those matched on a prefix (``matched_prefix``).

        A delivery is ``pending`` (to send now) or ``held`` for its channel's
        digest, as :func:`monitor.core.decide.route.route` decides (quiet hours,
        digest, same story, throttle) from what is stored. One transaction;
        re-running it with the same input stores nothing new. Returns the ids
        of the deliveries to send now.
        """
        now = now or utcnow()
        with self._session() as s:
            self._key_lookups(s)
            story_of, alerted = self._story_alerts(s, list(results))
            match_ids = self._insert_matches(s, results, now)
            todo = [(match_ids[(article_id, m.rule)], Candidate(article_id, story_of.get(article_id), m.rule, c,
                                                                 m.delivery, m.per_hour))
                    for article_id, matches in results.items() for m in matches for c in m.channels]
            throttled = {(c.rule, c.channel) for _, c in todo if c.mode == "throttle" and c.per_hour is not None}
            held = route([c for _, c in todo], quiet_channels=set(quiet_channels),
                         digest_channels=set(digest_channels), alerted=alerted,
                         sent_last_hour=self._sent_last_hour(s, throttled, now))
            rows = [dict(match_id=match_id, article_id=c.article_id, rule=c.rule, channel=c.channel,
                         status=HELD if why else PENDING, held_reason=why, created_at=now, updated_at=now)
                    for (match_id, c), why in zip(todo, held)]
            self._insert_ignore(s, Delivery, rows, ["rule", "article_id", "channel"], returning=())
            if results:
                s.exec(update(StoredArticleRow)
                       .where(StoredArticleRow.id.in_(list(results)), StoredArticleRow.matched_at.is_(None))
                       .values(matched_at=now))
            by_prefix: dict[int, list[int]] = {}
            for article_id, prefix in (prefixes or {}).items():
                by_prefix.setdefault(prefix, []).append(article_id)
            for prefix, ids in by_prefix.items():  # one statement per length (mostly the one max_chars)
                s.exec(update(StoredArticleRow).where(StoredArticleRow.id.in_(ids)).values(matched_prefix=prefix))
            s.commit()
            if not results:
                return []
            return list(s.exec(select(Delivery.id).where(Delivery.article_id.in_(list(results)),
                                                         Delivery.status == PENDING)
                               .order_by(Delivery.id)).all())

    def _story_alerts(self, s: Session, article_ids: list[int]) -> tuple[dict[int, int | None],
                                                                         dict[tuple[int, str, str], int]]:
        """The story of each article, and who alerted each of those stories already:
        (story, rule, channel) -> the article whose delivery came first."""
        story_of = dict(s.exec(select(StoredArticleRow.id, StoredArticleRow.story_id)
                               .where(StoredArticleRow.id.in_(article_ids))).all()) if article_ids else {}
        alerted: dict[tuple[int, str, str], int] = {}
        stories = {sid for sid in story_of.values() if sid is not None}
        if stories:
            # In two index lookups (the stories' articles, then their deliveries): as one
            # join, PostgreSQL planned with statistics taken while the tables were small
            # (in a burst) and scanned every delivery for each batch.
            members = dict(s.exec(select(StoredArticleRow.id, StoredArticleRow.story_id)
                                  .where(StoredArticleRow.story_id.in_(stories))).all())
            for rule, channel, aid in s.exec(
                    select(Delivery.rule, Delivery.channel, Delivery.article_id)
                    .where(Delivery.article_id.in_(list(members))).order_by(Delivery.id)).all():
                alerted.setdefault((members[aid], rule, channel), aid)
        return story_of, alerted

    def _insert_matches(self, s: Session, results: dict[int, list[Match]], now: datetime) -> dict[tuple[int, str], int]:
        """Insert the matches (in one statement); (article id, rule) -> match id, in one query."""
        self._insert_ignore(s, MatchRow, [dict(
            article_id=article_id, rule=m.rule, terms=list(m.terms),
            hits=[[h.field, h.start, h.end, h.term] for h in m.hits], created_at=now)
            for article_id, matches in results.items() for m in matches], ["article_id", "rule"], returning=())
        if not any(results.values()):
            return {}
        return {(aid, rule): mid for aid, rule, mid in s.exec(
            select(MatchRow.article_id, MatchRow.rule, MatchRow.id)
            .where(MatchRow.article_id.in_([a for a, ms in results.items() if ms]))).all()}

    def _sent_last_hour(self, s: Session, keys: set[tuple[str, str]], now: datetime) -> dict[tuple[str, str], int]:
        """Deliveries not held made in the hour before ``now``, per (rule, channel) of ``keys``, in one query."""
        if not keys:
            return {}
        counts = s.exec(select(Delivery.rule, Delivery.channel, func.count()).where(
            Delivery.rule.in_(sorted({r for r, _ in keys})), Delivery.channel.in_(sorted({c for _, c in keys})),
            Delivery.created_at > now - timedelta(hours=1),
            Delivery.status.in_([PENDING, SENDING, SENT, FAILED, DEAD])).group_by(Delivery.rule, Delivery.channel))
        return {(r, c): n for r, c, n in counts if (r, c) in keys}

    def match_times(self, since: datetime, rules: Sequence[str] | None = None) -> dict[str, list[datetime]]:
        """When each rule matched since ``since``."""
        with self._session() as s:
            q = select(MatchRow.rule, MatchRow.created_at).where(MatchRow.created_at >= since)
            if rules is not None:
                q = q.where(MatchRow.rule.in_(list(rules)))
            out: dict[str, list[datetime]] = {}
            for rule, t in s.exec(q):
                out.setdefault(rule, []).append(_aware(t))
            return out

    def top_stories(self, rule: str, since: datetime, limit: int = 3) -> list[tuple[str, int]]:
        """The stories with the most matches of ``rule`` since ``since``: (title, articles)."""
        with self._session() as s:
            rows = s.exec(select(StoredArticleRow.story_id, func.count(), func.min(StoredArticleRow.title))
                          .join(MatchRow, MatchRow.article_id == StoredArticleRow.id)
                          .where(MatchRow.rule == rule, MatchRow.created_at >= since)
                          .group_by(StoredArticleRow.story_id)
                          .order_by(func.count().desc()).limit(limit)).all()
            return [(title, n) for _, n, title in rows]


"""What a backtest reads: stored articles in pages, and the rules stored as matching them.

Reads only, each in bounded queries, so a backtest over months of history runs
in constant memory. Database errors pass through (sqlalchemy's).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from monitor.adapters.store.tables import Feed, MatchRow, StoredArticleRow, _aware
from monitor.core.types import StoredArticle

__all__ = ["stored_articles", "recent_articles", "matched_rules"]


def _article(a: StoredArticleRow, name: str, tags) -> StoredArticle:
    return StoredArticle(id=a.id, feed=name, feed_tags=tuple(tags or ()), url=a.url, title=a.title,
                         text=a.text, language=a.language, published=_aware(a.published_at))


def stored_articles(engine: Engine, *, since: datetime | None = None, page: int = 500) -> Iterator[StoredArticle]:
    """Stream the stored articles fetched at or after ``since``, oldest id first, reading
    ``page`` rows per query."""
    last = 0
    while True:
        query = (select(StoredArticleRow, Feed.name, Feed.tags)
                 .join(Feed, Feed.id == StoredArticleRow.feed_id)
                 .where(StoredArticleRow.id > last))
        if since is not None:
            query = query.where(StoredArticleRow.fetched_at >= since)
        with Session(engine) as s:
            rows = s.exec(query.order_by(StoredArticleRow.id).limit(page)).all()
        if not rows:
            return
        for a, name, tags in rows:
            yield _article(a, name, tags)
        last = rows[-1][0].id


def recent_articles(engine: Engine, *, limit: int, since: datetime | None = None,
                    chunk: int = 250) -> Iterator[StoredArticle]:
    """The newest ``limit`` stored articles (fetched since ``since``), newest first, read in chunks."""
    seen, before = 0, None
    with Session(engine, expire_on_commit=False) as s:
        while seen < limit:
            q = (select(StoredArticleRow, Feed.name, Feed.tags)
                 .join(Feed, Feed.id == StoredArticleRow.feed_id))
            if since is not None:
                q = q.where(StoredArticleRow.fetched_at >= since)
            if before is not None:
                q = q.where(StoredArticleRow.id < before)
            rows = s.exec(q.order_by(StoredArticleRow.id.desc()).limit(min(chunk, limit - seen))).all()
            if not rows:
                return
            for a, name, tags in rows:
                yield _article(a, name, tags)
            seen += len(rows)
            before = rows[-1][0].id


def matched_rules(engine: Engine, article_ids: list[int]) -> dict[int, set[str]]:
    """The rules stored as matching each of these articles."""
    out: dict[int, set[str]] = {}
    if not article_ids:
        return out
    with Session(engine, expire_on_commit=False) as s:
        for i in range(0, len(article_ids), 500):
            for aid, rule in s.exec(select(MatchRow.article_id, MatchRow.rule)
                                    .where(MatchRow.article_id.in_(article_ids[i:i + 500]))):
                out.setdefault(aid, set()).add(rule)
    return out

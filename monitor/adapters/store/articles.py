"""Articles and their sources: storing what a poll found, once across feeds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, select

from monitor.adapters.store.engine import _chunks
from monitor.adapters.store.tables import Feed, SourceRow, StoredArticleRow, _aware
from monitor.core.dedup import global_key, material_change, update_key
from monitor.core.types import PollRecord, StoredArticle


class ArticlesMixin:
    def _store_articles(self, s: Session, feeds: dict[int, Any], records: list[PollRecord],
                        out: dict[int, list[int]], now: datetime) -> None:
        if not records:
            return
        entries = {r.feed_id: list({a.dedup_key[:1000]: a for a in r.articles}.values()) for r in records}
        keys = sorted({a.dedup_key[:1000] for es in entries.values() for a in es})
        known: dict[tuple[int, str], tuple[int, str]] = {}
        for chunk in _chunks(keys, 1000):
            for fid, key, aid, chash in s.exec(
                    select(SourceRow.feed_id, SourceRow.entry_key, SourceRow.article_id, SourceRow.content_hash)
                    .where(self._in(SourceRow.feed_id, list(entries)), self._in(SourceRow.entry_key, chunk))):
                known[(fid, key)] = (aid, chash)
        fresh = [(fid, a) for fid, es in entries.items() for a in es if (fid, a.dedup_key[:1000]) not in known]
        inserted = self._insert_articles(s, feeds, [(global_key(a), a, None, fid) for fid, a in fresh], now)
        new_by_key = {key: aid for aid, key in inserted}
        ids_by_key = dict(new_by_key)
        missing = [global_key(a) for _, a in fresh if global_key(a) not in ids_by_key]
        if missing:  # stored from another feed before: a new source, not a new article
            ids_by_key.update(self._ids_by_key(s, missing))
        sources, counted = [], set()
        for fid, a in fresh:
            key = global_key(a)
            if key not in ids_by_key:
                continue
            sources.append(dict(article_id=ids_by_key[key], feed_id=fid, entry_key=a.dedup_key[:1000],
                                content_hash=a.content_hash, seen_at=now))
            if key in new_by_key and key not in counted:
                counted.add(key)
                out[fid].append(new_by_key[key])
        self._insert_ignore(s, SourceRow, sources, ["feed_id", "entry_key"], returning=())
        for fid, es in entries.items():
            if feeds[fid].updates:
                mine = {k: v for (f2, k), v in known.items() if f2 == fid}
                out[fid] += self._record_updates(s, feeds[fid], es, mine, now)

    def _insert_articles(self, s: Session, feeds: dict[int, Any], items, now: datetime) -> list[tuple]:
        """Insert (key, article, update_of, feed id) items; (id, key) of those that were new.

        On PostgreSQL, one INSERT ... ON CONFLICT DO NOTHING RETURNING for the
        batch (keys in order, so two polls inserting the same keys wait on each
        other rather than deadlock); the one that inserted a key calls it new.
        Elsewhere, looks the keys up first and inserts only the missing ones,
        with a plain executemany: far cheaper than INSERT ... RETURNING row by
        row. Two polls racing on one key may then both call it new; matching it
        twice is harmless (matches and deliveries are unique).
        """
        rows: dict[str, dict] = {}
        for key, a, update_of, fid in items:
            # Two feeds of one batch with the same article: the first copy is the one stored,
            # as it is the one credited (the poll's new ids, articles_seen, the first source).
            if key not in rows:
                rows[key] = dict(key=key, feed_id=fid, guid=a.guid, url=a.url, title=a.title, text=a.text,
                                 author=a.author, published_at=a.published,
                                 language=a.language or feeds[fid].language, content_hash=a.content_hash,
                                 update_of=update_of, fetched_at=now)
        if not rows:
            return []
        ordered = [rows[k] for k in sorted(rows)]
        if self.dialect == "postgresql":
            new = self._insert_ignore(s, StoredArticleRow, ordered, ["key"], returning=("id", "key"),
                                      unnest_only=True)
            if new is not None:
                return new
        existing = self._ids_by_key(s, list(rows))
        missing = [r for k, r in rows.items() if k not in existing]
        self._insert_ignore(s, StoredArticleRow, missing, ["key"], returning=())
        return [(aid, key) for key, aid in self._ids_by_key(s, [r["key"] for r in missing]).items()]

    def _ids_by_key(self, s: Session, keys: list[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for chunk in _chunks(sorted(set(keys)), 1000):
            out.update(s.exec(select(StoredArticleRow.key, StoredArticleRow.id)
                              .where(self._in(StoredArticleRow.key, chunk))).all())
        return out

    def _record_updates(self, s: Session, f: Any, entries, known, now) -> list[int]:
        changed = [a for a in entries if a.dedup_key[:1000] in known
                   and a.content_hash != known[a.dedup_key[:1000]][1]]
        if not changed:
            return []
        olds = {row.id: row for row in s.exec(select(StoredArticleRow).where(
            StoredArticleRow.id.in_([known[a.dedup_key[:1000]][0] for a in changed])))}
        versions = []
        for a in changed:
            entry_key = a.dedup_key[:1000]
            old = olds.get(known[entry_key][0])
            if old is None or not material_change(old.title, old.text, a.title, a.text):
                continue
            versions.append((update_key(old.key.split("#")[0], a.content_hash), a, old.id, f.id))
        ids = [aid for aid, _ in self._insert_articles(s, {f.id: f}, versions, now)]
        # the source now points at the newest version, so the next change compares to it
        for key, a, _, _ in versions:
            new_id = s.exec(select(StoredArticleRow.id).where(StoredArticleRow.key == key)).one()
            s.exec(update(SourceRow).where(SourceRow.feed_id == f.id,
                                           SourceRow.entry_key == a.dedup_key[:1000])
                   .values(article_id=new_id, content_hash=a.content_hash))
        return ids

    def sources(self, article_id: int) -> list[str]:
        """Names of the feeds that listed this article, first seen first."""
        with self._session() as s:
            return list(s.exec(select(Feed.name).join(SourceRow, SourceRow.feed_id == Feed.id)
                               .where(SourceRow.article_id == article_id)
                               .order_by(SourceRow.id)).all())

    def set_article_text(self, article_id: int, text: str) -> None:
        """Replace an article's text (full text fetched from its page), before matching."""
        with self._session() as s:
            s.exec(update(StoredArticleRow).where(StoredArticleRow.id == article_id).values(text=text))
            s.commit()

    def articles(self, ids: Sequence[int]) -> list[StoredArticle]:
        """The articles with these ids that still exist, in id order."""
        if not ids:
            return []
        with self._session() as s:
            rows = s.exec(
                select(StoredArticleRow, Feed.name, Feed.tags)
                .join(Feed, Feed.id == StoredArticleRow.feed_id)
                .where(StoredArticleRow.id.in_(list(ids)))
                .order_by(StoredArticleRow.id)
            ).all()
            return [StoredArticle(id=a.id, feed=name, feed_tags=tuple(tags or ()), url=a.url, title=a.title,
                                  text=a.text, language=a.language, published=_aware(a.published_at),
                                  matched_prefix=a.matched_prefix)
                    for a, name, tags in rows]


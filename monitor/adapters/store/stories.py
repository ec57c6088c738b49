"""Stories: placing articles into stories through the story-key index, and reading them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, text, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from monitor.adapters.store.engine import _chunks
from monitor.adapters.store.tables import Feed, SourceRow, StoredArticleRow, StoryKeyRow, _aware


_PER_KEY = 50


@dataclass(frozen=True)
class StoryRow:
    story_id: int
    title: str
    articles: int
    sources: tuple[str, ...]
    first_seen: datetime | None
    last_seen: datetime | None




class StoriesMixin:
    def assign_stories(self, items: Sequence[tuple[int, dict, tuple[str, ...]]], decide, *,
                       window: timedelta) -> dict[int, int]:
        """Put each article into a story, in one transaction; article id -> story id.

        ``items`` are (article id, candidate as plain data, index keys);
        ``decide(candidate_plain, neighbours)`` picks among (story id,
        candidate plain) neighbours found through the keys, or returns None
        for a new story (whose id is the article's). An article already in a
        story keeps it; a new version of an article joins its original's story.
        Neighbours come from the key index, never a scan of stored articles.
        """
        out: dict[int, int] = {}
        with self._session() as s:
            self._key_lookups(s)
            A = StoredArticleRow  # only the columns used: not the articles' texts
            rows = {a.id: a for a in s.exec(select(A.id, A.story_id, A.update_of).where(
                A.id.in_([i for i, _, _ in items])))}
            todo = [(i, p, k) for i, p, k in items if i in rows and rows[i].story_id is None]
            out.update({i: rows[i].story_id for i, _, _ in items if i in rows and rows[i].story_id is not None})
            stored, pool = self._stored_neighbours(s, todo, window)
            originals = [rows[i].update_of for i, _, _ in todo if rows[i].update_of is not None]
            story_of_original = dict(s.exec(select(StoredArticleRow.id, StoredArticleRow.story_id).where(
                StoredArticleRow.id.in_(originals))).all()) if originals else {}
            updates, bands = _place(todo, rows, stored, pool, story_of_original, decide, out)
            self._write_stories(s, updates)
            self._write_bands(s, *bands)
            s.commit()
        return out

    def _stored_neighbours(self, s, todo, window: timedelta) -> tuple[dict[int, list[int]],
                                                                      dict[int, tuple[int, dict]]]:
        """Neighbours of the whole batch in two queries: the stored articles sharing a key.

        Returns key -> ids of stored articles having it (at most _PER_KEY), and
        article id -> (story id, candidate plain) of each of them.
        """
        A = StoredArticleRow  # only the columns used: not the articles' texts
        stored: dict[int, list[int]] = {}  # key -> ids of stored articles having it
        pool: dict[int, tuple[int, dict]] = {}  # article id -> (story id, candidate plain)
        all_keys = sorted({k for _, _, keys in todo for k in keys})
        if all_keys:
            since = min(p["published"] for _, p, _ in todo) - window
            hits = []
            for chunk in _chunks(all_keys, 1000):
                if self.dialect == "postgresql":
                    # One index probe per key (at most _PER_KEY rows each, what is used below). With
                    # "key IN (...)" the planner trusted statistics taken when the table was
                    # small (as in a burst) and scanned the whole table for every batch, a
                    # cost growing with the table; this one does not.
                    hits += s.connection().execute(text(
                        "SELECT k.key, sk.story_id, sk.article_id"
                        " FROM unnest(CAST(string_to_array(:keys, ',') AS bigint[])) AS k(key)"
                        " CROSS JOIN LATERAL (SELECT story_id, article_id FROM story_band"
                        f" WHERE story_band.key = k.key AND story_band.published >= :since LIMIT {_PER_KEY}) AS sk"
                        " LIMIT 20000"), {"keys": ",".join(map(str, chunk)), "since": since}).all()
                    continue
                hits += s.exec(select(StoryKeyRow.key, StoryKeyRow.story_id, StoryKeyRow.article_id)
                               .where(StoryKeyRow.key.in_(chunk), StoryKeyRow.published >= since)
                               .limit(20_000)).all()
            by_id = {a.id: a for a in s.exec(select(
                A.id, A.story_sig, A.story_size, A.story_entities, A.published_at, A.fetched_at, A.language)
                .where(A.id.in_(list({aid for _, _, aid in hits}))))} if hits else {}
            for key, sid, aid in hits:
                other = by_id.get(aid)
                if other is None or other.story_sig is None:
                    continue
                ids = stored.setdefault(key, [])
                if len(ids) < _PER_KEY:
                    ids.append(aid)
                    if aid not in pool:
                        pool[aid] = (sid, dict(
                            signature=other.story_sig, size=other.story_size,
                            entities=other.story_entities or "",
                            published=_aware(other.published_at or other.fetched_at),
                            language=other.language))
        return stored, pool

    def _write_stories(self, s, updates: list[dict]) -> None:
        if updates and self.dialect == "postgresql":
            # One statement for the batch: as an executemany, one UPDATE per article, the
            # client's per-row work cost more than the server's.
            s.connection().exec_driver_sql(
                "UPDATE article SET story_id = u.story_id, story_sig = u.story_sig, story_size = u.story_size,"
                " story_entities = u.story_entities FROM unnest(%(a)b::integer[], %(s)b::integer[],"
                " %(g)b::bytea[], %(n)b::integer[], %(e)b::varchar[])"
                " AS u(id, story_id, story_sig, story_size, story_entities) WHERE article.id = u.id",
                {"a": [u["aid"] for u in updates], "s": [u["story_id"] for u in updates],
                 "g": [u["story_sig"] for u in updates], "n": [u["story_size"] for u in updates],
                 "e": [u["story_entities"] for u in updates]})
        elif updates:
            t = StoredArticleRow.__table__
            s.connection().execute(
                update(t).where(t.c.id == bindparam("aid")).values(
                    story_id=bindparam("story_id"), story_sig=bindparam("story_sig"),
                    story_size=bindparam("story_size"), story_entities=bindparam("story_entities")),
                updates)

    def _write_bands(self, s, band_keys, band_articles, band_stories, band_times) -> None:
        if self.dialect == "postgresql" and band_keys:
            # ~40 keys per article: one statement of arrays instead of one INSERT per key row
            # (an executemany of thousands of rows a batch is slow). Each column goes as
            # one comma-joined string split by the server: psycopg dumps a list of 8,400
            # values element by element in Python. (Keys, ids and ISO times hold no comma.)
            iso = {t: t.isoformat() for t in set(band_times)}
            insert = ("INSERT INTO story_band (key, article_id, story_id, published)"
                      " SELECT * FROM unnest(CAST(string_to_array(:k, ',') AS bigint[]),"
                      " CAST(string_to_array(:a, ',') AS integer[]),"
                      " CAST(string_to_array(:s, ',') AS integer[]),"
                      " CAST(string_to_array(:p, ',') AS timestamptz[]))"
                      # In key order, B-tree pages are visited in order.
                      " ORDER BY 1")
            params = {"k": ",".join(map(str, band_keys)), "a": ",".join(map(str, band_articles)),
                      "s": ",".join(map(str, band_stories)), "p": ",".join([iso[t] for t in band_times])}
            # The articles placed here have no rows yet, unless another worker placed one of
            # them at the same moment (the same message twice): a plain INSERT, cheaper than
            # one with ON CONFLICT, in a savepoint, and on a duplicate the same INSERT skipping
            # what is there.
            try:
                with s.begin_nested():
                    s.connection().execute(text(insert), params)
            except IntegrityError:
                s.connection().execute(text(insert + " ON CONFLICT (key, article_id) DO NOTHING"), params)
        elif band_keys:
            self._insert_ignore(s, StoryKeyRow, [
                dict(key=k, article_id=a, story_id=sid, published=t)
                for k, a, sid, t in zip(band_keys, band_articles, band_stories, band_times)],
                ["key", "article_id"], returning=())

    def prune_story_keys(self, older_than: datetime, *, limit: int = 50_000) -> int:
        """Delete up to ``limit`` story-index rows of articles published before ``older_than``.

        Beyond the story window they are never looked up again; without this the
        index would grow by ~40 rows an article forever. Returns how many went.
        """
        t = StoryKeyRow.__table__
        with self._session() as s:
            old = (select(t.c.key, t.c.article_id).where(t.c.published < older_than).limit(limit)
                   .subquery())
            n = s.connection().execute(t.delete().where(
                tuple_(t.c.key, t.c.article_id).in_(select(old.c.key, old.c.article_id)))).rowcount
            s.commit()
        return n or 0

    def stories(self, *, since: datetime | None = None, limit: int = 20) -> list[StoryRow]:
        """Recent stories, newest first, with their sources."""
        with self._session() as s:
            q = (select(StoredArticleRow.story_id, func.count(), func.min(StoredArticleRow.fetched_at),
                        func.max(StoredArticleRow.fetched_at))
                 .where(StoredArticleRow.story_id.is_not(None)))
            if since is not None:
                q = q.where(StoredArticleRow.fetched_at >= since)
            groups = s.exec(q.group_by(StoredArticleRow.story_id)
                            .order_by(func.max(StoredArticleRow.fetched_at).desc()).limit(limit)).all()
            out = []
            for story_id, n, first, last in groups:
                members = s.exec(select(StoredArticleRow.title, StoredArticleRow.url, Feed.name)
                                 .join(SourceRow, SourceRow.article_id == StoredArticleRow.id)
                                 .join(Feed, Feed.id == SourceRow.feed_id)
                                 .where(StoredArticleRow.story_id == story_id)
                                 .order_by(SourceRow.id)).all()
                title = members[0][0] if members else ""
                out.append(StoryRow(story_id, title, n, tuple(dict.fromkeys(f for _, _, f in members)),
                                    _aware(first), _aware(last)))
            return out

    def story_sources(self, article_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        """For each article, the feeds of every article of its story, first seen first."""
        with self._session() as s:
            story_of = dict(s.exec(select(StoredArticleRow.id, StoredArticleRow.story_id)
                                   .where(StoredArticleRow.id.in_(list(article_ids)))).all())
            wanted = {sid for sid in story_of.values() if sid is not None}
            by_story: dict[int, list[str]] = {}
            if wanted:
                for sid, name in s.exec(select(StoredArticleRow.story_id, Feed.name)
                                        .join(SourceRow, SourceRow.article_id == StoredArticleRow.id)
                                        .join(Feed, Feed.id == SourceRow.feed_id)
                                        .where(StoredArticleRow.story_id.in_(wanted))
                                        .order_by(SourceRow.id)).all():
                    by_story.setdefault(sid, []).append(name)
            return {aid: tuple(dict.fromkeys(by_story.get(sid, ()))) for aid, sid in story_of.items()}


def _place(todo, rows, stored, pool, story_of_original, decide, out: dict[int, int]):
    """Place each article of ``todo`` (oldest first, so copies join the first) among its
    neighbours, stored or of this batch; the story columns to write and the story-key rows."""
    batch: dict[int, list[int]] = {}  # key -> ids of this batch's articles placed having it
    updates = []
    band_keys, band_articles, band_stories, band_times = [], [], [], []
    for article_id, plain, keys in todo:
        a = rows[article_id]
        story_id = story_of_original.get(a.update_of) if a.update_of is not None else None
        if story_id is None and keys:
            # Each neighbour once, however many keys it shares; oldest article first.
            near: set[int] = set()
            for k in keys:
                for index in (stored, batch):
                    ids = index.get(k)
                    if ids:
                        near.update(ids)
            story_id = decide(plain, [pool[i] for i in sorted(near)])
        story_id = story_id if story_id is not None else article_id
        pool[article_id] = (story_id, plain)
        for k in keys:
            ids = batch.setdefault(k, [])
            if len(ids) < _PER_KEY:
                ids.append(article_id)
        updates.append(dict(aid=article_id, story_id=story_id, story_sig=plain["signature"],
                            story_size=plain["size"], story_entities=plain["entities"]))
        n = len(keys)
        band_keys += keys
        band_articles += [article_id] * n
        band_stories += [story_id] * n
        band_times += [plain["published"]] * n
        out[article_id] = story_id
    return updates, (band_keys, band_articles, band_stories, band_times)

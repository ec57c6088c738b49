"""Storage adapter: sqlmodel tables and the one place that talks SQL.

Works on SQLite (the embedded default) and PostgreSQL. Unique constraints make
every write idempotent: an article is stored once per feed, a match once per
(article, rule), a delivery once per (rule, article, channel). Writes that
belong together (new articles and the feed's state; matches and their
deliveries) are one transaction, so a crash leaves either all or nothing,
and what is left pending is found again by :meth:`Store.pending_work`.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (JSON, BigInteger, Column, DateTime, Index, Integer, LargeBinary, UniqueConstraint, bindparam,
                        event, func, or_, text, tuple_, update)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, create_engine, select

from monitor.config import FeedSpec
from monitor.core.dedup import global_key, material_change, update_key
from monitor.core.errors import StoreError
from monitor.core.types import AlertContent, Article, DeliveryJob, FeedState, Hit, Match, PollRecord, StoredArticle

# Delivery states. "sending" is written before the channel is called, so a crash
# between the channel accepting and "sent" being recorded is visible.
PENDING, SENDING, SENT, FAILED, DEAD = "pending", "sending", "sent", "failed", "dead"
# Held: waiting for its channel's digest (digest mode, throttle overflow, quiet hours).
HELD, DIGESTED = "held", "digested"
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
MAX_BACKOFF = timedelta(hours=6)
# What recording a poll reads of each feed.
_POLL_COLUMNS = ("id", "language", "updates", "interval", "consecutive_failures", "articles_seen")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(dt: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


class Feed(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True, max_length=2048)
    name: str = ""
    language: str | None = None
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    interval: int = 900
    enabled: bool = True
    updates: bool = False  # a material change of an entry's text is alerted again
    fulltext: bool = False  # fetch the article page for the full text
    next_poll_at: datetime = Field(default_factory=utcnow, index=True)
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_status: int | None = None
    consecutive_failures: int = 0
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    # The hashes of the items of the last poll (monitor.core.feeds.cut_items): those come
    # back in the next body, and are not parsed again. None: parse every item.
    item_hashes: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    articles_seen: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class StoredArticleRow(SQLModel, table=True):
    __tablename__ = "article"
    id: int | None = Field(default=None, primary_key=True)
    # Across all feeds: canonical URL, else content hash (see monitor.core.dedup).
    key: str = Field(unique=True, max_length=1100)
    feed_id: int = Field(foreign_key="feed.id", index=True)  # the first feed seen with it
    guid: str | None = None
    url: str = ""
    title: str = ""
    text: str = ""
    author: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    content_hash: str = ""
    update_of: int | None = Field(default=None, foreign_key="article.id")
    fetched_at: datetime = Field(default_factory=utcnow, index=True)
    # NULL until the article went through matching: the outbox of match work.
    matched_at: datetime | None = Field(default=None, index=True)
    # Its story (monitor.core.stories): the id of the story's first article, and what finds it again.
    story_id: int | None = Field(default=None, index=True)
    story_sig: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    story_size: int | None = None
    story_entities: str | None = None
    # Set when matching looked at only this many characters of each field (too long, or
    # too many terms to examine: see Matcher.match_bounded); NULL: matched whole.
    matched_prefix: int | None = None


class SourceRow(SQLModel, table=True):
    """One feed listing one article; per feed, an entry is known by its guid, URL or hash."""

    __tablename__ = "article_source"
    __table_args__ = (UniqueConstraint("feed_id", "entry_key", name="uq_source_feed_entry"),)
    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    feed_id: int = Field(foreign_key="feed.id")
    entry_key: str = Field(max_length=1100)
    content_hash: str = ""
    seen_at: datetime = Field(default_factory=utcnow)


class WatchStateRow(SQLModel, table=True):
    """What the watchdog and the spike check remember between runs (so each thing is said once)."""

    __tablename__ = "watch_state"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_watch_state"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    key: str = Field(max_length=2100)
    state: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class StoryKeyRow(SQLModel, table=True):
    """The story index: one row per LSH band or entity key of an article."""

    __tablename__ = "story_band"
    # ~40 rows an article, so each insert is kept cheap: the key is a 64-bit integer (see
    # stories.Signature.band_keys), the (key, article_id) primary key is the only unique
    # index (its first column finds a key), no surrogate id and no foreign-key check per
    # row (rows are written beside their article, in its transaction, and pruned by age,
    # see Store.prune_story_keys). On PostgreSQL the age index is a BRIN index: a few
    # pages summarizing block ranges, nearly free to keep up, where a B-tree cost a third
    # of every insert; pruning, once a sweep, reads the blocks it points at.
    # Databases made before keep an unused "story_key" table.
    __table_args__ = (Index("ix_story_band_published_brin", "published", postgresql_using="brin"),)
    key: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    article_id: int = Field(primary_key=True)
    story_id: int
    published: datetime


#: Neighbours looked at per story key: from storage, and again from the batch being placed.
_PER_KEY = 50


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


@dataclass(frozen=True)
class StoryRow:
    story_id: int
    title: str
    articles: int
    sources: tuple[str, ...]
    first_seen: datetime | None
    last_seen: datetime | None


class MatchRow(SQLModel, table=True):
    __tablename__ = "rule_match"
    __table_args__ = (UniqueConstraint("article_id", "rule", name="uq_match_article_rule"),)
    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    rule: str
    terms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    hits: list[list[Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Digest(SQLModel, table=True):
    """One digest message: the held deliveries of a channel, sent together."""

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(index=True)
    status: str = Field(default=PENDING, index=True)
    attempts: int = 0
    last_error: str | None = None
    reason: str = ""  # why these were held: digest, throttle, quiet hours
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class Delivery(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("rule", "article_id", "channel", name="uq_delivery"),)
    id: int | None = Field(default=None, primary_key=True)
    match_id: int = Field(foreign_key="rule_match.id", index=True)
    # Indexed: every match batch looks deliveries up by article (its story's alerts,
    # the new ones to send); without it each lookup scans the whole table.
    article_id: int = Field(foreign_key="article.id", index=True)
    rule: str
    channel: str
    status: str = Field(default=PENDING, index=True)
    attempts: int = 0
    last_error: str | None = None
    held_reason: str | None = None
    digest_id: int | None = Field(default=None, foreign_key="digest.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    sent_at: datetime | None = None


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


def redact_url(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def enable_wal(cur) -> None:
    """Put a SQLite connection in WAL mode, waiting for the others doing the same.

    WAL lets a reader (the beat thread) read while a writer writes. Processes
    switching a new database to WAL together: SQLite answers all but one
    "database is locked" at once, without the busy wait (two read locks both
    asking to write would deadlock), so the wait is here.
    """
    deadline = time.monotonic() + 30
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    # busy_timeout waits for the lock instead of failing at once.
    cur.execute("PRAGMA busy_timeout=30000")
    enable_wal(cur)
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _alert(m: "MatchRow", a: "StoredArticleRow", feed: str) -> AlertContent:
    return AlertContent(rule=m.rule, terms=tuple(m.terms), title=a.title, link=a.url, feed=feed,
                        published=_aware(a.published_at), text=a.text,
                        hits=tuple(Hit(f, st, en, t) for f, st, en, t in m.hits))


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class Store:
    """All reads and writes of media-monitor's state. Raises StoreError."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> "Store":
        """Connect (creating the SQLite folder and the tables when ``create``)."""
        try:
            u = make_url(url)
        except Exception as e:
            raise StoreError(f"invalid database URL: {e}") from None
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if u.get_backend_name() == "sqlite":
            if u.database and u.database != ":memory:":
                from pathlib import Path

                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        elif u.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 10}
        try:
            engine = create_engine(url, **kwargs)
        except Exception as e:  # missing driver, bad URL
            raise StoreError(f"cannot use database {redact_url(url)}: {_one_line(e)}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        try:
            with engine.connect():
                pass
            if create:
                store._create_schema()
        except SQLAlchemyError as e:
            reason = _one_line(getattr(e, "orig", None) or e)
            raise StoreError(f"cannot connect to database {redact_url(url)}: {reason}") from None
        return store

    def _key_lookups(self, s: Session) -> None:
        """Plan this transaction's reads as the key lookups they are (PostgreSQL).

        In a burst the tables grow faster than their statistics: PostgreSQL then
        scanned every article or story key for a batch (120 ms and growing, against
        a few ms). psycopg prepares a statement after 5 runs, and a generic plan
        ignores which keys are asked (8 ms a lookup instead of 0.7). And a key
        lookup planned as costly was compiled (JIT) for 250 ms.
        """
        if self.dialect == "postgresql":
            s.exec(text("SET LOCAL enable_seqscan = off"))
            s.exec(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            s.exec(text("SET LOCAL jit = off"))

    def _create_schema(self, attempts: int = 3) -> None:
        """Create what is missing, safely when several processes start at once.

        A worker and a beat started together (docker compose up) both create the
        tables of a new database: an advisory lock (PostgreSQL) or the write lock
        taken first (SQLite) makes the second wait and then find them; a lost race
        elsewhere is tried again.
        """
        from sqlalchemy import inspect

        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    if self.dialect == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(726100)"))  # held until commit
                    elif self.dialect == "sqlite":
                        # The write lock from the start (waiting as busy_timeout says): a
                        # read-then-write transaction fails at once when another wrote meanwhile.
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    SQLModel.metadata.create_all(conn)
                    # An index added after the table: databases made before get it too.
                    if "ix_delivery_article_id" not in {i["name"] for i in inspect(conn).get_indexes("delivery")}:
                        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_delivery_article_id ON delivery (article_id)"))
                    # Columns added after their table, likewise.
                    if "item_hashes" not in {c["name"] for c in inspect(conn).get_columns("feed")}:
                        kind = LargeBinary().compile(dialect=conn.dialect)
                        conn.execute(text(f"ALTER TABLE feed ADD COLUMN item_hashes {kind}"))
                    if "matched_prefix" not in {c["name"] for c in inspect(conn).get_columns("article")}:
                        kind = Integer().compile(dialect=conn.dialect)
                        conn.execute(text(f"ALTER TABLE article ADD COLUMN matched_prefix {kind}"))
                    if self.dialect == "postgresql":  # replaced by the BRIN index (StoryKeyRow)
                        conn.execute(text("DROP INDEX IF EXISTS ix_story_band_published"))
                return
            except (IntegrityError, OperationalError, ProgrammingError):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def close(self) -> None:
        self.engine.dispose()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _insert_ignore(self, s: Session, model, rows: list[dict], conflict: Sequence[str],
                       returning: tuple[str, ...] = ("id",), *, unnest_only: bool = False) -> list | None:
        """INSERT ... ON CONFLICT DO NOTHING for many rows; what it returns for those inserted.

        On PostgreSQL one INSERT from arrays (:meth:`_unnest_insert`) where it
        can; otherwise one executemany on the table (SQLAlchemy batches it as
        "insertmanyvalues" with one cached statement), not a freshly compiled
        multi-row VALUES, unless ``unnest_only``: then it inserts nothing and
        returns None. ``returning=("id",)`` gives ids, several columns give
        tuples, () nothing.
        """
        if not rows:
            return []
        if self.dialect == "postgresql":
            unnest = self._unnest_insert(model.__table__, rows, conflict, returning)
            if unnest is not None:
                # One statement for the whole batch: psycopg's executemany costs far
                # more client CPU per row, and a multi-row VALUES would be compiled anew.
                result = s.connection().exec_driver_sql(*unnest)
                if not returning:
                    return []
                return [r[0] for r in result] if len(returning) == 1 else [tuple(r) for r in result]
            if unnest_only:
                return None
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = model.__table__
        stmt = insert(table).on_conflict_do_nothing(index_elements=list(conflict))
        if not returning:
            s.connection().execute(stmt, rows)
            return []
        result = s.connection().execute(stmt.returning(*(table.c[c] for c in returning)), rows)
        return list(result.scalars()) if len(returning) == 1 else [tuple(r) for r in result]

    def _in(self, column, values: list):
        """``column IN values``; on PostgreSQL ``= ANY(array)``, one parameter instead of
        one per value (a thousand-key IN costs more to render and send than to run)."""
        if self.dialect == "postgresql":
            from sqlalchemy import any_
            from sqlalchemy.dialects.postgresql import ARRAY

            return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
        return column.in_(values)

    def _unnest_insert(self, table, rows: list[dict], conflict: Sequence[str],
                       returning: tuple[str, ...]) -> tuple[str, dict[str, list]] | None:
        """PostgreSQL: INSERT ... SELECT FROM unnest(one array per column) ON CONFLICT DO NOTHING,
        and its parameters: one list per column.

        A column the rows leave out gets its default when that is a constant, as
        SQLAlchemy's insert would give it. JSON values go as text, serialized as
        SQLAlchemy does (None as JSON null), and are cast to JSON in the statement.
        None (use executemany) when the rows differ in their keys, leave out a column
        whose default is computed (a function), a column's type has no plain array
        form (bytes), or a datetime column mixes naive and aware values (an array
        has one element type).
        """
        if len(rows) < 2:
            return None
        columns = list(rows[0])
        if any(len(r) != len(columns) or r.keys() != rows[0].keys() for r in rows):
            return None
        params = {f"c{i}": [r[c] for r in rows] for i, c in enumerate(columns)}
        for col in table.c:
            if col.name not in rows[0] and col.default is not None:
                if not col.default.is_scalar:
                    return None  # computed per row by SQLAlchemy's insert
                params[f"c{len(columns)}"] = [col.default.arg] * len(rows)
                columns.append(col.name)
        casts, values = [], []
        for i, c in enumerate(columns):
            col = table.c[c]
            if isinstance(col.type, LargeBinary):
                return None
            if isinstance(col.type, JSON):
                casts.append("text")
                values.append(f"c{i}::json")
                params[f"c{i}"] = [json.dumps(v) for v in params[f"c{i}"]]
                continue
            values.append(f"c{i}")
            if isinstance(col.type, DateTime):
                zones = {v.tzinfo is None for v in params[f"c{i}"] if v is not None}
                if len(zones) > 1:
                    return None
            casts.append(col.type.compile(dialect=self.engine.dialect))
        names = ", ".join(f'"{c}"' for c in columns)
        # %b: binary arrays, which psycopg builds without quoting each element
        arrays = ", ".join(f"%(c{i})b::{t}[]" for i, t in enumerate(casts))
        aliases = ", ".join(f"c{i}" for i in range(len(columns)))
        sql = (f'INSERT INTO "{table.name}" ({names}) SELECT {", ".join(values)} FROM unnest({arrays}) '
               f"AS u({aliases}) ON CONFLICT ({', '.join(conflict)}) DO NOTHING")
        if returning:
            sql += " RETURNING " + ", ".join(f'"{c}"' for c in returning)
        return sql, params

    # -- feeds -------------------------------------------------------------

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
        schedulers running by mistake never both poll the same feed. A feed's
        interval is the longest it goes unpolled: the next poll is due up to
        ``jitter`` (a fraction of the interval) sooner, so feeds added together
        drift apart instead of hitting the workers in waves, and ``early``
        seconds sooner still (at most half the interval): the scheduler only
        looks every so often (its tick), and a feed found due up to a tick late
        is then still polled within its interval.

        A feed never polled, or overdue by a whole interval (the service was
        down), is polled now and next at a random time within its interval
        (less ``early`` at each end): feeds added or woken together spread over
        the interval at once, instead of polling in waves that keep their
        latest articles waiting behind a queue of polls.
        """
        now = now or utcnow()
        rng = rng or random
        claimed = []
        with self._session() as s:
            due = s.exec(
                select(Feed.id, Feed.next_poll_at, Feed.interval, Feed.last_polled_at)
                .where(Feed.enabled == True, Feed.next_poll_at <= now)  # noqa: E712
                .order_by(Feed.next_poll_at)
                .limit(limit)
            ).all()
            plan = []
            for fid, old, interval, polled in due:
                ahead = min(early, interval / 2)
                if polled is None or _aware(old) < now - timedelta(seconds=interval):
                    wait = rng.uniform(ahead, interval - ahead)
                else:
                    wait = interval * (1 - rng.uniform(0, jitter)) - ahead
                plan.append((fid, old, now + timedelta(seconds=wait)))
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
        changed materially is stored as a new version. A failed poll backs off
        exponentially, up to 6 hours (longer if the server said so).
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
            for r in ok:
                f, ch = values[r.feed_id], changed.setdefault(r.feed_id, {})
                ch.update(last_polled_at=now, last_success_at=now, last_status=r.status, last_error=r.problem,
                          consecutive_failures=0, articles_seen=f["articles_seen"] + len(out[r.feed_id]))
                if r.etag is not None or r.last_modified is not None or r.status != 304:
                    ch.update(etag=r.etag, last_modified=r.last_modified)
                if r.body_hash is not None:
                    ch["body_hash"] = r.body_hash
                    ch["item_hashes"] = r.item_hashes  # the items of this body, or None
                f.update(ch)
            for r in records:
                if r.error is None:
                    continue
                f, ch = values[r.feed_id], changed.setdefault(r.feed_id, {})
                failures = f["consecutive_failures"] + 1
                delay = min(timedelta(seconds=f["interval"] * 2 ** min(failures - 1, 16)), MAX_BACKOFF)
                if r.retry_after:
                    delay = max(delay, timedelta(seconds=r.retry_after))
                ch.update(consecutive_failures=failures, next_poll_at=now + delay, last_polled_at=now,
                          last_status=r.status, last_error=_one_line(r.error))
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

    def list_feeds(self) -> list[FeedRow]:
        with self._session() as s:
            return [FeedRow(f.id, f.url, f.name, f.enabled, f.interval, _aware(f.next_poll_at),
                            _aware(f.last_success_at), f.last_error, f.last_status,
                            f.consecutive_failures, f.articles_seen)
                    for f in s.exec(select(Feed).order_by(Feed.name)).all()]

    # -- articles and matches -------------------------------------------------

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

    def record_matches(self, results: dict[int, list[Match]], now: datetime | None = None, *,
                       digest_channels: Iterable[str] = (), quiet_channels: Iterable[str] = (),
                       prefixes: dict[int, int] | None = None) -> list[int]:
        """Store matches and their deliveries, and mark the articles matched.

        ``prefixes``: article id -> the characters of each field its matching
        looked at, for those matched on a prefix (``matched_prefix``).

        A delivery is ``pending`` (to send now) or ``held`` for its channel's
        digest: when the rule or the channel asks for digests, when the
        channel is in quiet hours, or when the rule's throttle (alerts per
        rule and channel in the last hour) is used up. One transaction;
        re-running it with the same input stores nothing new. Returns the ids
        of the deliveries to send now.
        """
        now = now or utcnow()
        digest_channels, quiet_channels = set(digest_channels), set(quiet_channels)
        with self._session() as s:
            self._key_lookups(s)
            budget: dict[tuple[str, str], int] = {}
            # One alert per (story, rule, channel): who alerted each story already.
            story_of = dict(s.exec(select(StoredArticleRow.id, StoredArticleRow.story_id)
                                   .where(StoredArticleRow.id.in_(list(results)))).all()) if results else {}
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
            # All matches in one statement, their ids in one query, all deliveries in one statement.
            self._insert_ignore(s, MatchRow, [dict(
                article_id=article_id, rule=m.rule, terms=list(m.terms),
                hits=[[h.field, h.start, h.end, h.term] for h in m.hits], created_at=now)
                for article_id, matches in results.items() for m in matches], ["article_id", "rule"], returning=())
            match_ids = {(aid, rule): mid for aid, rule, mid in s.exec(
                select(MatchRow.article_id, MatchRow.rule, MatchRow.id)
                .where(MatchRow.article_id.in_([a for a, ms in results.items() if ms]))).all()} \
                if any(results.values()) else {}
            rows = []
            for article_id, matches in results.items():
                for m in matches:
                    match_id = match_ids[(article_id, m.rule)]
                    for c in m.channels:
                        held = None
                        if c in quiet_channels:
                            held = "quiet hours"
                        elif m.delivery == "digest" or c in digest_channels:
                            held = "digest"
                        elif alerted.setdefault((story_of.get(article_id) or -article_id, m.rule, c),
                                                article_id) != article_id:
                            held = "same story"
                        elif m.delivery == "throttle" and m.per_hour is not None:
                            key = (m.rule, c)
                            if key not in budget:
                                budget[key] = m.per_hour - self._sent_last_hour(s, m.rule, c, now)
                            if budget[key] <= 0:
                                held = f"throttle {m.per_hour}/hour"
                            budget[key] -= 1
                        rows.append(dict(match_id=match_id, article_id=article_id, rule=m.rule, channel=c,
                                         status=HELD if held else PENDING, held_reason=held,
                                         created_at=now, updated_at=now))
            self._insert_ignore(s, Delivery, rows, ["rule", "article_id", "channel"], returning=())
            if results:
                s.exec(update(StoredArticleRow)
                       .where(StoredArticleRow.id.in_(list(results)), StoredArticleRow.matched_at.is_(None))
                       .values(matched_at=now))
            for article_id, prefix in (prefixes or {}).items():  # rare: one statement each
                s.exec(update(StoredArticleRow).where(StoredArticleRow.id == article_id)
                       .values(matched_prefix=prefix))
            s.commit()
            if not results:
                return []
            return list(s.exec(select(Delivery.id).where(Delivery.article_id.in_(list(results)),
                                                         Delivery.status == PENDING)
                               .order_by(Delivery.id)).all())

    def _sent_last_hour(self, s: Session, rule: str, channel: str, now: datetime) -> int:
        return s.exec(select(func.count()).select_from(Delivery).where(
            Delivery.rule == rule, Delivery.channel == channel, Delivery.created_at > now - timedelta(hours=1),
            Delivery.status.in_([PENDING, SENDING, SENT, FAILED, DEAD]))).one()

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

    # -- redelivery counting, dead letters and status (appended for issue 6) -------------

    # -- stories -------------------------------------------------------------

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
            # Neighbours of the whole batch in two queries: the stored articles sharing a key...
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
                        # small (as in a burst) and scanned the whole table for every batch:
                        # 120 ms at 800,000 rows and growing with it, against 8 ms for this.
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
            originals = [rows[i].update_of for i, _, _ in todo if rows[i].update_of is not None]
            story_of_original = dict(s.exec(select(StoredArticleRow.id, StoredArticleRow.story_id).where(
                StoredArticleRow.id.in_(originals))).all()) if originals else {}
            # ...and the articles of this batch already placed (oldest first, so copies join the first).
            batch: dict[int, list[int]] = {}
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
            if self.dialect == "postgresql" and band_keys:
                # ~40 keys per article: one statement of arrays instead of one INSERT per key row
                # (8,400 rows a batch of 200: 350 ms as an executemany). Each column goes as
                # one comma-joined string split by the server: psycopg dumps a list of 8,400
                # values element by element in Python. (Keys, ids and ISO times hold no comma.)
                iso = {t: t.isoformat() for t in set(band_times)}
                insert = ("INSERT INTO story_band (key, article_id, story_id, published)"
                          " SELECT * FROM unnest(CAST(string_to_array(:k, ',') AS bigint[]),"
                          " CAST(string_to_array(:a, ',') AS integer[]),"
                          " CAST(string_to_array(:s, ',') AS integer[]),"
                          " CAST(string_to_array(:p, ',') AS timestamptz[]))"
                          # In key order, B-tree pages are visited in order: a third cheaper.
                          " ORDER BY 1")
                params = {"k": ",".join(map(str, band_keys)), "a": ",".join(map(str, band_articles)),
                          "s": ",".join(map(str, band_stories)), "p": ",".join([iso[t] for t in band_times])}
                # The articles placed here have no rows yet, unless another worker placed one of
                # them at the same moment (the same message twice): a plain INSERT, a sixth cheaper
                # than one with ON CONFLICT (60.6 against 72.9 ms for 8,400 rows into 1.2 million),
                # in a savepoint, and on a duplicate the same INSERT skipping what is there.
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
            s.commit()
        return out

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

    def feed_activity(self, since: datetime) -> list[tuple[FeedRow, list[datetime]]]:
        """Each enabled feed's health, with the times its new articles appeared since ``since``."""
        feeds = [f for f in self.list_feeds() if f.enabled]
        times: dict[int, list[datetime]] = {}
        with self._session() as s:
            for fid, t in s.exec(select(SourceRow.feed_id, SourceRow.seen_at).where(SourceRow.seen_at >= since)):
                times.setdefault(fid, []).append(_aware(t))
        return [(f, times.get(f.id, [])) for f in feeds]

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
            failed = []
            for did, attempts, updated in s.exec(
                    select(Delivery.id, Delivery.attempts, Delivery.updated_at)
                    .where(Delivery.status == FAILED, Delivery.updated_at < cutoff)
                    .order_by(Delivery.id).limit(limit)).all():
                countdown = min(retry_base * 2 ** max(attempts - 1, 0), max_countdown)
                if _aware(updated) + timedelta(seconds=countdown) < cutoff:
                    failed.append((did, attempts))
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


class WorkAttempt(SQLModel, table=True):
    """How many times a queue message was delivered to a worker (redelivery count)."""

    __tablename__ = "work_attempt"
    task_id: str = Field(primary_key=True, max_length=200)
    kind: str = ""
    attempts: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class DeadLetter(SQLModel, table=True):
    """Work given up after repeated failures (a poison article), with the reason."""

    __tablename__ = "dead_letter"
    __table_args__ = (UniqueConstraint("kind", "item_id", name="uq_dead_letter"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)  # "article"
    item_id: int
    reason: str = ""
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow)


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

"""The tables (sqlmodel classes) and the states a delivery goes through."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

# Delivery states. "sending" is written before the channel is called, so a crash
# between the channel accepting and "sent" being recorded is visible.
PENDING, SENDING, SENT, FAILED, DEAD = "pending", "sending", "sent", "failed", "dead"
# Held: waiting for its channel's digest (digest mode, throttle overflow, quiet hours).
HELD, DIGESTED = "held", "digested"


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


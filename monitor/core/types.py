"""Plain data passed between the core, the adapters and the orchestration.

Frozen dataclasses, and named tuples for the records the matcher makes by the
dozen per article (Hit, Match: cheaper to make than objects): no I/O, no
behaviour beyond trivial derived values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import MethodType
from typing import NamedTuple, TypeVar

_T = TypeVar("_T", bound=tuple)


@dataclass(frozen=True)
class FetchResult:
    """What the fetcher got for one feed URL."""

    url: str  # final URL after redirects
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True)
class Article:
    """One feed entry turned into an article, before it is stored."""

    dedup_key: str  # guid, else canonical URL, else content hash
    url: str
    title: str
    text: str
    guid: str | None = None
    author: str | None = None
    published: datetime | None = None  # timezone-aware UTC
    language: str | None = None
    content_hash: str = ""


@dataclass(frozen=True)
class Document:
    """What the matcher reads: an article's text plus where it came from."""

    title: str
    text: str
    language: str | None = None
    feed: str | None = None  # feed name
    tags: frozenset[str] = frozenset()  # the feed's tags


class Hit(NamedTuple):
    """One occurrence of a rule term in a document field, as character offsets."""

    field: str  # "title" or "text"
    start: int
    end: int
    term: str  # the term as the rule wrote it


class Match(NamedTuple):
    """A rule that matched a document, with the evidence."""

    rule: str
    terms: tuple[str, ...]  # distinct matched terms, as written in the rule (an entity's: as in the document)
    hits: tuple[Hit, ...]
    channels: tuple[str, ...] = ()
    delivery: str = "immediate"  # immediate, digest or throttle (the rule's)
    per_hour: int | None = None  # throttle: at most this many alerts per rule and channel an hour


class MatchOutcome(NamedTuple):
    """What matching one document gave: its matches, and how much of it was looked at.

    ``prefix`` is None when every field was matched whole. Otherwise a field
    was too long (``match_max_chars``) or its terms too many to examine
    (``match_max_occurrences``): every field was matched on at most its first
    ``prefix`` characters, cut back to a word boundary, and ``matches`` are
    those of that prefix. ``examined`` counts the occurrences of terms the
    matcher looked at (found by the scan, compared for NEAR, checked against
    exclusion contexts): the work the budget is counted in.
    """

    matches: list[Match]
    prefix: int | None = None
    examined: int = 0


def tuple_builder(cls: type[_T], *fields: str) -> Callable[[tuple], _T]:
    """``make(values)``: the named tuple ``cls`` holding ``values``, made without going
    through the Python-level ``__new__`` that calling ``cls`` does (the matcher makes Hits
    and Matches by the dozen per article). Pure.

    ``fields`` names what the caller's tuples hold, in order. Raises TypeError unless they
    are exactly ``cls._fields``: the check runs once, where the builder is made (when the
    caller's module is imported), so a field added to ``cls`` stops that module from
    loading instead of letting it make tuples too short. Calls check nothing.
    """
    if fields != cls._fields:
        raise TypeError(f"{cls.__name__} has the fields {cls._fields}, a builder was made for {fields}: "
                        f"update the builder and the tuples it is given")
    return MethodType(tuple.__new__, cls)


@dataclass(frozen=True)
class AlertContent:
    """Everything an alert message shows; rendered per channel format."""

    rule: str
    terms: tuple[str, ...]
    title: str
    link: str
    feed: str
    published: datetime | None
    text: str
    hits: tuple[Hit, ...]
    sources: tuple[str, ...] = ()  # every outlet of the article's story, first seen first


@dataclass(frozen=True)
class RenderedAlert:
    title: str
    body: str
    body_format: str  # "text", "markdown" or "html"


@dataclass(frozen=True)
class DeliveryResult:
    channel: str
    ok: bool
    reason: str = ""


@dataclass(frozen=True)
class FeedState:
    """A feed as read from storage, with what the next poll needs."""

    id: int
    url: str
    name: str
    language: str | None = None
    tags: tuple[str, ...] = ()
    interval: int = 900
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    item_hashes: bytes | None = None  # the items of the last poll (see monitor.core.feeds.cut_items)
    consecutive_failures: int = 0
    fulltext: bool = False


@dataclass(frozen=True)
class PollRecord:
    """What one poll of one feed gave, to be stored: articles, or an error."""

    feed_id: int
    status: int | None = None
    articles: tuple[Article, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    item_hashes: bytes | None = None  # with body_hash: the items of that body, None to parse all next time
    problem: str | None = None  # usable but imperfect (bozo feed, rejected entries)
    error: str | None = None  # the poll failed; one line
    retry_after: float | None = None


@dataclass(frozen=True)
class StoredArticle:
    """An article read back from storage, with its feed's name and tags."""

    id: int
    feed: str
    feed_tags: tuple[str, ...]
    url: str
    title: str
    text: str
    language: str | None
    published: datetime | None
    matched_prefix: int | None = None  # None: matched whole; else see MatchOutcome.prefix

    def document(self) -> Document:
        return Document(title=self.title, text=self.text, language=self.language,
                        feed=self.feed, tags=frozenset(self.feed_tags))


@dataclass(frozen=True)
class DeliveryJob:
    """A delivery to attempt: which channel, and the alert it carries."""

    id: int
    channel: str
    status: str
    attempts: int
    alert: AlertContent

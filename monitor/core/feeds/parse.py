"""Feed bytes in, articles out: the RSS or Atom document read by feedparser, each entry
made an article. Pure (see the package docstring)."""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import feedparser
from feedparser.exceptions import ThingsNobodyCaresAboutButMe

from monitor.core.errors import FeedError
from monitor.core.feeds.dates import _as_utc, _published
from monitor.core.feeds.language import _language, detect_language
from monitor.core.feeds.markup import _normalize, _single_line, _tidy_lines, html_to_text
from monitor.core.feeds.urls import canonical_url
from monitor.core.types import Article


@dataclass(frozen=True)
class ParsedFeed:
    """One feed document turned into articles."""

    title: str
    language: str | None
    articles: tuple[Article, ...]
    rejected: tuple[tuple[int, str], ...]  # (entry index, reason) for entries not made articles
    problem: str | None  # one line, when the feed is ill-formed but usable


_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")


def parse_feed(body: bytes, *, url: str, headers: Mapping[str, str] | None = None,
               now: datetime | None = None) -> ParsedFeed:
    """Parse an RSS or Atom document into articles.

    ``url`` is the feed's (final) URL: relative links are resolved against it
    and it names the feed in errors. ``headers`` are the HTTP response
    headers; only Content-Type (for the charset) and Content-Language are
    used. ``now`` (default: the current time) replaces a missing, far-future
    or pre-1990 publication date. An article's language is the entry's, else
    the feed's, else :func:`detect_language` on its title and text.

    An ill-formed feed that still yields entries is used, with ``problem``
    set. Entries with neither title, text nor link are listed in
    ``rejected``.

    Raises :class:`FeedError` (``permanent=True``) when the body is not a feed
    at all (empty, an HTML page, garbage), and :class:`FeedError`
    (``permanent=False``) when a feed is so broken it yields no entry.
    """
    now = _as_utc(now) if now is not None else datetime.now(timezone.utc)
    if not body.strip():
        raise FeedError("empty body, not a feed", url=url, permanent=True)

    fp_headers = _feedparser_headers(headers)
    # No content-location: feedparser would join every element against it, for
    # nothing: entry links are resolved against ``url`` by canonical_url, and
    # xml:base inside the document still applies.
    # No sanitizing nor link rewriting inside HTML: we keep only the text of the
    # HTML (html_to_text) and resolve the entry link ourselves (canonical_url),
    # so that work on every entry would be thrown away.
    d = feedparser.parse(io.BytesIO(body), response_headers=fp_headers,
                         resolve_relative_uris=False, sanitize_html=False)

    problem = _one_line_exception(d.get("bozo_exception")) if d.get("bozo") else None
    entries = d.get("entries") or []
    if not d.get("version") and not entries:
        raise FeedError(_not_a_feed_reason(body, problem), url=url, permanent=True)
    if not entries and problem and not isinstance(d.get("bozo_exception"), ThingsNobodyCaresAboutButMe):
        raise FeedError(f"ill-formed feed with no entries: {problem}", url=url)

    feed = d.get("feed") or {}
    feed_language = _language(feed.get("language"))
    # RSS has no text type: feedparser calls a title with a tag it does not know
    # (<script>, <iframe>) plain text; Atom's type="text" is taken at its word.
    rss = not str(d.get("version") or "").startswith("atom")
    articles: list[Article] = []
    rejected: list[tuple[int, str]] = []
    for index, entry in enumerate(entries):
        article = _article(_plain(entry), url=url, feed_language=feed_language, now=now, rss=rss)
        if article is None:
            rejected.append((index, "entry has no title, text or link"))
        else:
            articles.append(article)
    return ParsedFeed(
        title=_single_line(_detail_text(feed, "title", rss)),
        language=feed_language,
        articles=tuple(articles),
        rejected=tuple(rejected),
        problem=problem,
    )


def _feedparser_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The response headers feedparser is given.

    Only what the charset and language detection need; never Content-Encoding
    (the body is already decoded) nor a server's own Content-Location.
    """
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    fp_headers = {k: lowered[k] for k in ("content-type", "content-language") if k in lowered}
    # Without a type feedparser flags every feed; application/xml leaves the
    # charset to the XML declaration, as no header at all would.
    fp_headers.setdefault("content-type", "application/xml")
    ctype = fp_headers["content-type"].lower()
    if ctype.split(";")[0].strip() == "text/xml" and "charset" not in ctype:
        # RFC 7303 dropped text/xml's old US-ASCII default: the XML declaration decides,
        # instead of feedparser flagging every such (healthy) feed as mis-encoded.
        fp_headers["content-type"] = "application/xml"
    return fp_headers


# --- entries -----------------------------------------------------------------

# The entry fields read below, and the nested dicts read in them.
_NESTED = ("title_detail", "summary_detail", "author_detail")


def _plain(entry: Mapping[str, Any]) -> dict[str, Any]:
    # FeedParserDict.get goes through Python-level alias handling on every call;
    # the keys read here are feedparser's own names, stored as they are, so plain
    # dicts give the same values without it.
    out = dict(entry)
    for key in _NESTED:
        if isinstance(out.get(key), dict):
            out[key] = dict(out[key])
    if isinstance(out.get("content"), list):
        out["content"] = [dict(c) if isinstance(c, dict) else c for c in out["content"]]
    return out


def _article(entry: Mapping[str, Any], *, url: str, feed_language: str | None,
             now: datetime, rss: bool) -> Article | None:
    title = _single_line(_detail_text(entry, "title", rss))
    text = _entry_text(entry, rss)
    link = canonical_url(entry.get("link") or "", base=url)
    if not (title or text or link):
        return None
    guid = (entry.get("id") or "").strip() or None
    content_hash = hashlib.sha256(
        f"{_normalize(title)}\n{_normalize(text)}".encode("utf-8")).hexdigest()
    if guid:
        dedup_key = f"guid:{guid}"
    elif link:
        dedup_key = f"url:{link}"
    else:
        dedup_key = f"hash:{content_hash}"
    return Article(
        dedup_key=dedup_key,
        url=link,
        title=title,
        text=text,
        guid=guid,
        author=_author(entry),
        published=_published(entry, now),
        language=_entry_language(entry) or feed_language or detect_language(f"{title}\n{text}"),
        content_hash=content_hash,
    )


def _entry_text(entry: Mapping[str, Any], rss: bool) -> str:
    for content in entry.get("content") or ():
        text = _as_text(content.get("value") or "", content.get("type"), rss)
        if text:
            return text
    return _detail_text(entry, "summary", rss)


def _detail_text(node: Mapping[str, Any], key: str, rss: bool) -> str:
    detail = node.get(f"{key}_detail") or {}
    return _as_text(node.get(key) or "", detail.get("type"), rss)


def _as_text(value: str, content_type: str | None, rss: bool = False) -> str:
    if (content_type or "text/html").lower() in _HTML_TYPES or (rss and _TAG.search(value)):
        return html_to_text(value)
    # Plain text; some feeds escape entities twice, leaving "&amp;#8217;" -> "&#8217;".
    return _tidy_lines(html.unescape(value))


def _author(entry: Mapping[str, Any]) -> str | None:
    detail = entry.get("author_detail") or {}
    name = _single_line(detail.get("name") or entry.get("author") or "")
    return name or None


def _entry_language(entry: Mapping[str, Any]) -> str | None:
    # feedparser puts dc:language on the entry and xml:lang on each text construct.
    candidates = [entry.get("language")]
    candidates += [c.get("language") for c in entry.get("content") or ()]
    candidates += [(entry.get(f"{k}_detail") or {}).get("language") for k in ("summary", "title")]
    for candidate in candidates:
        language = _language(candidate)
        if language:
            return language
    return None


def _one_line_exception(exc: Any) -> str | None:
    if exc is None:
        return None
    text = _single_line(str(exc)).replace("<unknown>:", "line ", 1)  # SAX's name for our stream
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _not_a_feed_reason(body: bytes, problem: str | None) -> str:
    head = body[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<head" in head or b"<body" in head:
        return "an HTML page, not an RSS or Atom feed"
    return f"not an RSS or Atom feed ({problem})" if problem else "not an RSS or Atom feed"

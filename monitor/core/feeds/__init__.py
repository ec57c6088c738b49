"""Feed bytes in, articles out.

Pure: reads only the bytes and headers it is given (and the clock, when no
``now`` is passed); it opens no URL or socket, and no file but simplemma's
word lists, loaded once per process the first time a language has to be
detected. feedparser is always handed a byte stream, never a string, because
given a string (or bytes, which it tries as a path) it opens local files and
URLs itself.
"""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import html
import io
import re
import threading
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import feedparser
from feedparser.exceptions import ThingsNobodyCaresAboutButMe

from monitor.core.errors import FeedError
from monitor.core.types import Article

__all__ = ["ParsedFeed", "ItemCut", "parse_feed", "cut_items", "canonical_url", "detect_language",
           "html_to_text", "TRACKING_PARAMS", "DETECTED_LANGUAGES", "ITEM_HASH_SIZE"]


@dataclass(frozen=True)
class ParsedFeed:
    """One feed document turned into articles."""

    title: str
    language: str | None
    articles: tuple[Article, ...]
    rejected: tuple[tuple[int, str], ...]  # (entry index, reason) for entries not made articles
    problem: str | None  # one line, when the feed is ill-formed but usable


# Query parameters that identify a campaign or a click, not the page. Any
# parameter starting with "utm_" is removed too.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "igshid", "li_fat_id", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "__hstc", "__hssc",
    "__hsfp", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "rb_clickid", "s_cid",
    "wt_mc", "wt_zmc", "xtor", "at_medium", "at_campaign", "ncid", "cmpid", "ref_src",
})

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
_FUTURE_SLACK = timedelta(days=1)
_WS = re.compile(r"\s+")
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
    # No content-location: feedparser would join every element against it (a
    # quarter of its time); entry links are resolved against ``url`` by
    # canonical_url, and xml:base inside the document still applies.
    # No sanitizing nor link rewriting inside HTML: we keep only the text of the
    # HTML (html_to_text) and resolve the entry link ourselves (canonical_url);
    # skipping them makes feedparser about a third faster.
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


# --- re-polls: parse only the items that were not there last time ------------------------
#
# A busy feed polled every few minutes shows mostly the items of the last poll, and
# feedparser costs the same for an item seen a hundred times as for a new one. The body
# is cut at its items; an item whose bytes (and the markup around it: namespaces, base,
# language, charset) are the same as at the last poll parses the same, so it is left out.
# Anything the cut is not sure of (text between items, an item tag inside another, a
# two-byte encoding) parses the whole body, as before.

#: Bytes of the hash kept per item of a feed's last poll.
ITEM_HASH_SIZE = 8

_NAME = rb"(?:[A-Za-z_][\w.-]*:)?"
# A start tag is read up to the next "<" or ">": no "<" stands in a tag, and the search for a ">"
# cannot run on to the end of a hostile body from every "<" in it (quadratic time).
# An item from its start tag to its end tag: runs of anything but "<" at once, then a "<" that
# does not close it (five times faster than ".*?" over a real feed).
_ITEM = re.compile(rb"<(" + _NAME + rb"(?:item|entry))(?:\s[^<>]*)?>[^<]*(?:<(?!/\1\s*>)[^<]*)*</\1\s*>")
_ITEM_OPEN = re.compile(rb"<" + _NAME + rb"(?:item|entry)[\s/>]")
_ITEM_CLOSE = re.compile(rb"</" + _NAME + rb"(?:item|entry)\s*>")
_MARKUP = re.compile(rb"<[^<>]*>")
_START_TAGS = {name: re.compile(rb"<(" + _NAME + name + rb")(?:\s[^<>]*)?>") for name in (b"language", b"items")}


def _elements(name: bytes, doc: bytes) -> list[tuple[int, int, int, int]]:
    """(start, content start, content end, end) of each element ``name`` (any prefix) of
    ``doc``, left to right, nested ones aside; in linear time whatever the bytes."""
    out: list[tuple[int, int, int, int]] = []
    pos, start_tag = 0, _START_TAGS[name]
    while (m := start_tag.search(doc, pos)) is not None:
        close = doc.find(b"</" + m[1], m.end())
        if close < 0:
            break  # no end tag after this one: none after any later one either
        end = doc.find(b">", close)
        pos = len(doc) if end < 0 else end + 1
        out.append((m.start(), m.end(), close, pos))
    return out


@dataclass(frozen=True)
class ItemCut:
    """A feed body cut at its items: ``head + b"".join(items) + tail`` is the body, less
    the blanks between items."""

    head: bytes
    items: tuple[bytes, ...]
    tail: bytes
    hashes: tuple[bytes, ...]  # per item: its bytes and what around it changes how it parses

    @property
    def packed(self) -> bytes:
        """Every item's hash end to end, as a feed keeps them until its next poll."""
        return b"".join(self.hashes)

    def new_items(self, packed: bytes | None) -> list[bytes]:
        """The items whose hash is not among ``packed`` (a former :attr:`packed`), in order."""
        known = {packed[i:i + ITEM_HASH_SIZE] for i in range(0, len(packed or b""), ITEM_HASH_SIZE)}
        return [item for item, h in zip(self.items, self.hashes) if h not in known]

    def only(self, keep: list[bytes]) -> bytes:
        """The body with only the items ``keep``."""
        return self.head + b"".join(keep) + self.tail


def cut_items(body: bytes, headers: Mapping[str, str] | None = None) -> ItemCut | None:
    """Cut an RSS or Atom body at its items (``<item>``, ``<entry>``), or None when it cannot
    be cut safely. Pure.

    Each item's hash covers its bytes and, around it, the markup of the rest of the
    document (tags and attributes: namespaces, ``xml:base``, ``xml:lang``), the feed's
    language element and the headers feedparser is given (charset, language); not the
    feed's text (its title, its last build date), which changes nothing in an item, nor RSS
    1.0's list of the items in the channel.
    """
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[:512]:
        return None  # UTF-16 or UTF-32: tags are not ASCII bytes
    opens = len(_ITEM_OPEN.findall(body))
    if not opens or opens != len(_ITEM_CLOSE.findall(body)):
        return None  # unclosed items: also keeps each search below from running to the end of the body
    spans = [m.span() for m in _ITEM.finditer(body)]
    if len(spans) != opens:
        return None  # an item the pattern did not take whole (one inside another, say)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if body[end:start].strip():
            return None  # something between two items: a comment, or an item cut short
    head, tail = body[:spans[0][0]], body[spans[-1][1]:]
    # RSS 1.0's list of the channel's items (<items><rdf:Seq><rdf:li .../>) changes with every
    # new item, and feedparser does not read it: out of the hash.
    markup, at = [], 0
    for start, _, _, end in _elements(b"items", head):
        markup.append(head[at:start])
        at = end
    markup.append(head[at:])
    languages = [head[a:b] for _, a, b, _ in _elements(b"language", head)]
    around = hashlib.blake2b(digest_size=32)
    for part in (*_MARKUP.findall(b"".join(markup)), b"\x1f", *languages, b"\x1f", *_MARKUP.findall(tail), b"\x1f",
                 repr(sorted(_feedparser_headers(headers).items())).encode()):
        around.update(part)
    key = around.digest()
    items = tuple(body[a:b] for a, b in spans)
    return ItemCut(head, items, tail,
                   tuple(hashlib.blake2b(item, digest_size=ITEM_HASH_SIZE, key=key).digest() for item in items))


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


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical form of an article link, or ``""`` if it is not an http(s) URL.

    Resolves ``url`` against ``base``, lower-cases scheme and host, drops
    credentials, default ports, the fragment and tracking parameters
    (``utm_*`` and :data:`TRACKING_PARAMS`); other parameters keep their order
    and encoding. Raises nothing.
    """
    url = (url or "").strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        # urljoin hands back a URL with its own scheme and host as it is (no
        # dot-segment removal): skip it, and its parsing, for the common case.
        if base and not (parts.netloc and parts.scheme in ("http", "https")):
            parts = urlsplit(urljoin(base, url))
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:  # bad IPv6 literal or port
        return ""
    if scheme not in ("http", "https") or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def html_to_text(html_text: str) -> str:
    """Plain text from an HTML fragment.

    Drops script, style, template and noscript content and comments, turns
    block elements and ``<br>`` into line breaks, decodes entities, collapses
    whitespace within lines and removes empty lines. Raises nothing.
    """
    html_text = html_text or ""
    if "<" not in html_text:  # no markup: what HTMLParser would hand to handle_data
        return _tidy_lines(html.unescape(html_text))
    parts = _simple_markup_text(html_text)
    if parts is None:
        parser = _TextExtractor()
        parser.feed(html_text)
        parser.close()
        parts = parser.parts
    return _tidy_lines("".join(parts))


# --- entries -----------------------------------------------------------------

# The entry fields read below, and the nested dicts read in them.
_NESTED = ("title_detail", "summary_detail", "author_detail")


def _plain(entry: Mapping[str, Any]) -> dict[str, Any]:
    # FeedParserDict.get goes through Python-level alias handling on every call;
    # the keys read here are feedparser's own names, stored as they are, so plain
    # dicts give the same values at C speed.
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


def _language(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().replace("_", "-").lower()
    return value or None


# Detection is on the start of the text only: it costs about as much per word
# as the rest of the parse, and 300 characters are enough for these languages.
DETECTED_LANGUAGES = ("fr", "en", "de", "es", "it", "pt", "nl")
_DETECT_CHARS = 300
_DETECT_MIN_WORDS = 5  # distinct words of 3+ letters, fewer is guesswork
_DETECT_MIN_SHARE = 0.5  # of those words, found in the winning language's word list
_MEMO_MAX = 200_000
_memo: dict[str, frozenset[str]] = {}  # word -> the languages whose word list has it
_simplemma: Any = None
_LOADING = threading.Lock()


def detect_language(text: str) -> str | None:
    """The language of ``text`` among :data:`DETECTED_LANGUAGES`, or None.

    Looks at the first 300 characters only. None when they hold fewer than 5
    distinct words of 3 letters or more, when no language knows at least half
    of them, or on a tie. Uses simplemma's word lists (memory-frugal variant),
    read on the first call. Raises nothing.
    """
    global _simplemma
    if _simplemma is None:
        with _LOADING:  # poll_feeds parses in threads: load the word lists once
            if _simplemma is None:
                _simplemma = _load_simplemma()
    sampler, normalize, lookup = _simplemma
    words = [normalize(w) for w in sampler.sample_text(text[:_DETECT_CHARS])]
    if len(words) < _DETECT_MIN_WORDS:
        return None
    counts = dict.fromkeys(DETECTED_LANGUAGES, 0)
    for word in words:
        languages = _memo.get(word)
        if languages is None:
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            languages = _memo[word] = frozenset(
                lang for lang in DETECTED_LANGUAGES if lookup.get_lemma(word, lang) is not None)
        for lang in languages:
            counts[lang] += 1
    (best, top), (_, second) = sorted(counts.items(), key=lambda kv: -kv[1])[:2]
    if top < _DETECT_MIN_SHARE * len(words) or top == second:
        return None
    return best


def _load_simplemma() -> tuple[Any, Any, Any]:
    from simplemma import MostCommonTokenSampler
    from simplemma.strategies import DictionaryLookupStrategy
    from simplemma.strategies.dictionaries import StreamDictionaryFactory
    from simplemma.utils import normalize_token

    # Plain dictionary lookup (no affix or rule guessing) is 3x faster than
    # simplemma.langdetect and as accurate on news text. The stream factory
    # holds the 7 word lists in ~50 MB instead of ~430 MB; its slower lookups
    # are what the memo above is for.
    return (MostCommonTokenSampler(), normalize_token,
            DictionaryLookupStrategy(StreamDictionaryFactory()))


# --- dates -------------------------------------------------------------------

def _published(entry: Mapping[str, Any], now: datetime) -> datetime:
    when = None
    for key in ("published", "updated", "created"):
        # dict.get: FeedParserDict maps a missing "updated" to "published", with a warning.
        when = (_struct_to_datetime(dict.get(entry, f"{key}_parsed"))
                or _localized_date(dict.get(entry, key)))
        if when is not None:
            break
    if when is None or when < _EARLIEST or when > now + _FUTURE_SLACK:
        return now
    return when


def _struct_to_datetime(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


# RFC 822 dates written with local month names ("Seg, 24 Set 2018 19:42:40 -0300",
# as Brazilian and other sites do), which feedparser leaves unparsed.
_MONTHS = {
    # pt, es, it, de, fr (abbreviations and full names, accents removed)
    "fev": "Feb", "fevereiro": "Feb", "abr": "Apr", "abril": "Apr", "mai": "May", "maio": "May",
    "set": "Sep", "setembro": "Sep", "out": "Oct", "outubro": "Oct", "dez": "Dec", "dezembro": "Dec",
    "janeiro": "Jan", "marco": "Mar", "junho": "Jun", "julho": "Jul", "ago": "Aug", "agosto": "Aug",
    "novembro": "Nov", "ene": "Jan", "enero": "Jan", "febrero": "Feb", "marzo": "Mar", "mayo": "May",
    "junio": "Jun", "julio": "Jul", "sept": "Sep", "septiembre": "Sep", "octubre": "Oct",
    "noviembre": "Nov", "dic": "Dec", "diciembre": "Dec", "gen": "Jan", "mag": "May", "giu": "Jun",
    "lug": "Jul", "ott": "Oct", "mrz": "Mar", "okt": "Oct", "janv": "Jan", "fevr": "Feb",
    "mars": "Mar", "avr": "Apr", "juin": "Jun", "juil": "Jul", "aout": "Aug", "oct": "Oct",
    "dec": "Dec",
}


def _localized_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.split(",", 1)[-1]  # the weekday, in whatever language
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))

    def month(m: re.Match[str]) -> str:
        word = m.group(0)
        return _MONTHS.get(word.lower().rstrip("."), word)

    folded = re.sub(r"[^\W\d_]+\.?", month, folded)
    try:
        parsed = email.utils.parsedate_to_datetime(folded.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return _as_utc(parsed)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


# --- text --------------------------------------------------------------------

_SKIP = frozenset({"script", "style", "template", "noscript"})
_CDATA = frozenset(HTMLParser.CDATA_CONTENT_ELEMENTS)  # raw text inside for HTMLParser
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:  # <br/>, <hr/>; a self-closed <script/> opens nothing
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


# Tags with no attribute or with well-formed quoted ones: HTMLParser reads these
# the same way, so when every "<" of a fragment opens one (no comment, CDATA,
# declaration, unquoted or broken attribute), a regex split gives its result at
# a fraction of the cost. Anything else goes through HTMLParser.
_SIMPLE_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)"
    r"((?:[ \t\n\r\f]+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:[ \t\n\r\f]*=[ \t\n\r\f]*(?:\"[^\"<]*\"|'[^'<]*'))?)*)"
    r"[ \t\n\r\f]*(/?)>")


def _simple_markup_text(text: str) -> list[str] | None:
    # The pieces _TextExtractor would collect, or None when the markup is not simple.
    pieces = _SIMPLE_TAG.split(text)
    # split gives data, then per tag: slash, name, attributes, self-closing slash, data
    if (len(pieces) - 1) // 5 != text.count("<"):
        return None
    unescape = html.unescape
    parts = [unescape(pieces[0])] if pieces[0] else []
    for i in range(1, len(pieces), 5):
        closing, name, attrs, selfclosing, data = pieces[i:i + 5]
        name = name.lower()
        if name in _SKIP or name in _CDATA or (closing and (attrs or selfclosing)):
            return None
        if name in _BLOCK:
            parts.append("\n")
        if data:
            parts.append(unescape(data))
    return parts


def _tidy_lines(text: str) -> str:
    lines = (_single_line(line) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _single_line(text: str) -> str:
    # " ".join(text.split()): str.split() splits on exactly what \s+ matches
    # (str.isspace). Every whitespace character but the space is unprintable
    # (a test checks it), so printable text with no double, leading or trailing
    # space is already what split and join would rebuild, word by word.
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return " ".join(text.split())


def _normalize(text: str) -> str:
    # Newlines are whitespace like spaces: replacing them changes nothing but
    # lets tidy multi-line text take _single_line's shortcut.
    return _single_line(unicodedata.normalize("NFKC", text).casefold().replace("\n", " "))


# --- urls and problems -------------------------------------------------------

def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.split("=", 1)[0]).strip().lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS


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

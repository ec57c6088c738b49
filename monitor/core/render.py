"""Rendering alerts for channels: the snippet, escaping, and the three body formats.

Pure core: these functions touch nothing outside themselves except what they
read: the time-zone database (through :mod:`zoneinfo`) and the Jinja2 templates,
shipped in ``monitor/templates/`` or found in a user folder. They never import
celery, sqlalchemy, httpx or apprise.

Bodies are laid out by templates a user can override: ``alert.txt``,
``alert.md``, ``alert.html``, ``digest.txt``, ``digest.md`` and ``digest.html``.
A file of the same name in the ``templates`` folder passed to :func:`render_alert`
or :func:`render_digest` wins; the shipped ones stay reachable as
``default/alert.html`` (to ``{% extends %}`` or ``{% include %}`` them).

Article titles, texts and links are untrusted. Every piece of them is made inert
for the format it goes into: HTML-escaped for ``html``, every Markdown control
character backslash-escaped for ``markdown``, and in every format chat mentions
(``@everyone``, ``<!here>``, ``<@&123>``...) are broken by a zero-width space
after ``@`` and ``<``. Links are rendered only for ``http`` and ``https``.
Templates only ever receive values already made inert for their format (for
HTML they are :class:`markupsafe.Markup` and autoescaping is on), never the raw
article, so no template can show article markup as markup by accident.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from markupsafe import Markup

from monitor.core.errors import ConfigError
from monitor.core.types import AlertContent, Hit, RenderedAlert

__all__ = [
    "DIGEST_MAX_ITEMS",
    "ELLIPSIS",
    "FORMATS",
    "TEMPLATE_NAMES",
    "TITLE_MAX",
    "json_printable",
    "printable",
    "render_alert",
    "render_digest",
    "render_test_message",
    "snippet",
]

FORMATS = ("text", "markdown", "html")
ELLIPSIS = "\u2026"
TITLE_MAX = 80  # characters in RenderedAlert.title: a mail subject or a chat heading
ZWSP = "\u200b"
DIGEST_MAX_ITEMS = 50  # items a digest shows in full; the rest are counted
DIGEST_SNIPPET_WIDTH = 160
# The template file of each kind of message, per format.
TEMPLATE_NAMES = {(kind, fmt): f"{kind}.{ext}" for kind in ("alert", "digest")
                  for fmt, ext in (("text", "txt"), ("markdown", "md"), ("html", "html"))}

_NON_SPACE = re.compile(r"\S+")
_SPACES = re.compile(r"\s+")
# C0/C1 controls and the bidi overrides that can make text read backwards.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# "@" and "<" start mentions (@everyone, <!here>, <@123>) and HTML tags; "](" makes a
# Markdown link even in text a channel renders as Markdown.
_BREAKABLE = re.compile(r"[@<]|\](?=\()")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
# Characters kept as they are in a rendered link; everything else is percent-encoded,
# so the URL needs no quoting in Markdown and cannot end a Markdown link early.
_URL_SAFE = "-._~:/?#[]!$&'*+,;=%"
_NETLOC = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?")

_NO_LINK = "(no link)"
_UNSAFE_SCHEME = "(link withheld: unsafe scheme)"
_INVALID_LINK = "(link withheld: not a valid URL)"


# -- snippet ---------------------------------------------------------------------------


def snippet(text: str, hits: Sequence[Hit], *, width: int = 280) -> list[tuple[str, bool]]:
    """Cut a window of about ``width`` characters of ``text`` around its first hits.

    Only hits on the ``"text"`` field are used; hits that do not lie within ``text``
    are ignored. The window starts a little before the first hit (at the start of the
    text when there is none), is cut at word boundaries where one is near, never cuts
    a hit in two, and is marked with ``"…"`` at each end where text was cut off.
    Whitespace runs are collapsed to single spaces; hits keep their place.

    Returns ``(chunk, highlighted)`` segments in order: highlighted chunks are exactly
    the hit spans (overlapping or touching hits merged into one), with collapsed
    whitespace and without spaces at their ends; the others are plain text and the
    ellipses. Raises ValueError if ``width`` is not positive.
    """
    if width < 1:
        raise ValueError(f"snippet width must be positive, not {width}")
    spans = [(h.start, h.end) for h in hits
             if h.field == "text" and 0 <= h.start < h.end <= len(text)]
    return _segments(text, spans, width)


def _segments(text: str, spans: list[tuple[int, int]], width: int) -> list[tuple[str, bool]]:
    flat, where = _collapse(text)
    n = len(flat)
    marked = []
    for start, end in _merge(spans):
        # A flat character i stands for text[where[i]]; it is in the span iff start <= where[i] < end.
        lo, hi = bisect_left(where, start), bisect_left(where, end)
        while lo < hi and flat[lo] == " ":
            lo += 1
        while hi > lo and flat[hi - 1] == " ":
            hi -= 1
        if lo < hi:
            marked.append((lo, hi))
    start, end = _window(flat, marked, width)

    segments: list[tuple[str, bool]] = []
    if start > 0:
        segments.append((ELLIPSIS, False))
    cursor = start
    for lo, hi in marked:
        if hi <= cursor:
            continue
        if lo >= end:
            break
        if lo > cursor:
            segments.append((flat[cursor:lo], False))
        segments.append((flat[lo:hi], True))
        cursor = hi
    if cursor < end:
        segments.append((flat[cursor:end], False))
    if end < n:
        segments.append((ELLIPSIS, False))

    joined: list[tuple[str, bool]] = []
    for chunk, highlighted in segments:
        if joined and not highlighted and not joined[-1][1]:
            joined[-1] = (joined[-1][0] + chunk, False)
        else:
            joined.append((chunk, highlighted))
    return joined


def _collapse(text: str) -> tuple[str, list[int]]:
    """``text`` with whitespace runs made one space and the ends stripped, and, for
    each character of the result, its index in ``text``."""
    parts: list[str] = []
    where: list[int] = []
    previous_end = None
    for m in _NON_SPACE.finditer(text):
        if previous_end is not None:
            parts.append(" ")
            where.append(previous_end)  # the space stands for the run's first character
        parts.append(m.group())
        where.extend(range(m.start(), m.end()))
        previous_end = m.end()
    return "".join(parts), where


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window(flat: str, marked: list[tuple[int, int]], width: int) -> tuple[int, int]:
    n = len(flat)
    if n <= width:
        return 0, n
    first_lo, first_hi = marked[0] if marked else (0, 0)
    slack = max(1, width // 4)  # how far a cut may move to reach a word boundary
    start = max(0, first_lo - width // 4)
    end = max(start + width, first_hi)  # the first hit is always shown whole
    if end > n:
        end = n
        start = max(0, min(start, n - width))

    if 0 < start < n and flat[start - 1] != " " and flat[start] != " ":
        # Prefer dropping the partial word, but never past the first hit.
        i = flat.find(" ", start, min(first_lo, start + slack))
        if i == -1:
            i = flat.rfind(" ", max(0, start - slack), start)
        if i != -1:
            start = i + 1

    if end < n and flat[end] != " " and flat[end - 1] != " ":
        i = flat.rfind(" ", max(first_hi, end - slack), end)
        if i != -1:
            end = i
    # A hit that would be cut is left out whole.
    while (lo := next((lo for lo, hi in marked if lo < end < hi), None)) is not None:
        end = lo
        if flat[end - 1] != " ":
            i = flat.rfind(" ", max(first_hi, end - slack), end)
            if i != -1:
                end = i

    while start < end and flat[start] == " ":
        start += 1
    while end > start and flat[end - 1] == " ":
        end -= 1
    return start, end


# -- making untrusted text inert ---------------------------------------------------------


def _clean(value: str) -> str:
    """One line: whitespace collapsed, controls and bidi overrides removed."""
    return _CONTROLS.sub("", _SPACES.sub(" ", value)).strip()


def printable(value: str, *, lines: bool = False) -> str:
    """``value`` safe to show on a terminal or a page: C0 and C1 control characters (terminal
    escape sequences start with one) and the bidirectional controls that can make text read
    backwards removed. One line, as :func:`_clean` makes it, unless ``lines``: then line breaks
    and tabs stay and nothing else moves. Pure."""
    return _CONTROLS.sub(_drop_control, value) if lines else _clean(value)


def _drop_control(m: re.Match) -> str:
    return m.group() if m.group() in "\n\t" else ""


def json_printable(document: str) -> str:
    """A JSON document (as :func:`json.dumps` writes it) with every control and bidirectional
    character written as a ``\\uXXXX`` escape: the same data, and nothing a terminal acts on.

    :func:`json.dumps` escapes C0 controls inside strings, but with ``ensure_ascii=False`` it
    writes C1 controls (``\\x9b`` starts an escape sequence) and bidi overrides as they are. Outside
    strings a document only holds line breaks and spaces, which stay. Pure."""
    return _CONTROLS.sub(lambda m: m.group() if m.group() == "\n" else f"\\u{ord(m.group()):04x}", document)


def _inert(value: str) -> str:
    """Break mentions, tags and Markdown links with a zero-width space; drop controls."""
    value = _CONTROLS.sub("", value)
    return _BREAKABLE.sub(lambda m: m.group() + ZWSP, value)


def _escape_markdown(value: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", value)


def _escape_html(value: str) -> str:
    return html.escape(value, quote=True)


def _truncate(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


def _safe_link(link: str) -> tuple[str | None, str]:
    """The link as it may be rendered, or None and the reason shown instead."""
    link = link.strip()
    if not link:
        return None, _NO_LINK
    if _CONTROLS.search(link):
        return None, _INVALID_LINK
    try:
        parts = urlsplit(link)
        hostname = parts.hostname
    except ValueError:
        return None, _INVALID_LINK
    if parts.scheme.lower() not in ("http", "https"):
        return None, _UNSAFE_SCHEME
    # Credentials in a link are a phishing trick (http://bank.example@evil.example/).
    if not hostname or "@" in parts.netloc:
        return None, _INVALID_LINK
    try:
        netloc = parts.netloc.encode("idna").decode("ascii")
    except UnicodeError:
        return None, _INVALID_LINK
    if not _NETLOC.fullmatch(netloc):
        return None, _INVALID_LINK
    rest = link[len(parts.scheme) + 3 + len(parts.netloc):]  # after "scheme://netloc"
    return f"{parts.scheme.lower()}://{netloc}{quote(rest, safe=_URL_SAFE)}", ""


def _format_time(published: datetime | None, zone: ZoneInfo) -> str:
    if published is None:
        return "unknown date"
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)  # stored times are UTC
    return published.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError(f"unknown time zone {tz!r}", field="tz") from e


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown alert format {fmt!r}; expected one of {', '.join(FORMATS)}",
                          field="format")


# -- formats --------------------------------------------------------------------------


def _text_of(value: str, fmt: str) -> str:
    """Untrusted text made inert for ``fmt``."""
    value = _inert(value)
    if fmt == "html":
        return _escape_html(value)
    if fmt == "markdown":
        return _escape_markdown(value)
    return value


def _highlight(value: str, fmt: str) -> str:
    value = _text_of(value, fmt)
    if not value:
        return ""
    if fmt == "html":
        return f"<mark>{value}</mark>"
    if fmt == "markdown":
        return f"**{value}**"
    return f"\u00ab{value}\u00bb"


def _link_of(link: str, fmt: str) -> str:
    url, reason = _safe_link(link)
    if url is None:
        return _text_of(reason, fmt)
    if fmt == "html":
        return f'<a href="{_escape_html(url)}">{_escape_html(url)}</a>'
    if fmt == "markdown":
        return f"[{_escape_markdown(url)}]({url})"
    return url


def _lines(fmt: str, heading: str, fields: list[tuple[str, str]], quote_: str) -> str:
    """Lay out a message: ``heading`` and field values and ``quote_`` are already
    rendered for ``fmt``."""
    if fmt == "html":
        items = "\n".join(f"<li>{label}: {value}</li>" for label, value in fields)
        body = f"<p><strong>{heading}</strong></p>\n<ul>\n{items}\n</ul>"
        if quote_:
            body += f"\n<blockquote><p>{quote_}</p></blockquote>"
        return body
    if fmt == "markdown":
        items = "\n".join(f"- {label}: {value}" for label, value in fields)
        body = f"**{heading}**\n\n{items}"
        if quote_:
            body += f"\n\n> {quote_}"
        return body
    items = "\n".join(f"{label}: {value}" for label, value in fields)
    body = f"{heading}\n{items}"
    if quote_:
        body += f"\n\n{quote_}"
    return body


# -- templates ------------------------------------------------------------------------

_SHIPPED = jinja2.PackageLoader("monitor", "templates")


@lru_cache(maxsize=16)
def _environment(folder: str | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if folder is not None:
        loaders.append(jinja2.FileSystemLoader(folder))
    loaders += [_SHIPPED, jinja2.PrefixLoader({"default": _SHIPPED})]
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        # HTML templates escape whatever they are given that is not Markup already.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm"),
                                            default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not a blank
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=True,
    )


def _folder(templates: str | Path | None) -> str | None:
    if templates is None:
        return None
    path = Path(templates).expanduser()
    if not path.is_dir():
        raise ConfigError(f"template folder {str(path)!r} does not exist", field="templates")
    return str(path.resolve())


def _render_template(kind: str, fmt: str, templates: str | Path | None, context: dict) -> str:
    name = TEMPLATE_NAMES[(kind, fmt)]
    try:
        body = _environment(_folder(templates)).get_template(name).render(context)
    except jinja2.TemplateError as e:
        where = getattr(e, "filename", None) or name
        line = getattr(e, "lineno", None)
        raise ConfigError(f"template {name}: {e}", path=where, line=line, field="templates") from e
    return body.strip("\n").rstrip()


def _markup(value: str, fmt: str):
    """A value already rendered for ``fmt``: Markup for HTML, so autoescaping keeps it."""
    return Markup(value) if fmt == "html" else value


def _alert_context(alert: AlertContent, fmt: str, zone: ZoneInfo, width: int) -> dict:
    """What a template may show of one alert, every value already inert for ``fmt``."""
    article_title = _clean(alert.title) or "(untitled)"
    rule = _clean(alert.rule)
    terms = [_text_of(t, fmt) for t in (_clean(t) for t in alert.terms) if t]
    excerpt = "".join(_highlight(chunk, fmt) if highlighted else _text_of(chunk, fmt)
                      for chunk, highlighted in snippet(alert.text, alert.hits, width=width))
    url, _ = _safe_link(alert.link)
    m = lambda v: _markup(v, fmt)  # noqa: E731
    return {
        "title": m(_text_of(article_title, fmt)),
        "feed": m(_text_of(_clean(alert.feed) or "(unknown feed)", fmt)),
        "published": m(_text_of(_format_time(alert.published, zone), fmt)),
        "rule": m(_text_of(rule, fmt)),
        "terms": m(", ".join(terms) or _text_of("(none)", fmt)),
        "term_list": [m(t) for t in terms],
        "link": m(_link_of(alert.link, fmt)),
        # The bare http(s) URL, percent-encoded (HTML-escaped for html), or "".
        "url": m(_escape_html(url) if url and fmt == "html" else (url or "")),
        "snippet": m(excerpt),
        # every outlet of the article's story ("" when it has none beyond its own feed)
        "sources": m(_text_of(", ".join(filter(None, (_clean(x) for x in alert.sources))), fmt)
                     if len(alert.sources) > 1 else ""),
        "source_count": len(alert.sources),
        "format": fmt,
    }


def render_alert(alert: AlertContent, fmt: str, *, tz: str = "UTC",
                 templates: str | Path | None = None) -> RenderedAlert:
    """Render ``alert`` as a message body in ``fmt`` ("text", "markdown" or "html").

    The body shows the article title, the feed, the published time in ``tz``, the
    rule, the matched terms, the link (http and https only) and a snippet of the
    text with the hits highlighted (``«term»``, ``**term**``, ``<mark>term</mark>``).
    It is laid out by the template ``alert.txt``, ``alert.md`` or ``alert.html``,
    taken from the ``templates`` folder when it has one, else the shipped one.
    The returned title is plain one-line text, ``[rule] article title`` cut to
    ``TITLE_MAX`` characters, with mentions, tags and Markdown links broken so that
    it is inert whatever a channel does with it.

    Raises ConfigError (a ValueError) for an unknown ``fmt`` or time zone, a
    ``templates`` folder that does not exist, or a template that fails.
    """
    _check_format(fmt)
    zone = _zone(tz)
    title = _inert(_truncate(f"[{_clean(alert.rule)}] {_clean(alert.title) or '(untitled)'}", TITLE_MAX))
    context = _alert_context(alert, fmt, zone, 280)
    body = _render_template("alert", fmt, templates, context)
    return RenderedAlert(title=title, body=body, body_format=fmt)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('ch') else 's'}"


def _newest_first(alerts: Sequence[AlertContent]) -> list[AlertContent]:
    def key(a: AlertContent):
        published = a.published
        if published is not None and published.tzinfo is None:
            published = published.replace(tzinfo=timezone.utc)
        return (published is None, -(published.timestamp() if published else 0.0))

    return sorted(alerts, key=key)  # stable: equal times keep their order


def render_digest(channel: str, alerts: Sequence[AlertContent], fmt: str, *, tz: str = "UTC",
                  period: str = "", held_reason: str = "",
                  templates: str | Path | None = None) -> RenderedAlert:
    """Render one message grouping ``alerts`` for ``channel`` in ``fmt``.

    The body opens with the number of matches per rule, most first
    (``otan: 31, ukraine: 12, climat: 7``), then lists the alerts newest first
    (undated ones last), each with its title, feed, time in ``tz``, rule, link
    and a short snippet. Only the first ``DIGEST_MAX_ITEMS`` are listed; the rest
    are counted ("…and 12 more matches"). ``period`` (e.g. "08:00-09:00") and
    ``held_reason`` (e.g. "quiet hours") are shown when given. It is laid out by
    ``digest.txt``, ``digest.md`` or ``digest.html`` (see :func:`render_alert`).
    The title is ``[digest] 50 matches for 3 rules``, plain and inert.

    Raises ConfigError (a ValueError) for an unknown ``fmt`` or time zone, a
    ``templates`` folder that does not exist, or a template that fails.
    """
    _check_format(fmt)
    zone = _zone(tz)
    ordered = _newest_first(alerts)
    per_rule = Counter(_clean(a.rule) for a in ordered)
    counts = sorted(per_rule.items(), key=lambda kv: (-kv[1], kv[0]))
    total = len(ordered)
    summary = f"{_plural(total, 'match')} for {_plural(len(per_rule), 'rule')}"
    shown = ordered[:DIGEST_MAX_ITEMS]
    more = total - len(shown)
    m = lambda v: _markup(v, fmt)  # noqa: E731
    context = {
        "channel": m(_text_of(_clean(channel), fmt)),
        "summary": m(_text_of(summary if total else "no matches", fmt)),
        "total": total,
        "period": m(_text_of(_clean(period), fmt)),
        "held_reason": m(_text_of(_clean(held_reason), fmt)),
        "counts": [{"rule": m(_text_of(rule, fmt)), "count": n} for rule, n in counts],
        "counts_line": m(", ".join(f"{_text_of(rule, fmt)}: {n}" for rule, n in counts)),
        "items": [_alert_context(a, fmt, zone, DIGEST_SNIPPET_WIDTH) for a in shown],
        "more": more,
        "and_more": m(_text_of(f"{ELLIPSIS}and {_plural(more, 'more match')} not shown.", fmt)),
        "format": fmt,
    }
    title = _inert(_truncate(f"[digest] {summary if total else 'no matches'}", TITLE_MAX))
    body = _render_template("digest", fmt, templates, context)
    return RenderedAlert(title=title, body=body, body_format=fmt)


def render_test_message(channel: str, fmt: str) -> RenderedAlert:
    """The message ``monitor channels test NAME`` sends to channel ``channel``.

    Raises ConfigError (a ValueError) for an unknown ``fmt``.
    """
    _check_format(fmt)
    name = _clean(channel)
    title = _inert(_truncate(f"[media-monitor] Test message for {name}", TITLE_MAX))
    sentence = (_text_of(f"This is a test message from media-monitor for the channel {name}. "
                         "If you can read it, alerts can reach you here. "
                         "Matched terms in alerts are highlighted like ", fmt)
                + _highlight("this", fmt) + _text_of(".", fmt))
    fields = [("Channel", _text_of(name, fmt)), ("Format", _text_of(fmt, fmt))]
    body = _lines(fmt, _text_of("media-monitor test message", fmt), fields, sentence)
    return RenderedAlert(title=title, body=body, body_format=fmt)

"""Plain text from the HTML (and the text) that feeds carry. Pure."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "template", "noscript"})
_CDATA = frozenset(HTMLParser.CDATA_CONTENT_ELEMENTS)  # raw text inside for HTMLParser
_BLOCK = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})


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
# declaration, unquoted or broken attribute), a regex split gives its result
# without HTMLParser's Python-level work per tag and per piece of text. Anything
# else goes through HTMLParser.
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

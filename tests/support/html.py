"""HTML as a browser would read it, to check that rendered alerts stay inert."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from monitor.core.render import ZWSP

ALLOWED_TAGS = {"p", "strong", "ul", "li", "a", "blockquote", "mark"}  # what an alert's HTML may hold


class Elements(HTMLParser):
    """Every element and attribute of an HTML fragment, as a browser would see them."""

    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.feed(source)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)

    @property
    def raw(self) -> str:
        """The text, entities decoded, zero-width spaces kept."""
        return "".join(self.text)

    @property
    def plain(self) -> str:
        return self.raw.replace(ZWSP, "")


def markdown_to_html(source: str) -> str:
    markdown = pytest.importorskip("markdown")  # installed with apprise, which renders with it
    return markdown.markdown(source)

"""Feed bytes in, articles out.

Pure: reads only the bytes and headers it is given (and the clock, when no
``now`` is passed); it opens no URL or socket, and no file but simplemma's
word lists, loaded once per process the first time a language has to be
detected. feedparser is always handed a byte stream, never a string, because
given a string (or bytes, which it tries as a path) it opens local files and
URLs itself.

Modules: :mod:`.parse` (a document into a :class:`ParsedFeed`, an entry into an
article), :mod:`.itemcut` (a body cut at its items, for re-polls),
:mod:`.urls` (canonical links), :mod:`.markup` (text from HTML, whitespace),
:mod:`.language` (tags and detection), :mod:`.dates` (publication dates).
"""

from __future__ import annotations

from monitor.core.feeds.itemcut import ITEM_HASH_SIZE, ItemCut, cut_items
from monitor.core.feeds.language import DETECTED_LANGUAGES, detect_language
from monitor.core.feeds.markup import html_to_text
from monitor.core.feeds.parse import ParsedFeed, parse_feed
from monitor.core.feeds.urls import TRACKING_PARAMS, canonical_url

__all__ = ["ParsedFeed", "ItemCut", "parse_feed", "cut_items", "canonical_url", "detect_language",
           "html_to_text", "TRACKING_PARAMS", "DETECTED_LANGUAGES", "ITEM_HASH_SIZE"]

"""Re-polls: parse only the items that were not there last time. Pure.

A busy feed polled every few minutes shows mostly the items of the last poll, and
feedparser costs the same for an item seen a hundred times as for a new one. The body
is cut at its items; an item whose bytes (and the markup around it: namespaces, base,
language, charset) are the same as at the last poll parses the same, so it is left out.
Anything the cut is not sure of (text between items, an item tag inside another, a
two-byte encoding) parses the whole body, as before.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from monitor.core.feeds.parse import _feedparser_headers

#: Bytes of the hash kept per item of a feed's last poll.
ITEM_HASH_SIZE = 8

_NAME = rb"(?:[A-Za-z_][\w.-]*:)?"
# A start tag is read up to the next "<" or ">": no "<" stands in a tag, and the search for a ">"
# cannot run on to the end of a hostile body from every "<" in it (quadratic time).
# An item from its start tag to its end tag: runs of anything but "<" at once, then a "<" that
# does not close it (the engine steps over a run at once, where ".*?" tries to stop at every byte).
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

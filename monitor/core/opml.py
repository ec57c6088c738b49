"""OPML subscription lists in and out, and merging feeds into the feeds file.

Pure: bytes or text in, data out; opens no file, URL or socket. OPML is read
with defusedxml, so a document that declares entities (an expansion bomb, an
external entity) or references an external DTD is refused instead of being
expanded or fetched.
"""

from __future__ import annotations

import logging
import re
import xml.sax
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import defusedxml.sax
import yaml
from defusedxml.common import DefusedXmlException, DTDForbidden, EntitiesForbidden
from pydantic import ValidationError

from monitor.core.feedspec import FeedSpec
from monitor.core.errors import ConfigError
from monitor.core.yamlfile import parse_yaml

__all__ = ["OpmlImport", "read_opml", "parse_opml", "render_opml", "merge_feeds_yaml"]

log = logging.getLogger("monitor")


@dataclass(frozen=True)
class OpmlImport:
    """The feeds found in an OPML document, and the outlines left out.

    ``skipped`` holds one line per outline with an ``xmlUrl`` that is not a
    usable http(s) URL: ``path:line: reason``.
    """

    feeds: tuple[FeedSpec, ...]
    skipped: tuple[str, ...]


def parse_opml(data: bytes, *, path: str = "<opml>") -> list[FeedSpec]:
    """The feeds of an OPML document, in document order.

    Every ``outline`` with an ``xmlUrl`` is a feed: its ``title`` (else
    ``text``) is the name, its ``language`` the language, and the folders it
    sits in (outlines without ``xmlUrl``, outermost first) then its
    ``category`` attribute give its tags. A feed listed in several folders is
    one feed with the tags of all of them. ``feed://`` URLs become
    ``http://``; outlines whose URL is not http(s) (``javascript:``,
    ``file:``...) are skipped and logged as warnings (see :func:`read_opml`
    to get them as values).

    Raises ConfigError (``path:line:col: message``) when the document is not
    well-formed XML, is not OPML, or declares entities or an external DTD.
    """
    result = read_opml(data, path=path)
    for line in result.skipped:
        log.warning("OPML outline skipped: %s", line)
    return list(result.feeds)


def read_opml(data: bytes, *, path: str = "<opml>") -> OpmlImport:
    """Like :func:`parse_opml`, with the skipped outlines as values. Raises ConfigError."""
    handler = _OutlineCollector(path)
    try:
        defusedxml.sax.parseString(data, handler, forbid_dtd=False, forbid_entities=True,
                                   forbid_external=True)
    except xml.sax.SAXParseException as e:
        raise ConfigError(f"not well-formed OPML: {e.getMessage()}", path=path,
                          line=e.getLineNumber(), col=_col(e.getColumnNumber())) from e
    except DefusedXmlException as e:
        line, col = handler.position()
        raise ConfigError(_defused_reason(e), path=path, line=line, col=col) from e
    except _NotOpml as e:
        raise ConfigError(str(e), path=path, line=e.line, col=e.col) from None
    if not handler.seen_root:
        raise ConfigError("empty document, not OPML", path=path)
    return OpmlImport(feeds=tuple(handler.feeds()), skipped=tuple(handler.skipped))


def render_opml(feeds: Sequence[FeedSpec], *, title: str = "media-monitor feeds") -> bytes:
    """An OPML 2.0 document (UTF-8) listing ``feeds``; reads back with :func:`parse_opml`.

    A feed's first tag is the folder it is written in; all its tags are also
    in its ``category`` attribute (``/tag,/other``), which readers without
    folders understand. A tag that a category cannot hold (one with a comma,
    or starting or ending with ``/``) makes the feed's tags nested folders
    instead, so that every tag comes back. ``interval`` and ``enabled`` are
    not part of OPML and are not written. Raises nothing.
    """
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    body = ET.SubElement(root, "body")
    folders: dict[tuple[str, ...], ET.Element] = {}

    def folder(names: tuple[str, ...]) -> ET.Element:
        if not names:
            return body
        if names not in folders:
            name = _xml_text(names[-1])
            folders[names] = ET.SubElement(folder(names[:-1]), "outline", text=name, title=name)
        return folders[names]

    for spec in feeds:
        tags = tuple(spec.tags)
        if not all(_category_safe(t) for t in tags):
            parent, category = folder(tags), ()
        else:
            parent, category = folder(tags[:1]), tags
        name = _xml_text(spec.name) or spec.url
        attrs = {"type": "rss", "text": name, "title": name, "xmlUrl": _xml_text(spec.url)}
        if spec.language:
            attrs["language"] = _xml_text(spec.language)
        if category:
            attrs["category"] = ",".join("/" + _xml_text(t) for t in category)
        ET.SubElement(parent, "outline", attrs)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def merge_feeds_yaml(existing_text: str, new: Sequence[FeedSpec], *,
                     path: str = "feeds.yaml") -> tuple[str, list[FeedSpec]]:
    """Append to a feeds file's text the feeds whose URL it does not list yet.

    The existing text is kept as written, comments included: the new feeds
    are added as YAML text after the last item of the ``feeds:`` list (in
    the list's own style and indentation), or after a ``feeds:`` line when
    the list is empty, or under a new ``feeds:`` line when there is none.
    URLs are compared with scheme and host lower-cased; a URL given twice in
    ``new`` is added once. Every string is written double-quoted, so names
    with colons, quotes, ``#`` or accents load back as they are.

    Returns the new text and the feeds added, in order. Raises ConfigError
    (located in ``path``) when the existing text is not YAML or its
    ``feeds`` is neither a list nor empty.
    """
    nl = "\r\n" if "\r\n" in existing_text else "\n"
    doc = parse_yaml(existing_text, path)
    data = doc.data
    if data is not None and not isinstance(data, dict):
        raise ConfigError("the feeds file must be a mapping with a 'feeds' key", path=path, line=1, col=1)
    listed = (data or {}).get("feeds") if data else None
    if listed is not None and not isinstance(listed, list):
        line, col = doc.where(("feeds",))
        raise ConfigError("must be a list of feeds", path=path, line=line, col=col, field="feeds")
    known = {_url_key(item["url"]) for item in listed or ()
             if isinstance(item, dict) and isinstance(item.get("url"), str)}
    added: list[FeedSpec] = []
    for spec in new:
        key = _url_key(spec.url)
        if key not in known:
            known.add(key)
            added.append(spec)
    if not added:
        return existing_text, []

    root = yaml.compose(existing_text, Loader=yaml.SafeLoader)
    seq_node = key_node = None
    if isinstance(root, yaml.MappingNode):
        for k, v in root.value:
            if k.value == "feeds":
                key_node, seq_node = k, v
    text = existing_text
    if key_node is None:
        if text and not text.endswith(("\n", "\r")):
            text += nl
        return text + "feeds:" + nl + _block_items(added, 2, 4, nl), added
    if isinstance(seq_node, yaml.SequenceNode) and seq_node.flow_style:
        return _insert_flow(text, seq_node, added), added
    if isinstance(seq_node, yaml.SequenceNode) and seq_node.value:
        dash = seq_node.start_mark.column
        first = seq_node.value[0]
        key_col = first.start_mark.column if isinstance(first, yaml.MappingNode) else dash + 2
        at = _after_line(text, _content_end(seq_node.value[-1]))
        items = _block_items(added, dash, key_col, nl, lead=_needs_break(text, at, nl))
        return text[:at] + items + text[at:], added
    # ``feeds:`` with no value, ``~`` or ``null``: drop the null, write the items below the key.
    start, end = seq_node.start_mark.index, seq_node.end_mark.index
    text = text[:start] + text[end:]
    at = _after_line(text, key_node.end_mark.index)
    indent = key_node.start_mark.column + 2
    items = _block_items(added, indent, indent + 2, nl, lead=_needs_break(text, at, nl))
    return text[:at] + items + text[at:], added


# --- reading OPML ------------------------------------------------------------

class _NotOpml(Exception):
    def __init__(self, message: str, line: int | None, col: int | None):
        super().__init__(message)
        self.line, self.col = line, col


class _OutlineCollector(xml.sax.ContentHandler):
    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.locator: Any = None
        self.seen_root = False
        self.in_body = False
        self.skipped: list[str] = []
        self._stack: list[str | None] = []  # element names; a folder's name for folder outlines
        self._folders: list[str] = []
        self._outline_depth: list[bool] = []  # per open outline: did it push a folder?
        self._found: dict[str, dict[str, Any]] = {}

    def setDocumentLocator(self, locator: Any) -> None:
        self.locator = locator

    def position(self) -> tuple[int | None, int | None]:
        if self.locator is None:
            return None, None
        return self.locator.getLineNumber(), _col(self.locator.getColumnNumber())

    def startElement(self, name: str, attrs: Any) -> None:
        local = name.rsplit(":", 1)[-1].lower()
        if not self.seen_root:
            self.seen_root = True
            if local != "opml":
                line, col = self.position()
                raise _NotOpml(f"not OPML: the root element is <{name}>, not <opml>", line, col)
        if local == "body" and len(self._stack) == 1:
            self.in_body = True
        self._stack.append(local)
        if local != "outline" or not self.in_body:
            return
        a = {k.lower(): (v or "").strip() for k, v in attrs.items()}
        url = a.get("xmlurl", "")
        if "xmlurl" not in a:
            name_ = a.get("title") or a.get("text") or ""
            self._outline_depth.append(bool(name_))
            if name_:
                self._folders.append(name_)
            return
        self._outline_depth.append(False)
        self._add_feed(url, a)

    def endElement(self, name: str) -> None:
        local = self._stack.pop() if self._stack else None
        if local == "outline" and self.in_body and self._outline_depth:
            if self._outline_depth.pop():
                self._folders.pop()
        if local == "body" and len(self._stack) == 1:
            self.in_body = False

    def _add_feed(self, url: str, a: dict[str, str]) -> None:
        line, _ = self.position()
        url = _feed_scheme(url)
        scheme = urlsplit(url).scheme.lower() if ":" in url else ""
        if scheme not in ("http", "https"):
            what = f"{scheme}: URL" if scheme else "URL without a scheme"
            self.skipped.append(f"{self.path}:{line}: {what} is not http(s): {_short(url)}")
            return
        name = a.get("title") or a.get("text") or ""
        if name == url:
            name = ""  # carries nothing: the feed is named by its URL anyway
        tags = list(self._folders) + _categories(a.get("category", ""))
        language = a.get("language") or None
        if language and language.lower() in ("unknown", "none", "null"):
            language = None
        try:
            spec = FeedSpec(url=url, name=name, language=language, tags=tuple(_unique(tags)))
        except ValidationError as e:
            reason = e.errors(include_url=False)[0]["msg"]
            self.skipped.append(f"{self.path}:{line}: {reason}: {_short(url)}")
            return
        seen = self._found.get(spec.url)
        if seen is None:
            self._found[spec.url] = {"spec": spec}
        else:  # listed in another folder too: one feed, the tags of both
            old = seen["spec"]
            seen["spec"] = old.model_copy(update={
                "tags": tuple(_unique(list(old.tags) + list(spec.tags))),
                "name": old.name or spec.name,
                "language": old.language or spec.language,
            })

    def feeds(self) -> list[FeedSpec]:
        return [v["spec"] for v in self._found.values()]


def _feed_scheme(url: str) -> str:
    # The old "feed:" pseudo-scheme: feed://host/x and feed:https://host/x.
    low = url[:13].lower()
    if low.startswith("feed:http://") or low.startswith("feed:https://"):
        return url[5:]
    if low.startswith("feed://"):
        return "http://" + url[7:]
    return url


def _categories(value: str) -> list[str]:
    out = []
    for part in value.split(","):
        part = part.strip().strip("/").strip()
        if part:
            out.append(part)
    return out


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _col(column: int | None) -> int | None:
    return None if column is None or column < 0 else column + 1


def _short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _defused_reason(e: DefusedXmlException) -> str:
    if isinstance(e, EntitiesForbidden):
        where = f", from {e.sysid}" if getattr(e, "sysid", None) else ""
        return f"refused: the document declares entity {e.name!r}{where}; OPML needs no entities"
    if isinstance(e, DTDForbidden):
        return "refused: the document has a DTD"
    sysid = getattr(e, "sysid", None)
    return f"refused: the document references an external resource ({_short(str(sysid or e))})"


# --- writing OPML ------------------------------------------------------------

# Characters XML 1.0 cannot hold at all, even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_text(value: str) -> str:
    return _XML_ILLEGAL.sub("", value or "")


def _category_safe(tag: str) -> bool:
    return "," not in tag and tag == tag.strip().strip("/").strip()


# --- writing YAML ------------------------------------------------------------

def _url_key(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def _yaml_str(value: str) -> str:
    """A YAML double-quoted scalar that PyYAML reads back as exactly ``value``."""
    out = ['"']
    for ch in value:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= o <= 0x7E or (0xA0 <= o <= 0xD7FF and o not in (0x2028, 0x2029)) \
                or (0xE000 <= o <= 0xFFFD and o != 0xFEFF) or o >= 0x10000:
            out.append(ch)
        elif o <= 0xFF:
            out.append(f"\\x{o:02x}")
        else:
            out.append(f"\\u{o:04x}")
    out.append('"')
    return "".join(out)


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    return _yaml_str(str(value))


def _fields(spec: FeedSpec) -> list[tuple[str, str]]:
    """``url`` first, then every field that differs from its default, in model order."""
    fields = [("url", _yaml_str(spec.url))]
    for name, info in type(spec).model_fields.items():
        value = getattr(spec, name)
        if name == "url" or value is None or value == info.get_default(call_default_factory=True):
            continue
        fields.append((name, _yaml_value(value)))
    return fields


def _block_items(specs: Sequence[FeedSpec], dash: int, key_col: int, nl: str, *, lead: str = "") -> str:
    gap = " " * max(1, key_col - dash - 1)
    lines = []
    for spec in specs:
        for i, (k, v) in enumerate(_fields(spec)):
            prefix = " " * dash + "-" + gap if i == 0 else " " * key_col
            lines.append(f"{prefix}{k}: {v}")
    return lead + nl.join(lines) + nl


def _insert_flow(text: str, seq: yaml.SequenceNode, specs: Sequence[FeedSpec]) -> str:
    close = seq.end_mark.index - 1  # the "]"
    items = ", ".join("{" + ", ".join(f"{k}: {v}" for k, v in _fields(s)) + "}" for s in specs)
    if seq.value:
        between = text[_content_end(seq.value[-1]):close]
        trailing_comma = any("," in ln.split("#", 1)[0] for ln in between.splitlines())
        items = (" " if trailing_comma else ", ") + items
    return text[:close] + items + text[close:]


def _content_end(node: yaml.Node) -> int:
    # A block collection's end mark lies past the comments that follow it; its
    # last scalar's does not.
    if isinstance(node, yaml.SequenceNode) and node.value and not node.flow_style:
        return _content_end(node.value[-1])
    if isinstance(node, yaml.MappingNode) and node.value and not node.flow_style:
        return _content_end(node.value[-1][1])
    return node.end_mark.index


def _after_line(text: str, index: int) -> int:
    """The index just past the end of the line holding ``index - 1``."""
    if index > 0 and text[index - 1] in "\r\n":
        return index
    nl = text.find("\n", index)
    return len(text) if nl < 0 else nl + 1


def _needs_break(text: str, at: int, nl: str) -> str:
    return nl if at == len(text) and text and not text.endswith(("\n", "\r")) else ""

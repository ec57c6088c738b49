"""A deterministic corpus of feed documents, well-formed, broken and not feeds at all.

``corpus(seed, size)`` gives the same documents for the same arguments. Each
:class:`CorpusDoc` carries the bytes as a server would send them, the
Content-Type it would send, and what the document is expected to be:

- ``"feed"``: a well-formed RSS 0.91, 0.92, 1.0 (RDF), 2.0, Atom 0.3 or 1.0
  document, in UTF-8, ISO-8859-1, Windows-1252 (declared) or UTF-16 with a
  BOM, with namespaces (dc, content, media, itunes), CDATA, HTML in titles
  and descriptions, relative links with and without ``xml:base``, entries
  missing guid, link, date or title, duplicated entries and odd dates;
- ``"ill-formed-but-usable"``: such a feed broken the way real feeds are
  (truncated, a raw ``&``, an HTML entity XML does not define, mismatched
  tags, Windows-1252 bytes in a document that says it is UTF-8, junk
  before the XML declaration, control characters), still holding entries;
- ``"not-a-feed"``: an HTML page, an empty body, plain text, JSON, XML that
  is not a feed, compressed bytes served as they are.

Pure: builds bytes in memory, reads and writes nothing.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

FEED, USABLE, NOT_A_FEED = "feed", "ill-formed-but-usable", "not-a-feed"
KINDS = (FEED, USABLE, NOT_A_FEED)
FORMATS = ("rss091", "rss092", "rss10", "rss20", "atom03", "atom10")
DEFAULT_SEED = 20220124

NS_DC = "http://purl.org/dc/elements/1.1/"
NS_CONTENT = "http://purl.org/rss/1.0/modules/content/"
NS_MEDIA = "http://search.yahoo.com/mrss/"
NS_ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
NS_ATOM = "http://www.w3.org/2005/Atom"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_RSS1 = "http://purl.org/rss/1.0/"


@dataclass(frozen=True)
class CorpusDoc:
    """One document of the corpus: bytes, the Content-Type to serve them with, what it is."""

    name: str
    body: bytes
    kind: str
    content_type: str = "application/xml"
    features: tuple[str, ...] = ()


# --- text ------------------------------------------------------------------------

SUBJECTS = ["L’OTAN", "Le gouvernement", "Die Bundesregierung", "O Congresso", "The council", "La Commission",
            "Le maire de Saint-Étienne", "Die Zentralbank", "A Petrobras", "Les députés", "Москва", "東京都",
            "Η Βουλή", "The “Big Four”", "Zürich’s court"]
VERBS = ["annonce", "rejects", "beschließt", "aprova", "reports", "dénonce", "prüft", "débat de", "suspend",
         "confirme", "kündigt an"]
OBJECTS = ["un budget de 3 M€", "the new climate plan", "die Reform der Rente", "a reforma tributária",
           "l’accord sur l’Ukraine", "les sanctions contre la Russie", "a 5% rate rise", "des élections anticipées",
           "le traité — enfin", "naïve café prices", "Œuvres d’art volées"]
SENTENCES = ["Les ministres se réuniront à nouveau la semaine prochaine.",
             "Die Opposition kritisierte den Entwurf scharf.",
             "Segundo o relatório, a inflação deve cair.",
             "Officials said the decision was “final”.",
             "Le texte a été adopté par 312 voix contre 201.",
             "Prices rose 4.2% year-on-year, the fastest pace since 2008.",
             "Plus d’informations à suivre…"]
AUTHORS = ["Jeanne Dupont", "jdoe@example.org (John Doe)", "Müller, Jürgen", "Redação", "AFP", "Reuters"]

RFC822_DATES = ["Mon, 24 Jan 2022 10:00:00 GMT", "Mon, 24 Jan 2022 10:00:00 +0100", "24 Jan 2022 10:00 +0000",
                "Mon, 24 Jan 22 10:00:00 EST", "Monday, 24 January 2022 10:00:00 GMT",
                "Mon, 24 Jan 2022 10:00:00 Z", "Mon,24 Jan 2022 10:00:00 GMT", "Tue, 1 Feb 2022 7:05:09 PST",
                "Seg, 24 Set 2018 19:42:40 -0300", "mar., 25 janv. 2022 08:30:00 +0100"]
ISO_DATES = ["2022-01-24T10:00:00Z", "2022-01-24T10:00:00+01:00", "2022-01-24T10:00:00.123456-05:00",
             "2022-01-24", "2022-01-24 10:00:00", "20220124T100000Z"]
ODD_DATES = ["yesterday", "N/A", "", "0000-00-00 00:00:00", "Fri, 01 Jan 2100 00:00:00 GMT",
             "2999-12-31T23:59:59Z", "Thu, 01 Jan 1970 00:00:00 GMT", "32 Jan 2022 25:61:00 GMT", "1643018400"]


def _title(rng: random.Random, n: str) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} ({n})"


def _html(rng: random.Random, tag: str) -> str:
    parts = [f"<p>{escape(rng.choice(SENTENCES))} <b>{escape(rng.choice(OBJECTS))}</b> [{tag}]</p>"]
    extra = rng.choice([
        '<p><a href="/related/1.html">Lire aussi</a></p>',
        '<img src="https://img.example.org/a.jpg" alt="photo &amp; légende"/>',
        "<script>alert('x')</script><p>after the script</p>",
        "<ul><li>un</li><li>deux</li></ul>",
        '<p style="color:red">Don’t <i>panic</i> &mdash; it&#8217;s fine &amp; calm</p>',
        "",
    ])
    return "".join(parts) + extra


# --- items ---------------------------------------------------------------------------

@dataclass
class Item:
    n: int
    title: str | None
    title_markup: bool  # the title holds HTML markup
    link: str | None  # absolute, or relative to the document
    guid: str | None
    guid_is_link: bool
    date: str | None
    updated: str | None
    summary: str | None  # an HTML fragment
    content: str | None  # an HTML fragment
    author: str | None
    media: bool
    features: set[str] = field(default_factory=set)
    tag: str = ""  # "document-entry", unique in the corpus


def _items(rng: random.Random, count: int, *, relative: bool, doc: int) -> list[Item]:
    # Every entry's link and text are its own, in this document and across the
    # corpus: only the duplicates added on purpose are the same article.
    items = []
    for n in range(count):
        feats: set[str] = set()
        tag = f"{doc}-{n}"
        title: str | None = _title(rng, tag)
        markup = rng.random() < 0.15
        if markup:
            title = f"<b>Exclusif</b> : {title} &amp; <i>more</i>"
            feats.add("html-title")
        if rng.random() < 0.08:
            title, markup = None, False
            feats.add("no-title")
        path = f"/2022/01/{doc:03d}-{n:03d}-article.html?utm_source=rss&id={n}"
        link: str | None = path if relative and rng.random() < 0.6 else f"https://news{doc}.example.org{path}"
        if link.startswith("/"):
            feats.add("relative-link")
        if rng.random() < 0.08:
            link = None
            feats.add("no-link")
        guid_is_link = False
        guid: str | None = f"urn:uuid:{rng.getrandbits(64):016x}-{n}"
        roll = rng.random()
        if roll < 0.15:
            guid = None
            feats.add("no-guid")
        elif roll < 0.3 and link and link.startswith("https:"):
            guid, guid_is_link = link, True
        pool = rng.choice([RFC822_DATES, ISO_DATES, ODD_DATES, RFC822_DATES])
        date: str | None = rng.choice(pool)
        if pool is ODD_DATES:
            feats.add("odd-date")
        if rng.random() < 0.1:
            date = None
            feats.add("no-date")
        summary = _html(rng, tag) if rng.random() < 0.85 else None
        content = _html(rng, tag) + _html(rng, tag) if rng.random() < 0.4 else None
        items.append(Item(n, title, markup, link, guid, guid_is_link, date,
                          rng.choice(ISO_DATES) if rng.random() < 0.3 else None, summary, content,
                          rng.choice(AUTHORS) if rng.random() < 0.6 else None, rng.random() < 0.3, feats, tag))
    if count and rng.random() < 0.1:
        # One entry with nothing a reader could show: a guid and a date at most.
        items.append(Item(count, None, False, None, f"urn:empty:{count}", False, rng.choice(RFC822_DATES), None,
                          None, None, None, False, {"empty-entry"}))
    if items and rng.random() < 0.25:
        dup = rng.choice(items)
        items.insert(rng.randrange(len(items) + 1), dup)
        dup.features.add("duplicate")
    return items


# --- writing XML ----------------------------------------------------------------------

def _text(value: str, cdata: bool) -> str:
    if cdata:
        return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"
    return escape(value)


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


class _Writer:
    def __init__(self, rng: random.Random, fmt: str):
        self.rng, self.fmt = rng, fmt
        self.cdata = rng.random() < 0.4
        self.base = rng.random() < 0.3
        self.features: set[str] = set()
        if self.cdata:
            self.features.add("cdata")
        if self.base:
            self.features.add("xml-base")

    def render(self, items: list[Item], title: str) -> str:
        return getattr(self, "_" + self.fmt)(items, title)

    def _desc(self, html: str) -> str:
        return _text(html, self.cdata)

    def _rss091(self, items: list[Item], title: str) -> str:
        doctype = ""
        if self.rng.random() < 0.5:
            doctype = ('<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"\n'
                       ' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n')
            self.features.add("netscape-doctype")
        out = [f'{doctype}<rss version="0.91"><channel>',
               f"<title>{escape(title)}</title><link>https://news.example.org/</link>",
               "<description>Les dernières nouvelles</description><language>fr</language>"]
        for it in items:
            out.append("<item>")
            if it.title is not None:
                out.append(f"<title>{_text(it.title, self.cdata) if it.title_markup else escape(it.title)}</title>")
            if it.link:
                out.append(f"<link>{escape(it.link)}</link>")
            if it.summary:
                out.append(f"<description>{self._desc(it.summary)}</description>")
            out.append("</item>")
        out.append("</channel></rss>")
        return "\n".join(out)

    def _rss092(self, items: list[Item], title: str) -> str:
        out = ['<rss version="0.92"><channel>', f"<title>{escape(title)}</title>",
               "<link>https://news.example.org/</link><description>News</description>"]
        for it in items:
            out.append("<item>")
            if it.title is not None:
                out.append(f"<title>{escape(it.title)}</title>")
            if it.link:
                out.append(f"<link>{escape(it.link)}</link>")
            if it.summary:
                out.append(f"<description>{self._desc(it.summary)}</description>")
            if it.media:
                out.append('<enclosure url="https://cdn.example.org/a.mp3" length="12216320" type="audio/mpeg"/>')
            out.append('<source url="https://wire.example.org/rss">Wire</source><category>Monde</category>')
            out.append("</item>")
        out.append("</channel></rss>")
        return "\n".join(out)

    def _rss10(self, items: list[Item], title: str) -> str:
        self.features.add("dc")
        abouts = [it.link if it.link and it.link.startswith("http") else f"https://news.example.org/item/{it.n}"
                  for it in items]
        seq = "".join(f'<rdf:li rdf:resource="{_attr(a)}"/>' for a in abouts)
        out = [f'<rdf:RDF xmlns:rdf="{NS_RDF}" xmlns="{NS_RSS1}" xmlns:dc="{NS_DC}" xmlns:content="{NS_CONTENT}">',
               '<channel rdf:about="https://news.example.org/rss">',
               f"<title>{escape(title)}</title><link>https://news.example.org/</link>",
               f"<description>RDF site summary</description><dc:language>de</dc:language>"
               f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>"]
        for it, about in zip(items, abouts):
            out.append(f'<item rdf:about="{_attr(about)}">')
            if it.title is not None:
                out.append(f"<title>{escape(it.title)}</title>")
            if it.link:
                out.append(f"<link>{escape(it.link)}</link>")
            if it.summary:
                out.append(f"<description>{self._desc(it.summary)}</description>")
            if it.content:
                out.append(f"<content:encoded>{self._desc(it.content)}</content:encoded>")
            if it.date is not None:
                out.append(f"<dc:date>{escape(it.date)}</dc:date>")
            if it.author:
                out.append(f"<dc:creator>{escape(it.author)}</dc:creator>")
            out.append("</item>")
        out.append("</rdf:RDF>")
        return "\n".join(out)

    def _rss20(self, items: list[Item], title: str) -> str:
        self.features.update({"dc", "content", "media", "itunes"})
        base = ' xml:base="https://news.example.org/section/"' if self.base else ""
        out = [f'<rss version="2.0" xmlns:dc="{NS_DC}" xmlns:content="{NS_CONTENT}" xmlns:media="{NS_MEDIA}" '
               f'xmlns:itunes="{NS_ITUNES}" xmlns:atom="{NS_ATOM}">',
               f"<channel{base}><title>{escape(title)}</title><link>https://news.example.org/</link>",
               '<atom:link href="https://news.example.org/rss" rel="self" type="application/rss+xml"/>',
               "<description>Toute l’actualité</description><language>fr-FR</language>",
               "<lastBuildDate>Mon, 24 Jan 2022 10:00:00 GMT</lastBuildDate>",
               "<itunes:author>Radio Exemple</itunes:author><itunes:explicit>no</itunes:explicit>"]
        for it in items:
            out.append("<item>")
            if it.title is not None:
                out.append(f"<title>{_text(it.title, self.cdata) if it.title_markup else escape(it.title)}</title>")
            if it.link:
                out.append(f"<link>{escape(it.link)}</link>")
            if it.guid:
                perma = "" if it.guid_is_link else ' isPermaLink="false"'
                out.append(f"<guid{perma}>{escape(it.guid)}</guid>")
            if it.date is not None:
                out.append(f"<pubDate>{escape(it.date)}</pubDate>")
            if it.author:
                out.append(f"<dc:creator>{_text(it.author, self.cdata)}</dc:creator>")
            if it.summary:
                out.append(f"<description>{self._desc(it.summary)}</description>")
            if it.content:
                out.append(f"<content:encoded>{_text(it.content, True)}</content:encoded>")
            if it.media:
                out.append('<media:content url="https://img.example.org/p.jpg" medium="image" width="800">'
                           "<media:title>Photo</media:title></media:content>"
                           "<itunes:duration>00:12:34</itunes:duration>")
            out.append("</item>")
        out.append("</channel></rss>")
        return "\n".join(out)

    def _atom03(self, items: list[Item], title: str) -> str:
        base = ' xml:base="https://news.example.org/blog/"' if self.base else ""
        out = [f'<feed version="0.3" xmlns="http://purl.org/atom/ns#" xml:lang="en"{base}>',
               f"<title>{escape(title)}</title>",
               '<link rel="alternate" type="text/html" href="https://news.example.org/"/>',
               "<modified>2022-01-24T10:00:00Z</modified>"]
        for it in items:
            out.append("<entry>")
            if it.title is not None:
                if it.title_markup:
                    out.append(f'<title type="text/html" mode="escaped">{escape(it.title)}</title>')
                else:
                    out.append(f"<title>{escape(it.title)}</title>")
            if it.link:
                out.append(f'<link rel="alternate" type="text/html" href="{_attr(it.link)}"/>')
            if it.guid:
                out.append(f"<id>{escape(it.guid)}</id>")
            if it.date is not None:
                out.append(f"<issued>{escape(it.date)}</issued>")
            if it.updated:
                out.append(f"<modified>{escape(it.updated)}</modified>")
            if it.author:
                out.append(f"<author><name>{escape(it.author)}</name></author>")
            if it.summary:
                out.append(f'<summary type="text/html" mode="escaped">{self._desc(it.summary)}</summary>')
            if it.content:
                out.append(f'<content type="text/html" mode="escaped">{escape(it.content)}</content>')
            out.append("</entry>")
        out.append("</feed>")
        return "\n".join(out)

    def _atom10(self, items: list[Item], title: str) -> str:
        base = ' xml:base="https://news.example.org/blog/"' if self.base else ""
        out = [f'<feed xmlns="{NS_ATOM}" xmlns:media="{NS_MEDIA}" xml:lang="fr"{base}>',
               f'<title type="text">{escape(title)}</title><id>tag:news.example.org,2022:feed</id>',
               '<link rel="self" href="https://news.example.org/atom.xml"/><link href="https://news.example.org/"/>',
               "<updated>2022-01-24T10:00:00Z</updated>"]
        for it in items:
            lang = ' xml:lang="pt-BR"' if it.n % 7 == 3 else ""
            out.append(f"<entry{lang}>")
            if it.title is not None:
                kind = ' type="html"' if it.title_markup else ""
                out.append(f"<title{kind}>{escape(it.title)}</title>")
            if it.link:
                out.append(f'<link rel="alternate" href="{_attr(it.link)}"/>')
            if it.guid:
                out.append(f"<id>{escape(it.guid)}</id>")
            if it.date is not None:
                out.append(f"<published>{escape(it.date)}</published>")
            if it.updated:
                out.append(f"<updated>{escape(it.updated)}</updated>")
            if it.author:
                out.append(f"<author><name>{escape(it.author)}</name></author>")
            if it.summary:
                out.append(f'<summary type="html">{self._desc(it.summary)}</summary>')
            if it.content:
                if it.n % 2:
                    out.append('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                               f"<p>{escape(SENTENCES[it.n % len(SENTENCES)])} [{it.tag}]</p></div></content>")
                else:
                    out.append(f'<content type="html">{escape(it.content)}</content>')
            if it.media:
                out.append('<media:thumbnail url="https://img.example.org/t.jpg"/>')
            out.append("</entry>")
        out.append("</feed>")
        return "\n".join(out)


# --- encodings -------------------------------------------------------------------------

# (name in the XML declaration or None, Python codec, charset for Content-Type or None)
ENCODINGS = [
    ("UTF-8", "utf-8", None),
    (None, "utf-8", None),
    ("ISO-8859-1", "iso-8859-1", None),
    ("windows-1252", "cp1252", None),
    ("UTF-16", "utf-16", None),
    ("utf-8", "utf-8", "utf-8"),
    ("ISO-8859-1", "iso-8859-1", "iso-8859-1"),
]

MEDIA_TYPES = {"rss091": "application/rss+xml", "rss092": "application/rss+xml", "rss10": "application/rdf+xml",
               "rss20": "application/rss+xml", "atom03": "application/atom+xml", "atom10": "application/atom+xml"}


def _encode(xml: str, declared: str | None, codec: str) -> bytes:
    head = f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""
    # Characters the charset lacks become character references (in CDATA they
    # stay as the literal "&#...;", as real feeds show them).
    return (head + xml).encode(codec, errors="xmlcharrefreplace")


def _feed(rng: random.Random, i: int, fmt: str, encoding: tuple[str | None, str, str | None]
          ) -> tuple[str, bytes, str, set[str]]:
    declared, codec, charset = encoding
    writer = _Writer(rng, fmt)
    relative = writer.base or rng.random() < 0.3
    count = 0 if rng.random() < 0.03 else rng.randint(1, 12)
    items = _items(rng, count, relative=relative, doc=i)
    xml = writer.render(items, f"Actualités n°{i} – {fmt}")
    body = _encode(xml, declared, codec)
    ctype = rng.choice([MEDIA_TYPES[fmt], "application/xml", "text/xml"])
    ctype = f"{ctype}; charset={charset}" if charset else ctype
    feats = writer.features | {f"enc-{codec}" + ("" if declared else "-undeclared")}
    for it in items:
        feats |= it.features
    if not items:
        feats.add("no-entries")
    return xml, body, ctype, feats


# --- breakage -------------------------------------------------------------------------

def _truncate(rng: random.Random, xml: str, body: bytes) -> bytes:
    marks = [k for k in range(len(body)) if body.startswith(b"</item>", k) or body.startswith(b"</entry>", k)]
    cut = marks[1] + rng.randint(20, 200) if len(marks) >= 2 else len(body) // 2
    return body[:cut]


def _break(rng: random.Random, how: str, i: int) -> tuple[bytes, str]:
    """A usable feed broken ``how``; (bytes, content type)."""
    fmt = rng.choice(["rss20", "rss20", "atom10", "rss10", "rss091"])
    while True:  # breakage needs entries to stay usable
        xml, body, ctype, _ = _feed(rng, i, fmt, ENCODINGS[0])
        if xml.count("</item>") + xml.count("</entry>") >= 3:
            break
    opener = "<item>" if "<item" in xml else "<entry>"
    if how == "truncated":
        return _truncate(rng, xml, body), ctype
    if how == "raw-ampersand":
        xml = xml.replace("&amp;id=", "&id=").replace(opener, f"{opener}<title>Tom & Jerry</title>", 1) \
            if opener == "<item>" else xml.replace("&amp;id=", "&id=")
    elif how == "undefined-entity":
        xml = xml.replace("Toute l’actualité", "Toute l&rsquo;actualit&eacute;&nbsp;&hellip;")
        xml = xml.replace("&lt;/p&gt;", "&nbsp;&copy;&lt;/p&gt;", 3).replace("-1)", "-1&nbsp;&eacute;t&eacute;)")
    elif how == "mismatched-tags":
        closer = "</item>" if opener == "<item>" else "</entry>"
        xml = xml.replace(closer, "<dc:subject>Politique</dc:sujet>" + closer, 2)
    elif how == "cp1252-as-utf8":
        body = _encode(xml, "UTF-8", "cp1252")
        return body.replace("’".encode("cp1252"), b"\x92"), ctype
    elif how == "junk-before-declaration":
        return b"\n\n  " + _encode(xml, "UTF-8", "utf-8"), ctype
    elif how == "control-chars":
        xml = xml.replace(" (", " \x0b(", 2).replace("</title>", "\x1a</title>", 1)
    else:
        raise ValueError(how)
    return _encode(xml, "UTF-8", "utf-8"), ctype


BREAKAGES = ("truncated", "raw-ampersand", "undefined-entity", "mismatched-tags", "cp1252-as-utf8",
             "junk-before-declaration", "control-chars")


def _not_a_feed(rng: random.Random, how: str) -> tuple[bytes, str]:
    if how == "html-page":
        return (b"<!DOCTYPE html>\n<html lang=\"fr\"><head><title>Le Journal</title>"
                b'<link rel="alternate" type="application/rss+xml" href="/rss.xml"></head>'
                b"<body><h1>Bienvenue</h1><p>Nos articles&nbsp;: " + str(rng.random()).encode() +
                b"</p></body></html>"), "text/html; charset=utf-8"
    if how == "challenge-page":
        return (b"<html><head><title>Just a moment...</title></head><body><noscript>Enable JavaScript"
                b"</noscript></body></html>"), "application/rss+xml"
    if how == "empty":
        return b"", "application/rss+xml"
    if how == "blank":
        return b" \r\n\t\n", "text/xml"
    if how == "plain-text":
        return b"Service Temporarily Unavailable\nPlease try again later.\n", "text/plain"
    if how == "json":
        return json.dumps({"error": {"code": 429, "message": "Rate limit exceeded", "id": rng.getrandbits(32)}}
                          ).encode(), "application/json"
    if how == "xml-error":
        return (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
                b"<Message>Access Denied</Message><RequestId>" + f"{rng.getrandbits(40):X}".encode() +
                b"</RequestId></Error>"), "application/xml"
    if how == "sitemap":
        return (b'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/'
                b'sitemap/0.9"><url><loc>https://news.example.org/a</loc></url></urlset>'), "application/xml"
    if how == "gzip-undecoded":
        return gzip.compress(b"<rss version='2.0'><channel><title>x</title></channel></rss>", mtime=0), \
            "application/rss+xml"
    raise ValueError(how)


NOT_FEEDS = ("html-page", "challenge-page", "empty", "blank", "plain-text", "json", "xml-error", "sitemap",
             "gzip-undecoded")


def corpus(seed: int = DEFAULT_SEED, size: int = 300) -> list[CorpusDoc]:
    """``size`` documents, the same ones for the same ``seed``.

    Seven in ten are well-formed feeds (formats and encodings taken in turn),
    two are broken but usable (breakages in turn), one is not a feed.
    """
    rng = random.Random(seed)
    docs: list[CorpusDoc] = []
    counts = {FEED: 0, USABLE: 0, NOT_A_FEED: 0}
    for i in range(size):
        slot = i % 10
        if slot < 7:
            k = counts[FEED]
            fmt = FORMATS[k % len(FORMATS)]
            encoding = ENCODINGS[(k // len(FORMATS)) % len(ENCODINGS)]
            _, body, ctype, feats = _feed(rng, i, fmt, encoding)
            docs.append(CorpusDoc(f"{i:03d}-{fmt}-{encoding[1]}", body, FEED, ctype, tuple(sorted(feats))))
            counts[FEED] += 1
        elif slot < 9:
            how = BREAKAGES[counts[USABLE] % len(BREAKAGES)]
            body, ctype = _break(rng, how, i)
            docs.append(CorpusDoc(f"{i:03d}-{how}", body, USABLE, ctype, (how,)))
            counts[USABLE] += 1
        else:
            how = NOT_FEEDS[counts[NOT_A_FEED] % len(NOT_FEEDS)]
            body, ctype = _not_a_feed(rng, how)
            docs.append(CorpusDoc(f"{i:03d}-{how}", body, NOT_A_FEED, ctype, (how,)))
            counts[NOT_A_FEED] += 1
    return docs


if __name__ == "__main__":  # a look at the corpus: python tests/support/feedcorpus.py
    from collections import Counter

    docs = corpus()
    print(Counter(d.kind for d in docs))
    print(Counter(f for d in docs for f in d.features).most_common())

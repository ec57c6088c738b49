"""Rendering alerts: snippets, formats, and untrusted article text made inert."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.errors import ConfigError
from monitor.core.render import (
    DIGEST_MAX_ITEMS,
    ELLIPSIS,
    FORMATS,
    TEMPLATE_NAMES,
    TITLE_MAX,
    ZWSP,
    render_alert,
    render_digest,
    render_test_message,
    snippet,
)
from monitor.core.types import AlertContent, Hit
from support.html import ALLOWED_TAGS, Elements, markdown_to_html
from support.samples import SAMPLE

TITLE = ("Le Canada s’associe au Royaume-Uni pour tenter d’arrêter Poutine alors que des forces "
         "spéciales sont envoyées en Russie")
LINK = "https://example.com/monde/canada-royaume-uni-poutine"
PUBLISHED = datetime(2022, 1, 18, 13, 5, tzinfo=timezone.utc)


def _hits(text: str, term: str, field: str = "text") -> tuple[Hit, ...]:
    return tuple(Hit(field, m.start(), m.end(), term) for m in re.finditer(re.escape(term), text))


def _collapse(value: str) -> str:
    return re.sub(r"\s+", " ", value)


@pytest.fixture(scope="module")
def article_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


@pytest.fixture
def alert(article_text) -> AlertContent:
    return AlertContent(
        rule="otan",
        terms=("OTAN",),
        title=TITLE,
        link=LINK,
        feed="Nouvelles du monde",
        published=PUBLISHED,
        text=article_text,
        hits=_hits(article_text, "OTAN"),
    )


def hostile_alert(payload: str, *, link: str = LINK) -> AlertContent:
    """An alert whose every untrusted field carries ``payload``, highlighted in the text."""
    text = f"Avant {payload} l’OTAN {payload} après."
    start = text.index("OTAN")
    return AlertContent(
        rule="otan",
        terms=("OTAN", payload),
        title=f"Titre {payload}",
        link=link,
        feed=f"Flux {payload}",
        published=PUBLISHED,
        text=text,
        hits=(Hit("text", start, start + 4, "OTAN"),
              Hit("text", text.index(payload), text.index(payload) + len(payload), payload)),
    )


def assert_inert_html(source: str) -> Elements:
    elements = Elements(source)
    for tag, attrs in elements.tags:
        assert tag in ALLOWED_TAGS, (tag, source)
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, source)
            assert name == "href" and tag == "a", (tag, name, source)
            assert re.match(r"https?://", value or ""), value
    return elements


def rendered_text(body: str, fmt: str) -> str:
    """What a person reads: the body with its markup rendered and zero-width spaces gone."""
    if fmt == "html":
        return Elements(body).plain
    if fmt == "markdown":
        return Elements(markdown_to_html(body)).plain
    return body.replace(ZWSP, "").replace("\u00ab", "").replace("\u00bb", "")


# -- snippet ---------------------------------------------------------------------------


def test_snippet_highlights_exactly_the_hit_after_an_apostrophe():
    text = "Une réunion entre la Russie et l’OTAN à Bruxelles."
    start = text.index("OTAN")
    assert snippet(text, [Hit("text", start, start + 4, "OTAN")]) == [
        ("Une réunion entre la Russie et l’", False),
        ("OTAN", True),
        (" à Bruxelles.", False),
    ]


def test_snippet_collapses_whitespace_and_keeps_hits_aligned():
    text = "  Une  réunion\n\nentre la Russie et l’OTAN\t à\u00a0Bruxelles.\n"
    start = text.index("OTAN")
    assert snippet(text, [Hit("text", start, start + 4, "OTAN")]) == [
        ("Une réunion entre la Russie et l’", False),
        ("OTAN", True),
        (" à Bruxelles.", False),
    ]


def test_snippet_merges_overlapping_hits_and_keeps_separate_ones_apart():
    text = "des forces spéciales sont envoyées"
    forces, speciales = text.index("forces"), text.index("spéciales")
    hits = [Hit("text", forces, speciales + 9, "forces spéciales"),
            Hit("text", speciales, speciales + 9, "spéciales"),
            Hit("text", text.index("envoyées"), len(text), "envoyées")]
    assert snippet(text, hits) == [
        ("des ", False), ("forces spéciales", True), (" sont ", False), ("envoyées", True)]


def test_snippet_ignores_title_hits_and_hits_outside_the_text():
    text = "Le Canada et l’OTAN."
    hits = [Hit("title", 0, 2, "Le"), Hit("text", 15, 99, "x"), Hit("text", -1, 2, "x")]
    assert snippet(text, hits) == [(text, False)]


def test_snippet_without_hits_starts_at_the_start_and_cuts_at_a_word(article_text):
    segments = snippet(article_text, [], width=60)
    assert len(segments) == 1
    chunk, highlighted = segments[0]
    assert not highlighted
    assert chunk.endswith(ELLIPSIS)
    body = chunk[:-1]
    assert _collapse(article_text).startswith(body)
    assert _collapse(article_text)[len(body)] == " "  # cut at a word boundary
    assert len(body) <= 60


def test_snippet_of_the_real_article_centres_on_the_first_otan(article_text):
    segments = snippet(article_text, _hits(article_text, "OTAN") + _hits(article_text, "Ukraine"))
    chunks = [c for c, _ in segments]
    highlighted = [c for c, h in segments if h]
    flat = _collapse(article_text).strip()

    assert highlighted[0] == "OTAN"
    assert set(highlighted) <= {"OTAN", "Ukraine"}
    before = segments[segments.index(("OTAN", True)) - 1][0]
    assert before.endswith("la Russie et l’")
    assert chunks[0].startswith(ELLIPSIS) and chunks[-1].endswith(ELLIPSIS)
    inner = "".join(chunks)[1:-1]
    at = flat.index(inner)
    assert flat[at - 1] == " " and flat[at + len(inner)] == " "  # both cuts between words
    assert len(inner) <= 280


def test_snippet_leaves_out_a_hit_the_window_would_cut():
    text = "un " * 30 + "OTAN"
    hits = [Hit("text", 0, 2, "un"), Hit("text", len(text) - 4, len(text), "OTAN")]
    segments = snippet(text, hits, width=len(text) - 2)
    assert [c for c, h in segments if h] == ["un"]
    assert segments[-1][0].endswith(ELLIPSIS)
    assert "OT" not in "".join(c for c, _ in segments)


def test_snippet_shows_a_first_hit_longer_than_the_width():
    text = "début " + "x" * 50 + " fin"
    segments = snippet(text, [Hit("text", 6, 56, "x")], width=10)
    assert ("x" * 50, True) in segments


def test_snippet_width_must_be_positive():
    with pytest.raises(ValueError):
        snippet("texte", [], width=0)


WORDS = st.text(alphabet="abéOTAN’«»…-.@<", min_size=1, max_size=8)
SPACES = st.text(alphabet=" \n\t\u00a0", min_size=1, max_size=3)


@st.composite
def texts_with_hits(draw):
    """Texts of words and whitespace runs, with hits anywhere in them."""
    parts = draw(st.lists(st.tuples(WORDS, SPACES), max_size=40))
    text = draw(SPACES | st.just("")) + "".join(w + s for w, s in parts)
    n = len(text)
    if n == 0:
        return text, []
    pairs = draw(st.lists(st.tuples(st.integers(0, n), st.integers(0, n)), max_size=6))
    return text, [Hit("text", min(a, b), max(a, b), "t") for a, b in pairs if a != b]


@st.composite
def texts_with_word_hits(draw):
    """Texts with hits that are disjoint, not touching, and start and end on a word character."""
    parts = draw(st.lists(st.tuples(WORDS, SPACES), min_size=1, max_size=40))
    text = "".join(w + s for w, s in parts)
    candidates = [(m.start(), m.end()) for m in re.finditer(r"\S+(?:\s+\S+)?", text)]
    chosen = draw(st.lists(st.sampled_from(candidates), max_size=6, unique=True))
    spans: list[tuple[int, int]] = []
    for s, e in sorted(chosen):
        if not spans or s > spans[-1][1]:
            spans.append((s, e))
    return text, [Hit("text", s, e, "t") for s, e in spans]


def _expected_highlights(text: str, hits: list[Hit]) -> list[str]:
    merged: list[list[int]] = []
    for s, e in sorted((h.start, h.end) for h in hits):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [c for c in (_collapse(text[s:e]).strip() for s, e in merged) if c]


@settings(max_examples=300, deadline=None)
@given(texts_with_hits(), st.integers(1, 120))
def test_snippet_is_collapsed_text_with_exactly_the_hits_highlighted(case, width):
    text, hits = case
    segments = snippet(text, hits, width=width)
    assert all(chunk for chunk, _ in segments)

    joined = "".join(chunk for chunk, _ in segments)
    if joined.startswith(ELLIPSIS):
        joined = joined[1:]
    if joined.endswith(ELLIPSIS):
        joined = joined[:-1]
    assert joined in _collapse(text).strip()

    highlighted = [chunk for chunk, h in segments if h]
    expected = _expected_highlights(text, hits)
    # The window starts at or before the first hit and keeps the hits that fit whole.
    assert highlighted == expected[: len(highlighted)]
    if expected:
        assert highlighted


@settings(max_examples=200, deadline=None)
@given(texts_with_word_hits(), st.integers(1, 200))
def test_every_highlighted_chunk_is_a_hit_spans_text(case, width):
    text, hits = case
    spans = {_collapse(text[h.start:h.end]) for h in hits}
    highlighted = [chunk for chunk, h in snippet(text, hits, width=width) if h]
    assert all(chunk in spans for chunk in highlighted)
    assert bool(highlighted) == bool(hits)


# -- alerts ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_alert_shows_everything_a_reader_needs(alert, fmt):
    rendered = render_alert(alert, fmt, tz="Europe/Paris")
    assert rendered.body_format == fmt
    seen = rendered_text(rendered.body, fmt)
    for expected in (TITLE, "Nouvelles du monde", "2022-01-18 14:05 CET", LINK, "otan", "OTAN",
                     "une réunion entre la Russie et l’", "OTAN à Bruxelles se sont toutes deux"):
        assert expected in seen, expected


def test_alert_highlights_the_hits_in_each_format(alert):
    assert "la Russie et l’«OTAN» à Bruxelles" in render_alert(alert, "text").body
    assert "la Russie et l’**OTAN** à Bruxelles" in render_alert(alert, "markdown").body
    html = render_alert(alert, "html").body
    assert "la Russie et l’<mark>OTAN</mark> à Bruxelles" in html
    rendered = markdown_to_html(render_alert(alert, "markdown").body)
    assert "<strong>OTAN</strong>" in rendered


@pytest.mark.parametrize("fmt", FORMATS)
def test_alert_link_is_a_real_link(alert, fmt):
    body = render_alert(alert, fmt).body
    source = markdown_to_html(body) if fmt == "markdown" else body
    if fmt == "text":
        assert f"Link: {LINK}" in body
    else:
        hrefs = [dict(attrs)["href"] for tag, attrs in Elements(source).tags if tag == "a"]
        assert hrefs == [LINK]


@pytest.mark.parametrize("tz, expected", [
    ("UTC", "2022-01-18 13:05 UTC"),
    ("Europe/Paris", "2022-01-18 14:05 CET"),
    ("America/Toronto", "2022-01-18 08:05 EST"),
    ("Asia/Tokyo", "2022-01-18 22:05 JST"),
])
def test_published_time_is_shown_in_the_configured_zone(alert, tz, expected):
    assert expected in render_alert(alert, "text", tz=tz).body


def test_summer_time_is_named(alert):
    summer = AlertContent(**{**alert.__dict__, "published": datetime(2022, 7, 1, 12, 0, tzinfo=timezone.utc)})
    assert "2022-07-01 14:00 CEST" in render_alert(summer, "text", tz="Europe/Paris").body


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_date(alert, fmt):
    undated = AlertContent(**{**alert.__dict__, "published": None})
    assert "unknown date" in rendered_text(render_alert(undated, fmt).body, fmt)


def test_title_is_short_and_names_the_rule(alert):
    title = render_alert(alert, "html").title
    assert title.startswith("[otan] Le Canada s’associe au Royaume-Uni")
    assert len(title) <= TITLE_MAX
    assert title.endswith(ELLIPSIS)
    assert "\n" not in title


def test_short_title_is_kept_whole(alert):
    short = AlertContent(**{**alert.__dict__, "title": "L’OTAN\nà Bruxelles"})
    assert render_alert(short, "text").title == "[otan] L’OTAN à Bruxelles"


def test_unknown_format_and_zone_are_configuration_errors(alert):
    with pytest.raises(ConfigError, match="format"):
        render_alert(alert, "rtf")
    with pytest.raises(ValueError, match="Mars/Olympus"):
        render_alert(alert, "text", tz="Mars/Olympus")
    with pytest.raises(ConfigError):
        render_alert(alert, "text", tz="../../etc/passwd")


# -- hostile article text --------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "![x](https://evil.example/pixel.png)",
    '"><svg onload=alert(1)>',
    "<https://evil.example>",
    "@everyone",
    "@here",
    "@channel",
    "<!here>",
    "<!channel>",
    "<@123>",
    "<@&123>",
    "<#123>",
    "`code` *star* _under_ # heading | pipe ~strike~",
    "\u202eevil\u202c",
]
MENTIONS = ["@everyone", "@here", "@channel", "<!here>", "<!channel>", "<@123>", "<@&123>", "<#123>"]


def _assert_no_mentions(value: str):
    for mention in MENTIONS:
        assert mention not in value, mention
    assert not re.search(f"[@<](?!{ZWSP})", value), value


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_is_inert_in_html(payload):
    rendered = render_alert(hostile_alert(payload), "html")
    elements = assert_inert_html(rendered.body)
    assert [t for t, _ in elements.tags].count("a") == 1
    assert payload.replace("\u202e", "").replace("\u202c", "") in elements.plain
    assert "\u202e" not in rendered.body
    _assert_no_mentions(elements.raw)


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_is_inert_in_markdown(payload):
    body = render_alert(hostile_alert(payload), "markdown").body
    assert body.count("](") == 1  # only the alert's own link
    # Apart from the layout (bold, list items, quote, the link line) every special is escaped.
    content = "\n".join(line for line in body.splitlines() if not line.startswith("- Link: "))
    content = re.sub(r"^(- |> )", "", content.replace("**", ""), flags=re.M)
    assert not re.search(r"(?<!\\)[<>\[\]()`*_#|~!]", content), content
    _assert_no_mentions(body.replace("\\", ""))
    elements = assert_inert_html(markdown_to_html(body))
    _assert_no_mentions(elements.raw)
    assert [t for t, _ in elements.tags].count("a") == 1
    clean = payload.replace("\u202e", "").replace("\u202c", "")
    # Python-Markdown, unlike CommonMark, keeps the backslash of \< \| \~ (still inert).
    assert clean in re.sub(r"\\([<|~])", r"\1", elements.plain)


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_is_inert_in_text(payload):
    body = render_alert(hostile_alert(payload), "text").body
    _assert_no_mentions(body)
    assert "](" not in body
    assert payload.replace("\u202e", "").replace("\u202c", "") in body.replace(ZWSP, "")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_title_is_inert_in_the_alert_title(payload, fmt):
    title = render_alert(hostile_alert(payload), fmt).title
    _assert_no_mentions(title)
    assert "](" not in title
    assert not Elements(title).tags  # no tag survives, even if a channel treats it as HTML
    as_markdown = Elements(markdown_to_html(title)).tags
    assert not [t for t, _ in as_markdown if t in ("img", "script")]
    # Python-Markdown reads <\u200b@\u200b123> as a mail address: harmless, but never a web link.
    assert all(dict(a)["href"].startswith("mailto:") for t, a in as_markdown if t == "a")


UNSAFE_LINKS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
    "vbscript:msgbox(1)",
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("link", UNSAFE_LINKS)
def test_links_other_than_http_are_withheld(link, fmt):
    body = render_alert(hostile_alert("x", link=link), fmt).body
    seen = rendered_text(body, fmt)
    assert "link withheld" in seen
    assert "script:" not in body.lower() and "data:" not in body and "file:" not in body
    if fmt != "text":
        source = markdown_to_html(body) if fmt == "markdown" else body
        assert not [t for t, _ in Elements(source).tags if t == "a"]


def test_unsafe_scheme_is_named(alert):
    withheld = AlertContent(**{**alert.__dict__, "link": "javascript:alert(1)"})
    assert "(link withheld: unsafe scheme)" in render_alert(withheld, "text").body


@pytest.mark.parametrize("link, shown", [
    ('https://example.com/a"onmouseover="alert(1)', 'https://example.com/a%22onmouseover=%22alert(1)'),
    ("https://example.com/x) [y](javascript:z", None),
    ("https://example.com/@everyone", "https://example.com/%40everyone"),
    ("https://bücher.example/é", "https://xn--bcher-kva.example/%C3%A9"),
    ("http://bank.example@evil.example/", None),
])
def test_http_links_cannot_break_out(link, shown):
    content = hostile_alert("x", link=link)
    html_body = render_alert(content, "html").body
    assert_inert_html(html_body)
    md_body = render_alert(content, "markdown").body
    assert md_body.count("](") <= 1
    assert_inert_html(markdown_to_html(md_body))
    text_body = render_alert(content, "text").body
    _assert_no_mentions(text_body)
    hrefs = [dict(a)["href"] for t, a in Elements(html_body).tags if t == "a"]
    if shown is None:
        assert all(" " not in h and "(" not in h and '"' not in h for h in hrefs)
    else:
        assert [h.replace("%28", "(").replace("%29", ")") for h in hrefs] == [shown]


# -- digests ---------------------------------------------------------------------------


def _digest_alerts(counts: dict[str, int], payload: str = "x") -> list[AlertContent]:
    """Alerts for each rule, one minute apart, every seventh undated."""
    alerts, i = [], 0
    base = datetime(2024, 5, 1, 6, 0, tzinfo=timezone.utc)
    for rule, n in counts.items():
        for _ in range(n):
            a = hostile_alert(payload)
            published = None if i % 7 == 3 else base + timedelta(minutes=i)
            alerts.append(AlertContent(**{**a.__dict__, "rule": rule, "title": f"T{i:02d} {payload}",
                                          "published": published}))
            i += 1
    return alerts


@pytest.mark.parametrize("fmt", FORMATS)
def test_digest_counts_per_rule_newest_first_and_capped(fmt):
    alerts = _digest_alerts({"ukraine": 20, "otan": 31, "climat": 9})
    rendered = render_digest("desk", alerts, fmt, tz="Europe/Paris", period="08:00-09:00",
                             held_reason="quiet hours")
    assert rendered.title == "[digest] 60 matches for 3 rules"
    assert rendered.body_format == fmt
    seen = rendered_text(rendered.body, fmt)
    assert "otan: 31, ukraine: 20, climat: 9" in seen
    assert "08:00-09:00" in seen and "quiet hours" in seen and "desk" in seen
    shown = [int(n) for n in re.findall(r"\bT(\d\d)\b", seen)]
    assert len(shown) == DIGEST_MAX_ITEMS
    assert "10 more matches" in seen
    dated = [a for a in alerts if a.published is not None]
    newest = sorted(dated, key=lambda a: a.published, reverse=True)
    assert shown == [int(a.title[1:3]) for a in newest][:DIGEST_MAX_ITEMS]
    if fmt == "html":
        assert "<mark>OTAN</mark>" in rendered.body
    if fmt == "markdown":
        assert "**OTAN**" in rendered.body


def test_digest_puts_undated_matches_last():
    alerts = _digest_alerts({"otan": 8})
    body = render_digest("desk", alerts, "text").body
    assert body.index("T07") < body.index("unknown date")
    assert body.rstrip().splitlines()[-4].startswith("8. T03")


@pytest.mark.parametrize("fmt", FORMATS)
def test_digest_of_one_and_of_none(fmt):
    one = render_digest("desk", _digest_alerts({"otan": 1}), fmt)
    assert one.title == "[digest] 1 match for 1 rule"
    assert "more" not in rendered_text(one.body, fmt)
    none = render_digest("desk", [], fmt)
    assert none.title == "[digest] no matches"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_text_is_inert_in_digests(payload, fmt):
    alerts = _digest_alerts({"otan": 2, f"r {payload}": 1}, payload)
    rendered = render_digest(f"desk {payload}", alerts, fmt, held_reason=payload, period=payload)
    _assert_no_mentions(rendered.title)
    assert not Elements(rendered.title).tags
    if fmt == "text":
        _assert_no_mentions(rendered.body)
        assert "](" not in rendered.body
        return
    source = markdown_to_html(rendered.body) if fmt == "markdown" else rendered.body
    elements = Elements(source)
    for tag, attrs in elements.tags:
        assert tag in ALLOWED_TAGS | {"br"}, (tag, source)
        for name, value in attrs:
            assert tag == "a" and name == "href" and re.match(r"https?://", value or ""), (tag, name)
    assert [t for t, _ in elements.tags].count("a") == 3
    _assert_no_mentions(elements.raw)
    assert payload.replace("\u202e", "").replace("\u202c", "") in re.sub(r"\\([<|~])", r"\1", elements.plain)


# -- templates a user can override -------------------------------------------------------


def test_every_template_ships_with_the_package():
    folder = Path(__file__).parent.parent / "monitor" / "templates"
    assert {p.name for p in folder.iterdir() if not p.name.startswith(".")} >= set(TEMPLATE_NAMES.values())


def test_a_user_template_wins_and_the_others_stay_shipped(tmp_path, alert):
    (tmp_path / "alert.txt").write_text("CUSTOM {{ rule }} | {{ title }} | {{ link }}\n", encoding="utf-8")
    assert render_alert(alert, "text", templates=tmp_path).body == f"CUSTOM otan | {TITLE} | {LINK}"
    assert render_alert(alert, "html", templates=tmp_path).body == render_alert(alert, "html").body
    assert render_alert(alert, "text", templates=str(tmp_path)).body.startswith("CUSTOM")


@pytest.mark.parametrize("payload", HOSTILE)
def test_a_user_html_template_cannot_show_article_markup(tmp_path, payload):
    # Even |safe and a hand-made attribute: values arrive escaped.
    (tmp_path / "alert.html").write_text(
        '<div title="{{ title }}">{{ title|safe }}</div><p>{{ feed }} {{ snippet }}</p>{{ link }}'
        '<p>{% for t in term_list %}{{ t }}{% endfor %}</p>', encoding="utf-8")
    body = render_alert(hostile_alert(payload), "html", templates=tmp_path).body
    elements = Elements(body)
    assert {t for t, _ in elements.tags} <= {"div", "p", "a", "mark"}
    assert not [n for _, attrs in elements.tags for n, _ in attrs if n.startswith("on")]
    _assert_no_mentions(elements.raw)


@pytest.mark.parametrize("payload", HOSTILE)
def test_a_user_markdown_template_gets_escaped_values(tmp_path, payload):
    (tmp_path / "alert.md").write_text("## {{ title }}\n\n{{ feed }}: {{ snippet }} ({{ url }})\n",
                                       encoding="utf-8")
    body = render_alert(hostile_alert(payload), "markdown", templates=tmp_path).body
    source = markdown_to_html(body)
    assert not [t for t, _ in Elements(source).tags if t not in ("h2", "p", "strong", "a")]
    assert "javascript" not in "".join(v or "" for _, a in Elements(source).tags for _, v in a)
    _assert_no_mentions(Elements(source).raw)


def test_a_user_template_can_extend_the_shipped_one(tmp_path, alert):
    (tmp_path / "alert.txt").write_text('{% include "default/alert.txt" %}\n-- sent by the desk',
                                        encoding="utf-8")
    body = render_alert(alert, "text", templates=tmp_path).body
    assert body.startswith(render_alert(alert, "text").body) and body.endswith("-- sent by the desk")
    (tmp_path / "digest.md").write_text("{{ summary }} / {{ counts_line }} / {{ items|length }}")
    assert render_digest("d", [alert], "markdown", templates=tmp_path).body == "1 match for 1 rule / otan: 1 / 1"


def test_template_mistakes_are_configuration_errors(tmp_path, alert):
    with pytest.raises(ConfigError, match="does not exist"):
        render_alert(alert, "text", templates=tmp_path / "missing")
    (tmp_path / "alert.txt").write_text("{{ titel }}")
    with pytest.raises(ConfigError, match="titel"):
        render_alert(alert, "text", templates=tmp_path)
    (tmp_path / "alert.md").write_text("{% if %}")
    with pytest.raises(ConfigError, match="alert.md"):
        render_alert(alert, "markdown", templates=tmp_path)


# -- test message ----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_test_message_names_the_channel(fmt):
    rendered = render_test_message("ops-mail", fmt)
    assert rendered.body_format == fmt
    assert "ops-mail" in rendered.title
    assert "ops-mail" in rendered_text(rendered.body, fmt)
    assert "test" in rendered.title.lower()
    if fmt == "html":
        assert_inert_html(rendered.body)


@pytest.mark.parametrize("fmt", FORMATS)
def test_test_message_does_not_ping(fmt):
    rendered = render_test_message("ops <!here> @everyone", fmt)
    _assert_no_mentions(rendered.title)
    if fmt == "text":
        _assert_no_mentions(rendered.body)
    else:
        source = markdown_to_html(rendered.body) if fmt == "markdown" else rendered.body
        _assert_no_mentions(assert_inert_html(source).raw)


def test_test_message_rejects_unknown_format():
    with pytest.raises(ConfigError):
        render_test_message("ops", "pdf")


# -- purity ----------------------------------------------------------------------------


def test_render_imports_no_adapter_library():
    code = ("import sys, monitor.core.render; "
            "print(sorted(m for m in ('celery', 'sqlalchemy', 'sqlmodel', 'httpx', 'apprise') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "[]"

"""The matcher: never miss an article because of accents, case, elision or hyphens."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.matching import compile_rules
from monitor.core.rules import Keywords, Rule, load_rules
from monitor.core.text import tokenize
from monitor.core.types import Document, Hit, Match

from support.samples import ROOT, SAMPLE


def make_rule(name: str = "r", *, any=(), all=(), none=(), **fields) -> Rule:
    return Rule(name=name, keywords=Keywords(any=tuple(any), all=tuple(all), none=tuple(none)), **fields)


def make_doc(text: str = "", title: str = "", **fields) -> Document:
    return Document(title=title, text=text, **fields)


def slices(term: str, text: str) -> list[str]:
    """The original text of every hit of a one-term rule in ``text``."""
    matches = compile_rules([make_rule(any=[term])]).match(make_doc(text))
    return [text[h.start:h.end] for m in matches for h in m.hits]


@pytest.mark.parametrize("term, text, expected", [
    # case and accents
    ("OTAN", "réunion de otan", ["otan"]),
    ("otan", "réunion de OTAN", ["OTAN"]),
    ("etats-unis", "Les États-Unis ont", ["États-Unis"]),
    ("États-Unis", "les etats unis ont", ["etats unis"]),
    ("ete", "l'été", ["été"]),
    ("été", "cet e\u0301te\u0301-la\u0300", ["e\u0301te\u0301"]),
    ("Œuvre", "une oeuvre", ["oeuvre"]),
    ("oeuvre", "Une ŒUVRE", ["ŒUVRE"]),
    ("strasse", "Hauptstraße 1", []),                     # whole words only
    ("Hauptstrasse", "Hauptstraße 1", ["Hauptstraße"]),
    # elision, with both apostrophes, in the text and in the term
    ("OTAN", "les alliés de l’OTAN.", ["OTAN"]),
    ("OTAN", "Le chef de l'OTAN.", ["OTAN"]),
    ("OTAN", "L’OTAN et l'OTAN", ["OTAN", "OTAN"]),
    ("Ukraine", "l’adhésion d’Ukraine", ["Ukraine"]),
    ("Ukraine", "l'adhésion d'Ukraine", ["Ukraine"]),
    ("Ukraine", "jusqu’Ukraine, lorsqu'Ukraine, puisqu’Ukraine, qu'Ukraine",
     ["Ukraine", "Ukraine", "Ukraine", "Ukraine"]),
    ("l'OTAN", "le sommet de OTAN", ["OTAN"]),
    ("l’Ukraine", "d'Ukraine", ["Ukraine"]),
    # hyphens and phrases
    ("Royaume-Uni", "le Royaume-Uni", ["Royaume-Uni"]),
    ("Royaume-Uni", "le Royaume Uni", ["Royaume Uni"]),
    ("Royaume-Uni", "le Royaume\u2013Uni", ["Royaume\u2013Uni"]),
    ("Royaume Uni", "le Royaume-Uni", ["Royaume-Uni"]),
    ("Alliance atlantique", "de l'Alliance  Atlantique", ["Alliance  Atlantique"]),
    ("Alliance atlantique", "l’alliance\natlantique", ["alliance\natlantique"]),
    ("Alliance atlantique", "Atlantique alliance", []),
    ("Alliance atlantique", "alliance très atlantique", []),
    ("Alliance atlantique", "alliance", []),
    ("Alliance atlantique", "alliance atlantiques", []),
    ("Organisation du traité de l'Atlantique nord", "l’organisation du Traité de l’Atlantique Nord",
     ["organisation du Traité de l’Atlantique Nord"]),
    ("Organisation du traité de l'Atlantique nord", "l’organisation du Traité de l’Atlantique Sud", []),
    ("Organisation du traité de l'Atlantique nord", "l’organisation du Pacte de l’Atlantique Nord", []),
    # wildcards
    ("ukrain*", "Ukraine, ukrainien, ukrainienne, Ukrainian",
     ["Ukraine", "ukrainien", "ukrainienne", "Ukrainian"]),
    ("ukrain*", "ukrain", ["ukrain"]),
    ("ukrain*", "l’ukrainienne", ["ukrainienne"]),
    ("ukrain*", "Kraine, russo-ukrainien", ["ukrainien"]),
    ("ukrain*", "ukrai", []),
    ("Royaume Un*", "Royaume-Uni et Royaume uni", ["Royaume-Uni", "Royaume uni"]),
    ("Etats-Un*", "les États-Unis", ["États-Unis"]),
    ("Etats-Un*", "les États", []),
    # token boundaries
    ("OTAN", "COTANGENTE", []),
    ("OTAN", "OTANs", []),
    ("OTAN", "l'OTAN-Russie", ["OTAN"]),
    ("Ukraine", "Ukrainexx", []),
    ("Ukraine", "xxUkraine", []),
    ("NATO", "NATO's summit", ["NATO"]),
    ("19", "COVID-19", ["19"]),
])
def test_term_matching(term, text, expected):
    assert slices(term, text) == expected


def test_hits_are_offsets_into_the_original_title_and_text():
    title = "Sommet de l’OTAN"
    text = "Les États-Unis et l'OTAN."
    matcher = compile_rules([make_rule("otan", any=["OTAN", "Etats-Unis"], channels=("desk",))])
    assert matcher.match(make_doc(text, title)) == [Match(
        rule="otan",
        terms=("OTAN", "Etats-Unis"),  # in order of first hit, title first
        hits=(Hit("title", 12, 16, "OTAN"), Hit("text", 4, 14, "Etats-Unis"), Hit("text", 20, 24, "OTAN")),
        channels=("desk",),
    )]
    assert title[12:16] == text[20:24] == "OTAN" and text[4:14] == "États-Unis"


def test_a_place_matched_by_two_terms_is_one_hit():
    rule = make_rule(any=["Ukraine", "ukrain*", "l'Ukraine"], min_mentions=2)
    matcher = compile_rules([rule])
    assert matcher.match(make_doc("l’Ukraine")) == []
    [m] = matcher.match(make_doc("l’Ukraine et l’Ukrainien"))
    assert m.hits == (Hit("text", 2, 9, "Ukraine"), Hit("text", 15, 24, "ukrain*"))
    assert m.terms == ("Ukraine", "ukrain*", "l'Ukraine")


@pytest.mark.parametrize("keywords, text, matched", [
    ({"any": ["OTAN", "NATO"]}, "NATO summit", True),
    ({"any": ["OTAN", "NATO"]}, "sommet", False),
    ({"all": ["OTAN", "Ukraine"]}, "OTAN et Ukraine", True),
    ({"all": ["OTAN", "Ukraine"]}, "OTAN seule", False),
    ({"any": ["Kiev", "Kyiv"], "all": ["OTAN"]}, "OTAN à Kyiv", True),
    ({"any": ["Kiev", "Kyiv"], "all": ["OTAN"]}, "OTAN à Bruxelles", False),
    ({"any": ["Kiev", "Kyiv"], "all": ["OTAN"]}, "Kiev", False),
    ({"any": ["OTAN"], "none": ["cafe"]}, "l'OTAN", True),
    ({"any": ["OTAN"], "none": ["cafe"]}, "l'OTAN au Café", False),
    ({"any": ["OTAN"], "none": ["otan-cafe"]}, "l’OTAN Café", False),
    ({"any": ["OTAN"], "none": ["otan-cafe"]}, "l’OTAN, un café", True),
    ({"any": ["OTAN"], "none": ["sport*"]}, "OTAN sportive", False),
])
def test_any_all_none(keywords, text, matched):
    matcher = compile_rules([make_rule(**keywords)])
    assert bool(matcher.match(make_doc(text))) is matched


def test_none_terms_are_not_reported_and_title_counts_for_none():
    matcher = compile_rules([make_rule(any=["OTAN"], none=["football"])])
    [m] = matcher.match(make_doc("OTAN et Ukraine"))
    assert m.terms == ("OTAN",) and len(m.hits) == 1
    assert matcher.match(make_doc("OTAN", title="Football")) == []


@pytest.mark.parametrize("min_mentions, text, matched", [
    (1, "OTAN", True),
    (2, "OTAN", False),
    (2, "OTAN, NATO", True),
    (2, "l’OTAN et l’OTAN", True),
    (3, "l’OTAN et l’OTAN", False),
    (3, "Ukraine, OTAN et l’OTAN", True),  # all terms count too
])
def test_min_mentions_counts_any_and_all_hits(min_mentions, text, matched):
    rule = make_rule(any=["OTAN", "NATO"], all=["Ukraine"] if "Ukraine" in text else [],
                     min_mentions=min_mentions)
    assert bool(compile_rules([rule]).match(make_doc(text))) is matched


def test_min_mentions_counts_the_title():
    matcher = compile_rules([make_rule(any=["OTAN"], min_mentions=2)])
    assert matcher.match(make_doc("l'OTAN", title="OTAN"))
    assert not matcher.match(make_doc("l'OTAN"))


@pytest.mark.parametrize("languages, language, matched", [
    ((), "de", True),
    (("fr",), "fr", True),
    (("fr",), "fr-CA", True),
    (("fr",), "FR_ca", True),
    (("fr", "en"), "en-US", True),
    (("fr",), "en", False),
    (("fr",), "fra", False),
    (("fr",), None, True),      # an article of unknown language passes
    (("fr-CA",), "fr", False),
    (("fr-ca",), "fr-CA", True),
])
def test_language_filter(languages, language, matched):
    matcher = compile_rules([make_rule(any=["OTAN"], languages=languages)])
    assert bool(matcher.match(make_doc("OTAN", language=language))) is matched


@pytest.mark.parametrize("feeds, feed, matched", [
    ((), None, True),
    ((), "le-monde", True),
    (("le-monde",), "le-monde", True),
    (("le-monde", "rfi"), "rfi", True),
    (("le-monde",), "rfi", False),
    (("le-monde",), None, False),
])
def test_feed_filter(feeds, feed, matched):
    matcher = compile_rules([make_rule(any=["OTAN"], feeds=feeds)])
    assert bool(matcher.match(make_doc("OTAN", feed=feed))) is matched


@pytest.mark.parametrize("feed_tags, tags, matched", [
    ((), frozenset(), True),
    (("press",), frozenset({"press", "fr"}), True),
    (("press", "radio"), frozenset({"radio"}), True),
    (("press",), frozenset({"blog"}), False),
    (("press",), frozenset(), False),
])
def test_feed_tag_filter(feed_tags, tags, matched):
    matcher = compile_rules([make_rule(any=["OTAN"], feed_tags=feed_tags)])
    assert bool(matcher.match(make_doc("OTAN", tags=tags))) is matched


def test_disabled_rules_never_match_but_stay_listed():
    rules = [make_rule("off", any=["OTAN"], enabled=False), make_rule("on", any=["OTAN"])]
    matcher = compile_rules(rules)
    assert matcher.rules == tuple(rules)
    assert [m.rule for m in matcher.match(make_doc("OTAN"))] == ["on"]


def test_matches_come_in_rule_order_and_share_terms():
    rules = [make_rule(n, any=["ukrain*" if n == "b" else "OTAN"]) for n in "cab"]
    matcher = compile_rules(rules)
    assert [m.rule for m in matcher.match(make_doc("Ukraine et OTAN"))] == ["c", "a", "b"]
    assert compile_rules([]).match(make_doc("OTAN")) == []


def test_a_document_without_hits_matches_nothing():
    matcher = compile_rules([make_rule(any=["OTAN"])])
    assert matcher.match(make_doc("")) == []
    assert matcher.match(make_doc("Rien à signaler.", "Météo")) == []


# --- the real article and the shipped rules ------------------------------------

@pytest.fixture(scope="module")
def article() -> Document:
    text = SAMPLE.read_text(encoding="utf-8")
    return Document(title=text.splitlines()[2], text=text, language="fr")


@pytest.fixture(scope="module")
def shipped():
    return compile_rules(load_rules(ROOT / "rules" / "otan-ukraine.yaml").rules)


def test_shipped_rules_match_the_sample_article(article, shipped):
    matches = {m.rule: m for m in shipped.match(article)}
    assert set(matches) == {"otan-nato", "ukraine", "otan-ukraine-tensions"}
    text = article.text

    otan = matches["otan-nato"]
    assert otan.terms == ("OTAN",)
    assert all(h.field == "text" and text[h.start:h.end] == "OTAN" for h in otan.hits)
    assert [h.start for h in otan.hits] == [m.start() for m in re.finditer("OTAN", text)]
    # "la Russie et l’OTAN": the hit covers "OTAN", not the elided article.
    first = text.index("l’OTAN") + 2
    assert otan.hits[0] == Hit("text", first, first + 4, "OTAN")

    ukraine = matches["ukraine"]
    assert ukraine.terms == ("Kiev", "ukrain*")  # "Kiev a demandé..." comes first
    expected = [(m.start(), m.end()) for m in re.finditer(r"\b(?:[Uu]krain\w*|Kiev)\b", text)]
    assert [(h.start, h.end) for h in ukraine.hits] == expected
    assert {text[h.start:h.end] for h in ukraine.hits} == {
        "Kiev", "Ukraine", "ukrainien", "Ukrainiens", "ukrainienne"}
    apostrophe = text.index("l’Ukraine en armes") + 2
    assert Hit("text", apostrophe, apostrophe + 7, "ukrain*") in ukraine.hits


def test_sample_title_hits_come_first(article, shipped):
    rules = [*shipped.rules, make_rule("uk", any=["Royaume-Uni"])]
    [m] = [m for m in compile_rules(rules).match(article) if m.rule == "uk"]
    title_hit = m.hits[0]
    assert title_hit.field == "title"
    assert article.title[title_hit.start:title_hit.end] == "Royaume-Uni"
    assert [h.field for h in m.hits].count("title") == 1


def test_shipped_rules_respect_their_language_filter(article, shipped):
    german = Document(title=article.title, text=article.text, language="de")
    assert shipped.match(german) == []


# --- properties: the compiled matcher agrees with a straightforward evaluator ----

def reference_match(rules: list[Rule], doc: Document) -> list[Match]:
    """Evaluate each rule on its own by scanning every position of every field."""
    fields = [("title", tokenize(doc.title)), ("text", tokenize(doc.text))]

    def occurrences(term: str) -> list[tuple[int, int, int]]:
        body = term.strip()
        prefix = body.endswith("*")
        words = [t.norm for t in tokenize(body.rstrip("*"))]
        out = []
        for f, (_, tokens) in enumerate(fields):
            for i in range(len(tokens) - len(words) + 1):
                window = [t.norm for t in tokens[i:i + len(words)]]
                same = window[:-1] == words[:-1] and (
                    window[-1].startswith(words[-1]) if prefix else window[-1] == words[-1])
                if same:
                    out.append((f, tokens[i].start, tokens[i + len(words) - 1].end))
        return out

    def language_ok(rule: Rule) -> bool:
        if not rule.languages or doc.language is None:
            return True
        lang = doc.language.lower().replace("_", "-")
        return any(lang == x or lang.startswith(x + "-") for x in rule.languages)

    result = []
    for rule in rules:
        kw = rule.keywords
        if not rule.enabled or not language_ok(rule):
            continue
        if rule.feeds and doc.feed not in rule.feeds:
            continue
        if rule.feed_tags and not set(rule.feed_tags) & doc.tags:
            continue
        if any(occurrences(t) for t in kw.none):
            continue
        if not all(occurrences(t) for t in kw.all):
            continue
        if kw.any and not any(occurrences(t) for t in kw.any):
            continue
        found = sorted((*occ, k) for k, t in enumerate(kw.any + kw.all) for occ in occurrences(t))
        spans: dict = {}
        for f, start, end, k in found:
            spans.setdefault((f, start, end), (kw.any + kw.all)[k])
        if len(spans) < rule.min_mentions:
            continue
        terms = tuple(dict.fromkeys((kw.any + kw.all)[k] for *_, k in found))
        hits = tuple(Hit(fields[f][0], s, e, term) for (f, s, e), term in spans.items())
        result.append(Match(rule.name, terms, hits, rule.channels, rule.delivery, rule.per_hour))
    return result


WORDS = ["OTAN", "otan", "l’OTAN", "l'Otan", "COTANGENTE", "NATO", "Ukraine", "d'Ukraine", "ukrainienne",
         "Ukrainexx", "États-Unis", "etats", "Unis", "Royaume", "Uni", "Alliance", "atlantique", "Œuvre",
         "oeuvre", "été", "e\u0301te\u0301", "la", "de", "qu’il", "Kyiv", "l", "L'", "qu", "jusqu'au", "quand"]
SEPARATORS = [" ", "  ", "-", ", ", ".\n", "’", "'", " l’"]
TERMS = ["otan", "OTAN", "nato", "l'OTAN", "ukrain*", "Ukraine", "etats-unis", "Royaume-Uni", "Royaume Un*",
         "alliance atlantique", "de la ukrain*", "la otan unis", "oeuvre", "ete", "uni", "de la", "cotangente", "il", "Kyiv", "et*",
         "l", "qu*", "jus*", "de l", "au"]

texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=25).map(
    lambda parts: "".join(w + s for w, s in parts))
term_lists = st.lists(st.sampled_from(TERMS), max_size=3, unique=True).map(tuple)


@st.composite
def rules(draw, name: str) -> Rule:
    any_, all_ = draw(term_lists), draw(term_lists)
    if not any_ and not all_:
        any_ = (draw(st.sampled_from(TERMS)),)
    return Rule(
        name=name,
        keywords=Keywords(any=any_, all=all_, none=draw(st.lists(st.sampled_from(TERMS), max_size=2).map(tuple))),
        languages=draw(st.sampled_from([(), ("fr",), ("en",), ("fr", "en")])),
        feeds=draw(st.sampled_from([(), ("a",), ("a", "b")])),
        feed_tags=draw(st.sampled_from([(), ("press",)])),
        min_mentions=draw(st.integers(1, 4)),
        channels=draw(st.sampled_from([(), ("desk",)])),
        enabled=draw(st.booleans() | st.just(True)),
    )


rule_lists = st.integers(0, 6).flatmap(lambda n: st.tuples(*(rules(f"rule-{i}") for i in range(n)))).map(list)
documents = st.builds(
    Document, title=texts, text=texts,
    language=st.sampled_from([None, "fr", "fr-CA", "en", "de"]),
    feed=st.sampled_from([None, "a", "b"]),
    tags=st.sampled_from([frozenset(), frozenset({"press"}), frozenset({"blog"})]),
)


# Both engines: hyperscan on Latin-script fields (the default), and the automaton alone.
ENGINES = pytest.mark.parametrize("accelerate", [True, False], ids=["hyperscan", "automaton"])


def test_latin_script_fields_are_scanned_by_hyperscan():
    # The fast engine is in use: it gives the same answers, so only this tells it is there.
    assert compile_rules([make_rule(any=("otan",))])._literals is not None


def test_a_processor_hyperscan_refuses_still_matches(monkeypatch):
    import hyperscan

    import monitor.core.matching as matcher_module

    def refuse(*args, **kwargs):
        raise hyperscan.ArchitectureError("this processor lacks SSSE3")

    monkeypatch.setattr(matcher_module, "_Literals", refuse)
    m = compile_rules([make_rule(any=("otan",))])
    assert m._literals is None
    [match] = m.match(make_doc("Le sommet de l’OTAN"))
    assert [(h.start, h.end) for h in match.hits] == [(15, 19)]


@ENGINES
@settings(max_examples=300)
@given(rule_list=rule_lists, doc=documents)
def test_compiled_matcher_agrees_with_reference(rule_list, doc, accelerate):
    assert compile_rules(rule_list, accelerate=accelerate).match(doc) == reference_match(rule_list, doc)


@ENGINES
@settings(max_examples=200)
@given(rule_list=rule_lists, extra=rules("unrelated"), position=st.integers(0, 6), doc=documents)
def test_adding_a_rule_never_removes_another_match(rule_list, extra, position, doc, accelerate):
    before = compile_rules(rule_list, accelerate=accelerate).match(doc)
    extended = rule_list[:position] + [extra] + rule_list[position:]
    after = [m for m in compile_rules(extended, accelerate=accelerate).match(doc) if m.rule != "unrelated"]
    assert after == before


def test_the_core_imports_no_adapter_library():
    code = ("import sys, monitor.core.text, monitor.core.rules, monitor.core.matching\n"
            "bad = {'celery', 'sqlalchemy', 'sqlmodel', 'httpx', 'apprise'}\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- queries and entities on the real French article ---------------------------------

def query_rule(query: str, name: str = "q", **fields) -> Rule:
    return Rule(name=name, query=query, **fields)


def spans_of(matcher, doc: Document) -> list[tuple[str, str, str]]:
    """(field, original text, term) of every hit of the only matching rule."""
    [m] = matcher.match(doc)
    source = {"title": doc.title, "text": doc.text}
    return [(h.field, source[h.field][h.start:h.end], h.term) for h in m.hits]


def regex_spans(pattern: str, text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


@pytest.mark.parametrize("query, pattern, terms", [
    ("OTAN", r"OTAN", ("OTAN",)),
    ("entity:nato", r"OTAN", ("OTAN",)),  # an entity's mentions as the article writes them
    ("entity:NATO", r"OTAN", ("OTAN",)),   # an entity named by any alias
    ("Ukraine", r"\bUkraine\b", ("Ukraine",)),
    ("ukrain*", r"\b[Uu]krain\w*", ("ukrain*",)),
    ("OTAN AND NOT sport", r"OTAN", ("OTAN",)),
    ("entity:putin", r"(?:Vladimir )?Poutine", ("Poutine", "Vladimir Poutine")),
    ('"risque réel" NEAR/5 conflit', r"risque réel|conflit(?= armé)", ('"risque réel"', "conflit")),
])
def test_queries_on_the_sample_article(article, query, pattern, terms):
    [m] = compile_rules([query_rule(query)]).match(article)
    assert m.terms == terms
    text_hits = [(h.start, h.end) for h in m.hits if h.field == "text"]
    assert text_hits == regex_spans(pattern, article.text)


def test_a_rule_written_as_nato_matches_the_french_article(article):
    rules = [Rule(name="nato", entities=("NATO",)), Rule(name="nato-id", entities=("nato",))]
    found = compile_rules(rules).match(article)
    assert [m.rule for m in found] == ["nato", "nato-id"]
    assert {article.text[h.start:h.end] for m in found for h in m.hits} == {"OTAN"}
    # "l’OTAN": the highlight covers "OTAN", not the elided article.
    first = article.text.index("l’OTAN") + 2
    assert found[0].hits[0] == Hit("text", first, first + 4, "entity:NATO")  # the term as written


def test_entity_putin_spans_in_the_sample(article):
    [m] = compile_rules([query_rule("entity:putin")]).match(article)
    title_hits = [article.title[h.start:h.end] for h in m.hits if h.field == "title"]
    text_hits = [article.text[h.start:h.end] for h in m.hits if h.field == "text"]
    assert title_hits == ["Poutine"]
    # "Vladimir Poutine" is one mention, not two.
    assert "Vladimir Poutine" in text_hits and text_hits.count("Poutine") == 3


def test_inflections_of_entity_forms_match(article):
    [m] = compile_rules([query_rule("entity:russia")]).match(article)
    found = {article.text[h.start:h.end] for h in m.hits}
    assert {"Russie", "russe", "russes"} <= found


POUTINE_REVIEW = (
    "Critique : La Banquise, Montréal. Nous avons commandé une poutine classique : des frites "
    "croustillantes, du fromage en grains qui fait « squick » et une sauce brune bien relevée. "
    "Le restaurant, ouvert jour et nuit, propose aussi une Poutine végé. Le service est rapide "
    "et les portions généreuses; la meilleure poutine du Plateau, selon nos lecteurs."
)


def test_a_poutine_review_is_not_about_putin():
    matcher = compile_rules([query_rule("entity:putin"), Rule(name="e", entities=("putin",))])
    assert matcher.match(make_doc(POUTINE_REVIEW, "La meilleure poutine de Montréal", language="fr")) == []
    # The same restaurant page mentioning the man still matches.
    text = POUTINE_REVIEW + " Aucun rapport avec Vladimir Poutine, qui n'y a jamais mis les pieds."
    hits = [text[h.start:h.end] for m in matcher.match(make_doc(text)) for h in m.hits]
    assert hits == ["Vladimir Poutine", "Vladimir Poutine"]


@pytest.mark.parametrize("text, matched", [
    ("Le parc a inauguré de nouvelles montagnes russes, les plus hautes d'Europe.", False),
    ("Sensations fortes : la montagne russe du parc rouvre.", False),
    ("Les montagnes russes du parc, puis un voyage en Russie.", True),
    ("Les exportations russes ont chuté.", True),
])
def test_montagnes_russes_are_not_russia(text, matched):
    matcher = compile_rules([query_rule("entity:russia")])
    assert bool(matcher.match(make_doc(text))) is matched


@pytest.mark.parametrize("query, text, expected", [
    # phrases, wildcards, elision and hyphens
    ('"Alliance atlantique"', "de l'Alliance  Atlantique", ["Alliance  Atlantique"]),
    ('"Royaume Un*"', "le Royaume-Uni", ["Royaume-Uni"]),
    ("Royaume-Uni", "le Royaume Uni", ["Royaume Uni"]),
    ("OTAN", "l’OTAN-Russie", ["OTAN"]),
    # boolean operators
    ("OTAN OR NATO", "NATO et OTAN", ["NATO", "OTAN"]),
    ("OTAN NATO", "NATO et OTAN", ["NATO", "OTAN"]),
    ("OTAN NATO", "OTAN seule", []),
    ("OTAN AND NOT sport", "OTAN et sport", []),
    ("OTAN -sport", "OTAN", []),                        # '-sport' is the word "sport", not NOT
    ("(OTAN OR NATO) AND Ukraine", "NATO, Ukraine", ["NATO", "Ukraine"]),
    ("(OTAN AND sport) OR Ukraine", "OTAN, Ukraine", ["Ukraine"]),   # only what made it true
    ("NOT sport AND OTAN", "l'OTAN", ["OTAN"]),
    # proximity
    ("OTAN NEAR/2 Russie", "OTAN et la Russie", ["OTAN", "Russie"]),
    ("OTAN NEAR/1 Russie", "OTAN et la Russie", []),
    ("OTAN NEAR/2 Russie", "Russie et l’OTAN", ["Russie", "OTAN"]),
    ("OTAN NEAR/0 Russie", "OTAN-Russie", ["OTAN", "Russie"]),
    ("OTAN NEAR/3 Russie", "OTAN. Bla bla bla bla. Russie", []),
    # field scope
    ("title:OTAN", "OTAN", []),
    ("text:OTAN", "OTAN", ["OTAN"]),
    # case-sensitive terms
    ("case:US", "us and US", ["US"]),
    ('case:"U.S."', "the U.S. and the u.s.", ["U.S"]),
    ("case:État", "l'etat et l'Etat", ["Etat"]),
    ("case:Ukrain*", "ukrainien, Ukrainien", ["Ukrainien"]),
])
def test_query_semantics(query, text, expected):
    found = compile_rules([query_rule(query)]).match(make_doc(text, "Titre"))
    assert [text[h.start:h.end] for m in found for h in m.hits if h.field == "text"] == expected


def test_title_scope_and_min_mentions():
    matcher = compile_rules([query_rule("title:OTAN AND Ukraine", min_mentions=2)])
    assert matcher.match(make_doc("Ukraine", title="Sommet de l'OTAN"))
    assert not matcher.match(make_doc("Ukraine et OTAN", title="Sommet"))
    assert not compile_rules([query_rule("title:OTAN", min_mentions=2)]).match(make_doc("OTAN", "OTAN"))


def test_entities_and_keywords_together():
    rule = Rule(name="r", keywords=Keywords(any=("sommet",)), entities=("nato",))
    matcher = compile_rules([rule])
    assert not matcher.match(make_doc("Le sommet de Genève"))
    [m] = matcher.match(make_doc("Le sommet de l'Alliance atlantique"))
    assert m.terms == ("sommet", "Alliance atlantique")


def test_other_scripts_take_the_exact_path():
    text = "Генсек НАТО заявил, что Путин не победит. Œuvre de l’OTAN."
    [m] = compile_rules([query_rule("entity:nato OR entity:putin")]).match(make_doc(text))
    assert [text[h.start:h.end] for h in m.hits] == ["НАТО", "Путин", "OTAN"]


# --- property: compiled queries agree with a straightforward evaluator -------------------

QUERY_TERMS = ["otan", "OTAN", "l'OTAN", "ukrain*", "Ukraine", "etats-unis", "Royaume-Uni", '"Royaume Un*"',
               '"alliance atlantique"', "de", "la", "oeuvre", "ete", "uni", "kyiv", "case:OTAN", "case:Otan",
               "title:otan", "text:Ukraine", "cotangente", "et*", "l", "qu*", '"de l"', "case:L"]


@st.composite
def queries(draw, depth=0) -> str:
    kind = draw(st.sampled_from(["term", "term", "and", "or", "not", "near", "implicit"] if depth < 3
                                else ["term"]))
    if kind == "term":
        return draw(st.sampled_from(QUERY_TERMS))
    if kind == "near":
        left, right = draw(st.sampled_from(QUERY_TERMS)), draw(st.sampled_from(QUERY_TERMS))
        return f"{left} NEAR/{draw(st.integers(0, 4))} {right}"
    if kind == "not":
        return f"NOT {draw(queries(depth + 1))}"
    left, right = draw(queries(depth + 1)), draw(queries(depth + 1))
    op = {"and": " AND ", "or": " OR ", "implicit": " "}[kind]
    return f"({left}{op}{right})"


def reference_query_match(rule: Rule, doc: Document) -> Match | None:
    """Evaluate one query rule by brute force over the tokens of each field."""
    from monitor.core.query import parse_query
    from monitor.core.text import fold_case

    fields = [("title", doc.title, tokenize(doc.title)), ("text", doc.text, tokenize(doc.text))]
    node = parse_query(rule.query)
    order: list[str] = []

    def occurrences(term) -> list[tuple[int, int, int]]:
        words, prefix = term.pattern.words, term.pattern.prefix
        out = []
        for f, (name, source, tokens) in enumerate(fields):
            if term.field and term.field != name:
                continue
            for i in range(len(tokens) - len(words) + 1):
                window = tokens[i:i + len(words)]
                norms = [t.norm for t in window]
                if not (norms[:-1] == list(words[:-1]) and (
                        norms[-1].startswith(words[-1]) if prefix else norms[-1] == words[-1])):
                    continue
                if term.case:
                    got = [fold_case(source[t.start:t.end]) for t in window]
                    want = [fold_case(term.body[t.start:t.end]) for t in tokenize(term.body)]
                    if got[:-1] != want[:-1] or not (
                            got[-1].startswith(want[-1]) if prefix else got[-1] == want[-1]):
                        continue
                out.append((f, i, i + len(words) - 1))
        return out

    def ev(n):
        from monitor.core.query import And, Near, Not, Or, Term
        if isinstance(n, Term):
            order.append(n.text)
            k = len(order) - 1
            occ = occurrences(n)
            return bool(occ), [(*o, k) for o in occ]
        if isinstance(n, Not):
            return not ev(n.item)[0], []
        if isinstance(n, Near):
            lo, ro = ev(n.left)[1], ev(n.right)[1]
            pairs = [(a, b) for a in lo for b in ro if a[0] == b[0] and (
                0 <= b[1] - a[2] - 1 <= n.distance or 0 <= a[1] - b[2] - 1 <= n.distance)]
            hits = sorted({a for a, _ in pairs}) + sorted({b for _, b in pairs})
            return bool(hits), hits
        results = [ev(x) for x in n.items]
        if isinstance(n, And):
            ok = all(r[0] for r in results)
            return ok, [h for r in results for h in r[1]] if ok else []
        return any(r[0] for r in results), [h for r in results if r[0] for h in r[1]]

    ok, found = ev(node)
    if not ok or not found:
        return None
    found = sorted(found)
    spans: dict = {}
    for f, i, j, k in found:
        spans.setdefault((f, i, j), k)
    if len(spans) < rule.min_mentions:
        return None
    hits = tuple(Hit(fields[f][0], fields[f][2][i].start, fields[f][2][j].end, order[k])
                 for (f, i, j), k in spans.items())
    return Match(rule.name, tuple(dict.fromkeys(order[k] for *_, k in found)), hits, rule.channels,
                 rule.delivery, rule.per_hour)


@ENGINES
@settings(max_examples=300, deadline=None)
@given(query_list=st.lists(queries(), min_size=1, max_size=4), min_mentions=st.integers(1, 3), doc=documents)
def test_compiled_queries_agree_with_reference(query_list, min_mentions, doc, accelerate):
    from monitor.core.query import QueryError, parse_query
    rules_ = []
    for i, q in enumerate(query_list):
        try:
            parse_query(q)
        except QueryError:
            continue  # every term negated
        rules_.append(query_rule(q, f"q{i}", min_mentions=min_mentions))
    expected = [m for m in (reference_query_match(r, doc) for r in rules_) if m is not None]
    assert compile_rules(rules_, accelerate=accelerate).match(doc) == expected


FILLERS = ["de", "la", "l’", "l'", "qu’", "jusqu'", "d'", "l", "qu", "L’", "é", "e\u0301", "Œ", "-", ",", "’"]


@ENGINES
@settings(max_examples=300, deadline=None)
@given(left=st.sampled_from(["OTAN", "Russie", "Alliance atlantique"]), right=st.sampled_from(["Ukraine", "Kyiv"]),
       between=st.lists(st.sampled_from(FILLERS), max_size=6), glue=st.sampled_from([" ", "", "  "]),
       distance=st.integers(0, 6), swap=st.booleans())
def test_near_counts_words_like_the_reference(left, right, between, glue, distance, swap, accelerate):
    # Words between the two sides, elided ones not counted: exactly at the distance, one over, none.
    parts = [left, *between, right] if not swap else [right, *between, left]
    text = " ".join(p + glue for p in parts)
    rule = query_rule(f'"{left}" NEAR/{distance} {right}')
    expected = reference_query_match(rule, make_doc(text))
    assert compile_rules([rule], accelerate=accelerate).match(make_doc(text)) == (
        [expected] if expected else [])


def test_threads_can_share_one_compiled_rule_set(article):
    # The dashboard's rule tester matches in a thread pool: hyperscan needs a scratch
    # space per thread, or a scan raises "scratch in use".
    from concurrent.futures import ThreadPoolExecutor

    m = compile_rules([query_rule("OTAN OR Ukraine OR Russie", "a"), query_rule("entity:putin", "b")])
    expected = m.match(article)
    assert [x.rule for x in expected] == ["a", "b"]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: m.match(article), range(400)))
    assert all(r == expected for r in results)

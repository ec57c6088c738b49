"""Rule files: what a valid file gives, and where every mistake is reported."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from monitor.core.entities import default_entities, load_entities, parse_entities
from monitor.core.errors import ConfigError, MonitorError, RuleError
from monitor.core.rules import (RESERVED_FILES, Keywords, Rule, RuleSet, TermPattern, load_rules, parse_rules,
                           parse_term, rule_schema)

RULES_DIR = Path(__file__).parent.parent / "rules"
CHANNELS = ("desk-email", "slack")

FULL = """\
rules:
  - name: otan
    description: NATO in French and English news
    keywords:
      any: [OTAN, NATO, "Alliance atlantique"]
      all: []
      none: ["otan-cafe"]
    languages: [fr, en-GB]
    feeds: [le-monde]
    feed_tags: [press]
    min_mentions: 2
    channels: [desk-email]
    enabled: false
    tags: [defense]
  - name: ukraine
    keywords:
      all: ["ukrain*"]
"""


def test_a_full_rule_reads_every_field():
    otan, ukraine = parse_rules(FULL, "r.yaml", channels=CHANNELS)
    assert otan == Rule(
        name="otan",
        description="NATO in French and English news",
        keywords=Keywords(any=("OTAN", "NATO", "Alliance atlantique"), none=("otan-cafe",)),
        languages=("fr", "en-gb"),
        feeds=("le-monde",),
        feed_tags=("press",),
        min_mentions=2,
        channels=("desk-email",),
        enabled=False,
        tags=("defense",),
    )
    # Defaults of a minimal rule.
    assert ukraine.keywords == Keywords(all=("ukrain*",))
    assert (ukraine.languages, ukraine.feeds, ukraine.feed_tags, ukraine.channels, ukraine.tags) == ((),) * 5
    assert (ukraine.min_mentions, ukraine.enabled, ukraine.description) == (1, True, "")


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "rules: []\n", "rules:\n"])
def test_files_without_rules_give_no_rules(text):
    assert parse_rules(text, "r.yaml") == []


def test_rules_are_immutable_and_hashable():
    rule = parse_rules(FULL, "r.yaml")[0]
    assert hash(rule) == hash(parse_rules(FULL, "r.yaml")[0])
    assert len({rule, parse_rules(FULL, "r.yaml")[0]}) == 1
    with pytest.raises(Exception):
        rule.name = "other"  # type: ignore[misc]


def test_channels_are_not_checked_when_none_are_given():
    text = "rules:\n  - name: a\n    keywords: {any: [x]}\n    channels: [anything]\n"
    assert parse_rules(text, "r.yaml")[0].channels == ("anything",)


# (case id, file text, expected "file:line:col: field: message" prefix)
ERRORS = [
    ("yaml syntax",
     "rules:\n  - name: otan\n    keywords: {any: [OTAN\n",
     "r.yaml:4:1: YAML syntax error"),
    ("bad indentation",
     "rules:\n  - name: otan\n   keywords: x\n",
     "r.yaml:3:4: YAML syntax error"),
    ("unknown key in rule",
     "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n    chanels: [slack]\n",
     "r.yaml:4:5: rules.0.chanels: unknown key"),
    ("unknown key in keywords",
     "rules:\n  - name: otan\n    keywords:\n      any: [OTAN]\n      nome: [x]\n",
     "r.yaml:5:7: rules.0.keywords.nome: unknown key"),
    ("unknown top-level key",
     "rules: []\nchannels: []\n",
     "r.yaml:2:1: channels: unknown key"),
    ("missing rules list",
     "rule:\n  - name: otan\n",
     "r.yaml:1:1: rules: Field required"),
    ("top level is a list",
     "- name: otan\n",
     "r.yaml:1:1: a rule file is a mapping"),
    ("missing name",
     "rules:\n  - keywords: {any: [OTAN]}\n",
     "r.yaml:2:5: rules.0.name: Field required"),
    ("empty name",
     "rules:\n  - name: '  '\n    keywords: {any: [OTAN]}\n",
     "r.yaml:2:11: rules.0.name: String should have at least 1 character"),
    ("missing keywords",
     "rules:\n  - name: otan\n",
     "r.yaml:2:5: rules.0: a rule needs 'keywords', a 'query' or 'entities'"),
    ("keywords and query",
     "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n    query: OTAN\n",
     "r.yaml:2:5: rules.0: a rule has 'keywords' or a 'query', not both"),
    ("query syntax error, plain scalar",
     "rules:\n  - name: otan\n    query: OTAN AND (NATO OR\n",
     "r.yaml:3:27: rules.0.query: query: OR needs a term on its right"),
    ("query syntax error, quoted scalar",
     "rules:\n  - name: otan\n    query: 'OTAN NEAR/x NATO'\n",
     "r.yaml:3:18: rules.0.query: query: NEAR needs a distance"),
    ("query syntax error, block scalar",
     "rules:\n  - name: otan\n    query: |\n      OTAN\n      AND (NATO OR sport\n",
     "r.yaml:5:11: rules.0.query: query: missing ')'"),
    ("query unknown field",
     "rules:\n  - name: otan\n    query: OTAN titre:x\n",
     "r.yaml:3:17: rules.0.query: query: unknown field 'titre:'"),
    ("query unknown entity",
     "rules:\n  - name: otan\n    query: OTAN OR entity:natoo\n",
     "r.yaml:3:27: rules.0.query: query: unknown entity 'natoo' (did you mean nato?)"),
    ("unknown entity in list",
     "rules:\n  - name: otan\n    entities: [nato, narnia]\n",
     "r.yaml:3:22: rules.0.entities.1: unknown entity 'narnia'"),
    ("query only negated",
     "rules:\n  - name: otan\n    query: NOT sport\n",
     "r.yaml:3:12: rules.0.query: query: a query needs at least one term that is not negated"),
    ("no terms",
     "rules:\n  - name: otan\n    keywords: {any: [], none: [x]}\n",
     "r.yaml:3:15: rules.0.keywords: a rule needs at least one term in 'any' or 'all'"),
    ("no terms, keywords empty",
     "rules:\n  - name: otan\n    keywords: {}\n",
     "r.yaml:3:15: rules.0.keywords: a rule needs at least one term"),
    ("term empty after normalization",
     "rules:\n  - name: otan\n    keywords:\n      any: [OTAN, '-- ’ --']\n",
     "r.yaml:4:19: rules.0.keywords.any.1: term '-- ’ --': the term has no words"),
    ("empty none term",
     "rules:\n  - name: otan\n    keywords:\n      any: [OTAN]\n      none: ['']\n",
     "r.yaml:5:14: rules.0.keywords.none.0: term '': the term has no words"),
    ("term not a string",
     "rules:\n  - name: otan\n    keywords:\n      any: [NO]\n",
     "r.yaml:4:13: rules.0.keywords.any.0: Input should be a valid string"),
    ("bare wildcard",
     "rules:\n  - name: otan\n    keywords:\n      any: ['*']\n",
     "r.yaml:4:13: rules.0.keywords.any.0: term '*': a wildcard needs at least 2 letters"),
    ("one-letter wildcard",
     "rules:\n  - name: otan\n    keywords:\n      all: [OTAN, 'u*']\n",
     "r.yaml:4:19: rules.0.keywords.all.1: term 'u*': a wildcard needs at least 2 letters"),
    ("one-letter wildcard after a phrase",
     "rules:\n  - name: otan\n    keywords:\n      any: ['Royaume u*']\n",
     "r.yaml:4:13: rules.0.keywords.any.0: term 'Royaume u*': a wildcard needs at least 2"),
    ("wildcard inside a term",
     "rules:\n  - name: otan\n    keywords:\n      any: ['uk*ne']\n",
     "r.yaml:4:13: rules.0.keywords.any.0: term 'uk*ne': '*' is only allowed once, at the end"),
    ("wildcard after a space",
     "rules:\n  - name: otan\n    keywords:\n      any: ['ukraine *']\n",
     "r.yaml:4:13: rules.0.keywords.any.0: term 'ukraine *': '*' must directly follow a word"),
    ("min_mentions zero",
     "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n    min_mentions: 0\n",
     "r.yaml:4:19: rules.0.min_mentions: Input should be greater than or equal to 1"),
    ("min_mentions not a number",
     "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n    min_mentions: two\n",
     "r.yaml:4:19: rules.0.min_mentions: Input should be a valid integer"),
    ("min_mentions as a string",
     "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n    min_mentions: '2'\n",
     "r.yaml:4:19: rules.0.min_mentions: Input should be a valid integer"),
    ("unknown channel",
     "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n    channels: [slack, sms]\n",
     "r.yaml:4:23: rules.0.channels.1: unknown channel 'sms' (configured: desk-email, slack)"),
    ("duplicate name",
     "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n  - name: otan\n    keywords: {any: [NATO]}\n",
     "r.yaml:4:11: rules.1.name: duplicate rule name 'otan' (first defined at r.yaml:2:11)"),
    ("bad language",
     "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n    languages: [fr, French]\n",
     "r.yaml:4:21: rules.0.languages.1: 'French' is not a language code"),
    ("enabled not a boolean",
     "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n    enabled: sometimes\n",
     "r.yaml:4:14: rules.0.enabled: Input should be a valid boolean"),
    ("rules not a list",
     "rules: otan\n",
     "r.yaml:1:8: rules: Input should be a valid tuple"),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_rule_file_errors_are_located(text, expected):
    with pytest.raises(RuleError) as info:
        parse_rules(text, "r.yaml", channels=CHANNELS, entities=default_entities())
    assert str(info.value).startswith(expected)
    assert info.value.path == "r.yaml"
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)


def test_error_carries_line_col_and_field_attributes():
    text = "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n    min_mentions: 0\n"
    with pytest.raises(RuleError) as info:
        parse_rules(text, "r.yaml")
    err = info.value
    assert (err.path, err.line, err.col, err.field) == ("r.yaml", 4, 19, "rules.0.min_mentions")


def test_every_problem_is_listed_in_file_order():
    text = ("rules:\n"
            "  - name: a\n    keywords: {any: ['*']}\n"
            "  - name: b\n    keywords: {any: [x]}\n    min_mentions: 0\n")
    with pytest.raises(RuleError) as info:
        parse_rules(text, "r.yaml")
    assert info.value.problems == (
        "r.yaml:3:22: rules.0.keywords.any.0: term '*': a wildcard needs at least 2 letters before '*'",
        "r.yaml:6:19: rules.1.min_mentions: Input should be greater than or equal to 1",
    )
    assert str(info.value).endswith("(and 1 more)")


def test_rule_errors_survive_pickling():
    with pytest.raises(RuleError) as info:
        parse_rules("rules:\n  - name: a\n    keywords: {}\n", "r.yaml")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is RuleError and isinstance(copy, MonitorError)
    assert str(copy) == str(info.value)
    assert (copy.line, copy.col, copy.field) == (info.value.line, info.value.col, info.value.field)


@pytest.mark.parametrize("term, words, prefix", [
    ("OTAN", ("otan",), False),
    ("l’Alliance  Atlantique", ("alliance", "atlantique"), False),
    ("Royaume-Uni", ("royaume", "uni"), False),
    ("ukrain*", ("ukrain",), True),
    ("  Etats-Un*  ", ("etats", "un"), True),
    ("Œu*", ("oeu",), True),
])
def test_parse_term(term, words, prefix):
    assert parse_term(term) == TermPattern(words, prefix)


# --- load_rules -------------------------------------------------------------

def rule_yaml(*names: str) -> str:
    return "rules:\n" + "".join(f"  - name: {n}\n    keywords: {{any: [{n}]}}\n" for n in names)


def test_load_a_single_file(tmp_path):
    path = tmp_path / "one.yaml"
    path.write_text(rule_yaml("a", "b"), encoding="utf-8")
    ruleset = load_rules(path)
    assert ruleset == RuleSet(tuple(parse_rules(rule_yaml("a", "b"), "x")), (str(path),))


def test_load_a_directory_in_name_order_skipping_entities_and_other_files(tmp_path):
    (tmp_path / "b.yml").write_text(rule_yaml("b"), encoding="utf-8")
    (tmp_path / "a.yaml").write_text(rule_yaml("a1", "a2"), encoding="utf-8")
    (tmp_path / "entities.yaml").write_text(
        "entities:\n  - id: acme\n    type: ORG\n    aliases: {en: [Acme]}\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not rules", encoding="utf-8")
    (tmp_path / "sub.yaml").mkdir()
    ruleset = load_rules(str(tmp_path))
    assert [r.name for r in ruleset.rules] == ["a1", "a2", "b"]
    assert ruleset.files == (str(tmp_path / "a.yaml"), str(tmp_path / "b.yml"))
    # entities.yaml is the folder's entity catalog, added to the shipped one.
    assert "acme" in ruleset.entities and "nato" in ruleset.entities


def test_load_an_empty_directory(tmp_path):
    assert load_rules(tmp_path) == RuleSet((), ())


def test_load_checks_channels(tmp_path):
    (tmp_path / "a.yaml").write_text(rule_yaml("a") + "    channels: [pager]\n", encoding="utf-8")
    assert load_rules(tmp_path).rules[0].channels == ("pager",)
    with pytest.raises(RuleError, match=r"a\.yaml:4:16: rules\.0\.channels\.0: unknown channel 'pager' "
                                        r"\(configured: slack\)"):
        load_rules(tmp_path, channels=["slack"])


def test_duplicate_names_across_files_name_both_places(tmp_path):
    (tmp_path / "a.yaml").write_text(rule_yaml("x", "otan"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(rule_yaml("otan"), encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)
    b, a = tmp_path / "b.yaml", tmp_path / "a.yaml"
    assert str(info.value) == f"{b}:2:11: name: duplicate rule name 'otan' (also defined at {a}:4:11)"


def test_every_bad_file_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text("rules: [\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(rule_yaml("ok"), encoding="utf-8")
    (tmp_path / "c.yaml").write_text("rules:\n  - name: c\n    keywords: {}\n", encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)
    assert info.value.path == str(tmp_path / "a.yaml")
    assert len(info.value.problems) == 2
    assert info.value.problems[1].startswith(f"{tmp_path / 'c.yaml'}:3:15: rules.0.keywords: ")


def test_a_missing_path_is_named(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(RuleError) as info:
        load_rules(missing)
    assert str(info.value) == f"{missing}: no such rule file or directory"


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("rules:\n  - name: été\n".encode("latin-1"))
    with pytest.raises(RuleError, match=r"latin1\.yaml:2:11: not UTF-8 text"):
        load_rules(path)


@pytest.mark.parametrize("path", sorted(p for p in RULES_DIR.glob("*.y*ml") if p.name not in RESERVED_FILES),
                         ids=lambda p: p.name)
def test_every_shipped_rule_file_loads(path):
    ruleset = load_rules(path)
    assert ruleset.rules, f"{path} defines no rules"


def test_the_shipped_rules_directory_loads():
    ruleset = load_rules(RULES_DIR)
    assert {"otan-nato", "ukraine"} <= {r.name for r in ruleset.rules}


def test_the_shipped_entity_catalog_loads():
    catalog = load_entities(RULES_DIR / "entities.yaml")
    ids = catalog.ids
    assert {"nato", "ukraine", "russia", "putin", "canada", "eu", "un", "usa"} <= ids
    assert len(ids) >= 40
    assert all(e.type in ("PER", "ORG", "LOC", "GPE", "NORP", "EVENT", "MISC") for e in catalog.entities)


ENTITY_ERRORS = [
    ("unknown key", "entities:\n  - id: a\n    aliases: {fr: [A]}\n    alias: x\n",
     "e.yaml:4:5: entities.0.alias: unknown key"),
    ("bad type", "entities:\n  - id: a\n    type: THING\n    aliases: {fr: [A]}\n",
     "e.yaml:2:5: entities.0: type 'THING' is not one of"),
    ("no alias", "entities:\n  - id: a\n", "e.yaml:2:5: entities.0: entity 'a' needs at least one alias"),
    ("bad id", "entities:\n  - id: A b\n    aliases: {fr: [A]}\n", "e.yaml:2:9: entities.0.id: String should match"),
    ("duplicate id", "entities:\n  - id: a\n    aliases: {fr: [A]}\n  - id: a\n    aliases: {fr: [B]}\n",
     "e.yaml:4:9: entities.1.id: duplicate entity id 'a'"),
    ("empty exclusion", "entities:\n  - id: a\n    aliases: {fr: [A]}\n    exclude: [{within: 3}]\n",
     "e.yaml:4:15: entities.0.exclude.0: an exclusion needs 'near' terms or a 'phrase'"),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in ENTITY_ERRORS], ids=[c[0] for c in ENTITY_ERRORS])
def test_entity_catalog_errors_are_located(text, expected):
    with pytest.raises(RuleError) as info:
        parse_entities(text, "e.yaml")
    assert str(info.value).startswith(expected)


def test_a_bad_entity_catalog_in_the_rules_folder_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text(rule_yaml("a"), encoding="utf-8")
    (tmp_path / "entities.yaml").write_text("entities:\n  - id: x\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"entities\.yaml:2:5: entities\.0: entity 'x' needs"):
        load_rules(tmp_path)


QUERY_RULES = """\
rules:
  - name: q
    query: '"risque réel" NEAR/5 conflit AND NOT title:sport'
    entities: [nato]
  - name: e
    entities: [putin, russia]
"""


def test_query_and_entity_rules_read():
    q, e = parse_rules(QUERY_RULES, "r.yaml", entities=default_entities())
    assert q.query == '"risque réel" NEAR/5 conflit AND NOT title:sport' and q.keywords is None
    assert q.entities == ("nato",) and e.entities == ("putin", "russia") and e.query is None


def test_the_schema_describes_the_rule_file():
    import jsonschema
    import yaml

    schema = rule_schema()
    props = schema["$defs"]["Rule"]["properties"]
    assert {"name", "keywords", "query", "entities", "min_mentions", "channels"} <= set(props)
    assert schema["$defs"]["Rule"]["additionalProperties"] is False
    for path in RULES_DIR.glob("*.yaml"):
        if path.name not in RESERVED_FILES:
            jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"rules": [{"name": "x", "chanels": []}]}, schema)

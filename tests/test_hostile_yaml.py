"""Hostile YAML and rule edits: every file or pasted text a stranger may write is refused
in bounded memory with a one-line located error, and a broken rule edit never goes live."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from support.procs import run_monitor
from support.samples import ROOT
from monitor import pipeline
from monitor.config import FeedSpec, load_feeds, load_settings
from monitor.core.errors import ConfigError, RuleError
from monitor.core.query import MAX_DEPTH as QUERY_DEPTH
from monitor.core.rules import load_rules, parse_rules
from monitor.service import RuleSource, Services
from monitor.core.types import Article
from monitor.core.yamlfile import MAX_DEPTH, MAX_FILE_BYTES, parse_yaml

# "Billion laughs": nine levels of nine aliases, 9**9 leaves once expanded, in under 600 bytes.
BOMB_BODY = "\n".join(
    ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)])
RULE_BOMB = BOMB_BODY + "\nrules:\n  - name: x\n    keywords: {any: *a9}\n"
FEEDS_BOMB = BOMB_BODY + "\nfeeds: *a9\n"
CONFIG_BOMB = BOMB_BODY + "\nallow_networks: *a9\n"
CATALOG_BOMB = BOMB_BODY + "\nentities:\n  - id: x\n    type: org\n    aliases: *a9\n"
GOOD_RULES = "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n"

# Each entry point, driven in a fresh interpreter with its address space capped, so a
# regression fails the test with a MemoryError instead of taking the machine.
PROBE = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    kind, path = sys.argv[1], Path(sys.argv[2])
    try:
        if kind == "rules":
            from monitor.core.rules import load_rules
            load_rules(path)
        elif kind == "feeds":
            from monitor.config import load_feeds
            load_feeds(path)
        elif kind == "config":
            from monitor.config import load_settings
            load_settings(str(path), environ={})
        elif kind == "catalog":
            from monitor.core.entities import load_entities
            load_entities(path)
        elif kind == "pasted":
            from monitor.web.tester import parse_pasted_rules
            parse_pasted_rules(path.read_text())
        outcome = "accepted"
    except Exception as e:
        outcome = type(e).__name__ + ": " + str(e)
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(json.dumps({"outcome": outcome, "peak_mb": int(hwm.split()[1]) / 1024}))
""")


@pytest.mark.parametrize("kind, text", [
    ("rules", RULE_BOMB), ("feeds", FEEDS_BOMB), ("config", CONFIG_BOMB), ("catalog", CATALOG_BOMB),
    ("pasted", RULE_BOMB),
])
def test_an_alias_bomb_is_refused_in_bounded_memory(tmp_path, kind, text):
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    assert len(text.encode()) < 600
    done = subprocess.run([sys.executable, "-c", PROBE, kind, str(path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "Error" in result["outcome"] and "anchors (&a0) are not allowed" in result["outcome"], result
    assert ":1:5:" in result["outcome"] or "pasted:1:5:" in result["outcome"], result
    assert result["peak_mb"] < 300, result


def test_the_rule_validator_refuses_an_alias_bomb_with_one_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(RULE_BOMB, encoding="utf-8")
    done = run_monitor("rules", "validate", path, timeout=120)
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert f"{path}:1:5: anchors (&a0) are not allowed" in done.stderr


def test_aliases_are_refused_even_without_anchored_definitions_in_view():
    with pytest.raises(ConfigError, match=r"f\.yaml:2:4: aliases \(\*x\) are not allowed"):
        parse_yaml("a: [1]\nb: *x\n", "f.yaml")


@pytest.mark.parametrize("text, expected", [
    # 20,000 nested lists: RecursionError in PyYAML's constructor before
    ("rules: " + "[" * 20_000, f"w.yaml:1:{7 + MAX_DEPTH}: nested deeper than {MAX_DEPTH} levels"),
    # 5,000 digits: ValueError (Python's integer string conversion limit) before
    ("rules:\n  - name: x\n    keywords: {any: [OTAN]}\n    min_mentions: " + "9" * 5_000 + "\n",
     "w.yaml:4:19: YAML error: an integer of 5,000 characters (at most 64)"),
    # base 60 (YAML 1.1): quadratic to convert
    ("rules:\n  - name: x\n    keywords: {any: [OTAN]}\n    min_mentions: " + "59:" * 3_000 + "1\n",
     "w.yaml:4:19: YAML error: an integer of 9,001 characters"),
    ("rules:\n  - name: x\n    name: y\n    keywords: {any: [OTAN]}\n",
     "w.yaml:3:5: duplicate key 'name' (first at line 2)"),
])
def test_costly_or_ambiguous_yaml_is_a_located_rule_error(text, expected):
    with pytest.raises(RuleError) as err:
        parse_rules(text, "w.yaml")
    assert str(err.value).startswith(expected), str(err.value)
    assert "\n" not in str(err.value)


def test_duplicate_keys_are_refused_in_every_file_kind(tmp_path):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: https://a.example/rss\n    url: https://b.example/rss\n")
    with pytest.raises(ConfigError, match=r"feeds\.yaml:3:5: duplicate key 'url' \(first at line 2\)"):
        load_feeds(feeds)
    config = tmp_path / "monitor.yaml"
    config.write_text("poll_tick: 5\npoll_tick: 10\n")
    with pytest.raises(ConfigError, match=r"monitor\.yaml:2:1: duplicate key 'poll_tick'"):
        load_settings(str(config), environ={})


@pytest.mark.parametrize("name, body", [("feeds.yaml", "feeds:\n  - url: https://a.example/rss\n    name: Télé\n"),
                                        ("monitor.yaml", "poll_tick: 5\n# réglages\n")])
def test_a_latin1_file_is_a_located_error_not_a_traceback(tmp_path, name, body):
    path = tmp_path / name
    path.write_bytes(body.encode("latin-1"))
    config = tmp_path / "monitor.yaml"
    if name == "feeds.yaml":
        config.write_text(f"feeds_path: {path}\nrules_path: {tmp_path / 'rules'}\n", encoding="utf-8")
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "r.yaml").write_text(GOOD_RULES, encoding="utf-8")
    done = run_monitor("--config", config, "feeds", "list", timeout=120)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    line = 3 if name == "feeds.yaml" else 2
    col = 12 if name == "feeds.yaml" else 4
    assert f"{path}:{line}:{col}: not UTF-8 text (byte 0xe9" in done.stderr, done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_a_query_nested_too_deep_is_a_located_error():
    text = "rules:\n  - name: deep\n    query: '" + "(" * 250 + "OTAN" + ")" * 250 + "'\n"
    # located at the parenthesis one level too deep, in the file
    with pytest.raises(RuleError, match=rf"deep\.yaml:3:{13 + QUERY_DEPTH}: rules\.0\.query: .*nested deeper"):
        parse_rules(text, "deep.yaml")
    text = "rules:\n  - name: nots\n    query: '" + "NOT " * 1000 + "OTAN Ukraine'\n"
    with pytest.raises(RuleError, match="nested deeper than"):
        parse_rules(text, "nots.yaml")


# -- a broken rule edit keeps the previous rules live ---------------------------------------

def _settings(tmp_path: Path, rules: Path):
    return load_settings(None, environ={}, overrides={
        "data_dir": str(tmp_path), "rules_path": str(rules), "feeds_path": str(tmp_path / "feeds.yaml"),
        "database_url": f"sqlite:///{tmp_path / 'monitor.sqlite'}", "entity_models": []})


def _edit(path: Path, text: str) -> None:
    # A new size and mtime, so the edit is seen however coarse the clock.
    import os
    old = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(old + 10**9, old + 10**9))


@pytest.mark.parametrize("broken", [
    "rules:\n  - name: otan\n    query: '" + "(" * 250 + "OTAN" + ")" * 250 + "'\n",
    "rules:\n  - name: otan\n    query: '" + "NOT " * 1000 + "OTAN Ukraine'\n",
    RULE_BOMB,
    "rules: " + "[" * 20_000 + "\n",
])
def test_a_broken_rule_edit_keeps_the_previous_rules_live(tmp_path, caplog, broken):
    rules = tmp_path / "rules"
    rules.mkdir()
    _edit(rules / "watch.yaml", GOOD_RULES)
    svc = Services(_settings(tmp_path, rules))
    before = svc.rules.matcher()
    assert [r.name for r in before.rules] == ["otan"]
    _edit(rules / "watch.yaml", broken)
    with caplog.at_level(logging.ERROR, logger="monitor"):
        after = svc.rules.matcher()
        again = svc.rules.matcher()
    assert after is before and again is before
    refused = [r for r in caplog.records if "previous ones stay in force" in r.getMessage()]
    assert len(refused) == 1, [r.getMessage() for r in caplog.records]  # logged once, not per article
    assert "watch.yaml" in refused[0].getMessage()

    # Articles keep matching the previous rules; nothing fails, nothing is dead-lettered.
    store = svc.store
    feed = store.sync_feeds([FeedSpec(url="https://lemonde.example/rss", name="Le Monde")], default_interval=900)
    ids = store.record_poll(feed["https://lemonde.example/rss"], status=200, articles=[
        Article("g1", "https://lemonde.example/a", "L'OTAN se réunit", "Les alliés de l'OTAN.", language="fr")])
    pipeline.match_articles(ids, store=store, matcher=svc.rules.matcher())
    from sqlmodel import Session, select

    from monitor.adapters.store import MatchRow
    with Session(store.engine) as s:
        assert [m.rule for m in s.exec(select(MatchRow))] == ["otan"]


def test_a_rule_set_that_raises_on_the_sample_article_is_refused(tmp_path, caplog):
    class Broken:
        def agrees(self, text, start, end, etype, language):
            raise RuntimeError("model crashed")

    rules = tmp_path / "rules"
    rules.mkdir()
    _edit(rules / "watch.yaml", GOOD_RULES)
    source = RuleSource(rules, [], checker=Broken())
    good = source.matcher()  # no entity rule: the checker is never asked
    _edit(rules / "watch.yaml", "rules:\n  - name: putin\n    entities: [putin]\n")
    with caplog.at_level(logging.ERROR, logger="monitor"):
        assert source.matcher() is good
    assert any("RuntimeError: model crashed" in r.getMessage() for r in caplog.records)
    fresh = RuleSource(rules, [], checker=Broken())
    with pytest.raises(RuleError, match="refused: RuntimeError: model crashed"):
        fresh.matcher()


def test_the_matching_limits_of_the_settings_reach_the_workers_matcher(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    _edit(rules / "watch.yaml", GOOD_RULES)
    settings = load_settings(None, environ={"MONITOR_MATCH_MAX_CHARS": "1000"}, overrides={
        "data_dir": str(tmp_path), "rules_path": str(rules), "feeds_path": str(tmp_path / "feeds.yaml"),
        "entity_models": []})
    from monitor.core.types import Document
    outcome = Services(settings).rules.matcher().match_bounded(Document("OTAN", "le texte " * 500 + "OTAN"))
    assert outcome.prefix is not None and outcome.prefix <= 1000
    assert [h.field for m in outcome.matches for h in m.hits] == ["title"]  # the far mention is past the cut


def test_a_broken_feeds_file_is_read_once_per_change(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    _edit(rules / "watch.yaml", GOOD_RULES)
    svc = Services(_settings(tmp_path, rules))
    feeds = tmp_path / "feeds.yaml"
    _edit(feeds, "feeds:\n  - url: https://a.example/rss\n    url: https://b.example/rss\n")
    with pytest.raises(ConfigError, match="duplicate key"):
        svc.sync_feeds()
    assert svc.sync_feeds() is False  # not read again at every tick
    _edit(feeds, "feeds:\n  - url: https://a.example/rss\n")
    assert svc.sync_feeds() is True
    assert [f.url for f in svc.store.list_feeds()] == ["https://a.example/rss"]


# -- the dashboard's rule tester -----------------------------------------------------------

@pytest.fixture
def tester(tmp_path):
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from monitor.web import create_app

    rules = tmp_path / "rules"
    rules.mkdir()
    _edit(rules / "watch.yaml", GOOD_RULES)
    settings = _settings(tmp_path, rules)
    with TestClient(create_app(settings, services=Services(settings)), base_url="http://127.0.0.1",
                    client=("127.0.0.1", 5)) as c:
        yield c


def csrf(client) -> str:
    return client.get("/api/csrf").json()["csrf_token"]


@pytest.mark.parametrize("rules, expected", [
    (RULE_BOMB, "pasted:1:5: anchors (&a0) are not allowed"),
    ("rules: " + "[" * 20_000, "nested deeper than"),
    ("name: x\nkeywords: {any: [OTAN]}\nmin_mentions: " + "9" * 5_000 + "\n", "an integer of 5,000 characters"),
    ("rules:\n  - name: x\n    query: '" + "(" * 250 + "OTAN" + ")" * 250 + "'\n", "nested deeper than"),
])
def test_the_web_tester_answers_hostile_rules_with_a_400(tester, rules, expected):
    r = tester.post("/api/rules/test", json={"rules": rules, "text": "L'OTAN"},
                    headers={"X-CSRF-Token": csrf(tester)})
    assert r.status_code == 400, (r.status_code, r.text[:500])
    assert expected in r.text


def test_the_guard_accepts_what_users_write():
    # Every shipped file, and deep-but-sane nesting, still loads.
    for path in sorted((ROOT / "rules").glob("*.yaml")) + [ROOT / "feeds.yaml", ROOT / "monitor.yaml"]:
        parse_yaml(path.read_text(encoding="utf-8"), str(path))
    assert load_rules(ROOT / "rules").rules
    nested = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\nb: 12345678901234567890\n"
    assert parse_yaml(nested, "n.yaml").data["b"] == 12345678901234567890


def test_a_yaml_file_over_the_size_cap_is_refused_without_being_parsed(tmp_path):
    path = tmp_path / "feeds.yaml"
    entry = "  - url: https://feeds.example.org/rss\n"
    path.write_text("feeds:\n" + entry * (MAX_FILE_BYTES // len(entry) + 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"feeds\.yaml: the feeds file is over 16 MB"):
        load_feeds(path)


YAML_MEMORY_PROBE = textwrap.dedent("""
    import json, sys
    from monitor.core.yamlfile import parse_yaml
    n = int(sys.argv[1])
    text = "feeds:\\n" + "".join(f"  - url: https://f{i}.example.org/rss\\n    tags: [a, b]\\n" for i in range(n))
    def hwm():
        return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM:")).split()[1])
    before = hwm()
    parse_yaml(text, "f.yaml")
    print(json.dumps({"growth_kb": hwm() - before}))
""")


def test_parsing_memory_grows_with_the_file_not_faster():
    def growth(n):
        done = subprocess.run([sys.executable, "-c", YAML_MEMORY_PROBE, str(n)], capture_output=True, text=True,
                              cwd=ROOT, timeout=300, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])["growth_kb"]
    small, large = growth(5_000), growth(40_000)
    assert large < 8 * small * 2, (small, large)  # 8 times the text: linear, with a wide margin


"""Bad configuration stops with one line naming the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.procs import run_monitor
from monitor.config import load_settings
from monitor.core.errors import ConfigError

GOOD_RULES = "rules:\n  - name: otan\n    keywords:\n      any: [OTAN]\n    channels: [hook]\n"
GOOD_CONFIG = "rules_path: rules\nfeeds_path: feeds.yaml\ndata_dir: data\nchannels:\n  hook: json://127.0.0.1:9/x\n"
GOOD_FEEDS = "feeds:\n  - url: https://example.org/a.rss\n"


def write_tree(tmp: Path, config=GOOD_CONFIG, rules=GOOD_RULES, feeds=GOOD_FEEDS) -> Path:
    (tmp / "rules").mkdir(exist_ok=True)
    (tmp / "rules" / "watch.yaml").write_text(rules, encoding="utf-8")
    (tmp / "feeds.yaml").write_text(feeds, encoding="utf-8")
    (tmp / "monitor.yaml").write_text(config, encoding="utf-8")
    return tmp / "monitor.yaml"


CASES = [
    # (name, config, rules, feeds, env, expected fragments)
    ("config yaml syntax", "rules_path: rules\nchannels: [a\nfeeds_path: x\n", GOOD_RULES, GOOD_FEEDS, {},
     ["monitor.yaml:3:", "YAML syntax error"]),
    ("config unknown key", GOOD_CONFIG + "databse_url: sqlite://\n", GOOD_RULES, GOOD_FEEDS, {},
     ["monitor.yaml:6:1: databse_url: unknown key"]),
    ("config bad value", GOOD_CONFIG + "poll_tick: soon\n", GOOD_RULES, GOOD_FEEDS, {},
     ["monitor.yaml:6:12: poll_tick:", "number"]),
    ("config value out of its choices", GOOD_CONFIG + "stories: some\n", GOOD_RULES, GOOD_FEEDS, {},
     ["monitor.yaml:6:10: stories:", "'all' or 'matched'"]),
    ("channel apprise cannot parse", GOOD_CONFIG.replace("json://127.0.0.1:9/x", "nosuch://x"),
     GOOD_RULES, GOOD_FEEDS, {}, ["monitor.yaml:5:9: channels.hook: apprise cannot use"]),
    ("channel secret from a missing variable",
     GOOD_CONFIG.replace("json://127.0.0.1:9/x", "mailtos://me:${NO_SUCH_VAR_X}@smtp.example.org"),
     GOOD_RULES, GOOD_FEEDS, {}, ["monitor.yaml:5:9: channels.hook:", "NO_SUCH_VAR_X is not set"]),
    ("channel password written in the file",
     GOOD_CONFIG.replace("json://127.0.0.1:9/x", "mailtos://me:hunter2@smtp.example.org"),
     GOOD_RULES, GOOD_FEEDS, {}, ["monitor.yaml:5:9: channels.hook:", "environment variable"]),
    ("channel token written in the query string",
     GOOD_CONFIG.replace("json://127.0.0.1:9/x", "json://127.0.0.1:9/x?-token=hunter2"),
     GOOD_RULES, GOOD_FEEDS, {}, ["monitor.yaml:5:9: channels.hook:", "'-token'", "?-token=${HOOK_TOKEN}"]),
    ("channel password written as ?pass=",
     GOOD_CONFIG.replace("json://127.0.0.1:9/x", "ntfy://ntfy.example.org/veille?pass=hunter2"),
     GOOD_RULES, GOOD_FEEDS, {}, ["monitor.yaml:5:9: channels.hook:", "'pass'", "?pass=${HOOK_PASS}"]),
    ("allow_networks entry with a port out of range", GOOD_CONFIG + "allow_networks:\n  - intranet.example:99999\n",
     GOOD_RULES, GOOD_FEEDS, {}, ["monitor.yaml:7:", "allow_networks:", "port 99999"]),
    ("rule yaml syntax", GOOD_CONFIG, "rules:\n  - name: x\n    keywords: {any: [OTAN}\n", GOOD_FEEDS, {},
     ["watch.yaml:3:", "YAML syntax error"]),
    ("rule unknown key", GOOD_CONFIG, GOOD_RULES + "    chanels: [x]\n", GOOD_FEEDS, {},
     ["watch.yaml:6:5:", "chanels", "unknown key"]),
    ("rule with no terms", GOOD_CONFIG, "rules:\n  - name: empty\n    keywords: {any: []}\n", GOOD_FEEDS, {},
     ["watch.yaml:", "rules.0"]),
    ("rule naming an unknown channel", GOOD_CONFIG, GOOD_RULES.replace("[hook]", "[hook, pager]"),
     GOOD_FEEDS, {}, ["watch.yaml:5:", "pager"]),
    ("feeds unknown key", GOOD_CONFIG, GOOD_RULES, GOOD_FEEDS + "    intervall: 60\n", {},
     ["feeds.yaml:3:5: feeds.0.intervall: unknown key"]),
    ("feed with a non-http URL", GOOD_CONFIG, GOOD_RULES, "feeds:\n  - url: file:///etc/passwd\n", {},
     ["feeds.yaml:2:10: feeds.0.url:", "http"]),
    ("environment value", GOOD_CONFIG, GOOD_RULES, GOOD_FEEDS, {"MONITOR_POLL_TICK": "-1"},
     ["MONITOR_POLL_TICK", "poll_tick"]),
    ("unreachable database", GOOD_CONFIG, GOOD_RULES, GOOD_FEEDS,
     {"MONITOR_DATABASE_URL": "postgresql+psycopg://monitor:hunter2@127.0.0.1:1/monitor"},
     ["cannot connect to database", "127.0.0.1:1"]),
]


@pytest.mark.parametrize("name,config,rules,feeds,env,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_configuration_is_one_located_line(tmp_path, name, config, rules, feeds, env, expected):
    cfg = write_tree(tmp_path, config, rules, feeds)
    res = run_monitor("--config", cfg, "check", env=env)
    assert res.returncode == 1, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ")
    for fragment in expected:
        assert fragment in lines[0], lines[0]
    assert "hunter2" not in res.stderr + res.stdout


def test_good_configuration_checks_ok(tmp_path):
    res = run_monitor("--config", write_tree(tmp_path), "check")
    assert res.returncode == 0, res.stderr
    assert "1 rule(s), 1 channel(s)" in res.stdout


def test_precedence_cli_over_environment_over_file(tmp_path):
    cfg = write_tree(tmp_path, GOOD_CONFIG + "timezone: Europe/Paris\npoll_tick: 5\n")
    s = load_settings(cfg, environ={"MONITOR_POLL_TICK": "7", "MONITOR_TIMEZONE": "America/Toronto"},
                      overrides={"timezone": "Asia/Tokyo"})
    assert s.poll_tick == 7 and s.timezone == "Asia/Tokyo"
    assert s.rules_path == tmp_path / "rules"  # relative to the file


def test_channel_secrets_come_from_the_environment_and_are_known_as_secrets(tmp_path):
    cfg = write_tree(tmp_path, GOOD_CONFIG.replace("json://127.0.0.1:9/x",
                                                   "mailtos://me:${SMTP_PW}@smtp.example.org"))
    s = load_settings(cfg, environ={"SMTP_PW": "s3cr3t-pw"})
    assert s.channels["hook"].url == "mailtos://me:s3cr3t-pw@smtp.example.org"
    assert s.secrets == ("s3cr3t-pw",)
    assert "s3cr3t-pw" not in (tmp_path / "monitor.yaml").read_text()


def test_rules_validate_lists_every_error(tmp_path):
    rules = "rules:\n  - name: a\n    keywords: {any: [x]}\n    bogus: 1\n  - name: b\n    keywords: {any: []}\n"
    cfg = write_tree(tmp_path, rules=rules)
    res = run_monitor("--config", cfg, "rules", "validate")
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) >= 2 and all(":" in ln and "watch.yaml:" in ln for ln in lines), res.stderr


def test_missing_config_file_is_one_line(tmp_path):
    res = run_monitor("--config", tmp_path / "nope.yaml", "check")
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "nope.yaml" in res.stderr


def test_load_settings_raises_config_error_not_a_crash(tmp_path):
    cfg = write_tree(tmp_path, "- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(cfg, environ={})


@pytest.mark.parametrize("url, shown", [
    ("redis://:pw@h:6379/0", "redis://:****@h:6379/0"),
    ("redis://u:p:w@h/0", "redis://u:****@h/0"),
    ("redis://u:a@h/0;redis://v:b@k/0", "redis://u:****@h/0;redis://v:****@k/0"),
    ("rediss://h/0?password=pw&db=1", "rediss://h/0?password=****&db=1"),
    ("redis://h:6379/0", "redis://h:6379/0"),
])
def test_a_broker_url_is_shown_with_its_password_masked(url, shown):
    from monitor.core.redact import mask_url

    assert mask_url(url) == shown


def test_masking_a_broker_url_of_many_colons_and_no_password_leaves_it_whole():
    # 200,000 colons and no "@": a lazy user part tried each colon in turn (minutes).
    from monitor.core.redact import mask_url

    url = "redis://" + "a:" * 100_000 + "x"
    assert mask_url(url) == url

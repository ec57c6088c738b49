"""The shape users and developers rely on: a pure core, helpful CLI, example files that load."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from support.procs import run_monitor
from support.samples import ROOT, SAMPLES
from monitor.cli import cli
from monitor.config import load_feeds, load_settings

CORE = ["monitor.core.text", "monitor.core.rules", "monitor.core.matching", "monitor.core.feeds", "monitor.core.render",
        "monitor.core.yamlfile", "monitor.core.types", "monitor.core.errors", "monitor.core.stories", "monitor.core.spikes",
        "monitor.core.watchdog", "monitor.core.schedule", "monitor.core.dedup", "monitor.core.opml"]
IO_LIBS = ["celery", "kombu", "sqlalchemy", "sqlmodel", "httpx", "apprise", "redis", "psycopg"]


def test_the_core_imports_no_io_library():
    code = (f"import sys, json\nfor m in {CORE!r}: __import__(m)\n"
            f"print(json.dumps(sorted(m for m in {IO_LIBS!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout) == []


def _commands(group: click.Group, prefix=()):
    for name, cmd in group.commands.items():
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


def test_every_cli_command_has_help_text():
    missing = [" ".join(path) for path, cmd in _commands(cli) if not (cmd.help or "").strip()]
    assert missing == []
    for path, _ in _commands(cli):
        res = run_monitor(*path, "--help")
        assert res.returncode == 0 and "Usage: monitor" in res.stdout, (path, res.stderr)


def test_shipped_examples_load():
    settings = load_settings(ROOT / "monitor.yaml", environ={})
    assert settings.rules_path == ROOT / "rules"
    feeds = load_feeds(ROOT / "feeds.yaml")
    langs = {f.language for f in feeds}
    assert {"fr", "en"} <= langs and all(f.url.startswith("https://") for f in feeds)


def test_rules_test_shows_matches_on_the_french_article():
    res = run_monitor("--config", ROOT / "monitor.yaml", "rules", "test", SAMPLES / "otan-ukraine-fr.txt")
    assert res.returncode == 0, res.stderr
    assert "otan-nato" in res.stdout and "ukraine" in res.stdout
    assert "«OTAN»" in res.stdout


def test_rules_test_says_when_nothing_matches(tmp_path):
    f = tmp_path / "t.txt"
    f.write_text("Le budget municipal de Lyon adopté.")
    res = run_monitor("--config", ROOT / "monitor.yaml", "rules", "test", f)
    assert res.returncode == 1 and "no rule matches" in res.stdout


def test_every_setting_is_in_the_readme_table():
    from monitor.config import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = {line.split("`")[1] for line in readme.splitlines() if line.startswith("| `")}
    assert set(Settings.model_fields) - documented == set()

"""Builds the adapters from the settings, once per process, and keeps the
rules and feeds in step with their files (edits apply without a restart)."""

from __future__ import annotations

import logging
import os
import threading
from functools import cached_property
from pathlib import Path

from monitor.config import Settings, load_feeds
from monitor.core.errors import MonitorError, RuleError

log = logging.getLogger("monitor")


def _fingerprint(path: Path) -> tuple:
    """Names, sizes and mtimes of a file or of the YAML files in a folder."""
    try:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            files = [path]
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.exists())
    except OSError:
        return ()


# Every new rule set matches this before it goes live: a set that raises here
# would raise on every article.
SAMPLE_TITLE = "L'OTAN et l'Ukraine : Vladimir Poutine reçu à Kyiv ?"
SAMPLE_TEXT = ("Le secrétaire général de l'OTAN s'est rendu jeudi en Ukraine. \"C'est historique\", "
               "a-t-il déclaré à Kiev, à 2 500 km de Bruxelles. NATO allies met in Brussels on "
               "Thursday; Russia's foreign ministry said Putin would answer. Poutine, frites et "
               "fromage en grains au menu du sommet du G7 (États-Unis, Royaume-Uni, Canada).")


class RuleSource:
    """The compiled rules, reloaded when the rule files change.

    A rule set goes live only once it loaded, compiled and matched a fixed
    sample article without raising; otherwise the last good one stays in
    force, with the error logged once per change of the files. Raises
    RuleError only when no good rule set was ever loaded.
    """

    def __init__(self, path: Path, channels, checker=None, *, limits: dict | None = None):
        self.path, self.channels, self.checker = Path(path), list(channels), checker
        self.limits = dict(limits or {})  # compile_rules' max_chars and max_occurrences
        self._lock = threading.Lock()
        self._seen: tuple | None = None
        self._matcher = None

    def matcher(self):
        fp = _fingerprint(self.path)
        with self._lock:
            if fp != self._seen:
                self._seen = fp
                try:
                    matcher, count = self._load()
                except RuleError as e:
                    if self._matcher is None:
                        raise
                    log.error("rules not reloaded, the previous ones stay in force: %s", e)
                else:
                    self._matcher = matcher
                    log.info("rules loaded: %d rules from %s", count, self.path)
            return self._matcher

    def _load(self):
        from monitor.core.matching import compile_rules
        from monitor.core.rules import load_rules
        from monitor.core.types import Document

        try:
            ruleset = load_rules(self.path, channels=self.channels)
            matcher = compile_rules(ruleset.rules, entities=ruleset.entities, checker=self.checker,
                                    **self.limits)
            matcher.match(Document(title=SAMPLE_TITLE, text=SAMPLE_TEXT, language="fr"))
        except RuleError:
            raise
        except (ArithmeticError, AssertionError, AttributeError, LookupError, RuntimeError, TypeError,
                ValueError, MemoryError, MonitorError) as e:
            # Not a validation error, but these rules made it happen (a bug shows in the log
            # with its type): refuse them rather than fail every article. Not a bare Exception:
            # a task's soft time limit firing here must not pass for a broken rule set.
            raise RuleError(f"refused: {type(e).__name__}: {' '.join(str(e).split())[:300]}",
                            path=str(self.path)) from e
        return matcher, len(ruleset.rules)


class Services:
    """The store, fetcher, notifier and rules of one process, built lazily."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._feeds_seen: tuple | None = None
        self._pid = os.getpid()

    @cached_property
    def store(self):
        from monitor.adapters.store import Store

        return Store.open(self.settings.effective_database_url)

    @cached_property
    def fetcher(self):
        from monitor.adapters.fetch import HttpFetcher

        return HttpFetcher(timeout=self.settings.fetch_timeout, allow=self.settings.allow_networks)

    @cached_property
    def notifier(self):
        from monitor.adapters.notify import AppriseNotifier

        return AppriseNotifier(self.settings.channel_urls, secrets=self.settings.secrets,
                               locate=self.settings.locate)

    @cached_property
    def rules(self) -> RuleSource:
        from monitor.adapters.ner import load_checker

        return RuleSource(self.settings.rules_path, self.settings.channels,
                          load_checker(self.settings.entity_models),
                          limits={"max_chars": self.settings.match_max_chars,
                                  "max_occurrences": self.settings.match_max_occurrences})

    def sync_feeds(self, *, force: bool = False) -> bool:
        """Load the feeds file into the store when it changed; True if it did."""
        fp = _fingerprint(Path(self.settings.feeds_path))
        if not force and fp == self._feeds_seen:
            return False
        try:
            specs = load_feeds(self.settings.feeds_path)
        except MonitorError:
            self._feeds_seen = fp  # read a broken file once per change, not at every tick
            raise
        self.store.sync_feeds(specs, default_interval=self.settings.default_interval)
        # Each worker process loads the file once when it starts: said when asked (the
        # commands that start the service) or when the file changed, not once per process.
        changed = force or self._feeds_seen is not None
        self._feeds_seen = fp
        log.log(logging.INFO if changed else logging.DEBUG, "feeds loaded: %d from %s", len(specs),
                self.settings.feeds_path)
        return True

    def check(self) -> None:
        """Fail fast on bad configuration: rules, channels, feeds, templates and database."""
        self.notifier
        if self.settings.ops_channel and self.settings.ops_channel not in self.settings.channels:
            from monitor.core.errors import ConfigError

            raise ConfigError(f"unknown channel {self.settings.ops_channel!r} (configured: "
                              f"{', '.join(sorted(self.settings.channels)) or 'none'})", field="ops_channel",
                              **self.settings.locate("ops_channel"))
        if self.settings.templates is not None:
            from datetime import datetime, timezone

            from monitor.core.render import render_alert, render_digest
            from monitor.core.types import AlertContent, Hit

            sample = AlertContent(rule="r", terms=("OTAN",), title="OTAN", link="https://example.org/",
                                  feed="f", published=datetime.now(timezone.utc), text="OTAN",
                                  hits=(Hit("text", 0, 4, "OTAN"),))
            for fmt in ("text", "markdown", "html"):  # a broken user template fails here, not at send time
                render_alert(sample, fmt, templates=self.settings.templates)
                render_digest("c", [sample], fmt, templates=self.settings.templates)
        self.rules.matcher()
        load_feeds(self.settings.feeds_path)
        self.store

"""The rule tester: pasted rules run on a pasted (or fetched) article, or backtested.

:func:`parse_pasted_rules` and :func:`match_document` are pure. :func:`fetch_document`
uses the fetcher it is given (the real one honours the settings' allow list and
the address guard); :func:`backtest` reads a bounded number of stored articles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from monitor.adapters.fetch import Fetcher
from monitor.core.errors import ConfigError, MonitorError, RuleError
from monitor.core.matching import compile_rules
from monitor.core.rules import Rule, parse_rules
from monitor.core.types import Document, Hit, Match
from monitor.core.yamlfile import parse_yaml
from monitor.web.pool import Stopped

MAX_RULE_CHARS = 64_000
MAX_RULES = 100
MAX_TEXT_CHARS = 1_000_000
MAX_TITLE_CHARS = 2_000
BACKTEST_DEFAULT = 1_000
BACKTEST_MAX = 5_000
BACKTEST_SAMPLES = 50


class InputTooLarge(MonitorError, ValueError):
    """A pasted value is over its limit; ``param`` names it."""

    def __init__(self, message: str, *, param: str):
        self.param, self.message = param, message
        super().__init__(f"{param}: {message}")


def _check_size(param: str, value: str, limit: int, what: str) -> None:
    if len(value) > limit:
        raise InputTooLarge(f"the {what} is {len(value):,} characters; the limit is {limit:,}", param=param)


def parse_pasted_rules(text: str) -> list[Rule]:
    """Rules from pasted YAML: a ``rules:`` list, or a single rule mapping, or a list of rules.

    Pure. Raises InputTooLarge (over MAX_RULE_CHARS or MAX_RULES) and RuleError,
    located at ``pasted:line:col``; channels are not checked against the configuration.
    """
    _check_size("rules", text, MAX_RULE_CHARS, "rule text")
    if not text.strip():
        raise RuleError("paste at least one rule", path="pasted")
    try:
        rules = parse_rules(text, "pasted")
    except RuleError as first:
        # a bare rule or a bare list is friendlier to paste; try it wrapped
        try:
            data = parse_yaml(text, "pasted").data
        except ConfigError:
            raise first from None
        if isinstance(data, dict) and "rules" not in data:
            wrapped = "rules:\n" + "\n".join("  " + ("- " if i == 0 else "  ") + line
                                             for i, line in enumerate(text.strip("\n").splitlines()))
        elif isinstance(data, list):
            wrapped = "rules:\n" + "\n".join("  " + line for line in text.strip("\n").splitlines())
        else:
            raise
        try:
            rules = parse_rules(wrapped, "pasted")
        except RuleError:
            raise first from None
    if not rules:
        raise RuleError("the 'rules:' list is empty", path="pasted")
    if len(rules) > MAX_RULES:
        raise InputTooLarge(f"{len(rules)} rules; the limit is {MAX_RULES}", param="rules")
    return rules


def check_document(title: str, text: str) -> None:
    """Raises InputTooLarge when the title or text is over its limit."""
    _check_size("title", title, MAX_TITLE_CHARS, "title")
    _check_size("text", text, MAX_TEXT_CHARS, "text")


@dataclass(frozen=True)
class TesterResult:
    rules: tuple[Rule, ...]
    matches: tuple[Match, ...]

    @property
    def missed(self) -> tuple[str, ...]:
        found = {m.rule for m in self.matches}
        return tuple(r.name for r in self.rules if r.name not in found)


def match_document(rules: list[Rule], doc: Document, *, checker=None) -> TesterResult:
    """Which of ``rules`` match ``doc``, with their hits (entity mentions double-checked by
    ``checker`` when given, as the workers do). Pure."""
    return TesterResult(tuple(rules), tuple(compile_rules(rules, checker=checker).match(doc)))


@dataclass(frozen=True)
class Fetched:
    url: str
    title: str
    text: str


def fetch_document(url: str, *, fetcher: Fetcher) -> Fetched:
    """Fetch a page and extract its title and main text.

    Raises FeedError (FetchError, BlockedAddressError) from the fetcher, and
    ValueError when the page has no text to extract.
    """
    got = fetcher.fetch(url)
    ctype = got.headers.get("content-type", "").lower()
    if ctype.startswith("text/plain"):
        charset = ctype.split("charset=", 1)[1].split(";")[0].strip() if "charset=" in ctype else "utf-8"
        try:
            body = got.body.decode(charset, "replace")
        except LookupError:
            body = got.body.decode("utf-8", "replace")
        lines = [line.strip() for line in body.splitlines() if line.strip()]
        return Fetched(got.url, lines[0][:MAX_TITLE_CHARS] if lines else "", body[:MAX_TEXT_CHARS])
    from monitor.adapters.fulltext import extract_main_text

    text = extract_main_text(got.body, url=got.url)
    if not text:
        raise ValueError(f"{url}: no article text found in the page")
    title = ""
    try:
        import trafilatura

        meta = trafilatura.extract_metadata(got.body.decode("utf-8", "replace"), default_url=got.url)
        title = (meta.title or "") if meta else ""
    except Exception:  # metadata is a nicety; the text is what matters
        title = ""
    return Fetched(got.url, title[:MAX_TITLE_CHARS], text[:MAX_TEXT_CHARS])


@dataclass(frozen=True)
class BacktestHit:
    article_id: int
    title: str
    url: str
    feed: str
    published: datetime | None
    rule: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    text: str
    stored: bool  # the stored rule of that name matched this article too


@dataclass(frozen=True)
class BacktestResult:
    scanned: int
    limit: int
    days: int | None
    counts: dict[str, int]  # rule -> articles matched among those scanned
    stored_counts: dict[str, int]  # rule -> of those scanned, articles the stored rule of that name matched
    samples: tuple[BacktestHit, ...]  # the newest BACKTEST_SAMPLES matches


def backtest(rules: list[Rule], engine, *, limit: int = BACKTEST_DEFAULT, days: int | None = None,
             now: datetime | None = None, checker=None, stopped: Callable[[], bool] | None = None) -> BacktestResult:
    """Run ``rules`` over the newest ``limit`` stored articles (of the last ``days`` days).

    Reads articles in chunks; keeps counts and the newest matches. Compares
    with what the stored rule of the same name matched, so a tuned rule shows
    what it would add or lose. Raises ValueError for limits out of range, and
    Stopped once ``stopped()`` is true (looked at before reading and before matching each article).
    """
    from monitor.adapters.store.backtest import matched_rules, recent_articles

    if not 1 <= limit <= BACKTEST_MAX:
        raise ValueError(f"limit must be between 1 and {BACKTEST_MAX}")
    if days is not None and not 1 <= days <= 3650:
        raise ValueError("days must be between 1 and 3650")
    now = now or datetime.now(timezone.utc)
    since = now - timedelta(days=days) if days else None
    matcher = compile_rules(rules, checker=checker)
    names = {r.name for r in rules}
    counts = {r.name: 0 for r in rules}
    stored_counts = {r.name: 0 for r in rules}
    found: list[tuple] = []
    scanned = 0
    batch: list = []

    def flush():
        stored = matched_rules(engine, [a.id for a in batch])
        for a in batch:
            if stopped is not None and stopped():
                raise Stopped(f"backtest stopped after {scanned} articles")
            mine = stored.get(a.id, set())
            for name in mine & names:
                stored_counts[name] += 1
            for m in matcher.match(a.document()):
                counts[m.rule] += 1
                if len(found) < BACKTEST_SAMPLES:
                    found.append(BacktestHit(a.id, a.title, a.url, a.feed, a.published, m.rule, m.terms, m.hits,
                                             a.text, m.rule in mine))
        batch.clear()

    for article in recent_articles(engine, limit=limit, since=since):
        if stopped is not None and stopped():
            raise Stopped(f"backtest stopped after {scanned} articles")
        scanned += 1
        batch.append(article)
        if len(batch) >= 250:
            flush()
    flush()
    return BacktestResult(scanned, limit, days, counts, stored_counts, tuple(found))

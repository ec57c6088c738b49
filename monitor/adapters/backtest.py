"""Run rules over stored articles: what would have alerted, and what a rule change does.

:func:`backtest` is pure (it reads the articles it is handed and matches them);
:func:`stored_articles` is the adapter that streams articles out of the store
in pages, so a backtest over months of history runs in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from monitor.core.types import Match, StoredArticle

__all__ = ["RuleOutcome", "BacktestReport", "backtest", "stored_articles"]


@dataclass(frozen=True)
class Example:
    """One article that a rule matched (or stopped matching)."""

    article_id: int
    title: str
    url: str
    terms: tuple[str, ...] = ()


@dataclass
class RuleOutcome:
    """What one rule did over the articles: matches, and against the old rules the difference."""

    rule: str
    matched: int = 0
    gained: int = 0  # matched now, not by the old rules
    lost: int = 0  # matched by the old rules, not now
    examples: list[Example] = field(default_factory=list)  # of matches (no old rules) or of gains
    lost_examples: list[Example] = field(default_factory=list)


@dataclass
class BacktestReport:
    """The outcome of a backtest, per rule name, in rule order (new rules first)."""

    articles: int = 0
    rules: dict[str, RuleOutcome] = field(default_factory=dict)
    compared: bool = False

    @property
    def matched(self) -> int:
        return sum(r.matched for r in self.rules.values())

    @property
    def gained(self) -> int:
        return sum(r.gained for r in self.rules.values())

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.rules.values())

    def as_dict(self) -> dict:
        return {
            "articles": self.articles, "matched": self.matched, "gained": self.gained, "lost": self.lost,
            "rules": [{"rule": r.rule, "matched": r.matched, "gained": r.gained, "lost": r.lost,
                       "examples": [e.__dict__ for e in r.examples],
                       "lost_examples": [e.__dict__ for e in r.lost_examples]}
                      for r in self.rules.values()],
        }


def _example(article: StoredArticle, m: Match | None) -> Example:
    return Example(article.id, article.title, article.url, m.terms if m else ())


def backtest(articles: Iterable[StoredArticle], matcher, old_matcher=None, *,
             examples: int = 3) -> BacktestReport:
    """Match every article with ``matcher`` (and ``old_matcher`` when given) and count,
    per rule, the matches and (with ``old_matcher``) the gains and losses, keeping up
    to ``examples`` articles of each. Pure apart from reading ``articles``; never raises
    for an article (a matcher never does)."""
    report = BacktestReport(compared=old_matcher is not None)
    for rule in matcher.rules:
        report.rules.setdefault(rule.name, RuleOutcome(rule.name))
    if old_matcher is not None:
        for rule in old_matcher.rules:
            report.rules.setdefault(rule.name, RuleOutcome(rule.name))
    for article in articles:
        report.articles += 1
        doc = article.document()
        new = {m.rule: m for m in matcher.match(doc)}
        old = {m.rule: m for m in old_matcher.match(doc)} if old_matcher is not None else None
        for name, m in new.items():
            out = report.rules.setdefault(name, RuleOutcome(name))
            out.matched += 1
            if old is None:
                if len(out.examples) < examples:
                    out.examples.append(_example(article, m))
            elif name not in old:
                out.gained += 1
                if len(out.examples) < examples:
                    out.examples.append(_example(article, m))
        for name, m in (old or {}).items():
            if name not in new:
                out = report.rules.setdefault(name, RuleOutcome(name))
                out.lost += 1
                if len(out.lost_examples) < examples:
                    out.lost_examples.append(_example(article, m))
    return report


def stored_articles(store, *, since: datetime | None = None, page: int = 500) -> Iterator[StoredArticle]:
    """Stream the stored articles fetched at or after ``since``, oldest id first, reading
    ``page`` rows per query. Database errors pass through (sqlalchemy's)."""
    from monitor.adapters.store.backtest import stored_articles as read

    return read(store.engine, since=since, page=page)

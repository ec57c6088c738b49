"""Compile keyword rules once, then match documents against all of them.

Pure: :func:`compile_rules` and :meth:`Matcher.match` compute from their
arguments and touch nothing outside themselves.

Every distinct term of every enabled rule is indexed by its first folded word
(or, for a one-word wildcard, by its prefix), so matching a document costs one
tokenization per field plus a few dictionary look-ups per token; only the
rules whose terms occur in the document are then evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .rules import Rule, TermPattern, parse_term
from .text import Token, tokenize
from .types import Document, Hit, Match

__all__ = ["Matcher", "compile_rules", "FIELDS"]

#: Document fields searched, in the order their hits are reported.
FIELDS = ("title", "text")

_ANY, _ALL, _NONE = "any", "all", "none"


@dataclass(frozen=True)
class _Owner:
    rule: int  # index into Matcher.rules
    term: int  # index into that rule's _Compiled.terms


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    terms: tuple[str, ...]  # any terms, then all terms, then none terms, as written
    roles: tuple[str, ...]
    languages: tuple[str, ...]
    feeds: frozenset[str]
    feed_tags: frozenset[str]

    def passes_filters(self, doc: Document) -> bool:
        if self.languages and doc.language is not None:
            lang = doc.language.lower().replace("_", "-")
            if not any(lang == want or lang.startswith(want + "-") for want in self.languages):
                return False
        if self.feeds and doc.feed not in self.feeds:
            return False
        if self.feed_tags and not (self.feed_tags & doc.tags):
            return False
        return True


def _compile(rule: Rule) -> _Compiled:
    kw = rule.keywords
    terms = kw.any + kw.all + kw.none
    roles = (_ANY,) * len(kw.any) + (_ALL,) * len(kw.all) + (_NONE,) * len(kw.none)
    languages = tuple(lang.lower().replace("_", "-") for lang in rule.languages)
    return _Compiled(rule, terms, roles, languages, frozenset(rule.feeds), frozenset(rule.feed_tags))


def _ends_at(pattern: TermPattern, norms: list[str], i: int) -> int:
    """Index of the last token of ``pattern`` occurring at ``norms[i]``, or -1."""
    words = pattern.words
    last = i + len(words) - 1
    if last >= len(norms):
        return -1
    for k in range(1, len(words) - 1):
        if norms[i + k] != words[k]:
            return -1
    if len(words) > 1:
        tail = norms[last]
        if not (tail.startswith(words[-1]) if pattern.prefix else tail == words[-1]):
            return -1
    return last


class Matcher:
    """Rules compiled for matching. Build with :func:`compile_rules`; never mutated."""

    __slots__ = ("rules", "_compiled", "_patterns", "_owners", "_by_word", "_by_prefix",
                 "_prefix_lengths")

    def __init__(self, rules: Iterable[Rule]):
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._compiled = tuple(_compile(r) for r in self.rules)
        ids: dict[TermPattern, int] = {}
        self._patterns: list[TermPattern] = []
        self._owners: list[list[_Owner]] = []
        # Patterns keyed by their first word; one-word wildcards by their prefix.
        self._by_word: dict[str, list[int]] = {}
        self._by_prefix: dict[str, list[int]] = {}
        for r, comp in enumerate(self._compiled):
            if not comp.rule.enabled:
                continue
            for t, term in enumerate(comp.terms):
                pattern = parse_term(term)
                pid = ids.get(pattern)
                if pid is None:
                    pid = ids[pattern] = len(self._patterns)
                    self._patterns.append(pattern)
                    self._owners.append([])
                    if pattern.prefix and len(pattern.words) == 1:
                        self._by_prefix.setdefault(pattern.words[0], []).append(pid)
                    else:
                        self._by_word.setdefault(pattern.words[0], []).append(pid)
                self._owners[pid].append(_Owner(r, t))
        self._prefix_lengths = sorted({len(p) for p in self._by_prefix})

    def __repr__(self) -> str:
        return f"<Matcher {len(self.rules)} rules, {len(self._patterns)} distinct terms>"

    def _occurrences(self, tokens: list[Token]) -> Iterable[tuple[int, int, int]]:
        """(pattern id, start token, end token) of every term occurrence."""
        norms = [t.norm for t in tokens]
        by_word, by_prefix, lengths = self._by_word, self._by_prefix, self._prefix_lengths
        for i, norm in enumerate(norms):
            for pid in by_word.get(norm, ()):
                last = _ends_at(self._patterns[pid], norms, i)
                if last >= 0:
                    yield pid, i, last
            for n in lengths:
                if n > len(norm):
                    break
                for pid in by_prefix.get(norm[:n], ()):
                    yield pid, i, i

    def match(self, doc: Document) -> list[Match]:
        """Return a :class:`~monitor.types.Match` for every rule ``doc`` satisfies, in rule order.

        A rule matches when it is enabled; its language, feed and feed-tag
        filters pass (a document without a language passes the language
        filter); each ``all`` term occurs; some ``any`` term occurs (if it has
        any); no ``none`` term occurs; and its ``any``/``all`` terms occur in at
        least ``min_mentions`` distinct places. Hits are distinct spans, title
        first, then by position, each with character offsets into the original
        field and the rule's first term found there; ``Match.terms`` lists every
        matched term in order of first occurrence. Pure; never raises.
        """
        # rule index -> [(field, start, end, term index)], in document order
        found: dict[int, list[tuple[int, int, int, int]]] = {}
        for f, name in enumerate(FIELDS):
            tokens = tokenize(getattr(doc, name) or "")
            for pid, first, last in self._occurrences(tokens):
                start, end = tokens[first].start, tokens[last].end
                for owner in self._owners[pid]:
                    found.setdefault(owner.rule, []).append((f, start, end, owner.term))
        matches = []
        for r in sorted(found):
            m = self._evaluate(self._compiled[r], found[r], doc)
            if m is not None:
                matches.append(m)
        return matches

    @staticmethod
    def _evaluate(comp: _Compiled, found: list[tuple[int, int, int, int]],
                  doc: Document) -> Match | None:
        if not comp.passes_filters(doc):
            return None
        roles = comp.roles
        hit_terms = {t for *_, t in found}
        if any(roles[t] == _NONE for t in hit_terms):
            return None
        if any(role == _ALL and t not in hit_terms for t, role in enumerate(roles)):
            return None
        if _ANY in roles and not any(roles[t] == _ANY for t in hit_terms):
            return None
        found = sorted(found)
        spans: dict[tuple[int, int, int], int] = {}
        for f, start, end, t in found:
            spans.setdefault((f, start, end), t)
        if len(spans) < comp.rule.min_mentions:
            return None
        terms = tuple(dict.fromkeys(comp.terms[t] for *_, t in found))
        hits = tuple(Hit(FIELDS[f], start, end, comp.terms[t]) for (f, start, end), t in spans.items())
        return Match(comp.rule.name, terms, hits, comp.rule.channels)


def compile_rules(rules: Iterable[Rule]) -> Matcher:
    """Compile ``rules`` into a :class:`Matcher`; disabled rules are kept but never match.

    Pure; raises ValueError only if a rule holds a term that
    :func:`monitor.rules.parse_term` rejects (a validated Rule never does).
    """
    return Matcher(rules)

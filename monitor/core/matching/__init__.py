"""Compile rules once, then match documents against all of them in one pass.

Pure: :func:`compile_rules` and :meth:`Matcher.match` compute from their
arguments and touch nothing outside themselves (lemmatizing entity names
reads simplemma's packaged dictionaries once).

How it works. Every field of a document is turned into its *stream*: its
folded words (see :mod:`monitor.core.text`) joined by single spaces, with a space
at each end. Every distinct term of every rule, keyword, query term and
entity alias alike, is one key of an Aho-Corasick automaton (pyahocorasick)
over that stream: ``" royaume uni "`` for a phrase, ``" ukrain"`` for a
prefix. One scan of the stream finds every occurrence of every term that can
bring a rule into play (a key one of which a rule needs), so the cost per
article hardly grows with the number of rules; only the rules whose keys
occurred are then evaluated, and only the hits of rules that matched are
mapped back to character offsets of the original text. The other keys
(negated terms, the names of an entity a rule only needs besides a rarer
term, exclusions) are in a second automaton, whose scan only an article
bringing such a rule into play pays for: common names like "Ukraine" or
"Canada" occur in most articles, and most articles would pay for recording
their every occurrence for nothing.

Latin-script text (every character in the codec of
:func:`monitor.core.text.encode_fast`: nearly all French and English) is not even
turned into a stream. hyperscan scans it folded one byte per character,
separators blanked and elisions kept, for every one-word key as a literal;
occurrences are then spans of the text itself, so mapping them back costs
nothing. A key that elisions can affect (a phrase, whose words an elided
"l'" may separate, or a word like "qu" that may itself be elided) has only a
*candidate* there, its longest word: the field's stream is built when a
candidate occurs, or when NEAR needs to count words, and the key is looked
up in it. Other text, and all text where hyperscan is missing, goes through
the automaton over the stream (built with a handful of C-level string
operations for Latin text, by :func:`monitor.core.text.tokenize` otherwise). All
give the same matches: tests/test_matcher.py checks each engine against a
straightforward evaluator.

Modules: :mod:`.fields` (a document's fields, their streams, occurrences and
spans), :mod:`.literals` (scanning: hyperscan literals and the automata),
:mod:`.compiler` (rules into programs, atoms and keys), :mod:`.evaluate` (one
document's run through the programs); here, :class:`Matcher`, which puts them
together and makes the matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.core.entities import EntityCatalog, default_entities
from monitor.core.matching.compiler import (EntityChecker, _Builder, _Compiled, alts_by_key, automata,
                                            rule_triggers, simple_form)
from monitor.core.matching.evaluate import _Run
from monitor.core.matching.fields import (FIELDS, MATCH_MAX_CHARS, MATCH_MAX_OCCURRENCES, Occ, _FastField, _Field,
                                          _found, _OverBudget, stream_of)
from monitor.core.matching.literals import _Literals, hyperscan, scan_field
from monitor.core.rules import Rule
from monitor.core.text import encode_fast
from monitor.core.types import Document, Hit, Match, MatchOutcome, tuple_builder

__all__ = ["Matcher", "EntityChecker", "compile_rules", "FIELDS", "stream_of", "MATCH_MAX_CHARS",
           "MATCH_MAX_OCCURRENCES"]

# The named tuples the matcher makes, without the Python-level __new__ of their classes (a
# few dozen per article); made where the tuples are written, so a field added to one of them
# stops this module from loading until they are updated.
_new_hit = tuple_builder(Hit, "field", "start", "end", "term")
_new_match = tuple_builder(Match, "rule", "terms", "hits", "channels", "delivery", "per_hour")
_new_outcome = tuple_builder(MatchOutcome, "matches", "prefix", "examined")

#: Fields longer than this (characters) are scanned counting their occurrences.
_LONG_FIELD = 16_384


class Matcher:
    """Rules compiled for matching. Build with :func:`compile_rules`; never mutated."""

    __slots__ = ("rules", "entities", "_compiled", "_automaton", "_side", "_side_keys", "_patterns",
                 "_key_info", "_atoms", "_triggers", "_cased", "_alts_by_key", "checker", "_simple",
                 "_filtered", "_key_strings", "_literals", "_side_literals", "_candidates", "max_chars",
                 "max_occurrences")

    def __init__(self, rules: Iterable[Rule], entities: EntityCatalog | None = None,
                 checker: EntityChecker | None = None, accelerate: bool = True, *,
                 max_chars: int = MATCH_MAX_CHARS, max_occurrences: int = MATCH_MAX_OCCURRENCES):
        if max_chars < 1 or max_occurrences < 1:
            raise ValueError("max_chars and max_occurrences must be at least 1")
        self.max_chars, self.max_occurrences = max_chars, max_occurrences
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.checker = checker
        if entities is None:
            entities = getattr(rules, "entities", None) or default_entities()
        self.entities = entities
        builder = _Builder(entities)
        self._compiled = tuple(builder.compile(r) for r in self.rules)
        self._patterns = builder.key_patterns
        self._atoms = builder.atom_list
        # The words each case-sensitive term wants, once, not at each of its occurrences.
        self._cased = {alt: alt.cased_words for atom in self._atoms for alt in atom.alts if alt.case}
        self._alts_by_key = alts_by_key(self._atoms)
        self._triggers = rule_triggers(self._compiled, self._atoms)
        self._simple = [simple_form(comp.program, self._atoms) for comp in self._compiled]
        self._filtered = [bool(c.languages or c.feeds or c.feed_tags) for c in self._compiled]
        self._automaton, self._side, self._side_keys = automata(builder.keys, self._triggers)
        self._key_strings = list(builder.keys)  # in key id order
        # Latin-script fields are scanned by hyperscan instead (see _FastField).
        self._literals = self._side_literals = None
        self._candidates: dict[int, list[int]] = {}
        candidate_of = self._accelerate(builder.keys) if accelerate and hyperscan is not None else {}
        self._key_info = [(len(self._key_strings[kid]), p.prefix, candidate_of.get(kid))
                          for kid, p in enumerate(self._patterns)]

    def _accelerate(self, keys: dict[str, int]) -> dict[int, int]:
        """Make the hyperscan literals of the keys (``keys``: key string -> id) that trigger
        rules and of the side keys; return the id of each key's candidate (see _Literals).
        Where hyperscan refuses (e.g. on a processor it does not support), make none: the
        automata scan every field."""
        try:
            main = _Literals({s: k for s, k in keys.items() if k in self._triggers}, len(self._patterns))
            side = None if self._side is None else _Literals(
                {s: k for s, k in keys.items() if k in self._side_keys}, main.next_id)
        except hyperscan.error:
            return {}
        self._literals, self._side_literals = main, side
        candidate_of: dict[int, int] = {}  # key id -> its candidate's id
        for lit in filter(None, (main, side)):
            self._candidates.update(lit.candidates)
            candidate_of.update(lit.candidate_of)
        return candidate_of

    def __repr__(self) -> str:
        return f"<Matcher {len(self.rules)} rules, {len(self._patterns)} distinct terms>"

    def _scan(self, texts: tuple[str, str]) -> tuple[list[_Field | _FastField], list[dict[int, list[int]]],
                                                     set[int], set[int]]:
        """Each field (``texts``, in the order of FIELDS), and per field where each key that
        triggers rules occurred; the keys that occurred, and those that may have."""
        fields: list[_Field | _FastField] = []
        for text in texts:
            raw = encode_fast(text)
            if raw is not None and self._literals is not None:
                fields.append(_FastField(text, raw))
            else:
                fields.append(_Field(text, raw))
        ends: list[dict[int, list[int]]] = [{}, {}]
        keys: set[int] = set()
        maybe: set[int] = set()
        if self._triggers:
            for fld, found in zip(fields, ends):
                # Scanning a long field stops once it alone is past the budget: its
                # occurrences are not even all collected (an ordinary field is not counted
                # occurrence by occurrence), and where it stopped is where the field ran out
                # of budget. Counting the title's occurrences against the text's limit would
                # stop the text at once after a title full of terms, and cut both to nothing.
                limit = self.max_occurrences if len(fld.text) > _LONG_FIELD else None
                scan_field(fld, found, self._automaton, self._literals, self._candidates, keys, maybe, limit)
        return fields, ends, keys, maybe

    def match(self, doc: Document) -> list[Match]:
        """Return a :class:`~monitor.core.types.Match` for every rule ``doc`` satisfies, in rule order.

        The matches of :meth:`match_bounded`: of a prefix of ``doc`` when it
        is too long or holds too many terms to examine.

        A rule matches when it is enabled; its language, feed and feed-tag
        filters pass (a document without a language passes the language
        filter); its condition holds (keywords: each ``all`` term occurs, some
        ``any`` term occurs if it has any, no ``none`` term occurs; query: the
        boolean expression; entities: one of them is mentioned); and its
        reported terms occur in at least ``min_mentions`` distinct places.
        Reported terms are the occurrences that made the condition true (not
        negated terms, not the branches of an OR that failed, for NEAR only the
        occurrences close enough). Hits are distinct spans, title first, then
        by position, each with character offsets into the original field and
        the rule's first term found there; ``Match.terms`` lists every matched
        term in order of first occurrence, as the rule writes it, but for an
        entity: its mentions as the document writes them ("Ukraine",
        "ukrainienne"; blanks made one space), each once. Pure; never raises.
        """
        return self.match_bounded(doc)[0]

    def match_bounded(self, doc: Document) -> MatchOutcome:
        """The matches of ``doc`` (see :meth:`match`), and how much of it they come from.

        Matching looks at the first ``max_chars`` characters of each field at
        most, and examines ``max_occurrences`` occurrences of terms at most
        (see :class:`~monitor.core.types.MatchOutcome`); past either, it matches a
        prefix of each field instead, cut back to a blank (the longest field
        shortened, by half or more, until its occurrences fit), and ``prefix``
        says how long. So
        its cost stays linear in the text and bounded, whatever an article's
        author wrote. Pure; never raises.
        """
        title, text = doc.title or "", doc.text or ""
        limit = self.max_chars
        prefix = None
        if len(title) > limit or len(text) > limit:
            prefix = limit
        while True:
            if prefix is not None:
                title, text = _cut(title, prefix), _cut(text, prefix)
            try:
                matches, examined = self._match(doc, (title, text))
            except _OverBudget as e:
                longest = max(len(title), len(text))
                if len(e.args) > 1:
                    # A scan stopped with the budget spent at e.args[1]: half of that
                    # leaves room for the rest of the work.
                    prefix = e.args[1] // 2
                else:
                    # As much text as should fit, going by how far over it was, and at most
                    # half as much.
                    prefix = int(longest * min(0.5, 0.8 * self.max_occurrences / e.args[0]))
                # Shorter each time, and empty fields have no occurrences: this ends.
                prefix = min(prefix, longest - 1)
                continue
            return _new_outcome((matches, prefix, examined))

    def _match(self, doc: Document, texts: tuple[str, str]) -> tuple[list[Match], int]:
        """The matches of ``doc`` with ``texts`` as its fields, and the occurrences
        examined; raises _OverBudget past ``max_occurrences``."""
        fields, ends, keys, maybe = self._scan(texts)
        examined = _found(ends)
        if examined > self.max_occurrences:
            raise _OverBudget(examined)
        if not keys and not maybe:
            return [], examined
        touched: set[int] = set()
        triggers = self._triggers
        for kid in keys:
            touched.update(triggers[kid])
        for kid in maybe:
            touched.update(triggers[kid])
        run = _Run(self, fields, ends, keys, maybe, doc.language, examined, self.max_occurrences)
        # Where every field is a fast one, occurrences are text offsets already: each
        # match is made as soon as its rule holds. Otherwise the stream spans of every
        # rule's hits are mapped back together at the end (``pending``).
        fast = type(fields[0]) is _FastField and type(fields[1]) is _FastField
        matches: list[Match] = []
        pending: list[tuple] = []  # (rule, term indexes, (occurrence, term index) pairs), in rule order
        self._rules(doc, texts, run, sorted(touched), fast, matches, pending)
        if not pending:
            return matches, run.examined
        return _pending_matches(pending, fields, texts), run.examined

    def _rules(self, doc: Document, texts: tuple[str, str], run: _Run, touched: list[int], fast: bool,
               matches: list[Match], pending: list[tuple]) -> None:
        """Add to ``matches`` (``fast``) or to ``pending`` (not) what each rule of ``touched``
        (their indexes, in order) makes of ``run``. The per-rule loop of every match: the
        walk over a simple rule's keys and the hits of the common simple match stay inline
        (a call each would cost more than their work), the rest does not."""
        keys, maybe, key_occ, fields, ends = run.keys, run.maybe, run.key_occ, run.fields, run.ends
        filtered, simple_forms, compiled, key_info = self._filtered, self._simple, self._compiled, self._key_info
        for r in touched:
            comp = compiled[r]
            if filtered[r] and not comp.passes_filters(doc):
                continue
            simple = simple_forms[r]
            if simple is None:
                if not run.truth(comp.program):
                    continue
                ok, found = run.evaluate(comp.program)
                if not ok or not found:
                    continue
            else:
                # Each of its keys triggers it, so none waits in the side automaton.
                first, first_t = -1, 0  # the first key found, and its term
                found = None
                for key, t in simple:
                    if key in keys:
                        if first < 0:
                            first, first_t = key, t
                            continue
                        got = key_occ(key)
                    elif key in maybe:
                        got = key_occ(key)
                        if not got:
                            continue
                        if first < 0:
                            first, first_t = key, t
                            continue
                    else:
                        continue
                    if found is None:
                        found = [(o, first_t) for o in key_occ(first)]
                    found += [(o, t) for o in got]
                if first < 0:
                    continue
                if found is None:  # one key made it: its occurrences are distinct and in order
                    if not (fast and first in keys):
                        self._one_key(comp, first, first_t, run, fast, matches, pending)
                        continue
                    # The common case, inline: hits straight from the scan.
                    rule, word = comp.rule, comp.terms[first_t]
                    length, prefix, _ = key_info[first]
                    made = []
                    for f in (0, 1):
                        at = ends[f].get(first)
                        if at:
                            if prefix:  # to the end of the word
                                made += [_new_hit((FIELDS[f], s, e, word))
                                         for _, s, e in fields[f].occ(f, length, True, at)]
                            elif len(at) == 1:  # the most frequent case, without a comprehension's frame
                                made.append(_new_hit((FIELDS[f], at[0] - length, at[0] - 2, word)))
                            else:
                                made += [_new_hit((FIELDS[f], e - length, e - 2, word)) for e in at]
                    if len(made) >= rule.min_mentions:
                        matches.append(_new_match((rule.name, (word,), tuple(made), rule.channels, rule.delivery,
                                                   rule.per_hour)))
                    continue
            _holds(comp, found, texts, fast, matches, pending)

    def _one_key(self, comp: _Compiled, key: int, t: int, run: _Run, fast: bool, matches: list[Match],
                 pending: list[tuple]) -> None:
        """Add the match (``fast``) or the pending match of the simple rule ``comp``, all of
        whose hits are the occurrences of key ``key`` (its term index ``t``), when that key
        only may have occurred or not every field is fast (the common case is inline in
        :meth:`_rules`)."""
        rule = comp.rule
        if not fast:
            occ = run.key_occ(key)
            if len(occ) >= rule.min_mentions:
                pending.append((comp, (t,), [(o, t) for o in occ]))
            return
        word = comp.terms[t]
        made = [_new_hit((FIELDS[f], s, e, word)) for f, s, e in run.key_occ(key)]
        if len(made) >= rule.min_mentions:
            matches.append(_new_match((rule.name, (word,), tuple(made), rule.channels, rule.delivery,
                                       rule.per_hour)))


def _holds(comp: _Compiled, found: list[tuple[Occ, int]], texts: tuple[str, str], fast: bool,
           matches: list[Match], pending: list[tuple]) -> None:
    """Add the match (``fast``) or the pending match of ``comp``'s rule, which holds with
    the (occurrence, term index) pairs ``found``, if they are enough distinct spans."""
    found.sort()
    spans: dict[Occ, int] = {}  # each distinct span with its first term
    for o, t in found:
        spans.setdefault(o, t)
    if len(spans) < comp.rule.min_mentions:
        return
    terms = [t for _, t in found]
    if fast:
        said = _said(comp, found, texts, None) if comp.entity_terms else None
        matches.append(_made(comp, terms, [_new_hit((FIELDS[o[0]], o[1], o[2], comp.terms[t]))
                                           for o, t in spans.items()], said))
    else:
        pending.append((comp, found if comp.entity_terms else terms, list(spans.items())))


def _pending_matches(pending: list[tuple], fields: list[_Field | _FastField],
                     texts: tuple[str, str]) -> list[Match]:
    """The matches of ``pending`` (see Matcher._match), their stream spans mapped to text
    offsets once per field, for every rule's hits together."""
    at = sorted({o for _, _, hits in pending for o, _ in hits})
    where = {}
    for f, fld in enumerate(fields):
        mine = [o for o in at if o[0] == f]
        if mine:
            where.update(zip(mine, fld.spans([o[1:] for o in mine])))
    # (For a rule with entities, ``terms`` holds the (occurrence, term index) pairs found.)
    return [_made(comp, terms, [_new_hit((FIELDS[o[0]], *where[o], comp.terms[t])) for o, t in hits],
                  _said(comp, terms, texts, where) if comp.entity_terms else None)
            for comp, terms, hits in pending]


_BLANK = re.compile(r"\s")


def _cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters at most, cut before a blank so that no
    word is cut (cut at ``limit`` itself when the last 1,000 characters hold none)."""
    if len(text) <= limit:
        return text
    last = None
    for last in _BLANK.finditer(text, max(0, limit - 1000), limit + 1):
        pass
    return text[:last.start() if last is not None else limit]


def _made(comp: _Compiled, terms: list[int] | tuple[int, ...], hits: list[Hit],
          said: tuple[str, ...] | None = None) -> Match:
    """The match of ``comp``'s rule: its distinct terms (as written, in order of first
    occurrence) from the indexes ``terms``, or ``said`` when given, and its ``hits``."""
    rule = comp.rule
    if said is None:
        words = comp.terms
        said = tuple(dict.fromkeys([words[t] for t in terms]))
    return _new_match((rule.name, said, tuple(hits), rule.channels, rule.delivery, rule.per_hour))


def _said(comp: _Compiled, found: list[tuple[Occ, int]], texts: tuple[str, str],
          where: dict[Occ, tuple[int, int]] | None) -> tuple[str, ...]:
    """The distinct terms of the (occurrence, term index) pairs ``found``, in order: a term
    as the rule wrote it, an entity's mention as the text writes it (blanks made one space),
    since "entity:ukraine" tells a reader less than "Ukraine, ukrainienne". ``where`` maps
    stream occurrences to text offsets; None: occurrences are text offsets already."""
    entity, words = comp.entity_terms, comp.terms
    out = []
    for o, t in found:
        if t in entity:
            start, end = o[1:] if where is None else where[o]
            out.append(" ".join(texts[o[0]][start:end].split()))
        else:
            out.append(words[t])
    return tuple(dict.fromkeys(out))


def compile_rules(rules: Iterable[Rule], *, entities: EntityCatalog | None = None,
                  checker: EntityChecker | None = None, accelerate: bool = True,
                  max_chars: int = MATCH_MAX_CHARS, max_occurrences: int = MATCH_MAX_OCCURRENCES) -> Matcher:
    """Compile ``rules`` into a :class:`Matcher`; disabled rules are kept but never match.

    Entities are looked up in ``entities``; by default in the catalog the
    rules were loaded with (:func:`monitor.core.rules.load_rules`), else the
    shipped one. Pure; raises ValueError only if a rule holds a term or query
    that does not parse, or names an unknown entity (a Rule validated against
    the same catalog never does), or if a limit below is less than 1.

    ``checker`` (e.g. :class:`monitor.adapters.ner.SpacyChecker`) gets a say on every
    entity mention found: one it disagrees with does not count.

    ``accelerate=False`` leaves hyperscan out (the automaton scans every field):
    the same matches, at a higher cost on Latin-script text.

    ``max_chars`` (characters of each field) and ``max_occurrences``
    (occurrences of terms examined in one document) bound the work of a
    match: see :meth:`Matcher.match_bounded`.
    """
    return Matcher(rules, entities, checker, accelerate, max_chars=max_chars, max_occurrences=max_occurrences)

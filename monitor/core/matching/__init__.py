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
"Canada" occur in most articles, and recording their every occurrence for
nothing was a good part of the cost at 10,000 rules.

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
"""

from __future__ import annotations

import ctypes
import re
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import ahocorasick
import numpy as np

try:
    import hyperscan
except ImportError:  # pragma: no cover - wheels exist for the usual platforms
    hyperscan = None

from monitor.core.entities import EntityCatalog, default_entities, entity_terms
from monitor.core.query import And, EntityRef, Near, Node, Not, Term, TermPattern, parse_query, parse_term
from monitor.core.rules import Rule
from monitor.core.text import _FOLD_CASE, ELISIONS, encode_fast, fold_case, fold_encoded, tokenize, words_encoded
from monitor.core.types import Document, Hit, Match, MatchOutcome

__all__ = ["Matcher", "EntityChecker", "compile_rules", "FIELDS", "stream_of", "MATCH_MAX_CHARS",
           "MATCH_MAX_OCCURRENCES"]

#: Document fields searched, in the order their hits are reported.
FIELDS = ("title", "text")

#: Characters of each field a match looks at, by default (:meth:`Matcher.match_bounded`).
MATCH_MAX_CHARS = 200_000
#: Occurrences of terms one match may examine, by default: an article of a few KB examines a
#: few hundred at most (204 for the densest of bench/matching.py's, at 10,000 rules); 200 KB
#: of nothing but rule terms, tens of thousands.
MATCH_MAX_OCCURRENCES = 20_000

# Makes a named tuple (a Hit, a Match) without the Python-level __new__ that calling the
# class goes through: 0.13 µs against 0.34 here, with a few dozen made per article.
_new = tuple.__new__

# --- the stream of a text ---------------------------------------------------------------

class _Text:
    """What every field has: its text, the text in the codec of :func:`monitor.core.text.encode_fast`
    (None when the codec does not cover it), and word counts between its spans."""

    __slots__ = ("text", "_raw", "_cased")

    def __init__(self, text: str, raw: bytes | None):
        self.text, self._raw = text, raw
        self._cased: str | None = None

    def may_contain(self, probe: str) -> bool:
        """False when ``probe`` (folded, case kept) surely does not occur in the text."""
        if self._raw is None or not probe:
            return True
        if self._cased is None:
            self._cased = self._raw.translate(_FOLD_CASE).decode("ascii")
        return probe in self._cased

    def words_between(self, end: int, start: int) -> int:
        """Words between a span ending at ``end`` and one starting at ``start`` (no fewer
        as ``start`` grows, and no more as ``end`` does: NEAR relies on it)."""
        raise NotImplementedError


class _Field(_Text):
    """One field of a document: its stream, and how to map stream spans back to it.

    Occurrences in it are stream spans."""

    __slots__ = ("stream", "tokens", "_keep", "_kept", "_blanks")

    def __init__(self, text: str, raw: bytes | None):
        super().__init__(text, raw)
        self.tokens: list[tuple[int, int]] | None = None  # exact path: every token's offsets
        self._blanks: np.ndarray | None = None  # blanks before each stream position, once asked
        self._keep = None  # fast path: which characters of " " + the folded text the stream keeps
        self._kept = None  # fast path: where each character of the stream is in the text, once asked
        if raw is None:
            toks = tokenize(text)
            self.tokens = [(t.start, t.end) for t in toks]
            self.stream = " " + " ".join(t.norm for t in toks) + " " if toks else " "
            return
        aligned = fold_encoded(raw)  # the folded text, the length of ``text``
        # The stream is the aligned text behind a blank, keeping each character that is not
        # a blank or follows one that is not: blank runs squeezed to one, leading ones gone.
        # Vector operations: a third of the cost of splitting into words and joining them.
        padded = np.frombuffer(b" " + aligned, np.uint8)
        solid = padded != 32
        keep = solid.copy()
        keep[1:] |= solid[:-1]
        keep[0] = True
        self._keep = keep
        stream = padded[keep].tobytes().decode("ascii")
        self.stream = stream if stream.endswith(" ") else stream + " "

    def occ(self, f: int, length: int, prefix: bool, ends: list[int]) -> list[Occ]:
        """The occurrences (field ``f``, stream spans) of a key ``length`` long that the
        automaton found ending at ``ends``."""
        start = 2 - length
        if prefix:  # the occurrence runs to the end of the word
            stream = self.stream
            return [(f, e + start, stream.index(" ", e + 1)) for e in ends]
        return [(f, e + start, e) for e in ends]

    def find(self, key: str, prefix: bool) -> list[tuple[int, int]]:
        """The stream spans where ``key`` (a key string of the automaton) occurs."""
        stream, out = self.stream, []
        at = stream.find(key)
        while at >= 0:
            if prefix:
                out.append((at + 1, stream.index(" ", at + len(key))))
            else:
                out.append((at + 1, at + len(key) - 1))
            at = stream.find(key, at + 1)
        return out

    def blanks(self, start: int, end: int) -> int:
        """Blanks in ``stream[start:end]``: counted when the span is short, else looked up
        (NEAR and exclusion contexts may ask about far apart spans, once per occurrence)."""
        if end - start < 4096:
            return self.stream.count(" ", start, end)
        if self._blanks is None:
            stream = self.stream
            codes = (np.frombuffer(stream.encode("ascii"), np.uint8) if stream.isascii()
                     else np.frombuffer(stream.encode("utf-32-le"), np.uint32))
            blanks = np.zeros(len(stream) + 1, np.int64)
            np.cumsum(codes == 32, out=blanks[1:])
            self._blanks = blanks
        return int(self._blanks[end] - self._blanks[start])

    def words_between(self, end: int, start: int) -> int:
        return self.blanks(end, start) - 1

    def token_index(self, cpos: int) -> int:
        """Index of the token starting at stream position ``cpos``."""
        return self.blanks(0, cpos) - 1

    def span(self, cstart: int, cend: int) -> tuple[int, int]:
        """Character offsets in the original text of the stream span ``[cstart, cend)``."""
        return self.spans([(cstart, cend)])[0]

    def _indexes(self, pairs: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
        """Index of the first and of the last token of each stream span."""
        stream = self.stream
        firsts, lasts, k, pos = [], [], -1, 0  # counting blanks from one span to the next
        for cstart, cend in pairs:
            if cstart < pos:
                k, pos = -1, 0
            k += stream.count(" ", pos, cstart)
            pos = cstart
            firsts.append(k)
            lasts.append(k + stream.count(" ", cstart, cend))
        return firsts, lasts

    def spans(self, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Character offsets in the original text of the stream spans ``[cstart, cend)``."""
        if self.tokens is not None:
            firsts, lasts = self._indexes(pairs)
            return [(self.tokens[f][0], self.tokens[last][1]) for f, last in zip(firsts, lasts)]
        if self._kept is None:
            # Stream character i + 1 is the text's character kept[i]: once per field, however
            # many spans (and entity checks) ask.
            self._kept = self._keep[1:].nonzero()[0]
        kept = self._kept
        # A span starts at its first character and ends after its last, at cend - 1.
        if len(pairs) <= 8:
            return [(kept.item(cstart - 1), kept.item(cend - 2) + 1) for cstart, cend in pairs]
        at = np.array(pairs, np.int64).reshape(-1, 2)
        return list(zip(kept[at[:, 0] - 1].tolist(), (kept[at[:, 1] - 2] + 1).tolist()))


def stream_of(text: str) -> str:
    """The folded words of ``text`` joined by single spaces, with a space at each end. Pure."""
    return _Field(text, encode_fast(text)).stream


class _FastField(_Text):
    """A field of Latin-script text (one the codec of :func:`monitor.core.text.encode_fast` covers),
    scanned by hyperscan.

    Occurrences in it are spans of the text itself: its words are found in ``words``, the
    text folded one byte per character with every separator blanked, behind and before a
    blank. Elisions are still there ("l otan"), so a key whose word could be an elision, and
    a phrase, whose words elisions may separate, are only candidates there: they are looked
    up in the field's stream (:class:`_Field`), built when one of them is asked for. Word
    counts (for NEAR) come from the folded text with elisions blanked, built when asked.
    """

    __slots__ = ("words", "_exact", "_starts")

    def __init__(self, text: str, raw: bytes):
        super().__init__(text, raw)
        self.words = b" " + words_encoded(raw) + b" "
        self._exact: _Field | None = None
        self._starts: np.ndarray | None = None

    @property
    def exact(self) -> _Field:
        if self._exact is None:
            self._exact = _Field(self.text, self._raw)
        return self._exact

    def occ(self, f: int, length: int, prefix: bool, ends: list[int]) -> list[Occ]:
        """The occurrences (field ``f``, text spans) of a literal key ``length`` long that
        hyperscan found ending at ``ends`` (offsets into ``words``, one more than into the text)."""
        if prefix:  # the occurrence runs to the end of the word
            words = self.words
            return [(f, e - length, words.index(b" ", e) - 1) for e in ends]
        return [(f, e - length, e - 2) for e in ends]

    def find(self, f: int, key: str, prefix: bool) -> list[Occ]:
        """The occurrences (field ``f``, text spans) of ``key`` (a key string), looked up in
        the stream."""
        exact = self.exact
        found = exact.find(key, prefix)
        return [(f, *span) for span in exact.spans(found)] if found else []

    def starts_before(self) -> np.ndarray:
        """The number of words (elisions left out) starting before each offset of the text,
        and at its end."""
        if self._starts is None:
            solid = np.frombuffer(b" " + fold_encoded(self._raw), np.uint8) != 32
            starts = np.zeros(len(solid), np.int64)
            np.cumsum(solid[1:] & ~solid[:-1], out=starts[1:])
            self._starts = starts
        return self._starts

    def words_between(self, end: int, start: int) -> int:
        starts = self.starts_before()
        return int(starts[start] - starts[end])

    def token_index(self, pos: int) -> int:
        """Index of the word starting at ``pos``."""
        return int(self.starts_before()[pos])

    def span(self, start: int, end: int) -> tuple[int, int]:
        return start, end

    def spans(self, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return pairs


def _collect(kid: int, start: int, end: int, flags: int, found: dict[int, list[int]]) -> None:
    at = found.get(kid)
    if at is None:
        found[kid] = [end]
    else:
        at.append(end)


class _Literals:
    """Keys as hyperscan literals, for fast fields (:class:`_FastField`).

    A key of one word that no elision can be is a literal of its own, reported with its
    key id. Any other key (a phrase, or a word like "qu" or "jus*") has a *candidate*: its
    longest word as a literal, which occurs wherever the key does; the keys of a candidate
    found are then looked up in the stream. Keys outside ASCII never occur in a fast field
    and are left out.
    """

    def __init__(self, keys: dict[str, int], first_candidate: int):
        self.candidates: dict[int, list[int]] = {}  # candidate id -> its keys
        self.candidate_of: dict[int, int] = {}  # key id -> its candidate id
        literals: dict[str, int] = {}
        by_literal: dict[str, int] = {}
        for key, kid in keys.items():
            if not key.isascii():
                continue
            words = key.split()
            prefix = not key.endswith(" ")
            if len(words) == 1 and not _may_be_elision(words[0], prefix):
                literals[key] = kid
                continue
            longest = max(range(len(words)), key=lambda i: len(words[i]))
            literal = " " + words[longest] + ("" if prefix and longest == len(words) - 1 else " ")
            cid = by_literal.get(literal)
            if cid is None:
                cid = by_literal[literal] = first_candidate + len(by_literal)
                self.candidates[cid] = []
            self.candidates[cid].append(kid)
            self.candidate_of[kid] = cid
        exprs = [k.encode() for k in literals] + [k.encode() for k in by_literal]
        self.next_id = first_candidate + len(by_literal)
        self._db = None
        if exprs:
            self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            self._db.compile(expressions=exprs, ids=[*literals.values(), *by_literal.values()],
                             elements=len(exprs), literal=True)
            _give_back_heap()
        self._local = threading.local()  # a scratch space per thread

    def scan(self, data: bytes, found: dict[int, list[int]], limit: int | None = None) -> None:
        """Add to ``found`` the end offsets in ``data`` of every literal, by id; past ``limit``
        of them, stop and raise _OverBudget (with where it stopped, in ``data``)."""
        if self._db is None:
            return
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self._db)
        if limit is None:
            self._db.scan(data, match_event_handler=_collect, context=found, scratch=scratch)
            return
        count = [0, 0]  # occurrences, the last one's end

        def collect(kid: int, start: int, end: int, flags: int, found: dict[int, list[int]]) -> bool:
            _collect(kid, start, end, flags, found)
            count[0] += 1
            count[1] = end
            return count[0] > limit  # True stops the scan

        try:
            self._db.scan(data, match_event_handler=collect, context=found, scratch=scratch)
        except hyperscan.ScanTerminated:
            raise _OverBudget(count[0], count[1]) from None


def _give_back_heap() -> None:
    """Return to the system the heap hyperscan's compiler freed (glibc keeps it otherwise:
    about 25 MB after compiling 10,000 rules, for a database of 1.4 MB)."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only
    if trim is not None:
        trim(0)


def _may_be_elision(word: str, prefix: bool) -> bool:
    """Whether a word of a document that ``word`` matches could be an elided one ("l'")."""
    return any(e.startswith(word) for e in ELISIONS) if prefix else word in ELISIONS


# --- compiled rules ---------------------------------------------------------------------


class EntityChecker(Protocol):
    """A second opinion on an entity mention (see :mod:`monitor.adapters.ner`)."""

    def agrees(self, text: str, start: int, end: int, etype: str, language: str | None) -> bool: ...


@dataclass(frozen=True)
class _Alt:
    """One way an atom can occur: a key of the automaton, maybe case-sensitive."""

    key: int
    case: bool = False
    body: str = ""
    exclusions: tuple[int, ...] = ()

    @property
    def probe(self) -> str:
        """The first word of a case-sensitive term, folded with its case kept."""
        toks = tokenize(self.body)
        return fold_case(self.body[toks[0].start:toks[0].end]) if toks else ""


@dataclass(frozen=True)
class _Exclusion:
    near: tuple[int, ...]  # keys
    within: int
    phrases: tuple[int, ...]  # keys


@dataclass(frozen=True)
class _Atom:
    alts: tuple[_Alt, ...]
    field: int | None  # index into FIELDS, None: every field
    exclusions: tuple[_Exclusion, ...] = ()
    entity: bool = False
    etype: str = ""  # the entity's type, for the checker


# Program nodes: ("atom", atom id, term index), ("and", nodes), ("or", nodes), ("not", node),
# ("near", left atom node, right atom node, distance).


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    program: tuple
    terms: tuple[str, ...]  # term of each term index, as written
    languages: tuple[str, ...]
    feeds: frozenset[str]
    feed_tags: frozenset[str]
    # The term indexes of entities: a match reports their mentions as the text writes them.
    entity_terms: frozenset[int] = frozenset()

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


def _key_string(pattern: TermPattern) -> str:
    return " " + " ".join(pattern.words) + ("" if pattern.prefix else " ")


class _Builder:
    def __init__(self, catalog: EntityCatalog):
        self.catalog = catalog
        self.keys: dict[str, int] = {}
        self.key_patterns: list[TermPattern] = []
        self.atoms: dict[_Atom, int] = {}
        self.atom_list: list[_Atom] = []

    def key(self, pattern: TermPattern) -> int:
        s = _key_string(pattern)
        kid = self.keys.get(s)
        if kid is None:
            kid = self.keys[s] = len(self.key_patterns)
            self.key_patterns.append(pattern)
        return kid

    def atom(self, atom: _Atom) -> int:
        aid = self.atoms.get(atom)
        if aid is None:
            aid = self.atoms[atom] = len(self.atom_list)
            self.atom_list.append(atom)
        return aid

    def term_atom(self, pattern: TermPattern, field: str | None = None, case: bool = False,
                  body: str = "") -> int:
        alt = _Alt(self.key(pattern), case, body if case else "")
        return self.atom(_Atom((alt,), FIELDS.index(field) if field else None))

    def entity_atom(self, entity_id: str, field: str | None = None) -> int:
        resolved = self.catalog.resolve(entity_id)
        if resolved is None:
            raise ValueError(f"unknown entity {entity_id!r}")
        entity = self.catalog[resolved]
        alts = tuple(_Alt(self.key(t.pattern), t.case, t.body if t.case else "", t.exclusions)
                     for t in entity_terms(entity, self.catalog))
        exclusions = tuple(
            _Exclusion(tuple(self.key(parse_term(n)) for n in ex.near), ex.within,
                       tuple(self.key(parse_term(p)) for p in ex.phrase))
            for ex in entity.exclude)
        return self.atom(_Atom(alts, FIELDS.index(field) if field else None, exclusions, True, entity.type))

    def compile(self, rule: Rule) -> _Compiled:
        terms: list[str] = []
        entity_terms: set[int] = set()

        def leaf(aid: int, text: str) -> tuple:
            terms.append(text)
            if self.atom_list[aid].entity:
                entity_terms.add(len(terms) - 1)
            return ("atom", aid, len(terms) - 1)

        def node(n: Node) -> tuple:
            if isinstance(n, Term):
                return leaf(self.term_atom(n.pattern, n.field, n.case, n.body), n.text)
            if isinstance(n, EntityRef):
                return leaf(self.entity_atom(n.id, n.field), n.text)
            if isinstance(n, Not):
                return ("not", node(n.item))
            if isinstance(n, Near):
                return ("near", node(n.left), node(n.right), n.distance)
            return ("and" if isinstance(n, And) else "or", tuple(node(x) for x in n.items))

        parts = []
        if rule.keywords is not None:
            kw = rule.keywords
            any_ = [leaf(self.term_atom(parse_term(t)), t) for t in kw.any]
            all_ = [leaf(self.term_atom(parse_term(t)), t) for t in kw.all]
            none = [leaf(self.term_atom(parse_term(t)), t) for t in kw.none]
            if any_:
                parts.append(("or", tuple(any_)))
            parts += all_
            if none:
                parts.append(("not", ("or", tuple(none))))
        elif rule.query is not None:
            parts.append(node(parse_query(rule.query)))
        if rule.entities:
            parts.append(("or", tuple(leaf(self.entity_atom(e), f"entity:{e}") for e in rule.entities)))
        program = parts[0] if len(parts) == 1 else ("and", tuple(parts))
        languages = tuple(lang.lower().replace("_", "-") for lang in rule.languages)
        return _Compiled(rule, program, tuple(terms), languages, frozenset(rule.feeds),
                         frozenset(rule.feed_tags), frozenset(entity_terms))


def _positive_atoms(program: tuple, negated: bool = False) -> Iterable[int]:
    kind = program[0]
    if kind == "atom":
        if not negated:
            yield program[1]
    elif kind == "not":
        yield from _positive_atoms(program[1], not negated)
    elif kind == "near":
        yield from _positive_atoms(program[1], negated)
        yield from _positive_atoms(program[2], negated)
    else:
        for p in program[1]:
            yield from _positive_atoms(p, negated)


def _need(program: tuple, atoms: list[_Atom]) -> tuple[float, frozenset[int]] | None:
    """Keys one of which must occur for ``program`` to hold, with a guess of how often
    one does (lower: rarer); None when it can hold with no key at all (NOT x).

    A rule is only looked at when a key of its rarest such set occurred: ``entity:nato
    AND Stoltenberg`` waits for "Stoltenberg", not for any of NATO's many names.
    """
    kind = program[0]
    if kind == "atom":
        atom = atoms[program[1]]
        keys = frozenset(alt.key for alt in atom.alts)
        return (len(keys) * (4.0 if atom.entity else 1.0), keys)
    if kind == "not":
        return None
    if kind == "near":
        subs = [_need(program[1], atoms), _need(program[2], atoms)]
    else:
        subs = [_need(p, atoms) for p in program[1]]
    if kind == "or":
        if any(s is None for s in subs):
            return None
        return (sum(s[0] for s in subs), frozenset().union(*(s[1] for s in subs)))
    known = [s for s in subs if s is not None]  # "and" and "near": the rarest part
    return min(known, key=lambda s: s[0]) if known else None


# Occurrences are (field index, stream start, stream end): the words of the stream span.
Occ = tuple[int, int, int]


class _OverBudget(Exception):
    """A match examined more occurrences than its budget (caught by Matcher.match_bounded);
    ``args[0]``: how many when it stopped; ``args[1]``, when a scan stopped: about where in
    the field's text."""


#: Fields longer than this (characters) are scanned counting their occurrences.
_LONG_FIELD = 16_384


def _found(ends: list[dict[int, list[int]]]) -> int:
    """How many occurrences a scan recorded in ``ends``."""
    return sum(len(at) for found in ends for at in found.values())


def _close(side: list[Occ], other: list[Occ], between, distance: int) -> list[Occ]:
    """The occurrences of ``side`` within ``distance`` words of one of ``other`` that does
    not overlap them, all in one field whose word counts are ``between``.

    ``between(end, start)`` only grows with ``start`` and shrinks with ``end``: of the
    occurrences after one, the first to start is the closest, and of those before it, the
    last to end. Two lookups an occurrence instead of one per pair."""
    starts = sorted(o[1] for o in other)
    ends = sorted(o[2] for o in other)
    n = len(starts)
    out = []
    for o in side:
        start, end = o[1], o[2]
        j = bisect_left(starts, end)
        if j < n and 0 <= between(end, starts[j]) <= distance:
            out.append(o)
            continue
        j = bisect_right(ends, start)
        if j and 0 <= between(ends[j - 1], start) <= distance:
            out.append(o)
    return out


class _Run:
    """The state of matching one document.

    ``examined`` counts the occurrences looked at so far (found by the scans, compared
    for NEAR, checked against exclusion contexts); past ``budget`` a run raises
    :class:`_OverBudget`. Both are what :class:`~monitor.core.types.MatchOutcome` reports."""

    __slots__ = ("m", "fields", "ends", "keys", "maybe", "by_key", "atom_occ", "language", "side_scanned",
                 "examined", "budget", "placed_by_key", "near_used")

    def __init__(self, matcher: Matcher, fields: list[_Field | _FastField], ends: list[dict[int, list[int]]],
                 keys: set[int], maybe: set[int], language: str | None = None, examined: int = 0,
                 budget: int = MATCH_MAX_OCCURRENCES):
        self.m, self.fields, self.ends, self.keys = matcher, fields, ends, keys
        self.maybe = maybe  # keys a candidate of which occurred (see _Literals)
        self.language = language
        self.by_key: dict[int, list[Occ]] = {}
        self.atom_occ: dict[int, list[Occ]] = {}
        self.side_scanned = matcher._side is None
        self.examined, self.budget = examined, budget
        # key -> field -> its occurrences' sorted starts, sorted ends, and the furthest
        # end of those starting up to each (exclusion contexts, see placed)
        self.placed_by_key: dict[int, dict[int, tuple[list[int], list[int], list[int]]]] = {}
        # (left atom, right atom, distance) -> the occurrences of each side close enough
        self.near_used: dict[tuple[int, int, int], tuple[list[Occ], list[Occ]]] = {}

    def spend(self, n: int) -> None:
        """Count ``n`` more occurrences examined; raise _OverBudget past the budget."""
        self.examined += n
        if self.examined > self.budget:
            raise _OverBudget(self.examined)

    def scan_side(self) -> None:
        """Add the occurrences of the keys that trigger no rule (see the module docstring)."""
        self.side_scanned = True
        m = self.m
        before = _found(self.ends)
        for fld, found in zip(self.fields, self.ends):
            m._scan_field(fld, found, m._side, m._side_literals, self.keys, self.maybe)
        self.spend(_found(self.ends) - before)

    def has(self, key: int) -> bool:
        """Whether key ``key`` occurred."""
        if key in self.keys:
            return True
        if not self.side_scanned and key in self.m._side_keys:
            self.scan_side()
            if key in self.keys:
                return True
        return key in self.maybe and bool(self.key_occ(key))

    def found_keys(self) -> set[int]:
        """Every key that occurred, and those that may have (see :meth:`has`)."""
        if not self.side_scanned:
            self.scan_side()
        return self.keys | self.maybe if self.maybe else self.keys

    def case_ok(self, alt: _Alt, occ: Occ) -> bool:
        f, cs, ce = occ
        fld = self.fields[f]
        start, end = fld.span(cs, ce)
        piece = fld.text[start:end]
        found = [fold_case(piece[t.start:t.end]) for t in tokenize(piece)]
        want = [fold_case(alt.body[t.start:t.end]) for t in tokenize(alt.body)]
        if len(found) != len(want):
            return False
        if self.m._patterns[alt.key].prefix:
            return found[:-1] == want[:-1] and found[-1].startswith(want[-1])
        return found == want

    def key_occ(self, key: int) -> list[Occ]:
        """Where key ``key`` occurred, in field and position order."""
        got = self.by_key.get(key)
        if got is not None:
            return got
        got = self.by_key[key] = []
        m = self.m
        if not self.side_scanned and key in m._side_keys:
            self.scan_side()
        if key in self.keys or key in self.maybe:
            length, prefix, candidate = m._key_info[key]
            fields = self.fields
            for f, ends in enumerate(self.ends):
                fld = fields[f]
                if candidate is not None and type(fld) is _FastField:
                    if candidate in ends:
                        found = fld.find(f, m._key_strings[key], prefix)
                        self.spend(len(found))
                        got += found
                    continue
                found = ends.get(key)
                if found:
                    got += fld.occ(f, length, prefix, found)
        return got

    def occurrences(self, aid: int) -> list[Occ]:
        got = self.atom_occ.get(aid)
        if got is not None:
            return got
        atom = self.m._atoms[aid]
        out: list[Occ] = []
        alts = atom.alts
        if len(alts) > 2:  # an entity's many names: only those that occurred
            by_alt = self.m._alts_by_key[aid]
            alts = [alt for key in self.found_keys() & by_alt.keys() for alt in by_alt[key]]
        for alt in alts:
            found = self.key_occ(alt.key)
            if not found:
                continue
            if atom.field is None and not alt.case and not alt.exclusions:
                out += found  # the common case: every occurrence counts
                continue
            if alt.case:
                probe = self.m._probes[alt]
                found = [o for o in found if self.fields[o[0]].may_contain(probe)]
            self.spend(len(found))
            for occ in found:
                if atom.field is not None and occ[0] != atom.field:
                    continue
                if alt.case and not self.case_ok(alt, occ):
                    continue
                if alt.exclusions and self.excluded(atom, alt, occ):
                    continue
                out.append(occ)
        if atom.entity and len(out) > 1:
            # "Vladimir Poutine" is one mention, not two.
            out.sort(key=lambda o: (o[0], o[1], -o[2]))
            kept: list[Occ] = []
            for o in out:
                if kept and kept[-1][0] == o[0] and kept[-1][1] <= o[1] and o[2] <= kept[-1][2]:
                    continue
                kept.append(o)
            out = kept
        elif len(alts) > 1:
            out.sort()
        checker = self.m.checker
        if atom.entity and out and checker is not None:
            self.spend(len(out))
            out = [o for o in out
                   if checker.agrees(self.fields[o[0]].text, *self.fields[o[0]].span(o[1], o[2]), atom.etype,
                                     self.language)]
        self.atom_occ[aid] = out
        return out

    def placed(self, key: int) -> dict[int, tuple[list[int], list[int], list[int]]]:
        """Per field, the occurrences of key ``key`` as lookup tables: their starts and
        their ends, each sorted, and the furthest end of those starting up to each start."""
        got = self.placed_by_key.get(key)
        if got is not None:
            return got
        got = self.placed_by_key[key] = {}
        occ = self.key_occ(key)
        self.spend(len(occ))
        for f in {o[0] for o in occ}:
            mine = sorted(o[1:] for o in occ if o[0] == f)
            reach, furthest = [], -1
            for _, end in mine:
                furthest = max(furthest, end)
                reach.append(furthest)
            got[f] = ([s for s, _ in mine], sorted(e for _, e in mine), reach)
        return got

    def excluded(self, atom: _Atom, alt: _Alt, occ: Occ) -> bool:
        """Whether ``occ``, an occurrence of ``alt``, is in one of the contexts excluded for
        it: a bisection per exclusion term, whatever the number of its occurrences."""
        f, start, end = occ
        for i in alt.exclusions:
            ex = atom.exclusions[i]
            for key in ex.phrases:
                table = self.placed(key).get(f)
                if table is not None:
                    # one starting at or before occ's end reaches occ's start: they overlap
                    j = bisect_right(table[0], end)
                    if j and table[2][j - 1] >= start:
                        return True
            for key in ex.near:
                tables = self.placed(key)
                table = tables.get(f)
                if table is not None:
                    # the closest after occ and the closest before it (see _close)
                    starts, ends, _ = table
                    between = self.fields[f].words_between
                    j = bisect_left(starts, end)
                    if j < len(starts) and 0 <= between(end, starts[j]) <= ex.within:
                        return True
                    j = bisect_right(ends, start)
                    if j and 0 <= between(ends[j - 1], start) <= ex.within:
                        return True
                if f == 0 and 1 in tables and self.fields[1].token_index(tables[1][0][0]) < ex.within:
                    return True  # a title reads into the beginning of the text
        return False

    def present(self, aid: int) -> bool:
        """Whether atom ``aid`` occurs; without building its occurrences when it can."""
        atom = self.m._atoms[aid]
        if atom.field is None and not atom.entity and not atom.alts[0].case:
            return self.has(atom.alts[0].key)
        return bool(self.occurrences(aid))

    def truth(self, p: tuple) -> bool:
        """Whether program ``p`` holds (a cheap pass before collecting the hits)."""
        kind = p[0]
        if kind == "atom":
            return self.present(p[1])
        if kind == "and":
            return all(self.truth(sub) for sub in p[1])
        if kind == "or":
            return any(self.truth(sub) for sub in p[1])
        if kind == "not":
            return not self.truth(p[1])
        return self.evaluate(p)[0]

    def evaluate(self, p: tuple) -> tuple[bool, list[tuple[Occ, int]]]:
        """Whether program ``p`` holds, and the occurrences that make it hold, each with
        the index of its term."""
        kind = p[0]
        if kind == "atom":
            occ = self.occurrences(p[1])
            return bool(occ), [(o, p[2]) for o in occ]
        if kind == "and":
            hits = []
            for sub in p[1]:
                ok, h = self.evaluate(sub)
                if not ok:
                    return False, []
                hits += h
            return True, hits
        if kind == "or":
            hits, any_ok = [], False
            for sub in p[1]:
                if sub[0] == "not" or self.truth(sub):
                    ok, h = self.evaluate(sub)
                    if ok:
                        any_ok = True
                        hits += h
            return any_ok, hits
        if kind == "not":
            return not self.truth(p[1]), []
        _, left, right, distance = p
        used_l, used_r = self.near(left[1], right[1], distance)
        hits = [(o, left[2]) for o in used_l] + [(o, right[2]) for o in used_r]
        return bool(hits), hits

    def near(self, left: int, right: int, distance: int) -> tuple[list[Occ], list[Occ]]:
        """The occurrences of atom ``left`` within ``distance`` words of one of atom
        ``right`` in the same field, and those of ``right`` near one of ``left``, sorted:
        in time linear in their number (but for sorting), once per run."""
        got = self.near_used.get((left, right, distance))
        if got is not None:
            return got
        lo, ro = self.occurrences(left), self.occurrences(right)
        self.spend(len(lo) + len(ro))
        used_l: list[Occ] = []
        used_r: list[Occ] = []
        if lo and ro:
            for f in {o[0] for o in lo} & {o[0] for o in ro}:
                between = self.fields[f].words_between
                mine_l = [o for o in lo if o[0] == f]
                mine_r = [o for o in ro if o[0] == f]
                used_l += _close(mine_l, mine_r, between, distance)
                used_r += _close(mine_r, mine_l, between, distance)
        got = self.near_used[(left, right, distance)] = (sorted(set(used_l)), sorted(set(used_r)))
        return got


class Matcher:
    """Rules compiled for matching. Build with :func:`compile_rules`; never mutated."""

    __slots__ = ("rules", "entities", "_compiled", "_automaton", "_side", "_side_keys", "_patterns",
                 "_key_info", "_atoms", "_triggers", "_probes", "_alts_by_key", "checker", "_simple",
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
        self._probes = {alt: alt.probe for atom in self._atoms for alt in atom.alts if alt.case}
        self._alts_by_key: dict[int, dict[int, list[_Alt]]] = {}
        for aid, atom in enumerate(self._atoms):
            if len(atom.alts) > 2:
                by_alt: dict[int, list[_Alt]] = {}
                for alt in atom.alts:
                    by_alt.setdefault(alt.key, []).append(alt)
                self._alts_by_key[aid] = by_alt
        # key -> the enabled rules one of whose non-negated atoms it can make occur
        triggers: dict[int, set[int]] = {}
        for r, comp in enumerate(self._compiled):
            if not comp.rule.enabled:
                continue
            need = _need(comp.program, self._atoms)
            if need is not None:
                keys = need[1]
            else:  # e.g. a lone NOT (refused by validation): any positive atom
                keys = {alt.key for aid in _positive_atoms(comp.program) for alt in self._atoms[aid].alts}
            for key in keys:
                triggers.setdefault(key, set()).add(r)
        self._triggers = {k: tuple(sorted(v)) for k, v in triggers.items()}
        self._simple = [self._simple_form(comp.program) for comp in self._compiled]
        self._filtered = [bool(c.languages or c.feeds or c.feed_tags) for c in self._compiled]
        # The keys that trigger rules, scanned in every article; the others only when a
        # rule in play needs one of them (see the module docstring).
        self._automaton = ahocorasick.Automaton()
        side = ahocorasick.Automaton()
        for s, kid in builder.keys.items():
            (self._automaton if kid in self._triggers else side).add_word(s, kid)
        self._side_keys = frozenset(kid for kid in builder.keys.values() if kid not in self._triggers)
        self._side = side if self._side_keys else None
        for automaton in (self._automaton, self._side):
            if automaton is not None and len(automaton):
                automaton.make_automaton()
        self._key_strings = list(builder.keys)  # in key id order
        # Latin-script fields are scanned by hyperscan instead (see _FastField).
        self._literals = self._side_literals = None
        self._candidates: dict[int, list[int]] = {}
        candidate_of: dict[int, int] = {}  # key id -> its candidate's id
        if accelerate and hyperscan is not None:
            try:
                main = _Literals({s: k for s, k in builder.keys.items() if k in self._triggers},
                                 len(self._patterns))
                side = None if self._side is None else _Literals(
                    {s: k for s, k in builder.keys.items() if k in self._side_keys}, main.next_id)
            except hyperscan.error:  # e.g. a processor hyperscan does not support: the automaton alone
                main = side = None
            if main is not None:
                self._literals, self._side_literals = main, side
                for lit in filter(None, (main, side)):
                    self._candidates.update(lit.candidates)
                    candidate_of.update(lit.candidate_of)
        self._key_info = [(len(self._key_strings[kid]), p.prefix, candidate_of.get(kid))
                          for kid, p in enumerate(self._patterns)]

    def _simple_form(self, program: tuple) -> tuple[tuple[int, int], ...] | None:
        """(key, term index) of each term when ``program`` is one plain term or an OR of them
        (most watch lists): such a rule holds exactly where its keys occurred."""
        leaves = program[1] if program[0] == "or" else (program,)
        out = []
        for leaf in leaves:
            if leaf[0] != "atom":
                return None
            atom = self._atoms[leaf[1]]
            if atom.field is not None or atom.entity or len(atom.alts) != 1 or atom.alts[0].case:
                return None
            out.append((atom.alts[0].key, leaf[2]))
        return tuple(out)

    def __repr__(self) -> str:
        return f"<Matcher {len(self.rules)} rules, {len(self._patterns)} distinct terms>"

    def _scan_field(self, fld: _Field | _FastField, found: dict[int, list[int]],
                    automaton: ahocorasick.Automaton | None, literals: _Literals | None,
                    keys: set[int], maybe: set[int], limit: int | None = None) -> None:
        """Add to ``found`` where (at which end offsets) each key of ``automaton``, or for a
        fast field each literal of ``literals``, occurs in ``fld``; and to ``keys`` the keys
        found, to ``maybe`` those a candidate of which was. Past ``limit`` occurrences, stop
        and raise _OverBudget with about where in the text."""
        if type(fld) is _FastField:
            literals.scan(fld.words, found, limit)  # offsets in words are those in the text + 1
            candidates = self._candidates
            for kid in found:
                if kid in candidates:
                    maybe.update(candidates[kid])
                else:
                    keys.add(kid)
            return
        count = 0
        for end, kid in automaton.iter(fld.stream):
            at = found.get(kid)
            if at is None:
                found[kid] = [end]
                keys.add(kid)
            else:
                at.append(end)
            if limit is not None:
                count += 1
                if count > limit:  # the stream is about as long as the text
                    raise _OverBudget(count, int(end * len(fld.text) / len(fld.stream)))

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
                # Scanning a long field stops past the budget: its occurrences are not even
                # all collected (an ordinary one is not counted occurrence by occurrence).
                limit = self.max_occurrences - _found(ends) if len(fld.text) > _LONG_FIELD else None
                self._scan_field(fld, found, self._automaton, self._literals, keys, maybe, limit)
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
            return _new(MatchOutcome, (matches, prefix, examined))

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
        key_occ = run.key_occ
        # Where every field is a fast one, occurrences are text offsets already: each
        # match is made as soon as its rule holds. Otherwise the stream spans of every
        # rule's hits are mapped back together at the end (``pending``).
        fast = type(fields[0]) is _FastField and type(fields[1]) is _FastField
        matches: list[Match] = []
        pending = []  # (rule, term indexes, (occurrence, term index) pairs), in rule order
        filtered, simple_forms, compiled, key_info = self._filtered, self._simple, self._compiled, self._key_info
        for r in sorted(touched):
            comp = compiled[r]
            if filtered[r] and not comp.passes_filters(doc):
                continue
            simple = simple_forms[r]
            if simple is not None:
                # Each of its keys triggers it, so none waits in the side automaton.
                first, first_t = -1, 0  # the first key found, and its term
                found: list[tuple[Occ, int]] | None = None
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
                    rule = comp.rule
                    word = comp.terms[first_t]
                    if fast and first in keys:  # the common case, kept lean: hits from the scan
                        length, prefix, _ = key_info[first]
                        made = []
                        for f in (0, 1):
                            at = ends[f].get(first)
                            if at:
                                if prefix:  # to the end of the word
                                    made += [_new(Hit, (FIELDS[f], s, e, word))
                                             for _, s, e in fields[f].occ(f, length, True, at)]
                                elif len(at) == 1:  # most often; 0.4 us an article less than the comprehension
                                    made.append(_new(Hit, (FIELDS[f], at[0] - length, at[0] - 2, word)))
                                else:
                                    made += [_new(Hit, (FIELDS[f], e - length, e - 2, word)) for e in at]
                    elif fast:
                        made = [_new(Hit, (FIELDS[f], s, e, word)) for f, s, e in key_occ(first)]
                    else:
                        occ = key_occ(first)
                        if len(occ) >= rule.min_mentions:
                            pending.append((comp, (first_t,), [(o, first_t) for o in occ]))
                        continue
                    if len(made) >= rule.min_mentions:
                        matches.append(_new(Match, (rule.name, (word,), tuple(made), rule.channels,
                                                    rule.delivery, rule.per_hour)))
                    continue
            else:
                if not run.truth(comp.program):
                    continue
                ok, found = run.evaluate(comp.program)
                if not ok or not found:
                    continue
            found.sort()
            spans: dict[Occ, int] = {}  # each distinct span with its first term
            for o, t in found:
                spans.setdefault(o, t)
            if len(spans) < comp.rule.min_mentions:
                continue
            terms = [t for _, t in found]
            if fast:
                said = _said(comp, found, texts, None) if comp.entity_terms else None
                matches.append(_made(comp, terms, [_new(Hit, (FIELDS[o[0]], o[1], o[2], comp.terms[t]))
                                                   for o, t in spans.items()], said))
            else:
                pending.append((comp, found if comp.entity_terms else terms, list(spans.items())))
        if not pending:
            return matches, run.examined
        # Stream spans to text offsets: once per field, for every rule's hits together.
        at = sorted({o for _, _, hits in pending for o, _ in hits})
        where = {}
        for f, fld in enumerate(fields):
            mine = [o for o in at if o[0] == f]
            if mine:
                where.update(zip(mine, fld.spans([o[1:] for o in mine])))
        # (For a rule with entities, ``terms`` holds the (occurrence, term index) pairs found.)
        return [_made(comp, terms, [_new(Hit, (FIELDS[o[0]], *where[o], comp.terms[t])) for o, t in hits],
                      _said(comp, terms, texts, where) if comp.entity_terms else None)
                for comp, terms, hits in pending], run.examined


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
    return _new(Match, (rule.name, said, tuple(hits), rule.channels, rule.delivery, rule.per_hour))


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
    the same matches, three times the cost on Latin-script text.

    ``max_chars`` (characters of each field) and ``max_occurrences``
    (occurrences of terms examined in one document) bound the work of a
    match: see :meth:`Matcher.match_bounded`.
    """
    return Matcher(rules, entities, checker, accelerate, max_chars=max_chars, max_occurrences=max_occurrences)

"""Rules compiled into programs over atoms, and atoms over the keys the scans look for. Pure
(lemmatizing entity names reads simplemma's packaged dictionaries once).

A *key* is one string the scans find (see the package docstring); an *atom* is one way a
term of a rule can occur (a word, a phrase, an entity's many names, maybe in one field,
maybe case-sensitive); a rule's *program* is a tree of atoms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import ahocorasick

from monitor.core.entities import EntityCatalog, entity_terms
from monitor.core.matching.fields import FIELDS
from monitor.core.query import And, EntityRef, Near, Node, Not, Term, TermPattern, parse_query, parse_term
from monitor.core.rules import Rule
from monitor.core.text import fold_case, tokenize
from monitor.core.types import Document


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
    def cased_words(self) -> tuple[str, ...]:
        """The words of a case-sensitive term, folded with their case kept."""
        return tuple(fold_case(self.body[t.start:t.end]) for t in tokenize(self.body))


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


def alts_by_key(atoms: list[_Atom]) -> dict[int, dict[int, list[_Alt]]]:
    """For each atom of many names (an entity's), its alternatives by key: a run looks only
    at those of the keys that occurred."""
    out: dict[int, dict[int, list[_Alt]]] = {}
    for aid, atom in enumerate(atoms):
        if len(atom.alts) > 2:
            by_alt: dict[int, list[_Alt]] = {}
            for alt in atom.alts:
                by_alt.setdefault(alt.key, []).append(alt)
            out[aid] = by_alt
    return out


def rule_triggers(compiled: Iterable[_Compiled], atoms: list[_Atom]) -> dict[int, tuple[int, ...]]:
    """key -> the enabled rules (their indexes, in order) one of whose non-negated atoms it
    can make occur: a rule is only looked at when one of its triggers occurred."""
    triggers: dict[int, set[int]] = {}
    for r, comp in enumerate(compiled):
        if not comp.rule.enabled:
            continue
        need = _need(comp.program, atoms)
        if need is not None:
            keys = need[1]
        else:  # e.g. a lone NOT (refused by validation): any positive atom
            keys = {alt.key for aid in _positive_atoms(comp.program) for alt in atoms[aid].alts}
        for key in keys:
            triggers.setdefault(key, set()).add(r)
    return {k: tuple(sorted(v)) for k, v in triggers.items()}


def simple_form(program: tuple, atoms: list[_Atom]) -> tuple[tuple[int, int], ...] | None:
    """(key, term index) of each term when ``program`` is one plain term or an OR of them
    (most watch lists): such a rule holds exactly where its keys occurred."""
    leaves = program[1] if program[0] == "or" else (program,)
    out = []
    for leaf in leaves:
        if leaf[0] != "atom":
            return None
        atom = atoms[leaf[1]]
        if atom.field is not None or atom.entity or len(atom.alts) != 1 or atom.alts[0].case:
            return None
        out.append((atom.alts[0].key, leaf[2]))
    return tuple(out)


def automata(keys: dict[str, int], triggers: dict[int, tuple[int, ...]]
             ) -> tuple[ahocorasick.Automaton, ahocorasick.Automaton | None, frozenset[int]]:
    """The automaton of the keys that trigger rules, scanned in every article; the side
    automaton of the others (None when there are none), scanned only when a rule in play
    needs one of them; and the ids of those side keys."""
    main = ahocorasick.Automaton()
    side = ahocorasick.Automaton()
    for s, kid in keys.items():
        (main if kid in triggers else side).add_word(s, kid)
    side_keys = frozenset(kid for kid in keys.values() if kid not in triggers)
    side = side if side_keys else None
    for automaton in (main, side):
        if automaton is not None and len(automaton):
            automaton.make_automaton()
    return main, side, side_keys

"""Evaluating compiled rules on one document, from the occurrences its scans found. Pure."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

from monitor.core.matching.compiler import _Alt, _Atom
from monitor.core.matching.fields import MATCH_MAX_OCCURRENCES, Occ, _FastField, _Field, _found, _OverBudget
from monitor.core.matching.literals import scan_field
from monitor.core.text import fold_case, tokenize

if TYPE_CHECKING:
    from monitor.core.matching import Matcher


def _within(starts: list[int], ends: list[int], between, start: int, end: int, distance: int) -> bool:
    """Whether the span ``[start, end)`` is within ``distance`` words of one of the spans
    whose sorted starts and sorted ends are ``starts`` and ``ends``, without overlapping it;
    all in one field whose word counts are ``between``.

    ``between(end, start)`` only grows with ``start`` and shrinks with ``end``: of the
    spans after this one, the first to start is the closest, and of those before it, the
    last to end. Two lookups instead of one per span."""
    j = bisect_left(starts, end)
    if j < len(starts) and 0 <= between(end, starts[j]) <= distance:
        return True
    j = bisect_right(ends, start)
    return bool(j) and 0 <= between(ends[j - 1], start) <= distance


def _close(side: list[Occ], other: list[Occ], between, distance: int) -> list[Occ]:
    """The occurrences of ``side`` within ``distance`` words of one of ``other`` that does
    not overlap them, all in one field whose word counts are ``between`` (see _within)."""
    starts = sorted(o[1] for o in other)
    ends = sorted(o[2] for o in other)
    return [o for o in side if _within(starts, ends, between, o[1], o[2], distance)]


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
            scan_field(fld, found, m._side, m._side_literals, m._candidates, self.keys, self.maybe)
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
        found = tuple(fold_case(piece[t.start:t.end]) for t in tokenize(piece))
        want = self.m._cased[alt]
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
                want = self.m._cased[alt]
                probe = want[0] if want else ""  # its first word, a quick test of the field
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
                if table is not None and _within(table[0], table[1], self.fields[f].words_between, start, end,
                                                 ex.within):
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

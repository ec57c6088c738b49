"""Finding where the keys of compiled rules occur in a field: hyperscan literals over fast
(Latin-script) fields, Aho-Corasick automata over streams. Pure, but for the scratch space
hyperscan needs per thread.
"""

from __future__ import annotations

import ctypes
import threading

import ahocorasick

try:
    import hyperscan
except ImportError:  # pragma: no cover - wheels exist for the usual platforms
    hyperscan = None

from monitor.core.matching.fields import _FastField, _Field, _OverBudget
from monitor.core.text import ELISIONS


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
    """Return to the system the heap hyperscan's compiler freed: glibc keeps it otherwise,
    and it is many times the size of the database itself."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc only
    if trim is not None:
        trim(0)


def _may_be_elision(word: str, prefix: bool) -> bool:
    """Whether a word of a document that ``word`` matches could be an elided one ("l'")."""
    return any(e.startswith(word) for e in ELISIONS) if prefix else word in ELISIONS


def scan_field(fld: _Field | _FastField, found: dict[int, list[int]], automaton: ahocorasick.Automaton | None,
               literals: _Literals | None, candidates: dict[int, list[int]], keys: set[int], maybe: set[int],
               limit: int | None = None) -> None:
    """Add to ``found`` where (at which end offsets) each key of ``automaton``, or for a
    fast field each literal of ``literals``, occurs in ``fld``; and to ``keys`` the keys
    found, to ``maybe`` those a candidate of which was (``candidates``: candidate id -> its
    keys). Past ``limit`` occurrences, stop and raise _OverBudget with about where in the text."""
    if type(fld) is _FastField:
        literals.scan(fld.words, found, limit)  # offsets in words are those in the text + 1
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

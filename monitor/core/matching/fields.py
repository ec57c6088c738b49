"""The fields of a document as the matcher sees them: their text, their stream, and how
occurrences found in either map back to character offsets. Pure.

Occurrences are ``(field index, start, end)``: stream spans in a :class:`_Field`, spans of
the text itself in a :class:`_FastField` (see the package docstring).
"""

from __future__ import annotations

import numpy as np

from monitor.core.text import _FOLD_CASE, encode_fast, fold_encoded, tokenize, words_encoded

#: Document fields searched, in the order their hits are reported.
FIELDS = ("title", "text")

#: Characters of each field a match looks at, by default (:meth:`Matcher.match_bounded`).
MATCH_MAX_CHARS = 200_000
#: Occurrences of terms one match may examine, by default: an ordinary article of a few KB
#: examines a few hundred at most, 200 KB of nothing but rule terms tens of thousands; this
#: leaves the first all the room they need and bounds the second.
MATCH_MAX_OCCURRENCES = 20_000

# Occurrences are (field index, start, end): the words of the span.
Occ = tuple[int, int, int]


class _OverBudget(Exception):
    """A match examined more occurrences than its budget (caught by Matcher.match_bounded);
    ``args[0]``: how many when it stopped; ``args[1]``, when a scan stopped: about where in
    the field's text."""


def _found(ends: list[dict[int, list[int]]]) -> int:
    """How many occurrences a scan recorded in ``ends``."""
    return sum(len(at) for found in ends for at in found.values())


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
        # Vector operations, not a split into words and a join: no Python object per word.
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

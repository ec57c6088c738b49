"""Text normalization and tokenization for keyword matching.

Pure: every function here computes from its arguments and touches nothing
outside itself (no I/O, no global state beyond a per-character cache).

The comparison form of a text is its sequence of tokens. A token is a maximal
run of letters, digits and combining marks, folded so that case, accents,
compatibility forms and common ligatures do not matter: "États-Unis" gives
the tokens ``etats`` and ``unis``, "Œuvre" gives ``oeuvre``. Everything else
(spaces, punctuation, hyphens, apostrophes) separates tokens. French elided
articles and pronouns (l', d', qu', jusqu'...) written with ``'`` or ``’`` are
dropped, so "l’OTAN" gives the single token ``otan``. Every token keeps the
character offsets of the original string it came from.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from itertools import repeat
from typing import NamedTuple

__all__ = ["Token", "normalize", "fold_case", "fold_fast", "encode_fast", "fold_encoded", "words_encoded",
           "tokenize", "APOSTROPHES", "ELISIONS"]

#: Characters read as an apostrophe (all fold to ``'``).
APOSTROPHES = frozenset("'\u2019\u2018\u02bc\uff07")

#: Folded forms of the French words that elide before a vowel ("l'", "qu'"...).
ELISIONS = frozenset({"l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu"})

# Letters that Unicode does not decompose but readers treat as plain Latin.
_EXTRA_FOLDS = {
    "œ": "oe", "æ": "ae", "ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "ŧ": "t",
    "\u200b": " ",  # zero-width space separates words; other format characters vanish
    **{a: "'" for a in APOSTROPHES},
}

# Kinds of folded piece, so the tokenizer only looks at single characters when it must.
_EMPTY, _WORD, _SEP, _MIXED = range(4)


def _is_word_char(ch: str) -> bool:
    # Letters, numbers and (spacing) marks, which some scripts need inside words.
    return unicodedata.category(ch)[0] in "LNM"


@functools.lru_cache(maxsize=None)
def _fold(c: str) -> tuple[str, int]:
    """The folded form of one character and its kind."""
    s = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", c).casefold())
    out = []
    for ch in s:
        if ch in _EXTRA_FOLDS:
            out.append(_EXTRA_FOLDS[ch])
        elif unicodedata.category(ch) not in ("Mn", "Me", "Cf"):
            out.append(ch)
    piece = unicodedata.normalize("NFC", "".join(out))
    if not piece:
        return piece, _EMPTY
    flags = {_is_word_char(ch) for ch in piece}
    if flags == {True}:
        return piece, _WORD
    if flags == {False}:
        return piece, _SEP
    return piece, _MIXED


class Token(NamedTuple):
    """One word of a text: its folded form and its ``[start, end)`` offsets in the original.

    A named tuple: made by the hundred per article, it costs a fifth of a frozen dataclass.
    """

    norm: str
    start: int
    end: int


def normalize(s: str) -> str:
    """Return ``s`` folded for comparison: compatibility-decomposed, case-folded,
    combining marks and invisible format characters removed, ligatures spelled
    out, every apostrophe written ``'``.

    Works character by character, so offsets stay easy to map back; it does not
    split words or drop elisions (see :func:`tokenize`). Pure; never raises.
    """
    return "".join(_fold(c)[0] for c in s)


@functools.lru_cache(maxsize=4096)
def fold_case(s: str) -> str:
    """Return ``s`` folded like :func:`normalize` but keeping case: "État" gives "Etat".

    Used to compare case-sensitive terms. Pure; never raises.
    """
    out = []
    for ch in unicodedata.normalize("NFKD", s):
        if ch in _EXTRA_FOLDS:
            out.append(_EXTRA_FOLDS[ch])
        elif unicodedata.category(ch) not in ("Mn", "Me", "Cf"):
            out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def tokenize(s: str) -> list[Token]:
    """Split ``s`` into normalized word tokens with offsets into ``s``.

    A token is a maximal run of letters, digits and marks of the folded text
    (see :func:`normalize`); hyphens, apostrophes and all other punctuation
    separate tokens. A French elision (``l'``, ``d'``, ``qu'``, ``jusqu'``...)
    directly followed by an apostrophe and a word is dropped, so "l’OTAN"
    yields one token for "OTAN" with the offsets of "OTAN". Combining marks
    and soft hyphens inside a word stay inside its span.

    Pure; never raises.
    """
    folded = fold_fast(s)
    if folded is None:
        return _tokenize_exact(s)
    words = list(_NON_BLANK.finditer(folded[1].decode("ascii")))
    # Tuples made by map in C, not by Token's Python-level constructor: half the cost.
    return list(map(tuple.__new__, repeat(Token),
                    zip(map(re.Match.group, words), map(re.Match.start, words), map(re.Match.end, words))))


def fold_fast(s: str) -> tuple[bytes, bytes] | None:
    """(``s`` in the one-byte codec, ``s`` folded with elisions and apostrophes blanked), both
    the length of ``s``; None when ``s`` holds a character the codec does not cover.

    Most text: every character folds to one ASCII letter or digit, or to a separator, so a
    charmap encode and a bytes.translate fold it all at once; the tokens are its runs of
    non-blanks. Pure.
    """
    raw = encode_fast(s)
    return None if raw is None else (raw, fold_encoded(raw))


def encode_fast(s: str) -> bytes | None:
    """``s`` in the one-byte codec of the fast path (one byte per character), or None
    when ``s`` holds a character the codec does not cover. Pure."""
    try:
        return codecs.charmap_encode(s, "strict", _ENCODING)[0]
    except UnicodeEncodeError:
        return None


def fold_encoded(raw: bytes) -> bytes:
    """The folded text of :func:`fold_fast` from ``raw``, the text in the codec. Pure."""
    b = raw.translate(_FOLD)
    return _elide(b) if b"'" in b else b


def words_encoded(raw: bytes) -> bytes:
    """``raw`` (the text in the codec) folded with every separator blanked, apostrophes
    included, and French elisions kept: lowercase ASCII letters and digits and spaces,
    one byte per character of the text. Pure."""
    return raw.translate(_FOLD_WORDS)


def _tokenize_exact(s: str) -> list[Token]:
    """:func:`tokenize`, character by character: for any text."""
    raw: list[tuple[str, int, int]] = []
    cur: list[str] = []
    start = end = -1
    for i, c in enumerate(s):
        piece, kind = _fold(c)
        if kind == _WORD:
            if start < 0:
                start = i
            cur.append(piece)
            end = i + 1
        elif kind == _EMPTY:
            if start >= 0:
                end = i + 1
        elif kind == _SEP:
            if start >= 0:
                raw.append(("".join(cur), start, end))
                cur, start = [], -1
        else:
            # A character folding to letters and punctuation (e.g. "½" -> "1⁄2"):
            # every resulting token spans the whole original character.
            for ch in piece:
                if _is_word_char(ch):
                    if start < 0:
                        start = i
                    cur.append(ch)
                    end = i + 1
                elif start >= 0:
                    raw.append(("".join(cur), start, end))
                    cur, start = [], -1
    if start >= 0:
        raw.append(("".join(cur), start, end))

    tokens = []
    last = len(raw) - 1
    for k, (norm, st, en) in enumerate(raw):
        if (norm in ELISIONS and k < last and _fold(s[en])[0] == "'"
                and all(_fold(c)[1] == _EMPTY for c in s[en + 1:raw[k + 1][1]])):
            # Only invisible characters may stand between the apostrophe and the word.
            continue
        tokens.append(Token(norm, st, en))
    return tokens


# --- the fast path: most text folds with a codec -----------------------------------------

# Non-ASCII characters that fold to one ASCII letter or digit, or to a separator:
# they get a byte of their own, so a whole text folds with one charmap encode and one
# bytes.translate. Anything else takes the exact, slower path.
_CANDIDATES = ("\u00a0’‘“”«»–—…‹›•·¡¿°€£§©®™„‚′″−‐‑‒―\u2009\u202f\u200b"
               + "".join(chr(c) for c in range(0xC0, 0x100))
               + "čšžćłńśźżăşţğıďťňřůőűęąėįųūēīāŁŚŹŻĆŃČŠŽŘŤĎŇŮĘĄŞŢĞĂ")


def _build_codec() -> tuple[object, bytes, bytes]:
    table = [chr(i) for i in range(128)]
    fold = bytearray(range(128))
    for i in range(128):
        piece, kind = _fold(chr(i))
        fold[i] = ord(piece) if kind == 1 and len(piece) == 1 else (39 if piece == "'" else 32)
    for c in _CANDIDATES:
        if len(table) == 256:
            break
        piece, kind = _fold(c)
        if kind == 1 and len(piece) == 1 and piece.isascii():
            fold.append(ord(piece))
        elif kind == 2:
            fold.append(39 if piece == "'" else 32)
        else:
            continue
        table.append(c)
    while len(table) < 256:  # unused slots: characters that never occur
        table.append(chr(0xE000 + len(table)))
        fold.append(32)
    # The same folding, keeping case: to look for case-sensitive terms quickly.
    cased = bytearray()
    for c in table:
        f = fold_case(c)
        cased.append(ord(f) if len(f) == 1 and f.isascii() else 32)
    return codecs.charmap_build("".join(table)), bytes(fold), bytes(cased)


_ENCODING, _FOLD, _FOLD_CASE = _build_codec()
_FOLD_WORDS = _FOLD.replace(b"'", b" ")


def _elision_pattern() -> re.Pattern:
    """Elisions over the *reversed* folded text.

    Same rule as :func:`_tokenize_exact`: an elision word ("l", "qu") that is a
    whole word, directly followed by an apostrophe and a letter or digit.
    Reversed, the pattern starts with the apostrophe, which the regex engine
    finds fast. One pass, so every lookaround reads the text as it was:
    "d'l'otan" and "qu'lorsqu'il" lose both.
    """
    words = sorted((re.escape(e.encode()[::-1]) for e in ELISIONS), key=len, reverse=True)
    return re.compile(rb"'(?<=[a-z0-9]')(?:%s)(?![a-z0-9])" % b"|".join(words))


_ELISION = _elision_pattern()


def _blank(m: re.Match) -> bytes:
    return b" " * (m.end() - m.start())


def _elide(b: bytes) -> bytes:
    """Folded ``b`` with French elisions ("l'" of "l'otan") and then every apostrophe blanked.

    Keeps the length, so offsets into it are offsets into the text.
    """
    return _ELISION.sub(_blank, b[::-1])[::-1].replace(b"'", b" ")


_NON_BLANK = re.compile(r"[^ ]+")

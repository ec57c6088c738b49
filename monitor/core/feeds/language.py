"""The language of an article: as its feed says, else guessed from its words. Pure, but
for reading simplemma's word lists once per process, the first time a language has to be
detected."""

from __future__ import annotations

import threading
from typing import Any


def _language(value: Any) -> str | None:
    # A language tag as given ("fr_CA"), in one form ("fr-ca"); None when there is none.
    if not isinstance(value, str):
        return None
    value = value.strip().replace("_", "-").lower()
    return value or None


# Detection is on the start of the text only: it costs something for every word,
# and the first 300 characters are enough to tell these languages apart.
DETECTED_LANGUAGES = ("fr", "en", "de", "es", "it", "pt", "nl")
_DETECT_CHARS = 300
_DETECT_MIN_WORDS = 5  # distinct words of 3+ letters, fewer is guesswork
_DETECT_MIN_SHARE = 0.5  # of those words, found in the winning language's word list
_MEMO_MAX = 200_000
_memo: dict[str, frozenset[str]] = {}  # word -> the languages whose word list has it
_simplemma: Any = None
_LOADING = threading.Lock()


def detect_language(text: str) -> str | None:
    """The language of ``text`` among :data:`DETECTED_LANGUAGES`, or None.

    Looks at the first 300 characters only. None when they hold fewer than 5
    distinct words of 3 letters or more, when no language knows at least half
    of them, or on a tie. Uses simplemma's word lists (memory-frugal variant),
    read on the first call. Raises nothing.
    """
    global _simplemma
    if _simplemma is None:
        with _LOADING:  # poll_feeds parses in threads: load the word lists once
            if _simplemma is None:
                _simplemma = _load_simplemma()
    sampler, normalize, lookup = _simplemma
    words = [normalize(w) for w in sampler.sample_text(text[:_DETECT_CHARS])]
    if len(words) < _DETECT_MIN_WORDS:
        return None
    counts = dict.fromkeys(DETECTED_LANGUAGES, 0)
    for word in words:
        languages = _memo.get(word)
        if languages is None:
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            languages = _memo[word] = frozenset(
                lang for lang in DETECTED_LANGUAGES if lookup.get_lemma(word, lang) is not None)
        for lang in languages:
            counts[lang] += 1
    (best, top), (_, second) = sorted(counts.items(), key=lambda kv: -kv[1])[:2]
    if top < _DETECT_MIN_SHARE * len(words) or top == second:
        return None
    return best


def _load_simplemma() -> tuple[Any, Any, Any]:
    from simplemma import MostCommonTokenSampler
    from simplemma.strategies import DictionaryLookupStrategy
    from simplemma.strategies.dictionaries import StreamDictionaryFactory
    from simplemma.utils import normalize_token

    # Plain dictionary lookup (no affix or rule guessing): cheaper than
    # simplemma.langdetect and as accurate on news text. The stream factory
    # holds the word lists in a small part of the memory of the default one;
    # its slower lookups are what the memo above is for.
    return (MostCommonTokenSampler(), normalize_token,
            DictionaryLookupStrategy(StreamDictionaryFactory()))

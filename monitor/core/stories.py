"""Story grouping: which articles report the same story, across feeds and outlets.

Pure: every function here computes from its arguments and touches nothing
outside itself (no I/O; the in-memory :class:`StoryIndex` holds only what it
is given).

How two articles are compared
-----------------------------
* **Text.** The title and the lead (the first :data:`LEAD_WORDS` words of the
  text) are tokenized with :func:`monitor.core.text.tokenize`, so case, accents,
  punctuation and French elisions do not matter. The word
  :data:`SHINGLE`-grams of that token stream form a set, summarized by a
  MinHash of :data:`NUM_PERM` 32-bit values: a :class:`Signature`, stored as
  bytes. The MinHash is datasketch's ``affine32`` scheme with seed
  :data:`SEED`, bit for bit (a test checks it against datasketch), written
  here in numpy because importing datasketch imports its Redis storage.
  :func:`similarity` estimates the Jaccard similarity of two such sets and
  :func:`containment` how much of the smaller set lies in the larger one
  (so a truncated RSS summary still matches the full wire copy).
* **Entities.** :func:`entities` picks out the capitalized words, acronyms
  and numbers of the title and lead, folded and mapped through an alias table
  (``otan`` -> ``nato``, ``kiev`` -> ``kyiv``...).
* **Time.** Two articles further apart than the window (48 hours by default)
  are never the same story.

:func:`same_story` joins near-duplicates (wire copies with small edits, a new
headline on the same text, the same story re-published under a new URL) and
keeps apart follow-ups with new text and unrelated articles that merely
share entities. With ``cross_language=True`` it also links reports in two
different languages that share many entities and were published close in
time (see :func:`same_story`).

How candidates are found
------------------------
Never by a scan of the stored articles. The signature is cut into
:data:`BANDS` bands of :data:`ROWS` values; each band gives a string key
(:meth:`Signature.band_keys`). Articles whose sets are similar share at least
one band key with high probability (LSH). The entity set gives a few more
keys (:meth:`StoryCandidate.entity_keys`) used only for cross-language
links. A database keeps one row per (key, article id, story id, published)
with an index on the key; :class:`StoryIndex` is the same logic in memory.

What to persist per article
---------------------------
``signature.data`` (``NUM_PERM * 4`` bytes), ``signature.size`` (int),
``entities`` (e.g. space-joined, sorted), ``published``, ``language``, the
story id, and one index row per key in ``candidate.keys()``. Rebuild with
:meth:`StoryCandidate.from_plain` / :meth:`Signature.from_bytes`. Every key
starts with :data:`SCHEME`; changing the MinHash parameters changes the
scheme, so old and new keys never collide (re-sign old articles or let them
age out of the window).
"""

from __future__ import annotations

import hashlib
import itertools
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from monitor.core.text import tokenize

__all__ = [
    "ALIASES", "BANDS", "DEFAULT_WINDOW", "LEAD_WORDS", "NUM_PERM", "ROWS", "SCHEME", "SEED", "SHINGLE",
    "Signature", "StoryCandidate", "StoryIndex", "best_story", "candidate", "containment", "entities",
    "same_story", "shingles", "signature", "similarity",
]

#: Words of the text read after the title (the lead).
LEAD_WORDS = 60
#: Words per shingle.
SHINGLE = 2
#: MinHash size, and its cut into LSH bands of ``ROWS`` values.
NUM_PERM = 128
BANDS = 42  # 42 bands of 3 values use 126 of the 128
ROWS = 3
SEED = 1
#: Names the parameters above and the key hashing: every index key depends on it, so
#: change it with them ("m1" keys were strings, hashed again by the store).
SCHEME = "m2"
#: Articles further apart than this are never the same story.
DEFAULT_WINDOW = timedelta(hours=48)
#: Reports in two languages must be this close in time to be linked.
CROSS_LANGUAGE_WINDOW = timedelta(hours=12)

# Decision thresholds (see same_story); tuned on tests/support/storycorpus.py.
_NEAR_DUP = 0.5  # estimated Jaccard: near-duplicate on text alone
_CONTAINED = 0.75  # estimated containment of the smaller set in the larger
_MIN_CONTAINED_SIZE = 12  # a smaller set than this is too short to judge by containment
_SIMILAR = 0.2  # estimated Jaccard: same story if the entities agree too
_ENTITY_OVERLAP = 0.5  # shared entities / entities of the smaller set
_MIN_SHARED = 2
_XLANG_SHARED = 4  # cross-language: shared entities, at least
_XLANG_JACCARD = 0.5  # cross-language: Jaccard of the entity sets, at least
_ENTITY_KEY_HEAD = 6  # cross-language keys: triples of the first entities
_ENTITY_KEY_MIN = 3

#: Entity aliases applied after folding (see monitor.core.text.normalize): spelling
#: variants and the French names of common news entities map to one form.
#: Keys are one folded word or two separated by a space.
ALIASES: Mapping[str, str] = {
    "otan": "nato", "kiev": "kyiv", "moscou": "moscow", "russie": "russia", "chine": "china",
    "allemagne": "germany", "espagne": "spain", "italie": "italy", "pologne": "poland",
    "royaume uni": "uk", "united kingdom": "uk", "britain": "uk", "grande bretagne": "uk",
    "etats unis": "usa", "united states": "usa", "us": "usa", "u s": "usa",
    "union europeenne": "eu", "european union": "eu", "ue": "eu",
    "bce": "ecb", "onu": "un", "united nations": "un", "nations unies": "un",
    "bruxelles": "brussels", "londres": "london", "pekin": "beijing", "varsovie": "warsaw",
    "geneve": "geneva", "la haye": "hague", "turquie": "turkey", "turkiye": "turkey",
    "israel": "israel", "iran": "iran", "gaza": "gaza", "liban": "lebanon", "syrie": "syria",
    "ukraine": "ukraine", "ukrainien": "ukraine", "ukrainienne": "ukraine", "ukrainian": "ukraine",
    "russe": "russia", "russes": "russia", "russian": "russia", "francais": "france", "french": "france",
    "zelensky": "zelensky", "zelenskyy": "zelensky", "zelenski": "zelensky", "poutine": "putin",
    "commission europeenne": "commission", "european commission": "commission",
    "nouvelle zelande": "new zealand", "afrique du": "south africa", "south africa": "south africa",
    "coree du": "korea", "japon": "japan", "mexique": "mexico", "bresil": "brazil", "inde": "india",
    "egypte": "egypt", "arabie saoudite": "saudi arabia", "grece": "greece", "suede": "sweden",
    "finlande": "finland", "norvege": "norway", "danemark": "denmark", "autriche": "austria",
    "hongrie": "hungary", "roumanie": "romania", "belgique": "belgium", "suisse": "switzerland",
    "pays bas": "netherlands", "irlande": "ireland", "ecosse": "scotland", "maroc": "morocco",
    "algerie": "algeria", "tunisie": "tunisia", "lituanie": "lithuania", "lettonie": "latvia",
    "estonie": "estonia", "moldavie": "moldova", "georgie": "georgia", "armenie": "armenia",
}

# Capitalized words that start sentences (or Title Case headlines) without naming anything.
_COMMON = frozenset("""
a an the this that these those it its he she they we i you his her their our in on at of for to from by with
as after before over under and or but if when while where who what which why how not no yes new more most
said says say will would could should may might can has have had is are was were be been being do does did
le la les un une des du de et ou mais si quand lorsque il elle ils elles nous vous je on ce cet cette ces
son sa ses leur leurs notre apres avant pour par avec sans sous sur dans en au aux selon est sont a ont
etait ete sera seront fait plus moins tres aussi ainsi alors deja encore
monday tuesday wednesday thursday friday saturday sunday lundi mardi mercredi jeudi vendredi samedi dimanche
january february march april may june july august september october november december janvier fevrier
mars avril mai juin juillet aout septembre octobre novembre decembre
""".split())

# The entities the default aliases name, once.
_KNOWN = frozenset(ALIASES.values())

_SENTENCE_END = frozenset(".!?:;\u00ab\u00bb\"\u201c\u201d\u2014\u2013(\n")


def _permutations() -> tuple[np.ndarray, np.ndarray]:
    # datasketch 2.x, scheme "affine32": h -> a*h + b mod 2^32 with odd a.
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


_A, _B = _permutations()


_DIGEST = operator.methodcaller("digest")


def _minhash(items: Iterable[bytes]) -> np.ndarray:
    # sha1 -> first 4 bytes little-endian -> MurmurHash3 fmix32 -> affine permutations -> column minimum.
    # 20-byte digests end to end; every fifth little-endian 32-bit word is a digest's first four bytes.
    # Chained maps: the loop runs in C, with no Python frame per shingle.
    hv = np.frombuffer(b"".join(map(_DIGEST, map(hashlib.sha1, items))), dtype="<u4")[::5].reshape(-1, 1).copy()
    if hv.size == 0:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    hv ^= hv >> np.uint32(16)
    hv *= np.uint32(0x85EBCA6B)
    hv ^= hv >> np.uint32(13)
    hv *= np.uint32(0xC2B2AE35)
    hv ^= hv >> np.uint32(16)
    return (hv * _A + _B).min(axis=0)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer (a bijection of 64-bit integers), element-wise."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


# One salt per band, so equal values in two bands give two keys; derived from SCHEME.
_BAND_SALT = np.frombuffer(b"".join(hashlib.blake2b(b"%s:b%02d" % (SCHEME.encode(), band), digest_size=8).digest()
                                    for band in range(BANDS)), dtype="<u8").astype(np.uint64)


def _key(kind: bytes, payload: bytes) -> int:
    # A signed 64-bit integer, what a database indexes cheaply (BIGINT), personalized by
    # the scheme and the kind of key.
    return int.from_bytes(hashlib.blake2b(payload, digest_size=8, person=SCHEME.encode() + kind).digest(),
                          "little", signed=True)


@dataclass(frozen=True)
class Signature:
    """The MinHash of an article's title-and-lead shingles.

    ``data`` holds :data:`NUM_PERM` unsigned 32-bit little-endian values;
    ``size`` is the number of distinct shingles (0 for an empty text, whose
    signature matches nothing). Both are plain data to store as they are.
    """

    data: bytes
    size: int

    @classmethod
    def from_bytes(cls, data: bytes, size: int) -> Signature:
        """Rebuild a stored signature. Raises ValueError if ``data`` has the wrong length."""
        if len(data) != NUM_PERM * 4:
            raise ValueError(f"a story signature is {NUM_PERM * 4} bytes, got {len(data)}")
        return cls(bytes(data), int(size))

    @property
    def hashes(self) -> tuple[int, ...]:
        """The MinHash values as ints."""
        return tuple(int(v) for v in np.frombuffer(self.data, dtype="<u4"))

    def band_keys(self) -> tuple[int, ...]:
        """The LSH keys of this signature, one per band: signed 64-bit integers.

        Two articles are compared only if they share one of these (or, across
        languages, an entity key). An empty text has no keys.
        """
        if self.size == 0:
            return ()
        # splitmix64's finalizer over each band's three values and the band's number, for all
        # bands at once: every key in a few vector steps instead of a hash call per band.
        v = np.frombuffer(self.data, dtype="<u4")[:BANDS * ROWS].reshape(BANDS, ROWS).astype(np.uint64)
        x = _mix64((v[:, 0] | (v[:, 1] << np.uint64(32))) ^ _BAND_SALT)
        x = _mix64(x ^ v[:, 2])
        return tuple(x.view(np.int64).tolist())


@dataclass(frozen=True)
class StoryCandidate:
    """What story grouping knows of one article: to be stored beside it."""

    signature: Signature
    entities: frozenset[str]
    published: datetime  # timezone-aware; the fetch time when the feed gives none
    language: str | None = None

    def entity_keys(self) -> tuple[int, ...]:
        """Keys from triples of the first entities, for cross-language candidates."""
        head = list(dict.fromkeys(e for e in self._ordered if not e.isdigit()))[:_ENTITY_KEY_HEAD]
        if len(head) < _ENTITY_KEY_MIN:
            return ()
        return tuple(_key(b"e", "\x1f".join(sorted(t)).encode())
                     for t in itertools.combinations(head, 3))

    def keys(self, *, cross_language: bool = False) -> tuple[int, ...]:
        """Every index key of this article: its band keys, plus entity keys if asked."""
        keys = self.signature.band_keys()
        return keys + self.entity_keys() if cross_language else keys

    # Order of first appearance, kept for entity keys; not part of equality.
    _ordered: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def to_plain(self) -> dict:
        """The candidate as plain data (bytes, ints, strings, datetime) for storage."""
        return {"signature": self.signature.data, "size": self.signature.size,
                "entities": " ".join(self._ordered or sorted(self.entities)),
                "published": self.published, "language": self.language}

    @classmethod
    def from_plain(cls, d: Mapping) -> StoryCandidate:
        """Rebuild a candidate from :meth:`to_plain`. Raises ValueError on a malformed signature."""
        ordered = tuple(d["entities"].split())
        return cls(Signature.from_bytes(d["signature"], d["size"]), frozenset(ordered),
                   d["published"], d.get("language"), ordered)


def _lead_tokens(text: str, lead_words: int) -> list:
    """``tokenize(text)[:lead_words]``, tokenizing only as much of the text as that takes.

    The text is cut at a blank, where no token can straddle, far enough in to
    hold ``lead_words`` tokens and one more; the cut doubles until it does.
    """
    cut = 12 * (lead_words + 1)
    while cut < len(text):
        end = cut
        while end < len(text) and not text[end].isspace():
            end += 1
        toks = tokenize(text[:end])
        if len(toks) > lead_words:
            return toks[:lead_words]
        cut *= 2
    return tokenize(text)[:lead_words]


def _shingles(words: list[str]) -> frozenset[str]:
    if len(words) < SHINGLE:
        return frozenset(words)
    return frozenset(map(" ".join, zip(*(words[i:] for i in range(SHINGLE)))))


def shingles(title: str, text: str, *, lead_words: int = LEAD_WORDS) -> frozenset[str]:
    """The word :data:`SHINGLE`-grams of the normalized title and lead."""
    return _shingles([t.norm for t in tokenize(title)] + [t.norm for t in _lead_tokens(text, lead_words)])


def signature(title: str, text: str, *, lead_words: int = LEAD_WORDS) -> Signature:
    """The MinHash signature of an article's title and lead. Never raises."""
    return _signature(shingles(title, text, lead_words=lead_words))


def _signature(sh: frozenset[str]) -> Signature:
    return Signature(_minhash(map(str.encode, sh)).astype("<u4").tobytes(), len(sh))


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two shingle sets, in [0, 1]; 0 if either is empty."""
    if a.size == 0 or b.size == 0:
        return 0.0
    return float(np.count_nonzero(np.frombuffer(a.data, "<u4") == np.frombuffer(b.data, "<u4"))) / NUM_PERM


def containment(a: Signature, b: Signature) -> float:
    """Estimated share of the smaller shingle set found in the larger, in [0, 1]."""
    j = similarity(a, b)
    if j == 0.0:
        return 0.0
    inter = j / (1 + j) * (a.size + b.size)
    return min(1.0, inter / min(a.size, b.size))


def _capitalized_words(s: str, aliases: Mapping[str, str], *, headline: bool,
                       toks: list | None = None) -> list[tuple[str, bool]]:
    """(entity, sure) pairs; not sure = a plain capitalized word opening a sentence.

    ``toks``: the tokens of ``s``, when the caller has them already."""
    toks = tokenize(s) if toks is None else toks
    known = _KNOWN if aliases is ALIASES else frozenset(aliases.values())
    caps = [s[t.start].isupper() for t in toks]
    # A Title Case headline capitalizes every word: only acronyms and numbers count there.
    title_case = headline and len(toks) >= 4 and sum(caps) / len(toks) > 0.6
    out: list[tuple[str, bool]] = []
    skip = False
    last = len(toks) - 1
    for i, t in enumerate(toks):
        if skip:
            skip = False
            continue
        norm = t.norm
        if not caps[i]:  # most words: only a number can count (a capital never folds to a digit)
            if norm.isdigit() and (len(norm) >= 2 or (i and toks[i - 1].norm.isdigit())):
                out.append((norm, True))
            continue
        if i < last:
            pair = f"{norm} {toks[i + 1].norm}"
            if pair in aliases:
                out.append((aliases[pair], True))
                skip = True
                continue
        if norm in _COMMON:
            continue
        orig = s[t.start:t.end]
        acronym = len(orig) >= 2 and orig.isupper()
        if title_case and not acronym:
            continue
        if not acronym and len(norm) < 3:
            continue
        opens = i == 0 or any(ch in _SENTENCE_END for ch in s[toks[i - 1].end:t.start])
        out.append((aliases.get(norm, norm), acronym or norm in aliases or norm in known or not opens))
    return out


def entities(title: str, text: str, *, aliases: Mapping[str, str] = ALIASES,
             lead_words: int = LEAD_WORDS) -> tuple[str, ...]:
    """The entities named in the title and lead, folded and aliased, in order of first appearance.

    A heuristic without a model: capitalized words (except function words
    and weekdays), acronyms, and numbers of two digits or more. In a Title
    Case headline only acronyms and numbers count. Never raises.
    """
    return _entities(title, tokenize(title), text, _lead_tokens(text, lead_words), aliases)


def _entities(title: str, title_toks: list, text: str, lead_toks: list,
              aliases: Mapping[str, str]) -> tuple[str, ...]:
    lead = text[:lead_toks[-1].end] if lead_toks else ""
    found = (_capitalized_words(title, aliases, headline=True, toks=title_toks)
             + _capitalized_words(lead, aliases, headline=False, toks=lead_toks))
    # "Officials said..." opens a sentence; "Russia launched..." too, but Russia recurs mid-sentence.
    sure = {e for e, ok in found if ok}
    return tuple(dict.fromkeys(e for e, _ in found if e in sure))


def candidate(title: str, text: str, published: datetime, language: str | None = None, *,
              aliases: Mapping[str, str] = ALIASES) -> StoryCandidate:
    """Build the :class:`StoryCandidate` of an article. Never raises."""
    # The title and the lead are tokenized once, for the signature and the entities.
    title_toks, lead_toks = tokenize(title), _lead_tokens(text, LEAD_WORDS)
    ents = _entities(title, title_toks, text, lead_toks, aliases)
    sig = _signature(_shingles([t.norm for t in title_toks] + [t.norm for t in lead_toks]))
    return StoryCandidate(sig, frozenset(ents), published, language, ents)


def _entity_overlap(a: frozenset[str], b: frozenset[str]) -> tuple[int, float, float]:
    shared = len(a & b)
    if not shared:
        return 0, 0.0, 0.0
    return shared, shared / min(len(a), len(b)), shared / len(a | b)


def story_score(a: StoryCandidate, b: StoryCandidate, *, window: timedelta = DEFAULT_WINDOW,
                cross_language: bool = False) -> float:
    """How surely ``a`` and ``b`` report the same story: 0.0 when they do not, else in (0, 1].

    See :func:`same_story` for the rule. Never raises.
    """
    dt = abs(a.published - b.published)
    if dt > window:
        return 0.0
    j = similarity(a.signature, b.signature)
    if j >= _NEAR_DUP:
        return j
    if (min(a.signature.size, b.signature.size) >= _MIN_CONTAINED_SIZE
            and containment(a.signature, b.signature) >= _CONTAINED):
        return max(j, 0.5)
    shared, overlap, ej = _entity_overlap(a.entities, b.entities)
    if j >= _SIMILAR and shared >= _MIN_SHARED and overlap >= _ENTITY_OVERLAP:
        return j
    if (cross_language and a.language and b.language and a.language != b.language
            and dt <= CROSS_LANGUAGE_WINDOW and shared >= _XLANG_SHARED and ej >= _XLANG_JACCARD):
        return 0.01 + 0.1 * ej
    return 0.0


def same_story(a: StoryCandidate, b: StoryCandidate, *, window: timedelta = DEFAULT_WINDOW,
               cross_language: bool = False) -> bool:
    """True when ``a`` and ``b`` report the same story.

    Never when they are further apart in time than ``window``. Otherwise yes
    when their title-and-lead shingle sets are near-duplicates (estimated
    Jaccard >= 0.5, or the smaller set of at least 12 shingles is >= 75 %
    contained in the larger), or when they are similar (Jaccard >= 0.2) and
    at least half the entities of the one naming fewer are shared (two at
    least). With ``cross_language``, two articles in different known
    languages published within 12 hours also match when they share at least
    four entities and half of all their entities. Never raises.
    """
    return story_score(a, b, window=window, cross_language=cross_language) > 0.0


def best_story(new: StoryCandidate, neighbours: Iterable[tuple[object, StoryCandidate]], *,
               window: timedelta = DEFAULT_WINDOW, cross_language: bool = False) -> object | None:
    """The story a new article joins: that of its best-scoring neighbour, or None for a new story.

    ``neighbours`` are ``(story_id, candidate)`` pairs of the stored articles
    sharing at least one key with ``new`` (what a database index returns).
    Ties go to the earliest neighbour given. Never raises.
    """
    best, best_score = None, 0.0
    for story_id, other in neighbours:
        score = story_score(new, other, window=window, cross_language=cross_language)
        if score > best_score:
            best, best_score = story_id, score
    return best


class StoryIndex:
    """Stories in memory, found through their keys: the logic a database-backed index uses.

    Each key maps to the ids of the articles that have it, newest last. A new
    article is compared only with the articles sharing a key with it, at most
    ``per_key`` newest ones per key, and joins the story of the best match
    (see :func:`best_story`); otherwise it starts a story whose id is its own
    article id. Stories are never merged afterwards, so an alert already sent
    for a story stays its story's alert.

    Not thread-safe. Pure: touches nothing outside itself.
    """

    def __init__(self, *, window: timedelta = DEFAULT_WINDOW, cross_language: bool = False,
                 per_key: int = 50):
        self.window = window
        self.cross_language = cross_language
        self.per_key = per_key
        self._postings: dict[str, list] = defaultdict(list)
        self._articles: dict[object, tuple[object, StoryCandidate]] = {}
        self.comparisons = 0  # candidates compared, over the index's life (for benchmarks)

    def __len__(self) -> int:
        return len(self._articles)

    def neighbours(self, cand: StoryCandidate) -> list[object]:
        """Ids of the stored articles sharing a key with ``cand`` and within the window of it."""
        seen: dict[object, None] = {}
        for key in cand.keys(cross_language=self.cross_language):
            ids = self._postings.get(key)
            if not ids:
                continue
            for aid in ids[-1:-self.per_key - 1:-1]:
                if aid not in seen and abs(self._articles[aid][1].published - cand.published) <= self.window:
                    seen[aid] = None
        return list(seen)

    def find(self, cand: StoryCandidate) -> object | None:
        """The story ``cand`` would join, without adding it."""
        ids = self.neighbours(cand)
        self.comparisons += len(ids)
        return best_story(cand, (self._articles[i] for i in ids), window=self.window,
                          cross_language=self.cross_language)

    def add(self, article_id: object, cand: StoryCandidate) -> object:
        """Store an article and return its story id. Adding an id again returns its story unchanged."""
        if article_id in self._articles:
            return self._articles[article_id][0]
        story = self.find(cand)
        if story is None:
            story = article_id
        self._articles[article_id] = (story, cand)
        for key in cand.keys(cross_language=self.cross_language):
            self._postings[key].append(article_id)
        return story

    def story_of(self, article_id: object) -> object:
        """The story id of a stored article. Raises KeyError for an unknown id."""
        return self._articles[article_id][0]

    def stories(self) -> dict[object, list[object]]:
        """Every story id with its article ids, in the order they were added."""
        out: dict[object, list[object]] = defaultdict(list)
        for aid, (story, _) in self._articles.items():
            out[story].append(aid)
        return dict(out)

    def expire(self, before: datetime) -> int:
        """Forget the articles published before ``before``; return how many.

        A database does the same with ``DELETE ... WHERE published < ?``.
        """
        old = {aid for aid, (_, c) in self._articles.items() if c.published < before}
        if not old:
            return 0
        for aid in old:
            del self._articles[aid]
        for key in list(self._postings):
            kept = [aid for aid in self._postings[key] if aid not in old]
            if kept:
                self._postings[key] = kept
            else:
                del self._postings[key]
        return len(old)

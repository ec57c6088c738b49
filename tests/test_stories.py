"""Story grouping on a corpus with known groups, and the properties storage relies on."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from datetime import timedelta

import pytest

from support.samples import ROOT
from monitor.core import stories as S
from support.storycorpus import T0, build

ARTICLES = build()


def group(*, cross_language=False):
    idx = S.StoryIndex(cross_language=cross_language)
    for a in ARTICLES:
        idx.add(a.id, S.candidate(a.title, a.text, a.published, a.language))
    return idx


def pairwise(idx, *, same_language: bool):
    """Pairwise precision and recall of the grouping against the corpus truth."""
    tp = fp = fn = 0
    for a, b in itertools.combinations(ARTICLES, 2):
        if (a.language == b.language) != same_language:
            continue
        truth = a.story == b.story if same_language else a.event == b.event
        pred = idx.story_of(a.id) == idx.story_of(b.id)
        tp += truth and pred
        fp += pred and not truth
        fn += truth and not pred
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0), tp + fn


def test_grouping_precision_and_recall_on_the_corpus():
    idx = group()
    p, r, n = pairwise(idx, same_language=True)
    print(f"\nsame-language pairs: precision {p:.3f} recall {r:.3f} ({n} true pairs, "
          f"{len(ARTICLES)} articles, {len(idx.stories())} stories)")
    assert p >= 0.95 and r >= 0.85


def test_follow_ups_and_unrelated_articles_sharing_entities_start_their_own_story():
    idx = group()
    for a in ARTICLES:
        if a.kind in ("followup", "unrelated"):
            assert idx.story_of(a.id) == a.id, a.id


def test_every_kind_of_copy_joins_its_wire_story():
    idx = group()
    for a in ARTICLES:
        if a.kind in ("copy", "headline", "summary", "republish"):
            assert idx.story_of(a.id) == idx.story_of(f"{a.story}-0"), a.id


def test_french_and_english_reports_of_one_event_join_when_asked():
    idx = group(cross_language=True)
    p, r, n = pairwise(idx, same_language=False)
    sp, sr, _ = pairwise(idx, same_language=True)
    print(f"\ncross-language pairs: precision {p:.3f} recall {r:.3f} ({n} true pairs); "
          f"same-language then: precision {sp:.3f} recall {sr:.3f}")
    assert p >= 0.95 and r >= 0.85 and sp >= 0.95
    assert idx.story_of("nato-fr-0") == idx.story_of("nato-en-0")
    assert idx.story_of("kyiv-fr-0") == idx.story_of("kyiv-en-0")
    assert idx.story_of("kyiv-fr-other") != idx.story_of("kyiv-en-0")
    # Off by default.
    assert group().story_of("nato-fr-0") != group().story_of("nato-en-0")


def test_aliases_make_french_and_english_entities_one():
    fr = S.entities("L'OTAN et Kiev", "Moscou a répondu à l'OTAN mardi, selon Kiev et les États-Unis.")
    en = S.entities("NATO and Kyiv", "Moscow replied to NATO on Tuesday, according to Kyiv and the United States.")
    assert set(fr) == set(en) == {"nato", "kyiv", "moscow", "usa"}


def test_the_time_window_bounds_a_story():
    a = ARTICLES[0]
    first = S.candidate(a.title, a.text, T0)
    later = S.candidate(a.title, a.text, T0 + timedelta(hours=49))
    assert not S.same_story(first, later)
    assert S.same_story(first, later, window=timedelta(hours=72))
    idx = S.StoryIndex()
    assert idx.add(1, first) == 1 and idx.add(2, later) == 2


def test_an_empty_text_matches_nothing_and_has_no_keys():
    empty = S.candidate("", "", T0)
    assert empty.signature.size == 0 and empty.keys() == ()
    assert not S.same_story(empty, S.candidate("", "", T0))


def test_candidates_round_trip_through_plain_data():
    a = next(a for a in ARTICLES if a.language == "fr")
    c = S.candidate(a.title, a.text, a.published, a.language)
    plain = c.to_plain()
    assert isinstance(plain["signature"], bytes) and len(plain["signature"]) == S.NUM_PERM * 4
    json.dumps({k: v for k, v in plain.items() if k not in ("signature", "published")})
    back = S.StoryCandidate.from_plain(plain)
    assert back == c and back.keys(cross_language=True) == c.keys(cross_language=True)
    with pytest.raises(ValueError):
        S.Signature.from_bytes(b"\0" * 10, 3)


def test_band_keys_are_stable_64_bit_integers_a_database_can_index():
    sig = S.signature("NATO allies agree", "Leaders meeting in The Hague agreed to raise spending.")
    keys = sig.band_keys()
    assert len(keys) == S.BANDS == len(set(keys))
    assert all(isinstance(k, int) and -(1 << 63) <= k < (1 << 63) for k in keys)  # a BIGINT column
    # Two bands holding the same three values still give two keys.
    same = S.Signature((b"\1\0\0\0" * S.NUM_PERM), 5).band_keys()
    assert len(set(same)) == S.BANDS
    # Pinned: a change of MinHash parameters or key hashing must change SCHEME, or stored keys go stale.
    assert S.SCHEME == PINNED_KEY0[0] and keys[0] == PINNED_KEY0[1], (S.SCHEME, keys[0])


PINNED_KEY0 = ("m2", 3830785694928591458)


def test_the_minhash_is_datasketch_affine32_bit_for_bit():
    datasketch = pytest.importorskip("datasketch")
    a = ARTICLES[3]
    sh = S.shingles(a.title, a.text)
    m = datasketch.MinHash(num_perm=S.NUM_PERM, seed=S.SEED, scheme="affine32")
    m.update_batch([x.encode() for x in sh])
    assert tuple(int(v) for v in m.hashvalues) == S.signature(a.title, a.text).hashes


def test_the_index_compares_only_candidates_not_every_stored_article():
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(5000)]
    idx = S.StoryIndex()
    for i in range(2000):
        text = " ".join(rng.choice(vocab) for _ in range(60))
        idx.add(i, S.candidate(text[:40], text, T0 + timedelta(minutes=i)))
    before = idx.comparisons
    a = ARTICLES[0]
    idx.add("x", S.candidate(a.title, a.text, T0))
    assert idx.comparisons - before < 20
    assert len(idx) == 2001


def test_expire_forgets_old_articles():
    idx = S.StoryIndex()
    for k, a in enumerate(ARTICLES[:10]):
        idx.add(k, S.candidate(a.title, a.text, a.published, a.language))
    cutoff = ARTICLES[5].published
    gone = idx.expire(cutoff)
    assert gone == sum(a.published < cutoff for a in ARTICLES[:10]) and len(idx) == 10 - gone


def test_the_story_modules_import_no_io_library():
    mods = ["monitor.core.stories", "monitor.core.spikes", "monitor.core.watchdog"]
    libs = ["celery", "kombu", "sqlalchemy", "sqlmodel", "httpx", "apprise", "redis", "psycopg"]
    code = (f"import sys, json\nfor m in {mods!r}: __import__(m)\n"
            f"print(json.dumps(sorted(m for m in {libs!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout) == []

"""Story grouping benchmark: cost per new article as the store grows.

Fills a :class:`monitor.core.stories.StoryIndex` with N stored articles, all
inside the 48-hour window (the worst case: nothing has aged out), then adds
new articles (half of them edited copies of stored ones, half new stories)
and times each add, split into computing the candidate (signature and
entities: independent of N) and finding its story (band-key look-up and
comparisons: what must stay flat as N grows).

Stored articles are real synthetic texts at the small size; at the large
size all but the first ones are synthetic signatures (random MinHash values),
which collide with nothing, as unrelated articles mostly do.

    python bench/stories.py            # 10,000 and 1,000,000 stored articles
    python bench/stories.py --quick    # 10,000 and 100,000

Ends with one line of JSON holding every figure.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.core import stories as S  # noqa: E402

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)
VOCAB = [f"{a}{b}{c}" for a in "bcdfglmnprst" for b in "aeiou" for c in "lmnrstxz"][:2000]
REAL = 10_000  # stored articles with real text (the rest are synthetic signatures)
QUERIES = 2_000


def text(rng: random.Random, n: int = 70) -> tuple[str, str]:
    words = [rng.choice(VOCAB) for _ in range(n)]
    return " ".join(words[:10]).capitalize(), ". ".join(" ".join(words[i:i + 14]) for i in range(10, n, 14))


def edit(rng: random.Random, title: str, body: str) -> tuple[str, str]:
    words = body.split()
    for _ in range(4):
        words[rng.randrange(len(words))] = rng.choice(VOCAB)
    return rng.choice([title, title + " update"]), " ".join(words)


def fill(n: int, seed: int) -> tuple[S.StoryIndex, list[tuple[str, str]], float]:
    rng = random.Random(seed)
    idx = S.StoryIndex()
    kept: list[tuple[str, str]] = []
    start = time.perf_counter()
    for i in range(n):
        published = T0 + timedelta(seconds=i * 48 * 3600 / n)
        if i < REAL:
            title, body = text(rng)
            kept.append((title, body))
            cand = S.candidate(title, body, published)
        else:
            cand = S.StoryCandidate(S.Signature(rng.randbytes(S.NUM_PERM * 4), 70), frozenset(), published)
        idx.add(i, cand)
    return idx, kept, time.perf_counter() - start


def measure(idx: S.StoryIndex, kept, seed: int) -> dict:
    rng = random.Random(seed + 1)
    now = T0 + timedelta(hours=47)
    cands = []
    for q in range(QUERIES):
        if q % 2:
            title, body = edit(rng, *rng.choice(kept))
        else:
            title, body = text(rng)
        cands.append((title, body))
    t = time.perf_counter()
    built = [S.candidate(title, body, now) for title, body in cands]
    sign_us = (time.perf_counter() - t) / QUERIES * 1e6
    comps = idx.comparisons
    stored = len(idx)
    joined = 0
    t = time.perf_counter()
    for q, cand in enumerate(built):
        story = idx.add(f"q{q}", cand)
        joined += story != f"q{q}"
    group_us = (time.perf_counter() - t) / QUERIES * 1e6
    return {"stored": stored, "signature_us": round(sign_us, 1), "group_us": round(group_us, 1),
            "comparisons_per_add": round((idx.comparisons - comps) / QUERIES, 2),
            "copies_joined": round(joined / (QUERIES // 2), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10,000 and 100,000 stored articles")
    args = ap.parse_args()
    sizes = (10_000, 100_000) if args.quick else (10_000, 1_000_000)
    out: dict = {"bands": S.BANDS, "rows": S.ROWS, "num_perm": S.NUM_PERM, "queries": QUERIES}
    results = []
    for n in sizes:
        idx, kept, fill_s = fill(n, seed=7)
        # Millions of posting lists would otherwise be walked by every full GC pass while
        # timing; a database-backed index keeps them out of the Python heap altogether.
        gc.collect()
        gc.freeze()
        r = measure(idx, kept, seed=7)
        r["fill_s"] = round(fill_s, 1)
        r["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        results.append(r)
        print(f"{n:>9,} stored: candidate {r['signature_us']:7.1f} us/article, grouping {r['group_us']:7.1f} "
              f"us/article, {r['comparisons_per_add']:.2f} comparisons/add, copies joined "
              f"{r['copies_joined']:.1%}, fill {fill_s:.1f} s, peak RSS {r['peak_rss_mb']} MB", flush=True)
        del idx
        gc.unfreeze()
    small, large = results
    ratio = large["group_us"] / small["group_us"]
    print(f"grouping cost ratio {large['stored']:,}/{small['stored']:,} stored: {ratio:.2f} "
          f"(flat = an index; a scan would be {large['stored'] / small['stored']:.0f}x)")
    out.update({"small": small, "large": large, "group_ratio_large_small": round(ratio, 2),
                "size_ratio": large["stored"] / small["stored"]})
    print(json.dumps(out))


if __name__ == "__main__":
    main()

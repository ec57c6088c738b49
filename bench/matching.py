"""Benchmark the matching engine: articles/s on one core, against a naive loop and the floor.

    python bench/matching.py [--quick] [--articles N] [--seconds S]

For 10, 1,000 and 10,000 rules, on realistic French and English articles of
3-6 KB, it measures:

- engine: ``compile_rules(rules).match(doc)`` (normalization, one automaton
  scan, rule evaluation, highlights for the rules that matched);
- naive: a loop over one compiled regular expression per rule (the rule's
  positive terms as an alternation, case-insensitive), on a few articles;
- floor: a bare scan of the article text with a pyahocorasick automaton
  holding the same keys as the engine's, doing nothing with the hits (the
  goal is judged against it);
- hyperscan floor: a bare scan of the article text (UTF-8) with a hyperscan
  database of the same keys as literals, doing nothing with the hits: what
  the engine's own scanner costs on its own (the engine scans Latin-script
  fields with hyperscan, see monitor/core/matching/);
- peak memory of compiling the rules and matching, measured in a fresh
  process as the growth of its peak resident set (tracemalloc's peak where
  Linux's /proc is missing); and this process's maximum RSS;
- adversarial: articles of 25, 50, 100 and 200 KB made of nothing but rule
  terms (both terms of a NEAR rule, an entity and the words of its exclusion
  contexts: "Poutine frites", "montagnes russes"), matched with the 1,000
  rules plus such rules: the cost per KB of each against an ordinary
  article's, with the same rules (the goal: the worst at most 5 times).
  Matching cuts an article to a prefix when it holds too many terms to
  examine (Matcher.match_bounded), and the lines say so: past that size the
  cost stops growing, so the cost per KB of one large size alone would say
  more about the size chosen than about the matcher; the worst is near the
  size where cutting begins.

Rates are per CPU second of this process (one core). The engine, the floors
and the engine at 10 rules are measured in rounds taking turns, the best round
of each counting, so that every ratio compares figures of the same minutes
(this machine's speed drifts). The goals are judged on
the 10, 1,000 and 10,000-rule lines (about three matches an article at 10,000
rules); the "10000-heavy" line, about 35 matches an article, is printed too.

It prints the figures and the ratios the goals are stated in, and ends with
one line of JSON holding every figure. Numbers depend on the machine and on
whatever else runs on it; this is never a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import random
import re
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ahocorasick  # noqa: E402
import hyperscan  # noqa: E402

from monitor.core.matching import compile_rules  # noqa: E402
from monitor.core.query import EntityRef, Term, atoms, parse_query  # noqa: E402
from monitor.core.rules import Keywords, Rule  # noqa: E402
from monitor.core.types import Document  # noqa: E402

SAMPLE = ROOT / "tests" / "samples" / "otan-ukraine-fr.txt"

ENGLISH = """\
NATO allies agreed on Tuesday to step up air defence deliveries to Ukraine after a week of heavy Russian strikes on energy infrastructure, the alliance's secretary general told reporters in Brussels.
The decision follows weeks of talks between defence ministers, who said the United States and its European partners would coordinate the shipments through a new command centre in Germany.
Russian officials dismissed the announcement as escalation, and the Kremlin said Vladimir Putin had discussed the situation with his security council on Monday evening.
In Kyiv, President Volodymyr Zelensky thanked the allies but warned that the winter would test the country's resilience, with millions of people facing power cuts.
Canada announced a further 500 million dollars in military aid, Prime Minister Mark Carney said in Ottawa, adding that Canadian trainers would remain in Poland and Latvia.
The European Union is preparing its next package of sanctions, targeting the revenue Moscow draws from oil exports and the shadow fleet of tankers that carries them.
Analysts at the International Institute for Strategic Studies said the front line had barely moved in months, but that the war of attrition was costly for both sides.
At the United Nations, the Security Council met in an emergency session requested by France and the United Kingdom to discuss the safety of the Zaporizhzhia nuclear plant.
Markets reacted calmly: European gas prices rose two per cent in early trading before easing, while the rouble weakened against the dollar for a third day.
Officials in Washington said the administration was still reviewing a request for longer-range missiles and that no decision had been taken yet.
"""


def paragraphs() -> list[str]:
    french = [p.strip() for p in SAMPLE.read_text(encoding="utf-8").split("\n\n") if len(p.strip()) > 80]
    english = [p.strip() for p in ENGLISH.splitlines() if p.strip()]
    return french + english


def make_articles(n: int, rng: random.Random) -> list[Document]:
    paras = paragraphs()
    fillers = ["gouvernement", "économie", "élections", "sécurité", "énergie", "budget", "santé", "climate",
               "markets", "inflation", "agriculture", "transport", "culture", "justice", "football"]
    out = []
    for _ in range(n):
        size = rng.randint(3000, 6000)
        body: list[str] = []
        while sum(map(len, body)) < size:
            p = rng.choice(paras)
            words = p.split()
            for _ in range(3):  # vary the text a little
                words[rng.randrange(len(words))] = rng.choice(fillers)
            body.append(" ".join(words))
        text = "\n\n".join(body)[:size]
        out.append(Document(title=body[0][:90], text=text, language=rng.choice(["fr", "en"])))
    return out


def vocabulary(rng: random.Random, docs: list[Document], size: int) -> tuple[list[str], list[str]]:
    """(words seen in the articles, made-up proper names that mostly are not)."""
    # Names seen in the articles (what people watch), rarely function words.
    seen = sorted({w for d in docs[:50] for w in re.findall(r"\b[A-ZÉ][^\W\d_]{3,}", d.text)})
    syllables = ["ka", "ro", "vi", "lan", "mer", "dor", "tsi", "bel", "gru", "no", "sta", "wen", "pol", "ix",
                 "ar", "qua", "zen", "lu", "bra", "om"]
    made_up = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize()
                      for _ in range(size * 3)})
    return seen, made_up


def make_rules(n: int, rng: random.Random, seen: list[str], made_up: list[str],
               seen_rate: float = 0.0003) -> list[Rule]:
    """A realistic mix: mostly watch lists of names (few of which occur in a given
    article), topic queries with operators, and 2% rules with entities.

    ``seen_rate`` is the share of terms taken from names the articles contain.
    The articles all come from the same few paragraphs, so such a name occurs in
    nearly every one; 0.0003 makes an article match about three rules of
    10,000 (a service whose rules each send a few alerts a day out of a
    100,000-article day sees about that). The "heavy" line uses ten times as
    many, about 35 matches an article, to show what matching itself costs."""
    entities = ["nato", "ukraine", "russia", "putin", "canada", "eu", "un", "usa", "zelensky", "kremlin"]
    rules = []
    for i in range(n):
        kind = rng.random()

        def term() -> str:
            r = rng.random()
            if r < seen_rate:
                return rng.choice(seen)
            if r < 0.1:
                return f'"{rng.choice(made_up)} {rng.choice(made_up)}"'
            if r < 0.25:
                return rng.choice(made_up)[:5].lower() + "*"
            return rng.choice(made_up)

        if kind < 0.6:
            rule = Rule(name=f"r{i}", keywords=Keywords(any=tuple(term().strip('"') for _ in range(rng.randint(1, 4)))))
        elif kind < 0.98:
            a, b, c = term(), term(), term()
            q = rng.choice([f"{a} AND NOT {b}", f"({a} OR {b}) {c}", f"{a} NEAR/5 {b}", f"title:{a} OR {b}",
                            f"{a} OR {b} OR {c}", f"case:{rng.choice(made_up)} OR {a}"])
            rule = Rule(name=f"r{i}", query=q)
        else:
            e = rng.choice(entities)
            rule = Rule(name=f"r{i}", query=rng.choice([f"entity:{e} AND {term()}",
                                                          f"{term()} AND NOT entity:{e}",
                                                          f"entity:{e} NEAR/10 {term()}"]))
        rules.append(rule)
    return rules


def naive_patterns(rules: list[Rule]) -> list[re.Pattern]:
    """One regex per rule: its positive terms (entities as their aliases) as an alternation."""
    from monitor.core.entities import default_entities

    catalog = default_entities()
    out = []
    for rule in rules:
        if rule.keywords is not None:
            terms = list(rule.keywords.any + rule.keywords.all)
        else:
            terms = []
            for a in atoms(parse_query(rule.query)):
                if isinstance(a, Term):
                    terms.append(a.body)
                elif isinstance(a, EntityRef):
                    ent = catalog[catalog.resolve(a.id)]
                    terms += [n for names in ent.aliases.values() for n in names]
        alts = [re.escape(t.strip('"').rstrip("*")) + (r"\w*" if t.endswith("*") else "") for t in terms]
        out.append(re.compile(r"\b(?:" + "|".join(alts) + r")\b", re.IGNORECASE))
    return out


def rate(fn, docs: list[Document], seconds: float) -> float:
    """Articles per CPU second of ``fn`` over ``docs``, repeated for about ``seconds``.

    CPU time of this process, not wall time: the figure is per core, and other
    work on the machine then disturbs it much less."""
    done, start = 0, time.process_time()
    while True:
        for d in docs:
            fn(d)
        done += len(docs)
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return done / elapsed


def best_rates(fns: dict, docs: list[Document], seconds: float, rounds: int = 5) -> dict[str, float]:
    """Articles per CPU second of each of ``fns``, measured in ``rounds`` rounds taking
    turns, about ``seconds`` for each function in all; each one's best round counts.

    This machine's speed drifts from one minute to the next: measured one after the
    other, the cost ratio at 10,000 rules gave 1.55 in one run and 2.49 in the next
    of the same code. Taking turns puts both sides of each ratio in the same minutes."""
    best = dict.fromkeys(fns, 0.0)
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = max(best[name], rate(fn, docs, seconds / rounds))
    return best


ADVERSARIAL_RULES = [Rule(name="adv-near", query="OTAN NEAR/5 Ukraine"), Rule(name="adv-putin", entities=("putin",)),
                     Rule(name="adv-russia", query="entity:russia AND Kremlin")]
ADVERSARIAL_UNIT = "OTAN Ukraine Poutine frites Kremlin montagnes russes "
ADVERSARIAL_SIZES = (25_000, 50_000, 100_000, 200_000)


def adversarial(base: list[Rule], docs: list[Document], seconds: float, size: int = 200_000) -> dict:
    """Cost per KB of a ``size``-character article of repeated rule terms against that of
    ``docs``, with ``base`` and the adversarial rules; measured in turns, best round each."""
    matcher = compile_rules([*base, *ADVERSARIAL_RULES])
    text = (ADVERSARIAL_UNIT * (size // len(ADVERSARIAL_UNIT) + 1))[:size]
    adv = Document(title="OTAN Ukraine Poutine frites", text=text, language="fr")
    outcome = matcher.match_bounded(adv)
    adv_kb = (len(adv.title.encode()) + len(adv.text.encode())) / 1024
    doc_kb = sum(len(d.title.encode()) + len(d.text.encode()) for d in docs) / len(docs) / 1024
    best = {"ordinary": 0.0, "adversarial": 0.0}
    for _ in range(5):
        best["ordinary"] = max(best["ordinary"], rate(matcher.match, docs, seconds / 5))
        best["adversarial"] = max(best["adversarial"], rate(matcher.match, [adv], seconds / 5))
    ordinary_us_kb = 1e6 / best["ordinary"] / doc_kb
    adv_us_kb = 1e6 / best["adversarial"] / adv_kb
    return {"kb": round(adv_kb, 1), "adversarial_us_per_kb": round(adv_us_kb, 2),
            "ordinary_us_per_kb": round(ordinary_us_kb, 2), "ratio": round(adv_us_kb / ordinary_us_kb, 2),
            "adversarial_ms": round(1e3 / best["adversarial"], 2), "prefix": outcome.prefix,
            "examined": outcome.examined, "matches": [m.rule for m in outcome.matches]}


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _compile_and_match(conn, rules: list[Rule], docs: list[Document]) -> None:
    """In a fresh process: the memory that compiling ``rules`` and matching ``docs`` takes."""
    compile_rules([Rule(name="warm", query="entity:nato")])  # the catalog and lemmas, loaded once
    gc.collect()

    def work() -> None:
        matcher = compile_rules(rules)
        for d in docs:
            matcher.match(d)

    try:
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
        before = _status_kb("VmRSS")
        work()
        conn.send(((_status_kb("VmHWM") - before) / 1024, "RSS growth"))
    except (OSError, KeyError):
        tracemalloc.start()
        work()
        conn.send((tracemalloc.get_traced_memory()[1] / 1e6, "traced"))


def peak_mb(rules: list[Rule], docs: list[Document]) -> tuple[float, str]:
    """The memory compiling ``rules`` and matching ``docs`` takes at its peak, in MB, and
    how it was measured: in a fresh process (a forked one would reuse this one's freed heap).

    On Linux, the growth of the peak resident set, which counts what C extensions
    allocate too (hyperscan's compiler). Elsewhere, tracemalloc's peak: Python's
    allocations only (and tracing made compiling 10,000 rules 26 times slower: 89 s
    against 3.4 s)."""
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    child = ctx.Process(target=_compile_and_match, args=(there, rules, docs))
    child.start()
    try:
        return here.recv()
    finally:
        child.join()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer articles and shorter timings")
    ap.add_argument("--articles", type=int, default=None, help="articles to generate (default 300, quick 60)")
    ap.add_argument("--seconds", type=float, default=None,
                    help="time per measurement (default 3, quick 1; four times that for those taken in turns)")
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args(argv)
    n_articles = args.articles or (60 if args.quick else 300)
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    sizes = [10, 1000, 10000]
    rng = random.Random(args.seed)
    docs = make_articles(n_articles, rng)
    seen, made_up = vocabulary(rng, docs, max(sizes))
    avg_kb = sum(len(d.text.encode()) for d in docs) / len(docs) / 1024
    print(f"{len(docs)} articles, {avg_kb:.1f} KB on average; {seconds:.0f}s per measurement; one core")

    compile_rules([Rule(name="warm", query="entity:nato")])  # load the catalog and lemmas once
    figures: dict = {"articles": len(docs), "avg_kb": round(avg_kb, 2), "sizes": {}}
    runs = [(str(n), n, 0.0003) for n in sizes] + [("10000-heavy", 10000, 0.003)]
    smallest = None  # the engine at 10 rules, measured again beside each size
    for label, n, seen_rate in runs:
        rules = make_rules(n, random.Random(n), seen, made_up, seen_rate)
        t0 = time.perf_counter()
        matcher = compile_rules(rules)
        compile_s = time.perf_counter() - t0
        if smallest is None:
            smallest = matcher
        mem, mem_how = peak_mb(rules, docs[:20])
        matches = sum(len(matcher.match(d)) for d in docs) / len(docs)

        keys = ahocorasick.Automaton()
        engine_keys = [*matcher._automaton.keys(), *(matcher._side.keys() if matcher._side else ())]
        for i, key in enumerate(engine_keys):
            keys.add_word(key, i)
        keys.make_automaton()
        literals = [k.encode() for k in engine_keys]
        hs_db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        hs_db.compile(expressions=literals, ids=list(range(len(literals))), elements=len(literals), literal=True)
        scratch = hyperscan.Scratch(hs_db)
        rates = best_rates({
            "engine": matcher.match,
            "floor": lambda d: sum(1 for _ in keys.iter(d.title)) + sum(1 for _ in keys.iter(d.text)),
            "hs_floor": lambda d: (hs_db.scan(d.title.encode(), match_event_handler=None, scratch=scratch),
                                   hs_db.scan(d.text.encode(), match_event_handler=None, scratch=scratch)),
            **({"at_10": smallest.match} if smallest is not matcher else {}),
        }, docs, 4 * seconds)  # 4x --seconds each: five rounds need longer than one pass did
        engine, floor, hs_floor = rates["engine"], rates["floor"], rates["hs_floor"]
        del hs_db, scratch, keys  # the floors' memory is not the engine's

        patterns = naive_patterns(rules)
        few = docs[:max(2, min(len(docs), 200 // max(1, n // 100)))]
        naive = rate(lambda d: [p for p in patterns if p.search(d.title) or p.search(d.text)], few,
                     seconds)
        fig = {"rules": n, "terms": len(matcher._patterns), "compile_s": round(compile_s, 3),
               "engine_aps": round(engine, 1), "floor_aps": round(floor, 1), "naive_aps": round(naive, 2),
               "engine_us": round(1e6 / engine, 1), "floor_us": round(1e6 / floor, 1),
               "hs_floor_us": round(1e6 / hs_floor, 2), "vs_hs_floor": round(hs_floor / engine, 1),
               "vs_floor": round(floor / engine, 2), "vs_naive": round(engine / naive, 1),
               "cost_vs_10": round(rates.get("at_10", engine) / engine, 2),
               "peak_mb": round(mem, 1), "peak_measured_as": mem_how, "matches_per_article": round(matches, 2),
               "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
        figures["sizes"][label] = fig
        print(f"{label:>6} rules ({fig['terms']} terms, compiled in {compile_s:.2f}s): "
              f"engine {engine:,.0f} art/s ({fig['engine_us']} us), floor {floor:,.0f} art/s, "
              f"hyperscan floor {hs_floor:,.0f} art/s, naive {naive:,.1f} art/s | "
              f"{fig['vs_floor']}x the floor's cost ({fig['vs_hs_floor']}x hyperscan's), "
              f"{fig['vs_naive']:,}x the naive loop, peak {mem:.0f} MB ({mem_how}), max RSS so far "
              f"{fig['max_rss_mb']} MB, {matches:.1f} matches/article, {fig['cost_vs_10']}x the cost at 10 rules")
    adv_rules = make_rules(1000, random.Random(1000), seen, made_up)
    figures["adversarial"] = []
    for size in ADVERSARIAL_SIZES:
        adv = adversarial(adv_rules, docs, 2 * seconds, size)
        figures["adversarial"].append(adv)
        cut = f"matched on its first {adv['prefix']:,} characters" if adv["prefix"] else "matched whole"
        print(f"adversarial: {adv['kb']:.0f} KB of rule terms (NEAR, an entity and its exclusion contexts), "
              f"1000 rules + 3: {adv['adversarial_us_per_kb']} us/KB ({adv['adversarial_ms']} ms), against "
              f"{adv['ordinary_us_per_kb']} us/KB for an ordinary article: {adv['ratio']}x; {cut}, "
              f"{adv['examined']:,} occurrences examined")
    figures["adversarial_worst_ratio"] = max(a["ratio"] for a in figures["adversarial"])
    big = figures["sizes"]["10000"]
    figures["cost_10k_vs_10"] = big["cost_vs_10"]
    figures["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    goals = {
        "aps_10k>=5000": big["engine_aps"] >= 5000,
        "within_2x_floor": big["vs_floor"] <= 2,
        "1000x_naive": big["vs_naive"] >= 1000,
        "cost_10k<=1.5x_cost_10": figures["cost_10k_vs_10"] <= 1.5,
        "under_300mb": max(f["peak_mb"] for f in figures["sizes"].values()) < 300
                       and figures["max_rss_mb"] < 300,
        "adversarial<=5x_per_kb": figures["adversarial_worst_ratio"] <= 5,
    }
    figures["goals"] = goals
    print(f"cost at 10,000 rules / cost at 10: {figures['cost_10k_vs_10']}x; "
          f"max RSS {figures['max_rss_mb']} MB")
    print("goals: " + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in goals.items()))
    print(json.dumps(figures, separators=(",", ":")))
    return figures


if __name__ == "__main__":
    main()

"""Backtesting rules over stored articles: counts, gains and losses, streamed in pages."""

from __future__ import annotations

from datetime import datetime, timezone

from support.procs import run_monitor
from support.samples import ROOT
from monitor.adapters.backtest import backtest, stored_articles
from monitor.config import FeedSpec
from monitor.core.matching import compile_rules
from monitor.core.rules import Keywords, Rule
from monitor.adapters.store import Store
from monitor.core.types import Article

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
TEXTS = ["L'OTAN se réunit à Bruxelles.", "Le match de football de l'OTAN.", "La météo de Lyon.",
         "Vladimir Poutine et l'Alliance atlantique.", "Une poutine au fromage et aux frites."]


def fill(url: str) -> Store:
    store = Store.open(url)
    fid = store.sync_feeds([FeedSpec(url="https://example.org/a.rss", name="A", interval=60)],
                           default_interval=900)["https://example.org/a.rss"]
    store.record_poll(fid, status=200, now=T0, articles=[
        Article(dedup_key=f"k{i}", url=f"https://example.org/{i}", title=f"Article {i}", text=t)
        for i, t in enumerate(TEXTS)])
    return store


def test_stored_articles_stream_in_pages(tmp_path):
    store = fill(f"sqlite:///{tmp_path / 'm.sqlite'}")
    got = list(stored_articles(store, page=2))
    assert [a.text for a in got] == TEXTS and got[0].feed == "A"
    assert list(stored_articles(store, since=datetime(2999, 1, 1, tzinfo=timezone.utc))) == []


def test_backtest_counts_gains_and_losses(tmp_path):
    store = fill(f"sqlite:///{tmp_path / 'm.sqlite'}")
    old = compile_rules([Rule(name="otan", keywords=Keywords(any=("OTAN",))),
                         Rule(name="putin", keywords=Keywords(any=("poutine",)))])
    new = compile_rules([Rule(name="otan", query="entity:nato AND NOT football"),
                         Rule(name="putin", entities=("putin",))])
    report = backtest(stored_articles(store), new, old)
    assert report.articles == 5
    otan, putin = report.rules["otan"], report.rules["putin"]
    # "Alliance atlantique" is gained; the football article is lost.
    assert (otan.matched, otan.gained, otan.lost) == (2, 1, 1)
    assert [e.title for e in otan.examples] == ["Article 3"]
    assert [e.title for e in otan.lost_examples] == ["Article 1"]
    # The dish is no longer taken for the man.
    assert (putin.matched, putin.gained, putin.lost) == (1, 0, 1)
    assert report.as_dict()["lost"] == 2


def test_backtest_cli(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    fill(url).close()
    old = tmp_path / "old.yaml"
    old.write_text("rules:\n  - name: otan-nato\n    keywords: {any: [OTAN]}\n", encoding="utf-8")
    res = run_monitor("--config", ROOT / "monitor.yaml", "--database-url", url, "rules", "backtest",
                      ROOT / "rules", "--against", old)
    assert res.returncode == 0, res.stderr
    assert "5 article(s)" in res.stdout and "otan-nato: 3 match(es), +1 new, -0 lost" in res.stdout
    assert "+ Article 3" in res.stdout

"""One alert per story, not per outlet: 20 outlets, one alert per rule and channel, a digest of the rest."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from support.fakes import RecordingNotifier
from support.procs import run_monitor
from monitor import pipeline
from monitor.config import ChannelSpec, FeedSpec
from monitor.core.matching import compile_rules
from monitor.core.rules import parse_rules
from monitor.core.types import Article

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=timezone.utc)
WIRE = ("L'OTAN renforce sa présence en Roumanie",
        "Bruxelles (AFP) - L'Organisation du traité de l'Atlantique nord a annoncé lundi le déploiement de "
        "mille soldats supplémentaires en Roumanie, près de la frontière ukrainienne, après une réunion des "
        "ministres de la Défense de l'Alliance à Bruxelles. Le secrétaire général a salué une décision unanime "
        "et rappelé que la sécurité de l'Europe de l'Est restait la priorité des alliés pour les mois à venir.")
OTHER = ("Le budget de la ville de Lyon adopté", "Le conseil municipal de Lyon a adopté lundi soir le budget "
         "2026, marqué par une hausse des investissements dans les transports et les écoles.")
RULES = """
rules:
  - name: otan
    keywords: {any: [OTAN, Alliance]}
    channels: [desk, chat]
  - name: roumanie
    keywords: {any: [Roumanie]}
    channels: [desk]
"""


def outlet_copy(i: int, rng: random.Random) -> tuple[str, str]:
    """The wire story as outlet i runs it: a dateline, a word changed, sometimes a new headline."""
    title, text = WIRE
    words = text.split()
    j = rng.randrange(10, len(words) - 1)
    words[j] = rng.choice(["mardi", "environ", "désormais", "officiellement"])
    if i % 4 == 1:
        title = "Roumanie : l'OTAN envoie mille soldats"
    return title, f"Par la rédaction {i}. " + " ".join(words)


def test_twenty_outlets_one_alert_per_rule_and_channel_and_a_digest_of_the_sources(store):
    rng = random.Random(7)
    urls = [f"https://outlet{i}.example.org/rss" for i in range(20)]
    ids = store.sync_feeds([FeedSpec(url=u, name=f"Outlet {i}") for i, u in enumerate(urls)],
                           default_interval=60)
    matcher = compile_rules(parse_rules(RULES, "rules.yaml"))
    channels = {"desk": ChannelSpec(url="json://x", digest="hourly"), "chat": ChannelSpec(url="json://y")}
    n = RecordingNotifier()
    sent_now = []
    for i, url in enumerate(urls):  # one outlet after the other, within the hour
        when = T0 + timedelta(minutes=3 * i)
        title, text = outlet_copy(i, rng)
        extra = [Article(f"other-{i}", f"https://outlet{i}.example.org/lyon", *OTHER, published=when)] if i == 3 else []
        new = store.record_poll(ids[url], status=200, now=when, articles=[
            Article(f"guid-{i}", f"https://outlet{i}.example.org/otan-roumanie", title, text, published=when)] + extra)
        for d in pipeline.match_articles(new, store=store, matcher=matcher, channels=channels, now=when):
            pipeline.deliver(d, store=store, notifier=n)
            sent_now.append(d)
    # exactly one alert per (rule, channel): otan -> desk, chat; roumanie -> desk
    assert sorted((c, a.title.split("]")[0]) for c, a in n.sent) == [
        ("chat", "[otan"), ("desk", "[otan"), ("desk", "[roumanie")]
    [story] = [s for s in store.stories() if s.articles == 20]
    assert len(story.sources) == 20
    # the other outlets wait for each channel's digest, which lists the story's 20 sources
    digests = pipeline.due_digests(store=store, channels=channels, now=T0 + timedelta(hours=2))
    assert len(digests) == 2
    for d in digests:
        pipeline.deliver_digest(d, store=store, notifier=n)
    assert sorted(c for c, _ in n.sent[3:]) == ["chat", "desk"]
    for _, msg in n.sent[3:]:
        assert msg.title.startswith("[digest]") and "Sources (20)" in msg.body
        assert all(f"Outlet {i}" in msg.body for i in range(20))
    assert pipeline.due_digests(store=store, channels=channels, now=T0 + timedelta(hours=5)) == []
    # an unrelated article is its own story
    assert any(s.title == OTHER[0] and s.articles == 1 for s in store.stories())


def test_grouping_only_matched_articles_keeps_one_alert_per_story(store):
    """``stories: matched``: articles no rule matches are never grouped; the copies that match still are."""
    rng = random.Random(7)
    urls = [f"https://outlet{i}.example.org/rss" for i in range(6)]
    ids = store.sync_feeds([FeedSpec(url=u, name=f"Outlet {i}") for i, u in enumerate(urls)], default_interval=60)
    matcher = compile_rules(parse_rules(RULES, "rules.yaml"))
    channels = {"desk": ChannelSpec(url="json://x"), "chat": ChannelSpec(url="json://y")}
    n = RecordingNotifier()
    for i, url in enumerate(urls):
        when = T0 + timedelta(minutes=3 * i)
        new = store.record_poll(ids[url], status=200, now=when, articles=[
            Article(f"guid-{i}", f"{url[:-4]}/otan", *outlet_copy(i, rng), published=when),
            Article(f"other-{i}", f"{url[:-4]}/lyon", *OTHER, published=when)])
        for d in pipeline.match_articles(new, store=store, matcher=matcher, channels=channels, now=when,
                                         stories="matched"):
            pipeline.deliver(d, store=store, notifier=n)
    assert sorted((c, a.title.split("]")[0]) for c, a in n.sent) == [
        ("chat", "[otan"), ("desk", "[otan"), ("desk", "[roumanie")]
    [story] = store.stories()  # the six Lyon copies, matched by no rule, are in no story
    assert story.articles == 6 and len(story.sources) == 6


def test_a_follow_up_with_new_facts_is_a_new_story(store):
    ids = store.sync_feeds([FeedSpec(url="https://a.example.org/rss", name="A")], default_interval=60)
    fid = ids["https://a.example.org/rss"]
    first = store.record_poll(fid, status=200, now=T0, articles=[Article("1", "https://a.example.org/1", *WIRE,
                                                                        published=T0)])
    follow = store.record_poll(fid, status=200, now=T0, articles=[Article(
        "2", "https://a.example.org/2", "Roumanie : les premiers soldats de l'OTAN sont arrivés",
        "Les premiers éléments du contingent sont arrivés jeudi à Constanta, où ils ont été accueillis par le "
        "ministre roumain. Des exercices conjoints commenceront la semaine prochaine sur la côte de la mer Noire.",
        published=T0 + timedelta(days=1))])
    got = pipeline.group_stories(store.articles(first + follow), store=store)
    assert got[first[0]] != got[follow[0]]


def test_stories_list_command(tmp_path, store, db_url):
    ids = store.sync_feeds([FeedSpec(url="https://a.example.org/rss", name="A"),
                            FeedSpec(url="https://b.example.org/rss", name="B")], default_interval=60)
    for i, url in enumerate(sorted(ids)):
        new = store.record_poll(ids[url], status=200, now=T0, articles=[
            Article(f"g{i}", f"{url[:-4]}/otan", *WIRE, published=T0)])
        pipeline.group_stories(store.articles(new), store=store)
    (tmp_path / "rules").mkdir(exist_ok=True)
    res = run_monitor("--database-url", db_url, "--rules-path", tmp_path / "rules", "--feeds-path",
                      tmp_path / "none.yaml", "stories", "list", "--hours", "0")
    assert res.returncode == 0, res.stderr
    assert "OTAN renforce" in res.stdout and "2 article(s)" in res.stdout and "A, B" in res.stdout


def test_the_story_index_is_pruned_past_the_window_and_recent_stories_still_group(store):
    ids = store.sync_feeds([FeedSpec(url="https://a.example.org/rss", name="A"),
                            FeedSpec(url="https://b.example.org/rss", name="B")], default_interval=60)
    a, b = ids["https://a.example.org/rss"], ids["https://b.example.org/rss"]
    old_day = T0 - timedelta(days=5)
    old = store.record_poll(a, status=200, now=old_day, articles=[
        Article("old", "https://a.example.org/old", *WIRE, published=old_day)])
    first = store.record_poll(a, status=200, now=T0, articles=[
        Article("1", "https://a.example.org/otan", *WIRE, published=T0)])
    pipeline.group_stories(store.articles(old + first), store=store, now=T0)
    pruned = store.prune_story_keys(T0 - timedelta(days=3))
    assert pruned > 0
    assert store.prune_story_keys(T0 - timedelta(days=3)) == 0  # nothing older is left
    # The recent article's keys stayed: a copy from another outlet joins its story.
    copy = store.record_poll(b, status=200, now=T0, articles=[
        Article("2", "https://b.example.org/otan-copie", *WIRE, published=T0 + timedelta(hours=1))])
    got = pipeline.group_stories(store.articles(copy), store=store, now=T0)
    assert got[copy[0]] == first[0]


def test_what_grouping_stores_of_each_article_is_its_own_signature_size_and_entities(store):
    # Later batches compare new articles with these stored values, never with the texts.
    from sqlmodel import Session, select

    from monitor.core import stories
    from monitor.adapters.store import StoredArticleRow

    fid = store.sync_feeds([FeedSpec(url="https://a.example.org/rss", name="A")], default_interval=60)[
        "https://a.example.org/rss"]
    texts = {"1": WIRE, "2": OTHER, "3": ("Canada : Ottawa annonce une aide à l'Ukraine",
                                          "Le Canada versera 500 millions de dollars, a dit Mark Carney à Ottawa.")}
    ids = store.record_poll(fid, status=200, now=T0, articles=[
        Article(g, f"https://a.example.org/{g}", *texts[g], published=T0 + timedelta(minutes=int(g)))
        for g in texts])
    got = pipeline.group_stories(store.articles(ids), store=store, now=T0)
    assert len(set(got.values())) == 3
    with Session(store.engine) as s:
        rows = {r.id: r for r in s.exec(select(StoredArticleRow).where(StoredArticleRow.id.in_(ids)))}
    for a in store.articles(ids):
        want = stories.candidate(a.title, a.text, a.published, a.language).to_plain()
        row = rows[a.id]
        assert (row.story_id, row.story_sig, row.story_size, row.story_entities) == (
            got[a.id], want["signature"], want["size"], want["entities"])


def test_an_article_placed_again_after_its_index_rows_were_written_keeps_one_row_per_key(store):
    # What two workers placing the same article at once come to: its index rows are there
    # already when the second writes them. No error, and no row twice.
    from sqlalchemy import text

    fid = store.sync_feeds([FeedSpec(url="https://a.example.org/rss", name="A")], default_interval=60)[
        "https://a.example.org/rss"]
    ids = store.record_poll(fid, status=200, now=T0, articles=[
        Article("1", "https://a.example.org/1", *WIRE, published=T0),
        Article("2", "https://a.example.org/2", *OTHER, published=T0)])
    first = pipeline.group_stories(store.articles(ids), store=store, now=T0)
    with store.engine.begin() as conn:
        rows = conn.execute(text("SELECT count(*) FROM story_band")).scalar()
        conn.execute(text("UPDATE article SET story_id = NULL WHERE id = :i"), {"i": ids[0]})
    assert rows > 0
    again = pipeline.group_stories(store.articles(ids), store=store, now=T0)
    assert again == first
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM story_band")).scalar() == rows
        assert conn.execute(text("SELECT count(*) FROM (SELECT key, article_id FROM story_band"
                                 " GROUP BY key, article_id HAVING count(*) > 1) d")).scalar() == 0

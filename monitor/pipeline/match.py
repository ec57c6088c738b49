"""Matching: stored articles against the rules, grouped into stories, their deliveries stored.

No Celery, no SQL and no policy here: the store, fetcher and notifier are passed in.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from monitor.adapters.store import Store
from monitor.config import ChannelSpec
from monitor.core import stories
from monitor.core.schedule import in_quiet_hours, parse_quiet_hours

log = logging.getLogger("monitor")


def match_articles(article_ids, *, store: Store, matcher, channels: Mapping[str, ChannelSpec] | None = None,
                   tz: str = "UTC", now: datetime | None = None, stories: str = "all") -> list[int]:
    """Match stored articles against the rules; store matches and their deliveries.

    Deliveries for digest channels, channels in quiet hours and throttled
    rules are held for the digest. Returns the ids of the deliveries to send
    now. Idempotent: matching the same articles again stores nothing new.
    ``stories``: "all" groups every article into stories, "matched" only
    those that match a rule (alerts are deduplicated by story either way).
    An article too long or too full of terms to match whole is matched on a
    prefix (:meth:`monitor.core.matching.Matcher.match_bounded`), stored as such
    (``matched_prefix``) and logged as a warning.
    """
    now = now or datetime.now(timezone.utc)
    channels = channels or {}
    articles = store.articles(list(article_ids))
    results, prefixes = {}, {}
    # A stand-in with only match() (a test's stub) matches every article whole.
    bounded = getattr(matcher, "match_bounded", None) or (lambda doc: (matcher.match(doc), None, 0))
    for a in articles:
        results[a.id], prefix, _ = bounded(a.document())
        if prefix is not None:  # too long, or too many terms to examine: never an error
            prefixes[a.id] = prefix
            log.warning("matched on a prefix: article %d %r (%s) on its first %d characters of %d",
                        a.id, a.title[:80], a.url, prefix, max(len(a.title), len(a.text)))
    # Before the matches are stored: they are held or sent by their story.
    grouped = [a for a in articles if stories == "all" or results[a.id]]
    if grouped:
        group_stories(grouped, store=store, now=now)
    for a in articles:
        for m in results[a.id]:
            log.info("match: rule %r on %r (%s)", m.rule, a.title[:80], ", ".join(m.terms))
    digest = [n for n, c in channels.items() if c.mode == "digest"]
    quiet = [n for n, c in channels.items()
             if c.quiet_hours and in_quiet_hours(parse_quiet_hours(c.quiet_hours), now, tz)]
    return store.record_matches(results, now=now, digest_channels=digest, quiet_channels=quiet,
                                prefixes=prefixes)


def group_stories(articles, *, store: Store, now: datetime | None = None,
                  window: timedelta = stories.DEFAULT_WINDOW) -> dict[int, int]:
    """Put articles into stories (near-duplicates across outlets); article id -> story id.

    Oldest first, so a wire copy joins the story of the first outlet that ran it.
    """
    now = now or datetime.now(timezone.utc)
    items = []
    for a in sorted(articles, key=lambda a: (a.published or now, a.id)):
        cand = stories.candidate(a.title, a.text, a.published or now, a.language)
        items.append((a.id, cand.to_plain(), cand.keys()))

    def decide(plain, neighbours):
        new = stories.StoryCandidate.from_plain(plain)
        return stories.best_story(new, [(sid, stories.StoryCandidate.from_plain(p)) for sid, p in neighbours],
                                  window=window)

    return store.assign_stories(items, decide, window=window)

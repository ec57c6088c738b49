"""Polling: fetch a feed, parse what is new, store it with the feed's health (orchestration only).

No Celery, no SQL and no policy here: the store, fetcher and notifier are passed in.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime

from monitor.adapters.fetch import Fetcher
from monitor.adapters.fulltext import extract_main_text
from monitor.adapters.store import Store
from monitor.core.errors import FeedError
from monitor.core.feeds import ParsedFeed, cut_items, parse_feed
from monitor.core.types import FeedState, PollRecord

log = logging.getLogger("monitor")


@dataclass(frozen=True)
class PollOutcome:
    feed_id: int
    url: str
    status: int | None = None
    new_article_ids: tuple[int, ...] = ()
    error: str | None = None
    # Why nothing, or not everything, was parsed: "not modified", "unchanged body", "no new
    # items", "18 of 20 items known".
    skipped: str | None = None


def fetch_feed(state: FeedState, *, fetcher: Fetcher, now: datetime | None = None) -> tuple[PollRecord, str | None]:
    """Fetch and parse one feed, touching no storage; (what to store, why nothing was parsed).

    Errors become a record with ``error`` set, never an exception.
    """
    got = _fetch(state, fetcher)
    return got if isinstance(got[0], PollRecord) else _parse(state, got[0], got[1], now)


def _fetch(state: FeedState, fetcher: Fetcher):
    # Network only: (FetchResult, body hash) to parse, or (PollRecord, why) when there is nothing to parse.
    try:
        got = fetcher.fetch(state.url, etag=state.etag, last_modified=state.last_modified)
    except FeedError as e:
        return PollRecord(state.id, status=e.status, error=str(e),
                          retry_after=getattr(e, "retry_after", None)), None
    if got.not_modified:
        return PollRecord(state.id, status=304, etag=got.etag, last_modified=got.last_modified), "not modified"
    body_hash = hashlib.sha256(got.body).hexdigest()
    if body_hash == state.body_hash:
        # The server ignored conditional GET but nothing changed: don't parse again.
        return PollRecord(state.id, status=got.status, etag=got.etag, last_modified=got.last_modified,
                          body_hash=body_hash, item_hashes=state.item_hashes), "unchanged body"
    return got, body_hash


def _problem(parsed: ParsedFeed) -> str | None:
    """What is wrong with a parsed feed: its own problem, and the entries it rejected."""
    problem = parsed.problem
    if parsed.rejected:
        index, reason = parsed.rejected[0]
        more = f" (and {len(parsed.rejected) - 1} more)" if len(parsed.rejected) > 1 else ""
        problem = "; ".join(p for p in (problem, f"entry {index} rejected: {reason}{more}") if p)
    return problem


def _parse(state: FeedState, got, body_hash: str, now: datetime | None) -> tuple[PollRecord, str | None]:
    # Items already in the last poll's body are left out (see monitor.core.feeds.cut_items).
    cut = cut_items(got.body, got.headers)
    hashes = cut.packed if cut is not None else None
    fresh = cut.new_items(state.item_hashes) if cut is not None else []
    if cut is not None and not fresh:
        return PollRecord(state.id, status=got.status, etag=got.etag, last_modified=got.last_modified,
                          body_hash=body_hash, item_hashes=hashes), "no new items"
    url = got.url or state.url

    def parse(body: bytes) -> tuple[ParsedFeed | None, str | None]:
        # The feed and what is wrong with it; None and why, when it is not a usable feed.
        try:
            parsed = parse_feed(body, url=url, headers=got.headers, now=now)
        except FeedError as e:
            return None, str(e)
        return parsed, _problem(parsed)

    parsed = problem = why = None
    if cut is not None and len(fresh) < len(cut.items):
        parsed, problem = parse(cut.only(fresh))
        why = f"{len(cut.items) - len(fresh)} of {len(cut.items)} items known"
    if parsed is None or problem:
        # The whole body: no item was known, or the new ones alone failed or have a problem,
        # which may be the cut's own (an item tag inside a comment, say): the whole body tells
        # what is wrong with the feed, if anything.
        (parsed, problem), why = parse(got.body), None
    if parsed is None:  # the server answered, with something that is not a usable feed
        return PollRecord(state.id, status=got.status, error=problem), None
    if problem:
        hashes = None  # a feed with a problem is parsed whole every time, so it is reported every time
    return PollRecord(state.id, status=got.status, articles=parsed.articles, etag=got.etag,
                      last_modified=got.last_modified, body_hash=body_hash, item_hashes=hashes,
                      problem=problem), why


def poll_feeds(feed_ids, *, store: Store, fetcher: Fetcher, max_workers: int = 8,
               now: datetime | None = None) -> list[PollOutcome]:
    """Poll several feeds: fetch concurrently, parse, store all in one transaction.

    Threads only wait on the network; parsing (CPU) happens in this thread
    as responses arrive, so it never fights the fetches for the GIL. A feed
    that fails is recorded (error, backoff) and reported in its outcome,
    never raised: one bad feed must not stop the others.
    """
    ids = list(feed_ids)
    states = store.feed_states(ids)
    work = [states[i] for i in ids if i in states]
    done: dict[int, tuple[PollRecord, str | None]] = {}
    if len(work) > 1 and max_workers > 1:
        with ThreadPoolExecutor(max_workers=min(max_workers, len(work))) as pool:
            futures = {pool.submit(_fetch, st, fetcher): st for st in work}
            for fut in as_completed(futures):
                st = futures[fut]
                a, b = fut.result()
                done[st.id] = (a, b) if isinstance(a, PollRecord) else _parse(st, a, b, now)
    else:
        for st in work:
            done[st.id] = fetch_feed(st, fetcher=fetcher, now=now)
    fetched = [done[st.id] for st in work]
    new_ids = store.record_polls([rec for rec, _ in fetched], now=now)
    outcomes = {i: PollOutcome(i, "", skipped="unknown feed") for i in ids}
    for st, (rec, skipped) in zip(work, fetched):
        if rec.error:
            log.warning("feed failed: %s", rec.error)
        if st.fulltext and new_ids[st.id]:
            fetch_full_text(new_ids[st.id], store=store, fetcher=fetcher)
        outcomes[st.id] = PollOutcome(st.id, st.url, rec.status, tuple(new_ids[st.id]), error=rec.error,
                                      skipped=skipped)
    return [outcomes[i] for i in ids]


def poll_feed(feed_id: int, *, store: Store, fetcher: Fetcher, now: datetime | None = None) -> PollOutcome:
    """Fetch one feed and store its new articles; the outcome lists their ids."""
    return poll_feeds([feed_id], store=store, fetcher=fetcher, now=now)[0]


def fetch_full_text(article_ids, *, store: Store, fetcher: Fetcher) -> int:
    """Replace each article's text by the main text of its page, when that is longer.

    A page that cannot be fetched or yields nothing keeps the feed's text.
    Returns how many articles got their full text.
    """
    done = 0
    for a in store.articles(list(article_ids)):
        if not a.url:
            continue
        try:
            page = fetcher.fetch(a.url)
        except FeedError as e:
            log.warning("full text not fetched: %s", e)
            continue
        text = extract_main_text(page.body, url=page.url) if page.body else None
        if text and len(text) > len(a.text):
            store.set_article_text(a.id, text)
            done += 1
    return done

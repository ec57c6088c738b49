"""Orchestration: poll a feed, match new articles, deliver an alert.

The one place where the core (parsing, matching, rendering) meets the adapters
(fetcher, store, notifier), each passed in as an argument. No Celery here: the
tasks in ``workers/`` call these functions and queue what they return.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed, wait
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from monitor.config import ChannelSpec
from monitor.core.errors import DeliveryError, FeedError
from monitor.core.feeds import ParsedFeed, cut_items, parse_feed
from monitor.adapters.fulltext import extract_main_text
from monitor.adapters.fetch import Fetcher
from monitor.adapters.notify import Notifier
from monitor.core import render, spikes, stories, watchdog
from monitor.core.schedule import in_quiet_hours, parse_quiet_hours, parse_schedule
from monitor.adapters.store import DELIVERY_HEARTBEAT, DELIVERY_LEASE, Store, claim_expiry
from monitor.core.types import DeliveryResult, FeedState, PollRecord, RenderedAlert

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


def due_digests(*, store: Store, channels: Mapping[str, ChannelSpec], tz: str = "UTC",
                now: datetime | None = None) -> list[int]:
    """Gather the held deliveries of every channel whose digest is due; the new digests' ids.

    A channel in quiet hours waits; when its quiet hours end, what they held
    goes out at once.
    """
    now = now or datetime.now(timezone.utc)
    made = []
    for name, (oldest, reasons) in store.held().items():
        spec = channels.get(name)
        if spec is None:
            log.warning("alerts held for channel %r, which is no longer configured", name)
            continue
        quiet = parse_quiet_hours(spec.quiet_hours) if spec.quiet_hours else None
        if in_quiet_hours(quiet, now, tz):
            continue
        if "quiet hours" in reasons or parse_schedule(spec.digest).due(oldest, now, tz):
            digest_id = store.create_digest(name, now=now)
            if digest_id is not None:
                made.append(digest_id)
    return made


def deliver_digest(digest_id: int, *, store: Store, notifier: Notifier, tz: str = "UTC",
                   final_attempt: bool = False, templates=None) -> DeliveryResult:
    """Render and send one digest, recording the outcome (see :func:`deliver`)."""
    job = store.digest_job(digest_id)
    if job is None:
        return DeliveryResult(channel="", ok=False, reason="unknown digest")
    channel, reason, alerts = job
    if not store.begin_digest(digest_id):
        return DeliveryResult(channel=channel, ok=True, reason="already sent or being sent")
    try:
        rendered = render.render_digest(channel, alerts, notifier.format_for(channel), tz=tz,
                                        held_reason=reason, templates=templates)
        notifier.send(channel, rendered)
    except DeliveryError as e:
        store.finish_digest(digest_id, ok=False, error=e.reason, dead=final_attempt)
        raise
    store.finish_digest(digest_id, ok=True)
    log.info("sent: digest of %d alert(s) to channel %r", len(alerts), channel)
    return DeliveryResult(channel=channel, ok=True)


def _renew_until(lease: timedelta, heartbeat: timedelta) -> float:
    # The monotonic time of a claim's last renewal: one later would hold it past the lease.
    return time.monotonic() + (lease - claim_expiry(lease, heartbeat)).total_seconds()


@contextmanager
def _renewing(store: Store, delivery_ids: list[int], lease: timedelta, heartbeat: timedelta):
    """Renew the claims of ``delivery_ids`` every ``heartbeat`` while the block runs (a send),
    within the ``lease``: so they are taken over soon after their sender dies, not before."""
    stop, until = threading.Event(), _renew_until(lease, heartbeat)

    def renew() -> None:
        while not stop.wait(heartbeat.total_seconds()) and time.monotonic() <= until:
            try:
                store.renew_deliveries(delivery_ids)
            except Exception as e:  # the database is away: the send goes on, the claim may lapse
                log.warning("claim of delivery %s not renewed: %s", delivery_ids, e)

    threading.Thread(target=renew, name="renew-claim", daemon=True).start()
    try:
        yield
    finally:
        stop.set()


def deliver(delivery_id: int, *, store: Store, notifier: Notifier, tz: str = "UTC",
            final_attempt: bool = False, templates=None, lease: timedelta = DELIVERY_LEASE,
            heartbeat: timedelta = DELIVERY_HEARTBEAT) -> DeliveryResult:
    """Render and send one delivery, recording the outcome.

    Sends nothing when the delivery was already sent (a duplicate message or
    a retry after success). Raises DeliveryError when the channel refused,
    after recording it as failed (or dead, on the final attempt). While it
    sends, its claim is renewed every ``heartbeat`` (for ``lease`` at most).
    """
    job = store.delivery_job(delivery_id)
    if job is None:
        return DeliveryResult(channel="", ok=False, reason="unknown delivery")
    if not store.begin_delivery(delivery_id, lease=lease, heartbeat=heartbeat):
        return DeliveryResult(channel=job.channel, ok=True, reason=f"already {job.status}")
    try:
        rendered = render.render_alert(job.alert, notifier.format_for(job.channel), tz=tz, templates=templates)
        with _renewing(store, [delivery_id], lease, heartbeat):
            notifier.send(job.channel, rendered)
    except DeliveryError as e:
        store.finish_delivery(delivery_id, ok=False, error=e.reason, dead=final_attempt)
        raise
    store.finish_delivery(delivery_id, ok=True)
    log.info("sent: rule %r, %r to channel %r", job.alert.rule, job.alert.title[:80], job.channel)
    return DeliveryResult(channel=job.channel, ok=True)


@dataclass(frozen=True)
class BatchOutcome:
    """What :func:`deliver_many` did with each delivery id it was given."""

    sent: tuple[int, ...] = ()
    failed: tuple[tuple[int, str], ...] = ()  # (delivery id, reason), recorded failed (or dead)
    skipped: tuple[int, ...] = ()  # unknown, already sent, dead, or being sent by another worker
    left: tuple[int, ...] = ()  # not tried: the batch ran out of time; still pending, queue again


def deliver_many(delivery_ids, *, store: Store, notifier: Notifier, tz: str = "UTC", final_attempt: bool = False,
                 templates=None, max_workers: int = 4, timeout: float = 20.0, budget: float = 25.0,
                 lease: timedelta = DELIVERY_LEASE, heartbeat: timedelta = DELIVERY_HEARTBEAT) -> BatchOutcome:
    """Render and send many deliveries, a few at a time concurrently; record every outcome.

    The batch is read in one query, then sent in waves of ``max_workers``:
    one statement claims a wave (``sending``, committed before any channel is
    called) together with recording the previous wave's outcomes, and the
    wave's sends run in a thread pool. So only the sends actually in flight
    are ever ``sending``: a process killed mid-batch leaves the rest pending,
    to be taken at once by the message's redelivery, and the one duplicate
    no design avoids (the channel accepted, the process died before recording
    it) stays confined to those in-flight sends. A channel apprise throttles
    gets one send per wave. A send that raises or gets no answer within
    ``timeout`` seconds fails alone: recorded failed (dead on the
    ``final_attempt``); the others are recorded sent and never sent again.
    No new wave starts after ``budget`` seconds: what was not tried is
    returned in ``left``, untouched. While a wave's sends are in flight their
    claims are renewed every ``heartbeat`` (for ``lease`` at most), so those of
    a process that died are taken over three heartbeats after, by the sweeper
    or a redelivered message (:func:`monitor.adapters.store.claim_expiry`). Errors are
    values; raises only what the store raises.
    """
    ids = list(dict.fromkeys(delivery_ids))
    jobs = store.delivery_jobs(ids)
    skipped = [i for i in ids if i not in jobs or jobs[i].status not in ("pending", "failed", "sending")]
    todo = [jobs[i] for i in ids if i not in skipped]
    serial = getattr(notifier, "serial", lambda channel: False)
    sent: list[int] = []
    failed: list[tuple[int, str]] = []
    done: tuple[list[int], list[tuple[int, str]]] = ([], [])  # the last wave's outcomes, not yet recorded
    started = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers))

    def send(job) -> str | None:
        try:
            rendered = render.render_alert(job.alert, notifier.format_for(job.channel), tz=tz, templates=templates)
            notifier.send(job.channel, rendered)
            return None
        except DeliveryError as e:
            return e.reason
        except Exception as e:  # a bug for this one alert (rendering...): it fails alone
            log.exception("delivery %d raised", job.id)
            return f"{type(e).__name__}: {e}"

    try:
        while todo and time.monotonic() - started < budget:
            wave, rest, busy = [], [], set()
            for job in todo:
                throttled = serial(job.channel)
                if len(wave) < max_workers and not (throttled and job.channel in busy):
                    wave.append(job)
                    if throttled:
                        busy.add(job.channel)
                else:
                    rest.append(job)
            todo = rest
            claimed = store.claim_deliveries([j.id for j in wave], sent=done[0], failed=done[1],
                                             dead=final_attempt, lease=lease, heartbeat=heartbeat)
            skipped += [j.id for j in wave if j.id not in claimed]
            wave = [j for j in wave if j.id in claimed]
            renew_until = _renew_until(lease, heartbeat)
            futures = {pool.submit(send, j): j for j in wave}
            # Waited for a heartbeat at a time (most sends take milliseconds: no renewal at all).
            wave_end = time.monotonic() + timeout
            while True:
                left = wave_end - time.monotonic()
                finished, running = wait(futures, timeout=max(0.0, min(heartbeat.total_seconds(), left)))
                if not running or left <= heartbeat.total_seconds():
                    break
                if time.monotonic() <= renew_until:
                    store.renew_deliveries([futures[f].id for f in running])
            done = ([], [])
            for fut, job in futures.items():
                # A send still hanging is not waited for: it is recorded failed and
                # retried (the channel's own socket timeouts end it).
                why = fut.result() if fut in finished else f"no answer within {timeout:g}s"
                if why is None:
                    done[0].append(job.id)
                    log.info("sent: rule %r, %r to channel %r", job.alert.rule, job.alert.title[:80], job.channel)
                else:
                    done[1].append((job.id, why))
                    log.warning("delivery %d to channel %r failed: %s", job.id, job.channel, why)
            sent += done[0]
            failed += done[1]
        store.claim_deliveries([], sent=done[0], failed=done[1], dead=final_attempt, lease=lease, heartbeat=heartbeat)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return BatchOutcome(sent=tuple(sent), failed=tuple(failed), skipped=tuple(skipped),
                        left=tuple(j.id for j in todo))


def run_watchdog(*, store: Store, notifier: Notifier | None, ops_channel: str | None,
                 rules: Sequence[str] = (), failures: int = 5, now: datetime | None = None) -> list:
    """Tell the operations channel when a feed fails, dies or goes quiet, or a daily rule goes silent.

    Each condition is said once (and its recovery once): what was said is
    stored only after the message went out, so a refused message is said
    again next time rather than lost. Without an operations channel the
    alerts are logged. Returns the alerts sent (or logged).
    """
    now = now or datetime.now(timezone.utc)
    said = store.watch_states("feed")
    alerts, new_feed_states = [], {}
    for f, times in store.feed_activity(now - timedelta(days=14)):
        key = str(f.id)
        health = watchdog.FeedHealth(feed=f"{f.name} <{f.url}>", consecutive_failures=f.consecutive_failures,
                                     last_status=f.last_status, last_error=f.last_error,
                                     not_a_feed=bool(f.last_error and "not an RSS or Atom feed" in f.last_error),
                                     article_times=times)
        state = watchdog.WatchdogState(frozenset(said.get(key, {}).get("reported", ())))
        found, state = watchdog.feed_alerts(health, now, state=state, failures=failures)
        alerts += found
        new_feed_states[key] = {"reported": sorted(state.reported)}
    rule_said = store.watch_states("rule")
    new_rule_states = {}
    times = store.match_times(now - timedelta(days=35), rules=list(rules))
    for rule in rules:
        prev = rule_said.get(rule, {}).get("reported_for")
        alert, reported_for = watchdog.rule_silence(
            rule, times.get(rule, []), now, reported_for=datetime.fromisoformat(prev) if prev else None)
        if alert:
            alerts.append(alert)
        new_rule_states[rule] = {"reported_for": reported_for.isoformat() if reported_for else None}
    _tell_ops(alerts, notifier=notifier, ops_channel=ops_channel, title="[watchdog]")
    store.save_watch_states("feed", new_feed_states, now=now)
    store.save_watch_states("rule", new_rule_states, now=now)
    return alerts


def run_spikes(*, store: Store, notifier: Notifier, rules, now: datetime | None = None) -> list[str]:
    """One alert to a rule's channels when its matches in the last full hour jump far above its baseline."""
    now = now or datetime.now(timezone.utc)
    hour = now.replace(minute=0, second=0, microsecond=0)  # the hour that just ended is [hour-1h, hour)
    wanted = [r for r in rules if getattr(r, "spike_alerts", False) and r.enabled]
    if not wanted:
        return []
    states = store.watch_states("spike")
    times = store.match_times(hour - timedelta(hours=169), rules=[r.name for r in wanted])
    fired, new_states = [], {}
    for r in wanted:
        st = states.get(r.name, {})
        if st.get("hour") == hour.isoformat():
            continue  # this hour was judged already
        counts = [0] * 169
        for t in times.get(r.name, []):
            i = int((hour - t).total_seconds() // 3600)
            if 0 <= i < 169:
                counts[168 - i] += 1
        # history starts at the rule's first match: a new rule has none to compare with
        first = next((i for i, c in enumerate(counts[:168]) if c), 168)
        history = counts[first:168]
        decision = spikes.spike(history, counts[168], state=spikes.SpikeState(
            st.get("in_burst", False), st.get("calm_hours", 0)))
        if decision is not None and decision.fire:
            top = store.top_stories(r.name, hour - timedelta(hours=1))
            body = (f"Rule {r.name}: {decision.count} matches in the hour to {hour:%Y-%m-%d %H:%M} UTC, "
                    f"against a usual {decision.baseline:.1f} an hour (x{decision.ratio:.1f}).")
            if top:
                body += "\nTop stories:\n" + "\n".join(f"- {t} ({n} article(s))" for t, n in top)
            for c in r.channels:
                notifier.send(c, RenderedAlert(f"[spike] {r.name}: {decision.count} matches in an hour",
                                               body, "text"))
            fired.append(r.name)
        state = decision.state if decision is not None else spikes.SpikeState(
            st.get("in_burst", False), st.get("calm_hours", 0))
        new_states[r.name] = {"hour": hour.isoformat(), "in_burst": state.in_burst,
                              "calm_hours": state.calm_hours}
    store.save_watch_states("spike", new_states, now=now)
    return fired


def _tell_ops(alerts, *, notifier: Notifier | None, ops_channel: str | None, title: str) -> None:
    for a in alerts:
        log.warning("%s %s: %s", title, a.kind, a.message)
    if not alerts or not ops_channel or notifier is None:
        return
    body = "\n".join(f"- {a.kind}: {a.message}" for a in alerts)
    notifier.send(ops_channel, RenderedAlert(f"{title} {len(alerts)} problem(s) with feeds or rules",
                                             body, "text"))

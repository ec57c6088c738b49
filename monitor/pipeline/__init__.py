"""Orchestration: poll a feed, match new articles, deliver an alert.

The one place where the core (parsing, matching, rendering) meets the adapters
(fetcher, store, notifier), each passed in as an argument. No Celery here: the
tasks in ``workers/`` call these functions and queue what they return.
"""

from monitor.pipeline.deliver import BatchOutcome, deliver, deliver_digest, deliver_many, due_digests
from monitor.pipeline.match import group_stories, match_articles
from monitor.pipeline.ops import run_spikes, run_watchdog
from monitor.pipeline.poll import PollOutcome, fetch_feed, fetch_full_text, poll_feed, poll_feeds

__all__ = ["PollOutcome", "fetch_feed", "poll_feeds", "poll_feed", "fetch_full_text", "match_articles", "group_stories", "due_digests", "deliver_digest", "deliver", "BatchOutcome", "deliver_many", "run_watchdog", "run_spikes"]

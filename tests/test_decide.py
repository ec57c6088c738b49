"""The pure decisions (monitor.core.decide): backoff, poll intents and jitter, delivery routing."""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from monitor.core.decide.poll import MAX_BACKOFF, after_poll, failure_delay, next_poll_at
from monitor.core.decide.retry import Backoff, claim_expiry, retry_overdue
from monitor.core.decide.route import Candidate, route
from monitor.core.types import PollRecord

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


# -- retry -------------------------------------------------------------------------------


@pytest.mark.parametrize("failures, expected", [(0, 30), (1, 30), (2, 60), (3, 120), (6, 960), (7, 1800), (500, 1800)])
def test_backoff_doubles_from_its_base_after_each_failure_up_to_its_cap(failures, expected):
    assert Backoff(30, 1800).delay(failures) == expected


def test_backoff_never_overflows_for_a_huge_failure_count():
    assert Backoff(0.5, 60).delay(10**9) == 60


def test_a_failed_delivery_is_overdue_once_its_backoff_has_passed_before_the_cutoff():
    policy = Backoff(30, 1800)
    assert not retry_overdue(policy, 2, T0, T0 + timedelta(seconds=60))  # due at exactly +60 s
    assert retry_overdue(policy, 2, T0, T0 + timedelta(seconds=61))
    assert not retry_overdue(policy, 1, T0, T0 + timedelta(seconds=30))


def test_a_claim_expires_after_three_heartbeats_but_never_later_than_the_lease():
    assert claim_expiry(timedelta(minutes=5), timedelta(seconds=10)) == timedelta(seconds=30)
    assert claim_expiry(timedelta(seconds=20), timedelta(seconds=10)) == timedelta(seconds=20)


# -- poll --------------------------------------------------------------------------------


def test_a_failed_poll_backs_off_from_the_interval_doubling_up_to_six_hours():
    assert failure_delay(900, 1) == timedelta(seconds=900)
    assert failure_delay(900, 3) == timedelta(seconds=3600)
    assert failure_delay(900, 40) == MAX_BACKOFF == timedelta(hours=6)


def test_a_failed_poll_waits_at_least_as_long_as_the_server_asked():
    assert failure_delay(900, 1, retry_after=7200) == timedelta(seconds=7200)
    assert failure_delay(900, 3, retry_after=10) == timedelta(seconds=3600)


def test_a_failure_counts_one_more_and_moves_the_next_poll_back():
    intent = after_poll(PollRecord(1, status=503, error="HTTP 503"), interval=600, consecutive_failures=2,
                        articles_seen=7, new_articles=0, now=T0)
    assert intent.failed and intent.consecutive_failures == 3
    assert intent.next_poll_at == T0 + timedelta(seconds=2400)
    assert (intent.last_error, intent.last_status, intent.last_polled_at) == ("HTTP 503", 503, T0)
    # what the last success stored is kept
    assert intent.validators is None and intent.body is None and intent.last_success_at is None
    assert intent.articles_seen is None


def test_a_success_resets_failures_counts_articles_and_leaves_the_next_poll_to_the_scheduler():
    intent = after_poll(PollRecord(1, status=200, etag='"a"', body_hash="h", item_hashes=b"x", problem="bozo"),
                        interval=600, consecutive_failures=4, articles_seen=7, new_articles=3, now=T0)
    assert not intent.failed and intent.consecutive_failures == 0
    assert intent.next_poll_at is None and intent.last_success_at == T0
    assert intent.articles_seen == 10 and intent.last_error == "bozo"
    assert intent.validators == ('"a"', None) and intent.body == ("h", b"x")


def test_a_304_without_validators_keeps_the_stored_ones():
    intent = after_poll(PollRecord(1, status=304), interval=600, consecutive_failures=0, articles_seen=0,
                        new_articles=0, now=T0)
    assert intent.validators is None and intent.body is None
    intent = after_poll(PollRecord(1, status=200), interval=600, consecutive_failures=0, articles_seen=0,
                        new_articles=0, now=T0)
    assert intent.validators == (None, None)


def test_a_feed_polled_on_time_is_next_due_within_jitter_before_its_interval():
    for seed in range(50):
        at = next_poll_at(T0, scheduled=T0, interval=1000, polled=True, jitter=0.1, rng=random.Random(seed))
        assert T0 + timedelta(seconds=900) <= at <= T0 + timedelta(seconds=1000)


def test_the_next_poll_comes_early_by_the_tick_at_most_half_the_interval():
    rng = random.Random(1)
    at = next_poll_at(T0, scheduled=T0, interval=1000, polled=True, jitter=0.0, early=60, rng=rng)
    assert at == T0 + timedelta(seconds=940)
    at = next_poll_at(T0, scheduled=T0, interval=100, polled=True, jitter=0.0, early=80, rng=rng)
    assert at == T0 + timedelta(seconds=50)


@pytest.mark.parametrize("polled, scheduled", [(False, T0), (True, T0 - timedelta(seconds=1001))])
def test_a_new_or_long_overdue_feed_is_next_polled_anywhere_within_its_interval(polled, scheduled):
    times = {next_poll_at(T0, scheduled=scheduled, interval=1000, polled=polled, early=100, rng=random.Random(s))
             for s in range(200)}
    assert all(T0 + timedelta(seconds=100) <= t <= T0 + timedelta(seconds=900) for t in times)
    assert min(times) < T0 + timedelta(seconds=300) and max(times) > T0 + timedelta(seconds=700)


# -- route -------------------------------------------------------------------------------


def _c(article_id, channel="mail", *, rule="r", story=None, mode="immediate", per_hour=None):
    return Candidate(article_id, story, rule, channel, mode, per_hour)


def test_a_delivery_is_sent_now_unless_something_holds_it():
    assert route([_c(1), _c(2, "chat")]) == [None, None]


def test_quiet_hours_hold_before_digest_and_digest_before_the_rest():
    cs = [_c(1, "night", mode="digest"), _c(2, "daily"), _c(3, mode="digest"), _c(4, "night")]
    assert route(cs, quiet_channels={"night"}, digest_channels={"daily"}) == [
        "quiet hours", "digest", "digest", "quiet hours"]


def test_a_story_alerts_once_per_rule_and_channel():
    cs = [_c(10, story=5), _c(11, story=5), _c(11, "chat", story=5), _c(12, story=6), _c(13)]
    assert route(cs) == [None, "same story", None, None, None]


def test_a_story_alerted_before_holds_its_new_articles_but_not_the_first_one_again():
    alerted = {(5, "r", "mail"): 10}
    assert route([_c(10, story=5), _c(11, story=5)], alerted=alerted) == [None, "same story"]
    assert alerted == {(5, "r", "mail"): 10}  # the input is left alone


def test_a_held_delivery_does_not_make_its_article_the_storys_alert():
    cs = [_c(10, "night", story=5), _c(11, "night", story=5)]
    assert route(cs, quiet_channels={"night"}) == ["quiet hours", "quiet hours"]
    assert route([_c(10, story=5, mode="digest"), _c(11, story=5)]) == ["digest", None]


def test_a_throttle_counts_what_was_sent_in_the_last_hour_and_the_batch_before():
    cs = [_c(i, mode="throttle", per_hour=3) for i in range(1, 5)] + [_c(9, "chat", mode="throttle", per_hour=3)]
    assert route(cs, sent_last_hour={("r", "mail"): 1}) == [None, None, "throttle 3/hour", "throttle 3/hour", None]


def test_a_throttle_without_a_limit_holds_nothing():
    assert route([_c(1, mode="throttle"), _c(2, mode="throttle")]) == [None, None]


def test_the_deciders_import_no_storage_queue_or_network_library():
    code = ("import sys, monitor.core.decide.poll, monitor.core.decide.route, monitor.core.decide.retry; "
            "bad = [m for m in ('sqlalchemy', 'sqlmodel', 'celery', 'httpx', 'apprise', 'psycopg') if m in sys.modules]; "
            "print(bad); raise SystemExit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

"""Every Celery setting of media-monitor, in one place, derived from monitor's Settings.

Each says why it is set; together they aim at no lost work: state lives in the
database (an outbox), the broker only carries ids. The knobs an operator tunes are
Settings keys (file, MONITOR_* environment, command line); what is here are the
consequences and the fixed bounds between them.
"""

from __future__ import annotations

from datetime import timedelta

from kombu import Exchange, Queue

from monitor.config import Settings
from monitor.core.redact import mask_url

QUEUES = ("poll", "match", "deliver")
ROUTES = {
    "monitor.dispatch_due_feeds": "poll",
    "monitor.poll_feed": "poll",
    "monitor.poll_feeds": "poll",
    "monitor.sweep": "poll",
    "monitor.match_articles": "match",
    "monitor.deliver": "deliver",
    "monitor.deliver_digest": "deliver",
    "monitor.flush_digests": "deliver",
    "monitor.watchdog": "deliver",
    "monitor.spikes": "deliver",
}
# Every retry countdown and time limit stays well below this, or Redis would
# hand the same message to a second worker while the first still holds it.
VISIBILITY_TIMEOUT = 3600
# Longest retry countdown (deliveries back off up to this): half the visibility
# timeout, so an ETA message held by a worker is never restored while it waits.
MAX_COUNTDOWN = 1800
# Per-queue time limits (soft, hard), all far below the visibility timeout. A poll
# batch fetches 20 feeds with 8 threads at fetch_timeout (20 s) each; matching 200
# articles takes well under a second (the match queue's limits come from the
# match_time_limit setting, see match_time_limits); a channel call is bounded by
# apprise's own socket timeouts (4 s connect, 4 s read), so 60 s means something hangs.
# Only a pool of processes (prefork, what `monitor worker` and `monitor run` use)
# enforces them: Celery's threads pool cannot stop a thread and ignores them.
TIME_LIMITS = {"poll": (240, 300), "match": (120, 150), "deliver": (60, 90)}
# Seconds `monitor run` gives the tasks in hand after SIGINT or SIGTERM before it
# stops them: every task is idempotent and its work is in the database (the sweeper
# queues what was cut short), so stopping promptly loses nothing.
RUN_SHUTDOWN_GRACE = 3.0


def match_time_limits(settings: Settings) -> tuple[float, float]:
    """The match task's (soft, hard) time limits: ``match_time_limit``, then as long again, 30 s at most.

    At the soft limit the task itself isolates the slow article (workers.tasks);
    the hard limit kills the process of a task that did not stop.
    """
    soft = settings.match_time_limit
    return soft, soft + min(soft, 30.0)


MATCH_BATCH = 200  # article ids per match task: one task per poll, bounded
POLL_BATCH = 20  # feeds per poll task, fetched concurrently
DISPATCH_PAGE = 1000
DISPATCH_LATENCY = 1.0  # seconds allowed for a dispatch and its polls to reach a worker under load
# Deliveries per deliver message (all of one channel), sent DELIVER_THREADS at a
# time; a send gets DELIVER_TIMEOUT s, and no new wave starts after DELIVER_BUDGET s,
# so a batch ends well within the deliver queue's soft time limit (60 s) and a
# hanging channel is recorded as failed by the task itself.
DELIVER_BATCH = 50
DELIVER_THREADS = 4
DELIVER_TIMEOUT = 20.0
DELIVER_BUDGET = 25.0
MAX_DISPATCH_PER_TICK = 50_000
TRANSIENT_MAX_COUNTDOWN = 30  # a database back is noticed within this

# Every batch makes hundreds of thousands of short-lived objects (parsed entries, tokens,
# rows), which start a young collection every 700 allocations, and now and then a full
# one that walks every object the process holds: the modules, the rules, the adapters.
# What the process holds when it starts is moved out of the collector's sight (gc.freeze;
# refcounting still frees what it can), and young collections wait for more allocations.
GC_THRESHOLD = (20_000, 50, 100)


def queue_names(settings: Settings) -> list[str]:
    return [settings.queue_prefix + q for q in QUEUES]


def celery_config(settings: Settings) -> dict:
    """The Celery configuration for these settings. Pure."""
    p = settings.queue_prefix
    transport_options = _transport_options(settings)
    redis = settings.effective_broker_url.startswith("redis://")  # rediss:// keeps kombu's own
    return dict(
        broker_url=settings.effective_broker_url,
        # For redis:// URLs, workers.app.RedisTransport (a worker that outlives a Redis restart).
        broker_transport="workers.app:RedisTransport" if redis else None,
        broker_transport_options=transport_options,
        # Keep trying the broker forever, at start and after a connection loss.
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        # A publish that fails for a moment is retried, not dropped; but only for
        # a few seconds: the work is already committed (outbox), and the sweeper
        # queues it once the broker is back, so a task never hangs on a dead broker.
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 4, "interval_start": 0.2, "interval_step": 0.5,
                                   "interval_max": 2},
        # Results live in the database; no result backend to fill up.
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        # One exchange and routing key per queue: a message goes to one queue only.
        task_queues=[Queue(p + q, Exchange(p + q, type="direct"), routing_key=p + q) for q in QUEUES],
        task_default_queue=p + "poll",
        task_default_exchange=p + "poll",
        task_default_routing_key=p + "poll",
        task_routes={name: {"queue": p + q} for name, q in ROUTES.items()},
        # Acknowledge after the task ran, and give the message back if the
        # process running it dies: a killed worker loses nothing. Safe because
        # every task is idempotent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A task that raised or hit its time limit is acknowledged: the task itself
        # decides what to retry (self.retry) and what is poison (dead letter);
        # requeueing every failure would loop on a poison message forever.
        task_acks_on_failure_or_timeout=True,
        # One message at a time per process: a slow feed doesn't hold others back,
        # and a killed worker held only the one message it was running.
        worker_prefetch_multiplier=1,
        # Limits well below the visibility timeout (per queue in task_annotations):
        # the soft limit lets the task record its state and retry.
        task_soft_time_limit=240,
        task_time_limit=300,
        task_annotations={name: dict(zip(("soft_time_limit", "time_limit"),
                                         match_time_limits(settings) if q == "match" else TIME_LIMITS[q]))
                          for name, q in ROUTES.items()},
        # SIGTERM (docker stop, systemd): a warm shutdown lets the tasks in hand finish;
        # if a second signal forces a cold shutdown, this many seconds are still given
        # to finish or return them, and the unstarted and ETA messages go back to Redis.
        worker_soft_shutdown_timeout=10.0,
        worker_enable_soft_shutdown_on_idle=True,
        # A lost broker connection does not cancel running tasks: they finish, their
        # effects are committed, and their messages come back (idempotent) later.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=True,
        worker_redirect_stdouts=False,
        timezone="UTC",
        # Two fixed ticks: nothing worth persisting in a schedule file.
        beat_scheduler="celery.beat:Scheduler",
        beat_schedule=_beat_schedule(settings),
    )


def _transport_options(settings: Settings) -> dict:
    """Options of a Redis broker's transport (the embedded SQLite queue has neither a
    visibility timeout nor options)."""
    if settings.embedded_broker:
        return {}
    return {
        # A message taken but not acknowledged goes back to its queue after this
        # long (the worker holding it died). Everything below stays well under it.
        # Not tunable: lowering it below the longest retry countdown (MAX_COUNTDOWN)
        # or time limit would run the same task again while it waits or runs.
        # Recovery after a whole worker dies comes from the sweeper, not from this.
        "visibility_timeout": VISIBILITY_TIMEOUT,
        # kombu looks for such messages every interval * throttle seconds (100 s by
        # default); every 10 s instead, so a killed worker's messages come back
        # soon after their visibility timeout rather than up to 100 s later.
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        # A broker that vanishes without closing the socket (failover, NAT) must not
        # block a publish forever: fail after 10 s, and the outbox keeps the work.
        "socket_timeout": 10,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        # Check the long-lived BRPOP connection, so a half-open one is replaced.
        "health_check_interval": 10,
        "retry_on_timeout": True,
    }


def _beat_schedule(settings: Settings) -> dict:
    """The periodic tasks: ticks, each expiring before the next, so a late one is dropped."""
    return {
        "dispatch-due-feeds": _tick("monitor.dispatch_due_feeds", settings.poll_tick),
        "flush-digests": _tick("monitor.flush_digests", 30),
        "watchdog": _tick("monitor.watchdog", 300),
        # Every 10 minutes; each hour is judged once (the state remembers which).
        "spikes": _tick("monitor.spikes", 600),
        "sweep": _tick("monitor.sweep", settings.sweep_interval),
    }


def _tick(task: str, seconds: float) -> dict:
    return {"task": task, "schedule": timedelta(seconds=seconds), "options": {"expires": seconds}}


def describe_broker(settings: Settings) -> str:
    """The broker as configured, its password masked; or where the embedded queue lives."""
    if settings.embedded_broker:
        return f"embedded queue in {settings.data_dir / 'queue.sqlite'}"
    return mask_url(settings.broker_url)

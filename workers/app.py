"""The Celery app and its configuration, derived from monitor's settings.

Each setting says why it is set; together they aim at no lost work:
state lives in the database (an outbox), the broker only carries ids.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import warnings
from datetime import timedelta

from celery import Celery, bootsteps
from celery.exceptions import SecurityWarning
from celery.signals import after_setup_logger, worker_process_init
from kombu import Exchange, Queue
from kombu.transport import redis as kombu_redis
from kombu.transport.virtual import QoS as _VirtualQoS

from monitor.config import Settings, load_settings
from monitor.render import printable
from monitor.service import RuleSource, Services

from . import sqlite_queue  # noqa: F401  (registers the embedded transport)

log = logging.getLogger("monitor")

app = Celery("media-monitor")
_state: dict = {"settings": None, "services": None, "rules": None, "run": False}

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


def virtual_qos_ack(qos, delivery_tag) -> None:
    # Forget the message locally only (what kombu's base QoS.ack does).
    _VirtualQoS.ack(qos, delivery_tag)


class _RedisQoS(kombu_redis.QoS):
    def restore_unacked(self, client=None):
        # kombu 5.7.0: when Redis goes away while this worker holds a message, the
        # channel is closed after its transport lost its client, restoring raises
        # AttributeError, and the whole worker exits ("Unrecoverable error") instead
        # of reconnecting. The messages are still in Redis's unacked hash, which the
        # visibility timeout restores (and their work is in the database for the
        # sweeper), so going on without restoring them here loses nothing.
        try:
            return super().restore_unacked(client)
        except AttributeError:
            log.warning("broker gone: %d message(s) in hand left to the visibility timeout",
                        len(self._delivered))
            self._delivered.clear()
            return []

    # The same bug hits a task that finishes after the connection was lost: its
    # ack (or reject) goes to the closed channel and kills the worker. Left
    # unacknowledged, the message comes back after the visibility timeout, and the
    # task is idempotent.
    def ack(self, delivery_tag):
        try:
            super().ack(delivery_tag)
        except AttributeError:
            log.warning("broker connection was lost: message left to the visibility timeout")
            virtual_qos_ack(self, delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        try:
            super().reject(delivery_tag, requeue=requeue)
        except AttributeError:
            log.warning("broker connection was lost: message left to the visibility timeout")
            virtual_qos_ack(self, delivery_tag)


class _RedisChannel(kombu_redis.Channel):
    QoS = _RedisQoS


class RedisTransport(kombu_redis.Transport):
    """kombu's Redis transport, surviving a broker loss while messages are in hand."""

    Channel = _RedisChannel


def _env_float(name: str, default: float) -> float:
    # Operational knobs that are not Settings keys (monitor/config.py stays as it is):
    # read from MONITOR_<NAME>, for deployments and the fault tests.
    raw = os.environ.get("MONITOR_" + name)
    return float(raw) if raw not in (None, "") else default


def tuning() -> dict:
    """The reliability knobs read from the environment (seconds unless said)."""
    return {
        # How often the sweeper looks for committed work that is not queued.
        "sweep_interval": _env_float("SWEEP_INTERVAL", 60.0),
        # How old pending work must be before the sweeper queues it again: long
        # enough that it is not merely waiting its turn in a busy queue.
        "stale_after": _env_float("SWEEP_STALE_AFTER", 300.0),
        # Deliveries of one message before it is dead-lettered as poison.
        "poison_max_deliveries": int(_env_float("POISON_MAX_DELIVERIES", 3)),
    }


def queue_names(settings: Settings) -> list[str]:
    return [settings.queue_prefix + q for q in QUEUES]


def celery_config(settings: Settings) -> dict:
    """The Celery configuration for these settings (pure but for the MONITOR_ knobs of :func:`tuning`)."""
    p = settings.queue_prefix
    knobs = tuning()
    # The embedded SQLite queue has no visibility timeout (nor options).
    transport_options = {} if settings.embedded_broker else {
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
    redis = settings.effective_broker_url.startswith("redis://")  # rediss:// keeps kombu's own
    return dict(
        broker_url=settings.effective_broker_url,
        # For redis:// URLs, the transport above (a worker that outlives a Redis restart).
        broker_transport=f"{__name__}:RedisTransport" if redis else None,
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
        beat_schedule={
            "dispatch-due-feeds": {
                "task": "monitor.dispatch_due_feeds",
                "schedule": timedelta(seconds=settings.poll_tick),
                "options": {"expires": settings.poll_tick},
            },
            "flush-digests": {
                "task": "monitor.flush_digests",
                "schedule": timedelta(seconds=30),
                "options": {"expires": 30},
            },
            "watchdog": {
                "task": "monitor.watchdog",
                "schedule": timedelta(minutes=5),
                "options": {"expires": 300},
            },
            # Every 10 minutes; each hour is judged once (the state remembers which).
            "spikes": {
                "task": "monitor.spikes",
                "schedule": timedelta(minutes=10),
                "options": {"expires": 600},
            },
            "sweep": {
                "task": "monitor.sweep",
                "schedule": timedelta(seconds=knobs["sweep_interval"]),
                "options": {"expires": knobs["sweep_interval"]},
            },
        },
    )


def describe_broker(settings: Settings) -> str:
    """The broker as configured, its password masked; or where the embedded queue lives."""
    if settings.embedded_broker:
        return f"embedded queue in {settings.data_dir / 'queue.sqlite'}"
    return mask_url(settings.broker_url)


def mask_url(url: str) -> str:
    """``url`` (or ``;``-separated URLs) with the password and secret query values as ``****``."""
    url = re.sub(r"(://[^/@;?#]*?:)[^/@;?#]+@", r"\1****@", url)
    return re.sub(r"([?&](?:password|pass|token|secret|key)=)[^&;#]*", r"\1****", url, flags=re.IGNORECASE)


def configure(settings: Settings, *, rules: RuleSource | None = None) -> Celery:
    """Configure the app for ``settings``; call before starting a worker or beat.

    ``rules``: the rules this process already loaded (for ``settings``), which the
    tasks then use instead of loading their own; pool processes forked from this
    one share them.
    """
    _state["settings"] = settings
    _state["services"] = None
    _state["rules"] = rules
    config = celery_config(settings)
    if not {"pickle", "application/x-python-serialize"} & set(config["accept_content"]):
        # Celery warns (in 9 lines) about any worker run as root; what makes that dangerous is
        # accepting pickle, which would let whoever can write to the broker run code as root.
        # This worker accepts JSON only (Celery itself refuses to start as root with pickle).
        warnings.filterwarnings("ignore", category=SecurityWarning)
    if app.configured and app.conf.broker_url != config["broker_url"]:
        # Configured again for another broker (tests, a bench): drop the connections
        # and producers bound to the old one, as Celery does after a fork.
        app._after_fork()
    app.conf.update(config)
    return app


@app.on_configure.connect
def _configure_from_environment(sender=None, **_):
    # `celery -A workers ...` imports the app without our CLI: read the
    # settings from the environment / config file then.
    if _state["settings"] is None:
        settings = load_settings()
        _state["settings"] = settings
        sender.conf.update(celery_config(settings))


def settings() -> Settings:
    if _state["settings"] is None:
        app.conf.broker_url  # triggers on_configure
    return _state["settings"]


def services() -> Services:
    """This process's adapters, built on first use (after a prefork fork)."""
    if _state["services"] is None:
        svc = Services(settings())
        if _state["rules"] is not None:
            # Loaded before the pool forked, spaCy models too (the shipped rules with the French
            # model: 8 s, 225 MB peak RSS in a process of their own): each pool process shares
            # them instead of loading its own within its first task's time limit. A later
            # edit of the rules reloads them in each process.
            svc.rules = _state["rules"]
        _state["services"] = svc
    return _state["services"]


# Every batch makes hundreds of thousands of short-lived objects (parsed entries, tokens,
# rows), which start a young collection every 700 allocations, and now and then a full
# one that walks every object the process holds: the modules, the rules, the adapters.
# Measured on the pipeline benchmark (--quick): 0.44 s of 5.9 s of a pool process's CPU
# went to collecting, two full collections alone 0.34 s. What the process holds when it
# starts (modules, 180,000 objects) is moved out of the collector's sight (gc.freeze;
# refcounting still frees what it can), and young collections wait for more
# allocations: 0.03 s.
GC_THRESHOLD = (20_000, 50, 100)


@worker_process_init.connect
def _tune_gc(**_) -> None:
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


class _StopPromptly(bootsteps.StartStopStep):
    """SIGTERM and SIGINT stop the worker within RUN_SHUTDOWN_GRACE seconds, as a cold shutdown.

    Celery's own handlers make them a warm shutdown, which waits for the tasks in hand:
    up to a hard time limit for a long match. Started after Celery installed its handlers
    (in on_start), and before the consumer connects, so it holds while the broker is
    unreachable too.
    """

    requires = ("celery.worker.components:Pool",)

    def start(self, worker):
        from celery.apps import worker as celery_worker

        # Private in Celery 5.7 (the public handlers are warm, or cold with exit code 1):
        # fail loudly rather than stop slowly if it goes away.
        handler = getattr(celery_worker, "_shutdown_handler")
        for sig in ("SIGTERM", "SIGINT"):
            # verbose=False: no "worker: Cold shutdown (MainProcess)"; `monitor run` says "stopped".
            handler(worker, sig=sig, how="Cold", callback=celery_worker.on_cold_shutdown, exitcode=0,
                    verbose=False)


def stop_promptly(celery_app: Celery) -> None:
    """Make this process's worker stop within a few seconds on SIGTERM or SIGINT (``monitor run``)."""
    celery_app.conf.worker_soft_shutdown_timeout = RUN_SHUTDOWN_GRACE
    # An idle worker stops at once; the grace is for tasks in hand.
    celery_app.conf.worker_enable_soft_shutdown_on_idle = False
    if _StopPromptly not in celery_app.steps["worker"]:
        celery_app.steps["worker"].add(_StopPromptly)


def run_output() -> None:
    """Log for a person at a terminal (``monitor run``): a date, the message, the level unless INFO.

    Below DEBUG, Celery's own lines about starting, connecting, scheduling and
    shutting down are left out too: what remains is one line per poll, match,
    delivery or failure.
    """
    _state["run"] = True


# Below DEBUG: one line per HTTP request, and Celery's "Task received/succeeded" for every
# task, drown what the service says it did ("polled <feed>: 3 new article(s)", "match: ...",
# "sent: ..."). An expired message (a scheduler tick or poll batch that waited longer than
# it is worth: the next tick does its work) is discarded by design: "Discarding revoked task".
QUIET_LOGGERS = ("httpx", "apprise", "celery.app.trace", "celery.worker.strategy", "celery.worker.request")
# And for `monitor run`: the scheduler's "Sending due task" at every tick, "Connected to",
# "ready.", "Restoring 1 unacknowledged message(s)" at a stop (their warnings and errors stay).
RUN_QUIET_LOGGERS = ("celery.beat", "celery.apps.worker", "celery.worker.consumer", "kombu")


class LineFormatter(logging.Formatter):
    """A log line without control or bidi characters (they quote feed titles, URLs, errors).

    Wraps the handler's own formatter (Celery's, for ``monitor worker``), or, with
    ``inner=None``, writes ``<date> [LEVEL ]message`` with the level only when it is not INFO.
    """

    def __init__(self, inner: logging.Formatter | None = None):
        super().__init__("%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        if self.inner is not None:
            return printable(self.inner.format(record), lines=True)
        text = super().format(record)
        if record.levelno != logging.INFO:
            stamp = self.formatTime(record, self.datefmt)
            text = f"{stamp} {record.levelname} {text[len(stamp) + 1:]}"
        return printable(text, lines=True)


class _BrokerAsConfigured(logging.Filter):
    # Celery's "Connected to %s" names the transport class for a custom one
    # ("RedisTransport://:**@..."): the broker as the user wrote it instead.
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Connected to %s" and _state["settings"] is not None:
            record.args = (describe_broker(_state["settings"]),)
        return True


class _ExpectedExits(logging.Filter):
    # At a stop, `monitor run` ends its pool processes with SIGTERM (a cold shutdown, the
    # work in hand taken up at the next start): billiard logs each as an ERROR.
    def filter(self, record: logging.LogRecord) -> bool:
        from celery.worker import state

        return not (state.should_terminate is not None and "exited with" in record.getMessage()
                    and "SIGTERM" in record.getMessage())


@after_setup_logger.connect
def _quiet_logs(logger=None, **_):
    debug = _state["settings"] is not None and _state["settings"].log_level == "DEBUG"
    if not debug:
        for name in QUIET_LOGGERS + (RUN_QUIET_LOGGERS if _state["run"] else ()):
            logging.getLogger(name).setLevel(logging.WARNING)
    from billiard.util import get_logger

    pool_logger = get_logger()  # the pool's own (not propagated), set up by Celery like the root
    for each in (logger or logging.getLogger(), pool_logger):
        for handler in each.handlers:
            if not isinstance(handler.formatter, LineFormatter):
                handler.setFormatter(LineFormatter(None if _state["run"] else handler.formatter))
    for each, kind in ((logging.getLogger("celery.worker.consumer.connection"), _BrokerAsConfigured),
                       (pool_logger, _ExpectedExits if _state["run"] else None)):
        if kind is not None and not any(isinstance(f, kind) for f in each.filters):
            each.addFilter(kind())

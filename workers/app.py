"""The Celery app and its configuration, derived from monitor's settings.

Each setting says why it is set; together they aim at no lost work:
state lives in the database (an outbox), the broker only carries ids.
"""

from __future__ import annotations

import gc
import logging
import warnings

from celery import Celery, bootsteps
from celery.exceptions import SecurityWarning
from celery.signals import after_setup_logger, worker_process_init
from kombu.transport import redis as kombu_redis
from kombu.transport.virtual import QoS as _VirtualQoS

from monitor.config import Settings, load_settings
from monitor.core.render import printable
from monitor.service import RuleSource, Services
from workers import sqlite_queue  # noqa: F401  (registers the embedded transport)
from workers.config import (
    GC_THRESHOLD,
    RUN_SHUTDOWN_GRACE,
    celery_config,
    describe_broker,
)

log = logging.getLogger("monitor")

app = Celery("media-monitor")
_state: dict = {"settings": None, "services": None, "rules": None, "run": False}

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

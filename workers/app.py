"""The Celery app and its configuration, derived from monitor's settings.

Each setting says why it is set; together they aim at no lost work:
state lives in the database (an outbox), the broker only carries ids.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Celery
from celery.signals import after_setup_logger
from kombu import Exchange, Queue

from monitor.config import Settings, load_settings
from monitor.service import Services

from . import sqlite_queue  # noqa: F401  (registers the embedded transport)

log = logging.getLogger("monitor")

app = Celery("media-monitor")
_state: dict = {"settings": None, "services": None}

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
}
# Every retry countdown and time limit stays well below this, or Redis would
# hand the same message to a second worker while the first still holds it.
VISIBILITY_TIMEOUT = 3600


def queue_names(settings: Settings) -> list[str]:
    return [settings.queue_prefix + q for q in QUEUES]


def celery_config(settings: Settings) -> dict:
    """The Celery configuration for these settings (pure)."""
    p = settings.queue_prefix
    # The embedded SQLite queue has no visibility timeout (nor options).
    transport_options = {} if settings.embedded_broker else {"visibility_timeout": VISIBILITY_TIMEOUT}
    return dict(
        broker_url=settings.effective_broker_url,
        broker_transport_options=transport_options,
        # Keep trying the broker forever, at start and after a connection loss.
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # A publish that fails for a moment is retried, not dropped.
        task_publish_retry=True,
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
        # One message at a time per process: a slow feed doesn't hold others back.
        worker_prefetch_multiplier=1,
        # Limits well below the visibility timeout.
        task_soft_time_limit=240,
        task_time_limit=300,
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
            "sweep": {
                "task": "monitor.sweep",
                "schedule": timedelta(seconds=60),
                "options": {"expires": 60},
            },
        },
    )


def configure(settings: Settings) -> Celery:
    """Configure the app for ``settings``; call before starting a worker or beat."""
    _state["settings"] = settings
    _state["services"] = None
    app.conf.update(celery_config(settings))
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
        _state["services"] = Services(settings())
    return _state["services"]


@after_setup_logger.connect
def _quiet_logs(**_):
    # One line per HTTP request, and Celery's "Task received/succeeded" for every
    # task, drown what the service says it did ("polled <feed>: 3 new article(s)",
    # "match: ...", "sent: ..."). DEBUG brings them back.
    if (_state["settings"] is None or _state["settings"].log_level != "DEBUG"):
        for name in ("httpx", "apprise", "celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(name).setLevel(logging.WARNING)

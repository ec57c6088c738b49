"""The command line's one door to the Celery app in ``workers/``.

The library (core, adapters, pipeline, service, web) never imports ``workers``; the
commands that start workers or queue a task go through here, and the dashboard is
given :func:`delivery_enqueuer`'s function. Imports are lazy: most commands never
start Celery.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.config import Settings


def queues() -> tuple[str, ...]:
    """The queue names, without the deployment's prefix."""
    from workers.config import QUEUES

    return QUEUES


def queue_names(settings: Settings) -> list[str]:
    from workers.config import queue_names

    return queue_names(settings)


def describe_broker(settings: Settings) -> str:
    """The broker as configured, its password masked (or where the embedded queue lives)."""
    from workers.config import describe_broker

    return describe_broker(settings)


def run_output() -> None:
    """Log lines for a person at a terminal (``monitor run``; see :func:`workers.app.run_output`)."""
    from workers.app import run_output

    run_output()


def configure(settings: Settings, *, rules=None):
    """The Celery app, configured for ``settings`` (see :func:`workers.configure`)."""
    from workers import configure

    return configure(settings, rules=rules)


def shutdown_grace() -> float:
    from workers.config import RUN_SHUTDOWN_GRACE

    return RUN_SHUTDOWN_GRACE


def stop_promptly(app) -> None:
    from workers.app import stop_promptly

    stop_promptly(app)


def delivery_enqueuer(settings: Settings) -> Callable[[int], None]:
    """A function that queues a delivery for sending (the dashboard's retry button, ``alerts retry``);
    Celery is set up on its first call."""
    state: dict = {}

    def enqueue(delivery_id: int) -> None:
        if "task" not in state:
            configure(settings)
            from workers.tasks import deliver

            state["task"] = deliver
        state["task"].delay(delivery_id)

    return enqueue

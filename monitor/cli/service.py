"""Running the service: ``run``, ``worker``, ``beat`` and ``check``."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager

import click

from monitor.cli.common import redacted_db, services_of, settings_of
from monitor.cli.output import echo
from monitor.config import Settings


def _worker_argv(settings: Settings, *, pool: str | None, concurrency: int | None, name: str,
                 queues: str | None = None) -> list[str]:
    from monitor.cli import queue

    known = queue.queues()
    wanted = queue.queue_names(settings)
    if queues:
        unknown = [q for q in queues.split(",") if q.strip() not in known]
        if unknown:
            raise click.BadParameter(f"unknown queue {unknown[0]!r}; choose among {', '.join(known)}",
                                     param_hint="--queues")
        wanted = [settings.queue_prefix + q.strip() for q in queues.split(",")]
    argv = ["worker", "-Q", ",".join(wanted), "-l", settings.log_level,
            "-c", str(concurrency or settings.worker_concurrency), "-n", name]
    if pool:
        argv += ["-P", pool]
    return argv


@click.command()
@click.pass_context
def run(ctx):
    """Run everything in one process: schedule, poll, match, deliver.

    Uses the embedded SQLite database and queue unless configured otherwise;
    the same Celery tasks as a distributed deployment, run by worker_concurrency
    processes, so that a task past its time limit can be stopped. Ctrl-C (or
    SIGTERM) stops within a few seconds; work cut short is taken up at the next start.
    """
    from monitor.cli import queue

    settings = settings_of(ctx)
    svc = services_of(ctx)
    svc.check()
    svc.sync_feeds(force=True)
    app = queue.configure(settings, rules=svc.rules)  # loaded by check(): the pool processes share them
    queue.stop_promptly(app)
    queue.run_output()
    echo(f"media-monitor: {len(svc.store.list_feeds())} feed(s), "
         f"{len(svc.rules.matcher().rules)} rule(s) from {settings.rules_path}, "
         f"channels: {', '.join(svc.notifier.names) or 'none'}", err=True)
    echo(f"database {redacted_db(settings)}, {queue.describe_broker(settings)}. Ctrl-C to stop.", err=True)
    argv = _worker_argv(settings, pool="prefork", concurrency=None, name="monitor-run@%h")
    with _beat_while_working(app, queue.shutdown_grace()):
        try:
            app.worker_main(_quiet(settings) + argv + ["--without-gossip", "--without-mingle",
                                                       "--without-heartbeat"])
        except SystemExit as e:
            if e.code not in (0, None):
                raise
    echo("media-monitor: stopped", err=True)
    # Ended here, without the interpreter's exit handlers: billiard's pool (the one Celery uses
    # on the embedded queue) finalizes at exit by taking its task queue's read lock, which an
    # idle pool process holds while it waits for work, and the stop killed them all: the
    # process would hang there forever after "stopped". Everything it did is committed.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@contextmanager
def _beat_while_working(app, grace: float):
    """The embedded scheduler, sending its ticks only while the worker takes them.

    Started once the worker is ready, stopped as soon as it starts to stop: ticks sent
    before or after wait in the queue past their expiry, and the next start discards
    each of them ("Discarding revoked task").
    """
    from celery.beat import EmbeddedService
    from celery.signals import worker_ready, worker_shutting_down

    beat = EmbeddedService(app, thread=True)

    def start_beat(**_):
        beat.start()

    def stop_beat(**_):
        # Not beat.stop(), which waits for the scheduler: one retrying an unreachable broker
        # (forever) never answers. A daemon thread: what it has not done, the next start does.
        beat.service.stop()

    worker_ready.connect(start_beat, weak=False)
    worker_shutting_down.connect(stop_beat, weak=False)
    try:
        yield
    finally:
        stop_beat()
        if beat.is_alive():
            beat.join(grace)
        worker_ready.disconnect(start_beat)
        worker_shutting_down.disconnect(stop_beat)


def _quiet(settings: Settings, verbose: bool = False) -> list[str]:
    """Celery's global --quiet (no banner) unless DEBUG or --verbose asked for detail."""
    return [] if verbose or settings.log_level == "DEBUG" else ["--quiet"]


@click.command()
@click.option("-c", "--concurrency", type=int, default=None, help="processes (default: worker_concurrency)")
@click.option("-P", "--pool", default=None, help="Celery pool: prefork (default), threads, solo")
@click.option("-n", "--hostname", default="monitor@%h", show_default=True, help="worker name")
@click.option("-Q", "--queues", default=None,
              help="only these queues, comma-separated (poll, match, deliver); default: all")
@click.option("-v", "--verbose", is_flag=True, help="print Celery's banner (configuration, queues, tasks)")
@click.pass_context
def worker(ctx, concurrency, pool, hostname, queues, verbose):
    """Run a Celery worker on the configured broker (queues poll, match, deliver)."""
    from monitor.cli.queue import configure, describe_broker

    settings = settings_of(ctx)
    argv = _worker_argv(settings, pool=pool, concurrency=concurrency, name=hostname, queues=queues)
    services_of(ctx).check()
    app = configure(settings)
    if not verbose:
        echo(f"media-monitor worker: {describe_broker(settings)}, queues {argv[2]}, "
             f"{argv[6]} process(es); database {redacted_db(settings)}", err=True)
    app.worker_main(_quiet(settings, verbose) + argv)


@click.command()
@click.pass_context
def beat(ctx):
    """Run the scheduler that queues feed polls when they are due (run exactly one)."""
    from monitor.cli.queue import configure

    settings = settings_of(ctx)
    svc = services_of(ctx)
    svc.store
    svc.sync_feeds(force=True)
    app = configure(settings)
    app.start(_quiet(settings) + ["beat", "-l", settings.log_level])


@click.command()
@click.pass_context
def check(ctx):
    """Check the whole configuration: settings, rules, channels, feeds, database."""
    svc = services_of(ctx)
    svc.check()
    echo(f"ok: {len(svc.rules.matcher().rules)} rule(s), {len(svc.notifier.names)} channel(s), "
               f"database {redacted_db(svc.settings)}")

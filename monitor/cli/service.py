"""Running the service: ``run``, ``worker``, ``beat`` and ``check``."""

from __future__ import annotations

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
    from celery.beat import EmbeddedService

    from monitor.cli import queue

    settings = settings_of(ctx)
    svc = services_of(ctx)
    svc.check()
    svc.sync_feeds(force=True)
    app = queue.configure(settings, rules=svc.rules)  # loaded by check(): the pool processes share them
    queue.stop_promptly(app)
    click.echo(f"media-monitor: {len(svc.store.list_feeds())} feed(s), rules from {settings.rules_path}, "
               f"channels: {', '.join(svc.notifier.names) or 'none'}; database "
               f"{redacted_db(settings)}, queue {'embedded' if settings.embedded_broker else 'broker'}. "
               f"Ctrl-C to stop.", err=True)
    beat = EmbeddedService(app, thread=True)
    beat.start()
    try:
        app.worker_main(_worker_argv(settings, pool="prefork", concurrency=None, name="monitor-run@%h")
                        + ["--without-gossip", "--without-mingle", "--without-heartbeat"])
    except SystemExit as e:
        if e.code not in (0, None):
            raise
    finally:
        # Not beat.stop(), which waits for the scheduler: one retrying an unreachable broker
        # (forever) never answers. A daemon thread: what it has not done, the next start does.
        beat.service.stop()
        beat.join(queue.shutdown_grace())
    click.echo("media-monitor: stopped", err=True)



@click.command()
@click.option("-c", "--concurrency", type=int, default=None, help="processes (default: worker_concurrency)")
@click.option("-P", "--pool", default=None, help="Celery pool: prefork (default), threads, solo")
@click.option("-n", "--hostname", default="monitor@%h", show_default=True, help="worker name")
@click.option("-Q", "--queues", default=None,
              help="only these queues, comma-separated (poll, match, deliver); default: all")
@click.pass_context
def worker(ctx, concurrency, pool, hostname, queues):
    """Run a Celery worker on the configured broker (queues poll, match, deliver)."""
    from monitor.cli.queue import configure

    settings = settings_of(ctx)
    argv = _worker_argv(settings, pool=pool, concurrency=concurrency, name=hostname, queues=queues)
    services_of(ctx).check()
    app = configure(settings)
    app.worker_main(argv)


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
    app.start(["beat", "-l", settings.log_level])


@click.command()
@click.pass_context
def check(ctx):
    """Check the whole configuration: settings, rules, channels, feeds, database."""
    svc = services_of(ctx)
    svc.check()
    echo(f"ok: {len(svc.rules.matcher().rules)} rule(s), {len(svc.notifier.names)} channel(s), "
               f"database {redacted_db(svc.settings)}")

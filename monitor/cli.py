"""The ``monitor`` command. The only place where errors become one-line messages."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from .cli_output import echo, echo_json, printable
from .config import Settings, load_settings
from .errors import MonitorError

# Options shared by every command; each is a Settings key (same name as in the
# file and as MONITOR_<KEY> in the environment).
_SETTING_OPTIONS = ["database_url", "broker_url", "data_dir", "rules_path", "feeds_path", "timezone",
                    "poll_tick", "log_level"]


def _settings_options(f):
    for key in reversed(_SETTING_OPTIONS):
        field = Settings.model_fields[key]
        f = click.option(f"--{key.replace('_', '-')}", key, default=None,
                         help=f"{field.description} [env MONITOR_{key.upper()}]")(f)
    f = click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
                     help="config file (YAML) [env MONITOR_CONFIG; default ./monitor.yaml if present]")(f)
    return f


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@_settings_options
@click.version_option(package_name="media-monitor")
@click.pass_context
def cli(ctx, config_file, **overrides):
    """media-monitor: watch RSS/Atom feeds, alert on keyword rules."""
    ctx.obj = {"config_file": config_file, "overrides": overrides}


def _settings(ctx) -> Settings:
    obj = ctx.find_root().obj
    if "settings" not in obj:
        obj["settings"] = load_settings(obj["config_file"], overrides=obj["overrides"])
    return obj["settings"]


def _services(ctx):
    from .service import Services

    obj = ctx.find_root().obj
    if "services" not in obj:
        obj["services"] = Services(_settings(ctx))
    return obj["services"]


class _PrintableFormatter(logging.Formatter):
    """Log lines quote feed titles, URLs and errors: they reach the terminal without controls."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), lines=True)


def _log_setup(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=settings.log_level, handlers=[handler])


# -- running -------------------------------------------------------------------


def _worker_argv(settings: Settings, *, pool: str | None, concurrency: int | None, name: str,
                 queues: str | None = None) -> list[str]:
    from workers.app import QUEUES, queue_names

    wanted = queue_names(settings)
    if queues:
        unknown = [q for q in queues.split(",") if q.strip() not in QUEUES]
        if unknown:
            raise click.BadParameter(f"unknown queue {unknown[0]!r}; choose among {', '.join(QUEUES)}",
                                     param_hint="--queues")
        wanted = [settings.queue_prefix + q.strip() for q in queues.split(",")]
    argv = ["worker", "-Q", ",".join(wanted), "-l", settings.log_level,
            "-c", str(concurrency or settings.worker_concurrency), "-n", name]
    if pool:
        argv += ["-P", pool]
    return argv


@cli.command()
@click.pass_context
def run(ctx):
    """Run everything in one process: schedule, poll, match, deliver.

    Uses the embedded SQLite database and queue unless configured otherwise;
    the same Celery tasks as a distributed deployment, run by worker_concurrency
    processes, so that a task past its time limit can be stopped. Ctrl-C (or
    SIGTERM) stops within a few seconds; work cut short is taken up at the next start.
    """
    from celery.beat import EmbeddedService
    from celery.signals import worker_ready, worker_shutting_down

    from workers import configure
    from workers.app import RUN_SHUTDOWN_GRACE, describe_broker, run_output, stop_promptly

    settings = _settings(ctx)
    svc = _services(ctx)
    svc.check()
    svc.sync_feeds(force=True)
    app = configure(settings, rules=svc.rules)  # loaded by check(): the pool processes share them
    stop_promptly(app)
    run_output()
    echo(f"media-monitor: {len(svc.store.list_feeds())} feed(s), "
         f"{len(svc.rules.matcher().rules)} rule(s) from {settings.rules_path}, "
         f"channels: {', '.join(svc.notifier.names) or 'none'}", err=True)
    echo(f"database {_redacted_db(settings)}, {describe_broker(settings)}. Ctrl-C to stop.", err=True)
    # The scheduler sends its ticks only while the worker takes them: started once the worker
    # is ready, stopped as soon as it starts to stop. Otherwise ticks sent before it is ready
    # and after it stopped wait in the queue past their expiry, and the next start discards
    # each of them ("Discarding revoked task").
    beat = EmbeddedService(app, thread=True)

    def start_beat(**_):
        beat.start()

    def stop_beat(**_):
        # Not beat.stop(), which waits for the scheduler: one retrying an unreachable broker
        # (forever) never answers. A daemon thread: what it has not done, the next start does.
        beat.service.stop()

    worker_ready.connect(start_beat, weak=False)
    worker_shutting_down.connect(stop_beat, weak=False)
    argv = _worker_argv(settings, pool="prefork", concurrency=None, name="monitor-run@%h")
    try:
        app.worker_main(_quiet(settings) + argv + ["--without-gossip", "--without-mingle", "--without-heartbeat"])
    except SystemExit as e:
        if e.code not in (0, None):
            raise
    finally:
        stop_beat()
        if beat.is_alive():
            beat.join(RUN_SHUTDOWN_GRACE)
        worker_ready.disconnect(start_beat)
        worker_shutting_down.disconnect(stop_beat)
    echo("media-monitor: stopped", err=True)
    # Ended here, without the interpreter's exit handlers: billiard's pool (the one Celery uses
    # on the embedded queue) finalizes at exit by taking its task queue's read lock, which an
    # idle pool process holds while it waits for work, and the stop killed them all: the
    # process would hang there forever after "stopped". Everything it did is committed.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _quiet(settings: Settings, verbose: bool = False) -> list[str]:
    """Celery's global --quiet (no banner) unless DEBUG or --verbose asked for detail."""
    return [] if verbose or settings.log_level == "DEBUG" else ["--quiet"]


def _redacted_db(settings: Settings) -> str:
    from .store import redact_url

    return redact_url(settings.effective_database_url)


@cli.command()
@click.option("-c", "--concurrency", type=int, default=None, help="processes (default: worker_concurrency)")
@click.option("-P", "--pool", default=None, help="Celery pool: prefork (default), threads, solo")
@click.option("-n", "--hostname", default="monitor@%h", show_default=True, help="worker name")
@click.option("-Q", "--queues", default=None,
              help="only these queues, comma-separated (poll, match, deliver); default: all")
@click.option("-v", "--verbose", is_flag=True, help="print Celery's banner (configuration, queues, tasks)")
@click.pass_context
def worker(ctx, concurrency, pool, hostname, queues, verbose):
    """Run a Celery worker on the configured broker (queues poll, match, deliver)."""
    from workers import configure
    from workers.app import describe_broker

    settings = _settings(ctx)
    argv = _worker_argv(settings, pool=pool, concurrency=concurrency, name=hostname, queues=queues)
    _services(ctx).check()
    app = configure(settings)
    if not verbose:
        echo(f"media-monitor worker: {describe_broker(settings)}, queues {argv[2]}, "
             f"{argv[6]} process(es); database {_redacted_db(settings)}", err=True)
    app.worker_main(_quiet(settings, verbose) + argv)


@cli.command()
@click.pass_context
def beat(ctx):
    """Run the scheduler that queues feed polls when they are due (run exactly one)."""
    from workers import configure

    settings = _settings(ctx)
    svc = _services(ctx)
    svc.store
    svc.sync_feeds(force=True)
    app = configure(settings)
    app.start(_quiet(settings) + ["beat", "-l", settings.log_level])


@cli.command("init-db")
@click.pass_context
def init_db(ctx):
    """Create the database tables (idempotent)."""
    from .store import Store

    settings = _settings(ctx)
    Store.open(settings.effective_database_url).close()
    echo(f"database ready: {_redacted_db(settings)}")


@cli.command()
@click.pass_context
def check(ctx):
    """Check the whole configuration: settings, rules, channels, feeds, database."""
    svc = _services(ctx)
    svc.check()
    echo(f"ok: {len(svc.rules.matcher().rules)} rule(s), {len(svc.notifier.names)} channel(s), "
               f"database {_redacted_db(svc.settings)}")


# -- feeds ---------------------------------------------------------------------


@cli.group()
def feeds():
    """The feeds being polled."""


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per feed")
@click.pass_context
def feeds_list(ctx, as_json):
    """List feeds with their health: last success, last error, failures."""
    svc = _services(ctx)
    svc.sync_feeds(force=True)
    for f in svc.store.list_feeds():
        if as_json:
            echo_json({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in f.__dict__.items()})
            continue
        health = "ok" if not f.consecutive_failures else f"FAILING x{f.consecutive_failures}"
        if not f.enabled:
            health = "disabled"
        last = f.last_success_at.strftime("%Y-%m-%d %H:%M") if f.last_success_at else "never"
        nxt = f.next_poll_at.strftime("%H:%M:%S") if f.next_poll_at and f.enabled else "-"
        status = f"HTTP {f.last_status}" if f.last_status else "no answer" if f.last_error else "-"
        echo(f"{f.id:>4}  {health:<12} {status:<9} {f.articles_seen:>6} art.  last ok {last:<16}  "
                   f"next {nxt}  {f.name}  <{f.url}>")
        if f.last_error:
            echo(f"      last error: {f.last_error}")


@feeds.command("check")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.pass_context
def feeds_check(ctx, source, as_json):
    """Fetch a feed URL (or read a FILE) and show what would be stored.

    Each article with its canonical URL, date and language; each rejected
    entry with its reason. Try a feed here before adding it.
    """
    from .feedparse import parse_feed
    from .fetch import HttpFetcher

    path = Path(source)
    if "://" not in source and path.is_file():
        body, url, headers = path.read_bytes(), path.resolve().as_uri(), {}
    else:
        settings = _settings(ctx)
        with HttpFetcher(timeout=settings.fetch_timeout, allow=settings.allow_networks) as fetcher:
            got = fetcher.fetch(source)
        body, url, headers = got.body, got.url, got.headers
    parsed = parse_feed(body, url=url, headers=headers)
    if as_json:
        echo_json({
            "url": url, "title": parsed.title, "language": parsed.language, "problem": parsed.problem,
            "articles": [{"title": a.title, "url": a.url, "guid": a.guid, "published":
                          a.published.isoformat() if a.published else None, "language": a.language,
                          "author": a.author, "dedup_key": a.dedup_key, "text_chars": len(a.text)}
                         for a in parsed.articles],
            "rejected": [{"entry": i, "reason": r} for i, r in parsed.rejected],
        }, ensure_ascii=False, indent=2)
        return
    echo(f"{parsed.title or '(untitled feed)'}  [{parsed.language or 'language unknown'}]  "
               f"{len(parsed.articles)} article(s), {len(parsed.rejected)} rejected")
    if parsed.problem:
        echo(f"problem: {parsed.problem}")
    for a in parsed.articles:
        when = a.published.strftime("%Y-%m-%d %H:%M UTC") if a.published else "no date"
        echo(f"- {printable(a.title)[:100]}\n    {printable(a.url) or '(no link)'}\n    {when}  {a.language or '??'}"
                   f"  {len(a.text)} chars")
    for i, reason in parsed.rejected:
        echo(f"x entry {i}: {reason}")


@feeds.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def feeds_import(ctx, opml_file):
    """Add the feeds of an OPML file (from any feed reader) to the feeds file."""
    from .opml import merge_feeds_yaml, parse_opml

    settings = _settings(ctx)
    specs = parse_opml(Path(opml_file).read_bytes(), path=opml_file)
    target = Path(settings.feeds_path)
    from .yamlfile import read_yaml_text

    existing = read_yaml_text(target, what="feeds file") if target.exists() else ""
    text, added = merge_feeds_yaml(existing, specs)
    if added:
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        from .config import load_feeds

        load_feeds(tmp)  # never replace a good feeds file with one that does not load
        tmp.replace(target)
    echo(f"{len(added)} feed(s) added to {target}, {len(specs) - len(added)} already there")


@feeds.command("export")
@click.pass_context
def feeds_export(ctx):
    """Print the feeds file as OPML, for any feed reader."""
    from .config import load_feeds
    from .opml import render_opml

    echo(render_opml(load_feeds(_settings(ctx).feeds_path)).decode("utf-8"), nl=False)


# -- rules: in monitor/cli_rules.py ----------------------------------------------------

from .cli_rules import rules  # noqa: E402

cli.add_command(rules)


# -- stories ----------------------------------------------------------------------


@cli.group()
def stories():
    """Stories: the same news across feeds and outlets, grouped."""


@stories.command("list")
@click.option("--hours", type=float, default=48, show_default=True, help="stories seen in the last N hours")
@click.option("--limit", type=int, default=20, show_default=True)
@click.pass_context
def stories_list(ctx, hours, limit):
    """Recent stories, newest first, with their sources."""
    from datetime import datetime, timedelta, timezone

    since = datetime.now(timezone.utc) - timedelta(hours=hours) if hours else None
    rows = _services(ctx).store.stories(since=since, limit=limit)
    if not rows:
        echo("no stories yet")
    for r in rows:
        when = r.last_seen.strftime("%Y-%m-%d %H:%M") if r.last_seen else ""
        echo(f"{r.story_id:>6}  {when}  {r.articles} article(s)  {printable(r.title)[:90]}")
        echo(f"        sources: {', '.join(map(printable, r.sources))}")


# -- channels --------------------------------------------------------------------


@cli.group()
def channels():
    """The notification channels (apprise URLs)."""


@channels.command("list")
@click.pass_context
def channels_list(ctx):
    """List channels, secrets masked."""
    n = _services(ctx).notifier
    for name in n.names:
        echo(f"{name}  {n.format_for(name):<8} {n.describe(name)}")


@channels.command("test")
@click.argument("name")
@click.pass_context
def channels_test(ctx, name):
    """Send a test message to channel NAME; print apprise's reason on failure."""
    from .render import render_test_message

    n = _services(ctx).notifier
    n.send(name, render_test_message(name, n.format_for(name)))
    echo(f"sent a test message to {name}")


# -- alerts ----------------------------------------------------------------------


@cli.group()
def alerts():
    """Alert deliveries: what was sent, what failed."""


@alerts.command("list")
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "failed", "dead"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
def alerts_list(ctx, status, limit):
    """List recent deliveries, newest first."""
    for d in _services(ctx).store.list_deliveries(status=status, limit=limit):
        when = d.updated_at.strftime("%Y-%m-%d %H:%M") if d.updated_at else ""
        echo(f"{d.id:>6}  {d.status:<8} {when}  [{d.rule}] -> {d.channel}  {printable(d.title)[:70]}")
        if d.last_error and d.status != "sent":
            echo(f"        attempts {d.attempts}: {printable(d.last_error)}")


@alerts.command("retry")
@click.option("--status", type=click.Choice(["dead", "failed"]), default="dead", show_default=True)
@click.argument("ids", nargs=-1, type=int)
@click.pass_context
def alerts_retry(ctx, status, ids):
    """Send dead (or failed) deliveries again, now, through the queue."""
    from workers import configure
    from workers.tasks import deliver

    settings = _settings(ctx)
    configure(settings)
    found = _services(ctx).store.requeue_deliveries(status=status, ids=ids)
    for d in found:
        deliver.delay(d)
    echo(f"requeued {len(found)} deliver{'y' if len(found) == 1 else 'ies'}")


from .cli_status import status  # noqa: E402
from .cli_web import web  # noqa: E402

cli.add_command(status)
cli.add_command(web)


def main(argv=None) -> None:
    """Entry point: run the CLI, turning MonitorError into one line on stderr."""
    try:
        cli.main(args=argv, prog_name="monitor", standalone_mode=False)
    except click.exceptions.Abort:
        echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.message = printable(e.message, lines=True)  # may quote a URL or a file's content
        e.show()
        sys.exit(e.exit_code)
    except MonitorError as e:
        echo(f"error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()

"""The ``monitor stories``, ``channels`` and ``alerts`` commands: what was found and sent."""

from __future__ import annotations

import click

from monitor.cli.common import services_of, settings_of
from monitor.cli.output import echo, printable


@click.group()
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
    rows = services_of(ctx).store.stories(since=since, limit=limit)
    if not rows:
        echo("no stories yet")
    for r in rows:
        when = r.last_seen.strftime("%Y-%m-%d %H:%M") if r.last_seen else ""
        echo(f"{r.story_id:>6}  {when}  {r.articles} article(s)  {printable(r.title)[:90]}")
        echo(f"        sources: {', '.join(map(printable, r.sources))}")


# -- channels --------------------------------------------------------------------


@click.group()
def channels():
    """The notification channels (apprise URLs)."""


@channels.command("list")
@click.pass_context
def channels_list(ctx):
    """List channels, secrets masked."""
    n = services_of(ctx).notifier
    for name in n.names:
        echo(f"{name}  {n.format_for(name):<8} {n.describe(name)}")


@channels.command("test")
@click.argument("name")
@click.pass_context
def channels_test(ctx, name):
    """Send a test message to channel NAME; print apprise's reason on failure."""
    from monitor.core.render import render_test_message

    n = services_of(ctx).notifier
    n.send(name, render_test_message(name, n.format_for(name)))
    echo(f"sent a test message to {name}")


# -- alerts ----------------------------------------------------------------------


@click.group()
def alerts():
    """Alert deliveries: what was sent, what failed."""


@alerts.command("list")
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "failed", "dead"]), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
def alerts_list(ctx, status, limit):
    """List recent deliveries, newest first."""
    for d in services_of(ctx).store.list_deliveries(status=status, limit=limit):
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
    from monitor.cli.queue import delivery_enqueuer

    enqueue = delivery_enqueuer(settings_of(ctx))
    found = services_of(ctx).store.requeue_deliveries(status=status, ids=ids)
    for d in found:
        enqueue(d)
    echo(f"requeued {len(found)} deliver{'y' if len(found) == 1 else 'ies'}")

"""``monitor status``: what an operator checks before a user notices trouble.

Queue depths (Redis), the oldest item waiting in each stage (database),
dead letters and dead deliveries, failing feeds and channels.
"""

from __future__ import annotations

import click

from monitor.cli.common import services_of, settings_of
from monitor.cli.output import echo, echo_json


def _queue_depths(settings) -> dict[str, int | None] | str:
    """LLEN of each queue on the Redis broker; "embedded" for the SQLite queue."""
    if settings.embedded_broker:
        return "embedded"
    from monitor.cli.queue import queues

    if not settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
        return "unknown broker"
    import redis

    client = redis.Redis.from_url(settings.broker_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        out: dict[str, int | None] = {q: client.llen(settings.queue_prefix + q) for q in queues()}
        # messages taken by a worker and not yet acknowledged (kombu's "unacked" hash)
        out["unacked"] = client.hlen("unacked")
        return out
    except redis.RedisError as e:
        return f"broker unreachable: {' '.join(str(e).split())[:200]}"
    finally:
        client.close()


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.pass_context
def status(ctx, as_json):
    """Show queue depths, the oldest waiting item per stage, dead work, failing feeds and channels."""
    from monitor.cli.queue import describe_broker

    settings = settings_of(ctx)
    store = services_of(ctx).store
    report = store.status()
    report["queues"] = _queue_depths(settings)
    report["dead_letter_items"] = [
        {"kind": d.kind, "id": d.item_id, "attempts": d.attempts, "reason": d.reason}
        for d in store.dead_letters(limit=10)]
    report["broker"] = describe_broker(settings)
    if as_json:
        echo_json(report, default=str)
        return
    echo(f"broker:  {report['broker']}")
    q = report["queues"]
    if isinstance(q, dict):
        echo("queues:  " + "  ".join(f"{k} {v}" for k, v in q.items()))
    elif q != "embedded":  # the embedded queue's depths are the waiting work below
        echo(f"queues:  {q}")
    echo("waiting: " + "  ".join(f"{stage} {v['waiting']}"
                                 + (f" (oldest {_age(v['oldest_age_s'])})" if v["oldest_age_s"] is not None else "")
                                 for stage, v in report["stages"].items()))
    dl = report["dead_letters"]
    echo(f"dead:    {sum(dl.values())} dead letter(s), {report['dead_deliveries']} dead deliveries"
               + ("  (monitor alerts list --status dead)" if report["dead_deliveries"] else ""))
    for d in report["dead_letter_items"]:
        echo(f"         {d['kind']} {d['id']} after {d['attempts']} attempt(s): {d['reason']}")
    feeds = report["failing_feeds"]
    echo(f"feeds:   {len(feeds)} failing" if feeds else "feeds:   all ok")
    for f in feeds:
        age = f["last_success_age_s"]
        echo(f"         x{f['failures']}  {f['name']}  <{f['url']}>  "
             + (f"last ok {_age(age)} ago" if age is not None else "never ok")
             + (f": {f['last_error']}" if f["last_error"] else ""))
    chans = report["failing_channels"]
    echo(f"channels: {len(chans)} failing" if chans else "channels: all ok")
    for name, c in chans.items():
        echo(f"         {name}: {c['failed']} failed, {c['dead']} dead"
             + (f": {c['last_error']}" if c["last_error"] else ""))

"""``monitor web``: serve the dashboard and the JSON API."""

from __future__ import annotations

import click

from monitor.cli.common import log_setup, services_of, settings_of
from monitor.cli.queue import delivery_enqueuer


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on; anything but loopback requires --token")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="port to listen on")
@click.option("--token", envvar="MONITOR_WEB_TOKEN", default=None, show_envvar=True,
              help="access token asked by the login page and the API (Authorization: Bearer); "
                   "prefer the environment variable, which other users cannot see in the process list")
@click.pass_context
def web(ctx, host, port, token):
    """Serve the dashboard (alerts, feeds, rules, rule tester, deliveries) and its JSON API."""
    import uvicorn

    from monitor.web import create_app
    from monitor.web.security import is_loopback

    if token is not None and len(token.strip()) < 12:
        raise click.BadParameter("use a token of at least 12 characters", param_hint="--token")
    if not is_loopback(host) and not token:
        raise click.UsageError(f"refusing to serve on {host} without a token: anyone who can reach it would see "
                               f"the alerts and could resend them. Set --token or MONITOR_WEB_TOKEN, or use "
                               f"--host 127.0.0.1.")
    settings = settings_of(ctx)
    log_setup(settings)
    services_of(ctx).store  # opened now: a database behind the code stops here, not at the first request
    app = create_app(settings, token=token.strip() if token else None, enqueue=delivery_enqueuer(settings),
                     services=services_of(ctx))
    click.echo(f"dashboard on http://{host}:{port}/ ({'token required' if token else 'loopback only'})", err=True)
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), server_header=False)

"""The ``monitor`` command. The only place where errors become one-line messages."""

from __future__ import annotations

import sys

import click

from monitor.cli.alerts import alerts, channels, stories
from monitor.cli.common import settings_options
from monitor.cli.db import db, init_db
from monitor.cli.feeds import feeds
from monitor.cli.output import echo, printable
from monitor.cli.rules import rules
from monitor.cli.service import beat, check, run, worker
from monitor.cli.status import status
from monitor.cli.web import web
from monitor.core.errors import MonitorError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@settings_options
@click.version_option(package_name="media-monitor")
@click.pass_context
def cli(ctx, config_file, **overrides):
    """media-monitor: watch RSS/Atom feeds, alert on keyword rules."""
    ctx.obj = {"config_file": config_file, "overrides": overrides}


for command in (run, worker, beat, init_db, db, check, feeds, stories, channels, alerts, rules, status, web):
    cli.add_command(command)


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

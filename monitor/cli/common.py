"""What every ``monitor`` command shares: the settings options, the settings and services
of the invocation, and logging that keeps controls off the terminal."""

from __future__ import annotations

import logging
import sys

import click

from monitor.cli.output import printable
from monitor.config import Settings, load_settings

# Options shared by every command; each is a Settings key (same name as in the
# file and as MONITOR_<KEY> in the environment).
_SETTING_OPTIONS = ["database_url", "broker_url", "data_dir", "rules_path", "feeds_path", "timezone",
                    "poll_tick", "log_level"]


def settings_options(f):
    for key in reversed(_SETTING_OPTIONS):
        field = Settings.model_fields[key]
        f = click.option(f"--{key.replace('_', '-')}", key, default=None,
                         help=f"{field.description} [env MONITOR_{key.upper()}]")(f)
    f = click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False),
                     help="config file (YAML) [env MONITOR_CONFIG; default ./monitor.yaml if present]")(f)
    return f


def settings_of(ctx) -> Settings:
    obj = ctx.find_root().obj
    if "settings" not in obj:
        obj["settings"] = load_settings(obj["config_file"], overrides=obj["overrides"])
    return obj["settings"]


def services_of(ctx):
    from monitor.service import Services

    obj = ctx.find_root().obj
    if "services" not in obj:
        obj["services"] = Services(settings_of(ctx))
    return obj["services"]


class _PrintableFormatter(logging.Formatter):
    """Log lines quote feed titles, URLs and errors: they reach the terminal without controls."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record), lines=True)


def log_setup(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=settings.log_level, handlers=[handler])


def redacted_db(settings: Settings) -> str:
    from monitor.adapters.store import redact_url

    return redact_url(settings.effective_database_url)

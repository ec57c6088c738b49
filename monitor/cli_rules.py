"""The ``monitor rules`` commands: validate, test and tune rules before they go live."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import ConfigError


def _settings(ctx):
    from .cli import _settings as settings

    return settings(ctx)


def _services(ctx):
    from .cli import _services as services

    return services(ctx)


@click.group()
def rules():
    """The YAML rules that decide what alerts."""


@rules.command("validate")
@click.argument("path", required=False, type=click.Path())
@click.pass_context
def rules_validate(ctx, path):
    """Check rule files; print every error as file:line:col: message."""
    from .rules import load_rules

    settings = _settings(ctx)
    try:
        rs = load_rules(Path(path) if path else settings.rules_path, channels=list(settings.channels))
    except ConfigError as e:
        for p in e.problems:
            click.echo(p, err=True)
        sys.exit(1)
    click.echo(f"ok: {len(rs.rules)} rule(s) in {len(rs.files)} file(s)")


@rules.command("test")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--title", default="", help="title of the article (default: the file's first line)")
@click.option("--language", default=None, help="language of the text, e.g. fr")
@click.pass_context
def rules_test(ctx, file, title, language):
    """Show which rules match a text (FILE, or - for stdin), with highlights."""
    from .render import render_alert
    from .types import AlertContent, Document

    svc = _services(ctx)
    matcher = svc.rules.matcher()
    text = file.read()
    if not title:
        title = text.strip().splitlines()[0] if text.strip() else ""
    found = matcher.match(Document(title=title, text=text, language=language))
    if not found:
        click.echo(f"no rule matches ({len(matcher.rules)} rule(s) tried)")
        sys.exit(1)
    for m in found:
        alert = AlertContent(rule=m.rule, terms=m.terms, title=title, link="", feed="(test)",
                             published=None, text=text, hits=m.hits)
        click.echo(render_alert(alert, "text", tz=svc.settings.timezone).body)
        click.echo("")



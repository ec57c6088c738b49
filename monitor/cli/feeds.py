"""The ``monitor feeds`` commands: list, check, import and export the feeds polled."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.common import services_of, settings_of
from monitor.cli.output import echo, echo_json, printable


@click.group()
def feeds():
    """The feeds being polled."""


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per feed")
@click.pass_context
def feeds_list(ctx, as_json):
    """List feeds with their health: last success, last error, failures."""
    svc = services_of(ctx)
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
    from monitor.adapters.fetch import HttpFetcher
    from monitor.core.feeds import parse_feed

    path = Path(source)
    if "://" not in source and path.is_file():
        body, url, headers = path.read_bytes(), path.resolve().as_uri(), {}
    else:
        settings = settings_of(ctx)
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
    from monitor.core.opml import merge_feeds_yaml, parse_opml

    settings = settings_of(ctx)
    specs = parse_opml(Path(opml_file).read_bytes(), path=opml_file)
    target = Path(settings.feeds_path)
    from monitor.core.yamlfile import read_yaml_text

    existing = read_yaml_text(target, what="feeds file") if target.exists() else ""
    text, added = merge_feeds_yaml(existing, specs)
    if added:
        tmp = target.with_suffix(target.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        from monitor.config import load_feeds

        load_feeds(tmp)  # never replace a good feeds file with one that does not load
        tmp.replace(target)
    echo(f"{len(added)} feed(s) added to {target}, {len(specs) - len(added)} already there")


@feeds.command("export")
@click.pass_context
def feeds_export(ctx):
    """Print the feeds file as OPML, for any feed reader."""
    from monitor.config import load_feeds
    from monitor.core.opml import render_opml

    echo(render_opml(load_feeds(settings_of(ctx).feeds_path)).decode("utf-8"), nl=False)

"""The ``monitor rules`` commands: validate, test and tune rules before they go live."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from monitor.cli.common import services_of, settings_of
from monitor.cli.output import echo, echo_json
from monitor.core.errors import ConfigError, MonitorError


@click.group()
def rules():
    """The YAML rules that decide what alerts."""


@rules.command("validate")
@click.argument("path", required=False, type=click.Path())
@click.pass_context
def rules_validate(ctx, path):
    """Check rule files; print every error as file:line:col: message."""
    from monitor.core.rules import load_rules

    settings = settings_of(ctx)
    try:
        rs = load_rules(Path(path) if path else settings.rules_path, channels=list(settings.channels))
    except ConfigError as e:
        for p in e.problems:
            echo(p, err=True)
        sys.exit(1)
    echo(f"ok: {len(rs.rules)} rule(s) in {len(rs.files)} file(s)")


def _load_matcher(ctx, rules_path):
    """The matcher of ``rules_path``, or of the configured rules; exits 1 on a rule error."""
    from monitor.core.matching import compile_rules
    from monitor.core.rules import load_rules

    settings = settings_of(ctx)
    try:
        ruleset = load_rules(Path(rules_path) if rules_path else settings.rules_path)
    except ConfigError as e:
        for p in e.problems:
            echo(p, err=True)
        sys.exit(1)
    from monitor.adapters.ner import load_checker

    return compile_rules(ruleset.rules, entities=ruleset.entities, checker=load_checker(settings.entity_models),
                         max_chars=settings.match_max_chars, max_occurrences=settings.match_max_occurrences)


def _is_rules(path: str) -> bool:
    p = Path(path)
    return p.is_dir() or p.suffix in (".yaml", ".yml")


def _fetch_text(ctx, url: str) -> tuple[str, str]:
    """(title, text) of the page at ``url``, fetched with the service's guarded fetcher."""
    from monitor.adapters.fulltext import extract_main_text

    svc = services_of(ctx)
    try:
        result = svc.fetcher.fetch(url)
    except MonitorError as e:
        raise click.ClickException(str(e)) from e
    text = extract_main_text(result.body, url=result.url) or ""
    title = ""
    try:
        import trafilatura

        meta = trafilatura.extract_metadata(result.body)
        title = (meta.title or "") if meta else ""
    except Exception:  # metadata is a nicety; the text is what matters
        title = ""
    if not text:
        raise click.ClickException(f"{url}: no article text found in the page")
    return title, text


@rules.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--text", "text_opt", default=None, help="the article text to test")
@click.option("--file", "file_opt", default=None, type=click.Path(dir_okay=False, allow_dash=True),
              help="a file holding the article text (- for stdin)")
@click.option("--url", default=None, help="an article page to fetch and test")
@click.option("--title", default="", help="title of the article (default: the text's first line)")
@click.option("--language", default=None, help="language of the text, e.g. fr")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object per matching rule")
@click.pass_context
def rules_test(ctx, paths, text_opt, file_opt, url, title, language, as_json):
    """Show which rules match a text, and why (the terms, highlighted).

    \b
    monitor rules test RULES --text "..."     RULES: a rule file or folder
    monitor rules test RULES --file article.txt
    monitor rules test RULES --url https://...
    monitor rules test article.txt            the configured rules on a file
    """
    from monitor.core.render import render_alert, snippet
    from monitor.core.types import AlertContent, Document

    if len(paths) > 2:
        raise click.UsageError("give at most RULES and one text file")
    rules_path = next((p for p in paths if _is_rules(p)), None)
    files = [p for p in paths if p != rules_path]
    sources = [x for x in (text_opt, file_opt, url) if x is not None] + files
    if len(sources) != 1:
        raise click.UsageError("give the article with exactly one of --text, --file, --url or a file")
    page_title = ""
    if text_opt is not None:
        text = text_opt
    elif url is not None:
        page_title, text = _fetch_text(ctx, url)
    else:
        name = file_opt if file_opt is not None else files[0]
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise click.ClickException(f"{name}: cannot read: {e}") from e
    if not title:
        title = page_title or (text.strip().splitlines()[0] if text.strip() else "")
    matcher = _load_matcher(ctx, rules_path)
    found = matcher.match(Document(title=title, text=text, language=language))
    if as_json:
        source = {"title": title, "text": text}
        for m in found:
            echo_json({
                "rule": m.rule, "terms": list(m.terms),
                "hits": [{"field": h.field, "start": h.start, "end": h.end, "term": h.term,
                          "text": source[h.field][h.start:h.end]} for h in m.hits],
                "snippet": "".join(f"«{s}»" if marked else s
                                   for s, marked in snippet(text, [h for h in m.hits if h.field == "text"])),
            }, ensure_ascii=False)
        sys.exit(0 if found else 1)
    if not found:
        echo(f"no rule matches ({len(matcher.rules)} rule(s) tried)")
        sys.exit(1)
    tz = settings_of(ctx).timezone
    for m in found:
        alert = AlertContent(rule=m.rule, terms=m.terms, title=title, link=url or "", feed="(test)",
                             published=None, text=text, hits=m.hits)
        echo(render_alert(alert, "text", tz=tz).body)
        echo("")


@rules.command("backtest")
@click.argument("rules_path", required=False, type=click.Path(exists=True))
@click.option("--since", type=click.FloatRange(min=0), default=None,
              help="only articles fetched in the last DAYS days (default: all)", metavar="DAYS")
@click.option("--against", "old_rules", type=click.Path(exists=True), default=None,
              help="old rules (file or folder) to compare with: +N new matches, -M lost")
@click.option("--examples", type=click.IntRange(min=0), default=3, show_default=True,
              help="example articles shown per rule")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@click.pass_context
def rules_backtest(ctx, rules_path, since, old_rules, examples, as_json):
    """Run the rules over stored articles: what would have alerted.

    RULES_PATH defaults to the configured rules. With --against OLD_RULES,
    print the difference per rule (+N new matches, -M lost) with examples,
    to tune a rule on history before it goes live.
    """
    from datetime import datetime, timedelta, timezone

    from monitor.adapters.backtest import backtest, stored_articles

    matcher = _load_matcher(ctx, rules_path)
    old = _load_matcher(ctx, old_rules) if old_rules else None
    store = services_of(ctx).store
    cutoff = datetime.now(timezone.utc) - timedelta(days=since) if since is not None else None
    report = backtest(stored_articles(store, since=cutoff), matcher, old, examples=examples)
    if as_json:
        echo_json(report.as_dict(), ensure_ascii=False, indent=2)
        return
    echo(f"{report.articles} article(s), {report.matched} match(es)"
               + (f": +{report.gained} new, -{report.lost} lost" if report.compared else ""))
    for r in report.rules.values():
        line = f"  {r.rule}: {r.matched} match(es)"
        if report.compared:
            line += f", +{r.gained} new, -{r.lost} lost"
        echo(line)
        for e in r.examples:
            echo(f"      {'+ ' if report.compared else ''}{e.title or '(no title)'}  {e.url}"
                       + (f"  [{', '.join(e.terms)}]" if e.terms else ""))
        for e in r.lost_examples:
            echo(f"      - {e.title or '(no title)'}  {e.url}")


@rules.command("schema")
def rules_schema():
    """Print the JSON Schema of a rule file (for editors: completion and checks)."""
    from monitor.core.rules import rule_schema

    echo_json(rule_schema(), indent=2, ensure_ascii=False)

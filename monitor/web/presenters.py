"""Store rows turned into what a template shows or the API returns (schemas of :mod:`.schemas`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from monitor.adapters.store import readmodels as queries
from monitor.core import render
from monitor.core.errors import MonitorError
from monitor.core.highlight import segments
from monitor.web import schemas as S


def safe_href(url: str | None) -> str | None:
    """The URL if it is http(s), else None: a feed could carry javascript: links."""
    if not url or render.printable(url) != url.strip():  # controls or line breaks: not a link
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def segs(pairs) -> list[S.Segment]:
    return [S.Segment(text=t, mark=m) for t, m in pairs]


# -- pages ------------------------------------------------------------------------------

def alert_view(a: queries.AlertItem) -> dict:
    return {"a": a, "title": segments(a.title, a.hits, "title"), "snippet": render.snippet(a.text, a.hits),
            "href": safe_href(a.url)}


def sample_view(s) -> dict:
    """A backtest sample, for the tester page."""
    return {"s": s, "snippet": render.snippet(s.text, s.hits), "title": segments(s.title, s.hits, "title"),
            "href": safe_href(s.url)}


def match_view(m, title: str, text: str) -> dict:
    """A match of the rule tester, for its page."""
    return {"m": m, "title": segments(title, m.hits, "title"), "text": segments(text, m.hits, "text")}


def notice(code: str | None) -> str | None:
    """The deliveries page's notice for ``queued:12`` and the like."""
    # Fixed messages chosen by a code: a query string never puts its own words on the page.
    if not code:
        return None
    kind, _, ident = code.partition(":")
    if not ident.isdigit():
        return None
    return {"queued": f"Delivery {ident} was queued for sending.",
            "sent": f"Delivery {ident} was sent.",
            "failed": f"Delivery {ident} failed again; see its error below."}.get(kind)


# -- API --------------------------------------------------------------------------------

def alert_out(a: queries.AlertItem) -> S.AlertOut:
    return S.AlertOut(id=a.id, rule=a.rule, terms=list(a.terms), created_at=a.created_at, article_id=a.article_id,
                      title=a.title, title_segments=segs(segments(a.title, a.hits, "title")), url=a.url,
                      language=a.language, published_at=a.published_at, feed_id=a.feed_id, feed=a.feed,
                      snippet=segs(render.snippet(a.text, a.hits)),
                      hits=[S.HitOut(**h._asdict()) for h in a.hits],
                      deliveries=[delivery_out(d) for d in a.deliveries])


def delivery_out(d: queries.DeliveryInfo) -> S.DeliveryOut:
    return S.DeliveryOut(id=d.id, alert_id=d.match_id, article_id=d.article_id, rule=d.rule, channel=d.channel,
                         status=d.status, attempts=d.attempts, last_error=d.last_error,
                         held_reason=d.held_reason, created_at=d.created_at, updated_at=d.updated_at,
                         sent_at=d.sent_at, title=d.title, url=d.url)


def feed_out(f: queries.FeedInfo) -> S.FeedOut:
    return S.FeedOut(id=f.id, name=f.name, url=f.url, language=f.language, tags=list(f.tags), enabled=f.enabled,
                     health=f.health, interval=f.interval, next_poll_at=f.next_poll_at,
                     last_polled_at=f.last_polled_at, last_success_at=f.last_success_at, last_error=f.last_error,
                     last_status=f.last_status, consecutive_failures=f.consecutive_failures,
                     articles_seen=f.articles_seen)


def rule_test_out(result, title: str, text: str, fetched: str | None) -> S.RuleTestOut:
    return S.RuleTestOut(
        rules=[r.name for r in result.rules], missed=list(result.missed), title=title, url=fetched,
        text_length=len(text),
        matched=[S.RuleMatchOut(rule=m.rule, terms=list(m.terms), hits=[S.HitOut(**h._asdict()) for h in m.hits],
                                title_segments=segs(segments(title, m.hits, "title")),
                                snippet=segs(render.snippet(text, m.hits))) for m in result.matches])


def backtest_out(r) -> S.BacktestOut:
    return S.BacktestOut(scanned=r.scanned, limit=r.limit, days=r.days, counts=r.counts,
                         stored_counts=r.stored_counts,
                         samples=[S.BacktestSample(article_id=s.article_id, rule=s.rule, title=s.title, url=s.url,
                                                   feed=s.feed, published=s.published, terms=list(s.terms),
                                                   snippet=segs(render.snippet(s.text, s.hits)),
                                                   stored_match=s.stored) for s in r.samples])


# -- both -------------------------------------------------------------------------------

def rules_overview(services: Any, engine, name: str | None = None) -> tuple[list[S.RuleOut], str | None]:
    """Configured rules, then rules known only from stored matches; and the error loading the rules, if any."""
    error = None
    configured = []
    try:
        configured = list(services.rules.matcher().rules)
    except MonitorError as e:
        error = str(e)
    stats = queries.rule_stats(engine, rule=name)
    out = []
    for r in configured:
        if name is not None and r.name != name:
            continue
        st = stats.pop(r.name, None)
        out.append(rule_out(r.name, st, rule=r))
    for rule_name, st in sorted(stats.items()):
        out.append(rule_out(rule_name, st, rule=None))
    return out, error


def rule_out(name: str, st, *, rule) -> S.RuleOut:
    if st is None:
        per_day = [S.DayCount(day=d, matches=0) for d in queries.chart_days(datetime.now(timezone.utc).date())]
        total = recent = 0
        last = None
    else:
        per_day = [S.DayCount(day=d, matches=n) for d, n in st.per_day]
        total, recent, last = st.total, st.recent, st.last_match
    return S.RuleOut(name=name, description=rule.description if rule else "", configured=rule is not None,
                     enabled=rule.enabled if rule else False, channels=list(rule.channels) if rule else [],
                     languages=list(rule.languages) if rule else [], matches_total=total, matches_30d=recent,
                     last_match=last, per_day=per_day)


def channels(notifier) -> list[S.ChannelOut]:
    """The notifier's channels, their URLs with secrets masked."""
    return [S.ChannelOut(name=n, url=notifier.describe(n)) for n in notifier.names]

"""Read models of the dashboard: paginated, filtered selects.

Every list is one bounded query (keyset or offset pagination, filters in the
WHERE clause, counts with GROUP BY); nothing loads a table to filter it in
Python. Reads only: the one write the dashboard makes (retrying a delivery)
goes through :class:`monitor.adapters.store.Store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import and_, case, exists, func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from monitor.adapters.store.tables import Delivery, Feed, MatchRow, SourceRow, StoredArticleRow, _aware
from monitor.core.filters import MAX_INT, AlertFilter, DeliveryFilter, FeedFilter
from monitor.core.highlight import hits_of
from monitor.core.types import Hit

CHART_DAYS = 30


def _session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)


def _no_such_id(row_id: int) -> bool:
    # An id from a URL path: past INTEGER, PostgreSQL answers an error instead of no row.
    return not 1 <= row_id <= MAX_INT


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    match_id: int
    article_id: int
    rule: str
    channel: str
    status: str
    attempts: int
    last_error: str | None
    held_reason: str | None
    created_at: datetime | None
    updated_at: datetime | None
    sent_at: datetime | None
    title: str = ""
    url: str = ""


@dataclass(frozen=True)
class AlertItem:
    """One match of a rule on an article, with its article and deliveries."""

    id: int
    rule: str
    terms: tuple[str, ...]
    hits: tuple[Hit, ...]
    created_at: datetime | None
    article_id: int
    title: str
    url: str
    text: str
    language: str | None
    published_at: datetime | None
    feed_id: int
    feed: str
    deliveries: tuple[DeliveryInfo, ...] = ()


@dataclass(frozen=True)
class Page:
    items: list
    next_before: int | None = None  # keyset cursor of the next page
    total: int | None = None  # for offset pages


@dataclass(frozen=True)
class FeedInfo:
    id: int
    url: str
    name: str
    language: str | None
    tags: tuple[str, ...]
    enabled: bool
    interval: int
    next_poll_at: datetime | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_status: int | None
    consecutive_failures: int
    articles_seen: int

    @property
    def health(self) -> str:
        if not self.enabled:
            return "disabled"
        if self.last_polled_at is None:
            return "never"
        if self.consecutive_failures:
            return "failing"
        if self.last_error:
            return "warning"
        return "ok"


# -- alerts ------------------------------------------------------------------------


def _delivery(d: Delivery, title: str = "", url: str = "") -> DeliveryInfo:
    return DeliveryInfo(d.id, d.match_id, d.article_id, d.rule, d.channel, d.status, d.attempts, d.last_error,
                        d.held_reason, _aware(d.created_at), _aware(d.updated_at), _aware(d.sent_at), title, url)


def _alert_rows(s: Session, rows) -> list[AlertItem]:
    ids = [m.id for m, _, _ in rows]
    by_match: dict[int, list[DeliveryInfo]] = {}
    if ids:
        for d in s.exec(select(Delivery).where(Delivery.match_id.in_(ids)).order_by(Delivery.id)):
            by_match.setdefault(d.match_id, []).append(_delivery(d))
    return [AlertItem(id=m.id, rule=m.rule, terms=tuple(m.terms or ()), hits=hits_of(m.hits),
                      created_at=_aware(m.created_at), article_id=a.id, title=a.title, url=a.url, text=a.text,
                      language=a.language, published_at=_aware(a.published_at), feed_id=a.feed_id, feed=feed,
                      deliveries=tuple(by_match.get(m.id, ())))
            for m, a, feed in rows]


def alerts(engine: Engine, f: AlertFilter) -> Page:
    """Alerts newest first, filtered; one page of ``f.limit`` below the cursor ``f.before``."""
    q = (select(MatchRow, StoredArticleRow, Feed.name)
         .join(StoredArticleRow, StoredArticleRow.id == MatchRow.article_id)
         .join(Feed, Feed.id == StoredArticleRow.feed_id))
    if f.rule:
        q = q.where(MatchRow.rule == f.rule)
    if f.feed:
        # the feed that first listed it, or any other feed that listed it too
        q = q.where(or_(StoredArticleRow.feed_id == f.feed,
                        exists().where(SourceRow.article_id == StoredArticleRow.id, SourceRow.feed_id == f.feed)))
    if f.language:
        lang = func.lower(StoredArticleRow.language)
        q = q.where(or_(lang == f.language, lang.like(f.language + "-%")))
    if f.since:
        q = q.where(MatchRow.created_at >= f.since)
    if f.until:
        q = q.where(MatchRow.created_at < f.until)
    if f.status:
        q = q.where(exists().where(Delivery.match_id == MatchRow.id, Delivery.status == f.status))
    if f.before:
        q = q.where(MatchRow.id < f.before)
    q = q.order_by(MatchRow.id.desc()).limit(f.limit + 1)
    with _session(engine) as s:
        rows = s.exec(q).all()
        more = len(rows) > f.limit
        items = _alert_rows(s, rows[: f.limit])
    return Page(items, next_before=items[-1].id if more else None)


def alert(engine: Engine, match_id: int) -> AlertItem | None:
    if _no_such_id(match_id):
        return None
    with _session(engine) as s:
        rows = s.exec(select(MatchRow, StoredArticleRow, Feed.name)
                      .join(StoredArticleRow, StoredArticleRow.id == MatchRow.article_id)
                      .join(Feed, Feed.id == StoredArticleRow.feed_id)
                      .where(MatchRow.id == match_id)).all()
        items = _alert_rows(s, rows)
    return items[0] if items else None


def article_sources(engine: Engine, article_id: int) -> list[tuple[int, str]]:
    """(feed id, feed name) of every feed that listed the article, first seen first."""
    with _session(engine) as s:
        return [tuple(r) for r in s.exec(select(Feed.id, Feed.name).join(SourceRow, SourceRow.feed_id == Feed.id)
                                         .where(SourceRow.article_id == article_id).order_by(SourceRow.id))]


# -- feeds -------------------------------------------------------------------------


def _feed(f: Feed) -> FeedInfo:
    return FeedInfo(f.id, f.url, f.name, f.language, tuple(f.tags or ()), f.enabled, f.interval,
                    _aware(f.next_poll_at), _aware(f.last_polled_at), _aware(f.last_success_at), f.last_error,
                    f.last_status, f.consecutive_failures, f.articles_seen)


_HEALTH = {
    "disabled": Feed.enabled == False,  # noqa: E712
    "never": and_(Feed.enabled == True, Feed.last_polled_at.is_(None)),  # noqa: E712
    "failing": and_(Feed.enabled == True, Feed.last_polled_at.is_not(None),  # noqa: E712
                    Feed.consecutive_failures > 0),
    "warning": and_(Feed.enabled == True, Feed.last_polled_at.is_not(None),  # noqa: E712
                    Feed.consecutive_failures == 0, Feed.last_error.is_not(None)),
    "ok": and_(Feed.enabled == True, Feed.last_polled_at.is_not(None),  # noqa: E712
               Feed.consecutive_failures == 0, Feed.last_error.is_(None)),
}


def feeds(engine: Engine, f: FeedFilter) -> Page:
    """Feeds, failing ones first, then by name; an offset page with the total."""
    where = []
    if f.health:
        where.append(_HEALTH[f.health])
    if f.q:
        pattern = "%" + f.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(or_(func.lower(Feed.name).like(pattern, escape="\\"),
                         func.lower(Feed.url).like(pattern, escape="\\")))
    with _session(engine) as s:
        total = s.exec(select(func.count()).select_from(Feed).where(*where)).one()
        rows = s.exec(select(Feed).where(*where)
                      .order_by(Feed.consecutive_failures.desc(), Feed.name, Feed.id)
                      .offset(f.offset).limit(f.limit)).all()
    return Page([_feed(r) for r in rows], total=total)


def feed_health_counts(engine: Engine) -> dict[str, int]:
    """How many feeds are in each health state, in one query."""
    cols = [func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(name) for name, cond in _HEALTH.items()]
    with _session(engine) as s:
        row = s.exec(select(*cols)).one()
    return {name: int(v) for name, v in zip(_HEALTH, row)}


def feed(engine: Engine, feed_id: int) -> FeedInfo | None:
    if _no_such_id(feed_id):
        return None
    with _session(engine) as s:
        row = s.get(Feed, feed_id)
        return _feed(row) if row else None


def feed_choices(engine: Engine, limit: int = 300) -> list[tuple[int, str]] | None:
    """(id, name) of every feed for a filter menu; None when there are more than ``limit``."""
    with _session(engine) as s:
        rows = s.exec(select(Feed.id, Feed.name).order_by(Feed.name).limit(limit + 1)).all()
    return None if len(rows) > limit else [tuple(r) for r in rows]


# -- rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleStats:
    total: int
    recent: int  # in the chart window
    last_match: datetime | None
    per_day: tuple[tuple[date, int], ...]  # CHART_DAYS days, oldest first, zeros included


def chart_days(today: date, n: int = CHART_DAYS) -> list[date]:
    """The ``n`` days ending ``today``, oldest first: the days of a rule's chart."""
    return [today - timedelta(days=n - 1 - i) for i in range(n)]


def _as_date(v) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])


def rule_stats(engine: Engine, *, now: datetime | None = None, rule: str | None = None,
               days: int = CHART_DAYS) -> dict[str, RuleStats]:
    """Match counts per rule: all time, in the last ``days`` days, and per day (UTC) over them.

    Two GROUP BY queries; rules with no match are absent.
    """
    now = now or datetime.now(timezone.utc)
    today = now.astimezone(timezone.utc).date()
    start = datetime.combine(today - timedelta(days=days - 1), datetime.min.time(), tzinfo=timezone.utc)
    only = [MatchRow.rule == rule] if rule else []
    day = func.date(MatchRow.created_at)
    with _session(engine) as s:
        totals = s.exec(select(MatchRow.rule, func.count(), func.max(MatchRow.created_at))
                        .where(*only).group_by(MatchRow.rule)).all()
        daily = s.exec(select(MatchRow.rule, day, func.count())
                       .where(MatchRow.created_at >= start, *only).group_by(MatchRow.rule, day)).all()
    counts: dict[str, dict[date, int]] = {}
    for name, d, n in daily:
        counts.setdefault(name, {})[_as_date(d)] = int(n)
    window = chart_days(today, days)
    out = {}
    for name, n, last in totals:
        per = counts.get(name, {})
        series = tuple((d, per.get(d, 0)) for d in window)
        out[name] = RuleStats(int(n), sum(v for _, v in series), _aware(last), series)
    return out


# -- deliveries ------------------------------------------------------------------------


def deliveries(engine: Engine, f: DeliveryFilter) -> Page:
    """Deliveries newest first, with their article's title and link; a keyset page."""
    q = (select(Delivery, StoredArticleRow.title, StoredArticleRow.url)
         .join(StoredArticleRow, StoredArticleRow.id == Delivery.article_id))
    if f.statuses:
        q = q.where(Delivery.status.in_(list(f.statuses)))
    if f.rule:
        q = q.where(Delivery.rule == f.rule)
    if f.channel:
        q = q.where(Delivery.channel == f.channel)
    if f.before:
        q = q.where(Delivery.id < f.before)
    with _session(engine) as s:
        rows = s.exec(q.order_by(Delivery.id.desc()).limit(f.limit + 1)).all()
    more = len(rows) > f.limit
    items = [_delivery(d, t, u) for d, t, u in rows[: f.limit]]
    return Page(items, next_before=items[-1].id if more else None)


def delivery(engine: Engine, delivery_id: int) -> DeliveryInfo | None:
    if _no_such_id(delivery_id):
        return None
    with _session(engine) as s:
        row = s.exec(select(Delivery, StoredArticleRow.title, StoredArticleRow.url)
                     .join(StoredArticleRow, StoredArticleRow.id == Delivery.article_id)
                     .where(Delivery.id == delivery_id)).first()
    return _delivery(*row) if row else None


def delivery_counts(engine: Engine) -> dict[str, int]:
    with _session(engine) as s:
        return {st: int(n) for st, n in s.exec(select(Delivery.status, func.count()).group_by(Delivery.status))}

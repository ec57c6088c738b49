"""The JSON API's request and response bodies (they make the OpenAPI document)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from monitor.web.tester import BACKTEST_DEFAULT, BACKTEST_MAX


class Segment(BaseModel):
    text: str
    mark: bool = Field(description="a rule term: shown highlighted")


class HitOut(BaseModel):
    field: str
    start: int
    end: int
    term: str


class DeliveryOut(BaseModel):
    id: int
    alert_id: int = Field(description="the match this delivery carries")
    article_id: int
    rule: str
    channel: str = Field(description="channel name (never its URL)")
    status: str
    attempts: int
    last_error: str | None
    held_reason: str | None = None
    created_at: datetime | None
    updated_at: datetime | None
    sent_at: datetime | None = None
    title: str = ""
    url: str = ""


class AlertOut(BaseModel):
    id: int
    rule: str
    terms: list[str]
    created_at: datetime | None
    article_id: int
    title: str
    title_segments: list[Segment]
    url: str
    language: str | None
    published_at: datetime | None
    feed_id: int
    feed: str
    snippet: list[Segment]
    hits: list[HitOut]
    deliveries: list[DeliveryOut]


class AlertDetail(AlertOut):
    text: str
    sources: list[str] = Field(description="names of every feed that listed the article")


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_before: int | None = Field(description="pass as ?before= for the next page; null on the last page")


class FeedOut(BaseModel):
    id: int
    name: str
    url: str
    language: str | None
    tags: list[str]
    enabled: bool
    health: str = Field(description="ok, warning, failing, never (polled) or disabled")
    interval: int
    next_poll_at: datetime | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_status: int | None
    consecutive_failures: int
    articles_seen: int


class FeedPage(BaseModel):
    items: list[FeedOut]
    total: int
    offset: int
    limit: int
    health: dict[str, int] = Field(description="number of feeds in each health state")


class DayCount(BaseModel):
    day: date
    matches: int


class RuleOut(BaseModel):
    name: str
    description: str = ""
    configured: bool = Field(description="false for a rule that has stored matches but is no longer in the rule files")
    enabled: bool = True
    channels: list[str] = []
    languages: list[str] = []
    matches_total: int
    matches_30d: int
    last_match: datetime | None
    per_day: list[DayCount] = Field(description="matches per day (UTC) over the last 30 days, oldest first")


class RuleList(BaseModel):
    items: list[RuleOut]
    error: str | None = Field(None, description="why the rule files could not be loaded, if they could not")


class RuleTestIn(BaseModel):
    rules: str = Field(description="YAML: a 'rules:' list, a list of rules, or one rule")
    title: str = ""
    text: str = ""
    url: str | None = Field(None, description="fetch this page instead of title/text (allow list of the settings)")
    language: str | None = None
    feed: str | None = Field(None, description="feed name, for rules that filter on feeds")


class RuleMatchOut(BaseModel):
    rule: str
    terms: list[str]
    hits: list[HitOut]
    title_segments: list[Segment]
    snippet: list[Segment]


class RuleTestOut(BaseModel):
    rules: list[str]
    matched: list[RuleMatchOut]
    missed: list[str]
    title: str
    url: str | None = None
    text_length: int


class BacktestIn(BaseModel):
    rules: str
    limit: int = Field(BACKTEST_DEFAULT, description=f"newest stored articles to scan, 1 to {BACKTEST_MAX}")
    days: int | None = Field(None, description="only articles fetched in the last N days")


class BacktestSample(BaseModel):
    article_id: int
    rule: str
    title: str
    url: str
    feed: str
    published: datetime | None
    terms: list[str]
    snippet: list[Segment]
    stored_match: bool = Field(description="the stored rule of that name matched this article too")


class BacktestOut(BaseModel):
    scanned: int
    limit: int
    days: int | None
    counts: dict[str, int]
    stored_counts: dict[str, int]
    samples: list[BacktestSample]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_before: int | None


class RetryOut(BaseModel):
    id: int
    status: str = Field(description="the delivery's state after the retry was queued")
    message: str


class ChannelOut(BaseModel):
    name: str
    url: str = Field(description="apprise's privacy form: secrets masked")


class CsrfOut(BaseModel):
    csrf_token: str = Field(description="send back as X-CSRF-Token, with the mm_csrf cookie this response sets")


class StatusOut(BaseModel):
    counts: dict[str, int]


class ErrorOut(BaseModel):
    detail: str
    problems: list[str] | None = None

"""What a page and its API route both do: look up an alert, retry a delivery, run the rule tester.

Each raises :class:`~fastapi.HTTPException` with the status and message a client sees."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from monitor.adapters.store import readmodels as queries
from monitor.core.errors import BlockedAddressError, DeliveryError, FeedError
from monitor.core.filters import FilterError
from monitor.core.types import Document
from monitor.web.context import Web
from monitor.web.pool import Stopped
from monitor.web.presenters import safe_href
from monitor.web.tester import (
    BACKTEST_DEFAULT,
    BACKTEST_MAX,
    check_document,
    fetch_document,
    match_document,
    parse_pasted_rules,
)

RETRYABLE = ("failed", "dead")


def get_alert(web: Web, alert_id: int) -> queries.AlertItem:
    a = queries.alert(web.engine, alert_id)
    if a is None:
        raise HTTPException(404, f"no alert with id {alert_id}")
    return a


def retry(web: Web, delivery_id: int) -> tuple[str, str]:
    """Requeue a failed or dead delivery and send it; (status now, message)."""
    d = queries.delivery(web.engine, delivery_id)
    if d is None:
        raise HTTPException(404, f"no delivery with id {delivery_id}")
    if d.status not in RETRYABLE:
        raise HTTPException(409, f"delivery {delivery_id} is {d.status}; only failed or dead deliveries "
                                 "can be retried")
    if web.enqueue is None:
        raise HTTPException(503, "this dashboard was started without a delivery queue; "
                                 "use `monitor alerts retry` instead")
    if not web.store.requeue_deliveries(status=d.status, ids=[delivery_id]):
        raise HTTPException(409, f"delivery {delivery_id} changed state meanwhile; reload and try again")
    try:
        web.enqueue(delivery_id)
    except DeliveryError as e:  # a synchronous sender refused it (it is recorded as failed)
        return "failed", f"delivery {delivery_id} failed again: {e.reason}"
    now = queries.delivery(web.engine, delivery_id)
    status = now.status if now else "pending"
    return status, f"delivery {delivery_id} queued for sending" if status == "pending" else \
        f"delivery {delivery_id} is {status}"


def _fetch(web: Web, url: str):
    if safe_href(url) is None:
        raise HTTPException(400, f"url: {url[:100]!r} is not an http(s) URL")
    try:
        return fetch_document(url, fetcher=web.fetcher or web.services.fetcher)
    except BlockedAddressError as e:
        raise HTTPException(400, f"url: refused: {e}") from None
    except FeedError as e:
        raise HTTPException(502, f"url: could not fetch the page: {e}") from None
    except ValueError as e:
        raise HTTPException(422, f"url: {e}") from None


def run_test(stop, web: Web, rules_text: str, title: str, text: str, url: str | None, language: str | None,
             feed: str | None) -> tuple[Any, str, str, str | None]:
    """A rule test, in the tester pool; ``stop`` is set when nobody waits for it any more.

    (match result, title, text, the URL fetched or None)."""
    rules = parse_pasted_rules(rules_text)
    fetched_url = None
    if url:
        got = _fetch(web, url)
        title, text, fetched_url = got.title, got.text, got.url
        if stop.is_set():  # the fetch outlived the request: no matching for nobody
            raise Stopped(f"rule test of {url[:100]} stopped after the fetch")
    check_document(title, text)
    if not title.strip() and not text.strip():
        raise HTTPException(400, "text: paste an article (title or text) or give a URL")
    doc = Document(title=title, text=text, language=(language or None), feed=(feed or None))
    return match_document(rules, doc, checker=web.services.rules.checker), title, text, fetched_url


def backtest_bounds(limit: Any, days: Any) -> tuple[int, int | None]:
    """``limit`` and ``days`` of a backtest, from a form or JSON; FilterError when out of range."""
    def number(name, v, lo, hi):
        if v in (None, ""):
            return None
        try:
            n = int(v)
        except (TypeError, ValueError):
            raise FilterError(f"{str(v)[:40]!r} is not a whole number", param=name) from None
        if not lo <= n <= hi:
            raise FilterError(f"{n} is out of range ({lo} to {hi})", param=name)
        return n

    return number("limit", limit, 1, BACKTEST_MAX) or BACKTEST_DEFAULT, number("days", days, 1, 3650)

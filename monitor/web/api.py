"""The JSON API under ``/api`` (an APIRouter); its OpenAPI document is ``/api/openapi.json``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from monitor.adapters.store import readmodels as queries
from monitor.core.filters import (
    parse_alert_filter,
    parse_delivery_filter,
    parse_feed_filter,
)
from monitor.web import actions
from monitor.web import presenters as P
from monitor.web import schemas as S
from monitor.web.context import Web, current
from monitor.web.middleware import require_csrf
from monitor.web.tester import backtest, parse_pasted_rules

router = APIRouter(prefix="/api", responses={400: {"model": S.ErrorOut}, 401: {"model": S.ErrorOut},
                                             403: {"model": S.ErrorOut}})
csrf = [Depends(require_csrf)]
NOT_FOUND = {404: {"model": S.ErrorOut}}
TESTER = {413: {"model": S.ErrorOut}, 503: {"model": S.ErrorOut}, 504: {"model": S.ErrorOut}}


@router.get("/alerts", response_model=S.AlertPage, tags=["alerts"], summary="Recent alerts, filtered")
def api_alerts(request: Request,
               rule: str | None = Query(None, description="rule name"),
               feed: str | None = Query(None, description="feed id"),
               language: str | None = Query(None, description="article language, e.g. fr"),
               since: str | None = Query(None, description="YYYY-MM-DD or ISO 8601 time (UTC if no zone)"),
               until: str | None = Query(None, description="YYYY-MM-DD (inclusive) or ISO 8601 time"),
               status: str | None = Query(None, description="alerts with a delivery in this state"),
               before: str | None = Query(None, description="cursor: next_before of the previous page"),
               limit: str | None = Query(None, description="1 to 200, default 50"),
               web: Web = Depends(current)):
    """Alerts (rule matches) newest first, with highlighted snippets and their deliveries."""
    result = queries.alerts(web.engine, parse_alert_filter(dict(request.query_params)))
    return S.AlertPage(items=[P.alert_out(a) for a in result.items], next_before=result.next_before)


@router.get("/alerts/{alert_id}", response_model=S.AlertDetail, tags=["alerts"], summary="One alert",
            responses=NOT_FOUND)
def api_alert(alert_id: int, web: Web = Depends(current)):
    a = actions.get_alert(web, alert_id)
    base = P.alert_out(a).model_dump()
    return S.AlertDetail(**base, text=a.text,
                         sources=[name for _, name in queries.article_sources(web.engine, a.article_id)])


@router.get("/feeds", response_model=S.FeedPage, tags=["feeds"], summary="Feeds and their health")
def api_feeds(request: Request,
              health: str | None = Query(None, description="ok, warning, failing, never or disabled"),
              q: str | None = Query(None, description="name or URL contains"),
              offset: str | None = Query(None), limit: str | None = Query(None, description="1 to 1000"),
              web: Web = Depends(current)):
    """Feeds, failing first: health, last error, next poll."""
    f = parse_feed_filter(dict(request.query_params))
    result = queries.feeds(web.engine, f)
    return S.FeedPage(items=[P.feed_out(x) for x in result.items], total=result.total or 0, offset=f.offset,
                      limit=f.limit, health=queries.feed_health_counts(web.engine))


@router.get("/feeds/{feed_id}", response_model=S.FeedOut, tags=["feeds"], summary="One feed", responses=NOT_FOUND)
def api_feed(feed_id: int, web: Web = Depends(current)):
    f = queries.feed(web.engine, feed_id)
    if f is None:
        raise HTTPException(404, f"no feed with id {feed_id}")
    return P.feed_out(f)


@router.get("/rules", response_model=S.RuleList, tags=["rules"], summary="Rules with match counts")
def api_rules(web: Web = Depends(current)):
    """Every configured rule, and every rule with stored matches, with counts per day over 30 days."""
    rules, error = P.rules_overview(web.services, web.engine)
    return S.RuleList(items=rules, error=error)


@router.get("/rules/{name}", response_model=S.RuleOut, tags=["rules"], summary="One rule", responses=NOT_FOUND)
def api_rule(name: str, web: Web = Depends(current)):
    rules, _ = P.rules_overview(web.services, web.engine, name)
    if not rules:
        raise HTTPException(404, f"no rule named {name[:100]!r} in the rule files or the stored matches")
    return rules[0]


def _rule_test(stop, web: Web, body: S.RuleTestIn) -> S.RuleTestOut:
    result, title, text, fetched = actions.run_test(stop, web, body.rules, body.title, body.text, body.url,
                                                    body.language, body.feed)
    return P.rule_test_out(result, title, text, fetched)


@router.post("/rules/test", response_model=S.RuleTestOut, tags=["rules"], summary="Test rules on an article",
             dependencies=csrf,
             responses={413: {"model": S.ErrorOut}, 422: {"model": S.ErrorOut}, 502: {"model": S.ErrorOut},
                        503: {"model": S.ErrorOut}, 504: {"model": S.ErrorOut}})
async def api_rule_test(request: Request, body: S.RuleTestIn, web: Web = Depends(current)):
    """Run pasted YAML rules on a pasted article, or on the page at ``url``; nothing is stored.

    Runs in the tester's own threads (``web_tester_workers``), for at most ``web_tester_timeout``
    seconds (504), and stops when the client goes away."""
    return await web.pool.run(request, _rule_test, web, body)


def _backtest(stop, web: Web, body: S.BacktestIn) -> S.BacktestOut:
    rules = parse_pasted_rules(body.rules)
    limit, days = actions.backtest_bounds(body.limit, body.days)
    return P.backtest_out(backtest(rules, web.engine, limit=limit, days=days, checker=web.services.rules.checker,
                                   stopped=stop.is_set))


@router.post("/rules/backtest", response_model=S.BacktestOut, tags=["rules"],
             summary="Run rules over stored articles", dependencies=csrf, responses=TESTER)
async def api_backtest(request: Request, body: S.BacktestIn, web: Web = Depends(current)):
    """Run pasted rules over the newest ``limit`` stored articles (at most 5,000); nothing is stored.

    Runs in the tester's own threads, like ``/api/rules/test``."""
    return await web.pool.run(request, _backtest, web, body)


@router.get("/deliveries", response_model=S.DeliveryPage, tags=["deliveries"], summary="Deliveries, filtered")
def api_deliveries(request: Request,
                   status: str | None = Query(None, description="comma-separated states, or 'all'; "
                                                                "default failed,dead"),
                   rule: str | None = Query(None), channel: str | None = Query(None),
                   before: str | None = Query(None), limit: str | None = Query(None),
                   web: Web = Depends(current)):
    result = queries.deliveries(web.engine, parse_delivery_filter(dict(request.query_params)))
    return S.DeliveryPage(items=[P.delivery_out(d) for d in result.items], next_before=result.next_before)


@router.get("/deliveries/{delivery_id}", response_model=S.DeliveryOut, tags=["deliveries"],
            summary="One delivery", responses=NOT_FOUND)
def api_delivery(delivery_id: int, web: Web = Depends(current)):
    d = queries.delivery(web.engine, delivery_id)
    if d is None:
        raise HTTPException(404, f"no delivery with id {delivery_id}")
    return P.delivery_out(d)


@router.post("/deliveries/{delivery_id}/retry", response_model=S.RetryOut, tags=["deliveries"],
             summary="Send a failed or dead delivery again", dependencies=csrf,
             responses={**NOT_FOUND, 409: {"model": S.ErrorOut}})
def api_retry(delivery_id: int, web: Web = Depends(current)):
    status, message = actions.retry(web, delivery_id)
    return S.RetryOut(id=delivery_id, status=status, message=message)


@router.get("/channels", response_model=list[S.ChannelOut], tags=["deliveries"],
            summary="Configured channels (secrets masked)")
def api_channels(web: Web = Depends(current)):
    return P.channels(web.services.notifier)


@router.get("/status", response_model=S.StatusOut, tags=["status"], summary="Row counts")
def api_status(web: Web = Depends(current)):
    return S.StatusOut(counts=web.store.counts())


@router.get("/csrf", response_model=S.CsrfOut, tags=["status"], summary="A CSRF token for POST requests")
def api_csrf(request: Request, web: Web = Depends(current)):
    return S.CsrfOut(csrf_token=web.guard.csrf_token(request.state.session, request.state.csrf_cookie))

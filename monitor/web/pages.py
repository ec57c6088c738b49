"""The dashboard's HTML pages (an APIRouter, left out of the OpenAPI document)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from monitor.adapters.store import readmodels as queries
from monitor.core.errors import MonitorError
from monitor.core.filters import (
    parse_alert_filter,
    parse_delivery_filter,
    parse_feed_filter,
)
from monitor.core.highlight import segments
from monitor.web import actions, errors
from monitor.web import presenters as P
from monitor.web.context import Web, current
from monitor.web.middleware import require_csrf
from monitor.web.rendering import page
from monitor.web.security import SESSION_COOKIE
from monitor.web.tester import (
    BACKTEST_DEFAULT,
    BACKTEST_MAX,
    MAX_RULE_CHARS,
    backtest,
    parse_pasted_rules,
)

SAMPLE_RULE = """rules:
  - name: my-rule
    keywords:
      any: [OTAN, NATO]
"""
LIMITS = {"rules": MAX_RULE_CHARS, "backtest": BACKTEST_MAX}

router = APIRouter(include_in_schema=False)
csrf = [Depends(require_csrf)]


def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def _local(target: str) -> str:
    # only a path on this site: no open redirect
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/alerts"


@router.get("/")
def home():
    return RedirectResponse("/alerts", status_code=303)


@router.get("/healthz")
def healthz():
    return {"ok": True}


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, web: Web = Depends(current)):
    f = parse_alert_filter(_params(request))
    result = queries.alerts(web.engine, f)
    rules, _ = P.rules_overview(web.services, web.engine)
    query = {k: v for k, v in _params(request).items() if v and k != "before"}
    next_url = ("/alerts?" + urlencode({**query, "before": result.next_before})) if result.next_before else None
    return page(request, "alerts.html", nav="alerts", f=f, items=[P.alert_view(a) for a in result.items],
                next_url=next_url, rule_names=[r.name for r in rules],
                feeds=queries.feed_choices(web.engine), query=query)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, alert_id: int, web: Web = Depends(current)):
    a = actions.get_alert(web, alert_id)
    return page(request, "alert.html", nav="alerts", v=P.alert_view(a),
                text=segments(a.text, a.hits, "text"), sources=queries.article_sources(web.engine, a.article_id))


@router.get("/stories", response_class=HTMLResponse)
def stories_page(request: Request):
    # Placeholder: story grouping is another issue; its pages plug in here.
    return page(request, "stories.html", nav="stories")


@router.get("/feeds", response_class=HTMLResponse)
def feeds_page(request: Request, web: Web = Depends(current)):
    f = parse_feed_filter(_params(request))
    result = queries.feeds(web.engine, f)
    query = {k: v for k, v in _params(request).items() if v and k != "offset"}
    prev_url = ("/feeds?" + urlencode({**query, "offset": max(0, f.offset - f.limit)})) if f.offset else None
    next_url = ("/feeds?" + urlencode({**query, "offset": f.offset + f.limit})) \
        if f.offset + f.limit < (result.total or 0) else None
    return page(request, "feeds.html", nav="feeds", f=f, items=result.items, total=result.total,
                counts=queries.feed_health_counts(web.engine), prev_url=prev_url, next_url=next_url)


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, web: Web = Depends(current)):
    rules, error = P.rules_overview(web.services, web.engine)
    return page(request, "rules.html", nav="rules", rules=rules, error=error)


@router.get("/rules/{name}", response_class=HTMLResponse)
def rule_page(request: Request, name: str, web: Web = Depends(current)):
    rules, error = P.rules_overview(web.services, web.engine, name)
    if not rules:
        raise HTTPException(404, f"no rule named {name[:100]!r} in the rule files or the stored matches")
    recent = queries.alerts(web.engine, parse_alert_filter({"rule": name, "limit": "10"}))
    return page(request, "rule.html", nav="rules", r=rules[0], error=error,
                recent=[P.alert_view(a) for a in recent.items])


@router.get("/tester", response_class=HTMLResponse)
def tester_page(request: Request):
    return page(request, "tester.html", nav="tester", form={"rules": SAMPLE_RULE, "limit": BACKTEST_DEFAULT},
                limits=LIMITS)


async def _tester_backtest(request: Request, web: Web, form: dict[str, str]) -> dict[str, Any]:
    rules = parse_pasted_rules(form.get("rules", ""))
    limit, days = actions.backtest_bounds(form.get("limit"), form.get("days"))
    # The workers' entity check too, as the API's backtest does: what a user tests is what runs.
    checker = web.services.rules.checker
    result = await web.pool.run(request, lambda stop: backtest(rules, web.engine, limit=limit, days=days,
                                                               checker=checker, stopped=stop.is_set))
    return {"backtest": result, "samples": [P.sample_view(s) for s in result.samples]}


async def _tester_test(request: Request, web: Web, form: dict[str, str]) -> dict[str, Any]:
    result, title, text, fetched = await web.pool.run(
        request, actions.run_test, web, form.get("rules", ""), form.get("title", ""), form.get("text", ""),
        form.get("url", "").strip() or None, form.get("language", "").strip() or None,
        form.get("feed", "").strip() or None)
    return {"result": result, "fetched": fetched, "doc_title": title,
            "matches": [P.match_view(m, title, text) for m in result.matches]}


@router.post("/tester", response_class=HTMLResponse, dependencies=csrf)
async def tester_post(request: Request, web: Web = Depends(current)):
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    run = _tester_backtest if form.get("action", "test") == "backtest" else _tester_test
    ctx: dict[str, Any] = {"form": form, "limits": LIMITS}
    try:
        ctx.update(await run(request, web, form))
    except (*errors.STATUS, HTTPException) as e:  # shown above the form, which keeps what was typed
        status, ctx["error"], ctx["problems"] = errors.described(e)
        return page(request, "tester.html", nav="tester", status=status, **ctx)
    return page(request, "tester.html", nav="tester", **ctx)


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries_page(request: Request, web: Web = Depends(current)):
    params = _params(request)
    notice = params.pop("notice", None)
    f = parse_delivery_filter(params)
    result = queries.deliveries(web.engine, f)
    query = {k: v for k, v in params.items() if v and k != "before"}
    next_url = ("/deliveries?" + urlencode({**query, "before": result.next_before})) \
        if result.next_before else None
    try:
        chans, chan_error = P.channels(web.services.notifier), None
    except MonitorError as e:
        chans, chan_error = [], str(e)
    return page(request, "deliveries.html", nav="deliveries", f=f, items=result.items, next_url=next_url,
                counts=queries.delivery_counts(web.engine), channels=chans, channel_error=chan_error,
                notice=P.notice(notice), status_value=params.get("status", ""))


@router.post("/deliveries/{delivery_id}/retry", dependencies=csrf)
def retry_page(delivery_id: int, web: Web = Depends(current)):
    status, _ = actions.retry(web, delivery_id)
    code = {"pending": "queued", "sending": "queued"}.get(status, status)
    return RedirectResponse(f"/deliveries?{urlencode({'notice': f'{code}:{delivery_id}'})}", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/alerts", web: Web = Depends(current)):
    if not web.guard.login_enabled:
        return RedirectResponse("/alerts", status_code=303)
    return page(request, "login.html", next=_local(next))


@router.post("/login", dependencies=csrf)
async def login(request: Request, web: Web = Depends(current)):
    guard = web.guard
    form = await request.form()
    target = _local(str(form.get("next") or "/alerts"))
    wait = guard.locked_out(request)
    if wait:
        response = page(request, "login.html", status=429, next=target, error=guard.lockout_message(wait))
        response.headers["Retry-After"] = str(wait)
        return response
    if not guard.check_token(str(form.get("token") or "")):
        guard.record_failure(request)
        return page(request, "login.html", status=401, next=target, error="wrong token")
    # a new session id for every login; the browser's previous session (if any) ends
    await run_in_threadpool(guard.end_session, request)
    session_id, _ = await run_in_threadpool(guard.open_session)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https", max_age=int(guard.lifetime))
    return response


@router.post("/logout", dependencies=csrf)
def logout(request: Request, web: Web = Depends(current)):
    web.guard.end_session(request)  # refused from now on, by every dashboard process
    response = RedirectResponse("/login" if web.guard.login_enabled else "/alerts", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api", response_class=HTMLResponse)
def api_page(request: Request):
    doc = request.app.openapi()
    ops = [(method.upper(), path, op.get("summary", ""), op.get("description", ""))
           for path, item in doc["paths"].items() for method, op in item.items()]
    return page(request, "api.html", nav="api", ops=ops)

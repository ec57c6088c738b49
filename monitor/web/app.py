"""The dashboard and JSON API: one FastAPI app over the same database as the workers.

Pages are rendered on the server with Jinja2 (autoescaping on: article titles
and texts are shown as text, never as markup); the API lives under ``/api``
with its OpenAPI document at ``/api/openapi.json``. See :mod:`.security` for
the token, loopback and CSRF rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Undefined
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitor.core import render
from monitor.config import Settings
from monitor.core.errors import DeliveryError, FeedError, BlockedAddressError, MonitorError, RuleError
from monitor.core.types import Document
from monitor.web import queries
from monitor.web import schemas as S
from monitor.web.filters import (DELIVERY_STATUSES, FEED_HEALTH, FilterError, parse_alert_filter, parse_delivery_filter,
                      parse_feed_filter)
from monitor.web.highlight import segments
from monitor.web.pool import Stopped, WorkPool
from monitor.web.security import (CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, FailureLimit, Guard,
                       new_csrf_cookie)
from monitor.web.sessions import SessionStore, utcnow
from monitor.web.tester import (BACKTEST_DEFAULT, BACKTEST_MAX, MAX_RULE_CHARS, InputTooLarge, backtest, check_document,
                     fetch_document, parse_pasted_rules, match_document)

log = logging.getLogger("monitor.web")
HERE = Path(__file__).resolve().parent
MAX_BODY = 2_500_000  # bytes of a request body: a pasted article and rules, form-encoded
RETRYABLE = ("failed", "dead")
SAMPLE_RULE = """rules:
  - name: my-rule
    keywords:
      any: [OTAN, NATO]
"""


def _safe_href(url: str | None) -> str | None:
    """The URL if it is http(s), else None: a feed could carry javascript: links."""
    if not url or render.printable(url) != url.strip():  # controls or line breaks: not a link
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def printable_output(value: Any) -> Any:
    """Every ``{{ ... }}`` of the dashboard's templates (Jinja's ``finalize``), before escaping:
    text without C0/C1 controls or bidirectional overrides (a stored ``exe.\\u202efdp`` would
    read as "pdf.exe"); line breaks and tabs stay. Markup (a macro's output) stays Markup:
    removing characters from it adds no markup. Numbers, None and undefined values pass."""
    if isinstance(value, Markup):
        return Markup(render.printable(str(value), lines=True))
    if isinstance(value, str):
        return render.printable(value, lines=True)
    if value is None or isinstance(value, (int, float, Undefined)) or hasattr(value, "__html__"):
        return value
    return render.printable(str(value), lines=True)


def _segs(pairs) -> list[S.Segment]:
    return [S.Segment(text=t, mark=m) for t, m in pairs]


def _default_enqueue(settings: Settings) -> Callable[[int], None]:
    state: dict[str, Any] = {}

    def enqueue(delivery_id: int) -> None:
        if "task" not in state:
            from workers import configure
            from workers.tasks import deliver

            configure(settings)
            state["task"] = deliver
        state["task"].delay(delivery_id)

    return enqueue


def create_app(settings: Settings, *, services=None, token: str | None = None,
               enqueue: Callable[[int], None] | None = None, secret: bytes | None = None,
               fetcher=None, login_limit: FailureLimit | None = None,
               clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The dashboard and API for ``settings``.

    ``token``: when set, every request must carry it (bearer header or the
    cookie of a login, kept in the database for ``web_session_lifetime``
    seconds); when not, only loopback clients are served. ``services`` defaults
    to :class:`monitor.service.Services` of the settings. ``enqueue(id)``
    sends a retried delivery: by default through the Celery queue
    (``workers.tasks.deliver.delay``). ``secret`` signs the CSRF tokens of
    requests without a session (default: derived from the token, or random).
    ``fetcher`` fetches URLs for the rule tester (default: the services'
    guarded HTTP fetcher, with the settings' allow list). ``login_limit``
    counts wrong tokens per client address (default:
    :class:`~monitor.web.security.FailureLimit`, 10 in 10 minutes).
    ``clock`` tells the time sessions expire by (UTC).
    """
    if services is None:
        from monitor.service import Services

        services = Services(settings)
    sessions = SessionStore(lambda: services.store.engine, clock=clock) if token else None
    guard = Guard(token, secret, login_limit, sessions=sessions, lifetime=settings.web_session_lifetime,
                  origins=settings.web_origins)
    # rule tests and backtests: threads of their own, so the pages never wait for them
    pool = WorkPool(settings.web_tester_workers, settings.web_tester_timeout)
    enqueue = enqueue or _default_enqueue(settings)
    zone = ZoneInfo(settings.timezone)

    app = FastAPI(title="media-monitor", version="1", summary="Alerts, feeds, rules and deliveries of media-monitor.",
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.state.guard = guard
    app.state.tester_pool = pool
    app.state.services = services
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.autoescape = True  # every template, whatever its name
    env.finalize = printable_output  # and no control or bidi character from a feed reaches a page

    def when(dt: datetime | None) -> str:
        return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M") if dt else "—"

    def relative(dt: datetime | None) -> str:
        if dt is None:
            return "—"
        secs = int((dt - datetime.now(timezone.utc)).total_seconds())
        n, unit = abs(secs), "s"
        for size, name in ((86400, "d"), (3600, "h"), (60, "min")):
            if n >= size:
                n, unit = n // size, name
                break
        return f"in {n} {unit}" if secs >= 0 else f"{n} {unit} ago"

    env.filters.update(when=when, relative=relative, href=_safe_href)
    env.globals.update(timezone=settings.timezone, statuses=DELIVERY_STATUSES, feed_health=FEED_HEALTH,
                       login_enabled=guard.login_enabled)

    def store():
        return services.store

    def engine():
        return services.store.engine

    # -- middleware: access, CSRF cookie, headers -------------------------------------------

    def _wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")

    def _error(request: Request, status: int, message: str, problems: list[str] | None = None) -> Response:
        if _wants_json(request):
            body: dict[str, Any] = {"detail": message}
            if problems:
                body["problems"] = problems
            return JSONResponse(body, status_code=status)
        return templates.TemplateResponse(request, "error.html", {**_ctx(request), "status": status,
                                                                  "message": message, "problems": problems or []},
                                          status_code=status)

    @app.middleware("http")
    async def access(request: Request, call_next):
        request.state.bearer = False
        request.state.session = None
        request.state.csrf_cookie = request.cookies.get(CSRF_COOKIE) or ""
        changes = request.method in ("POST", "PUT", "PATCH", "DELETE")
        if changes:
            length = request.headers.get("content-length")
            if length is None and request.headers.get("transfer-encoding"):
                return _error(request, 411, "send a Content-Length with the request body")
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
                return _error(request, 413, f"request body larger than {MAX_BODY:,} bytes")
        if guard.login_enabled and request.cookies.get(SESSION_COOKIE):
            request.state.session = await run_in_threadpool(guard.session, request)
        refusal = guard.refusal(request, request.state.session)
        if refusal is not None:
            status, message, wait = refusal
            if status == 401 and request.method == "GET" and not _wants_json(request):
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
            response = _error(request, status, message)
            if wait:
                response.headers["Retry-After"] = str(wait)
            if status == 401:
                response.headers["WWW-Authenticate"] = 'Bearer realm="media-monitor"'
            return response
        request.state.bearer = guard.bearer_ok(request)
        if changes and not request.state.bearer:
            foreign = guard.foreign_origin(request)
            if foreign:
                return _error(request, 403, foreign)
        new_cookie = None
        if not request.state.csrf_cookie:
            new_cookie = request.state.csrf_cookie = new_csrf_cookie()
        response = await call_next(request)
        if new_cookie:
            response.set_cookie(CSRF_COOKIE, new_cookie, httponly=True, samesite="strict", path="/",
                                secure=request.url.scheme == "https")
        h = response.headers
        h.setdefault("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; "
                     "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
                     "frame-ancestors 'none'")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on our own forms
        h.setdefault("Referrer-Policy", "same-origin")
        if request.url.path.startswith("/api/") or response.headers.get("content-type", "").startswith("text/html"):
            h.setdefault("Cache-Control", "no-store")
        return response

    async def require_csrf(request: Request) -> None:
        """Dependency of every state-changing route (see :mod:`.security`)."""
        if request.state.bearer:
            return
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get(CSRF_FIELD)
        if not guard.csrf_ok(request.state.session, request.cookies.get(CSRF_COOKIE),
                             sent if isinstance(sent, str) else None):
            raise HTTPException(403, "CSRF check failed: reload the page and submit again "
                                     "(API clients: GET /api/csrf, then send its token as X-CSRF-Token "
                                     "with the cookie it sets, or authenticate with a bearer token)")

    # -- errors -------------------------------------------------------------------------

    @app.exception_handler(StarletteHTTPException)
    async def starlette_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no page at {request.url.path}"
        return _error(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "request"
            problems.append(f"{loc}: {e.get('msg', 'invalid')}")
        return _error(request, 422 if request.method != "GET" else 400,
                      problems[0] if problems else "invalid request", problems)

    @app.exception_handler(FilterError)
    async def filter_error(request: Request, exc: FilterError):
        return _error(request, 400, str(exc))

    @app.exception_handler(InputTooLarge)
    async def too_large(request: Request, exc: InputTooLarge):
        return _error(request, 413, str(exc))

    @app.exception_handler(RuleError)
    async def rule_error(request: Request, exc: RuleError):
        return _error(request, 400, str(exc), list(exc.problems))

    # -- helpers ----------------------------------------------------------------------------

    def _ctx(request: Request, **extra) -> dict:
        token = guard.csrf_token(getattr(request.state, "session", None), getattr(request.state, "csrf_cookie", ""))
        return {"csrf_token": token, "nav": extra.pop("nav", ""), **extra}

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, _ctx(request, **context), status_code=status)

    def _params(request: Request) -> dict[str, str]:
        return dict(request.query_params)

    def alert_view(a: queries.AlertItem) -> dict:
        return {"a": a, "title": segments(a.title, a.hits, "title"), "snippet": render.snippet(a.text, a.hits),
                "href": _safe_href(a.url)}

    def alert_out(a: queries.AlertItem) -> S.AlertOut:
        return S.AlertOut(id=a.id, rule=a.rule, terms=list(a.terms), created_at=a.created_at, article_id=a.article_id,
                          title=a.title, title_segments=_segs(segments(a.title, a.hits, "title")), url=a.url,
                          language=a.language, published_at=a.published_at, feed_id=a.feed_id, feed=a.feed,
                          snippet=_segs(render.snippet(a.text, a.hits)),
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

    def rules_overview(name: str | None = None) -> tuple[list[S.RuleOut], str | None]:
        error = None
        configured = []
        try:
            configured = list(services.rules.matcher().rules)
        except MonitorError as e:
            error = str(e)
        stats = queries.rule_stats(engine(), rule=name)
        out = []
        for r in configured:
            if name is not None and r.name != name:
                continue
            st = stats.pop(r.name, None)
            out.append(_rule_out(r.name, st, rule=r))
        for rule_name, st in sorted(stats.items()):
            out.append(_rule_out(rule_name, st, rule=None))
        return out, error

    def _rule_out(name: str, st, *, rule) -> S.RuleOut:
        if st is None:
            days = queries._days(datetime.now(timezone.utc).date(), queries.CHART_DAYS)
            per_day = [S.DayCount(day=d, matches=0) for d in days]
            total = recent = 0
            last = None
        else:
            per_day = [S.DayCount(day=d, matches=n) for d, n in st.per_day]
            total, recent, last = st.total, st.recent, st.last_match
        return S.RuleOut(name=name, description=rule.description if rule else "", configured=rule is not None,
                         enabled=rule.enabled if rule else False, channels=list(rule.channels) if rule else [],
                         languages=list(rule.languages) if rule else [], matches_total=total, matches_30d=recent,
                         last_match=last, per_day=per_day)

    def channels() -> list[S.ChannelOut]:
        notifier = services.notifier
        return [S.ChannelOut(name=n, url=notifier.describe(n)) for n in notifier.names]

    def get_alert(alert_id: int) -> queries.AlertItem:
        a = queries.alert(engine(), alert_id)
        if a is None:
            raise HTTPException(404, f"no alert with id {alert_id}")
        return a

    def retry(delivery_id: int) -> tuple[str, str]:
        """Requeue a failed or dead delivery and send it; (status now, message)."""
        d = queries.delivery(engine(), delivery_id)
        if d is None:
            raise HTTPException(404, f"no delivery with id {delivery_id}")
        if d.status not in RETRYABLE:
            raise HTTPException(409, f"delivery {delivery_id} is {d.status}; only failed or dead deliveries "
                                     "can be retried")
        if not store().requeue_deliveries(status=d.status, ids=[delivery_id]):
            raise HTTPException(409, f"delivery {delivery_id} changed state meanwhile; reload and try again")
        try:
            enqueue(delivery_id)
        except DeliveryError as e:  # a synchronous sender refused it (it is recorded as failed)
            return "failed", f"delivery {delivery_id} failed again: {e.reason}"
        now = queries.delivery(engine(), delivery_id)
        status = now.status if now else "pending"
        return status, f"delivery {delivery_id} queued for sending" if status == "pending" else \
            f"delivery {delivery_id} is {status}"

    def run_test(stop, rules_text: str, title: str, text: str, url: str | None, language: str | None,
                 feed: str | None) -> tuple[Any, str, str, str | None]:
        """A rule test, in the tester pool; ``stop`` is set when nobody waits for it any more."""
        rules = parse_pasted_rules(rules_text)
        fetched_url = None
        if url:
            if _safe_href(url) is None:
                raise HTTPException(400, f"url: {url[:100]!r} is not an http(s) URL")
            try:
                got = fetch_document(url, fetcher=fetcher or services.fetcher)
            except BlockedAddressError as e:
                raise HTTPException(400, f"url: refused: {e}") from None
            except FeedError as e:
                raise HTTPException(502, f"url: could not fetch the page: {e}") from None
            except ValueError as e:
                raise HTTPException(422, f"url: {e}") from None
            title, text, fetched_url = got.title, got.text, got.url
            if stop.is_set():  # the fetch outlived the request: no matching for nobody
                raise Stopped(f"rule test of {url[:100]} stopped after the fetch")
        check_document(title, text)
        if not title.strip() and not text.strip():
            raise HTTPException(400, "text: paste an article (title or text) or give a URL")
        doc = Document(title=title, text=text, language=(language or None), feed=(feed or None))
        return match_document(rules, doc, checker=services.rules.checker), title, text, fetched_url

    # -- pages ----------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def home():
        return RedirectResponse("/alerts", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz():
        return {"ok": True}

    @app.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
    def alerts_page(request: Request):
        f = parse_alert_filter(_params(request))
        result = queries.alerts(engine(), f)
        rules, _ = rules_overview()
        query = {k: v for k, v in _params(request).items() if v and k != "before"}
        next_url = ("/alerts?" + urlencode({**query, "before": result.next_before})) if result.next_before else None
        return page(request, "alerts.html", nav="alerts", f=f, items=[alert_view(a) for a in result.items],
                    next_url=next_url, rule_names=[r.name for r in rules],
                    feeds=queries.feed_choices(engine()), query=query)

    @app.get("/alerts/{alert_id}", response_class=HTMLResponse, include_in_schema=False)
    def alert_page(request: Request, alert_id: int):
        a = get_alert(alert_id)
        return page(request, "alert.html", nav="alerts", v=alert_view(a),
                    text=segments(a.text, a.hits, "text"), sources=queries.article_sources(engine(), a.article_id))

    @app.get("/stories", response_class=HTMLResponse, include_in_schema=False)
    def stories_page(request: Request):
        # Placeholder: story grouping is another issue; its pages plug in here.
        return page(request, "stories.html", nav="stories")

    @app.get("/feeds", response_class=HTMLResponse, include_in_schema=False)
    def feeds_page(request: Request):
        f = parse_feed_filter(_params(request))
        result = queries.feeds(engine(), f)
        query = {k: v for k, v in _params(request).items() if v and k != "offset"}
        prev_url = ("/feeds?" + urlencode({**query, "offset": max(0, f.offset - f.limit)})) if f.offset else None
        next_url = ("/feeds?" + urlencode({**query, "offset": f.offset + f.limit})) \
            if f.offset + f.limit < (result.total or 0) else None
        return page(request, "feeds.html", nav="feeds", f=f, items=result.items, total=result.total,
                    counts=queries.feed_health_counts(engine()), prev_url=prev_url, next_url=next_url)

    @app.get("/rules", response_class=HTMLResponse, include_in_schema=False)
    def rules_page(request: Request):
        rules, error = rules_overview()
        return page(request, "rules.html", nav="rules", rules=rules, error=error)

    @app.get("/rules/{name}", response_class=HTMLResponse, include_in_schema=False)
    def rule_page(request: Request, name: str):
        rules, error = rules_overview(name)
        if not rules:
            raise HTTPException(404, f"no rule named {name[:100]!r} in the rule files or the stored matches")
        recent = queries.alerts(engine(), parse_alert_filter({"rule": name, "limit": "10"}))
        return page(request, "rule.html", nav="rules", r=rules[0], error=error,
                    recent=[alert_view(a) for a in recent.items])

    @app.get("/tester", response_class=HTMLResponse, include_in_schema=False)
    def tester_page(request: Request):
        return page(request, "tester.html", nav="tester", form={"rules": SAMPLE_RULE, "limit": BACKTEST_DEFAULT},
                    limits={"rules": MAX_RULE_CHARS, "backtest": BACKTEST_MAX})

    @app.post("/tester", response_class=HTMLResponse, include_in_schema=False,
              dependencies=[Depends(require_csrf)])
    async def tester_post(request: Request):
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        action = form.get("action", "test")
        ctx: dict[str, Any] = {"form": form, "limits": {"rules": MAX_RULE_CHARS, "backtest": BACKTEST_MAX}}
        try:
            if action == "backtest":
                rules = parse_pasted_rules(form.get("rules", ""))
                limit, days = _backtest_bounds(form.get("limit"), form.get("days"))
                result = await pool.run(request, lambda stop: backtest(rules, engine(), limit=limit, days=days,
                                                                        stopped=stop.is_set))
                ctx["backtest"] = result
                ctx["samples"] = [{"s": s, "snippet": render.snippet(s.text, s.hits),
                                   "title": segments(s.title, s.hits, "title"), "href": _safe_href(s.url)}
                                  for s in result.samples]
            else:
                result, title, text, fetched = await pool.run(
                    request, run_test, form.get("rules", ""), form.get("title", ""), form.get("text", ""),
                    form.get("url", "").strip() or None, form.get("language", "").strip() or None,
                    form.get("feed", "").strip() or None)
                ctx["result"] = result
                ctx["fetched"] = fetched
                ctx["doc_title"] = title
                ctx["matches"] = [{"m": m, "title": segments(title, m.hits, "title"),
                                   "text": segments(text, m.hits, "text")} for m in result.matches]
        except (RuleError, InputTooLarge, FilterError, HTTPException) as e:
            status = 413 if isinstance(e, InputTooLarge) else getattr(e, "status_code", 400)
            message = e.detail if isinstance(e, HTTPException) else str(e)
            ctx["error"] = message
            ctx["problems"] = list(getattr(e, "problems", ()))
            return page(request, "tester.html", nav="tester", status=status, **ctx)
        return page(request, "tester.html", nav="tester", **ctx)

    def _backtest_bounds(limit: Any, days: Any) -> tuple[int, int | None]:
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

    @app.get("/deliveries", response_class=HTMLResponse, include_in_schema=False)
    def deliveries_page(request: Request):
        params = _params(request)
        notice = params.pop("notice", None)
        f = parse_delivery_filter(params)
        result = queries.deliveries(engine(), f)
        query = {k: v for k, v in params.items() if v and k != "before"}
        next_url = ("/deliveries?" + urlencode({**query, "before": result.next_before})) \
            if result.next_before else None
        try:
            chans, chan_error = channels(), None
        except MonitorError as e:
            chans, chan_error = [], str(e)
        return page(request, "deliveries.html", nav="deliveries", f=f, items=result.items, next_url=next_url,
                    counts=queries.delivery_counts(engine()), channels=chans, channel_error=chan_error,
                    notice=_notice(notice), status_value=params.get("status", ""))

    def _notice(code: str | None) -> str | None:
        # Fixed messages chosen by a code: a query string never puts its own words on the page.
        if not code:
            return None
        kind, _, ident = code.partition(":")
        if not ident.isdigit():
            return None
        return {"queued": f"Delivery {ident} was queued for sending.",
                "sent": f"Delivery {ident} was sent.",
                "failed": f"Delivery {ident} failed again; see its error below."}.get(kind)

    @app.post("/deliveries/{delivery_id}/retry", include_in_schema=False, dependencies=[Depends(require_csrf)])
    def retry_page(request: Request, delivery_id: int):
        status, _ = retry(delivery_id)
        code = {"pending": "queued", "sending": "queued"}.get(status, status)
        return RedirectResponse(f"/deliveries?{urlencode({'notice': f'{code}:{delivery_id}'})}", status_code=303)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/alerts"):
        if not guard.login_enabled:
            return RedirectResponse("/alerts", status_code=303)
        return page(request, "login.html", next=_local(next))

    @app.post("/login", include_in_schema=False, dependencies=[Depends(require_csrf)])
    async def login(request: Request):
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

    @app.post("/logout", include_in_schema=False, dependencies=[Depends(require_csrf)])
    def logout(request: Request):
        guard.end_session(request)  # refused from now on, by every dashboard process
        response = RedirectResponse("/login" if guard.login_enabled else "/alerts", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    def _local(target: str) -> str:
        # only a path on this site: no open redirect
        return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/alerts"

    @app.get("/api", response_class=HTMLResponse, include_in_schema=False)
    def api_page(request: Request):
        doc = app.openapi()
        ops = [(method.upper(), path, op.get("summary", ""), op.get("description", ""))
               for path, item in doc["paths"].items() for method, op in item.items()]
        return page(request, "api.html", nav="api", ops=ops)

    # -- JSON API -----------------------------------------------------------------------

    api = APIRouter(prefix="/api", responses={400: {"model": S.ErrorOut}, 401: {"model": S.ErrorOut},
                                              403: {"model": S.ErrorOut}})

    @api.get("/alerts", response_model=S.AlertPage, tags=["alerts"], summary="Recent alerts, filtered")
    def api_alerts(request: Request,
                   rule: str | None = Query(None, description="rule name"),
                   feed: str | None = Query(None, description="feed id"),
                   language: str | None = Query(None, description="article language, e.g. fr"),
                   since: str | None = Query(None, description="YYYY-MM-DD or ISO 8601 time (UTC if no zone)"),
                   until: str | None = Query(None, description="YYYY-MM-DD (inclusive) or ISO 8601 time"),
                   status: str | None = Query(None, description="alerts with a delivery in this state"),
                   before: str | None = Query(None, description="cursor: next_before of the previous page"),
                   limit: str | None = Query(None, description="1 to 200, default 50")):
        """Alerts (rule matches) newest first, with highlighted snippets and their deliveries."""
        result = queries.alerts(engine(), parse_alert_filter(_params(request)))
        return S.AlertPage(items=[alert_out(a) for a in result.items], next_before=result.next_before)

    @api.get("/alerts/{alert_id}", response_model=S.AlertDetail, tags=["alerts"], summary="One alert",
             responses={404: {"model": S.ErrorOut}})
    def api_alert(alert_id: int):
        a = get_alert(alert_id)
        base = alert_out(a).model_dump()
        return S.AlertDetail(**base, text=a.text,
                             sources=[name for _, name in queries.article_sources(engine(), a.article_id)])

    @api.get("/feeds", response_model=S.FeedPage, tags=["feeds"], summary="Feeds and their health")
    def api_feeds(request: Request,
                  health: str | None = Query(None, description="ok, warning, failing, never or disabled"),
                  q: str | None = Query(None, description="name or URL contains"),
                  offset: str | None = Query(None), limit: str | None = Query(None, description="1 to 1000")):
        """Feeds, failing first: health, last error, next poll."""
        f = parse_feed_filter(_params(request))
        result = queries.feeds(engine(), f)
        return S.FeedPage(items=[feed_out(x) for x in result.items], total=result.total or 0, offset=f.offset,
                          limit=f.limit, health=queries.feed_health_counts(engine()))

    @api.get("/feeds/{feed_id}", response_model=S.FeedOut, tags=["feeds"], summary="One feed",
             responses={404: {"model": S.ErrorOut}})
    def api_feed(feed_id: int):
        f = queries.feed(engine(), feed_id)
        if f is None:
            raise HTTPException(404, f"no feed with id {feed_id}")
        return feed_out(f)

    @api.get("/rules", response_model=S.RuleList, tags=["rules"], summary="Rules with match counts")
    def api_rules():
        """Every configured rule, and every rule with stored matches, with counts per day over 30 days."""
        rules, error = rules_overview()
        return S.RuleList(items=rules, error=error)

    @api.get("/rules/{name}", response_model=S.RuleOut, tags=["rules"], summary="One rule",
             responses={404: {"model": S.ErrorOut}})
    def api_rule(name: str):
        rules, _ = rules_overview(name)
        if not rules:
            raise HTTPException(404, f"no rule named {name[:100]!r} in the rule files or the stored matches")
        return rules[0]

    @api.post("/rules/test", response_model=S.RuleTestOut, tags=["rules"], summary="Test rules on an article",
              dependencies=[Depends(require_csrf)],
              responses={413: {"model": S.ErrorOut}, 422: {"model": S.ErrorOut}, 502: {"model": S.ErrorOut},
                         503: {"model": S.ErrorOut}, 504: {"model": S.ErrorOut}})
    async def api_rule_test(request: Request, body: S.RuleTestIn):
        """Run pasted YAML rules on a pasted article, or on the page at ``url``; nothing is stored.

        Runs in the tester's own threads (``web_tester_workers``), for at most ``web_tester_timeout``
        seconds (504), and stops when the client goes away."""
        return await pool.run(request, rule_test_out, body)

    def rule_test_out(stop, body: S.RuleTestIn) -> S.RuleTestOut:
        result, title, text, fetched = run_test(stop, body.rules, body.title, body.text, body.url, body.language,
                                                body.feed)
        return S.RuleTestOut(
            rules=[r.name for r in result.rules], missed=list(result.missed), title=title, url=fetched,
            text_length=len(text),
            matched=[S.RuleMatchOut(rule=m.rule, terms=list(m.terms), hits=[S.HitOut(**h._asdict()) for h in m.hits],
                                    title_segments=_segs(segments(title, m.hits, "title")),
                                    snippet=_segs(render.snippet(text, m.hits))) for m in result.matches])

    @api.post("/rules/backtest", response_model=S.BacktestOut, tags=["rules"],
              summary="Run rules over stored articles", dependencies=[Depends(require_csrf)],
              responses={413: {"model": S.ErrorOut}, 503: {"model": S.ErrorOut}, 504: {"model": S.ErrorOut}})
    async def api_backtest(request: Request, body: S.BacktestIn):
        """Run pasted rules over the newest ``limit`` stored articles (at most 5,000); nothing is stored.

        Runs in the tester's own threads, like ``/api/rules/test``."""
        return await pool.run(request, backtest_out, body)

    def backtest_out(stop, body: S.BacktestIn) -> S.BacktestOut:
        rules = parse_pasted_rules(body.rules)
        limit, days = _backtest_bounds(body.limit, body.days)
        r = backtest(rules, engine(), limit=limit, days=days, checker=services.rules.checker, stopped=stop.is_set)
        return S.BacktestOut(scanned=r.scanned, limit=r.limit, days=r.days, counts=r.counts,
                             stored_counts=r.stored_counts,
                             samples=[S.BacktestSample(article_id=s.article_id, rule=s.rule, title=s.title, url=s.url,
                                                       feed=s.feed, published=s.published, terms=list(s.terms),
                                                       snippet=_segs(render.snippet(s.text, s.hits)),
                                                       stored_match=s.stored) for s in r.samples])

    @api.get("/deliveries", response_model=S.DeliveryPage, tags=["deliveries"], summary="Deliveries, filtered")
    def api_deliveries(request: Request,
                       status: str | None = Query(None, description="comma-separated states, or 'all'; "
                                                                    "default failed,dead"),
                       rule: str | None = Query(None), channel: str | None = Query(None),
                       before: str | None = Query(None), limit: str | None = Query(None)):
        result = queries.deliveries(engine(), parse_delivery_filter(_params(request)))
        return S.DeliveryPage(items=[delivery_out(d) for d in result.items], next_before=result.next_before)

    @api.get("/deliveries/{delivery_id}", response_model=S.DeliveryOut, tags=["deliveries"],
             summary="One delivery", responses={404: {"model": S.ErrorOut}})
    def api_delivery(delivery_id: int):
        d = queries.delivery(engine(), delivery_id)
        if d is None:
            raise HTTPException(404, f"no delivery with id {delivery_id}")
        return delivery_out(d)

    @api.post("/deliveries/{delivery_id}/retry", response_model=S.RetryOut, tags=["deliveries"],
              summary="Send a failed or dead delivery again", dependencies=[Depends(require_csrf)],
              responses={404: {"model": S.ErrorOut}, 409: {"model": S.ErrorOut}})
    def api_retry(delivery_id: int):
        status, message = retry(delivery_id)
        return S.RetryOut(id=delivery_id, status=status, message=message)

    @api.get("/channels", response_model=list[S.ChannelOut], tags=["deliveries"],
             summary="Configured channels (secrets masked)")
    def api_channels():
        return channels()

    @api.get("/status", response_model=S.StatusOut, tags=["status"], summary="Row counts")
    def api_status():
        return S.StatusOut(counts=store().counts())

    @api.get("/csrf", response_model=S.CsrfOut, tags=["status"], summary="A CSRF token for POST requests")
    def api_csrf(request: Request):
        return S.CsrfOut(csrf_token=guard.csrf_token(request.state.session, request.state.csrf_cookie))

    app.include_router(api)
    return app

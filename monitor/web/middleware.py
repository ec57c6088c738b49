"""Every request: body size, access (token, session, loopback), Origin, the CSRF cookie, security headers.

See :mod:`.security` for the rules themselves."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.web.context import web_of
from monitor.web.errors import error_response, wants_json
from monitor.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    new_csrf_cookie,
)

MAX_BODY = 2_500_000  # bytes of a request body: a pasted article and rules, form-encoded
CHANGES = ("POST", "PUT", "PATCH", "DELETE")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _body_refusal(request: Request) -> Response | None:
    length = request.headers.get("content-length")
    if length is None and request.headers.get("transfer-encoding"):
        return error_response(request, 411, "send a Content-Length with the request body")
    if length is not None and not _within_limit(length):
        return error_response(request, 413, f"request body larger than {MAX_BODY:,} bytes")
    return None


def _within_limit(length: str) -> bool:
    """A Content-Length of ASCII digits, at most MAX_BODY. Measured as text before int():
    int() of a 5,000-digit header raises (Python's digit limit), and "\u00b2".isdigit() is true."""
    digits = length.lstrip("0")
    return (length.isascii() and length.isdigit() and len(digits) <= len(str(MAX_BODY))
            and int(digits or "0") <= MAX_BODY)


def _refused(request: Request, status: int, message: str, wait: int) -> Response:
    if status == 401 and request.method == "GET" and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    response = error_response(request, status, message)
    if wait:
        response.headers["Retry-After"] = str(wait)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="media-monitor"'
    return response


def _secure_headers(request: Request, response: Response) -> None:
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on our own forms
    h.setdefault("Referrer-Policy", "same-origin")
    if request.url.path.startswith("/api/") or response.headers.get("content-type", "").startswith("text/html"):
        h.setdefault("Cache-Control", "no-store")


async def access(request: Request, call_next):
    """The dashboard's one HTTP middleware."""
    guard = web_of(request).guard
    request.state.bearer = False
    request.state.session = None
    request.state.csrf_cookie = request.cookies.get(CSRF_COOKIE) or ""
    changes = request.method in CHANGES
    if changes and (refusal := _body_refusal(request)) is not None:
        return refusal
    if guard.login_enabled and request.cookies.get(SESSION_COOKIE):
        request.state.session = await run_in_threadpool(guard.session, request)
    refusal = guard.refusal(request, request.state.session)
    if refusal is not None:
        return _refused(request, *refusal)
    request.state.bearer = guard.bearer_ok(request)
    if changes and not request.state.bearer:
        foreign = guard.foreign_origin(request)
        if foreign:
            return error_response(request, 403, foreign)
    new_cookie = None
    if not request.state.csrf_cookie:
        new_cookie = request.state.csrf_cookie = new_csrf_cookie()
    response = await call_next(request)
    if new_cookie:
        response.set_cookie(CSRF_COOKIE, new_cookie, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
    _secure_headers(request, response)
    return response


async def require_csrf(request: Request) -> None:
    """Dependency of every state-changing route (see :mod:`.security`)."""
    if request.state.bearer:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(CSRF_FIELD)
    if not web_of(request).guard.csrf_ok(request.state.session, request.cookies.get(CSRF_COOKIE),
                                         sent if isinstance(sent, str) else None):
        raise HTTPException(403, "CSRF check failed: reload the page and submit again "
                                 "(API clients: GET /api/csrf, then send its token as X-CSRF-Token "
                                 "with the cookie it sets, or authenticate with a bearer token)")


def install(app: FastAPI) -> None:
    """Add :func:`access` to ``app``."""
    app.middleware("http")(access)

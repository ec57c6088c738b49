"""The dashboard and JSON API: one FastAPI app over the same database as the workers.

Pages are rendered on the server with Jinja2 (autoescaping on: article titles
and texts are shown as text, never as markup); the API lives under ``/api``
with its OpenAPI document at ``/api/openapi.json``. See :mod:`.security` for
the token, loopback and CSRF rules.

This module only wires the parts together: :mod:`.middleware` (access and
headers), :mod:`.errors` (exception handlers), :mod:`.pages` (HTML routes),
:mod:`.api` (JSON routes), :mod:`.presenters` (rows to pages and JSON) and
:mod:`.actions` (what a page and its API route both do). They share one
:class:`~monitor.web.context.Web` on ``app.state.web``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from monitor.adapters.store.websessions import SessionStore, utcnow
from monitor.config import Settings
from monitor.web import api, errors, middleware, pages
from monitor.web.context import Web
from monitor.web.pool import WorkPool
from monitor.web.rendering import HERE, make_templates
from monitor.web.security import FailureLimit, Guard

__all__ = ["create_app"]


def create_app(settings: Settings, *, services=None, token: str | None = None,
               enqueue: Callable[[int], None] | None = None, secret: bytes | None = None,
               fetcher=None, login_limit: FailureLimit | None = None,
               clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The dashboard and API for ``settings``.

    ``token``: when set, every request must carry it (bearer header or the
    cookie of a login, kept in the database for ``web_session_lifetime``
    seconds); when not, only loopback clients are served. ``services`` defaults
    to :class:`monitor.service.Services` of the settings. ``enqueue(id)``
    sends a retried delivery (``monitor web`` passes the Celery queue's); without
    it the retry buttons answer 503. ``secret`` signs the CSRF tokens of
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
    web = Web(settings=settings, services=services, guard=guard, pool=pool,
              templates=make_templates(settings.timezone, login_enabled=guard.login_enabled),
              enqueue=enqueue, fetcher=fetcher)

    app = FastAPI(title="media-monitor", version="1", summary="Alerts, feeds, rules and deliveries of media-monitor.",
                  openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.state.web = web  # the only state: guard, pool and services are reached through it
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    middleware.install(app)
    errors.install(app)
    app.include_router(pages.router)
    app.include_router(api.router)
    return app

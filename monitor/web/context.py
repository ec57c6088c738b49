"""What every part of the dashboard shares, kept on ``app.state.web`` (no closures)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from monitor.config import Settings
from monitor.web.pool import WorkPool
from monitor.web.security import Guard


@dataclass(frozen=True)
class Web:
    """One dashboard's settings, services and helpers; built once by :func:`~monitor.web.app.create_app`.

    ``enqueue(id)`` sends a retried delivery (None: this dashboard cannot retry);
    ``fetcher`` fetches URLs for the rule tester (None: the services' fetcher)."""

    settings: Settings
    services: Any
    guard: Guard
    pool: WorkPool
    templates: Jinja2Templates
    enqueue: Callable[[int], None] | None = None
    fetcher: Any = None

    @property
    def store(self):
        return self.services.store

    @property
    def engine(self):
        return self.services.store.engine


def web_of(request: Request) -> Web:
    """The :class:`Web` of the app serving ``request``."""
    return request.app.state.web


async def current(request: Request) -> Web:
    """Route dependency: ``web: Web = Depends(current)`` (async, so it runs without a thread)."""
    return web_of(request)

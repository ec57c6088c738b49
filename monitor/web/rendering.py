"""The dashboard's Jinja2 environment and the one way a page is rendered."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Undefined
from markupsafe import Markup

from monitor.core import render
from monitor.core.filters import DELIVERY_STATUSES, FEED_HEALTH
from monitor.web.context import web_of
from monitor.web.presenters import safe_href

HERE = Path(__file__).resolve().parent


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


def relative(dt: datetime | None) -> str:
    """``in 5 min`` or ``3 h ago``, from now."""
    if dt is None:
        return "—"
    secs = int((dt - datetime.now(timezone.utc)).total_seconds())
    n, unit = abs(secs), "s"
    for size, name in ((86400, "d"), (3600, "h"), (60, "min")):
        if n >= size:
            n, unit = n // size, name
            break
    return f"in {n} {unit}" if secs >= 0 else f"{n} {unit} ago"


def make_templates(zone_name: str, *, login_enabled: bool) -> Jinja2Templates:
    """The templates of ``templates/``, times shown in ``zone_name``."""
    zone = ZoneInfo(zone_name)
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.autoescape = True  # every template, whatever its name
    env.finalize = printable_output  # and no control or bidi character from a feed reaches a page

    def when(dt: datetime | None) -> str:
        return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M") if dt else "—"

    env.filters.update(when=when, relative=relative, href=safe_href)
    env.globals.update(timezone=zone_name, statuses=DELIVERY_STATUSES, feed_health=FEED_HEALTH,
                       login_enabled=login_enabled)
    return templates


def context(request: Request, **extra) -> dict:
    """What every template gets: the CSRF token of the request and the highlighted menu entry."""
    guard = web_of(request).guard
    token = guard.csrf_token(getattr(request.state, "session", None), getattr(request.state, "csrf_cookie", ""))
    return {"csrf_token": token, "nav": extra.pop("nav", ""), **extra}


def page(request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
    """Template ``name`` rendered for ``request``."""
    templates = web_of(request).templates
    return templates.TemplateResponse(request, name, context(request, **values), status_code=status)

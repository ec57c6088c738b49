"""Errors as responses: JSON for the API (and clients asking for it), the error page for browsers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitor.core.errors import RuleError
from monitor.core.filters import FilterError
from monitor.web.context import web_of
from monitor.web.rendering import context
from monitor.web.tester import InputTooLarge


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def error_response(request: Request, status: int, message: str, problems: list[str] | None = None) -> Response:
    """``{"detail": message, "problems": [...]}`` or the error page, with ``status``."""
    if wants_json(request):
        body: dict[str, Any] = {"detail": message}
        if problems:
            body["problems"] = problems
        return JSONResponse(body, status_code=status)
    values = context(request, status=status, message=message, problems=problems or [])
    return web_of(request).templates.TemplateResponse(request, "error.html", values, status_code=status)


#: The library's errors a client caused, and the status each is answered with.
STATUS: dict[type[Exception], int] = {FilterError: 400, InputTooLarge: 413, RuleError: 400}


def described(exc: Exception) -> tuple[int, str, list[str]]:
    """(status, message, problems) of an HTTPException or of an error of :data:`STATUS`:
    what the handlers answer, and what the tester page shows above its form."""
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, exc.detail if isinstance(exc.detail, str) else str(exc.detail), []
    status = next(code for kind, code in STATUS.items() if isinstance(exc, kind))
    return status, str(exc), list(getattr(exc, "problems", ()))


async def http_error(request: Request, exc: StarletteHTTPException):
    status, message, _ = described(exc)
    if status == 404 and message == "Not Found":
        message = f"no page at {request.url.path}"
    return error_response(request, status, message)


async def validation_error(request: Request, exc: RequestValidationError):
    problems = []
    for e in exc.errors():
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "request"
        problems.append(f"{loc}: {e.get('msg', 'invalid')}")
    return error_response(request, 422 if request.method != "GET" else 400,
                          problems[0] if problems else "invalid request", problems)


async def client_error(request: Request, exc: Exception):
    return error_response(request, *described(exc))


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    for kind in STATUS:
        app.add_exception_handler(kind, client_error)

"""Access control of the dashboard: token login, loopback-only mode, CSRF.

- With a token, every request but ``/login``, ``/static`` and ``/healthz`` needs
  it: ``Authorization: Bearer <token>`` (API clients) or the session cookie
  set by the login form (browsers). The cookie holds an HMAC of the token,
  never the token, and is HttpOnly and SameSite=Strict.
- Without a token, the app answers only clients on loopback, and only for a
  loopback ``Host`` header (so a DNS-rebinding page cannot read it either).
- State-changing requests (every POST) need a CSRF token: a random cookie,
  and an HMAC of it under the app's secret sent back in the ``csrf_token``
  form field or the ``X-CSRF-Token`` header. Requests authenticated by the
  ``Authorization`` header are exempt: a browser never adds that header by itself.
- Guessing is slowed down: a client address that sent :data:`MAX_FAILURES`
  wrong tokens (login form or bearer header) within :data:`FAILURE_WINDOW`
  seconds gets 429 for every further try, right or wrong, until its oldest
  failure leaves the window. uvicorn takes the client address from the
  proxy headers of a proxy on loopback; a proxy elsewhere must be named in
  ``FORWARDED_ALLOW_IPS``, or every client counts as the proxy.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from starlette.requests import Request

log = logging.getLogger("monitor.web")

SESSION_COOKIE = "mm_session"
CSRF_COOKIE = "mm_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PUBLIC_PREFIXES = ("/static/", "/login", "/healthz")
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
#: Wrong tokens a client address may send within FAILURE_WINDOW seconds.
MAX_FAILURES = 10
FAILURE_WINDOW = 600.0
#: Addresses remembered at most; the least recently failing are forgotten first.
MAX_CLIENTS = 10_000


def is_loopback(host: str | None) -> bool:
    """True for loopback addresses and names (127.0.0.0/8, ::1, localhost)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The host of a Host header, without its port."""
    h = host_header.strip()
    if h.startswith("["):
        return h[1:].split("]", 1)[0]
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


class FailureLimit:
    """Failed token guesses per client address, in a sliding window. Pure apart from ``clock``.

    Memory is bounded: at most ``max_clients`` addresses, each with at most
    ``max_failures`` times.
    """

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = FAILURE_WINDOW, *,
                 max_clients: int = MAX_CLIENTS, clock: Callable[[], float] = time.monotonic):
        self.max_failures, self.window, self.max_clients, self.clock = max_failures, window, max_clients, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float] | None:
        times = self._failures.get(client)
        if times is not None:
            horizon = self.clock() - self.window
            while times and times[0] <= horizon:
                times.popleft()
            if not times:
                del self._failures[client]
                return None
        return times

    def wait(self, client: str) -> float:
        """Seconds before ``client`` may try again: 0 when it may now."""
        times = self._recent(client)
        if times is None or len(times) < self.max_failures:
            return 0.0
        return max(0.0, times[0] + self.window - self.clock())

    def fail(self, client: str) -> bool:
        """Count a wrong token from ``client``; True when this failure locks it out."""
        times = self._recent(client)
        if times is None:
            times = self._failures[client] = deque(maxlen=self.max_failures)
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(client)
        times.append(self.clock())
        return len(times) == self.max_failures


def _bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None for no header or another scheme."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value if scheme.lower() == "bearer" else None


def client_address(request: Request) -> str:
    """The client's address as the server saw it (or from trusted proxy headers)."""
    return request.client.host if request.client else ""


class Guard:
    """The token (optional) and the secret that signs CSRF tokens, for one app."""

    def __init__(self, token: str | None, secret: bytes | None = None, limit: FailureLimit | None = None):
        self.token = token or None
        self.secret = secret or secrets.token_bytes(32)
        self.limit = limit or FailureLimit()
        # what the session cookie holds: derived from the token, useless without it
        self._session = (hmac.new(self.token.encode(), b"media-monitor session v1", hashlib.sha256).hexdigest()
                         if self.token else None)

    # -- authentication ------------------------------------------------------------

    def bearer_ok(self, request: Request) -> bool:
        value = _bearer(request)
        return bool(self.token and value is not None
                    and hmac.compare_digest(value.strip().encode(), self.token.encode()))

    def session_ok(self, request: Request) -> bool:
        value = request.cookies.get(SESSION_COOKIE, "")
        return bool(self._session and value and hmac.compare_digest(value.encode(), self._session.encode()))

    def check_token(self, candidate: str) -> bool:
        return bool(self.token and hmac.compare_digest(candidate.strip().encode(), self.token.encode()))

    def session_value(self) -> str:
        assert self._session is not None
        return self._session

    def refusal(self, request: Request) -> tuple[int, str, int] | None:
        """Why this request may not be served, as (status, message, seconds before it may
        try again: 0 but for 429); None when it may."""
        path = request.url.path
        if self.token is None:
            if not is_loopback(client_address(request)):
                return 403, ("this dashboard has no token, so it answers only on loopback; "
                             "start it with --token (or MONITOR_WEB_TOKEN) to serve other hosts"), 0
            if not is_loopback(host_name(request.headers.get("host", ""))):
                return 403, "unexpected Host header: without a token only localhost names are served", 0
            return None
        if path.startswith(PUBLIC_PREFIXES):
            return None
        if self.session_ok(request):
            return None
        if _bearer(request) is not None:
            # a bearer token is a guess like any other: counted, and refused once too many were wrong
            # (other schemes, e.g. a proxy's Basic credentials passed through, are no guess of ours)
            wait = self.locked_out(request)
            if wait:
                return 429, self.lockout_message(wait), wait
            if self.bearer_ok(request):
                return None
            self.record_failure(request)
        return 401, "authentication required: log in, or send 'Authorization: Bearer <token>'", 0

    def locked_out(self, request: Request) -> int:
        """Whole seconds before this request's client may try a token again; 0 when it may now."""
        return math.ceil(self.limit.wait(client_address(request)))

    def record_failure(self, request: Request) -> None:
        """Count a wrong token from this request's client (logged, without the token, when it locks it out)."""
        client = client_address(request)
        if self.limit.fail(client):
            log.warning("web: %d wrong tokens from %s within %.0f s; its tries are refused for a while",
                        self.limit.max_failures, client or "an unknown address", self.limit.window)

    @staticmethod
    def lockout_message(wait: int) -> str:
        return f"too many wrong tokens from this address: try again in {wait} s"

    @property
    def login_enabled(self) -> bool:
        return self.token is not None

    # -- CSRF --------------------------------------------------------------------

    def csrf_token(self, cookie_value: str) -> str:
        return hmac.new(self.secret, cookie_value.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, cookie_value: str | None, sent: str | None) -> bool:
        if not cookie_value or not sent:
            return False
        return hmac.compare_digest(self.csrf_token(cookie_value).encode(), sent.strip().encode())


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(32)

"""Access control of the dashboard: token login, sessions, loopback-only mode, CSRF, origins.

- With a token, every request but ``/login``, ``/static`` and ``/healthz`` needs
  it: ``Authorization: Bearer <token>`` (API clients) or the session cookie
  set by the login form (browsers). A login opens a session kept in the
  database (:mod:`.sessions`): the cookie holds a random session id, different
  for every login, that lasts ``web_session_lifetime`` seconds and is refused
  by every dashboard process once its owner logs out (or the token changes).
  The cookie is HttpOnly and SameSite=Strict.
- Without a token, the app answers only clients on loopback, and only for a
  loopback ``Host`` header (so a DNS-rebinding page cannot read it either).
- State-changing requests (every POST) need a CSRF token, sent back in the
  ``csrf_token`` form field or the ``X-CSRF-Token`` header. A logged-in
  browser's token is its session's own, kept with the session: a token from
  another session (or another browser's cookies) is refused. Before login
  (the login form) and on a loopback dashboard without a token, the token is
  an HMAC of a random cookie. Requests authenticated by the ``Authorization``
  header are exempt: a browser never adds that header by itself.
- A browser's state-changing request must also come from the dashboard's own
  origin: its ``Origin`` (else ``Referer``) header must name the host it was
  sent to, or one of ``web_origins``. A request with neither header (curl, a
  script) is left to the CSRF token; ``Origin: null`` is refused.
- Endpoints meant for other systems or mail recipients (webhooks, signed
  links) would authenticate by their own signature instead of a session; the
  dashboard has none today. One added must be listed in ``PUBLIC_PREFIXES``
  and check its signature itself.
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
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.requests import Request

from monitor.adapters.store.websessions import SessionStore, WebSession
from monitor.core.render import printable as render_printable

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


def _netloc(scheme: str, host: str, port: int | None) -> str:
    """``host[:port]`` lowercased, without the scheme's default port."""
    host = host.lower().strip("[]")
    host = f"[{host}]" if ":" in host else host
    return host if port is None or port == {"http": 80, "https": 443}.get(scheme) else f"{host}:{port}"


def _origin_of(value: str) -> tuple[str, str] | None:
    """(scheme, netloc) of an Origin or Referer value; None when it names no http(s) origin."""
    try:
        parts = urlsplit(value.strip())
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:
        return None
    if scheme not in ("http", "https") or not host:
        return None
    return scheme, _netloc(scheme, host, port)


def _host_netloc(host_header: str) -> str:
    """The Host header as ``host[:port]``, lowercased, without a default port (80 or 443)."""
    h = host_header.strip().lower()
    host, port = host_name(h), None
    rest = h[len(host) + (2 if h.startswith("[") else 0):]
    if rest.startswith(":") and rest[1:].isdigit():
        port = int(rest[1:])
    if port in (80, 443):
        port = None
    return _netloc("http", host, port)


class Guard:
    """The token (optional), the sessions it opens, and the CSRF and origin checks, for one app.

    ``sessions`` keeps the logins (required with a token). ``secret`` signs the
    CSRF tokens of requests without a session; by default it is derived from the
    token (so every dashboard process agrees), or random without a token.
    ``origins``: other origins (``scheme://host[:port]``) browsers may POST from.
    """

    def __init__(self, token: str | None, secret: bytes | None = None, limit: FailureLimit | None = None, *,
                 sessions: SessionStore | None = None, lifetime: float = 14 * 86400,
                 origins: Iterable[str] = ()):
        self.token = token or None
        if self.token and sessions is None:
            raise ValueError("a dashboard with a token needs a session store")
        self.sessions, self.lifetime = sessions, lifetime
        self.limit = limit or FailureLimit()
        self.origins = frozenset(o.rstrip("/").lower() for o in origins)
        # which token a session was opened with: a new token ends the old sessions
        self.token_tag = (hmac.new(self.token.encode(), b"media-monitor session v2", hashlib.sha256).hexdigest()
                          if self.token else "")
        self.secret = secret or (hmac.new(self.token.encode(), b"media-monitor csrf v2", hashlib.sha256).digest()
                                 if self.token else secrets.token_bytes(32))

    # -- authentication ------------------------------------------------------------

    def bearer_ok(self, request: Request) -> bool:
        value = _bearer(request)
        return value is not None and self.check_token(value)

    def session(self, request: Request) -> WebSession | None:
        """The live login of this request's session cookie, if any (reads the database)."""
        value = request.cookies.get(SESSION_COOKIE, "")
        if not self.token or not value:
            return None
        assert self.sessions is not None
        return self.sessions.get(value, self.token_tag)

    def check_token(self, candidate: str) -> bool:
        return bool(self.token and hmac.compare_digest(candidate.strip().encode(), self.token.encode()))

    def open_session(self) -> tuple[str, WebSession]:
        """A new login: (the cookie's session id, the session)."""
        assert self.sessions is not None
        return self.sessions.open(self.token_tag, self.lifetime)

    def end_session(self, request: Request) -> None:
        """Log out: this request's session cookie is refused from now on."""
        value = request.cookies.get(SESSION_COOKIE, "")
        if self.sessions is not None and value:
            self.sessions.end(value)

    def refusal(self, request: Request, session: WebSession | None) -> tuple[int, str, int] | None:
        """Why this request may not be served, as (status, message, seconds before it may
        try again: 0 but for 429); None when it may. ``session``: its live login, if any."""
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
        if session is not None:
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
        if request.cookies.get(SESSION_COOKIE):
            return 401, "your session has ended (logged out or expired): log in again", 0
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

    # -- origin ------------------------------------------------------------------

    def foreign_origin(self, request: Request) -> str | None:
        """Why a browser's state-changing request comes from another site; None when it does not.

        Its ``Origin`` header, else its ``Referer``, must name the host it was sent to
        (the ``Host`` header) or one of the configured origins. Neither header: not a
        browser's request (the CSRF token decides)."""
        sent, header = request.headers.get("origin"), "Origin"
        if sent is None:
            sent, header = request.headers.get("referer"), "Referer"
            if sent is None:
                return None
        origin = _origin_of(sent) if sent.strip() != "null" else None
        if origin is not None:
            scheme, netloc = origin
            if netloc == _host_netloc(request.headers.get("host", "")) or f"{scheme}://{netloc}" in self.origins:
                return None
        shown = render_printable(sent[:100])
        return (f"cross-site request refused: {header} {shown!r} is not this dashboard's "
                "(a dashboard reached at another address behind a proxy: add it to web_origins)")

    # -- CSRF --------------------------------------------------------------------

    def csrf_token(self, session: WebSession | None, cookie_value: str) -> str:
        """The token a page gives its forms: its session's, or else bound to the CSRF cookie."""
        if session is not None:
            return session.csrf
        return hmac.new(self.secret, cookie_value.encode(), hashlib.sha256).hexdigest() if cookie_value else ""

    def csrf_ok(self, session: WebSession | None, cookie_value: str | None, sent: str | None) -> bool:
        """Whether ``sent`` is the CSRF token of this session (with one), or of this CSRF cookie (without)."""
        if not sent:
            return False
        expected = self.csrf_token(session, cookie_value or "")
        return bool(expected) and hmac.compare_digest(expected.encode(), sent.strip().encode())


def new_csrf_cookie() -> str:
    return secrets.token_urlsafe(32)

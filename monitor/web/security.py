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
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

from starlette.requests import Request

SESSION_COOKIE = "mm_session"
CSRF_COOKIE = "mm_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PUBLIC_PREFIXES = ("/static/", "/login", "/healthz")
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


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


class Guard:
    """The token (optional) and the secret that signs CSRF tokens, for one app."""

    def __init__(self, token: str | None, secret: bytes | None = None):
        self.token = token or None
        self.secret = secret or secrets.token_bytes(32)
        # what the session cookie holds: derived from the token, useless without it
        self._session = (hmac.new(self.token.encode(), b"media-monitor session v1", hashlib.sha256).hexdigest()
                         if self.token else None)

    # -- authentication ------------------------------------------------------------

    def bearer_ok(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        return bool(self.token and scheme.lower() == "bearer"
                    and hmac.compare_digest(value.strip().encode(), self.token.encode()))

    def session_ok(self, request: Request) -> bool:
        value = request.cookies.get(SESSION_COOKIE, "")
        return bool(self._session and value and hmac.compare_digest(value.encode(), self._session.encode()))

    def check_token(self, candidate: str) -> bool:
        return bool(self.token and hmac.compare_digest(candidate.strip().encode(), self.token.encode()))

    def session_value(self) -> str:
        assert self._session is not None
        return self._session

    def refusal(self, request: Request) -> tuple[int, str] | None:
        """Why this request may not be served, as (status, message); None when it may."""
        path = request.url.path
        if self.token is None:
            client = request.client.host if request.client else None
            if not is_loopback(client):
                return 403, ("this dashboard has no token, so it answers only on loopback; "
                             "start it with --token (or MONITOR_WEB_TOKEN) to serve other hosts")
            if not is_loopback(host_name(request.headers.get("host", ""))):
                return 403, "unexpected Host header: without a token only localhost names are served"
            return None
        if path.startswith(PUBLIC_PREFIXES):
            return None
        if self.bearer_ok(request) or self.session_ok(request):
            return None
        return 401, "authentication required: log in, or send 'Authorization: Bearer <token>'"

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

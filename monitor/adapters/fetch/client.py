"""The HTTP fetcher adapter: feed URLs in, :class:`FetchResult` out.

:class:`HttpFetcher` does conditional GETs with httpx, follows redirects itself
so that every hop goes through the address guard (:func:`check_url`), resolves
each host itself and connects to the very address it checked (so a DNS answer
that changes between check and connection cannot slip through), decodes
gzip/deflate (and br, when a brotli with bounded output is installed) with the
output capped at ``max_bytes``, and turns every network failure into a
:class:`FetchError`. The orchestration takes any object with the
:class:`Fetcher` shape, so tests pass fakes.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

from monitor.adapters.fetch.decoders import _ENCODINGS, _decoder, _then_end
from monitor.adapters.fetch.guard import (
    Resolver,
    _Allow,
    _check,
    _GuardedBackend,
    _GuardedTransport,
    _one_line,
    _Refused,
    _Unresolvable,
    system_resolver,
)
from monitor.core.errors import BlockedAddressError, FetchError
from monitor.core.types import FetchResult

__all__ = ["Fetcher", "HttpFetcher", "Resolver", "check_allow", "check_url", "system_resolver",
           "DEFAULT_USER_AGENT"]


DEFAULT_USER_AGENT = "media-monitor/0.1 (+https://github.com/media-monitor)"


_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
           "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


_PERMANENT = frozenset({404, 410})


_WS = re.compile(r"\s+")


class Fetcher(Protocol):
    """Anything that can fetch a feed URL (the real :class:`HttpFetcher`, or a fake)."""

    def fetch(self, url: str, *, etag: str | None = None,
              last_modified: str | None = None) -> FetchResult: ...


class HttpFetcher:
    """Fetches feeds over HTTP(S) with httpx.

    ``timeout`` is the limit for each network read and for receiving the whole
    body; ``connect_timeout`` for opening a connection. ``max_bytes`` caps the
    body after decompression. ``allow`` lists hostnames, IP addresses and CIDR
    networks exempted from the address guard, on every port or, written
    ``entry:port`` (``[v6]:port``), on that port only (see :func:`check_url`).
    ``resolver`` turns a host name into addresses (default:
    :func:`system_resolver`); tests pass their own. ``ssl_context`` sets the
    trusted certificates for https (default: httpx's, from certifi).

    The guard runs where the connection is made: every new connection
    resolves its host once, refuses it if any address is blocked, and connects
    to the checked addresses themselves (TLS still verifies the certificate
    against the host name). Environment proxy settings are ignored: a proxy
    would make the guard's check of the host meaningless.

    Raises ``ValueError`` when an ``allow`` entry is not a host, an address or
    a network, with or without a port.
    """

    def __init__(self, *, timeout: float = 20.0, connect_timeout: float = 10.0,
                 max_bytes: int = 10_000_000, max_redirects: int = 5,
                 user_agent: str = DEFAULT_USER_AGENT, allow: Sequence[str] = (),
                 resolver: Resolver | None = None, ssl_context: ssl.SSLContext | None = None) -> None:
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._allow = _Allow.parse(allow)
        self._resolver = resolver or system_resolver
        self._client = httpx.Client(
            transport=_GuardedTransport(_GuardedBackend(self._allow, self._resolver), ssl_context),
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": user_agent, "Accept": _ACCEPT,
                     "Accept-Encoding": ", ".join(_ENCODINGS)},
        )

    def fetch(self, url: str, *, etag: str | None = None,
              last_modified: str | None = None) -> FetchResult:
        """GET ``url``, conditionally when ``etag`` or ``last_modified`` is given.

        Returns a :class:`FetchResult` with status 200 (or another 2xx) and the
        decoded body, or status 304 and no body. ``FetchResult.url`` is the URL
        after redirects.

        Raises :class:`BlockedAddressError` when the URL or a redirect target
        is refused by the guard; :class:`FetchError` for 4xx/5xx answers
        (``status`` set, ``permanent`` for 404 and 410, the Retry-After delay
        in the message and in ``retry_after`` for 429 and 503), too many
        redirects, a body over ``max_bytes``, an unknown Content-Encoding,
        timeouts and network errors.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(self._max_redirects + 1):
            # Scheme, host and IP literals here; names are resolved and checked
            # by the connection itself (_GuardedBackend).
            _check(current, self._allow, feed_url=url, resolver=None)
            hop = "" if current == url else f" (redirected to {current})"
            where = "" if current == url else f"redirect to {current}: "
            try:
                with self._client.stream("GET", current, headers=headers) as response:
                    location = response.headers.get("location", "").strip()
                    if response.status_code in _REDIRECTS and location:
                        current = str(response.url.join(location))
                        continue
                    return self._result(response, url=url, current=current, hop=hop,
                                        etag=etag, last_modified=last_modified)
            except httpx.TimeoutException as e:
                raise FetchError(f"timed out ({type(e).__name__}){hop}", url=url) from e
            except httpx.HTTPError as e:
                raise FetchError(f"{_one_line(e)}{hop}", url=url) from e
            except httpx.InvalidURL as e:
                raise FetchError(f"invalid URL: {_one_line(e)}{hop}", url=url, permanent=True) from e
            except _Refused as e:
                raise BlockedAddressError(f"{where}{e}", url=url, permanent=True) from None
            except _Unresolvable as e:
                raise FetchError(f"{where}{e}", url=url) from e.__cause__
        raise FetchError(f"more than {self._max_redirects} redirects (last to {current})", url=url)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _result(self, response: httpx.Response, *, url: str, current: str, hop: str,
                etag: str | None, last_modified: str | None) -> FetchResult:
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        if status == 304:
            return FetchResult(url=current, status=304, headers=headers,
                               etag=headers.get("etag") or etag,
                               last_modified=headers.get("last-modified") or last_modified)
        if status >= 400:
            raise _status_error(response, url=url, hop=hop)
        if not 200 <= status < 300:
            raise FetchError(f"unexpected HTTP {status}{hop}", url=url, status=status)
        body = self._read(response, url=url, hop=hop)
        return FetchResult(url=current, status=status, body=body, headers=headers,
                           etag=headers.get("etag"), last_modified=headers.get("last-modified"))

    def _read(self, response: httpx.Response, *, url: str, hop: str) -> bytes:
        coding = response.headers.get("content-encoding", "identity").strip().lower() or "identity"
        decoder = _decoder(coding)
        if decoder is None:
            raise FetchError(f"unsupported Content-Encoding {coding!r}{hop}", url=url,
                             status=response.status_code)
        too_big = f"body larger than {self._max_bytes} bytes{hop}"
        length = response.headers.get("content-length", "")
        if coding == "identity" and length.isdigit() and int(length) > self._max_bytes:
            raise FetchError(too_big, url=url, status=response.status_code)
        # The read timeout bounds each read; this bounds a server that drips bytes.
        deadline = time.monotonic() + self._timeout
        chunks: list[bytes] = []
        total = 0
        for raw in _then_end(response.iter_raw()):
            for piece in decoder(raw):
                total += len(piece)
                if total > self._max_bytes:
                    raise FetchError(too_big, url=url, status=response.status_code)
                chunks.append(piece)
            if time.monotonic() > deadline:
                raise FetchError(f"body not received within {self._timeout:g} s{hop}", url=url,
                                 status=response.status_code)
        return b"".join(chunks)


def _status_error(response: httpx.Response, *, url: str, hop: str) -> FetchError:
    status = response.status_code
    message = f"HTTP {status} {response.reason_phrase}".rstrip()
    retry_after = None
    if status in (429, 503):
        retry_after = _retry_after(response.headers.get("retry-after"))
        if retry_after is not None:
            message += f", retry after {retry_after} s"
    err = FetchError(message + hop, url=url, status=status, permanent=status in _PERMANENT)
    err.retry_after = retry_after  # seconds, for a caller that schedules the retry
    return err


def _retry_after(value: str | None) -> int | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0, round((when - datetime.now(timezone.utc)).total_seconds()))

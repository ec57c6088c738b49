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

import ipaddress
import re
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpcore
import httpx

from monitor.core.errors import BlockedAddressError, FetchError
from monitor.core.types import FetchResult

try:  # optional: br is only offered when its output can be bounded (brotli >= 1.2)
    import brotli as _brotli
except ImportError:  # pragma: no cover - depends on the environment
    _brotli = None

__all__ = ["Fetcher", "HttpFetcher", "Resolver", "check_allow", "check_url", "system_resolver",
           "DEFAULT_USER_AGENT"]

DEFAULT_USER_AGENT = "media-monitor/0.1 (+https://github.com/media-monitor)"

_BROTLI = _brotli is not None and hasattr(getattr(_brotli, "Decompressor", None), "can_accept_more_data")
_ENCODINGS = ("gzip", "deflate", "br") if _BROTLI else ("gzip", "deflate")
_ACCEPT = ("application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
           "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({404, 410})
_CHUNK = 64 * 1024  # most decompressed bytes produced per step, so a bomb stops near the cap
_METADATA = ipaddress.ip_address("169.254.169.254")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_WS = re.compile(r"\s+")
# IPv4 written the old inet_aton ways ("2130706433", "0x7f.1", "127.1"), which
# the system resolver turns into an address without asking DNS.
_LEGACY_IPV4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]
"""A host name and port in, the IP addresses (as strings) to connect to out.

Raises ``OSError`` (``socket.gaierror``) when the name does not resolve."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``socket.getaddrinfo`` gives for ``host``, in its order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


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


def check_url(url: str, *, allow: Sequence[str] = (), resolver: Resolver | None = None) -> None:
    """Refuse a URL the fetcher must not request.

    Only http and https are accepted. The host is resolved and refused if ANY
    of its addresses is loopback, private, link-local, multicast, reserved,
    unspecified, otherwise not global, the cloud metadata address
    169.254.169.254, or an IPv6 address embedding such an IPv4 address
    (IPv4-mapped, IPv4-compatible, NAT64, 6to4). ``allow`` lists hostnames, IP
    addresses and CIDR networks that are exempt (an exempt hostname is not
    resolved at all). An entry exempts every port of what it names, unless it
    names a port: ``host:port``, ``1.2.3.4:port``, ``net/len:port`` or
    ``[v6]:port`` exempt that port only (on any other, the guard applies as if
    the entry were not there).

    The URL is parsed the way httpx parses it, so the guard checks the host
    httpx would connect to. This is a quick check only: the answer may change
    by the time a connection is made (DNS rebinding). :class:`HttpFetcher`
    applies the same rules to the addresses it actually connects to.
    ``resolver`` defaults to :func:`system_resolver`.

    Raises :class:`BlockedAddressError` (``permanent=True``) when refused,
    :class:`FetchError` when the host name does not resolve, and
    ``ValueError`` when an ``allow`` entry is not one of those forms (an entry
    with a "/" that is not a network, a port outside 1-65535).
    """
    _check(url, _Allow.parse(allow), feed_url=url, resolver=resolver or system_resolver)


def check_allow(entries: Sequence[str]) -> None:
    """Raise ``ValueError`` naming the first ``allow`` entry that is not a host, an
    address or a network, with or without a port (see :func:`check_url`)."""
    _Allow.parse(entries)


# --- the guard ---------------------------------------------------------------

class _Allow:
    """The ``allow`` entries: host names and networks, each on every port or on the ports named."""

    def __init__(self, names: dict[str, frozenset[int] | None],
                 networks: tuple[tuple[Network, int | None], ...]) -> None:
        self.names, self.networks = names, networks  # a port of None: every port

    @classmethod
    def parse(cls, entries: Sequence[str]) -> _Allow:
        if isinstance(entries, str):  # a lone "127.0.0.1" would otherwise be split into characters
            entries = (entries,)
        names: dict[str, set[int] | None] = {}
        networks: list[tuple[Network, int | None]] = []
        for raw in entries:
            entry = raw.strip().lower()
            address, port = _split_port(entry)
            try:
                networks.append((ipaddress.ip_network(address.strip("[]"), strict=False), port))
                continue
            except ValueError:
                if "/" in address or "[" in address:
                    raise ValueError(f"allow: {raw!r} is not an IP network") from None
            if ":" in address or not address:
                raise ValueError(f"allow: {raw!r} is neither a host, a host:port, an IP network "
                                 "nor a [IPv6]:port")
            keys = {address.rstrip(".")}
            try:  # as the connection sees it: "bücher.example" is "xn--bcher-kva.example"
                keys.add(httpx.URL(f"http://{address}/").raw_host.decode("ascii").rstrip("."))
            except (httpx.InvalidURL, UnicodeError):
                pass
            for key in keys:
                if port is None or (key in names and names[key] is None):
                    names[key] = None
                else:
                    names.setdefault(key, set()).add(port)  # type: ignore[union-attr]
        frozen = {k: None if v is None else frozenset(v) for k, v in names.items()}
        return cls(frozen, tuple(networks))

    def exempts(self, name: str, port: int) -> bool:
        """True when the host name is listed for this port (or for every port)."""
        if name not in self.names:
            return False
        ports = self.names[name]
        return ports is None or port in ports

    def covers(self, ip: Address, port: int) -> bool:
        candidates = [ip] + ([embedded] if (embedded := _embedded_ipv4(ip)) else [])
        return any(c.version == n.version and c in n and p in (None, port)
                   for c in candidates for n, p in self.networks)

    def ports_for(self, name: str, ip: Address) -> list[int]:
        """The ports the entries open for this name or address, when they open only some."""
        ports = set(self.names.get(name) or ())
        candidates = [ip] + ([embedded] if (embedded := _embedded_ipv4(ip)) else [])
        ports |= {p for n, p in self.networks if p is not None
                  for c in candidates if c.version == n.version and c in n}
        return sorted(ports)


_PORT = re.compile(r"^(.*?):([0-9]+)$")


def _split_port(entry: str) -> tuple[str, int | None]:
    """An allow entry's address part and its port, if it names one.

    ``host:port``, ``1.2.3.4:port``, ``net/len:port`` and ``[v6]:port`` (or
    ``[v6/len]:port``) name a port; a bare IPv6 address never does (its last
    group could be read as one), so it is written in brackets to name one.
    """
    match = _PORT.match(entry)
    if match is None:
        return entry, None
    address, digits = match.groups()
    bracketed = address.startswith("[") and address.endswith("]")
    if not bracketed and "/" not in address and ":" in address:
        return entry, None  # a bare IPv6 address such as ::1 or fe80::1:8080
    port = int(digits)
    if not 0 < port < 65536:
        raise ValueError(f"allow: {entry!r}: port {digits} is not between 1 and 65535")
    return address, port


def _check(url: str, allow: _Allow, *, feed_url: str, resolver: Resolver | None) -> None:
    """Refuse a URL by scheme, host and address; names are resolved only when ``resolver`` is given."""
    where = "" if url == feed_url else f"redirect to {url}: "
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as e:
        raise BlockedAddressError(f"{where}invalid URL: {_one_line(e)}", url=feed_url,
                                  permanent=True) from e
    if parsed.scheme not in ("http", "https"):
        raise BlockedAddressError(f"{where}scheme {parsed.scheme or '(none)'!r} refused, "
                                  "only http and https", url=feed_url, permanent=True)
    host = parsed.raw_host.decode("ascii").rstrip(".").lower()
    if not host:
        raise BlockedAddressError(f"{where}no host in URL", url=feed_url, permanent=True)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if allow.exempts(host, port) or allow.exempts(parsed.host.rstrip(".").lower(), port):
        return
    if resolver is None and _literal_ip(host) is None:
        return
    try:
        refusal = _refusal(host, port, _addresses(host, port, resolver or system_resolver), allow)
    except _Unresolvable as e:
        raise FetchError(f"{where}{e}", url=feed_url) from e.__cause__
    if refusal:
        raise BlockedAddressError(f"{where}{refusal}", url=feed_url, permanent=True)


class _Refused(Exception):
    """The guard refused a connection; fetch() names the feed."""


class _Unresolvable(Exception):
    """A host name did not resolve; fetch() names the feed."""


def _literal_ip(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _addresses(host: str, port: int, resolver: Resolver) -> list[Address]:
    """The addresses to check and connect to, in the resolver's order; raises _Unresolvable."""
    literal = _literal_ip(host)
    if literal is not None:
        return [literal]
    try:
        answers = resolver(host, port)
    except (OSError, UnicodeError) as e:
        raise _Unresolvable(f"cannot resolve {host}: {_one_line(e)}") from e
    addresses: list[Address] = []
    for answer in answers:
        try:
            addresses.append(ipaddress.ip_address(answer))
        except ValueError:
            raise _Unresolvable(f"cannot resolve {host}: {answer!r} is not an IP address") from None
    if not addresses:
        raise _Unresolvable(f"cannot resolve {host}: no address")
    return list(dict.fromkeys(addresses))


def _refusal(host: str, port: int, addresses: Iterable[Address], allow: _Allow) -> str | None:
    """Why connecting to ``host`` at these addresses is refused, or None. ANY blocked one refuses."""
    for ip in addresses:
        if allow.covers(ip, port):
            continue
        reason = _blocked_reason(ip)
        if reason:
            shown = "" if host == str(ip) else f"{host} resolves to "
            opened = allow.ports_for(host, ip)
            only = ""
            if opened:
                listed = ", ".join(map(str, opened))
                only = f" on port {port} (allow_networks opens it on port {listed} only)"
            return f"{shown}{ip}, a {reason} address, is refused{only}"
    return None


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend, resolving and checking each host before connecting to it.

    httpcore hands ``connect_tcp`` the URL's host and, for https, layers TLS on
    the returned stream with that same host as ``server_hostname``; so
    connecting to the checked IP here keeps SNI and certificate checks on the
    host name while the address connected to is the address checked.
    """

    def __init__(self, allow: _Allow, resolver: Resolver) -> None:
        self._allow, self._resolver = allow, resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        name = host.rstrip(".").lower()
        addresses = _addresses(host, port, self._resolver)
        if not self._allow.exempts(name, port):
            refusal = _refusal(name, port, addresses, self._allow)
            if refusal:
                raise _Refused(refusal)
        deadline = None if timeout is None else time.monotonic() + timeout
        error: Exception | None = None
        for ip in addresses:  # like socket.create_connection: the first that answers
            left = None if deadline is None else max(0.001, deadline - time.monotonic())
            try:
                return self._inner.connect_tcp(str(ip), port, timeout=left, local_address=local_address,
                                               socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
            if deadline is not None and time.monotonic() >= deadline:
                break
        assert error is not None
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise _Refused("unix sockets are refused")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (its error mapping, its streams) over a guarded connection pool."""

    def __init__(self, backend: _GuardedBackend, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(trust_env=False)
        # httpx offers no network_backend argument; its pool is rebuilt with one.
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport has changed: cannot install the address guard")
        limits = httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def _blocked_reason(ip: Address) -> str | None:
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        inner = _blocked_reason(embedded)
        if inner:
            return f"{inner} (embedded in IPv6)"
    if ip == _METADATA:
        return "cloud metadata"
    for kind in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    if not ip.is_global:
        return "non-global"
    return None


def _embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    value = int(ip)
    if value >> 32 == 0 and value > 1:  # IPv4-compatible ::a.b.c.d (not :: or ::1)
        return ipaddress.IPv4Address(value)
    if ip in _NAT64:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    return None


# --- bodies ------------------------------------------------------------------

_END = b""  # marks the end of the raw stream, so decoders can flush


def _then_end(chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        if chunk:
            yield chunk
    yield _END


def _decoder(coding: str):
    """A function from raw chunks (``b""`` at the end) to decoded pieces, or None."""
    if coding == "identity":
        return lambda raw: (raw,) if raw else ()
    if coding in ("gzip", "x-gzip"):
        return _ZlibDecoder(zlib.MAX_WBITS | 16).decode
    if coding == "deflate":
        return _ZlibDecoder(zlib.MAX_WBITS, raw_fallback=True).decode
    if coding == "br" and _BROTLI:
        return _BrotliDecoder().decode
    return None


class _ZlibDecoder:
    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._wbits = wbits
        self._raw_fallback = raw_fallback  # "deflate" is sometimes sent without the zlib header
        self._started = False
        self._d = zlib.decompressobj(wbits)

    def decode(self, raw: bytes) -> Iterator[bytes]:
        if not raw:
            try:
                yield self._d.flush()
            except zlib.error as e:
                raise httpx.DecodingError(f"bad {self._name} data: {e}") from e
            return
        if not self._started and self._raw_fallback:
            self._started = True
            try:
                probe = zlib.decompressobj(self._wbits)
                probe.decompress(raw[:64], 1)
            except zlib.error:
                self._wbits = -zlib.MAX_WBITS
                self._d = zlib.decompressobj(self._wbits)
        data = raw
        while data:
            try:
                out = self._d.decompress(data, _CHUNK)
            except zlib.error as e:
                raise httpx.DecodingError(f"bad {self._name} data: {e}") from e
            if out:
                yield out
            data = self._d.unconsumed_tail
            if not data and self._d.eof and self._d.unused_data:
                data = self._d.unused_data  # another gzip member follows
                self._d = zlib.decompressobj(self._wbits)

    @property
    def _name(self) -> str:
        return "gzip" if self._wbits > zlib.MAX_WBITS else "deflate"


class _BrotliDecoder:
    def __init__(self) -> None:
        self._d = _brotli.Decompressor()

    def decode(self, raw: bytes) -> Iterator[bytes]:
        if not raw:
            return
        try:
            out = self._d.process(raw, output_buffer_limit=_CHUNK)
            # Drain what that input still holds, one bounded piece at a time.
            while out:
                yield out
                out = b"" if self._d.is_finished() else self._d.process(b"", output_buffer_limit=_CHUNK)
        except _brotli.error as e:
            raise httpx.DecodingError(f"bad br data: {e}") from e


# --- errors ------------------------------------------------------------------

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


def _one_line(exc: BaseException) -> str:
    return _WS.sub(" ", str(exc)).strip() or type(exc).__name__

"""The address guard: a feed URL may not reach this machine, its network or a cloud's metadata service.

Every hop is checked before it is fetched, and the connection goes to the very address that was
checked (a DNS answer that changes in between cannot slip through). ``allow_networks`` entries
exempt a host, address or network, on every port or on the one they name.
"""


from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import httpcore
import httpx

from monitor.core.errors import BlockedAddressError, FetchError

_METADATA = ipaddress.ip_address("169.254.169.254")


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


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


_WS = re.compile(r"\s+")


def _one_line(exc: BaseException) -> str:
    return _WS.sub(" ", str(exc)).strip() or type(exc).__name__

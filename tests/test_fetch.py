"""monitor.adapters.fetch against real HTTP servers on loopback, and the address guard."""

from __future__ import annotations

import gzip
import pickle
import socket
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from monitor.core.errors import BlockedAddressError, FeedError, FetchError
from monitor.adapters.fetch import Fetcher, HttpFetcher, check_url
from support.http import Listener, LoopbackServer, answer, send
from support.samples import FEEDS

LOOPBACK = ("127.0.0.0/8",)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    s = LoopbackServer(keep_alive=True)
    yield s
    s.close()


@pytest.fixture
def fetcher() -> Iterator[HttpFetcher]:
    f = HttpFetcher(allow=LOOPBACK, timeout=5, connect_timeout=2)
    yield f
    f.close()


GUARDIAN = (FEEDS / "guardian.rss").read_bytes()


def test_http_fetcher_is_a_fetcher():
    f: Fetcher = HttpFetcher()
    f.close()


def test_200_with_etag_then_304_on_the_conditional_request(server, fetcher):
    def feed(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            send(handler, 304, headers={"ETag": '"v1"'})
        else:
            send(handler, 200, GUARDIAN, {"ETag": '"v1"', "Content-Type": "application/rss+xml",
                                          "Last-Modified": "Wed, 31 Jan 2018 20:15:15 GMT"})

    server.routes["/feed"] = feed
    first = fetcher.fetch(server.url("/feed"))
    assert first.status == 200 and not first.not_modified
    assert first.body == GUARDIAN
    assert first.url == server.url("/feed")
    assert first.etag == '"v1"'
    assert first.last_modified == "Wed, 31 Jan 2018 20:15:15 GMT"
    assert first.headers["content-type"] == "application/rss+xml"

    second = fetcher.fetch(server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    assert second.status == 304 and second.not_modified
    assert second.body == b""
    assert second.etag == '"v1"'
    assert second.last_modified == "Wed, 31 Jan 2018 20:15:15 GMT"
    _, sent = server.requests[-1]
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Wed, 31 Jan 2018 20:15:15 GMT"


def test_request_headers(server, fetcher):
    server.routes["/feed"] = answer(200, b"<rss/>")
    fetcher.fetch(server.url("/feed"))
    _, sent = server.requests[-1]
    assert sent["user-agent"].startswith("media-monitor/")
    assert "gzip" in sent["accept-encoding"] and "deflate" in sent["accept-encoding"]
    assert "application/rss+xml" in sent["accept"]
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def test_gzip_body_is_decoded(server, fetcher):
    server.routes["/gz"] = answer(200, gzip.compress(GUARDIAN), Content_Encoding="gzip")
    assert fetcher.fetch(server.url("/gz")).body == GUARDIAN


@pytest.mark.parametrize("compress", [zlib.compress, lambda b: zlib.compress(b)[2:-4]],
                         ids=["zlib", "raw-deflate"])
def test_deflate_body_is_decoded(server, fetcher, compress):
    server.routes["/deflate"] = answer(200, compress(GUARDIAN), Content_Encoding="deflate")
    assert fetcher.fetch(server.url("/deflate")).body == GUARDIAN


def test_corrupt_gzip_is_a_fetch_error(server, fetcher):
    server.routes["/bad"] = answer(200, b"\x1f\x8b\x08\x00garbage-not-gzip", Content_Encoding="gzip")
    with pytest.raises(FetchError, match="gzip"):
        fetcher.fetch(server.url("/bad"))


def test_brotli_body_is_decoded_and_a_brotli_bomb_stopped(server, fetcher):
    brotli = pytest.importorskip("brotli", minversion="1.2")
    server.routes["/br"] = answer(200, brotli.compress(GUARDIAN), Content_Encoding="br")
    assert fetcher.fetch(server.url("/br")).body == GUARDIAN
    assert "br" in server.requests[-1][1]["accept-encoding"]
    bomb = brotli.compress(b"\0" * 50_000_000, quality=4)
    server.routes["/bomb"] = answer(200, bomb, Content_Encoding="br")
    with HttpFetcher(allow=LOOPBACK, max_bytes=1_000_000) as small:
        with pytest.raises(FetchError, match="larger than 1000000 bytes"):
            small.fetch(server.url("/bomb"))


def test_unknown_content_encoding_is_refused(server, fetcher):
    server.routes["/zz"] = answer(200, b"xx", Content_Encoding="compress")
    with pytest.raises(FetchError, match="Content-Encoding"):
        fetcher.fetch(server.url("/zz"))


def test_gzip_bomb_stops_at_the_cap(server):
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    assert len(bomb) < 100_000
    server.routes["/bomb"] = answer(200, bomb, Content_Encoding="gzip")
    with HttpFetcher(allow=LOOPBACK, max_bytes=1_000_000) as small:
        with pytest.raises(FetchError, match="larger than 1000000 bytes") as info:
            small.fetch(server.url("/bomb"))
    assert info.value.permanent is False


def test_plain_body_over_the_cap_is_refused(server):
    server.routes["/big"] = answer(200, b"x" * 2000)
    with HttpFetcher(allow=LOOPBACK, max_bytes=1000) as small:
        with pytest.raises(FetchError, match="larger than 1000 bytes"):
            small.fetch(server.url("/big"))
        server.routes["/ok"] = answer(200, b"x" * 1000)
        assert len(small.fetch(server.url("/ok")).body) == 1000


def redirect_chain(server: LoopbackServer, length: int) -> None:
    for n in range(1, length + 1):
        # alternate absolute and relative Location headers
        target = f"/r/{n - 1}" if n % 2 else server.url(f"/r/{n - 1}")
        server.routes[f"/r/{n}"] = answer(301 if n % 3 else 307, Location=target)
    server.routes["/r/0"] = answer(200, b"<rss/>")


def test_redirect_chain_is_followed(server, fetcher):
    redirect_chain(server, 5)
    result = fetcher.fetch(server.url("/r/5"))
    assert result.status == 200 and result.body == b"<rss/>"
    assert result.url == server.url("/r/0")
    assert [path for path, _ in server.requests] == [f"/r/{n}" for n in range(5, -1, -1)]


def test_redirect_chain_is_limited(server, fetcher):
    redirect_chain(server, 6)
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetcher.fetch(server.url("/r/6"))
    assert len(server.requests) == 6
    with HttpFetcher(allow=LOOPBACK, max_redirects=0) as strict:
        with pytest.raises(FetchError, match="more than 0 redirects"):
            strict.fetch(server.url("/r/1"))


def test_conditional_headers_survive_a_redirect(server, fetcher):
    server.routes["/old"] = answer(308, Location="/new")
    server.routes["/new"] = answer(304)
    result = fetcher.fetch(server.url("/old"), etag='"e"')
    assert result.status == 304 and result.url == server.url("/new")
    assert result.etag == '"e"'  # the server did not repeat it
    assert server.requests[-1][1]["if-none-match"] == '"e"'


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/feed",
    "http://[::1]:{port}/feed",
    "http://[::ffff:169.254.169.254]/",
    "file:///etc/passwd",
])
def test_redirect_to_a_blocked_address_is_refused(server, fetcher, target):
    server.routes["/evil"] = answer(302, Location=target.format(port=server.port))
    with pytest.raises(BlockedAddressError) as info:
        fetcher.fetch(server.url("/evil"))
    assert info.value.url == server.url("/evil")
    assert "redirect to" in str(info.value)
    assert len(server.requests) == 1  # the target was never requested


def test_the_first_url_is_guarded_too(server):
    server.routes["/feed"] = answer(200, b"<rss/>")
    with HttpFetcher() as default:
        with pytest.raises(BlockedAddressError, match="loopback"):
            default.fetch(server.url("/feed"))
    assert server.requests == []


@pytest.mark.parametrize("status", [404, 410])
def test_404_and_410_are_permanent(server, fetcher, status):
    server.routes["/gone"] = answer(status, b"gone")
    with pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/gone"))
    assert info.value.status == status
    assert info.value.permanent is True
    assert f"HTTP {status}" in str(info.value)


@pytest.mark.parametrize("status", [401, 403, 500, 502])
def test_other_errors_are_not_permanent(server, fetcher, status):
    server.routes["/err"] = answer(status)
    with pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/err"))
    assert (info.value.status, info.value.permanent) == (status, False)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_in_the_message(server, fetcher, status):
    server.routes["/slow-down"] = answer(status, Retry_After="120")
    with pytest.raises(FetchError) as info:
        fetcher.fetch(server.url("/slow-down"))
    err = info.value
    assert err.status == status and err.permanent is False
    assert "retry after 120 s" in str(err)
    assert err.retry_after == 120
    copy = pickle.loads(pickle.dumps(err))  # Celery pickles errors
    assert (copy.status, copy.retry_after, str(copy)) == (status, 120, str(err))


def test_retry_after_as_a_date(server, fetcher):
    server.routes["/later"] = answer(429, Retry_After="Wed, 21 Oct 2015 07:28:00 GMT")
    with pytest.raises(FetchError, match="retry after 0 s"):
        fetcher.fetch(server.url("/later"))


def test_connection_refused(fetcher):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed"
    with pytest.raises(FetchError) as info:
        fetcher.fetch(url)
    assert isinstance(info.value, OSError) and isinstance(info.value, FeedError)
    assert info.value.url == url
    assert str(info.value).startswith(url + ": ")
    assert "\n" not in str(info.value)


def test_read_timeout(server):
    def stall(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(2)
        send(handler, 200, b"<rss/>")

    server.routes["/stall"] = stall
    with HttpFetcher(allow=LOOPBACK, timeout=0.3) as quick:
        started = time.monotonic()
        with pytest.raises(FetchError, match="timed out"):
            quick.fetch(server.url("/stall"))
    assert time.monotonic() - started < 1.5


def test_a_server_dripping_bytes_is_cut_off(server):
    def drip(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.05)

    server.routes["/drip"] = drip
    with HttpFetcher(allow=LOOPBACK, timeout=0.5) as quick:
        with pytest.raises(FetchError, match="not received within"):
            quick.fetch(server.url("/drip"))


def test_unresolvable_host_is_a_fetch_error():
    with HttpFetcher() as f:
        with pytest.raises(FetchError, match="cannot resolve") as info:
            f.fetch("http://no-such-host.invalid/feed")
    assert not isinstance(info.value, BlockedAddressError)


# --- the guard ------------------------------------------------------------------

BLOCKED = [
    ("http://127.0.0.1/", "127.0.0.0/8"),
    ("http://127.1.2.3:8080/feed", "127.0.0.0/8"),
    ("http://10.1.2.3/", "10.0.0.0/8"),
    ("http://172.16.5.4/", "172.16.0.0/12"),
    ("http://192.168.1.10/rss", "192.168.0.0/16"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://0.0.0.0/", "0.0.0.0"),
    ("http://100.64.0.1/", "100.64.0.0/10"),
    ("http://224.0.0.1/", "224.0.0.0/4"),
    ("http://[::1]/", "::1"),
    ("http://[::]/", "::/128"),
    ("http://[fe80::1]/", "fe80::/10"),
    ("http://[fd00::5]/", "fc00::/7"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.0/8"),
    ("http://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1"),
    ("http://[::127.0.0.1]/", "127.0.0.1"),
    ("http://[64:ff9b::a9fe:a9fe]/", "169.254.169.254/32"),
    ("http://[2002:c0a8:0101::1]/", "192.168.1.1"),
    ("http://localhost/", "localhost"),
    ("http://LocalHost./", "localhost"),
    ("http://0x7f.1/", "127.0.0.1"),
    ("http://2130706433/", "127.0.0.0/8"),
]


@pytest.mark.parametrize("url, allowed_by", BLOCKED)
def test_guard_refuses_by_default(url, allowed_by):
    with pytest.raises(BlockedAddressError) as info:
        check_url(url)
    assert info.value.permanent is True
    assert info.value.url == url
    assert "refused" in str(info.value)


@pytest.mark.parametrize("url, allowed_by", BLOCKED)
def test_guard_allows_what_allow_lists(url, allowed_by):
    check_url(url, allow=[allowed_by])
    check_url(url, allow=["intranet.example.org", allowed_by])


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://example.org/feed", "gopher://127.0.0.1/", "feed://example.org/x",
    "javascript:alert(1)", "example.org/feed", "http:///nohost", "http://[::1/",
])
def test_guard_refuses_other_schemes_and_broken_urls_even_when_allowed(url):
    with pytest.raises(BlockedAddressError):
        check_url(url, allow=["127.0.0.0/8", "::/0", "0.0.0.0/0", "example.org"])


@pytest.mark.parametrize("url", [
    "http://93.184.215.14/feed", "https://8.8.8.8/", "http://[2606:4700:4700::1111]/",
])
def test_guard_accepts_public_addresses(url):
    check_url(url)


def test_guard_names_what_resolved_where():
    with pytest.raises(BlockedAddressError, match=r"localhost resolves to 127\.0\.0\.1, a loopback"):
        check_url("http://localhost:8000/")


def test_allowed_hostname_is_not_resolved():
    check_url("http://intranet.invalid/feed", allow=["Intranet.Invalid"])


def test_allow_network_must_be_valid():
    with pytest.raises(ValueError, match="not an IP network"):
        check_url("http://example.org/", allow=["10.0.0.0/33"])
    with pytest.raises(ValueError):
        HttpFetcher(allow=["300.1.1.1/8"])


def test_fetcher_reads_a_real_feed_end_to_end(server, fetcher):
    from monitor.core.feeds import parse_feed

    body = (FEEDS / "uolNoticias.rss").read_bytes()
    server.routes["/uol"] = answer(200, gzip.compress(body), Content_Encoding="gzip",
                                   Content_Type="text/xml; charset=ISO-8859-1")
    result = fetcher.fetch(server.url("/uol"))
    feed = parse_feed(result.body, url=result.url, headers=result.headers)
    assert feed.problem is None
    assert len(feed.articles) == 15
    assert "simulações" in feed.articles[0].title


# --- the guard at the connection: injected resolver, DNS rebinding, TLS --------------

@pytest.fixture
def listener() -> Iterator[Listener]:
    s = Listener()
    yield s
    s.close()


def resolver_for(table: dict[str, list[str]], calls: list[str] | None = None):
    def resolve(host: str, port: int) -> list[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]
    return resolve


def test_a_name_resolving_to_a_private_address_is_refused_before_connecting(listener):
    resolve = resolver_for({"intranet.example": ["127.0.0.1"]})
    with HttpFetcher(resolver=resolve) as f:
        with pytest.raises(BlockedAddressError,
                           match=r"intranet\.example resolves to 127\.0\.0\.1, a loopback address"):
            f.fetch(f"http://intranet.example:{listener.port}/feed")
    assert listener.accepted == 0


def test_the_connection_goes_to_the_address_the_resolver_gave(server):
    server.routes["/feed"] = answer(200, b"<rss/>")
    calls: list[str] = []
    resolve = resolver_for({"feeds.example": ["127.0.0.1"]}, calls)
    with HttpFetcher(resolver=resolve, allow=["127.0.0.1"]) as f:
        result = f.fetch(f"http://feeds.example:{server.port}/feed")
    assert result.body == b"<rss/>"
    assert calls == ["feeds.example"]  # resolved once, by the connection itself
    assert server.requests[-1][1]["host"] == f"feeds.example:{server.port}"


def test_any_blocked_address_refuses_the_name():
    resolve = resolver_for({"mixed.example": ["93.184.215.14", "10.1.2.3"]})
    with HttpFetcher(resolver=resolve) as f:
        with pytest.raises(BlockedAddressError, match="10.1.2.3, a private address"):
            f.fetch("http://mixed.example/feed")


def test_dns_rebinding_is_caught_at_the_connection(listener):
    # The name answers an allowed address to the quick check, then a blocked one.
    answers = iter([["127.0.0.2"], ["127.0.0.1"]])
    resolve = lambda host, port: next(answers)  # noqa: E731
    allow = ["127.0.0.2"]
    url = f"http://rebind.example:{listener.port}/feed"
    check_url(url, allow=allow, resolver=resolve)  # fooled, as any check before connecting is
    with HttpFetcher(resolver=resolve, allow=allow) as f:
        with pytest.raises(BlockedAddressError, match="127.0.0.1, a loopback address"):
            f.fetch(url)
    assert listener.accepted == 0


def test_allowed_name_is_connected_without_the_check(server):
    server.routes["/feed"] = answer(200, b"<rss/>")
    resolve = resolver_for({"intranet.example": ["127.0.0.1"]})
    with HttpFetcher(resolver=resolve, allow=["Intranet.Example"]) as f:
        assert f.fetch(f"http://intranet.example:{server.port}/feed").body == b"<rss/>"


def test_legacy_ipv4_forms_never_reach_the_resolver(listener):
    calls: list[str] = []
    with HttpFetcher(resolver=resolver_for({}, calls)) as f:
        for host in ("2130706433", "0x7f.1", "127.1", "017700000001"):
            with pytest.raises(BlockedAddressError, match="127.0.0.1, a loopback"):
                f.fetch(f"http://{host}:{listener.port}/")
    assert calls == [] and listener.accepted == 0


def test_unresolvable_name_from_the_resolver_is_a_fetch_error():
    with HttpFetcher(resolver=resolver_for({})) as f:
        with pytest.raises(FetchError, match="cannot resolve nowhere.example") as info:
            f.fetch("http://nowhere.example/feed")
    assert not isinstance(info.value, BlockedAddressError)
    with HttpFetcher(resolver=resolver_for({"empty.example": []})) as f:
        with pytest.raises(FetchError, match="no address"):
            f.fetch("http://empty.example/feed")


# --- https: connected by IP, verified by name ----------------------------------------

def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[LoopbackServer, list[str | None], Path]]:
    import ssl

    cert, key = self_signed(tmp_path, "feeds.example")
    names: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    s = LoopbackServer(keep_alive=True)
    s.httpd.socket = context.wrap_socket(s.httpd.socket, server_side=True)
    yield s, names, cert
    s.close()


def test_https_connects_to_the_checked_ip_and_verifies_the_host_name(tls_server):
    import ssl

    server, names, cert = tls_server
    server.routes["/feed"] = answer(200, b"<rss/>")
    trusted = ssl.create_default_context(cafile=str(cert))
    resolve = resolver_for({"feeds.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]})
    with HttpFetcher(resolver=resolve, allow=["127.0.0.1"], ssl_context=trusted) as f:
        assert f.fetch(f"https://feeds.example:{server.port}/feed").body == b"<rss/>"
        assert names == ["feeds.example"]  # SNI carries the name, not the IP
        with pytest.raises(FetchError, match="(?i)certificate|hostname"):
            f.fetch(f"https://other.example:{server.port}/feed")  # same IP, wrong name
    with HttpFetcher(resolver=resolve, allow=["127.0.0.1"]) as default:
        with pytest.raises(FetchError, match="(?i)certificate"):  # not trusted by default
            default.fetch(f"https://feeds.example:{server.port}/feed")

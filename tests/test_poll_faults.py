"""The real poller (HttpFetcher + poll_feed + a SQLite Store) against servers that misbehave.

Every case checks what an operator sees: the poll does not raise, the feed's
health row says what happened in one line, and another feed polled right
after still succeeds.
"""

from __future__ import annotations

import gzip
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

import pytest
from pydantic import ValidationError

from monitor.config import FeedSpec
from monitor.core.errors import BlockedAddressError
from monitor.core.feeds import parse_feed
from monitor.adapters.fetch import HttpFetcher
from monitor.pipeline import poll_feed
from monitor.adapters.store import FeedRow, Store
from monitor.core.types import StoredArticle
from support.http import Listener, LoopbackServer, Route, answer, send
from support.procs import free_port as closed_port  # a port nothing listens on
from support.samples import article_rss

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
HEALTHY = article_rss(link="https://example.org/healthy")
FEED = article_rss(link="https://example.org/case")  # another article: stories are shared across feeds


# --- servers --------------------------------------------------------------------------

@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """HTTP/1.1 answering from ``routes`` (path -> handler); /healthy is a healthy feed."""
    s = LoopbackServer(keep_alive=True)
    s.routes["/healthy"] = answer(200, HEALTHY, Content_Type="application/rss+xml")
    yield s
    s.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    s = Listener()
    yield s
    s.close()


# --- polling through the real pipeline ---------------------------------------------------

class Polled:
    def __init__(self, store: Store, ids: dict[str, int], outcomes: list) -> None:
        self.store, self.ids, self.outcomes = store, ids, outcomes

    def row(self, url: str) -> FeedRow:
        return next(r for r in self.store.list_feeds() if r.id == self.ids[url])

    def stored(self) -> list[StoredArticle]:
        """The articles the polls of the case feed stored."""
        return self.store.articles([i for o in self.outcomes for i in o.new_article_ids])


@pytest.fixture
def poll(tmp_path) -> Iterator[Callable[..., Polled]]:
    stores: list[Store] = []

    def run(url: str, fetcher: HttpFetcher, *, healthy: str, times: int = 1) -> Polled:
        """Poll ``url`` ``times`` times, then the healthy feed once; check the healthy one."""
        store = Store.open(f"sqlite:///{tmp_path / f'm{len(stores)}.sqlite'}")
        stores.append(store)
        ids = store.sync_feeds([FeedSpec(url=url, name="case"), FeedSpec(url=healthy, name="healthy")],
                               default_interval=60)
        outcomes = [poll_feed(ids[url], store=store, fetcher=fetcher, now=NOW) for _ in range(times)]
        polled = Polled(store, ids, outcomes)
        after = poll_feed(ids[healthy], store=store, fetcher=fetcher, now=NOW)
        ok = polled.row(healthy)
        assert after.error is None and len(after.new_article_ids) == 1, "the other feeds go on"
        assert (ok.last_error, ok.last_status, ok.consecutive_failures) == (None, 200, 0)
        return polled

    yield run
    for store in stores:
        store.close()


@pytest.fixture
def loopback() -> Iterator[HttpFetcher]:
    f = HttpFetcher(allow=["127.0.0.1"], timeout=5, connect_timeout=2)
    yield f
    f.close()


def assert_failed(row: FeedRow, status: int | None, error: str) -> None:
    assert row.last_error is not None and "\n" not in row.last_error
    assert error in row.last_error, row.last_error
    assert (row.last_status, row.consecutive_failures) == (status, 1)
    assert row.next_poll_at is not None and row.next_poll_at >= NOW + timedelta(seconds=60)


def assert_ok(row: FeedRow, status: int, seen: int) -> None:
    health = (row.last_error, row.last_status, row.consecutive_failures, row.articles_seen)
    assert health == (None, status, 0, seen)


# --- success, conditional GET, redirects -----------------------------------------------------

@pytest.mark.parametrize("validator, request_header", [
    ({"ETag": '"v1"'}, "if-none-match"),
    ({"Last-Modified": "Mon, 24 Jan 2022 10:00:00 GMT"}, "if-modified-since"),
], ids=["etag", "last-modified"])
def test_200_then_304(server, loopback, poll, validator, request_header):
    (name, value), = validator.items()

    def feed(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get(request_header) == value:
            send(h, 304, headers=validator)
        else:
            send(h, 200, FEED, {"Content-Type": "application/rss+xml", **validator})

    server.routes["/feed"] = feed
    polled = poll(server.url("/feed"), loopback, healthy=server.url("/healthy"), times=2)
    first, second = polled.outcomes
    assert (first.status, len(first.new_article_ids)) == (200, 1)
    assert (second.status, second.skipped) == (304, "not modified")
    assert_ok(polled.row(server.url("/feed")), 304, 1)
    feed_requests = [headers for path, headers in server.requests if path == "/feed"]
    assert request_header not in feed_requests[0] and feed_requests[1][request_header] == value


def test_redirect_chain_is_followed(server, loopback, poll):
    server.routes["/r3"] = answer(301, Location="/r2")
    server.routes["/r2"] = answer(302, Location=server.url("/r1"))
    server.routes["/r1"] = answer(308, Location="/feed")
    server.routes["/feed"] = answer(200, FEED, Content_Type="application/rss+xml")
    polled = poll(server.url("/r3"), loopback, healthy=server.url("/healthy"))
    assert_ok(polled.row(server.url("/r3")), 200, 1)


# --- failures: one line in the health row, backoff, the others go on ----------------------------

def stall(server: LoopbackServer) -> Route:
    def handler(h: BaseHTTPRequestHandler) -> None:
        server.stop.wait(3)
        send(h, 200, HEALTHY)
    return handler


BOMB = gzip.compress(b"\0" * 20_000_000, compresslevel=9)
HTML = b"<!DOCTYPE html><html><head><title>Moved</title></head><body><p>We moved!</p></body></html>"

FAILURES = [
    # id, routes (server -> {path: route}), fetcher options, last_status, in last_error
    ("redirect-loop",
     lambda s: {"/feed": answer(302, Location="/loop"), "/loop": answer(302, Location="/feed")},
     {}, None, "more than 5 redirects"),
    ("404", lambda s: {"/feed": answer(404, b"no")}, {}, 404, "HTTP 404 Not Found"),
    ("410", lambda s: {"/feed": answer(410, b"gone")}, {}, 410, "HTTP 410 Gone"),
    ("500", lambda s: {"/feed": answer(500, b"oops")}, {}, 500, "HTTP 500 Internal Server Error"),
    ("read-timeout", lambda s: {"/feed": stall(s)}, {"timeout": 0.3}, None, "timed out"),
    ("over-size-cap", lambda s: {"/feed": answer(200, b"<rss>" + b" " * 200_000)}, {"max_bytes": 100_000},
     200, "body larger than 100000 bytes"),
    ("gzip-bomb", lambda s: {"/feed": answer(200, BOMB, Content_Encoding="gzip")}, {"max_bytes": 1_000_000},
     200, "body larger than 1000000 bytes"),
    ("html-page", lambda s: {"/feed": answer(200, HTML, Content_Type="text/html; charset=utf-8")}, {},
     200, "an HTML page, not an RSS or Atom feed"),
]


@pytest.mark.parametrize("routes, options, status, error", [c[1:] for c in FAILURES],
                         ids=[c[0] for c in FAILURES])
def test_failures_are_recorded_and_the_others_go_on(server, poll, routes, options, status, error):
    server.routes.update(routes(server))
    with HttpFetcher(allow=["127.0.0.1"], **{"timeout": 5, **options}) as fetcher:
        polled = poll(server.url("/feed"), fetcher, healthy=server.url("/healthy"))
    assert polled.outcomes[0].error is not None
    assert_failed(polled.row(server.url("/feed")), status, error)


def test_connection_refused(server, loopback, poll):
    url = f"http://127.0.0.1:{closed_port()}/feed"
    polled = poll(url, loopback, healthy=server.url("/healthy"))
    row = polled.row(url)
    assert_failed(row, None, url)
    assert "refused" in row.last_error.lower() or "connect" in row.last_error.lower()


def test_429_retry_after_pushes_the_next_poll(server, loopback, poll):
    server.routes["/feed"] = answer(429, b"slow down", Retry_After="3600")
    polled = poll(server.url("/feed"), loopback, healthy=server.url("/healthy"))
    row = polled.row(server.url("/feed"))
    assert_failed(row, 429, "HTTP 429 Too Many Requests, retry after 3600 s")
    assert row.next_poll_at >= NOW + timedelta(seconds=3600)


def test_entity_expansion_bomb_is_not_expanded(server, loopback, poll):
    entities = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{entities}]>'
            '<rss version="2.0"><channel><title>T</title><item><title>&lol9;</title>'
            '<link>https://example.org/lol</link><description>&lol9; &lol9;</description></item>'
            "</channel></rss>").encode()
    server.routes["/feed"] = answer(200, body, Content_Type="application/rss+xml")
    polled = poll(server.url("/feed"), loopback, healthy=server.url("/healthy"))
    # Nothing expands (10**9 "lol"s otherwise): expat stops at its amplification limit, or
    # feedparser drops the declarations first; an entry may survive, with a recorded problem.
    stored = polled.stored()
    assert all(len(a.title) + len(a.text) < 1000 for a in stored)
    row = polled.row(server.url("/feed"))
    assert row.last_error is not None and "\n" not in row.last_error
    assert "amplification" in row.last_error or "undefined entity" in row.last_error


# --- encodings and missing fields -----------------------------------------------------------

TITLE = "“Café” – l’été à Zürich"
LATIN1_TITLE = "Café: l'été à Zürich, ñandú"


def rss_in(encoding: str, title: str, *, declare: bool) -> bytes:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>' if declare else ""
    return (f'{declaration}<rss version="2.0"><channel><title>Enc</title><item><title>{title}</title>'
            f"<link>https://example.org/{encoding}</link><description>{title} - ok</description></item>"
            "</channel></rss>").encode(encoding)


@pytest.mark.parametrize("body, content_type, expected", [
    (rss_in("iso-8859-1", LATIN1_TITLE, declare=True), "application/rss+xml", LATIN1_TITLE),
    (rss_in("iso-8859-1", LATIN1_TITLE, declare=False), "text/xml; charset=ISO-8859-1", LATIN1_TITLE),
    (rss_in("windows-1252", TITLE, declare=True), "application/rss+xml", TITLE),
    (rss_in("windows-1252", TITLE, declare=False), "application/rss+xml", TITLE),
    (rss_in("windows-1252", TITLE, declare=False), "text/xml", TITLE),
    (rss_in("iso-8859-1", LATIN1_TITLE, declare=False), "application/rss+xml", LATIN1_TITLE),
], ids=["latin1-declared", "latin1-header", "cp1252-declared", "cp1252-undeclared",
        "cp1252-undeclared-text-xml", "latin1-undeclared"])
def test_non_utf8_encodings(server, loopback, poll, body, content_type, expected):
    server.routes["/feed"] = answer(200, body, Content_Type=content_type)
    polled = poll(server.url("/feed"), loopback, healthy=server.url("/healthy"))
    (article,) = polled.stored()
    assert article.title == expected
    assert article.text == f"{expected} - ok"
    row = polled.row(server.url("/feed"))
    # a wrong encoding guess is a problem to show, not a failure
    assert (row.last_status, row.consecutive_failures) == (200, 0)


def test_entries_missing_guid_link_or_date(server, loopback, poll):
    items = [
        "<item><guid isPermaLink='false'>g-1</guid><title>With guid</title>"
        "<pubDate>Fri, 31 May 2024 10:00:00 GMT</pubDate></item>",
        "<item><title>No guid</title><link>https://example.org/no-guid?utm_source=rss</link></item>",
        "<item><title>No guid, no link</title><description>Only text.</description></item>",
        "<item><title>From the future</title><link>https://example.org/future</link>"
        "<pubDate>Fri, 31 May 2030 10:00:00 GMT</pubDate></item>",
    ]
    bodies = iter([f'<rss version="2.0"><channel><title>F{n}</title>{"".join(items)}</channel></rss>'.encode()
                   for n in range(2)])  # the same entries in a changed document: parsed again
    server.routes["/feed"] = lambda h: send(h, 200, next(bodies), {"Content-Type": "application/rss+xml"})
    polled = poll(server.url("/feed"), loopback, healthy=server.url("/healthy"), times=2)
    stored = {a.title: a for a in polled.stored()}
    assert [len(o.new_article_ids) for o in polled.outcomes] == [4, 0]  # each entry is known again
    assert stored["No guid, no link"].url == ""
    assert stored["No guid"].url == "https://example.org/no-guid"
    assert stored["With guid"].published == datetime(2024, 5, 31, 10, 0, tzinfo=timezone.utc)
    assert stored["No guid"].published == NOW  # no date: the time of the poll
    assert stored["From the future"].published == NOW
    assert_ok(polled.row(server.url("/feed")), 200, 4)
    # the documented keys: guid, else canonical URL, else content hash
    keys = [a.dedup_key for a in parse_feed(b"<rss version='2.0'><channel>" + "".join(items).encode()
                                            + b"</channel></rss>", url=server.url("/feed"), now=NOW).articles]
    assert keys[:2] == ["guid:g-1", "url:https://example.org/no-guid"]
    assert keys[2].startswith("hash:")


# --- refused before any connection ----------------------------------------------------------

@pytest.mark.parametrize("url", ["file:///etc/passwd", "/etc/passwd", "ftp://127.0.0.1/x"])
def test_non_http_urls_are_refused_by_the_config_and_the_fetcher(url):
    with pytest.raises(ValidationError, match="http:// or https://"):
        FeedSpec(url=url)
    with HttpFetcher() as fetcher:
        with pytest.raises(BlockedAddressError, match="refused"):
            fetcher.fetch(url)


def names(listener_host: str = "127.0.0.1", healthy_host: str = "127.0.0.1"):
    table = {"healthy.example": [healthy_host], "intranet.example": [listener_host],
             "private.example": ["10.1.2.3"]}

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]
    return resolve


@pytest.mark.parametrize("template, error", [
    ("http://127.0.0.1:{port}/", "127.0.0.1, a loopback address, is refused"),
    ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
    ("http://10.0.0.1/", "10.0.0.1, a private address"),
    ("http://[::ffff:127.0.0.1]:{port}/", "a loopback (embedded in IPv6) address"),
    ("http://2130706433:{port}/", "2130706433 resolves to 127.0.0.1, a loopback address"),
    ("http://intranet.example:{port}/", "intranet.example resolves to 127.0.0.1, a loopback address"),
    ("http://private.example/", "private.example resolves to 10.1.2.3, a private address"),
])
def test_internal_addresses_are_refused_with_no_connection(server, listener, poll, template, error):
    url = template.format(port=listener.port)
    # Only the healthy feed's name is exempt: loopback itself stays refused.
    with HttpFetcher(resolver=names(), allow=["healthy.example"], timeout=2) as fetcher:
        polled = poll(url, fetcher, healthy=server.url("/healthy", host="healthy.example"))
    assert_failed(polled.row(url), None, error)
    assert listener.accepted == 0


def test_ipv6_loopback_is_refused_with_no_connection(server, poll):
    try:
        v6 = Listener("::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    url = f"http://[::1]:{v6.port}/"
    try:
        with HttpFetcher(resolver=names(), allow=["healthy.example"], timeout=2) as fetcher:
            polled = poll(url, fetcher, healthy=server.url("/healthy", host="healthy.example"))
        assert_failed(polled.row(url), None, "::1, a loopback address, is refused")
        assert v6.accepted == 0
    finally:
        v6.close()


@pytest.fixture
def listener2() -> Iterator[Listener]:
    try:
        s = Listener("127.0.0.2")
    except OSError:
        pytest.skip("cannot listen on 127.0.0.2 here")
    yield s
    s.close()


@pytest.mark.parametrize("target, error", [
    ("http://127.0.0.2:{port}/feed", "127.0.0.2, a loopback address"),
    ("http://intranet.example:{port}/feed", "intranet.example resolves to 127.0.0.2, a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
])
def test_a_public_looking_feed_redirecting_inside_is_refused(server, listener2, poll, target, error):
    # news.example stands for a public site: the resolver maps it to the one allowed address.
    server.routes["/feed"] = answer(302, Location=target.format(port=listener2.port))
    resolve = names(listener_host="127.0.0.2")
    table = {"news.example": ["127.0.0.1"]}
    with HttpFetcher(resolver=lambda h, p: table.get(h) or resolve(h, p), allow=["127.0.0.1"],
                     timeout=2) as fetcher:
        url = server.url("/feed", host="news.example")
        polled = poll(url, fetcher, healthy=server.url("/healthy"))
    assert_failed(polled.row(url), None, f"redirect to {target.format(port=listener2.port)}: ")
    assert error in polled.row(url).last_error
    assert listener2.accepted == 0
    assert [path for path, _ in server.requests] == ["/feed", "/healthy"]

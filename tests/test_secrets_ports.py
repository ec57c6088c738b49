"""Secrets in channel query strings, and allow_networks entries that name a port.

Channel URLs: a secret query parameter (apprise's private ones, ``pass``, and
credential-looking names apprise does not declare, such as json://'s
``-token``) must come from the environment as ``${VAR}``; written as a value
it stops the configuration with one located line. Its value, from the
environment, is masked wherever a URL is shown: ``monitor channels list``,
logs and errors of a failed delivery, in every form a URL carries it.

allow_networks: ``host:port``, ``net/len:port``, ``[v6]:port`` open that port
only, against real HTTP servers on loopback, redirects included; an entry
without a port opens every port of what it names.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest

from monitor.config import load_settings
from monitor.core.errors import BlockedAddressError, ConfigError, DeliveryError
from monitor.adapters.fetch import HttpFetcher, check_url
from monitor.adapters.notify import AppriseNotifier
from monitor.core.render import render_test_message
from support.http import LoopbackServer, send
from support.procs import free_port, run_monitor

RULES = "rules:\n  - name: otan\n    keywords:\n      any: [OTAN]\n    channels: [hook]\n"
# A base64-like token: "/", "+" and "=" are encoded differently by each URL that carries it.
TOKEN = "s3cr3t/Tok3n+Zq=="
API_KEY = "k3y/Api+Value"
PASSWORD = "pa55/Word+x"


def write_config(tmp_path, channel_url: str):
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "watch.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "feeds.yaml").write_text("feeds: []\n", encoding="utf-8")
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text("rules_path: rules\nfeeds_path: feeds.yaml\ndata_dir: data\n"
                   f"channels:\n  hook: {channel_url}\n", encoding="utf-8")
    return cfg


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}


def assert_no_secret(texts, secrets=(TOKEN, API_KEY, PASSWORD)):
    for secret in secrets:
        for form in forms(secret):
            leaks = [t for t in texts if form in t]
            assert not leaks, (form, leaks[:3])


# -- secrets in query strings ----------------------------------------------------------

LITERAL = [
    ("ntfy://ntfy.example.org/veille?token=tk_Literal0Secret", "token"),
    ("json://hooks.example.org/x?-token=Literal0Secret", "-token"),
    ("json://hooks.example.org/x?pass=Literal0Secret", "pass"),
    ("json://hooks.example.org/x?method=POST&+X-Api-Key=Literal0Secret", "+X-Api-Key"),
    ("slack://${A}/${B}/${C}/#veille?token=xoxb-Literal0Secret", "token"),
]


@pytest.mark.parametrize("url, param", LITERAL, ids=[p for _, p in LITERAL])
def test_a_literal_secret_in_the_query_string_is_refused_with_its_place_and_the_fix(tmp_path, url, param):
    cfg = write_config(tmp_path, url)
    res = run_monitor("--config", cfg, "channels", "list", env={"A": "a1b2", "B": "b2c3", "C": "c3d4"})
    assert res.returncode == 1, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: {cfg}:5:9: channels.hook: "), lines[0]
    assert repr(param) in lines[0] and f"?{param}=${{HOOK_" in lines[0], lines[0]
    assert "Literal0Secret" not in res.stderr + res.stdout

    with pytest.raises(ConfigError) as info:
        load_settings(cfg, environ={"A": "a1b2", "B": "b2c3", "C": "c3d4"})
    assert (info.value.path, info.value.line, info.value.col) == (str(cfg), 5, 9)


def test_secrets_from_the_environment_are_accepted_and_masked_by_channels_list(tmp_path):
    url = ("json://127.0.0.1:9/x?-token=${HOOK_TOKEN}&+X-Api-Key=${API_KEY}&pass=${HOOK_PW}"
           "&method=POST")
    cfg = write_config(tmp_path, url)
    res = run_monitor("--config", cfg, "channels", "list",
                      env={"HOOK_TOKEN": TOKEN, "API_KEY": API_KEY, "HOOK_PW": PASSWORD})
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("hook ") and "-token=****" in res.stdout, res.stdout
    assert_no_secret([res.stdout, res.stderr])


def test_a_failed_delivery_shows_no_query_secret_in_logs_or_errors(tmp_path, caplog, receiver):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="apprise")
    caplog.set_level(logging.DEBUG, logger="urllib3")
    cfg = write_config(tmp_path, receiver.url + "?-token=${HOOK_TOKEN}&+X-Api-Key=${API_KEY}")
    settings = load_settings(cfg, environ={"HOOK_TOKEN": TOKEN, "API_KEY": API_KEY})
    notifier = AppriseNotifier(settings.channel_urls, secrets=settings.secrets, timeout=5)
    receiver.status = 500
    with pytest.raises(DeliveryError) as info:
        notifier.send("hook", render_test_message("hook", "text"))
    assert receiver.attempts == 1  # it was sent, and refused
    assert any(r.name.startswith("urllib3") for r in caplog.records), "urllib3 logged nothing"
    texts = [caplog.text, str(info.value), repr(info.value), notifier.describe("hook")]
    texts += [r.getMessage() for r in caplog.records]
    assert_no_secret(texts)


def test_the_notifier_masks_a_query_secret_even_when_not_told_it(receiver):
    # Defence in depth: a URL handed to the notifier directly, not through the configuration.
    n = AppriseNotifier({"hook": f"json://127.0.0.1:{free_port()}/x?-token={quote(TOKEN, safe='')}"})
    shown = n.describe("hook")
    assert "-token=****" in shown, shown
    assert_no_secret([shown])


# -- allow_networks entries with a port --------------------------------------------------


class Server(LoopbackServer):
    """HTTP/1.1 on ``host``: /feed answers an RSS body, /to?<url> redirects to <url>."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host, keep_alive=True)

    def respond(self, handler, request) -> None:
        if request.path.startswith("/to?"):
            send(handler, 302, headers={"Location": request.path[4:]})
        else:
            send(handler, 200, b"<rss/>", {"Content-Type": "application/rss+xml"})


@pytest.fixture
def two() -> Iterator[tuple[Server, Server]]:
    a, b = Server(), Server()
    yield a, b
    a.close()
    b.close()


def resolve_internal(host: str, port: int) -> list[str]:
    if host != "feeds.internal":
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return ["127.0.0.1"]


@pytest.mark.parametrize("entry", ["127.0.0.1:{port}", "127.0.0.0/8:{port}", "feeds.internal:{port}",
                                   "Feeds.Internal.:{port}"])
def test_an_entry_with_a_port_opens_that_port_and_refuses_another(two, entry):
    a, b = two
    host = "feeds.internal" if "internal" in entry.lower() else "127.0.0.1"
    allow = [entry.format(port=a.port)]
    with HttpFetcher(allow=allow, resolver=resolve_internal, timeout=5) as f:
        assert f.fetch(f"http://{host}:{a.port}/feed").body == b"<rss/>"
        with pytest.raises(BlockedAddressError, match=rf"refused on port {b.port} \(allow_networks "
                                                      rf"opens it on port {a.port} only\)") as info:
            f.fetch(f"http://{host}:{b.port}/feed")
        assert info.value.permanent is True
    assert b.requests == []
    check_url(f"http://{host}:{a.port}/feed", allow=allow, resolver=resolve_internal)
    with pytest.raises(BlockedAddressError):
        check_url(f"http://{host}:{b.port}/feed", allow=allow, resolver=resolve_internal)


@pytest.mark.parametrize("entry", ["127.0.0.1:{port}", "feeds.internal:{port}"])
def test_a_redirect_to_another_port_of_an_allowed_host_is_refused(two, entry):
    a, b = two
    host = "feeds.internal" if "internal" in entry else "127.0.0.1"
    allow = [entry.format(port=a.port)]
    with HttpFetcher(allow=allow, resolver=resolve_internal, timeout=5) as f:
        same = f.fetch(f"http://{host}:{a.port}/to?http://{host}:{a.port}/feed")
        assert same.body == b"<rss/>" and same.url == f"http://{host}:{a.port}/feed"
        with pytest.raises(BlockedAddressError, match=rf"redirect to http://{host}:{b.port}/feed: .*"
                                                      rf"refused on port {b.port}"):
            f.fetch(f"http://{host}:{a.port}/to?http://{host}:{b.port}/feed")
    assert b.requests == []


def test_an_entry_without_a_port_still_opens_every_port_while_one_with_a_port_opens_one(two):
    a, b = two
    with HttpFetcher(allow=["feeds.internal", "127.0.0.1"], resolver=resolve_internal, timeout=5) as f:
        for host in ("feeds.internal", "127.0.0.1"):
            for s in (a, b):
                assert f.fetch(f"http://{host}:{s.port}/feed").body == b"<rss/>"
            assert f.fetch(f"http://{host}:{a.port}/to?http://{host}:{b.port}/feed").body == b"<rss/>"
    # Two entries for one host add up: a port-less one wins, ported ones open each their port.
    with HttpFetcher(allow=[f"127.0.0.1:{a.port}", f"127.0.0.1:{b.port}"], timeout=5) as f:
        for s in (a, b):
            assert f.fetch(f"http://127.0.0.1:{s.port}/feed").body == b"<rss/>"
        with pytest.raises(BlockedAddressError, match=f"opens it on port {min(a.port, b.port)}, "):
            f.fetch(f"http://127.0.0.1:{free_port()}/feed")


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
@pytest.mark.parametrize("entry", ["[::1]:{port}", "[::1/128]:{port}", "::1/128:{port}"])
def test_a_bracketed_ipv6_entry_names_a_port(entry):
    a, b = Server("::1"), Server("::1")
    try:
        with HttpFetcher(allow=[entry.format(port=a.port)], timeout=5) as f:
            assert f.fetch(a.base + "/feed").body == b"<rss/>"
            with pytest.raises(BlockedAddressError, match=f"refused on port {b.port}"):
                f.fetch(b.base + "/feed")
            with pytest.raises(BlockedAddressError, match=f"refused on port {b.port}"):
                f.fetch(f"{a.base}/to?{b.base}/feed")
        assert b.requests == []
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("entry", ["127.0.0.1:0", "intranet.example:65536", "a:b:c", "[intranet]:80"])
def test_an_entry_that_is_no_host_network_or_port_is_refused(entry):
    with pytest.raises(ValueError, match="allow"):
        HttpFetcher(allow=[entry])


def test_thousands_of_entries_are_read_once_and_still_open_only_what_they_name(two):
    # Read when the fetcher is made, not per request; every connection then looks through
    # them once (linear in the entries), whatever the number of feeds.
    a, b = two
    allow = ([f"10.{i // 256}.{i % 256}.0/24:{1 + i % 60000}" for i in range(5000)]
             + [f"host{i}.internal:{1 + i % 60000}" for i in range(5000)] + [f"127.0.0.1:{a.port}"])
    with HttpFetcher(allow=allow, timeout=5) as f:
        assert f.fetch(f"http://127.0.0.1:{a.port}/feed").body == b"<rss/>"
        with pytest.raises(BlockedAddressError, match=rf"opens it on port {a.port} only"):
            f.fetch(f"http://127.0.0.1:{b.port}/feed")
    assert b.requests == []

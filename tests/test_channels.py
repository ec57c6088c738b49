"""Channels end to end: real apprise plugins sending to real receivers on loopback.

SMTP (aiosmtpd), apprise's JSON webhook, and the self-hostable chat services
Mattermost, ntfy, Gotify and Rocket.Chat through their own apprise schemes, each
receiver checking the endpoint and the payload fields that service expects. No
mocks: Discord cannot be pointed at loopback, so its mention handling is checked
with apprise's own Discord code on what the notifier would hand it.
"""

from __future__ import annotations

import base64
import logging
import re
from datetime import datetime, timedelta, timezone

import pytest

from monitor.core.errors import DeliveryError
from monitor.adapters.notify import AppriseNotifier, _masked_secrets, defuse_mentions, escape_raw_html, redact
from monitor.core.render import ZWSP, render_alert, render_digest
from monitor.core.types import AlertContent, Hit, RenderedAlert
from support.html import ALLOWED_TAGS, Elements, markdown_to_html
from support.http import Receiver
from support.procs import free_port

LINK = "https://example.com/monde/otan"
PUBLISHED = datetime(2022, 1, 18, 13, 5, tzinfo=timezone.utc)
INJECTIONS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "@everyone",
    "@here",
    "<!here>",
    "<!channel>",
    "<@&123>",
    "<@456>",
]
PAYLOAD = " ".join(INJECTIONS)
MENTIONS = ["@everyone", "@here", "<!here>", "<!channel>", "<@&123>", "<@456>"]


def hostile(payload: str = PAYLOAD, *, rule: str = "otan", published=PUBLISHED) -> AlertContent:
    text = f"Avant {payload} l’OTAN à Bruxelles {payload} après."
    start = text.index("OTAN")
    return AlertContent(rule=rule, terms=("OTAN",), title=f"Titre {payload}", link=LINK,
                        feed=f"Flux {payload}", published=published, text=text,
                        hits=(Hit("text", start, start + 4, "OTAN"),))


def assert_no_mentions(value: str):
    for mention in MENTIONS:
        assert mention not in value, (mention, value)
    assert not re.search(f"@(?!{ZWSP})", value), value


def assert_inert_html(source: str, extra_tags=()) -> Elements:
    elements = Elements(source)
    for tag, attrs in elements.tags:
        assert tag in ALLOWED_TAGS | set(extra_tags), (tag, source)
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert tag == "a" and name == "href" and re.match(r"https?://", value or ""), (tag, name, value)
    return elements


def assert_inert_markdown(source: str):
    """Markdown as a chat client or apprise would show it: no tag, no foreign link, no ping."""
    elements = assert_inert_html(markdown_to_html(source), extra_tags={"br", "em", "h1"})  # apprise heads a blended title with "#"
    assert_no_mentions(elements.raw)
    assert "javascript:" not in "".join(v or "" for _, a in elements.tags for _, v in a)


# -- receivers ---------------------------------------------------------------------------


@pytest.fixture
def chat():
    servers = []

    def make(reply=None):  # records every request: req["path"], req["headers"], req["json"]
        s = Receiver(reply=reply or {})
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def send_rendered(url: str, content: AlertContent = None, *, secrets=()) -> tuple[AppriseNotifier, RenderedAlert]:
    n = AppriseNotifier({"c": url}, secrets=secrets, timeout=10)
    rendered = render_alert(content or hostile(), n.format_for("c"), tz="Europe/Paris")
    n.send("c", rendered)
    return n, rendered


# -- email -------------------------------------------------------------------------------


def test_email_is_html_with_a_plain_text_alternative(smtp_server):
    n, rendered = send_rendered(smtp_server.url)
    assert n.format_for("c") == "html"
    [msg] = smtp_server.messages
    assert msg.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}

    html = parts["text/html"]
    elements = assert_inert_html(html)
    assert "<mark>OTAN</mark>" in html
    assert [dict(a)["href"] for t, a in elements.tags if t == "a"] == [LINK]
    assert_no_mentions(elements.raw)
    for payload in INJECTIONS:
        assert payload in elements.plain  # shown as text, whole

    plain = parts["text/plain"]
    assert "OTAN" in plain and LINK in plain and "2022-01-18 14:05 CET" in plain
    assert_no_mentions(plain)
    assert "<script>" not in plain.replace(ZWSP, "") or "<\u200bscript>" in plain  # text, never markup

    subject = str(msg["Subject"])
    assert subject.startswith("[otan] Titre")
    assert_no_mentions(subject)
    assert not Elements(subject).tags


def test_markdown_bound_for_email_keeps_no_raw_html(smtp_server):
    """apprise converts Markdown to HTML for email and keeps raw HTML: the notifier escapes it."""
    raw = RenderedAlert(title="t", body="**bold** <script>alert(1)</script> <img src=x onerror=alert(1)> "
                                        "<!-- c --> \\<ok\\> `<code>`", body_format="markdown")
    for alert in (raw, render_alert(hostile(), "markdown")):
        AppriseNotifier({"mail": smtp_server.url}).send("mail", alert)
    for msg in smtp_server.messages:
        html = next(p.get_content() for p in msg.iter_parts() if p.get_content_type() == "text/html")
        elements = Elements(html)
        assert not {t for t, _ in elements.tags} & {"script", "img", "svg", "iframe"}, html
        assert not [name for _, attrs in elements.tags for name, _ in attrs if name.startswith("on")]
        assert "<!--" not in html
    first = next(p.get_content() for p in smtp_server.messages[0].iter_parts()
                 if p.get_content_type() == "text/html")
    assert "<strong>bold</strong>" in first and "&lt;script&gt;" in first


# -- generic JSON webhook --------------------------------------------------------------------


def test_json_webhook_gets_inert_text(receiver):
    n, rendered = send_rendered(receiver.url)
    assert n.format_for("c") == "text"
    [post] = receiver.posts
    assert set(post) >= {"version", "title", "message", "type"}
    assert post["title"] == rendered.title
    message = post["message"]
    assert "l’«OTAN» à Bruxelles" in message and f"Link: {LINK}" in message
    assert_no_mentions(message)
    assert_no_mentions(post["title"])
    assert "](" not in message
    for payload in INJECTIONS:
        assert payload in message.replace(ZWSP, "")


@pytest.fixture
def keepalive():
    """A webhook answering over HTTP/1.1 with a cookie: ``connections`` and ``cookies`` seen."""
    r = Receiver(keep_alive=True, headers={"Set-Cookie": "sid=from-the-webhook; Path=/"})
    yield r
    r.close()


def test_webhook_alerts_reuse_one_connection_and_carry_no_cookie(keepalive):
    import requests

    n = AppriseNotifier({"hook": f"json://127.0.0.1:{keepalive.port}/hook",
                         "other": f"json://127.0.0.1:{keepalive.port}/other"}, timeout=10)
    alert = RenderedAlert(title="OTAN", body="texte", body_format="text")
    for i in range(10):
        n.send("hook" if i % 2 else "other", alert)
    assert keepalive.connections == 1
    assert keepalive.cookies == [None] * 10  # the server's cookie is never sent back
    # requests used outside a send is left as it is: a connection per call.
    for _ in range(2):
        requests.post(f"http://127.0.0.1:{keepalive.port}/x", data=b"{}", timeout=10)
    assert keepalive.connections == 3


def test_a_failed_webhook_send_is_followed_by_a_fresh_connection(keepalive):
    n = AppriseNotifier({"hook": f"json://127.0.0.1:{keepalive.port}/hook"}, timeout=10)
    alert = RenderedAlert(title="OTAN", body="texte", body_format="text")
    n.send("hook", alert)
    keepalive.status = 500
    with pytest.raises(DeliveryError, match="500"):
        n.send("hook", alert)
    keepalive.status = 200
    n.send("hook", alert)
    n.send("hook", alert)
    assert keepalive.connections == 2 and len(keepalive.cookies) == 4


# -- self-hostable chat services ----------------------------------------------------------


def test_mattermost_incoming_webhook(chat):
    server = chat()
    n, rendered = send_rendered(f"mmost://127.0.0.1:{server.port}/hooktoken123")
    assert n.format_for("c") == "markdown"  # Mattermost renders every message as Markdown
    [req] = server.requests
    assert req["path"] == "/hooks/hooktoken123"
    assert req["headers"]["Content-Type"] == "application/json"
    payload = req["json"]
    assert set(payload) >= {"text", "username"}
    text = payload["text"]
    assert text.startswith(rendered.title)  # apprise puts the title on the first line
    assert "**OTAN**" in text and f"[https://example\\.com/monde/otan]({LINK})" in text
    assert_inert_markdown(text)
    assert text.count("](") == 1


def test_ntfy_json_publish(chat):
    server = chat(reply={"id": "x1", "event": "message"})
    n, rendered = send_rendered(f"ntfy://127.0.0.1:{server.port}/alerts")
    assert n.format_for("c") == "text"
    [req] = server.requests
    assert req["path"] == "/"
    assert "X-Markdown" not in req["headers"]
    payload = req["json"]
    assert payload["topic"] == "alerts"
    assert payload["title"] == rendered.title
    assert payload["message"] == rendered.body
    assert_no_mentions(payload["message"])
    assert "](" not in payload["message"]


def test_ntfy_markdown_when_the_url_asks(chat):
    server = chat(reply={"id": "x2"})
    n, rendered = send_rendered(f"ntfy://127.0.0.1:{server.port}/alerts?format=markdown")
    assert n.format_for("c") == "markdown"
    [req] = server.requests
    assert req["headers"]["X-Markdown"] == "yes"
    assert "**OTAN**" in req["json"]["message"]
    assert_inert_markdown(req["json"]["message"])


def test_gotify_message_with_markdown_extras(chat):
    server = chat(reply={"id": 1})
    n, rendered = send_rendered(f"gotify://127.0.0.1:{server.port}/AppTokenXYZ?format=markdown")
    assert n.format_for("c") == "markdown"
    [req] = server.requests
    assert req["path"] == "/message"
    assert req["headers"]["X-Gotify-Key"] == "AppTokenXYZ"
    payload = req["json"]
    assert payload["extras"] == {"client::display": {"contentType": "text/markdown"}}
    assert isinstance(payload["priority"], int)
    assert payload["title"] == rendered.title
    assert "**OTAN**" in payload["message"]
    assert_inert_markdown(payload["message"])


def test_rocketchat_incoming_webhook(chat):
    server = chat(reply={"success": True})
    n, rendered = send_rendered(f"rocket://hookid/hooktoken@127.0.0.1:{server.port}/general?mode=webhook")
    assert n.format_for("c") == "markdown"  # apprise's declared format for Rocket.Chat
    [req] = server.requests
    assert req["path"] == "/hooks/hookid/hooktoken"
    payload = req["json"]
    assert payload["channel"] == "general"
    assert "**OTAN**" in payload["text"]
    assert_inert_markdown(payload["text"])
    assert payload["text"].count("](") == 1


@pytest.mark.parametrize("payload", INJECTIONS)
def test_each_injection_arrives_inert_everywhere(payload, chat, receiver, smtp_server):
    server = chat(reply={"success": True})
    urls = {
        "mail": smtp_server.url,
        "json": receiver.url,
        "mattermost": f"mmost://127.0.0.1:{server.port}/tok",
        "ntfy": f"ntfy://127.0.0.1:{server.port}/alerts?format=markdown",
        "gotify": f"gotify://127.0.0.1:{server.port}/tok",
    }
    n = AppriseNotifier(urls, timeout=10)
    for name in urls:
        n.send(name, render_alert(hostile(payload), n.format_for(name)))
    html = next(p.get_content() for p in smtp_server.messages[0].iter_parts()
                if p.get_content_type() == "text/html")
    assert payload in assert_inert_html(html).plain
    seen = [receiver.posts[0]["message"], receiver.posts[0]["title"]]
    for req in server.requests:
        body = req["json"]
        seen += [body.get("text", ""), body.get("message", ""), body.get("title", "")]
    for value in seen:
        assert_no_mentions(value)
        assert "<script" not in value and "<img" not in value
        assert "](javascript" not in value.replace("\\", "")


# -- Discord: apprise's own ping detection on what we would send ------------------------------


@pytest.mark.parametrize("url", ["discord://123456789/abcdefTOKEN",
                                 "discord://123456789/abcdefTOKEN?format=markdown"])
def test_discord_never_pings(url):
    from apprise.plugins.discord import NotifyDiscord

    n = AppriseNotifier({"d": url})
    assert n.format_for("d") == "markdown"
    plugin = NotifyDiscord(**NotifyDiscord.parse_url(url))
    assert plugin.ping_payload("hello @everyone <@&123>")  # the detection we guard against
    for fmt in ("text", "markdown"):
        rendered = render_alert(hostile(), fmt)
        ready = n.prepare("d", rendered)
        assert plugin.ping_payload(ready.body) == {}
        assert plugin.ping_payload(ready.title) == {}
    # Even a body that did not come from our renderer (a user template, a test message).
    ready = n.prepare("d", RenderedAlert(title="@here", body="@everyone <@&123> <@456> @role",
                                         body_format="markdown"))
    assert plugin.ping_payload(ready.body) == {} and plugin.ping_payload(ready.title) == {}


def test_defuse_mentions_is_idempotent_and_invisible():
    once = defuse_mentions("@everyone <!here> <@&1> a@b")
    assert defuse_mentions(once) == once
    assert once.replace(ZWSP, "") == "@everyone <!here> <@&1> a@b"
    assert escape_raw_html(escape_raw_html("a <b> \\<c> \\\\<d>")) == "a \\<b> \\<c> \\\\\\<d>"


# -- digests ---------------------------------------------------------------------------------


def test_digest_of_50_matches_for_3_rules_is_one_message(chat):
    server = chat()
    base = datetime(2024, 5, 1, 6, 0, tzinfo=timezone.utc)
    rules = ["otan"] * 31 + ["ukraine"] * 12 + ["climat"] * 7
    alerts = [hostile(rule=r, published=base + timedelta(minutes=i)) for i, r in enumerate(rules)]
    n = AppriseNotifier({"mm": f"mmost://127.0.0.1:{server.port}/tok"})
    digest = render_digest("mm", alerts, n.format_for("mm"), tz="Europe/Paris", held_reason="quiet hours")
    n.send("mm", digest)
    [req] = server.requests
    text = req["json"]["text"]
    assert text.startswith("[digest] 50 matches for 3 rules")
    assert "otan: 31, ukraine: 12, climat: 7" in text
    assert text.count("**OTAN**") == 50
    assert_inert_markdown(text)
    times = re.findall(r"2024\\-05\\-01 (\d\d:\d\d) CEST", text)
    assert times == sorted(times, reverse=True) and len(times) == 50


# -- secrets -----------------------------------------------------------------------------------


SECRET = "SECRETVALUE"
TOKEN = "MattermostSecretToken42"
NTFY = "tk_NtfySecretToken77"


def test_no_secret_in_any_log_record_or_error(caplog, receiver, chat):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="apprise")
    caplog.set_level(logging.DEBUG, logger="urllib3")
    server = chat()
    dead = free_port()
    urls = {
        "json": f"json://user:{SECRET}@127.0.0.1:{receiver.port}/x",
        "mm": f"mmost://127.0.0.1:{server.port}/{TOKEN}",
        "ntfy": f"ntfy://{NTFY}@127.0.0.1:{server.port}/alerts",
        "down": f"json://user:{SECRET}@127.0.0.1:{dead}/x",
    }
    errors = []
    for status in (200, 500):
        # A new notifier per round: apprise spaces two sends of one plugin 5.5 s apart.
        n = AppriseNotifier(urls, secrets=[SECRET], timeout=5)
        receiver.status = server.status = status
        for name in urls:
            try:
                n.send(name, render_alert(hostile(), n.format_for(name)))
            except DeliveryError as e:
                errors.append(e)
    assert receiver.posts and server.requests  # the sends happened, then failed
    assert len(errors) == 5, errors  # "down" twice, and the three others with status 500
    auth = base64.b64encode(f"user:{SECRET}".encode()).decode()
    assert server.requests[0]["path"] == f"/hooks/{TOKEN}"  # the secret did reach the service

    debug = [r for r in caplog.records if r.levelno <= logging.DEBUG]
    assert debug, "apprise logged nothing at DEBUG: the test checks nothing"
    everything = [r.getMessage() for r in caplog.records] + [caplog.text]
    everything += [str(e) for e in errors] + [repr(e) for e in errors] + [e.reason for e in errors]
    everything += [n.describe(name) for name in urls]
    for secret in (SECRET, TOKEN, NTFY, auth):
        leaks = [line for line in everything if secret in line]
        assert not leaks, (secret, leaks[:3])
    assert any("****" in line for line in everything)  # redacted, not silently dropped


def test_redact_replaces_longest_secrets_first():
    assert redact("abc abcdef", ["abc", "abcdef"]) == "**** ****"
    assert redact("short ab", ["ab"]) == "short ab"  # too short to be told from text


class _PrintedAs:
    """A plugin stand-in: its URL in full and in apprise's privacy form."""

    def __init__(self, full: str, private: str):
        self._full, self._private = full, private

    def url(self, privacy: bool = False) -> str:
        return self._private if privacy else self._full


def test_a_masked_value_that_held_separators_is_found_among_100_000_parameters():
    # The secret "a/b:c" splits into five parts, its mask into one: the parts no longer
    # pair up. A diff of the parts took minutes here; the common head and tail do not.
    query = "&".join(f"p{i}=value{i}" for i in range(100_000))
    plugin = _PrintedAs(f"json://host/tok/a/b:c/end?{query}", f"json://host/tok/****/end?{query}")
    found = _masked_secrets(plugin)
    assert {"a", "b", "c"} <= found
    assert not {"host", "tok", "end", "value0", "value99999"} & found

"""Notifier adapter: sends rendered alerts through apprise.

apprise never raises from ``notify()``; it returns a falsy result. Here that
becomes a :class:`DeliveryError` carrying apprise's own reason (from the logs of
that one call), with every secret removed, so the caller can retry. Channel
URLs are checked when configuration loads and are never printed except in
apprise's privacy form.

What this adapter adds on top of apprise, because apprise does not do it:

- Secrets stay out of logs. apprise logs webhook URLs, tokens and headers at
  DEBUG, and urllib3 logs request paths (which hold Mattermost, Gotify or
  Rocket.Chat tokens). A filter on those loggers rewrites every record with the
  configured secrets, and the secrets apprise itself masks in its privacy URLs,
  replaced by ``****``, before any handler sees it.
- apprise's Markdown-to-HTML conversion keeps raw HTML. A Markdown body bound
  for a channel that shows HTML has every unescaped ``<`` escaped first, so no
  tag can come out of it whatever produced the Markdown.
- Connections are kept. apprise's HTTP plugins call ``requests.request``,
  which opens a session and a connection per message and closes both. During
  :meth:`AppriseNotifier.send` (and only then: a context variable says so,
  which apprise carries into the thread it sends from), those calls go through
  a pooled ``requests.Session`` instead, one per send in flight, that keeps no
  cookies: to a webhook on loopback, 1.85 ms of CPU per alert became 1.14 (the
  receiver's share included).
- Chat mentions never ping. apprise's Discord plugin turns ``@everyone``,
  ``<@123>`` and ``<@&123>`` found in the body into live pings; text and
  Markdown bodies and every title get a zero-width space after each ``@`` and
  after ``<`` before ``@ ! # &``, which breaks every mention syntax (Discord,
  Slack, Mattermost, Rocket.Chat) and stays invisible.
"""

from __future__ import annotations

import base64
import http.cookiejar
import logging
import queue
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from typing import Protocol
from urllib.parse import parse_qs, quote, quote_plus, unquote, urlsplit

import apprise
import requests
import requests.api

from monitor.core.errors import ConfigError, DeliveryError
from monitor.core.types import RenderedAlert

log = logging.getLogger(__name__)
_FORMATS = {"text", "markdown", "html"}
# Loggers that write what apprise sends: its own, and urllib3's request lines.
SECRET_LOGGERS = ("apprise", "urllib3.connectionpool")
# Services apprise declares as text-first whose clients render every message as
# Markdown anyway: escaped Markdown reads better there than unescaped text.
_MARKDOWN_CLIENTS = {"Discord", "Mattermost"}

ZWSP = "\u200b"
_MENTION = re.compile(f"@(?!{ZWSP})|<(?=[@!#&])")
# A "<" preceded by an even number of backslashes is not escaped.
_RAW_ANGLE = re.compile(r"(?<!\\)((?:\\\\)*)<")
_URL_PARTS = re.compile(r"([/?&=:@#,])")


class Notifier(Protocol):
    def format_for(self, channel: str) -> str: ...
    def send(self, channel: str, alert: RenderedAlert) -> None: ...


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret value replaced by ****."""
    for s in sorted(secrets, key=len, reverse=True):  # longest first: a secret may hold another
        if s and len(s) >= 3:
            text = text.replace(s, "****")
    return text


def defuse_mentions(text: str) -> str:
    """``text`` with a zero-width space after each ``@`` and after ``<`` before
    ``@ ! # &``, so no chat service reads a mention in it. Idempotent."""
    return _MENTION.sub(lambda m: m.group() + ZWSP, text)


def escape_raw_html(markdown: str) -> str:
    """Markdown with every unescaped ``<`` backslash-escaped, so a Markdown-to-HTML
    converter that passes raw HTML through (apprise's does) emits none."""
    return _RAW_ANGLE.sub(lambda m: m.group(1) + "\\<", markdown)


class _RedactSecrets(logging.Filter):
    """Rewrites every record of the loggers it is on with the secrets masked.

    One instance serves every notifier in the process; secrets only ever accumulate.
    """

    def __init__(self):
        super().__init__("")
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            merged = set(self._secrets) | {s for s in secrets if s and len(s) >= 3}
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it, without its args
            message, record.args = str(record.msg), ()
        clean = redact(message, secrets)
        if clean != message or record.args:
            record.msg, record.args = clean, ()
        if record.exc_info:
            # Formatters reuse exc_text; the traceback may quote the URL.
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text, record.exc_info = redact(text, secrets), None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        return True


_FILTER = _RedactSecrets()


def _install_filter(secrets: Iterable[str]) -> None:
    _FILTER.add(secrets)
    for name in SECRET_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def _url_secrets(url: str) -> set[str]:
    """The password of ``url`` and its Basic-auth form, before apprise parses it."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return found
    if password:
        for p in {password, unquote(password)}:
            found.add(p)
            creds = f"{unquote(user or '')}:{p}".encode()
            found.add(base64.b64encode(creds).decode("ascii"))
    return found


# Names of parameters that hold a credential, for those apprise does not declare:
# the free-form ones of its json://, form:// and xml:// (``-param``, ``+Header``,
# ``:field``) and any other it would pass along or ignore.
_SECRET_WORDS = frozenset({
    "pass", "password", "passwd", "pwd", "secret", "token", "key", "apikey", "auth", "authorization",
    "bearer", "credential", "credentials", "signature", "sig", "cookie", "session", "sid", "jwt",
    "webhook",
})
_SECRET_PARTS = ("token", "secret", "passw", "apikey", "api_key", "credential", "webhook")
_NAME_WORDS = re.compile(r"[^a-z0-9]+")
# Query parameters apprise reads for every service (URLBase): the password and its alias.
_ALWAYS_SECRET = frozenset({"password", "pass"} | set(getattr(apprise.url, "URL_TOKEN_ALIASES", {})))


def _looks_secret(name: str) -> bool:
    """True when a parameter or header name says it holds a credential (``X-Api-Key``, ``access_token``)."""
    lowered = name.lower()
    return (any(part in lowered for part in _SECRET_PARTS)
            or any(word in _SECRET_WORDS for word in _NAME_WORDS.split(lowered)))


def _private(plugin_cls, name: str, seen: frozenset[str] = frozenset()) -> bool:
    """True when apprise declares ``name`` private for this service, itself or through ``alias_of``."""
    args, tokens = plugin_cls.template_args, plugin_cls.template_tokens
    for spec in (args.get(name), tokens.get(name)):
        if not isinstance(spec, dict):
            continue
        if spec.get("private"):
            return True
        alias = spec.get("alias_of")
        for target in (alias,) if isinstance(alias, str) else tuple(alias or ()):
            if target == name:  # an argument standing for the token of the same name
                if isinstance(tokens.get(target), dict) and tokens[target].get("private"):
                    return True
            elif target not in seen and _private(plugin_cls, target, seen | {name}):
                return True
    return False


def secret_parameters(url: str) -> list[tuple[str, str]]:
    """The query parameters of ``url`` that hold secrets, as (name, value) pairs, decoded.

    A parameter is a secret when apprise declares it private for the URL's
    service (``template_args``/``template_tokens`` with ``private``, directly or
    as an alias), when it is ``password``/``pass`` (apprise reads them for every
    service), or, for a name apprise does not declare (the ``-param``,
    ``+Header`` and ``:field`` of json://, form://, xml://, or an unknown one),
    when the name says so (token, key, secret, auth...). An unknown scheme is
    judged by names alone. Touches nothing but apprise's plugin table.
    """
    # Split as apprise splits: the query is all after the first "?", a "#" included
    # (slack://.../#channel?token=...).
    scheme, _, rest = url.strip().partition(":")
    _, question, query = rest.partition("?")
    if not question:
        return []
    pairs = _query_pairs(query)
    try:
        plugin_cls = apprise.NotificationManager()[scheme.lower()]
    except KeyError:
        plugin_cls = None
    prefixes = tuple(spec["prefix"] for spec in getattr(plugin_cls, "template_kwargs", {}).values()
                     if isinstance(spec, dict) and spec.get("prefix"))
    found = []
    for name, value in pairs:
        if not value:
            continue
        key = name.lower()
        if key in _ALWAYS_SECRET:
            secret = True
        elif plugin_cls is not None and prefixes and key[:1] in prefixes:
            secret = _looks_secret(key[1:])
        elif plugin_cls is not None and (key in plugin_cls.template_args or key in plugin_cls.template_tokens):
            secret = _private(plugin_cls, key)
        else:
            secret = _looks_secret(key)
        if secret:
            found.append((name, value))
    return found


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """The query's (name, value) pairs read as apprise reads them: "&" or ";" between
    pairs, and a "+" kept as is (apprise's ``+Header`` names, and tokens that hold one)."""
    pairs = []
    for item in re.split(r"[&;]", query):
        name, _, value = item.partition("=")
        pairs.append((unquote(name).strip(), unquote(value).strip()))
    return pairs


def _encoded_forms(secret: str) -> set[str]:
    """``secret`` as a URL may carry it: apprise re-encodes values in the URLs it prints,
    and requests in the query strings urllib3 logs."""
    return {secret, quote(secret, safe=""), quote(secret), quote_plus(secret, safe="")}


def _masked_secrets(plugin) -> set[str]:
    """The parts of the plugin's URL that apprise masks in its privacy form."""
    full = _URL_PARTS.split(plugin.url(privacy=False))
    masked = _URL_PARTS.split(plugin.url(privacy=True))
    if len(full) == len(masked):
        differing = [a for a, b in zip(full, masked) if a != b]
    else:
        # A masked value held a separator, so the parts no longer pair up: all of the
        # full URL between the common head and tail. Linear (a diff of the parts is
        # quadratic in a URL of many parameters), and it masks more, never less.
        shorter = min(len(full), len(masked))
        head = 0
        while head < shorter and full[head] == masked[head]:
            head += 1
        tail = 0
        while tail < shorter - head and full[-1 - tail] == masked[-1 - tail]:
            tail += 1
        differing = full[head:len(full) - tail]
    return {form for part in differing for form in (part, unquote(part))}


# The session apprise's requests go through, set for the length of one send.
_SESSION: ContextVar[requests.Session | None] = ContextVar("monitor_notify_session", default=None)


def _install_pooled_requests() -> None:
    """Route ``requests.request`` (which ``requests.post`` and the others call) through
    :data:`_SESSION` when it is set; unchanged otherwise. Idempotent."""
    if getattr(requests.api.request, "_pooled", False):
        return
    plain = requests.api.request

    def request(method, url, **kwargs):
        session = _SESSION.get()
        if session is None:
            return plain(method, url, **kwargs)
        return session.request(method=method, url=url, **kwargs)

    request._pooled = True
    request.__doc__ = plain.__doc__
    requests.api.request = requests.request = request


def _new_session() -> requests.Session:
    """A session like the one ``requests.request`` makes each time, but kept: it keeps
    connections, and no cookie (one channel's server must not set what the next message,
    perhaps to another channel, sends)."""
    session = requests.Session()
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


class AppriseNotifier:
    """One apprise plugin per named channel, built once.

    ``secrets`` are values that must never be shown (those taken from the
    environment into channel URLs); with the parts apprise masks in each URL's
    privacy form, they are removed from every record of the ``apprise`` and
    ``urllib3.connectionpool`` loggers (a filter this constructor installs) and
    from every error raised. Raises ConfigError when apprise cannot use a URL.
    """

    def __init__(self, channels: Mapping[str, str], *, secrets: Sequence[str] = (),
                 timeout: float = 30.0, locate=None):
        found = set(secrets)
        for url in channels.values():
            found |= _url_secrets(url)
            found |= {value for _, value in secret_parameters(url)}
        found = {form for secret in found for form in _encoded_forms(secret)}
        # Installed before apprise parses the URLs: it logs some of them as it does.
        _install_filter(found)
        self._timeout = timeout
        self._local = threading.local()
        # Sessions not in use; one is taken per send (so never shared by two at once).
        self._sessions: queue.SimpleQueue[requests.Session] = queue.SimpleQueue()
        _install_pooled_requests()
        self._plugins: dict[str, apprise.plugins.NotifyBase] = {}
        self._explicit: dict[str, str] = {}
        for name, url in channels.items():
            plugin = apprise.Apprise.instantiate(url)
            if plugin is None:
                where = locate("channels", name) if locate else {}
                scheme = url.split("://", 1)[0] if "://" in url else url[:20]
                raise ConfigError(f"apprise cannot use this URL (scheme {scheme!r}): check its form "
                                  f"at https://github.com/caronc/apprise/wiki", field=f"channels.{name}",
                                  **where)
            found |= _masked_secrets(plugin)
            self._plugins[name] = plugin
            explicit = _query_format(url)
            if explicit in _FORMATS:
                self._explicit[name] = explicit
        _install_filter(found)
        self._secrets = tuple(sorted(found, key=len, reverse=True))

    @property
    def names(self) -> list[str]:
        return sorted(self._plugins)

    def describe(self, channel: str) -> str:
        """The channel's URL in apprise's privacy form (secrets masked)."""
        return redact(self._plugin(channel).url(privacy=True), self._secrets)

    def _plugin(self, channel: str):
        try:
            return self._plugins[channel]
        except KeyError:
            raise DeliveryError("no such channel is configured", channel=channel) from None

    def format_for(self, channel: str) -> str:
        """The body format the channel shows best: "html", "markdown" or "text".

        A ``format=`` in the channel URL wins. Otherwise the format apprise
        declares first for the service: "html" for email (and Telegram, whose
        HTML apprise reduces to the tags it accepts), "markdown" for services
        that take Markdown (Slack, Rocket.Chat...) and for Discord and
        Mattermost, which render every message as Markdown; "text" for the rest.
        """
        plugin = self._plugin(channel)
        if channel in self._explicit:
            return self._explicit[channel]
        native = str(plugin.resolve_format(None).value)
        if native in ("html", "markdown"):
            return native
        if plugin.service_name in _MARKDOWN_CLIENTS:
            return "markdown"
        return "text"

    def serial(self, channel: str) -> bool:
        """True when apprise spaces this channel's messages out (its throttle): send them
        one after the other, never concurrently through the one plugin."""
        return getattr(self._plugin(channel), "request_rate_per_sec", 0) > 0

    def prepare(self, channel: str, alert: RenderedAlert) -> RenderedAlert:
        """The alert exactly as :meth:`send` hands it to apprise: mentions defused in
        the title and in text and Markdown bodies, and raw HTML escaped in a
        Markdown body that apprise would convert to HTML for this channel."""
        plugin = self._plugin(channel)
        body, fmt = alert.body, alert.body_format
        if fmt not in _FORMATS:
            raise ValueError(f"unknown body format {fmt!r}")
        if fmt != "html":
            body = defuse_mentions(body)
        title = defuse_mentions(alert.title)
        if fmt == "markdown" and str(plugin.resolve_format(fmt).value) == "html":
            body = escape_raw_html(body)
            title = escape_raw_html(title)  # a title blended into the body is converted too
        return RenderedAlert(title=title, body=body, body_format=fmt)

    def send(self, channel: str, alert: RenderedAlert) -> None:
        """Send one alert. Raises DeliveryError with apprise's reason on failure."""
        plugin = self._plugin(channel)
        ready = self.prepare(channel, alert)
        # One Apprise object per channel and thread, made once: making one per send
        # (locale and language lookups included) cost a tenth of a send to a webhook.
        made = getattr(self._local, "apprise", None)
        if made is None:
            made = self._local.apprise = {}
        a = made.get(channel)
        if a is None:
            a = made[channel] = apprise.Apprise()
            a.add(plugin)
        try:
            session = self._sessions.get_nowait()
        except queue.Empty:
            session = _new_session()
        token = _SESSION.set(session)
        try:
            result = a.notify(body=ready.body, title=ready.title, body_format=ready.body_format,
                              timeout=self._timeout, log_level=logging.WARNING)
        finally:
            _SESSION.reset(token)
        if result:
            self._sessions.put(session)
            return
        # Not put back: after a failure (a timeout may leave apprise's thread still using
        # it) the next send starts from a new session.
        reasons = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
        reason = reasons[-1] if reasons else "apprise reported a failure without a reason"
        if len(reasons) > 1 and reasons[0] != reason:
            reason = f"{reasons[0]}; {reason}"
        raise DeliveryError(redact(" ".join(reason.split()), self._secrets), channel=channel)


def _query_format(url: str) -> str | None:
    try:
        values = parse_qs(urlsplit(url).query).get("format")
    except ValueError:
        return None
    return values[-1].lower() if values else None

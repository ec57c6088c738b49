"""Notifier adapter: sends rendered alerts through apprise.

apprise never raises from ``notify()``; it returns a falsy result. Here that
becomes a :class:`DeliveryError` carrying apprise's own reason (from the logs of
that one call), with every secret removed, so the caller can retry. Channel
URLs are checked when configuration loads and are never printed except in
apprise's privacy form.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

import apprise

from .errors import ConfigError, DeliveryError
from .types import RenderedAlert

log = logging.getLogger(__name__)
_FORMATS = {"text", "markdown", "html"}


class Notifier(Protocol):
    def format_for(self, channel: str) -> str: ...
    def send(self, channel: str, alert: RenderedAlert) -> None: ...


def redact(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret value replaced by ****."""
    for s in secrets:
        if s and len(s) >= 3:
            text = text.replace(s, "****")
    return text


class AppriseNotifier:
    """One apprise plugin per named channel, built once."""

    def __init__(self, channels: Mapping[str, str], *, secrets: Sequence[str] = (),
                 timeout: float = 30.0, locate=None):
        self._secrets = tuple(secrets)
        self._timeout = timeout
        self._plugins: dict[str, apprise.plugins.NotifyBase] = {}
        for name, url in channels.items():
            plugin = apprise.Apprise.instantiate(url)
            if plugin is None:
                where = locate("channels", name) if locate else {}
                scheme = url.split("://", 1)[0] if "://" in url else url[:20]
                raise ConfigError(f"apprise cannot use this URL (scheme {scheme!r}): check its form "
                                  f"at https://github.com/caronc/apprise/wiki", field=f"channels.{name}",
                                  **where)
            self._plugins[name] = plugin

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
        """The body format the channel shows best: "html", "markdown" or "text"."""
        fmt = str(self._plugin(channel).resolve_format(None).value)
        return fmt if fmt in _FORMATS else "text"

    def send(self, channel: str, alert: RenderedAlert) -> None:
        """Send one alert. Raises DeliveryError with apprise's reason on failure."""
        plugin = self._plugin(channel)
        a = apprise.Apprise()
        a.add(plugin)
        result = a.notify(body=alert.body, title=alert.title, body_format=alert.body_format,
                          timeout=self._timeout, log_level=logging.WARNING)
        if result:
            return
        reasons = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR", "CRITICAL")]
        reason = reasons[-1] if reasons else "apprise reported a failure without a reason"
        if len(reasons) > 1 and reasons[0] != reason:
            reason = f"{reasons[0]}; {reason}"
        raise DeliveryError(redact(" ".join(reason.split()), self._secrets), channel=channel)

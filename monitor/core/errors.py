"""The one error hierarchy of media-monitor.

Every error the library raises on purpose derives from :class:`MonitorError`;
leaves also derive from the built-in they are, carry the identifiers a person
needs (file:line:col, feed URL, rule or channel name) and survive pickling,
because Celery pickles them across processes.
"""

from __future__ import annotations


def _rebuild(cls, args, state):
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class MonitorError(Exception):
    """Root of every error media-monitor raises on purpose."""

    def __reduce__(self):
        # Keyword-only attributes are not in self.args; carry them in the state.
        return (_rebuild, (type(self), self.args, self.__dict__))


class ConfigError(MonitorError, ValueError):
    """A configuration, feed-list, channel or rule file is wrong.

    ``str(err)`` is one line, ``file:line:col: field: message``;
    ``err.problems`` holds every problem found, each such a line.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 col: int | None = None, field: str | None = None,
                 problems: tuple[str, ...] = ()):
        self.path, self.line, self.col, self.field = path, line, col, field
        self.message = message
        first = self._format()
        self.problems = tuple(problems) or (first,)
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))

    def _format(self) -> str:
        where = ""
        if self.path:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.col is not None:
                    where += f":{self.col}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class RuleError(ConfigError):
    """A rule file or a rule is invalid."""


class FeedError(MonitorError):
    """A feed could not be fetched or parsed; ``url`` names it."""

    def __init__(self, message: str, *, url: str, status: int | None = None,
                 permanent: bool = False):
        self.url, self.status, self.permanent = url, status, permanent
        super().__init__(f"{url}: {message}")


class FetchError(FeedError, OSError):
    """The feed server could not be reached or answered with an error."""


class BlockedAddressError(FeedError, PermissionError):
    """The feed URL points at an address the guard refuses (loopback, private...)."""


class StoreError(MonitorError, RuntimeError):
    """The database is unreachable or refused an operation."""


class DeliveryError(MonitorError, RuntimeError):
    """A channel did not accept an alert; ``channel`` names it, ``reason`` says why."""

    def __init__(self, reason: str, *, channel: str):
        self.channel, self.reason = channel, reason
        super().__init__(f"channel {channel!r}: {reason}")

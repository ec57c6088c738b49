"""Fakes of the adapters' Protocols, passed to the pipeline in place of the real ones."""

from __future__ import annotations

import threading
from dataclasses import replace

from monitor.core.errors import DeliveryError
from monitor.core.types import FetchResult

RSS = "application/rss+xml"


class FakeFetcher:
    """A Fetcher serving canned responses by URL; build it with serve(), serve_any() and fail().

    ``calls`` lists each fetch as (url, etag, last_modified). A response served with an
    ETag answers 304 to a request that sends it back.
    """

    def __init__(self, bodies: dict[str, bytes] | None = None):
        self.responses: dict[str, FetchResult | Exception] = {}
        self.default: FetchResult | None = None
        self.calls: list[tuple[str, str | None, str | None]] = []
        for url, body in (bodies or {}).items():
            self.serve(url, body)

    def serve(self, url: str, body: bytes, *, status: int = 200, etag: str | None = None,
              content_type: str = RSS) -> FakeFetcher:
        self.responses[url] = FetchResult(url=url, status=status, body=body, etag=etag,
                                          headers={"content-type": content_type})
        return self

    def serve_any(self, body: bytes, *, content_type: str = RSS) -> FakeFetcher:
        """Answer ``body`` for every URL not served otherwise."""
        self.default = FetchResult(url="", status=200, body=body, headers={"content-type": content_type})
        return self

    def fail(self, url: str, error: Exception) -> FakeFetcher:
        self.responses[url] = error
        return self

    def fetch(self, url, *, etag=None, last_modified=None) -> FetchResult:
        self.calls.append((url, etag, last_modified))
        r = self.responses.get(url)
        if r is None and self.default is not None:
            r = replace(self.default, url=url)
        if r is None:
            raise KeyError(url)
        if isinstance(r, Exception):
            raise r
        if etag is not None and etag == r.etag:
            return FetchResult(url=url, status=304, etag=etag)
        return r


class RecordingNotifier:
    """A Notifier that keeps what it is asked to send: (channel, RenderedAlert) pairs.

    ``formats`` is one body format for every channel or a channel -> format table. A channel
    in ``failing`` (channel -> reason) raises DeliveryError. ``held=True`` holds each send
    until ``release`` is set; ``started`` is set when a send begins.
    """

    def __init__(self, formats: str | dict[str, str] = "text", *, held: bool = False):
        self.formats, self.sent, self.failing = formats, [], {}
        self.started, self.release = threading.Event(), threading.Event()
        if not held:
            self.release.set()

    def format_for(self, channel):
        return self.formats if isinstance(self.formats, str) else self.formats[channel]

    def send(self, channel, alert):
        self.started.set()
        assert self.release.wait(60), "never released"
        if channel in self.failing:
            raise DeliveryError(self.failing[channel], channel=channel)
        self.sent.append((channel, alert))

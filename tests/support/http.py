"""One loopback HTTP server for the tests, and a TCP listener that only counts connections.

``LoopbackServer`` answers every request (any method) from ``routes`` (path -> a
``Route``, a callable that writes the answer on the handler), records each request it
saw, counts connections and tracks the requests in flight. Two faces of it:

- ``FeedServer`` serves content: ``routes[path]`` is ``(body, content type)`` or a
  callable giving one, and ``hits[path]`` counts the requests for each path.
- ``Receiver`` takes every request in as a webhook: JSON bodies accepted land in
  ``posts``; ``status``, ``delay``, ``hold`` and ``reply`` say how it answers.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], None]


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes = b"",
         headers: dict[str, str] | None = None) -> None:
    """Answer a request with ``status``, ``body`` and ``headers`` (Content-Length added)."""
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def answer(status: int, body: bytes = b"", **headers: str) -> Route:
    """A route answering ``status``; header names are written with _ for -."""
    named = {k.replace("_", "-"): v for k, v in headers.items()}
    return lambda handler: send(handler, status, body, named)


class Headers(Mapping[str, str]):
    """A request's headers, looked up by name in any case (as HTTP has them)."""

    def __init__(self, items):
        self._items = {name.lower(): (name, value) for name, value in items}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


class Request:
    """One request as the server saw it. It unpacks as ``(path, headers)``, and is read by
    name too: ``req["path"]``, ``req["headers"]``, ``req["json"]`` (the body, parsed).
    ``at`` is when it arrived (time.monotonic)."""

    def __init__(self, method: str, path: str, headers: Headers, body: bytes):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.at = time.monotonic()

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body.decode("utf-8", "replace")

    def __iter__(self):
        return iter((self.path, self.headers))

    def __getitem__(self, key: int | str) -> Any:
        return (self.path, self.headers)[key] if isinstance(key, int) else getattr(self, key)

    def __repr__(self) -> str:
        return f"Request({self.method} {self.path})"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.owner.lock:
            self.server.owner.connections += 1

    def _any(self) -> None:
        owner: LoopbackServer = self.server.owner
        self.body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Request(self.command, self.path, Headers(self.headers.items()), self.body)
        key = self.client_address[1]
        with owner.lock:
            owner.requests.append(request)
            owner.in_flight[key] = time.monotonic()
        try:
            owner.respond(self, request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (size cap, timeout, killed sender)
        finally:
            with owner.lock:
                owner.in_flight.pop(key, None)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any


class LoopbackServer:
    """A threaded HTTP server on ``host`` (IPv6 too), port chosen by the system.

    ``keep_alive`` speaks HTTP/1.1 (connections kept open between requests), else HTTP/1.0.
    ``stop`` is set when the server closes: a route that stalls on purpose waits on it.
    """

    def __init__(self, host: str = "127.0.0.1", *, keep_alive: bool = False) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.in_flight: dict[int, float] = {}  # client port -> when its request arrived
        self.connections = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        handler = type("Handler", (_Handler,), {"protocol_version": "HTTP/1.1" if keep_alive else "HTTP/1.0"})
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        httpd_cls = type("Httpd", (ThreadingHTTPServer,), {"address_family": family, "daemon_threads": True})
        self.httpd = httpd_cls((host, 0), handler)
        self.httpd.owner = self
        self.httpd.handle_error = self._handle_error
        self.host, self.port = host, self.httpd.server_address[1]
        self.base = f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str, host: str | None = None) -> str:
        """``path`` on this server, under another host name if ``host`` is given."""
        return f"http://{host}:{self.port}{path}" if host else self.base + path

    def respond(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        route = self.routes.get(request.path)
        if route is None:
            send(handler, 404, b"not found")
        else:
            route(handler)

    def _handle_error(self, request, address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], OSError):  # a client that went away is no error here
            ThreadingHTTPServer.handle_error(self.httpd, request, address)

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FeedServer(LoopbackServer):
    """Serves content: ``routes[path]`` is ``(bytes, content type)`` or a callable giving one
    (called per request); ``hits[path]`` counts requests; ``on_get[path]`` runs once, on the
    next request for that path, before it is answered."""

    routes: dict[str, tuple[bytes, str] | Callable[[], tuple[bytes, str]]]

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.hits: dict[str, int] = {}
        self.on_get: dict[str, Callable[[], None]] = {}

    def respond(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        with self.lock:
            self.hits[request.path] = self.hits.get(request.path, 0) + 1
            route = self.routes.get(request.path)
            before = self.on_get.pop(request.path, None)
        if before:
            before()
        if route is None:
            send(handler, 404)
            return
        body, ctype = route() if callable(route) else route
        send(handler, 200, body, {"Content-Type": ctype})


class Receiver(LoopbackServer):
    """A webhook receiver: collects the JSON bodies it accepts in ``posts``.

    It answers ``status`` (settable; a body is accepted only under 300) after ``delay``
    seconds, with ``reply`` as a JSON body and ``headers``. The first ``hold`` requests are
    neither answered nor taken in until the server closes (their sender dies waiting).
    ``attempts`` counts every request; ``url`` is the apprise JSON URL (path /hook).
    """

    def __init__(self, *, status: int = 200, delay: float = 0.0, hold: int = 0, reply: Any = None,
                 headers: dict[str, str] | None = None, query: str = "", keep_alive: bool = False) -> None:
        self.posts: list[Any] = []
        self.attempts = 0
        self.status, self.delay, self.hold, self.reply = status, delay, hold, reply
        self.reply_headers = headers or {}
        super().__init__(keep_alive=keep_alive)
        self.url = f"json://127.0.0.1:{self.port}/hook{query}"

    def respond(self, handler: BaseHTTPRequestHandler, request: Request) -> None:
        with self.lock:
            self.attempts += 1
            held = self.attempts <= self.hold
            status = self.status
            if status < 300 and not held:
                # Taken in as soon as it arrives: a sender killed while it waits for the
                # answer has still delivered.
                try:
                    self.posts.append(json.loads(request.body))
                except ValueError:
                    self.posts.append({"raw": request.body.decode("utf-8", "replace")})
        if held:
            self.stop.wait(300)
            return
        time.sleep(self.delay)
        reply = b"" if self.reply is None else json.dumps(self.reply).encode()
        headers = {"Content-Type": "application/json"} if self.reply is not None else {}
        if not handler.protocol_version.endswith("1.1"):
            headers["Connection"] = "close"  # each send opens its own connection
        send(handler, status, reply, {**headers, **self.reply_headers})

    @property
    def cookies(self) -> list[str | None]:
        """The Cookie header of each request, None where it had none."""
        with self.lock:
            return [r.headers.get("cookie") for r in self.requests]

    def titles(self) -> Counter:
        """How many accepted posts carry each title."""
        with self.lock:
            return Counter(p["title"] for p in self.posts)


class Listener:
    """A TCP listener on loopback that only counts the connections it accepts."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._accepted = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._accept_one()

    def _accept_one(self) -> bool:
        try:
            conn, _ = self.sock.accept()
        except OSError:  # timeout, or closed
            return False
        conn.close()
        with self._lock:
            self._accepted += 1
        return True

    @property
    def accepted(self) -> int:
        while self._accept_one():  # a connection still in the backlog counts too
            pass
        with self._lock:
            return self._accepted

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()

"""Real servers for the tests: Redis, PostgreSQL, SMTP, HTTP feed and webhook servers.

Redis and PostgreSQL are the machine's when reachable; otherwise a Redis is
started on a free loopback port, and the tests skip (saying why) only when
the server cannot exist here.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "samples"
PG_ADMIN_URL = os.environ.get("MONITOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# -- Redis -------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    if reachable("127.0.0.1", 6379):
        yield "redis://127.0.0.1:6379/0"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no Redis on 127.0.0.1:6379 and no redis-server binary to start one")
    port = free_port()
    d = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(d)], stdout=subprocess.DEVNULL)
    wait_for(lambda: reachable("127.0.0.1", port), 10, what="redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


# -- PostgreSQL and SQLite ----------------------------------------------------


@pytest.fixture(scope="session")
def pg_server_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    pytest.importorskip("psycopg")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN_URL)
    if not reachable(admin.host or "127.0.0.1", admin.port or 5432):
        pytest.skip(f"PostgreSQL not reachable at {admin.host}:{admin.port} (set MONITOR_TEST_PG)")
    name = f"mm_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin.set(database=name).render_as_string(hide_password=False)
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    import monitor.adapters.store  # noqa: F401  (registers the tables)

    engine = create_engine(url)
    SQLModel.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A database URL with empty tables: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.sqlite'}"
    url = request.getfixturevalue("pg_server_url")
    _reset_pg(url)
    return url


@pytest.fixture
def store(db_url):
    """A Store on empty tables, SQLite then PostgreSQL (test modules may define their own)."""
    from monitor.adapters.store import Store

    s = Store.open(db_url)
    yield s
    s.close()


@pytest.fixture
def pg_url(pg_server_url):
    _reset_pg(pg_server_url)
    return pg_server_url


# -- SMTP ------------------------------------------------------------------------


class _Mailbox:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback; ``.messages`` are the received emails."""
    from aiosmtpd.controller import Controller

    box = _Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.port = port
    box.url = (f"mailto://127.0.0.1:{port}?from=monitor@example.org&to=desk@example.org"
               f"&mode=insecure&name=media-monitor")
    yield box
    controller.stop()


# -- HTTP: webhook receiver and feed server -------------------------------------


class _Server:
    def __init__(self, handler_cls):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _ReceiverHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        owner = self.server.owner
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = owner.status
        with owner.lock:
            owner.attempts += 1
            if status < 300:
                try:
                    owner.posts.append(json.loads(body))
                except ValueError:
                    owner.posts.append({"raw": body.decode("utf-8", "replace")})
        self.send_response(status)
        self.end_headers()


class Receiver(_Server):
    """Collects JSON POSTs; set ``.status`` to make it refuse them."""

    def __init__(self):
        self.posts, self.attempts, self.status, self.lock = [], 0, 200, threading.Lock()
        super().__init__(_ReceiverHandler)
        self.url = f"json://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class _FeedHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        owner = self.server.owner
        with owner.lock:
            owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
            route = owner.routes.get(self.path)
        if route is None:
            self.send_response(404)
            self.end_headers()
            return
        body, ctype = route() if callable(route) else route
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


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


class FeedServer(_Server):
    """Serves feeds from ``.routes``: path -> (bytes, content type) or a callable giving one."""

    def __init__(self):
        self.routes, self.hits, self.lock = {}, {}, threading.Lock()
        super().__init__(_FeedHandler)


@pytest.fixture
def feed_server():
    s = FeedServer()
    yield s
    s.close()


def article_rss(*, link: str, build_date: str = "Mon, 24 Jan 2022 10:00:00 GMT") -> bytes:
    """An RSS feed whose one item is the real French article on NATO and Ukraine."""
    from xml.sax.saxutils import escape

    lines = (SAMPLES / "otan-ukraine-fr.txt").read_text(encoding="utf-8").splitlines()
    title = lines[2].strip()
    body = "\n".join(lines[3:]).strip()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Actualités Monde</title><link>https://example.org/</link><description>test</description>
<language>fr</language><lastBuildDate>{build_date}</lastBuildDate>
<item>
  <title>{escape(title)}</title>
  <link>{escape(link)}</link>
  <guid isPermaLink="false">otan-ukraine-2022-01-24</guid>
  <pubDate>Mon, 24 Jan 2022 09:30:00 GMT</pubDate>
  <description>{escape(body)}</description>
</item>
</channel></rss>""".encode("utf-8")


ARTICLE_TITLE = (SAMPLES / "otan-ukraine-fr.txt").read_text(encoding="utf-8").splitlines()[2].strip()


# -- running the monitor command ----------------------------------------------------


def monitor_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["PYTHONUNBUFFERED"] = "1"
    # Worker processes start and stop often here: no spaCy model load in each
    # (tests/test_ner.py checks the entity check, with the model, on its own).
    env["MONITOR_ENTITY_MODELS"] = ""
    env.update(extra or {})
    return env


def run_monitor(*args, env=None, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor.cli", *map(str, args)], capture_output=True,
                          text=True, env=monitor_env(env), cwd=cwd or ROOT, timeout=timeout)


def start_monitor(*args, env=None, cwd=None, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "wb") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "monitor.cli", *map(str, args)], stdout=out,
                            stderr=subprocess.STDOUT, env=monitor_env(env), cwd=cwd or ROOT,
                            start_new_session=True)


class RecordingNotifier:
    """A notifier that keeps what it is asked to send: (channel, RenderedAlert) pairs."""

    def __init__(self, fmt: str = "text"):
        self.fmt, self.sent = fmt, []

    def format_for(self, channel):
        return self.fmt

    def send(self, channel, alert):
        self.sent.append((channel, alert))

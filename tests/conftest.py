"""Fixtures: real Redis, PostgreSQL, SMTP and HTTP servers, built from tests/support.

Redis and PostgreSQL are the machine's when reachable; otherwise a Redis is
started on a free loopback port, and the tests skip (saying why) only when
the server cannot exist here. Helpers live in ``support``; test modules import
them from there, never from this file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

# pytest puts tests/ on sys.path for this file (rootdir conftest, prepend import mode);
# said here as well, so that ``support`` imports under any import mode.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.db import PG_ADMIN_URL, reset_pg
from support.http import FeedServer, Receiver
from support.procs import free_port, reachable, wait_for
from support.smtp import SmtpServer

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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A database URL with empty tables: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.sqlite'}"
    url = request.getfixturevalue("pg_server_url")
    reset_pg(url)
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
    reset_pg(pg_server_url)
    return pg_server_url


# -- SMTP and HTTP ------------------------------------------------------------


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback; ``.messages`` are the received emails."""
    box = SmtpServer().start()
    yield box
    box.stop()


@pytest.fixture
def receiver():
    """A webhook receiver on loopback (support.http.Receiver)."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def feed_server():
    """A feed server on loopback (support.http.FeedServer)."""
    s = FeedServer()
    yield s
    s.close()

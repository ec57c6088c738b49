"""Schema migrations: databases made by earlier code upgrade with every row, the models and the
migrations agree, and a process on a database behind the code refuses to start.

The dumps in tests/dumps/ were made by the code at 2b00464 (on a database first made by
the code before story_band, so it keeps story_key) and at 2e02678 (the last without
migrations), with tests/dumps/make_dumps.py.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, inspect, text
from sqlmodel import SQLModel

import monitor.adapters.store  # noqa: F401  (registers the store's tables)
import monitor.adapters.store.websessions  # noqa: F401  (and the dashboard's logins)
from monitor.adapters.store import Store, migrations
from monitor.adapters.store.migrations import SchemaBehind
from monitor.core.errors import StoreError

from support.db import PG_ADMIN_URL

DUMPS = Path(__file__).resolve().parent / "dumps"
ROOT = Path(__file__).resolve().parent.parent
COMMITS = ["2b00464", "2e02678"]
# What the fill script stored, table by table (story_band: 42 keys for each of 3 articles).
ROWS = {"feed": 2, "article": 3, "article_source": 4, "rule_match": 3, "delivery": 4, "digest": 1,
        "watch_state": 2, "work_attempt": 1, "dead_letter": 1, "story_band": 126}


def _pg_database():
    pytest.importorskip("psycopg")
    from sqlalchemy.engine import make_url

    from support.procs import reachable

    admin_url = make_url(PG_ADMIN_URL)
    if not reachable(admin_url.host or "127.0.0.1", admin_url.port or 5432):
        pytest.skip(f"PostgreSQL not reachable at {admin_url.host}:{admin_url.port}")
    name = f"mm_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, admin_url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request, tmp_path):
    """(dialect, URL) of an empty database of this test's own."""
    if request.param == "sqlite":
        yield "sqlite", f"sqlite:///{tmp_path / 'db.sqlite'}"
        return
    admin, name, url = _pg_database()
    yield "postgresql", url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _load(dialect: str, url: str, commit: str) -> None:
    dump = (DUMPS / f"{'sqlite' if dialect == 'sqlite' else 'pg'}-{commit}.sql").read_text()
    if dialect == "sqlite":
        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        con.executescript(dump)
        con.close()
        return
    import psycopg

    # pg_dump's \restrict lines are psql's; the rest is plain SQL.
    sql = "\n".join(line for line in dump.splitlines() if not line.startswith("\\"))
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as con:
        con.execute(sql)


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as c:
        counts = {t: c.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in ROWS}
    engine.dispose()
    return counts


@pytest.mark.parametrize("commit", COMMITS)
def test_a_database_made_by_earlier_code_upgrades_with_every_row_readable(empty_db, commit):
    dialect, url = empty_db
    _load(dialect, url, commit)
    assert _counts(url) == ROWS
    with pytest.raises(SchemaBehind):
        Store.open(url)

    engine = create_engine(url)
    assert migrations.upgrade(engine) == (None, migrations.head())
    with engine.connect() as c:
        tables = set(inspect(c).get_table_names())
        assert "story_key" not in tables and "web_session" in tables
        assert migrations.drift(c, SQLModel.metadata) == []
    engine.dispose()
    assert _counts(url) == ROWS

    store = Store.open(url)
    try:
        feeds = {f.url: f for f in store.list_feeds()}
        assert set(feeds) == {"https://news.example.org/rss", "https://wire.example.com/atom.xml"}
        wire = feeds["https://wire.example.com/atom.xml"]
        assert wire.consecutive_failures == 1 and "503" in wire.last_error and wire.articles_seen == 1
        news = store.feed_state(feeds["https://news.example.org/rss"].id)
        assert news.etag == '"e1"'
        articles = store.articles([1, 2, 3])
        assert [a.title for a in articles] == ["L'OTAN se réunit à Bruxelles", "Grève à la SNCF",
                                               "Élections en Ukraine"]
        assert articles[0].published.tzinfo is not None
        # matched on a prefix: recorded by 2e02678, a column 2b00464 did not have (NULL once added)
        assert articles[1].matched_prefix == (200_000 if commit == "2e02678" else None)
        assert sorted(store.sources(1)) == ["Example News", "Wire"]
        deliveries = store.list_deliveries(limit=10)
        assert sorted(d.status for d in deliveries) == ["dead", "sent", "sent", "sent"]
        assert {d.title for d in deliveries} == {"L'OTAN se réunit à Bruxelles", "Grève à la SNCF"}
        assert store.watch_states("watchdog") == {"feed:https://wire.example.com/atom.xml":
                                                  {"told": "failing", "n": 1}}
        letters = store.dead_letters()
        assert [(d.kind, d.item_id, d.attempts) for d in letters] == [("article", 3, 3)]
        assert len(store.stories(since=None, limit=10)) >= 1
        assert store.note_attempt("celery-task-1", "match") == 3  # two were counted before
    finally:
        store.close()


def test_the_baseline_is_exactly_the_schema_the_code_at_2e02678_made(empty_db, tmp_path):
    """Revision 0001 on a new database against the database 2e02678 made: no difference."""
    dialect, url = empty_db
    _load(dialect, url, "2e02678")
    if dialect == "sqlite":
        fresh_url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        admin = None
    else:
        admin, name, fresh_url = _pg_database()
    try:
        fresh = create_engine(fresh_url)
        migrations.upgrade(fresh, "0001")
        baseline = MetaData()
        baseline.reflect(fresh)
        baseline.remove(baseline.tables["alembic_version"])
        made = create_engine(url)
        with made.connect() as c:
            assert migrations.drift(c, baseline) == []
        made.dispose()
        fresh.dispose()
    finally:
        if admin is not None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_the_models_and_the_migrations_agree(empty_db):
    """Like `alembic check`: a new database upgraded to head has what the models declare."""
    _, url = empty_db
    engine = create_engine(url)
    migrations.upgrade(engine)
    with engine.connect() as c:
        assert migrations.drift(c, SQLModel.metadata) == []
    engine.dispose()


def test_opening_the_store_creates_a_new_database_at_head(empty_db):
    _, url = empty_db
    Store.open(url).close()
    engine = create_engine(url)
    with engine.connect() as c:
        assert migrations.current(c) == migrations.head()
    engine.dispose()
    Store.open(url).close()  # at head: opened as it is


def test_a_revision_this_code_does_not_know_is_refused(empty_db):
    _, url = empty_db
    Store.open(url).close()
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    engine.dispose()
    with pytest.raises(StoreError, match="ffff, which this version of media-monitor does not"):
        Store.open(url)


def _monitor(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MONITOR_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "monitor.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


@pytest.mark.parametrize("command", [["worker"], ["beat"], ["run"], ["status"], ["web", "--port", "1"]])
def test_a_process_on_a_database_behind_the_code_stops_with_one_line(tmp_path, command):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    _load("sqlite", url, "2b00464")
    (tmp_path / "feeds.yaml").write_text("feeds: []\n")
    (tmp_path / "rules").mkdir()
    got = _monitor("--feeds-path", str(tmp_path / "feeds.yaml"), "--rules-path", str(tmp_path / "rules"),
                   *command, url=url)
    assert got.returncode == 1, got.stderr
    assert got.stderr.splitlines() == [f"error: database {url} is behind this version of media-monitor (made by a "
                                       f"version without migrations, needs {migrations.head()}): run `monitor db "
                                       f"upgrade`"]


def test_monitor_db_upgrades_an_old_database_and_says_where_it_is(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    _load("sqlite", url, "2e02678")
    head = migrations.head()
    assert "made by a version without migrations" in _monitor("db", "current", url=url).stdout
    got = _monitor("db", "upgrade", url=url)
    assert got.returncode == 0, got.stderr
    assert got.stdout == f"database {url}: upgraded from no revision to {head} (head)\n"
    assert _monitor("db", "current", url=url).stdout == f"{head} (head)\n"
    assert _monitor("init-db", url=url).stdout == f"database {url}: already at {head} (head)\n"
    assert _monitor("db", "history", url=url).stdout.startswith(f"{head} (head)  Baseline: the schema")
    assert _counts(url) == ROWS


def test_the_migrations_ship_in_the_package():
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(d.startswith("alembic") for d in data["project"]["dependencies"])
    shipped = data["tool"]["setuptools"]["package-data"]["monitor.adapters.store.migrations"]
    assert "versions/*.py" in shipped and "script.py.mako" in shipped

"""Connecting: the engine, SQLite's WAL and pragmas, PostgreSQL's planner settings, the schema."""

from __future__ import annotations

import random
import sqlite3
import time
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, create_engine

from monitor.adapters.store import migrations, tables  # noqa: F401  (tables: registers the models)
from monitor.adapters.store.migrations import SchemaBehind  # noqa: F401  (raised by open)
from monitor.core.errors import StoreError
from monitor.core.redact import mask_url


def redact_url(url: str) -> str:
    """The database URL without its password (in the user part or the query), for messages."""
    try:
        return mask_url(make_url(url).render_as_string(hide_password=True))
    except Exception:
        return "<unparseable database URL>"


def enable_wal(cur) -> None:
    """Put a SQLite connection in WAL mode, waiting for the others doing the same.

    WAL lets a reader (the beat thread) read while a writer writes. Processes
    switching a new database to WAL together: SQLite answers all but one
    "database is locked" at once, without the busy wait (two read locks both
    asking to write would deadlock), so the wait is here.
    """
    deadline = time.monotonic() + 30
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


def _sqlite_pragmas(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    # busy_timeout waits for the lock instead of failing at once.
    cur.execute("PRAGMA busy_timeout=30000")
    enable_wal(cur)
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()



def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class StoreBase:
    """The engine and its sessions; what every part of :class:`~monitor.adapters.store.Store` uses."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name

    @classmethod
    def open(cls, url: str, *, create: bool = True) -> "Store":
        """Connect; with ``create``, make a new database's schema and check an existing one's.

        A new database (SQLite's folder included) is brought to the newest schema
        revision; one at an older revision, or made by code older than the
        migrations, is refused with :class:`SchemaBehind` (run ``monitor db upgrade``).
        Raises StoreError.
        """
        try:
            u = make_url(url)
        except Exception as e:
            raise StoreError(f"invalid database URL: {e}") from None
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if u.get_backend_name() == "sqlite":
            if u.database and u.database != ":memory:":
                from pathlib import Path

                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        elif u.get_backend_name() == "postgresql":
            kwargs["connect_args"] = {"connect_timeout": 10}
        try:
            engine = create_engine(url, **kwargs)
        except Exception as e:  # missing driver, bad URL
            raise StoreError(f"cannot use database {redact_url(url)}: {_one_line(e)}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine)
        try:
            with engine.connect():
                pass
            if create:
                migrations.prepare(engine, where=redact_url(url))
        except SQLAlchemyError as e:
            reason = _one_line(getattr(e, "orig", None) or e)
            raise StoreError(f"cannot connect to database {redact_url(url)}: {reason}") from None
        return store

    def _key_lookups(self, s: Session) -> None:
        """Plan this transaction's reads as the key lookups they are (PostgreSQL).

        In a burst the tables grow faster than their statistics: PostgreSQL then
        scanned every article or story key for a batch (120 ms and growing, against
        a few ms). psycopg prepares a statement after 5 runs, and a generic plan
        ignores which keys are asked (8 ms a lookup instead of 0.7). And a key
        lookup planned as costly was compiled (JIT) for 250 ms.
        """
        if self.dialect == "postgresql":
            s.exec(text("SET LOCAL enable_seqscan = off"))
            s.exec(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            s.exec(text("SET LOCAL jit = off"))

    def close(self) -> None:
        self.engine.dispose()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)


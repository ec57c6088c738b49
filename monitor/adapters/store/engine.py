"""Connecting: the engine, SQLite's WAL and pragmas, PostgreSQL's planner settings, the schema."""

from __future__ import annotations

import random
import sqlite3
import time
from typing import Any

from sqlalchemy import Integer, LargeBinary, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlmodel import SQLModel, Session, create_engine

from monitor.adapters.store import tables  # noqa: F401  (registers the tables for create_all)
from monitor.core.errors import StoreError


def redact_url(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
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
        """Connect (creating the SQLite folder and the tables when ``create``)."""
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
                store._create_schema()
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

    def _create_schema(self, attempts: int = 3) -> None:
        """Create what is missing, safely when several processes start at once.

        A worker and a beat started together (docker compose up) both create the
        tables of a new database: an advisory lock (PostgreSQL) or the write lock
        taken first (SQLite) makes the second wait and then find them; a lost race
        elsewhere is tried again.
        """
        from sqlalchemy import inspect

        for attempt in range(attempts):
            try:
                with self.engine.begin() as conn:
                    if self.dialect == "postgresql":
                        conn.execute(text("SELECT pg_advisory_xact_lock(726100)"))  # held until commit
                    elif self.dialect == "sqlite":
                        # The write lock from the start (waiting as busy_timeout says): a
                        # read-then-write transaction fails at once when another wrote meanwhile.
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    SQLModel.metadata.create_all(conn)
                    # An index added after the table: databases made before get it too.
                    if "ix_delivery_article_id" not in {i["name"] for i in inspect(conn).get_indexes("delivery")}:
                        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_delivery_article_id ON delivery (article_id)"))
                    # Columns added after their table, likewise.
                    if "item_hashes" not in {c["name"] for c in inspect(conn).get_columns("feed")}:
                        kind = LargeBinary().compile(dialect=conn.dialect)
                        conn.execute(text(f"ALTER TABLE feed ADD COLUMN item_hashes {kind}"))
                    if "matched_prefix" not in {c["name"] for c in inspect(conn).get_columns("article")}:
                        kind = Integer().compile(dialect=conn.dialect)
                        conn.execute(text(f"ALTER TABLE article ADD COLUMN matched_prefix {kind}"))
                    if self.dialect == "postgresql":  # replaced by the BRIN index (StoryKeyRow)
                        conn.execute(text("DROP INDEX IF EXISTS ix_story_band_published"))
                return
            except (IntegrityError, OperationalError, ProgrammingError):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def close(self) -> None:
        self.engine.dispose()

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)


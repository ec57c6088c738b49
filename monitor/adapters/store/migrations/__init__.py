"""The schema's history (Alembic), and what a process checks of it when it opens the store.

The revisions are in ``versions/``; the first (0001) is the schema as media-monitor
made it before migrations, and also adopts a database made by that earlier code
(never stamped). Nothing here needs an alembic.ini: the configuration is built in
:func:`config`, and every command runs on a connection handed to ``env.py``.

What opening the store does (:func:`prepare`): a database with none of our tables is
new and is brought to the head revision; a database at the head is used as it is; any
other is refused with :class:`SchemaBehind` (or :class:`StoreError` when its revision is
unknown here), and ``monitor db upgrade`` (:func:`upgrade`) brings it forward.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.core.errors import StoreError

HERE = Path(__file__).resolve().parent
#: The store's tables: a database with none of them is a new database (web_session, the
#: dashboard's, may be left from one whose other tables were dropped).
_OUR_TABLES = frozenset({"feed", "article", "article_source", "watch_state", "story_band", "rule_match", "digest",
                         "delivery", "work_attempt", "dead_letter"})
_PG_LOCK = 726100  # the advisory lock the store has always taken to make its schema


class SchemaBehind(StoreError):
    """The database's schema is older than the code's: ``monitor db upgrade`` brings it forward.

    ``current`` is its revision (None: made by code older than the migrations), ``head`` the code's.
    """

    def __init__(self, message: str, *, current: str | None = None, head: str | None = None):
        self.current, self.head = current, head
        super().__init__(message)


def config(connection: Connection | None = None, *, stdout=None, target_metadata=None) -> Config:
    """An Alembic configuration for these migrations, optionally bound to ``connection``."""
    cfg = Config(stdout=stdout if stdout is not None else io.StringIO())
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    cfg.attributes["target_metadata"] = target_metadata
    return cfg


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The revision this code's models are at."""
    return _script().get_current_head()


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    doc: str


def history() -> list[Revision]:
    """Every revision, newest first."""
    return [Revision(s.revision, s.down_revision, s.doc) for s in _script().walk_revisions()]


def current(connection: Connection, tables: set[str] | None = None) -> str | None:
    """The database's revision; None when it was never stamped (new, or made by earlier code).

    ``tables``: the database's table names, when the caller has read them already."""
    # The version table read directly: MigrationContext logs two INFO lines each time,
    # and every process start (and every store opened) asks.
    if tables is None:
        tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables:
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def state(connection: Connection) -> str:
    """``"new"`` (none of our tables), ``"unstamped"`` (made by earlier code), or the revision."""
    tables = set(inspect(connection).get_table_names())
    if not tables & _OUR_TABLES:
        return "new"
    return current(connection, tables) or "unstamped"


def _locked(engine: Engine):
    """A transaction that holds the schema lock: one process upgrades, the others wait and find it done."""
    conn = engine.connect()
    try:
        if engine.dialect.name == "sqlite":
            # The write lock from the start (busy_timeout waits for it): a read-then-write
            # transaction fails at once when another process wrote meanwhile.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.begin()
            if engine.dialect.name == "postgresql":
                conn.execute(text(f"SELECT pg_advisory_xact_lock({_PG_LOCK})"))  # held until commit
    except BaseException:
        conn.close()
        raise
    return conn


def upgrade(engine: Engine, revision: str = "head", *, where: str = "") -> tuple[str | None, str | None]:
    """Bring the database to ``revision`` in one transaction; (revision before, revision after).

    A database made by earlier code is adopted by the baseline, every row kept; a new
    one is created. Raises StoreError (naming the database ``where``) when it fails:
    then nothing was changed.
    """
    try:
        return _upgrade(engine, revision)
    except (SQLAlchemyError, CommandError) as e:
        reason = " ".join(str(getattr(e, "orig", None) or e).split())[:500]
        raise StoreError(f"upgrading database {where or engine.url.render_as_string()} failed: {reason}") from e


def _upgrade(engine: Engine, revision: str) -> tuple[str | None, str | None]:
    conn = _locked(engine)
    try:
        tables = set(inspect(conn).get_table_names())
        before = current(conn, tables)
        if before is not None and not tables & _OUR_TABLES:
            # Our tables were dropped but not the version table: a new database again.
            conn.execute(text("DELETE FROM alembic_version"))
            before = None
        command.upgrade(config(conn), revision)
        after = current(conn)
        conn.commit()
        return before, after
    finally:
        conn.close()


def prepare(engine: Engine, *, where: str) -> None:
    """What opening the store checks: create a new database, refuse one behind the code.

    ``where`` names the database in messages (its URL without the password).
    Raises :class:`SchemaBehind`, or :class:`StoreError` for a revision this code does not know.
    """
    with engine.connect() as conn:
        found = state(conn)
    if found == head():
        return
    if found == "new":
        upgrade(engine, where=where)
        return
    known = {r.revision for r in history()}
    if found != "unstamped" and found not in known:
        raise StoreError(f"database {where} is at schema revision {found}, which this version of media-monitor "
                         f"does not know (made by a newer version?)")
    what = "made by a version without migrations" if found == "unstamped" else f"at schema revision {found}"
    raise SchemaBehind(f"database {where} is behind this version of media-monitor ({what}, needs {head()}): "
                       f"run `monitor db upgrade`", current=None if found == "unstamped" else found, head=head())


def drift(connection: Connection, metadata) -> list:
    """What differs between the database and ``metadata`` (the models): Alembic's diffs, [] when none."""
    from alembic.autogenerate import compare_metadata

    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)

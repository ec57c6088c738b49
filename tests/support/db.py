"""The PostgreSQL server the tests use, and emptying a database between tests."""

from __future__ import annotations

import os

PG_ADMIN_URL = os.environ.get("MONITOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def reset_pg(url: str) -> None:
    """Drop every table of the monitor's schema from the database at ``url``."""
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    engine = create_engine(url)
    SQLModel.metadata.drop_all(engine)
    engine.dispose()


def upgraded_from_before(db_url: str, table: str, column: str):
    """A Store on a database made as code from before ``table.column`` (and before
    migrations) made it, once refused with the one line and upgraded by the migrations."""
    import pytest
    from sqlalchemy import text

    from monitor.adapters.store import Store, migrations
    from monitor.adapters.store.migrations import SchemaBehind

    s = Store.open(db_url)
    with s.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(text("DROP TABLE alembic_version"))
    with pytest.raises(SchemaBehind, match="run `monitor db upgrade`"):
        Store.open(db_url)
    migrations.upgrade(s.engine)
    s.close()
    return Store.open(db_url)

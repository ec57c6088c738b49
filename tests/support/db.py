"""The PostgreSQL server the tests use, and emptying a database between tests."""

from __future__ import annotations

import os

PG_ADMIN_URL = os.environ.get("MONITOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def reset_pg(url: str) -> None:
    """Drop every table of the monitor's schema from the database at ``url``."""
    import monitor.adapters.store
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    engine = create_engine(url)
    SQLModel.metadata.drop_all(engine)
    engine.dispose()

"""``monitor db``: the database schema's revision, its history, and upgrading it."""

from __future__ import annotations

import click

from monitor.cli.common import redacted_db, settings_of
from monitor.cli.output import echo


def _store(ctx):
    # create=False: only connect; these commands are the ones that look at the schema.
    from monitor.adapters.store import Store

    return Store.open(settings_of(ctx).effective_database_url, create=False)


@click.group()
def db():
    """The database schema: which revision it is at, and upgrading it."""


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def db_upgrade(ctx, revision):
    """Upgrade the database schema to REVISION (default: the newest), keeping every row.

    A new database is created; one made by a version without migrations is
    adopted. Run it before starting a new version on an existing database.
    """
    from monitor.adapters.store import migrations

    where = redacted_db(settings_of(ctx))
    store = _store(ctx)
    try:
        before, after = migrations.upgrade(store.engine, revision, where=where)
    finally:
        store.close()
    if before == after:
        echo(f"database {where}: already at {after}{_head(after)}")
    else:
        echo(f"database {where}: upgraded from {before or 'no revision'} to {after}{_head(after)}")


@db.command("current")
@click.pass_context
def db_current(ctx):
    """Print the database's schema revision, and whether it needs an upgrade."""
    from monitor.adapters.store import migrations

    store = _store(ctx)
    try:
        with store.engine.connect() as conn:
            found = migrations.state(conn)
    finally:
        store.close()
    head = migrations.head()
    if found == head:
        echo(f"{found} (head)")
    elif found == "new":
        echo(f"no schema yet: `monitor db upgrade` creates it (head is {head})")
    elif found == "unstamped":
        echo(f"no revision: made by a version without migrations; run `monitor db upgrade` (head is {head})")
    else:
        echo(f"{found}: behind head {head}; run `monitor db upgrade`")


@db.command("history")
def db_history():
    """List the schema's revisions, newest first."""
    from monitor.adapters.store import migrations

    head = migrations.head()
    for r in migrations.history():
        summary = (r.doc or "").strip().splitlines()[0] if r.doc else ""
        echo(f"{r.revision}{' (head)' if r.revision == head else ''}  {summary}")


def _head(revision: str | None) -> str:
    from monitor.adapters.store import migrations

    return " (head)" if revision == migrations.head() else ""


@click.command("init-db")
@click.pass_context
def init_db(ctx):
    """Create the database, or upgrade it to the newest schema: `monitor db upgrade`."""
    ctx.invoke(db_upgrade, revision="head")

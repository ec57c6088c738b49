"""Alembic's environment for media-monitor: always run on a connection handed in.

:mod:`monitor.adapters.store.migrations` opens the connection (with the store's own
engine settings and its lock against concurrent upgrades) and passes it in
``config.attributes["connection"]``; there is no alembic.ini and no URL here.
"""

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run media-monitor's migrations through monitor.adapters.store.migrations "
                       "(or `monitor db upgrade`), which hands them a connection")

context.configure(
    connection=connection,
    # Only for comparing (monitor.adapters.store.migrations.drift): the models of the code.
    target_metadata=context.config.attributes.get("target_metadata"),
    compare_type=True,
    # SQLite alters a table by copying it: later revisions use op.batch_alter_table.
    render_as_batch=True,
)

with context.begin_transaction():
    context.run_migrations()

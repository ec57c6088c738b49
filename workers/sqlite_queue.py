"""The embedded queue: kombu's SQLAlchemy transport on a SQLite file.

kombu hands every transport option to ``create_engine`` (so
``polling_interval`` breaks it) and leaves SQLite's lock wait at 5 s; this
subclass builds the engine itself. Registered as the ``embedded`` transport:
``embedded+sqlite:///data/queue.sqlite``.
"""

from __future__ import annotations

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqla
from sqlalchemy import create_engine, event

from monitor.adapters.store import enable_wal


def _wal(dbapi_conn, _record):
    cur = dbapi_conn.cursor()
    enable_wal(cur)
    cur.close()


class Channel(kombu_sqla.Channel):
    def _engine_from_config(self):
        engine = create_engine(self.connection.client.hostname,
                               connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _wal)
        return engine


class Transport(kombu_sqla.Transport):
    Channel = Channel
    polling_interval = 0.2  # seconds between looks at an empty queue


TRANSPORT_ALIASES.setdefault("embedded", f"{__name__}:Transport")

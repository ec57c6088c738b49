"""Dashboard logins kept in the database (the web_session table), so every dashboard process sees the same ones.

A login gets a random session id (the cookie) and a random CSRF token; the
table keeps the SHA-256 of the id, never the id, so a copy of the database
opens no session. Logging out deletes the row: the cookie is dead at once,
in every process. A row names the access token it was opened with (by an
HMAC of it), so changing the token ends every session.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select


class WebSessionRow(SQLModel, table=True):
    """One dashboard login."""

    __tablename__ = "web_session"
    id_hash: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie's session id
    csrf: str = Field(max_length=64)
    token_tag: str = Field(max_length=64)  # which access token opened it (see Guard.token_tag)
    created_at: datetime
    expires_at: datetime = Field(index=True)


@dataclass(frozen=True)
class WebSession:
    """A live login, as read from the table."""

    csrf: str
    created_at: datetime
    expires_at: datetime


def _aware(dt: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SessionStore:
    """Open, read and end logins in the ``web_session`` table (made by the schema's baseline
    revision, as :meth:`Store.open <monitor.adapters.store.Store.open>` brings the database to it).

    ``engine`` is called for the engine when first needed (the store opens lazily).
    Raises SQLAlchemy's errors: a database that cannot be read is a server error.
    """

    def __init__(self, engine: Callable[[], Engine], *, clock: Callable[[], datetime] = utcnow):
        self._db, self.clock = engine, clock

    def open(self, token_tag: str, lifetime: float) -> tuple[str, WebSession]:
        """A new login lasting ``lifetime`` seconds: (session id for the cookie, the session).

        Expired logins are deleted on the way."""
        now = self.clock()
        session_id = secrets.token_urlsafe(32)
        row = WebSessionRow(id_hash=_hash(session_id), csrf=secrets.token_hex(32), token_tag=token_tag,
                            created_at=now, expires_at=now + timedelta(seconds=lifetime))
        with Session(self._db(), expire_on_commit=False) as s:
            s.exec(delete(WebSessionRow).where(WebSessionRow.expires_at <= now))
            s.add(row)
            s.commit()
        return session_id, WebSession(row.csrf, now, row.expires_at)

    def get(self, session_id: str, token_tag: str) -> WebSession | None:
        """The live login of this cookie value; None when unknown, ended, expired or of another token."""
        if not session_id or len(session_id) > 200:
            return None
        with Session(self._db()) as s:
            row = s.exec(select(WebSessionRow).where(WebSessionRow.id_hash == _hash(session_id))).first()
        if row is None or not secrets.compare_digest(row.token_tag, token_tag):
            return None
        expires = _aware(row.expires_at)
        if expires <= self.clock():
            return None
        return WebSession(row.csrf, _aware(row.created_at), expires)

    def end(self, session_id: str) -> None:
        """Log out: the cookie is refused from now on, by every process."""
        if session_id:
            with Session(self._db()) as s:
                s.exec(delete(WebSessionRow).where(WebSessionRow.id_hash == _hash(session_id)))
                s.commit()

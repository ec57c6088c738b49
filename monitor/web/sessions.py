"""Dashboard logins: stored by :mod:`monitor.adapters.store.websessions` (all SQL lives there)."""

from monitor.adapters.store.websessions import SessionStore, WebSession, WebSessionRow, utcnow

__all__ = ["SessionStore", "WebSession", "WebSessionRow", "utcnow"]

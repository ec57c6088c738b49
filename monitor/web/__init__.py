"""The web dashboard and JSON API (``monitor web``): see :func:`create_app`."""

from .app import create_app

__all__ = ["create_app"]

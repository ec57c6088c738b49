"""The web dashboard and JSON API (``monitor web``): see :func:`create_app`."""

from monitor.web.app import create_app

__all__ = ["create_app"]

"""Celery side of media-monitor: ``celery -A workers worker`` finds ``app`` here."""

from .app import app, configure, services  # noqa: F401
from . import tasks  # noqa: F401  (registers the tasks)

"""Celery side of media-monitor: ``celery -A workers worker`` finds ``app`` here."""

from workers.app import app, configure, services  # noqa: F401
from workers import tasks  # noqa: F401  (registers the tasks)

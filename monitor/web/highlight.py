"""Highlighted segments of a whole field: in :mod:`monitor.core.highlight` (pure), named here for the web layer."""

from monitor.core.highlight import hits_of, segments

__all__ = ["segments", "hits_of"]

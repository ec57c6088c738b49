"""media-monitor: RSS/Atom feeds in, keyword and entity alerts out."""

__version__ = "0.1.0"

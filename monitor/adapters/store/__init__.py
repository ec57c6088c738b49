"""Storage adapter: sqlmodel tables and the one place that talks SQL.

Works on SQLite (the embedded default) and PostgreSQL. Unique constraints make
every write idempotent: an article is stored once per feed, a match once per
(article, rule), a delivery once per (rule, article, channel). Writes that
belong together (new articles and the feed's state; matches and their
deliveries) are one transaction, so a crash leaves either all or nothing,
and what is left pending is found again by :meth:`Store.pending_work`.

One module per domain over one small engine module (after lemon24/reader's
``_storage``): :class:`Store` is composed of their mixins, and is the one object
the rest of the code uses. Storage records what it is told: the decisions
(backoff, poll jitter, routing of deliveries) are pure functions in
:mod:`monitor.core.decide`.
"""

from __future__ import annotations

from monitor.adapters.store.articles import ArticlesMixin
from monitor.adapters.store.bulk_pg import BulkMixin
from monitor.adapters.store.deliveries import DeliveriesMixin
from monitor.adapters.store.engine import StoreBase, enable_wal, redact_url
from monitor.adapters.store.feeds import FeedRow, FeedsMixin
from monitor.adapters.store.matches import MatchesMixin
from monitor.adapters.store.ops import OpsMixin
from monitor.adapters.store.stories import StoriesMixin
from monitor.adapters.store.tables import Delivery, Feed, MatchRow, StoredArticleRow

__all__ = [
    "Store", "redact_url", "enable_wal", "FeedRow",
    # tables, for tests that check stored rows
    "Feed", "StoredArticleRow", "MatchRow", "Delivery",
]


class Store(FeedsMixin, ArticlesMixin, MatchesMixin, DeliveriesMixin, StoriesMixin, OpsMixin, BulkMixin, StoreBase):
    """All reads and writes of media-monitor's state. Raises StoreError."""

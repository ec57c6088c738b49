"""What the dashboard reads: the read models of :mod:`monitor.adapters.store.readmodels` (all SQL lives there),
named here for the web layer."""

from monitor.adapters.store.backtest import matched_rules, recent_articles
from monitor.adapters.store.readmodels import (CHART_DAYS, AlertItem, DeliveryInfo, FeedInfo, Page, RuleStats, _days,
                                               alert, alerts, article_sources, deliveries, delivery, delivery_counts,
                                               feed, feed_choices, feed_health_counts, feeds, rule_stats)

__all__ = ["CHART_DAYS", "AlertItem", "DeliveryInfo", "FeedInfo", "Page", "RuleStats", "alert", "alerts",
           "article_sources", "deliveries", "delivery", "delivery_counts", "feed", "feed_choices",
           "feed_health_counts", "feeds", "rule_stats", "recent_articles", "matched_rules"]

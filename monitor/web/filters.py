"""The dashboard's query-string filters: parsed in :mod:`monitor.core.filters` (pure), named here for the web layer."""

from monitor.core.filters import (DELIVERY_STATUSES, FEED_HEALTH, MAX_PAGE, AlertFilter, DeliveryFilter, FeedFilter,
                                  FilterError, parse_alert_filter, parse_delivery_filter, parse_feed_filter)

__all__ = ["FilterError", "AlertFilter", "FeedFilter", "DeliveryFilter", "parse_alert_filter",
           "parse_feed_filter", "parse_delivery_filter", "DELIVERY_STATUSES", "FEED_HEALTH", "MAX_PAGE"]

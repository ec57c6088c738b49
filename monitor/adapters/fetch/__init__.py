"""The HTTP fetcher adapter: feed URLs in, :class:`~monitor.core.types.FetchResult` out.

``client`` fetches (conditional GET, redirects followed hop by hop), ``guard`` keeps every
hop off internal addresses, ``decoders`` bound what a compressed body may grow to.
"""

from monitor.adapters.fetch.client import DEFAULT_USER_AGENT, Fetcher, HttpFetcher
from monitor.adapters.fetch.guard import (
           Resolver,
           check_allow,
           check_url,
           system_resolver,
)

__all__ = ["Fetcher", "HttpFetcher", "Resolver", "check_allow", "check_url", "system_resolver",
           "DEFAULT_USER_AGENT"]

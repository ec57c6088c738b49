"""Article links in their canonical form. Pure."""

from __future__ import annotations

from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

# Query parameters that identify a campaign or a click, not the page. Any
# parameter starting with "utm_" is removed too.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
    "igshid", "li_fat_id", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "__hstc", "__hssc",
    "__hsfp", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "rb_clickid", "s_cid",
    "wt_mc", "wt_zmc", "xtor", "at_medium", "at_campaign", "ncid", "cmpid", "ref_src",
})


def canonical_url(url: str, base: str | None = None) -> str:
    """The canonical form of an article link, or ``""`` if it is not an http(s) URL.

    Resolves ``url`` against ``base``, lower-cases scheme and host, drops
    credentials, default ports, the fragment and tracking parameters
    (``utm_*`` and :data:`TRACKING_PARAMS`); other parameters keep their order
    and encoding. Raises nothing.
    """
    url = (url or "").strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        # urljoin hands back a URL with its own scheme and host as it is (no
        # dot-segment removal): skip it, and its parsing, for the common case.
        if base and not (parts.netloc and parts.scheme in ("http", "https")):
            parts = urlsplit(urljoin(base, url))
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:  # bad IPv6 literal or port
        return ""
    if scheme not in ("http", "https") or not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.split("=", 1)[0]).strip().lower()
    return name.startswith("utm_") or name in TRACKING_PARAMS

"""URLs made fit to print: passwords and secret query values masked. Pure."""

from __future__ import annotations

import re

__all__ = ["mask_url"]

# The user part ends at its first ":" (a lazy match would try every later one: quadratic).
_PASSWORD = re.compile(r"(://[^/@;?#:]*:)[^/@;?#]+@")
_SECRET_QUERY = re.compile(r"([?&](?:password|pass|token|secret|key)=)[^&;#]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` (or ``;``-separated URLs) with the password and secret query values as ``****``."""
    return _SECRET_QUERY.sub(r"\1****", _PASSWORD.sub(r"\1****@", url))

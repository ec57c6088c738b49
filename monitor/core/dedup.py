"""What makes two feed entries the same article. Pure: touches nothing outside itself."""

from __future__ import annotations

import hashlib

from monitor.core.text import tokenize
from monitor.core.types import Article

_MAX_KEY = 1000


def global_key(article: Article) -> str:
    """The key of an article across all feeds: its canonical URL, else its content hash.

    The same wire story listed by two feeds under one URL is one article with
    two sources.
    """
    if article.url:
        if len(article.url) <= _MAX_KEY:
            return "url:" + article.url
        return "urlh:" + hashlib.sha256(article.url.encode("utf-8")).hexdigest()
    return "hash:" + article.content_hash


def update_key(key: str, content_hash: str) -> str:
    """The key of a new version of the article stored under ``key``."""
    return f"{key}#{content_hash[:16]}"


def material_change(old_title: str, old_text: str, new_title: str, new_text: str,
                    *, threshold: float = 0.85) -> bool:
    """True when the new version differs in words, not just in spacing, case or markup.

    Compares the sets of normalized words (Jaccard similarity); a fixed typo
    or a changed timestamp stays above ``threshold``.
    """
    old = {t.norm for t in tokenize(f"{old_title}\n{old_text}")}
    new = {t.norm for t in tokenize(f"{new_title}\n{new_text}")}
    if not old and not new:
        return False
    return len(old & new) / len(old | new) < threshold

"""Main text of an article page, for feeds that carry only a headline.

Pure: takes the page bytes we fetched, returns text; trafilatura never
fetches anything itself here.
"""

from __future__ import annotations


def extract_main_text(page: bytes, *, url: str | None = None) -> str | None:
    """The article's main text without navigation and boilerplate, or None."""
    import trafilatura

    text = trafilatura.extract(page, url=url, include_comments=False, include_tables=False,
                               favor_precision=True)
    return " ".join(text.split()) if text and text.strip() else None

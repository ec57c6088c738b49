"""Paths of the repository and its sample files, and the real French article they hold."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
SAMPLES = TESTS / "samples"
FEEDS = SAMPLES / "feeds"  # golden feeds: x.rss beside its expected articles
SAMPLE = SAMPLES / "otan-ukraine-fr.txt"  # a real French article on NATO and Ukraine

SAMPLE_LINES = SAMPLE.read_text(encoding="utf-8").splitlines()
ARTICLE_TITLE = SAMPLE_LINES[2].strip()
SAMPLE_BODY = "\n".join(SAMPLE_LINES[3:]).strip()


def article_rss(*, link: str, build_date: str = "Mon, 24 Jan 2022 10:00:00 GMT") -> bytes:
    """An RSS feed whose one item is the real French article on NATO and Ukraine."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Actualités Monde</title><link>https://example.org/</link><description>test</description>
<language>fr</language><lastBuildDate>{build_date}</lastBuildDate>
<item>
  <title>{escape(ARTICLE_TITLE)}</title>
  <link>{escape(link)}</link>
  <guid isPermaLink="false">otan-ukraine-2022-01-24</guid>
  <pubDate>Mon, 24 Jan 2022 09:30:00 GMT</pubDate>
  <description>{escape(SAMPLE_BODY)}</description>
</item>
</channel></rss>""".encode()

"""Terminal escapes and bidirectional overrides from feeds never reach a terminal or a page.

A feed or article title holding ``ESC ]0;...BEL`` retitles the terminal that prints it,
``ESC [31m`` and the one-byte C1 form ``\\x9b`` colour it, and a right-to-left override
makes ``exe.\\u202efdp`` read as "pdf.exe". Every CLI command that prints stored or
fetched text, and every dashboard page, is run for real here (the ``monitor`` command in
a subprocess; the app through Starlette's test client) on a SQLite store seeded through
the Store API, and its whole output is searched for those characters.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.procs import run_monitor
from monitor import pipeline
from monitor.config import load_settings
from monitor.core.matching import compile_rules
from monitor.core.rules import load_rules
from monitor.service import Services
from monitor.core.types import Article

# Every C0 control but line breaks and tabs, DEL, every C1 control, the bidi marks,
# embeddings, overrides and isolates.
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
TITLE = "Alerte\x1b]0;owned\x07 OTAN \x1b[31mrouge\x9b31m exe.\u202efdp \u2066isolé\u2069"
TITLE_WORDS = ("Alerte", "OTAN", "rouge", "exe.fdp", "isolé")  # what is left to read
TEXT = "L'OTAN\x1b[2J se réunit\x9b à Bruxelles \u202edrawkcab\u202c et \x07 ailleurs."
LINK = "https://example.org/otan\u202e/gpj.exe"
FEED_NAME = "Le Monde\x1b]0;owned\x07 \u202elevel"
FEED_WORDS = ("Le Monde", "level")
FEED_ERROR = "https://broken.example/rss: HTTP 500 \x1b]0;owned\x07 \x9b1mBoom\u202e"
DELIVERY_ERROR = "webhook said \x1b[31mno\x1b[0m \u202eyrt"
RULES = {"rules": [{"name": "otan", "description": "NATO \x1b[1mfr\u202e", "keywords": {"any": ["OTAN"]},
                    "channels": ["hook"]}]}


def visible(output: str, words) -> None:
    """No forbidden character anywhere in ``output``; each of ``words`` still there."""
    found = sorted({f"U+{ord(c):04X}" for c in FORBIDDEN.findall(output)})
    assert not found, f"control or bidi characters in the output: {found}"
    for w in words:
        assert w in output, f"{w!r} is missing from the output"


@dataclass
class Seeded:
    config: Path
    services: Services
    match_id: int
    feed_id: int


def seed(tmp_path: Path) -> Seeded:
    """A store with one hostile article matched and delivered (its delivery failed), one
    hostile failing feed, and the config file the ``monitor`` command reads them with."""
    rules = tmp_path / "rules"
    rules.mkdir()
    # JSON is YAML: its \\u escapes put the controls in the values, as YAML's "\\e" would
    (rules / "rules.yaml").write_text(json.dumps(RULES), encoding="utf-8")
    (tmp_path / "feeds.yaml").write_text(json.dumps({"feeds": [
        {"url": "https://lemonde.example/rss", "name": FEED_NAME, "language": "fr"},
        {"url": "https://broken.example/rss", "name": f"Broken {FEED_NAME}"}]}), encoding="utf-8")
    config = tmp_path / "monitor.yaml"
    config.write_text(json.dumps({
        "data_dir": str(tmp_path), "rules_path": "rules", "feeds_path": "feeds.yaml",
        "database_url": f"sqlite:///{tmp_path / 'monitor.sqlite'}", "timezone": "UTC",
        "channels": {"hook": "json://127.0.0.1:9/hook"}}), encoding="utf-8")
    settings = load_settings(config, environ={})
    services = Services(settings)
    store = services.store
    services.sync_feeds(force=True)
    feeds = {f.url: f.id for f in store.list_feeds()}
    ok, broken = feeds["https://lemonde.example/rss"], feeds["https://broken.example/rss"]
    ids = store.record_poll(ok, status=200, articles=[Article("g-1", LINK, TITLE, TEXT, language="fr")])
    store.record_poll_failure(broken, FEED_ERROR, status=500)
    matcher = compile_rules(load_rules(rules).rules)
    [delivery] = pipeline.match_articles(ids, store=store, matcher=matcher, channels=settings.channels)
    store.begin_delivery(delivery)
    store.finish_delivery(delivery, ok=False, error=DELIVERY_ERROR)
    from sqlmodel import Session, select

    from monitor.adapters.store import MatchRow

    with Session(store.engine) as s:
        [match_id] = s.exec(select(MatchRow.id)).all()
    return Seeded(config, services, match_id, ok)


@pytest.fixture
def seeded(tmp_path):
    s = seed(tmp_path)
    yield s
    s.services.store.close()


def monitor(seeded: Seeded, *args) -> str:
    res = run_monitor("--config", seeded.config, *args)
    assert res.returncode == 0, res.stderr
    return res.stdout + res.stderr


# -- the CLI -------------------------------------------------------------------------------


def test_alerts_list_prints_titles_and_errors_without_escapes(seeded):
    out = monitor(seeded, "alerts", "list")
    visible(out, TITLE_WORDS[:3] + ("no", "yrt"))


def test_stories_list_prints_titles_and_sources_without_escapes(seeded):
    out = monitor(seeded, "stories", "list")
    visible(out, TITLE_WORDS[:3] + FEED_WORDS)


def test_feeds_list_prints_names_and_errors_without_escapes(seeded):
    out = monitor(seeded, "feeds", "list")
    visible(out, FEED_WORDS + ("Boom",))
    out = monitor(seeded, "feeds", "list", "--json")
    visible(out, ())
    assert any(json.loads(line)["last_error"] == FEED_ERROR for line in out.splitlines())


def test_status_prints_failing_feeds_without_escapes(seeded):
    visible(monitor(seeded, "status"), FEED_WORDS + ("Boom",))


def test_rules_backtest_prints_stored_titles_without_escapes(seeded):
    out = monitor(seeded, "rules", "backtest")
    visible(out, TITLE_WORDS)
    out = monitor(seeded, "rules", "backtest", "--json")
    visible(out, ())
    # JSON keeps the data: the characters are written as \\u escapes
    assert [e["title"] for r in json.loads(out)["rules"] for e in r["examples"]] == [TITLE]


def test_rules_test_prints_the_article_and_rule_without_escapes(seeded, tmp_path):
    article = tmp_path / "article.txt"
    article.write_text(f"{TITLE}\n{TEXT}\n", encoding="utf-8")
    out = monitor(seeded, "rules", "test", article)
    visible(out, TITLE_WORDS + ("drawkcab",))
    out = monitor(seeded, "rules", "test", "--json", "--text", TEXT)
    visible(out, ())
    assert json.loads(out)["hits"][0]["text"] == "OTAN"


def hostile_feed() -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>{FEED_NAME}</title><link>https://example.org/</link>
<description>d</description>
<item><title>{TITLE}</title><link>{LINK}</link><guid>g1</guid><description>{TEXT}</description></item>
</channel></rss>""".encode()


def test_feeds_check_prints_a_feed_file_without_escapes(seeded, tmp_path):
    feed = tmp_path / "hostile.rss"
    feed.write_bytes(hostile_feed())
    out = monitor(seeded, "feeds", "check", feed)
    visible(out, TITLE_WORDS + FEED_WORDS + ("https://example.org/otan/gpj.exe",))
    out = monitor(seeded, "feeds", "check", "--json", feed)
    visible(out, ())
    doc = json.loads(out)
    assert "\x1b]0;owned\x07" in doc["title"] and "\u202e" in doc["articles"][0]["title"]


def test_an_error_message_quoting_a_file_is_printed_without_escapes(seeded, tmp_path):
    article = tmp_path / f"article\x1b]0;owned\x07\u202etxt"
    res = run_monitor("--config", seeded.config, "rules", "test", "--file", article)
    assert res.returncode != 0
    visible(res.stdout + res.stderr, ("article", "txt"))


# -- the dashboard ---------------------------------------------------------------------------


@pytest.fixture
def client(seeded):
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its test client; httpx works
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from monitor.web import create_app

    app = create_app(seeded.services.settings, services=seeded.services, enqueue=lambda i: None)
    with TestClient(app, base_url="http://127.0.0.1:8000", client=("127.0.0.1", 40000)) as c:
        yield c


def page(client, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def test_alert_list_and_page_show_titles_text_and_errors_without_controls(client, seeded):
    visible(page(client, "/alerts"), TITLE_WORDS + FEED_WORDS + ("drawkcab",))
    visible(page(client, f"/alerts/{seeded.match_id}"),
            TITLE_WORDS + FEED_WORDS + ("drawkcab", "yrt", "ailleurs"))


def test_feeds_rules_and_deliveries_pages_show_names_and_errors_without_controls(client, seeded):
    visible(page(client, "/feeds"), FEED_WORDS + ("Boom", "https://broken.example/rss"))
    visible(page(client, "/rules"), ("otan", "NATO", "fr"))
    visible(page(client, "/rules/otan"), TITLE_WORDS + ("NATO",))
    visible(page(client, "/deliveries"), TITLE_WORDS + ("yrt",))
    visible(page(client, f"/alerts?feed={seeded.feed_id}"), TITLE_WORDS)
    visible(page(client, "/stories"), ("Stories",))


def test_a_query_value_sent_back_in_a_page_loses_its_controls(client):
    html = page(client, "/alerts?rule=otan%1B%5D0%3Bowned%07%E2%80%AEx")
    visible(html, ("otan]0;ownedx",))


def test_a_link_with_a_bidi_override_is_not_made_a_link(client, seeded):
    html = page(client, f"/alerts/{seeded.match_id}")
    assert 'href="https://example.org/otan' not in html

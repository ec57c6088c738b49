"""The dashboard's test data: a store seeded through the Store API, and uvicorn serving an app."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from monitor import pipeline
from monitor.config import FeedSpec, load_settings
from monitor.core.matching import compile_rules
from monitor.core.rules import load_rules
from monitor.core.types import Article
from monitor.service import Services

from support.procs import free_port, wait_for
from support.samples import ARTICLE_TITLE, SAMPLE_BODY

HOOK_SECRET = "s3cr3t-Hook-Passw0rd"
SCRIPT_TITLE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">OTAN leak'
RULES = """
rules:
  - name: otan
    description: NATO in French and English
    keywords: {any: [OTAN, NATO]}
    channels: [hook]
  - name: ukraine
    keywords: {any: ["ukrain*", Kyiv]}
    channels: [hook]
  - name: canada
    keywords: {any: [Canada]}
"""


@dataclass
class Seeded:
    settings: object
    services: Services
    feeds: dict  # name -> id
    articles: dict  # key -> id
    deliveries: dict  # status -> [ids]
    alerts: dict  # (article key, rule) -> match id

    @property
    def store(self):
        return self.services.store

    def app(self, **kwargs):
        svc = self.services
        kwargs.setdefault("enqueue", lambda i: pipeline.deliver(i, store=svc.store, notifier=svc.notifier))
        from monitor.web import (
            create_app,  # here: the tests that need no app need no fastapi
        )

        return create_app(self.settings, services=svc, **kwargs)


def seed(tmp_path: Path, hook_url: str | None = None, database_url: str | None = None) -> Seeded:
    """A store with three feeds (one failing), four articles, matches and deliveries in every state."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rules.yaml").write_text(RULES, encoding="utf-8")
    hook_url = hook_url or f"json://127.0.0.1:{free_port()}/hook"
    scheme, rest = hook_url.split("://", 1)
    settings = load_settings(
        None, environ={"HOOK_PASS": HOOK_SECRET},
        overrides={"data_dir": str(tmp_path), "rules_path": str(rules), "feeds_path": str(tmp_path / "feeds.yaml"),
                   "database_url": database_url or f"sqlite:///{tmp_path / 'monitor.sqlite'}", "timezone": "UTC",
                   "allow_networks": ["127.0.0.1"],
                   "channels": {"hook": f"{scheme}://monitor:${{HOOK_PASS}}@{rest}"}})
    services = Services(settings)
    store = services.store
    feeds = store.sync_feeds([FeedSpec(url="https://lemonde.example/rss", name="Le Monde", language="fr"),
                              FeedSpec(url="https://bbc.example/rss", name="BBC News", language="en"),
                              FeedSpec(url="https://broken.example/rss", name="Broken feed")], default_interval=900)
    fr, en, broken = (feeds[u] for u in ("https://lemonde.example/rss", "https://bbc.example/rss",
                                         "https://broken.example/rss"))
    arts = {
        "sample": Article("fr-1", "https://lemonde.example/otan-ukraine", ARTICLE_TITLE, SAMPLE_BODY, language="fr"),
        "script": Article("fr-2", "javascript:alert(1)", SCRIPT_TITLE,
                          "Un texte sur l'OTAN avec <b>du HTML</b> et <script>window.__pwned = 3</script>.",
                          language="fr"),
        "nato": Article("en-1", "https://bbc.example/nato", "NATO leaders meet in Brussels",
                        "Leaders of NATO met to discuss support for Kyiv.", language="en"),
        "weather": Article("en-2", "https://bbc.example/weather", "Sunny weekend ahead", "No rule matches this.",
                           language="en"),
    }
    ids = store.record_poll(fr, status=200, articles=[arts["sample"], arts["script"]])
    ids += store.record_poll(en, status=200, articles=[arts["nato"], arts["weather"]])
    store.record_poll_failure(broken, "https://broken.example/rss: HTTP 500 Internal Server Error", status=500)
    key_of = {a.url: k for k, a in arts.items()}
    articles = {key_of[a.url]: a.id for a in store.articles(ids)}
    matcher = compile_rules(load_rules(rules).rules)
    pending = pipeline.match_articles(ids, store=store, matcher=matcher, channels=settings.channels)
    from monitor.adapters.store import Delivery, MatchRow
    from sqlmodel import Session, select

    with Session(store.engine) as s:
        alerts = {(next(k for k, v in articles.items() if v == m.article_id), m.rule): m.id
                  for m in s.exec(select(MatchRow))}
        by_id = {d.id: d for d in s.exec(select(Delivery))}
    deliveries: dict[str, list[int]] = {"dead": [], "failed": [], "sent": []}
    # the sample article's NATO alert is dead, its Ukraine alert failed; the rest were sent
    for d in pending:
        row = by_id[d]
        key = next(k for k, v in articles.items() if v == row.article_id)
        store.begin_delivery(d)
        if (key, row.rule) == ("sample", "otan"):
            store.finish_delivery(d, ok=False, dead=True, error="connection refused after 6 attempts")
            deliveries["dead"].append(d)
        elif (key, row.rule) == ("sample", "ukraine"):
            store.finish_delivery(d, ok=False, error="HTTP 503 from the webhook")
            deliveries["failed"].append(d)
        else:
            store.finish_delivery(d, ok=True)
            deliveries["sent"].append(d)
    return Seeded(settings, services, {"fr": fr, "en": en, "broken": broken}, articles, deliveries, alerts)


class AppServer:
    """uvicorn serving an app in a thread, on a free loopback port (a context manager)."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        wait_for(lambda: self.server.started, 20, what="uvicorn to start")
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)

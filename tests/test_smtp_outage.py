"""The SMTP server down for a while: alerts wait, are retried, and all arrive once it is back, once each."""

from __future__ import annotations

import pytest

from monitor import pipeline
from monitor.config import FeedSpec
from monitor.core.errors import DeliveryError
from monitor.core.matching import compile_rules
from monitor.adapters.notify import AppriseNotifier
from monitor.core.rules import parse_rules
from monitor.adapters.store import Store
from support.fakes import FakeFetcher
from support.procs import free_port
from support.samples import article_rss
from support.smtp import Mailbox

RULES = """
rules:
  - name: otan
    keywords: {any: [OTAN]}
    channels: [email]
  - name: ukraine
    keywords: {any: [ukrain*]}
    channels: [email]
  - name: canada
    keywords: {any: [Canada]}
    channels: [email]
"""


def test_alerts_wait_for_the_smtp_server_and_arrive_once(tmp_path):
    from aiosmtpd.controller import Controller

    port = free_port()  # nothing listens here yet: the server is down
    url = f"mailto://127.0.0.1:{port}?from=monitor@example.org&to=desk@example.org&mode=insecure"
    store = Store.open(f"sqlite:///{tmp_path / 'm.sqlite'}")
    fid = store.sync_feeds([FeedSpec(url="https://news.example.org/rss", name="News")],
                           default_interval=60)["https://news.example.org/rss"]
    out = pipeline.poll_feed(fid, store=store, fetcher=FakeFetcher().serve_any(article_rss(link="https://news.example.org/a")))
    matcher = compile_rules(parse_rules(RULES, "rules.yaml", channels=["email"]))
    deliveries = pipeline.match_articles(out.new_article_ids, store=store, matcher=matcher)
    assert len(deliveries) == 3
    notifier = AppriseNotifier({"email": url})
    for d in deliveries:  # first attempts: refused, recorded, kept for a retry
        with pytest.raises(DeliveryError):
            pipeline.deliver(d, store=store, notifier=notifier)
    assert [r.status for r in store.list_deliveries()] == ["failed"] * 3
    assert all(r.last_error for r in store.list_deliveries())

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()  # the server is back
    try:
        for d in deliveries:  # the retries (what the deliver task's backoff runs)
            assert pipeline.deliver(d, store=store, notifier=notifier).ok
        for d in deliveries:  # a duplicate retry message changes nothing
            assert pipeline.deliver(d, store=store, notifier=notifier).reason.startswith("already")
    finally:
        controller.stop()
    subjects = sorted(m["Subject"].split("]")[0] for m in box.messages)
    assert subjects == ["[canada", "[otan", "[ukraine"]
    assert [r.status for r in store.list_deliveries()] == ["sent"] * 3

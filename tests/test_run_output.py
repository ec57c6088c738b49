"""What a newcomer sees from `make run` (`monitor run`): a short header, then one line per event.

Real processes only: `monitor run` on the embedded SQLite database and queue in a
temporary folder, a feed and a webhook receiver on loopback; then a second start on
the same data folder, and `monitor status` on it.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import yaml

from support.procs import run_monitor, start_monitor, wait_for
from support.samples import ARTICLE_TITLE, article_rss

pytestmark = pytest.mark.slow

BANNER = ("celery@", "[config]", "[queues]", "[tasks]", "-------------- ", ".> transport:", "v5.")
POLL, MATCH, SENT = "polled http://127.0.0.1:", "match: rule 'otan'", "sent: rule 'otan'"


def _config(tmp: Path, feed_server, receiver, **settings) -> Path:
    feed_server.routes["/monde.rss"] = (article_rss(link="https://www.example.org/monde/otan"),
                                        "application/rss+xml; charset=utf-8")
    (tmp / "rules").mkdir()
    (tmp / "rules" / "watch.yaml").write_text(yaml.safe_dump(
        {"rules": [{"name": "otan", "keywords": {"any": ["OTAN"]}, "channels": ["hook"]}]}))
    (tmp / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [
        {"url": feed_server.base + "/monde.rss", "name": "Monde", "interval": 3600},
        # Never answers with a feed: `monitor status` shows a feed that never succeeded.
        {"url": feed_server.base + "/gone.rss", "name": "Gone", "interval": 3600}]}))
    cfg = {"rules_path": "rules", "feeds_path": "feeds.yaml", "data_dir": "data", "poll_tick": 0.5,
           "allow_networks": ["127.0.0.1"], "log_level": "INFO", "channels": {"hook": receiver.url},
           **settings}
    path = tmp / "monitor.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _stop(proc, log: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, log.read_text()  # the bound only guards against a hang
    return log.read_text(errors="replace")


def test_monitor_run_shows_a_short_header_then_one_line_per_poll_match_and_delivery(
        tmp_path, feed_server, receiver):
    config = _config(tmp_path, feed_server, receiver)
    first = tmp_path / "first.log"
    proc = start_monitor("--config", config, "run", cwd=tmp_path, log=first)
    try:
        wait_for(lambda: SENT in first.read_text(errors="replace"), 90, what="the delivery line")
        wait_for(lambda: "gone.rss" in first.read_text(errors="replace"), 30, what="the failed poll's line")
        text = _stop(proc, first)
    finally:
        if proc.poll() is None:
            proc.kill()
    print(text)  # shown by pytest when the test fails
    lines = text.splitlines()
    assert not [line for line in lines if any(b in line for b in BANNER)], text
    assert "SecurityWarning" not in text and "superuser" not in text, text
    assert "Task monitor." not in text and "Sending due task" not in text, text  # no per-task lines
    [first_poll] = [i for i, line in enumerate(lines) if POLL in line][:1]
    assert first_poll <= 5, text  # at most 5 lines before the first poll
    assert any(POLL in line and "monde.rss: 1 new article(s)" in line for line in lines), text
    assert any(MATCH in line and ARTICLE_TITLE[:30] in line for line in lines), text
    assert any(SENT in line and "channel 'hook'" in line for line in lines), text
    assert any("gone.rss" in line and "WARNING" in line for line in lines), text  # a failure: its line
    assert "Traceback" not in text and " ERROR " not in text, text
    assert len(receiver.posts) == 1

    # A second start on the same data folder: nothing left from the first to discard.
    second = tmp_path / "second.log"
    proc = start_monitor("--config", config, "run", cwd=tmp_path, log=second)
    try:
        wait_for(lambda: "Ctrl-C to stop" in second.read_text(errors="replace"), 60, what="the second start")
        # Long enough for the worker to take what the first run left in the queue.
        wait_for(lambda: (tmp_path / "data" / "queue.sqlite").exists(), 30, what="the queue")
        time.sleep(5)
        again = _stop(proc, second)
    finally:
        if proc.poll() is None:
            proc.kill()
    print(again)
    assert "Discarding revoked task" not in again and "Traceback" not in again, again
    assert not [line for line in again.splitlines() if any(b in line for b in BANNER)], again

    status = run_monitor("--config", config, "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    out = status.stdout
    print(out)
    assert f"broker:  embedded queue in {tmp_path / 'data' / 'queue.sqlite'}" in out, out
    assert "**@" not in out and "RedisTransport" not in out, out
    assert "(oldest -)" not in out and "last ok - ago" not in out and " - " not in out, out
    assert "Gone" in out and "never ok" in out, out


def test_monitor_status_prints_the_broker_as_configured_with_its_password_masked(tmp_path):
    for url, shown in [("redis://127.0.0.1:1/0", "broker:  redis://127.0.0.1:1/0"),
                       ("redis://:s3cret@127.0.0.1:1/0", "broker:  redis://:****@127.0.0.1:1/0")]:
        out = run_monitor("--broker-url", url, "--data-dir", tmp_path / "data", "--rules-path", tmp_path,
                          "--feeds-path", tmp_path / "none.yaml", "status", cwd=tmp_path)
        assert shown + "\n" in out.stdout, out.stdout + out.stderr
        assert "s3cret" not in out.stdout and "**@" not in out.stdout.replace(":****@", ""), out.stdout

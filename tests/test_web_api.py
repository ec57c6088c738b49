"""The dashboard's JSON API and pages, through an in-process client on a real SQLite store.

Seeded through the Store API (record_poll, match_articles, begin/finish_delivery);
retries go through ``monitor.pipeline.deliver`` called directly (no Celery worker
runs here) against a real loopback JSON receiver.
"""

from __future__ import annotations

import json
import re
import warnings

import pytest

pytest.importorskip("fastapi")
with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its test client; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from monitor.web import create_app  # noqa: E402
from monitor.web.tester import BACKTEST_MAX, MAX_RULE_CHARS  # noqa: E402
from support.samples import ARTICLE_TITLE, SAMPLE_BODY, SAMPLE_LINES  # noqa: E402
from support.web import HOOK_SECRET, seed  # noqa: E402


@pytest.fixture
def seeded(tmp_path, receiver):
    return seed(tmp_path, receiver.url)


@pytest.fixture
def client(seeded):
    with TestClient(seeded.app(), base_url="http://127.0.0.1:8000", client=("127.0.0.1", 40000)) as c:
        yield c


def csrf(client) -> str:
    return client.get("/api/csrf").json()["csrf_token"]


def post_json(client, url, body):
    return client.post(url, json=body, headers={"X-CSRF-Token": csrf(client)})


# -- alerts ------------------------------------------------------------------------------


def test_alerts_list_newest_first_with_highlighted_snippets(client, seeded):
    r = client.get("/api/alerts")
    assert r.status_code == 200
    items = r.json()["items"]
    assert [a["id"] for a in items] == sorted(seeded.alerts.values(), reverse=True)
    sample = next(a for a in items if a["id"] == seeded.alerts[("sample", "otan")])
    marked = [s["text"] for s in sample["snippet"] if s["mark"]]
    assert marked and all(m.upper() == "OTAN" for m in marked)
    assert sample["feed"] == "Le Monde" and sample["language"] == "fr"
    assert [d["status"] for d in sample["deliveries"]] == ["dead"]
    assert r.json()["next_before"] is None


@pytest.mark.parametrize("query, expected", [
    ("rule=ukraine", {("sample", "ukraine"), ("nato", "ukraine")}),
    ("rule=otan&language=en", {("nato", "otan")}),
    ("language=fr&rule=canada", {("sample", "canada")}),
    ("status=dead", {("sample", "otan")}),
    ("status=failed", {("sample", "ukraine")}),
    ("rule=no-such-rule", set()),
    ("since=2000-01-01&until=2000-01-02", set()),
])
def test_alert_filters(client, seeded, query, expected):
    r = client.get(f"/api/alerts?{query}")
    assert r.status_code == 200, r.text
    assert {a["id"] for a in r.json()["items"]} == {seeded.alerts[k] for k in expected}


def test_alert_filter_by_feed_and_date(client, seeded):
    r = client.get(f"/api/alerts?feed={seeded.feeds['en']}")
    assert {a["article_id"] for a in r.json()["items"]} == {seeded.articles["nato"]}
    from datetime import date

    today = date.today().isoformat()
    assert len(client.get(f"/api/alerts?since={today}&until={today}").json()["items"]) == len(seeded.alerts)


def test_alerts_paginate_with_a_cursor(client, seeded):
    seen, url = [], "/api/alerts?limit=2"
    while url:
        body = client.get(url).json()
        assert len(body["items"]) <= 2
        seen += [a["id"] for a in body["items"]]
        url = f"/api/alerts?limit=2&before={body['next_before']}" if body["next_before"] else None
    assert seen == sorted(seeded.alerts.values(), reverse=True)


@pytest.mark.parametrize("query, message", [
    ("feed=abc", "feed: 'abc' is not a whole number"),
    ("since=2024-13-45", "since: '2024-13-45' is not a date"),
    ("status=lost", "status: 'lost' is not one of"),
    ("limit=0", "limit: 0 is out of range (1 to 200)"),
    ("limit=5000", "limit: 5000 is out of range"),
    ("language=x1", "language: 'x1' is not a language code"),
    ("colour=red", "colour: unknown parameter"),
    ("since=2024-02-01&until=2024-01-01", "since: must be before 'until'"),
])
def test_malformed_alert_filters_are_400_with_a_message(client, query, message):
    r = client.get(f"/api/alerts?{query}")
    assert r.status_code == 400
    assert message in r.json()["detail"]


def test_alert_detail_and_unknown_alert(client, seeded):
    r = client.get(f"/api/alerts/{seeded.alerts[('sample', 'otan')]}")
    assert r.status_code == 200
    body = r.json()
    assert body["text"] == SAMPLE_BODY and body["sources"] == ["Le Monde"]
    r = client.get("/api/alerts/999999")
    assert r.status_code == 404 and r.json()["detail"] == "no alert with id 999999"
    r = client.get("/api/alerts/abc")
    assert r.status_code == 400 and "alert_id" in r.json()["detail"]


# -- feeds -------------------------------------------------------------------------------


def test_feeds_with_health_last_error_and_next_poll(client, seeded):
    r = client.get("/api/feeds")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3
    first = body["items"][0]  # failing feeds first
    assert first["name"] == "Broken feed" and first["health"] == "failing"
    assert "HTTP 500" in first["last_error"] and first["next_poll_at"]
    assert body["health"] == {"ok": 2, "warning": 0, "failing": 1, "never": 0, "disabled": 0}
    assert [f["name"] for f in client.get("/api/feeds?health=ok").json()["items"]] == ["BBC News", "Le Monde"]
    assert [f["name"] for f in client.get("/api/feeds?q=bbc").json()["items"]] == ["BBC News"]
    assert client.get("/api/feeds?limit=1&offset=1").json()["items"][0]["name"] == "BBC News"


def test_feed_detail_and_bad_feed_input(client, seeded):
    assert client.get(f"/api/feeds/{seeded.feeds['fr']}").json()["name"] == "Le Monde"
    r = client.get("/api/feeds/4242")
    assert r.status_code == 404 and r.json()["detail"] == "no feed with id 4242"
    r = client.get("/api/feeds?health=sick")
    assert r.status_code == 400 and "health: 'sick' is not one of" in r.json()["detail"]
    assert client.get("/api/feeds?offset=-1").status_code == 400


# -- rules -------------------------------------------------------------------------------


def test_rules_with_counts_and_30_days(client, seeded):
    r = client.get("/api/rules")
    assert r.status_code == 200
    rules = {x["name"]: x for x in r.json()["items"]}
    assert set(rules) == {"otan", "ukraine", "canada"}
    assert rules["otan"]["matches_total"] == 3 and rules["otan"]["matches_30d"] == 3
    assert rules["ukraine"]["matches_total"] == 2 and rules["canada"]["matches_total"] == 1
    per_day = rules["otan"]["per_day"]
    assert len(per_day) == 30 and per_day[-1]["matches"] == 3 and sum(d["matches"] for d in per_day) == 3
    assert rules["otan"]["channels"] == ["hook"] and rules["otan"]["configured"]
    one = client.get("/api/rules/ukraine").json()
    assert one["matches_total"] == 2
    r = client.get("/api/rules/nope")
    assert r.status_code == 404 and "no rule named 'nope'" in r.json()["detail"]


def test_rule_tester_on_the_french_sample(client):
    r = post_json(client, "/api/rules/test", {"rules": "rules:\n  - name: t\n    keywords: {any: [OTAN]}\n",
                                              "title": ARTICLE_TITLE, "text": SAMPLE_BODY, "language": "fr"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["missed"] == [] and [m["rule"] for m in body["matched"]] == ["t"]
    hits = body["matched"][0]["hits"]
    assert hits and all(SAMPLE_BODY[h["start"]:h["end"]].upper() == "OTAN" for h in hits if h["field"] == "text")


def test_rule_tester_accepts_a_bare_rule_and_reports_misses(client):
    r = post_json(client, "/api/rules/test", {"rules": "name: only-one\nkeywords:\n  any: [Poutine]\n",
                                              "text": SAMPLE_BODY})
    assert r.status_code == 200, r.text
    assert r.json()["matched"][0]["rule"] == "only-one"
    r = post_json(client, "/api/rules/test", {"rules": "- name: z\n  keywords: {any: [zzzq]}\n", "text": "hello"})
    assert r.json()["missed"] == ["z"]


def test_rule_tester_fetches_a_url_through_the_allow_list(client, feed_server):
    page = ("<html><head><title>OTAN</title></head><body><article><h1>L'OTAN et l'Ukraine</h1>"
            + "".join(f"<p>{line}</p>" for line in SAMPLE_LINES[3:40] if line.strip())
            + "</article></body></html>").encode()
    feed_server.routes["/article"] = (page, "text/html; charset=utf-8")
    r = post_json(client, "/api/rules/test", {"rules": "rules:\n  - name: t\n    keywords: {any: [OTAN]}\n",
                                              "url": f"{feed_server.base}/article"})
    assert r.status_code == 200, r.text
    assert r.json()["url"] == f"{feed_server.base}/article" and r.json()["matched"]
    assert feed_server.hits["/article"] == 1


def test_rule_tester_refuses_addresses_outside_the_allow_list(seeded):
    settings = seeded.settings.model_copy(update={"allow_networks": []})
    app = create_app(settings, services=seeded.services, enqueue=lambda i: None)
    with TestClient(app, base_url="http://127.0.0.1", client=("127.0.0.1", 1)) as c:
        r = post_json(c, "/api/rules/test", {"rules": "name: t\nkeywords: {any: [x]}\n",
                                             "url": "http://10.0.0.1/page"})
    assert r.status_code == 400 and "refused" in r.json()["detail"]


@pytest.mark.parametrize("body, status, message", [
    ({"rules": "x" * (MAX_RULE_CHARS + 1), "text": "t"}, 413, f"the limit is {MAX_RULE_CHARS:,}"),
    ({"rules": "rules:\n  - name: t\n    keywords: {any: []}\n", "text": "t"}, 400,
     "a rule needs at least one term"),
    ({"rules": "rules:\n  - name: t\n    keywords: {any: ['*']}\n", "text": "t"}, 400, "pasted:3"),
    ({"rules": "rules: [", "text": "t"}, 400, "pasted:"),
    ({"rules": "", "text": "t"}, 400, "paste at least one rule"),
    ({"rules": "name: t\nkeywords: {any: [x]}\n"}, 400, "paste an article"),
    ({"rules": "name: t\nkeywords: {any: [x]}\n", "url": "ftp://example.org/x"}, 400, "not an http(s) URL"),
    ({"text": "no rules key"}, 422, "rules: Field required"),
])
def test_rule_tester_bad_input(client, body, status, message):
    r = post_json(client, "/api/rules/test", body)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]


def test_backtest_over_stored_articles(client, seeded):
    r = post_json(client, "/api/rules/backtest", {"rules": "rules:\n  - name: otan\n    keywords: {any: [OTAN]}\n"
                                                           "  - name: kyiv\n    keywords: {any: [Kyiv]}\n",
                                                  "limit": 100})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scanned"] == 4
    # "OTAN" alone no longer matches the English article that said NATO
    assert body["counts"] == {"otan": 2, "kyiv": 1} and body["stored_counts"] == {"otan": 3, "kyiv": 0}
    assert {s["article_id"] for s in body["samples"] if s["rule"] == "otan"} == {
        seeded.articles["sample"], seeded.articles["script"]}
    assert all(s["stored_match"] for s in body["samples"] if s["rule"] == "otan")
    assert post_json(client, "/api/rules/backtest", {"rules": "name: o\nkeywords: {any: [OTAN]}\n",
                                                     "limit": 1}).json()["scanned"] == 1


@pytest.mark.parametrize("body, status, message", [
    ({"rules": "name: o\nkeywords: {any: [OTAN]}\n", "limit": BACKTEST_MAX + 1}, 400, "limit:"),
    ({"rules": "name: o\nkeywords: {any: [OTAN]}\n", "days": 0}, 400, "days:"),
    ({"rules": "y" * (MAX_RULE_CHARS + 5)}, 413, "rules:"),
])
def test_backtest_bad_input(client, body, status, message):
    r = post_json(client, "/api/rules/backtest", body)
    assert r.status_code == status and message in r.json()["detail"]


def test_queries_on_sqlite_and_postgresql(tmp_path, receiver, db_url):
    """Filters, per-day counts, health counts and pages give the same answers on both databases."""
    data = seed(tmp_path, receiver.url, database_url=db_url)
    with TestClient(data.app(), base_url="http://127.0.0.1", client=("127.0.0.1", 3)) as c:
        assert len(c.get("/api/alerts?language=fr&status=dead").json()["items"]) == 1
        assert len(c.get(f"/api/alerts?feed={data.feeds['fr']}&since=2000-01-01").json()["items"]) == 4
        rules = {r["name"]: r for r in c.get("/api/rules").json()["items"]}
        assert rules["otan"]["per_day"][-1]["matches"] == 3
        assert c.get("/api/feeds").json()["health"]["failing"] == 1
        assert [f["name"] for f in c.get("/api/feeds?q=MONDE").json()["items"]] == ["Le Monde"]
        assert len(c.get("/api/deliveries?status=all&limit=2").json()["items"]) == 2
        body = post_json(c, "/api/rules/backtest", {"rules": "name: o\nkeywords: {any: [OTAN]}\n"}).json()
        assert body["counts"] == {"o": 2}
        for path in ("/alerts", "/rules", "/feeds", "/deliveries"):
            assert c.get(path).status_code == 200
    data.store.close()


# -- deliveries ----------------------------------------------------------------------------


def test_deliveries_default_to_failed_and_dead(client, seeded):
    body = client.get("/api/deliveries").json()
    assert {d["id"] for d in body["items"]} == set(seeded.deliveries["dead"] + seeded.deliveries["failed"])
    dead = client.get(f"/api/deliveries/{seeded.deliveries['dead'][0]}").json()
    assert dead["status"] == "dead" and dead["last_error"] == "connection refused after 6 attempts"
    assert len(client.get("/api/deliveries?status=all").json()["items"]) == sum(map(len, seeded.deliveries.values()))
    assert client.get("/api/deliveries?status=sent,dead&rule=otan").json()["items"]
    assert client.get("/api/deliveries?channel=other").json()["items"] == []
    r = client.get("/api/deliveries?status=lost")
    assert r.status_code == 400 and "status: 'lost'" in r.json()["detail"]
    r = client.get("/api/deliveries/777")
    assert r.status_code == 404 and r.json()["detail"] == "no delivery with id 777"


def test_retry_sends_a_dead_delivery_to_the_receiver(client, seeded, receiver):
    dead = seeded.deliveries["dead"][0]
    r = post_json(client, f"/api/deliveries/{dead}/retry", {})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "sent"
    assert seeded.store.delivery_job(dead).status == "sent"
    assert len(receiver.posts) == 1 and "OTAN" in json.dumps(receiver.posts[0], ensure_ascii=False)
    r = post_json(client, f"/api/deliveries/{dead}/retry", {})
    assert r.status_code == 409 and "is sent; only failed or dead" in r.json()["detail"]
    assert post_json(client, "/api/deliveries/999/retry", {}).status_code == 404


def test_retry_against_a_refusing_channel_records_the_failure(client, seeded, receiver):
    receiver.status = 500
    failed = seeded.deliveries["failed"][0]
    r = post_json(client, f"/api/deliveries/{failed}/retry", {})
    assert r.status_code == 200 and r.json()["status"] == "failed"
    assert "failed again" in r.json()["message"]


def test_retry_needs_a_csrf_token(client, seeded):
    dead = seeded.deliveries["dead"][0]
    r = client.post(f"/api/deliveries/{dead}/retry")
    assert r.status_code == 403 and "CSRF check failed" in r.json()["detail"]
    r = client.post(f"/api/deliveries/{dead}/retry", headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    # a token minted for another browser's cookie does not work with ours
    with TestClient(seeded.app(), base_url="http://127.0.0.1", client=("127.0.0.1", 2)) as other:
        stolen = csrf(other)
    assert client.post(f"/api/deliveries/{dead}/retry", headers={"X-CSRF-Token": stolen}).status_code == 403
    assert seeded.store.delivery_job(dead).status == "dead"


def test_html_retry_form_needs_the_csrf_field(client, seeded):
    dead = seeded.deliveries["dead"][0]
    page = client.get("/deliveries").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)
    assert client.post(f"/deliveries/{dead}/retry", data={}).status_code == 403
    r = client.post(f"/deliveries/{dead}/retry", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/deliveries?notice=sent%3A{dead}"
    assert f"Delivery {dead} was sent." in client.get(r.headers["location"]).text


def test_channels_are_listed_with_secrets_masked(client):
    r = client.get("/api/channels")
    assert r.status_code == 200
    [channel] = r.json()
    assert channel["name"] == "hook" and HOOK_SECRET not in channel["url"]


def test_status_csrf_openapi_and_health(client):
    counts = client.get("/api/status").json()["counts"]
    assert counts["articles"] == 4 and counts["deliveries_dead"] == 1
    doc = client.get("/api/openapi.json").json()
    paths = set(doc["paths"])
    assert {"/api/alerts", "/api/alerts/{alert_id}", "/api/feeds", "/api/feeds/{feed_id}", "/api/rules",
            "/api/rules/{name}", "/api/rules/test", "/api/rules/backtest", "/api/deliveries",
            "/api/deliveries/{delivery_id}", "/api/deliveries/{delivery_id}/retry", "/api/channels",
            "/api/status", "/api/csrf"} <= paths
    assert client.get("/healthz").json() == {"ok": True}
    assert client.get("/api/nothing").status_code == 404


def test_oversized_and_unsized_bodies_are_refused(client):
    r = client.post("/api/rules/test", content=b"x" * 2_600_000, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    r = client.post("/api/rules/test", content=iter([b"{}"]), headers={"Content-Type": "application/json"})
    assert r.status_code == 411 and "Content-Length" in r.json()["detail"]


@pytest.mark.parametrize("length", [b"9" * 5000, b"0" * 5000 + b"3000000", b"2500001", b"-1", b"1e3", b" 12"],
                         ids=["5000-digits", "zeros", "over", "negative", "float", "space"])
def test_a_malformed_or_huge_content_length_is_refused_before_it_is_read(client, length):
    # a stranger's header: a 5,000-digit number is more than int() takes
    r = client.post("/api/csrf", content=b"", headers={b"Content-Length": length})
    assert r.status_code == 413 and "larger than" in r.json()["detail"]


def test_a_content_length_of_non_ascii_digits_is_not_taken_for_a_number():
    # httpx cannot send a Latin-1 "\xb2" (Starlette would read it as "\u00b2", which passes str.isdigit())
    from monitor.web.middleware import MAX_BODY, _within_limit

    assert not _within_limit("\u00b2") and not _within_limit("\u0661\u0662")
    assert _within_limit("0") and _within_limit("000" + str(MAX_BODY)) and not _within_limit(str(MAX_BODY + 1))


# -- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/alerts", "/feeds", "/rules", "/rules/otan", "/tester", "/deliveries",
                                  "/stories", "/api", "/alerts?rule=otan&status=dead", "/deliveries?status=all"])
def test_pages_render_and_never_show_a_secret(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert "text/html" in r.headers["content-type"]
    assert HOOK_SECRET not in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_alert_pages_show_marks_and_escape_article_html(client, seeded):
    page = client.get("/alerts").text
    assert "<mark>OTAN</mark>" in page
    assert "<script>window.__pwned" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert 'href="javascript:' not in page
    detail = client.get(f"/alerts/{seeded.alerts[('script', 'otan')]}").text
    assert "&lt;b&gt;du HTML&lt;/b&gt;" in detail and "<script>window" not in detail


def test_pages_answer_bad_input_with_a_readable_error(client):
    r = client.get("/alerts?since=yesterday")
    assert r.status_code == 400 and "since: &#39;yesterday&#39; is not a date" in r.text
    r = client.get("/alerts/424242")
    assert r.status_code == 404 and "no alert with id 424242" in r.text
    assert client.get("/rules/unknown").status_code == 404
    assert client.get("/nowhere").status_code == 404


def test_tester_page_matches_the_french_sample(client):
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', client.get("/tester").text).group(1)
    r = client.post("/tester", data={"csrf_token": token, "action": "test", "title": ARTICLE_TITLE,
                                     "text": SAMPLE_BODY, "rules": "name: t\nkeywords: {any: [OTAN]}\n"})
    assert r.status_code == 200
    assert "1 of 1 rule matched" in r.text and "<mark>OTAN</mark>" in r.text
    r = client.post("/tester", data={"csrf_token": token, "action": "backtest", "limit": "50",
                                     "rules": "name: t\nkeywords: {any: [OTAN]}\n"})
    assert r.status_code == 200 and "Backtest over 4 stored articles" in r.text
    r = client.post("/tester", data={"csrf_token": token, "rules": "z" * (MAX_RULE_CHARS + 1), "text": "x"})
    assert r.status_code == 413 and "the limit is" in r.text


# -- access ---------------------------------------------------------------------------------


def test_without_a_token_only_loopback_is_served(seeded):
    app = seeded.app()
    with TestClient(app, base_url="http://127.0.0.1", client=("192.0.2.7", 1)) as remote:
        r = remote.get("/api/alerts")
        assert r.status_code == 403 and "only on loopback" in r.json()["detail"]
    with TestClient(app, base_url="http://evil.example", client=("127.0.0.1", 1)) as rebinding:
        r = rebinding.get("/api/alerts")
        assert r.status_code == 403 and "Host header" in r.json()["detail"]
    with TestClient(app, base_url="http://localhost:8000", client=("::1", 1)) as local:
        assert local.get("/api/alerts").status_code == 200


def test_with_a_token_api_needs_bearer_and_pages_need_login(seeded):
    app = seeded.app(token="correct-horse-battery")
    with TestClient(app, base_url="http://monitor.example", client=("203.0.113.9", 1)) as c:
        r = c.get("/api/alerts")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in r.json()["detail"]
        assert c.get("/api/alerts", headers={"Authorization": "Bearer wrong"}).status_code == 401
        auth = {"Authorization": "Bearer correct-horse-battery"}
        assert c.get("/api/alerts", headers=auth).status_code == 200
        # bearer requests are exempt from CSRF: a browser never sends that header on its own
        dead = seeded.deliveries["dead"][0]
        assert c.post(f"/api/deliveries/{dead}/retry", headers=auth).status_code == 200
        r = c.get("/alerts", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Falerts"
        login = c.get("/login?next=/feeds").text
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', login).group(1)
        r = c.post("/login", data={"csrf_token": token, "token": "nope", "next": "/feeds"})
        assert r.status_code == 401 and "wrong token" in r.text
        r = c.post("/login", data={"csrf_token": token, "token": "correct-horse-battery", "next": "//evil.example"},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/alerts"
        assert "correct-horse-battery" not in r.headers["set-cookie"]
        feeds = c.get("/feeds")
        assert feeds.status_code == 200
        assert c.get("/static/style.css").status_code == 200
        # a logged-in page's CSRF token is its session's, not the one the login form had
        session_token = re.search(r'name="csrf_token" value="([^"]+)"', feeds.text).group(1)
        assert session_token != token
        assert c.post("/logout", data={"csrf_token": token}).status_code == 403
        assert c.post("/logout", data={"csrf_token": session_token}, follow_redirects=False).status_code == 303
        assert c.get("/alerts", follow_redirects=False).status_code == 303


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_wrong_tokens_lock_out_the_address_that_sent_them_until_they_age(seeded, caplog):
    from monitor.web.security import FailureLimit

    clock = _Clock()
    app = seeded.app(token="correct-horse-battery", login_limit=FailureLimit(3, 60, clock=clock))
    right = {"Authorization": "Bearer correct-horse-battery"}
    wrong = {"Authorization": "Bearer tr0ub4dor&3-guess"}
    with TestClient(app, base_url="http://monitor.example", client=("203.0.113.9", 1)) as c, \
            TestClient(app, base_url="http://monitor.example", client=("198.51.100.4", 1)) as other:
        login = c.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', login).group(1)
        # form and bearer guesses count together, per address
        assert c.post("/login", data={"csrf_token": csrf, "token": "guess-one-xx"}).status_code == 401
        assert c.get("/api/alerts", headers=wrong).status_code == 401
        clock.now += 30
        with caplog.at_level("WARNING", logger="monitor.web"):
            assert c.post("/login", data={"csrf_token": csrf, "token": "guess-three"}).status_code == 401
        assert "3 wrong tokens from 203.0.113.9" in caplog.text and "guess" not in caplog.text
        # locked out: even the right token is refused, on the form and on the API
        r = c.post("/login", data={"csrf_token": csrf, "token": "correct-horse-battery"}, follow_redirects=False)
        assert r.status_code == 429 and "try again in 30 s" in r.text and r.headers["retry-after"] == "30"
        assert "mm_session" not in r.headers.get("set-cookie", "")
        r = c.get("/api/alerts", headers=right)
        assert r.status_code == 429 and r.headers["retry-after"] == "30"
        assert "too many wrong tokens" in r.json()["detail"]
        # another address is not affected, nor is a request without credentials counted
        assert other.get("/api/alerts", headers=right).status_code == 200
        assert other.get("/api/alerts").status_code == 401
        for _ in range(4):  # a proxy's Basic credentials passed through are no guess
            assert other.get("/api/alerts", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
        assert other.get("/api/alerts", headers=right).status_code == 200
        # the first two guesses leave the window after 60 s; one failure (at +30 s) stays
        clock.now += 30
        assert c.get("/api/alerts", headers=right).status_code == 200
        assert c.get("/api/alerts", headers=wrong).status_code == 401
        assert c.get("/api/alerts", headers=wrong).status_code == 401
        assert c.get("/api/alerts", headers=right).status_code == 429


def test_failure_limit_forgets_the_least_recent_addresses_first():
    from monitor.web.security import FailureLimit

    clock = _Clock()
    limit = FailureLimit(2, 60, max_clients=2, clock=clock)
    for client in ("a", "b", "a", "c"):  # "b" failed least recently when "c" comes
        limit.fail(client)
    assert limit.wait("a") == 60 and limit.wait("b") == 0
    assert limit.fail("c") and limit.wait("c") == 60
    assert len(limit._failures) == 2
    clock.now += 60
    assert limit.wait("a") == limit.wait("c") == 0


def test_cli_refuses_a_public_address_without_a_token():
    from click.testing import CliRunner

    from monitor.cli.web import web

    r = CliRunner().invoke(web, ["--host", "0.0.0.0"], env={"MONITOR_WEB_TOKEN": ""})
    assert r.exit_code != 0 and "without a token" in r.output
    r = CliRunner().invoke(web, ["--host", "0.0.0.0", "--token", "short"])
    assert r.exit_code != 0 and "at least 12 characters" in r.output
    assert "Serve the dashboard" in CliRunner().invoke(web, ["--help"]).output

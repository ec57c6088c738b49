"""Dashboard logins: a session per login kept in the database, CSRF bound to it, origins checked.

Through an in-process client on a real SQLite store seeded as in support/web.py;
"another dashboard process" is a second app over the same database.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timedelta, timezone

import pytest

pytest.importorskip("fastapi")
with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its test client; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

from support.web import seed  # noqa: E402

from monitor.config import load_settings  # noqa: E402
from monitor.core.errors import ConfigError  # noqa: E402
from monitor.service import Services  # noqa: E402

TOKEN = "correct-horse-battery"
BASE = "http://monitor.example"


class Clock:
    def __init__(self):
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def seeded(tmp_path, receiver):
    return seed(tmp_path, receiver.url)


def browser(app, address: str = "203.0.113.9") -> TestClient:
    return TestClient(app, base_url=BASE, client=(address, 1))


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def log_in(c: TestClient) -> str:
    """Log in through the form; the session cookie it set."""
    r = c.post("/login", data={"csrf_token": form_token(c.get("/login").text), "token": TOKEN},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return c.cookies["mm_session"]


def retry(c: TestClient, delivery: int, token: str, **headers):
    return c.post(f"/api/deliveries/{delivery}/retry", headers={"X-CSRF-Token": token, **headers})


def test_every_login_gets_its_own_session_and_a_logged_out_cookie_is_refused(seeded):
    app = seeded.app(token=TOKEN)
    with browser(app) as alice, browser(app, "198.51.100.4") as bob:
        alice_cookie, bob_cookie = log_in(alice), log_in(bob)
        assert alice_cookie != bob_cookie and TOKEN not in alice_cookie
        assert alice.get("/api/alerts").status_code == 200
        alice.post("/logout", data={"csrf_token": form_token(alice.get("/alerts").text)})
        assert bob.get("/api/alerts").status_code == 200  # another login is not ended
    # the cookie, kept by someone after the logout, opens nothing: not here, not in another process
    from monitor.web import create_app

    other_process = create_app(seeded.settings, services=Services(seeded.settings), token=TOKEN,
                               enqueue=lambda i: None)
    for server in (app, other_process):
        with browser(server, "192.0.2.50") as thief:
            thief.cookies.set("mm_session", alice_cookie)
            r = thief.get("/api/alerts")
            assert r.status_code == 401 and "your session has ended" in r.json()["detail"]
            r = thief.get("/alerts", follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with browser(other_process, "192.0.2.51") as bobs_other_tab:
        bobs_other_tab.cookies.set("mm_session", bob_cookie)
        assert bobs_other_tab.get("/api/alerts").status_code == 200


def test_a_csrf_token_from_another_session_is_refused(seeded):
    app = seeded.app(token=TOKEN)
    dead = seeded.deliveries["dead"][0]
    with browser(app) as victim, browser(app, "198.51.100.4") as attacker:
        victim_cookie = log_in(victim)
        log_in(attacker)
        attackers_token = attacker.get("/api/csrf").json()["csrf_token"]
        assert retry(victim, dead, attackers_token).status_code == 403
        # nor with the attacker's CSRF cookie planted next to the victim's session (cookie tossing)
        with browser(app, "192.0.2.7") as planted:
            planted.cookies.set("mm_session", victim_cookie)
            planted.cookies.set("mm_csrf", attacker.cookies["mm_csrf"])
            r = retry(planted, dead, attackers_token)
            assert r.status_code == 403 and "CSRF check failed" in r.json()["detail"]
        assert seeded.store.delivery_job(dead).status == "dead"
        # the victim's own token, from a page or from /api/csrf, works
        own = form_token(victim.get("/deliveries").text)
        assert own == victim.get("/api/csrf").json()["csrf_token"]
        assert retry(victim, dead, own).status_code == 200


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "http://monitor.example.evil.example"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/page"},
    {"Origin": "http://monitor.example:8443"},
], ids=["origin", "suffix", "null", "referer", "other-port"])
def test_a_post_from_a_foreign_origin_is_refused(seeded, headers):
    app = seeded.app(token=TOKEN)
    dead = seeded.deliveries["dead"][0]
    with browser(app) as c:
        log_in(c)
        token = c.get("/api/csrf").json()["csrf_token"]
        r = retry(c, dead, token, **headers)
        assert r.status_code == 403 and "cross-site request refused" in r.json()["detail"]
        r = c.post("/logout", data={"csrf_token": token}, headers=headers)
        assert r.status_code == 403 and "cross-site request refused" in r.text
        assert c.get("/api/alerts").status_code == 200  # still logged in
        assert seeded.store.delivery_job(dead).status == "dead"
        # from the dashboard's own pages it goes through
        assert retry(c, dead, token, Origin=BASE, Referer=f"{BASE}/deliveries").status_code == 200


def test_huge_and_many_headers_from_a_stranger_are_refused_with_a_short_answer(seeded):
    """Origin, Referer and Cookie are a stranger's: a megabyte of each, or 10,000 cookies, is
    refused like a short one, and the refusal quotes at most 100 characters of it."""
    app = seeded.app(token=TOKEN)
    dead = seeded.deliveries["dead"][0]
    huge = "https://evil.example/" + "a" * 1_000_000
    with browser(app) as c:
        log_in(c)
        token = c.get("/api/csrf").json()["csrf_token"]
        for header in ("Origin", "Referer"):
            r = retry(c, dead, token, **{header: huge})
            assert r.status_code == 403 and "cross-site request refused" in r.json()["detail"]
            assert len(r.content) < 500
        assert seeded.store.delivery_job(dead).status == "dead"
    with browser(app, "192.0.2.8") as stranger:
        stranger.cookies.set("mm_session", "x" * 1_000_000)
        r = stranger.get("/api/alerts")
        assert r.status_code == 401 and len(r.content) < 500
        stranger.cookies.clear()
        many = "; ".join(f"c{i}=v" for i in range(10_000))
        r = stranger.get("/api/alerts", headers={"Cookie": f"{many}; mm_session={'y' * 40}"})
        assert r.status_code == 401 and "your session has ended" in r.json()["detail"]


def test_origins_on_a_loopback_dashboard_behind_a_proxy_and_for_bearer_clients(seeded):
    from monitor.web import create_app

    dead, failed = seeded.deliveries["dead"][0], seeded.deliveries["failed"][0]
    with TestClient(seeded.app(), base_url="http://127.0.0.1:8000", client=("127.0.0.1", 1)) as c:
        token = c.get("/api/csrf").json()["csrf_token"]
        assert retry(c, dead, token, Origin="http://evil.example").status_code == 403
        assert retry(c, dead, token, Origin="http://127.0.0.1:8000").status_code == 200
    # a proxy that rewrites Host: the public origin is named in web_origins
    settings = seeded.settings.model_copy(update={"web_origins": ["https://monitor.example"]})
    app = create_app(settings, services=seeded.services, token=TOKEN, enqueue=lambda i: None)
    with TestClient(app, base_url="http://127.0.0.1:8000", client=("127.0.0.1", 2)) as c:
        log_in(c)
        token = c.get("/api/csrf").json()["csrf_token"]
        assert retry(c, failed, token, Origin="https://evil.example").status_code == 403
        assert retry(c, failed, token, Origin="https://monitor.example").status_code == 200
        # a bearer token is no browser's: neither CSRF nor origin applies
        r = c.post(f"/api/deliveries/{dead}/retry", headers={"Authorization": f"Bearer {TOKEN}",
                                                             "Origin": "https://evil.example"})
        assert r.status_code == 409 and "is sent" in r.json()["detail"]  # past both checks, to the route


def test_sessions_expire_after_the_configured_lifetime(seeded):
    from monitor.web import create_app

    clock = Clock()
    settings = seeded.settings.model_copy(update={"web_session_lifetime": 3600})
    app = create_app(settings, services=seeded.services, token=TOKEN, enqueue=lambda i: None, clock=clock)
    with browser(app) as c:
        r = c.post("/login", data={"csrf_token": form_token(c.get("/login").text), "token": TOKEN},
                   follow_redirects=False)
        assert "max-age=3600" in r.headers["set-cookie"].lower()
        clock.now += timedelta(seconds=3599)
        assert c.get("/api/alerts").status_code == 200
        clock.now += timedelta(seconds=2)
        r = c.get("/api/alerts")
        assert r.status_code == 401 and "your session has ended" in r.json()["detail"]
        log_in(c)  # a new login starts a new lifetime
        assert c.get("/api/alerts").status_code == 200


def test_a_new_token_ends_the_sessions_of_the_old_one(seeded):
    from monitor.web import create_app

    with browser(seeded.app(token=TOKEN)) as c:
        cookie = log_in(c)
    app = create_app(seeded.settings, services=seeded.services, token="another-long-token", enqueue=lambda i: None)
    with browser(app) as c:
        c.cookies.set("mm_session", cookie)
        assert c.get("/api/alerts").status_code == 401


def test_web_settings_from_the_environment():
    s = load_settings(None, environ={"MONITOR_WEB_SESSION_LIFETIME": "7200",
                                     "MONITOR_WEB_ORIGINS": "https://Monitor.example/, http://10.0.0.5:8000",
                                     "MONITOR_WEB_TESTER_WORKERS": "2", "MONITOR_WEB_TESTER_TIMEOUT": "30"})
    assert s.web_session_lifetime == 7200 and s.web_tester_workers == 2 and s.web_tester_timeout == 30
    assert s.web_origins == ["https://monitor.example", "http://10.0.0.5:8000"]
    with pytest.raises(ConfigError, match="is not an origin"):
        load_settings(None, environ={"MONITOR_WEB_ORIGINS": "https://monitor.example/path"})
    with pytest.raises(ConfigError):
        load_settings(None, environ={"MONITOR_WEB_SESSION_LIFETIME": "5"})


def test_sessions_on_sqlite_and_postgresql(tmp_path, receiver, db_url):
    """Login, expiry and logout read and write the same rows on both databases."""
    from monitor.web import create_app

    data = seed(tmp_path, receiver.url, database_url=db_url)
    clock = Clock()
    settings = data.settings.model_copy(update={"web_session_lifetime": 600})
    app = create_app(settings, services=data.services, token=TOKEN, enqueue=lambda i: None, clock=clock)
    with browser(app) as c, browser(app, "198.51.100.4") as d:
        log_in(c)
        log_in(d)
        clock.now += timedelta(seconds=599)
        assert c.get("/api/alerts").status_code == 200 and d.get("/api/alerts").status_code == 200
        c.post("/logout", data={"csrf_token": form_token(c.get("/alerts").text)})
        assert d.get("/api/alerts").status_code == 200
        clock.now += timedelta(seconds=2)
        assert d.get("/api/alerts").status_code == 401
        log_in(c)  # and the expired rows are cleared on the way
        assert c.get("/api/alerts").status_code == 200
    from sqlmodel import Session, select

    from monitor.adapters.store.websessions import WebSessionRow

    with Session(data.store.engine) as s:
        assert len(s.exec(select(WebSessionRow)).all()) == 1
    data.store.close()

"""The dashboard under load: served for real by uvicorn on a loopback port, with URL tests
against a real loopback page server that answers only when the test lets it.

The tester fetches with a 300 s timeout here, so a held fetch stays in flight for
as long as the test holds it (the default 20 s would end it on its own).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from monitor.adapters.fetch import HttpFetcher  # noqa: E402
from support.procs import wait_for  # noqa: E402
from support.samples import SAMPLE_BODY  # noqa: E402
from support.web import AppServer, seed  # noqa: E402

RULES = "rules:\n  - name: t\n    keywords: {any: [OTAN]}\n"
PAGE = ("L'OTAN et l'Ukraine\n" + SAMPLE_BODY).encode("utf-8")
GUARD = 30.0  # seconds: only against hangs


class Counted:
    """The app, counting the requests to a path that reached it."""

    def __init__(self, app, path: str):
        self.app, self.path, self.arrived = app, path, 0
        self.state = app.state

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == self.path:
            self.arrived += 1
        await self.app(scope, receive, send)


class HeldPage:
    """A page route of the feed server that answers once ``release`` is set."""

    def __init__(self):
        self.release = threading.Event()

    def __call__(self):
        self.release.wait(120)
        return PAGE, "text/plain; charset=utf-8"


@pytest.fixture
def seeded(tmp_path, receiver):
    return seed(tmp_path, receiver.url)


def _app(seeded, **settings):
    fetcher = HttpFetcher(timeout=300, allow=["127.0.0.1"])
    s = seeded.settings.model_copy(update=settings) if settings else seeded.settings
    from monitor.web import create_app

    return create_app(s, services=seeded.services, fetcher=fetcher, enqueue=lambda i: None)


def _url_test(client: httpx.Client, csrf: str, url: str):
    return client.post("/api/rules/test", json={"rules": RULES, "url": url}, headers={"X-CSRF-Token": csrf})


def test_status_is_answered_while_60_slow_url_tests_are_in_flight(seeded, feed_server):
    page = HeldPage()
    feed_server.routes["/slow"] = page
    app = Counted(_app(seeded), "/api/rules/test")
    with AppServer(app) as server, httpx.Client(base_url=server.base, timeout=120) as client, \
            ThreadPoolExecutor(60) as senders:
        csrf = client.get("/api/csrf").json()["csrf_token"]
        try:
            tests = [senders.submit(_url_test, client, csrf, f"{feed_server.base}/slow") for _ in range(60)]
            wait_for(lambda: app.arrived == 60 and feed_server.hits.get("/slow"), GUARD,
                     what="60 URL tests to reach the dashboard")
            try:
                with httpx.Client(base_url=server.base, timeout=GUARD) as other:
                    status = other.get("/api/status")
            except httpx.TimeoutException:
                pytest.fail(f"/api/status was not answered within {GUARD:g} s with 60 URL tests in flight")
            assert status.status_code == 200
            assert status.json()["counts"]["articles"] == 4
            assert all(not t.done() for t in tests)  # they were still in flight
        finally:
            page.release.set()
        answers = [t.result(timeout=GUARD) for t in tests]
    # every test waited its turn and was answered
    assert [a.status_code for a in answers] == [200] * 60
    assert all(a.json()["matched"][0]["rule"] == "t" for a in answers)
    assert feed_server.hits["/slow"] == 60


def test_a_url_test_past_its_time_is_answered_504_and_the_pages_still_answer(seeded, feed_server):
    page = HeldPage()
    feed_server.routes["/slow"] = page
    app = _app(seeded, web_tester_timeout=1.0)
    with AppServer(app) as server, httpx.Client(base_url=server.base, timeout=GUARD) as client:
        csrf = client.get("/api/csrf").json()["csrf_token"]
        try:
            r = _url_test(client, csrf, f"{feed_server.base}/slow")
            assert r.status_code == 504
            assert "took longer than 1 s (web_tester_timeout) and was stopped" in r.json()["detail"]
            assert client.get("/api/status").status_code == 200
        finally:
            page.release.set()
        wait_for(lambda: app.state.web.pool.jobs == 0, GUARD, what="the stopped test to end")


def test_a_waiting_url_test_whose_client_left_is_never_run(seeded, feed_server):
    first, second = HeldPage(), HeldPage()
    second.release.set()
    feed_server.routes["/first"] = first
    feed_server.routes["/second"] = second
    app = Counted(_app(seeded, web_tester_workers=1), "/api/rules/test")
    pool = app.state.web.pool
    with AppServer(app) as server, httpx.Client(base_url=server.base, timeout=GUARD) as client, \
            ThreadPoolExecutor(1) as sender:
        csrf = client.get("/api/csrf").json()["csrf_token"]
        try:
            running = sender.submit(_url_test, client, csrf, f"{feed_server.base}/first")
            wait_for(lambda: feed_server.hits.get("/first"), GUARD, what="the first test to fetch")
            # the second waits behind it; its client gives up after 1 s and closes the connection
            with httpx.Client(base_url=server.base, timeout=1.0, cookies=client.cookies) as impatient, pytest.raises(httpx.ReadTimeout):
                _url_test(impatient, csrf, f"{feed_server.base}/second")
            assert app.arrived == 2
            wait_for(lambda: pool.jobs == 1, GUARD, what="the abandoned test to be dropped")
        finally:
            first.release.set()
        assert running.result(timeout=GUARD).status_code == 200
    assert feed_server.hits["/first"] == 1 and "/second" not in feed_server.hits


def test_the_tester_pool_refuses_jobs_past_its_queue_and_counts_none_it_refused():
    """A stranger can send any number of tests: past ``workers + max_waiting`` they get 503 at once,
    and nothing is queued or counted for them."""
    import asyncio

    from fastapi import HTTPException
    from starlette.requests import Request

    from monitor.web.pool import WorkPool

    pool = WorkPool(1, GUARD, max_waiting=2)
    release = threading.Event()
    started = []

    def job(stop, n):
        started.append(n)
        release.wait(GUARD)
        return n

    async def connected():  # a client that stays: no disconnect message ever
        await asyncio.Event().wait()

    async def main():
        request = Request({"type": "http", "method": "POST", "path": "/", "headers": []}, connected)
        accepted = [asyncio.ensure_future(pool.run(request, job, n)) for n in range(3)]
        await asyncio.sleep(0)
        assert pool.jobs == 3
        for n in range(3, 50):
            with pytest.raises(HTTPException) as refused:
                await pool.run(request, job, n)
            assert refused.value.status_code == 503 and refused.value.headers == {"Retry-After": "60"}
        assert pool.jobs == 3
        release.set()
        return await asyncio.gather(*accepted)

    try:
        assert asyncio.run(main()) == [0, 1, 2]
    finally:
        release.set()
        pool.close()
    assert sorted(started) == [0, 1, 2] and pool.jobs == 0

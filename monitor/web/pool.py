"""The dashboard's expensive work (rule tests on fetched pages, backtests) in a pool of its own.

Pages and the API run in Starlette's shared threads; were a slow URL test to
run there too, 40 of them would leave no thread for anything else. Here they
get ``workers`` threads of their own, wait their turn behind at most
``max_waiting`` others, and are stopped when the client goes away or when
``timeout`` seconds (waiting included) have passed: a test still waiting is
dropped, a running one is told through the ``stop`` event it is given, which
it checks between steps (a fetch in progress ends at its own timeout).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import HTTPException
from starlette.requests import Request

from monitor.core.errors import MonitorError

T = TypeVar("T")


class Stopped(MonitorError, RuntimeError):
    """Raised inside a job told to stop (its client left, or its time ran out)."""


async def _disconnect(request: Request) -> None:
    """Returns when the client has closed the connection (the request's body was read before)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


class WorkPool:
    """``workers`` threads for expensive requests, each bounded by ``timeout`` seconds."""

    def __init__(self, workers: int, timeout: float, *, max_waiting: int = 100, what: str = "rule test"):
        self.workers, self.timeout, self.max_waiting, self.what = workers, timeout, max_waiting, what
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="monitor-web-tester")
        self._lock = threading.Lock()
        self._jobs = 0  # submitted and not finished (waiting or running)

    @property
    def jobs(self) -> int:
        """Jobs waiting or running now."""
        return self._jobs

    def _done(self, _future) -> None:
        with self._lock:
            self._jobs -= 1

    async def run(self, request: Request, fn: Callable[..., T], *args: Any) -> T:
        """``fn(stop, *args)`` in the pool, for ``request``; its result.

        Raises HTTPException: 503 when too many jobs are waiting, 504 when the
        time is up, 499 when the client closed the connection (nobody reads it).
        ``fn`` should check ``stop.is_set()`` between its steps and give up then.
        """
        with self._lock:
            if self._jobs >= self.workers + self.max_waiting:
                raise HTTPException(503, f"too many rule tests and backtests at once ({self._jobs}); "
                                         "try again in a minute", headers={"Retry-After": "60"})
            self._jobs += 1
        stop = threading.Event()
        try:
            future = self._executor.submit(fn, stop, *args)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        waiter = asyncio.wrap_future(future)
        # Starlette's request.is_disconnected() never says so behind a BaseHTTPMiddleware (its
        # already-cancelled receive loses the message): wait for the disconnect message instead.
        gone = asyncio.ensure_future(_disconnect(request))
        try:
            done, _ = await asyncio.wait({waiter, gone}, timeout=max(0.0, deadline - loop.time()),
                                         return_when=asyncio.FIRST_COMPLETED)
            if waiter in done:
                return waiter.result()
            if gone in done:
                raise HTTPException(499, f"the client closed the connection; the {self.what} was stopped")
            raise HTTPException(504, f"the {self.what} took longer than {self.timeout:g} s "
                                     "(web_tester_timeout) and was stopped")
        finally:
            gone.cancel()
            if not future.done():
                stop.set()
                future.cancel()  # a job still waiting never starts
                waiter.cancel()

    def close(self) -> None:
        """Drop the waiting jobs; the running ones finish in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)

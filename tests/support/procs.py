"""Ports, waiting, and the ``monitor`` command run in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from support.samples import ROOT


def free_port() -> int:
    """A loopback port nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"):
    """The first true value of ``predicate()``; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def monitor_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["PYTHONUNBUFFERED"] = "1"
    # Worker processes start and stop often here: no spaCy model load in each
    # (tests/test_ner.py checks the entity check, with the model, on its own).
    env["MONITOR_ENTITY_MODELS"] = ""
    env.update(extra or {})
    return env


def run_monitor(*args, env=None, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "monitor.cli", *map(str, args)], capture_output=True,
                          text=True, env=monitor_env(env), cwd=cwd or ROOT, timeout=timeout)


def start_monitor(*args, env=None, cwd=None, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "wb") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "monitor.cli", *map(str, args)], stdout=out,
                            stderr=subprocess.STDOUT, env=monitor_env(env), cwd=cwd or ROOT,
                            start_new_session=True)

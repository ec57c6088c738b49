"""Which deliveries go out together. Pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

J = TypeVar("J")


def next_wave(todo: Sequence[J], size: int, serial: Callable[[str], bool]) -> tuple[list[J], list[J]]:
    """The next wave of at most ``size`` jobs (each with a ``channel``), in order, and the rest.

    A channel for which ``serial(channel)`` is true (one apprise throttles) gets one
    job per wave; the others wait for the next.
    """
    wave: list[J] = []
    rest: list[J] = []
    busy: set[str] = set()
    for job in todo:
        throttled = serial(job.channel)
        if len(wave) < size and not (throttled and job.channel in busy):
            wave.append(job)
            if throttled:
                busy.add(job.channel)
        else:
            rest.append(job)
    return wave, rest

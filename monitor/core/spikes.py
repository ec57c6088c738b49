"""Volume spikes: when a rule's matches per hour rise far above its own recent baseline.

Pure: every function here computes from its arguments and touches nothing
outside itself.

The baseline is the trailing week of hourly counts (168 hours by default).
An hour is *anomalous* when its count is at least ``min_count``, at least
``min_ratio`` times the trailing median, and its robust z-score
``(count - median) / (1.4826 * MAD)`` is at least ``threshold``. The spread
has a floor of ``sqrt(median)`` (and 1), so a rule whose baseline is all
zeros does not fire on a count of 2, and a noisy baseline raises the bar.
The count must also exceed ``tail_factor`` times the week's 99th percentile
hour, so the busy hours a rule has every week do not fire (the flip side: a
second burst within a week of the first must be bigger to fire).

A burst fires once: the first anomalous hour fires and puts the rule in a
burst (:class:`SpikeState`, to be stored); later anomalous hours do not fire;
the burst ends after ``cooldown`` hours in a row that are not anomalous.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SpikeDecision", "SpikeState", "spike"]

_MAD_SCALE = 1.4826  # MAD of a normal distribution -> standard deviation


@dataclass(frozen=True)
class SpikeState:
    """What the spike check remembers between hours for one rule (plain data: store both fields)."""

    in_burst: bool = False
    calm_hours: int = 0  # hours in a row not anomalous since the burst's last anomalous hour


@dataclass(frozen=True)
class SpikeDecision:
    """The spike check of one hour of one rule."""

    fire: bool  # send a spike alert now
    anomalous: bool  # this hour is far above the baseline (fired or not)
    count: int
    baseline: float  # trailing median matches per hour
    spread: float  # robust standard deviation used
    score: float  # robust z-score
    ratio: float  # count / max(baseline, 1)
    state: SpikeState  # store for the next hour


def spike(counts_per_hour: Sequence[int], current: int, *, state: SpikeState | None = None,
          min_count: int = 10, threshold: float = 5.0, min_ratio: float = 3.0,
          tail_factor: float = 1.5, cooldown: int = 6, window: int = 168,
          min_history: int = 24) -> SpikeDecision | None:
    """Decide whether ``current`` matches in this hour is a spike worth one alert.

    ``counts_per_hour`` are the rule's counts for the hours before this one,
    oldest first (only the last ``window`` are read); ``state`` is what the
    previous call returned (None: not in a burst). Returns None when there
    are fewer than ``min_history`` hours of history (the state is then
    unchanged); otherwise a :class:`SpikeDecision` whose ``state`` replaces
    the stored one. Raises ValueError on a negative count or bad parameter.
    """
    if current < 0 or min_count < 1 or cooldown < 1 or window < 1:
        raise ValueError("counts and parameters must be positive")
    state = state or SpikeState()
    history = list(counts_per_hour[-window:])
    if len(history) < min_history:
        return None
    if any(c < 0 for c in history):
        raise ValueError("hourly counts cannot be negative")
    median = float(statistics.median(history))
    mad = float(statistics.median(abs(c - median) for c in history))
    spread = max(_MAD_SCALE * mad, math.sqrt(median), 1.0)
    score = (current - median) / spread
    ratio = current / max(median, 1.0)
    # Busy hours that happen every week are not spikes: beat the week's 99th percentile too.
    tail = sorted(history)[min(len(history) - 1, int(0.99 * len(history)))]
    anomalous = (current >= min_count and ratio >= min_ratio and score >= threshold
                 and current > tail_factor * tail)

    if anomalous:
        fire = not state.in_burst
        new = SpikeState(in_burst=True, calm_hours=0)
    else:
        fire = False
        calm = state.calm_hours + 1 if state.in_burst else 0
        new = SpikeState(in_burst=True, calm_hours=calm) if state.in_burst and calm < cooldown else SpikeState()
    return SpikeDecision(fire, anomalous, current, median, spread, score, ratio, new)

"""Spike alerts: a burst far above a rule's own baseline fires once; steady or noisy streams never."""

from __future__ import annotations

import random

import pytest

from monitor.core.spikes import SpikeState, spike


def run(counts, *, warmup=168, **kw):
    """Feed hourly counts through spike() like the hourly job would; return the hours that fired."""
    state, fired, decisions = None, [], []
    for h in range(warmup, len(counts)):
        d = spike(counts[:h], counts[h], state=state, **kw)
        if d is None:
            continue
        decisions.append(d)
        state = d.state
        if d.fire:
            fired.append(h)
    return fired, decisions


def baseline(hours, rng, mean=4):
    # Poisson-like hourly counts with a day/night rhythm.
    out = []
    for h in range(hours):
        lam = mean * (1.5 if 8 <= h % 24 < 20 else 0.4)
        out.append(sum(rng.random() < lam / 20 for _ in range(20)))
    return out


def test_a_burst_fires_once():
    rng = random.Random(1)
    counts = baseline(168 + 48, rng)
    start = 168 + 30
    for h in range(start, start + 5):  # five hours of 40-60 matches
        counts[h] = 40 + 5 * (h - start)
    fired, decisions = run(counts)
    assert fired == [start]
    d = next(d for d in decisions if d.fire)
    print(f"burst: count={d.count} baseline={d.baseline} score={d.score:.1f} ratio={d.ratio:.1f}")
    assert d.count == 40 and d.baseline < 6 and d.ratio > 5


def test_a_second_burst_after_calm_fires_again_but_a_dip_inside_a_burst_does_not():
    rng = random.Random(2)
    counts = baseline(168 + 72, rng)
    for h in (180, 181, 183, 184):  # one quiet hour in the middle: the same burst
        counts[h] = 50
    for h in (220, 221):  # a day later: a new, bigger burst
        counts[h] = 80
    fired, _ = run(counts)
    assert fired == [180, 220]


def test_a_steady_stream_fires_nothing():
    rng = random.Random(3)
    fired, decisions = run(baseline(168 * 3, rng, mean=8))
    assert fired == [] and not any(d.anomalous for d in decisions)


@pytest.mark.parametrize("seed", range(5))
def test_noisy_baselines_fire_nothing(seed):
    rng = random.Random(seed)
    # Heavy-tailed noise: most hours 0-10, now and then 20-30 (a busy news day).
    counts = [rng.choice([0, 1, 2, 3, 5, 8, 10]) if rng.random() > 0.08 else rng.randint(20, 30)
              for _ in range(168 * 3)]
    fired, _ = run(counts)
    assert fired == []


def test_a_burst_no_bigger_than_last_weeks_fires_not_again():
    rng = random.Random(4)
    counts = baseline(168 + 72, rng)
    counts[180] = counts[181] = counts[220] = 50
    fired, _ = run(counts)
    assert fired == [180]


def test_a_quiet_rule_needs_min_count():
    # All zeros, then 3 matches: a ratio of 3, a large z-score, but too few to mean anything.
    assert not spike([0] * 168, 3).fire
    assert spike([0] * 168, 12).fire


def test_too_little_history_decides_nothing():
    assert spike([1] * 10, 100) is None


def test_the_state_is_plain_data_and_carries_the_burst():
    d = spike([2] * 168, 50)
    assert d.fire and d.state == SpikeState(in_burst=True, calm_hours=0)
    again = spike([2] * 168, 60, state=d.state)
    assert again.anomalous and not again.fire


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        spike([1] * 168, -1)

"""Operations: the watchdog and spike alerts, told to the ops channel.

No Celery, no SQL and no policy here: the store, fetcher and notifier are passed in.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from monitor.adapters.notify import Notifier
from monitor.adapters.store import Store
from monitor.core import spikes, watchdog
from monitor.core.types import RenderedAlert

log = logging.getLogger("monitor")


def run_watchdog(*, store: Store, notifier: Notifier | None, ops_channel: str | None,
                 rules: Sequence[str] = (), failures: int = 5, now: datetime | None = None) -> list:
    """Tell the operations channel when a feed fails, dies or goes quiet, or a daily rule goes silent.

    Each condition is said once (and its recovery once): what was said is
    stored only after the message went out, so a refused message is said
    again next time rather than lost. Without an operations channel the
    alerts are logged. Returns the alerts sent (or logged).
    """
    now = now or datetime.now(timezone.utc)
    said = store.watch_states("feed")
    alerts, new_feed_states = [], {}
    for f, times in store.feed_activity(now - timedelta(days=14)):
        key = str(f.id)
        health = watchdog.FeedHealth(feed=f"{f.name} <{f.url}>", consecutive_failures=f.consecutive_failures,
                                     last_status=f.last_status, last_error=f.last_error,
                                     not_a_feed=bool(f.last_error and "not an RSS or Atom feed" in f.last_error),
                                     article_times=times)
        state = watchdog.WatchdogState(frozenset(said.get(key, {}).get("reported", ())))
        found, state = watchdog.feed_alerts(health, now, state=state, failures=failures)
        alerts += found
        new_feed_states[key] = {"reported": sorted(state.reported)}
    rule_said = store.watch_states("rule")
    new_rule_states = {}
    times = store.match_times(now - timedelta(days=35), rules=list(rules))
    for rule in rules:
        prev = rule_said.get(rule, {}).get("reported_for")
        alert, reported_for = watchdog.rule_silence(
            rule, times.get(rule, []), now, reported_for=datetime.fromisoformat(prev) if prev else None)
        if alert:
            alerts.append(alert)
        new_rule_states[rule] = {"reported_for": reported_for.isoformat() if reported_for else None}
    _tell_ops(alerts, notifier=notifier, ops_channel=ops_channel, title="[watchdog]")
    store.save_watch_states("feed", new_feed_states, now=now)
    store.save_watch_states("rule", new_rule_states, now=now)
    return alerts


def run_spikes(*, store: Store, notifier: Notifier, rules, now: datetime | None = None) -> list[str]:
    """One alert to a rule's channels when its matches in the last full hour jump far above its baseline."""
    now = now or datetime.now(timezone.utc)
    hour = now.replace(minute=0, second=0, microsecond=0)  # the hour that just ended is [hour-1h, hour)
    wanted = [r for r in rules if getattr(r, "spike_alerts", False) and r.enabled]
    if not wanted:
        return []
    states = store.watch_states("spike")
    times = store.match_times(hour - timedelta(hours=169), rules=[r.name for r in wanted])
    fired, new_states = [], {}
    for r in wanted:
        st = states.get(r.name, {})
        if st.get("hour") == hour.isoformat():
            continue  # this hour was judged already
        counts = [0] * 169
        for t in times.get(r.name, []):
            i = int((hour - t).total_seconds() // 3600)
            if 0 <= i < 169:
                counts[168 - i] += 1
        # history starts at the rule's first match: a new rule has none to compare with
        first = next((i for i, c in enumerate(counts[:168]) if c), 168)
        history = counts[first:168]
        decision = spikes.spike(history, counts[168], state=spikes.SpikeState(
            st.get("in_burst", False), st.get("calm_hours", 0)))
        if decision is not None and decision.fire:
            top = store.top_stories(r.name, hour - timedelta(hours=1))
            body = (f"Rule {r.name}: {decision.count} matches in the hour to {hour:%Y-%m-%d %H:%M} UTC, "
                    f"against a usual {decision.baseline:.1f} an hour (x{decision.ratio:.1f}).")
            if top:
                body += "\nTop stories:\n" + "\n".join(f"- {t} ({n} article(s))" for t, n in top)
            for c in r.channels:
                notifier.send(c, RenderedAlert(f"[spike] {r.name}: {decision.count} matches in an hour",
                                               body, "text"))
            fired.append(r.name)
        state = decision.state if decision is not None else spikes.SpikeState(
            st.get("in_burst", False), st.get("calm_hours", 0))
        new_states[r.name] = {"hour": hour.isoformat(), "in_burst": state.in_burst,
                              "calm_hours": state.calm_hours}
    store.save_watch_states("spike", new_states, now=now)
    return fired


def _tell_ops(alerts, *, notifier: Notifier | None, ops_channel: str | None, title: str) -> None:
    for a in alerts:
        log.warning("%s %s: %s", title, a.kind, a.message)
    if not alerts or not ops_channel or notifier is None:
        return
    body = "\n".join(f"- {a.kind}: {a.message}" for a in alerts)
    notifier.send(ops_channel, RenderedAlert(f"{title} {len(alerts)} problem(s) with feeds or rules",
                                             body, "text"))

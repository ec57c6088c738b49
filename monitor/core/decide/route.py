"""Where each new delivery goes: sent now, or held for its channel's digest.

Pure: decides from the facts it is handed (which channels are quiet or in
digest mode, who alerted each story already, what each rule sent in the last
hour) and touches nothing outside itself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Candidate", "route"]


@dataclass(frozen=True)
class Candidate:
    """A delivery to make: a rule matched an article, to be told to a channel."""

    article_id: int
    story_id: int | None
    rule: str
    channel: str
    mode: str = "immediate"  # the rule's delivery: immediate, digest or throttle
    per_hour: int | None = None  # throttle: at most this many alerts per rule and channel an hour


def route(candidates: Iterable[Candidate], *, quiet_channels: Collection[str] = (),
          digest_channels: Collection[str] = (), alerted: Mapping[tuple[int, str, str], int] | None = None,
          sent_last_hour: Mapping[tuple[str, str], int] | None = None) -> list[str | None]:
    """For each candidate, in order, why it is held, or None to send it now.

    Held, first reason first: ``"quiet hours"`` (its channel is quiet),
    ``"digest"`` (the rule or the channel asks for digests), ``"same story"``
    (another article of its story alerted this rule and channel: ``alerted``
    maps (story, rule, channel) to that article; a candidate sent now counts as
    its story's), ``"throttle N/hour"`` (the rule's throttle is used up, counting
    ``sent_last_hour`` per (rule, channel) and the candidates before it).
    An article in no story is a story of its own.
    """
    first = dict(alerted or {})
    sent = sent_last_hour or {}
    budget: dict[tuple[str, str], int] = {}
    out: list[str | None] = []
    for c in candidates:
        held = None
        if c.channel in quiet_channels:
            held = "quiet hours"
        elif c.mode == "digest" or c.channel in digest_channels:
            held = "digest"
        elif first.setdefault((c.story_id or -c.article_id, c.rule, c.channel), c.article_id) != c.article_id:
            held = "same story"
        elif c.mode == "throttle" and c.per_hour is not None:
            key = (c.rule, c.channel)
            if key not in budget:
                budget[key] = c.per_hour - sent.get(key, 0)
            if budget[key] <= 0:
                held = f"throttle {c.per_hour}/hour"
            budget[key] -= 1
        out.append(held)
    return out

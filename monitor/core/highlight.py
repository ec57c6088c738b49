"""Highlighted segments of a whole field, for pages that show all of it; hits from their stored form.

Pure. :func:`monitor.core.render.snippet` cuts a window for lists; this keeps the
whole value (a title, or an article in the rule tester). Templates print the
segments with autoescaping, wrapping the highlighted ones in ``<mark>``.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.core.types import Hit


def segments(value: str, hits: Iterable[Hit], field: str) -> list[tuple[str, bool]]:
    """``value`` cut into (chunk, highlighted) pieces at the hits on ``field``.

    Hits outside ``value`` are ignored; overlapping or touching hits are merged.
    """
    spans = sorted((h.start, h.end) for h in hits if h.field == field and 0 <= h.start < h.end <= len(value))
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[tuple[str, bool]] = []
    cursor = 0
    for start, end in merged:
        if start > cursor:
            out.append((value[cursor:start], False))
        out.append((value[start:end], True))
        cursor = end
    if cursor < len(value) or not out:
        out.append((value[cursor:], False))
    return out


def hits_of(raw: Iterable) -> tuple[Hit, ...]:
    """Hits from their stored form, ``[field, start, end, term]`` lists; malformed ones are skipped."""
    out = []
    for h in raw or ():
        try:
            f, start, end, term = h
            out.append(Hit(str(f), int(start), int(end), str(term)))
        except (TypeError, ValueError):
            continue
    return tuple(out)

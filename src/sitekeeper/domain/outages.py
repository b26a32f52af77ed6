"""Down time of a site: which checks count as down, and a day's uptime figures.

A failure seen from one check location is not an outage: the locations together decide
(``domain.quorum``), and only a confirmed one opens a "down" incident. So a UTC day on
which a site was checked from more than one location counts its checks as down exactly
when they fall inside one of its "down" incidents, whichever location took them and
whatever it found; its uptime then says what its incidents say, and an "unreachable
from X" day stays at 100 %. A day checked from one location keeps the plain rule: each
failed check is down time. Pure functions; the store reads the incidents.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from sitekeeper.domain.uptime import Summary, summarize

DAY_MS = 86_400_000  # a UTC day in epoch milliseconds

Span = tuple[int, int | None]  # [opened, closed) in epoch ms; closed None: still open
Timed = tuple[int, bool, int | None]  # one check: epoch ms, up, response ms


class Outages:
    """A site's confirmed outages ("down" incidents) as spans in epoch milliseconds."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, spans: Iterable[Span] = ()) -> None:
        merged: list[list[float]] = []
        for start, end in sorted(spans, key=lambda span: span[0]):
            stop = math.inf if end is None else end
            if merged and start <= merged[-1][1]:  # overlapping or touching: one span
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([start, stop])
        self._starts = [start for start, _ in merged]
        self._ends = [stop for _, stop in merged]

    def __bool__(self) -> bool:
        """Whether there is any outage at all (most days have none: nothing to look up)."""
        return bool(self._starts)

    def covers(self, ts_ms: int) -> bool:
        """Whether the site was declared down at ``ts_ms`` (its opening check is inside,
        the check that closed it is not)."""
        i = bisect_right(self._starts, ts_ms) - 1
        return i >= 0 and ts_ms < self._ends[i]


NONE = Outages()


def counted_up(checks: Sequence[tuple[int, str, bool]], outages: Outages) -> list[bool]:
    """Whether each (epoch ms, location, up) check counts as up time, decided per UTC day:
    its own result on a day checked from one location, outside ``outages`` on a day
    checked from several."""
    places: dict[int, set[str]] = {}
    for ts_ms, location, _ in checks:
        places.setdefault(ts_ms // DAY_MS, set()).add(location)
    return [
        up if len(places[ts_ms // DAY_MS]) == 1 else not outages.covers(ts_ms)
        for ts_ms, _, up in checks
    ]


def day_summary(
    by_location: Mapping[str, Sequence[Timed]], outages: Outages, timed_from: str
) -> Summary:
    """One UTC day of a site's checks, grouped by the location that took them.

    Checked from one location: its plain summary. From several: every location's checks
    count, down inside ``outages`` only; response times are those of ``timed_from`` (the
    default location, which checks every site), so adding locations to a plan does not
    move a site's figures by the distance to the new ones (each location's own are in its
    rows); only a day it measured nothing takes every location's together.
    """
    if len(by_location) == 1:
        [checks] = by_location.values()
        return summarize([(up, ms) for _, up, ms in checks])
    total = sum(len(checks) for checks in by_location.values())
    down = (
        sum(1 for checks in by_location.values() for ts, _, _ in checks if outages.covers(ts))
        if outages
        else 0
    )
    timed = summarize([(up, ms) for _, up, ms in by_location.get(timed_from, ())])
    if timed.max_ms is None:  # no response time from there that day
        timed = summarize([(up, ms) for checks in by_location.values() for _, up, ms in checks])
    return replace(timed, checks=total, up_checks=total - down)

"""A site's usual response time, from what its uptime checks keep.

One request before an update is a noisy yardstick; the uptime checks measured the home
page every few minutes for days. The store keeps a per-day median (``check_daily.p50_ms``,
and today's from the raw rows: ``store.history.uptime_by_day``); the usual time is the
median of those daily medians, each day weighted by its number of answered checks.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from sitekeeper.domain.uptime import Summary
from sitekeeper.store.history import uptime_by_day

DAYS = 7


def weighted_median(days: Sequence[Summary]) -> int | None:
    """The median of daily medians, weighted by each day's answered checks (None: none)."""
    points = sorted((d.p50_ms, d.up_checks) for d in days if d.p50_ms is not None and d.up_checks)
    total = sum(weight for _, weight in points)
    if not total:
        return None
    seen = 0
    for value, weight in points:
        seen += weight
        if seen * 2 >= total:
            return value
    return points[-1][0]  # pragma: no cover - the loop always reaches half


def usual_ms(session: Session, site_id: int, days: int = DAYS) -> int | None:
    """The site's usual home-page time over the last ``days`` days (None: no checks)."""
    figures = uptime_by_day(session, [site_id], days)
    return weighted_median([f.summary for f in figures])

"""Roll raw check results up into daily rows, then prune raw rows past retention.

Daily rows (uptime, response-time percentiles) are kept for ever and are what
charts and reports read; raw rows are only kept for ``raw_retention_days``. A site's
day checked from several locations counts down time as its confirmed outages say
(``domain.outages``: the quorum's verdict, not each location's failures) and keeps
each location's own figures beside it, for the charts.
Only complete UTC days are rolled up, and a day is pruned only once rolled up,
so nothing is lost if the process stops half-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, delete, func, select

from sitekeeper.domain.outages import NONE, Timed, day_summary
from sitekeeper.domain.uptime import Summary, summarize
from sitekeeper.store.dialect import upsert_insert
from sitekeeper.store.location_tables import CheckDailyByLocation
from sitekeeper.store.locations import DEFAULT, stored
from sitekeeper.store.outages import outages_between
from sitekeeper.store.tables import CheckDaily, CheckRaw, Site


def day_bounds_ms(day: date) -> tuple[int, int]:
    """Start and end of a UTC day in epoch milliseconds."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return int(start.timestamp() * 1000), int((start + timedelta(days=1)).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class DaySummaries:
    """One day's summaries: per site (as ``check_daily`` keeps them: ``day_summary``) and
    per site and stored location, of the sites checked that day from a location other
    than the default one (as ``check_daily_by_location`` keeps them)."""

    sites: dict[int, Summary]
    locations: dict[tuple[int, str], Summary]


def summarize_locations(
    conn: Connection, day: date, since_ms: Mapping[int, int] | None = None
) -> DaySummaries:
    """Per-site and per-location summaries of one day's raw results: of every existing
    site, or of the sites ``since_ms`` names, each counting only its checks from that
    moment on (its creation). Read in site order and summarized a site at a time (the
    per-location lists of one site at once, not the whole day's); the day's "down"
    incidents of these sites are read first, in one query.

    Raw rows have no foreign key: a check that finished just as its site was
    removed leaves rows of a site that is gone, which must neither fail the daily
    upsert nor count for a later site.
    """
    start, end = day_bounds_ms(day)
    sites = select(Site.id) if since_ms is None else sorted(since_ms)
    outages = outages_between(conn, sites, start, end)
    stmt = select(
        CheckRaw.site_id, CheckRaw.ts_ms, CheckRaw.location, CheckRaw.up, CheckRaw.response_ms
    ).where(CheckRaw.ts_ms >= start, CheckRaw.ts_ms < end, CheckRaw.site_id.in_(sites))
    found = DaySummaries({}, {})
    rows = conn.execute(stmt.order_by(CheckRaw.site_id)).tuples()
    for sid, site_rows in groupby(rows, key=itemgetter(0)):
        by_location: dict[str, list[Timed]] = {}
        for _, ts_ms, location, up, ms in site_rows:
            if since_ms is None or ts_ms >= since_ms[sid]:
                by_location.setdefault(location, []).append((ts_ms, up, ms))
        if not by_location:
            continue
        found.sites[sid] = day_summary(by_location, outages.get(sid, NONE), stored(DEFAULT))
        if set(by_location) != {""}:  # checked from elsewhere than the default location
            for location, values in by_location.items():
                found.locations[sid, location] = summarize([(up, ms) for _, up, ms in values])
    return found


def summarize_day(
    conn: Connection, day: date, since_ms: Mapping[int, int] | None = None
) -> dict[int, Summary]:
    """Per-site summaries of one day's raw results (see ``summarize_locations``)."""
    return summarize_locations(conn, day, since_ms).sites


def _figures(summary: Summary) -> dict[str, Any]:
    return {
        "checks": summary.checks,
        "up_checks": summary.up_checks,
        "avg_ms": summary.avg_ms,
        "p50_ms": summary.p50_ms,
        "p95_ms": summary.p95_ms,
        "p99_ms": summary.p99_ms,
        "max_ms": summary.max_ms,
    }


def _upsert(conn: Connection, table: Any, keys: list[str], values: list[dict[str, Any]]) -> None:
    """Insert ``values`` into ``table``, rewriting the rows whose ``keys`` exist."""
    if not values:
        return
    stmt = upsert_insert(conn)(table)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=keys,
            set_={k: stmt.excluded[k] for k in values[0] if k not in keys},
        ),
        values,
    )


def rollup_day(conn: Connection, day: date) -> int:
    """Write (or rewrite) the daily rows of ``day``, per site and, for sites checked from
    several locations, per location too; returns how many sites."""
    found = summarize_locations(conn, day)
    _upsert(
        conn,
        CheckDaily,
        ["site_id", "day"],
        [{"site_id": sid, "day": day, **_figures(s)} for sid, s in found.sites.items()],
    )
    _upsert(
        conn,
        CheckDailyByLocation,
        ["site_id", "day", "location"],
        [
            {"site_id": sid, "day": day, "location": location, **_figures(s)}
            for (sid, location), s in found.locations.items()
        ],
    )
    return len(found.sites)


def pending_days(conn: Connection, today: date) -> list[date]:
    """Complete days that have raw results but no daily rows yet, oldest first."""
    first_ms = conn.scalar(select(func.min(CheckRaw.ts_ms)))
    if first_ms is None:
        return []
    first = datetime.fromtimestamp(first_ms / 1000, UTC).date()
    last_done = conn.scalar(select(func.max(CheckDaily.day)))
    start = max(first, last_done + timedelta(days=1)) if last_done else first
    return [start + timedelta(days=n) for n in range((today - start).days)]


def prune_raw(conn: Connection, today: date, retention_days: int) -> int:
    """Delete raw rows older than the retention, but never of a day not rolled up."""
    last_done = conn.scalar(select(func.max(CheckDaily.day)))
    if last_done is None:
        return 0
    keep_from = min(today - timedelta(days=retention_days), last_done + timedelta(days=1))
    cutoff, _ = day_bounds_ms(keep_from)
    return conn.execute(delete(CheckRaw).where(CheckRaw.ts_ms < cutoff)).rowcount

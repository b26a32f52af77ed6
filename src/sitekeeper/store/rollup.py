"""Roll raw check results up into daily rows, then prune raw rows past retention.

Daily rows (uptime, response-time percentiles) are kept for ever and are what
charts and reports read; raw rows are only kept for ``raw_retention_days``.
Only complete UTC days are rolled up, and a day is pruned only once rolled up,
so nothing is lost if the process stops half-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, select

from sitekeeper.domain.uptime import Summary, summarize
from sitekeeper.store.dialect import upsert_insert
from sitekeeper.store.tables import CheckDaily, CheckRaw, Site


def day_bounds_ms(day: date) -> tuple[int, int]:
    """Start and end of a UTC day in epoch milliseconds."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return int(start.timestamp() * 1000), int((start + timedelta(days=1)).timestamp() * 1000)


def summarize_day(
    conn: Connection, day: date, since_ms: Mapping[int, int] | None = None
) -> dict[int, Summary]:
    """Per-site summaries of one day's raw results: of every existing site, or of the sites
    ``since_ms`` names, each counting only its checks from that moment on (its creation).

    Raw rows have no foreign key: a check that finished just as its site was
    removed leaves rows of a site that is gone, which must neither fail the daily
    upsert nor count for a later site.
    """
    start, end = day_bounds_ms(day)
    stmt = select(CheckRaw.site_id, CheckRaw.ts_ms, CheckRaw.up, CheckRaw.response_ms).where(
        CheckRaw.ts_ms >= start,
        CheckRaw.ts_ms < end,
        CheckRaw.site_id.in_(select(Site.id) if since_ms is None else sorted(since_ms)),
    )
    rows: dict[int, list[tuple[bool, int | None]]] = {}
    for sid, ts_ms, up, ms in conn.execute(stmt.order_by(CheckRaw.site_id)):
        if since_ms is None or ts_ms >= since_ms[sid]:
            rows.setdefault(sid, []).append((up, ms))
    return {sid: summarize(values) for sid, values in rows.items()}


def rollup_day(conn: Connection, day: date) -> int:
    """Write (or rewrite) the daily rows of ``day``; returns how many sites."""
    summaries = summarize_day(conn, day)
    if not summaries:
        return 0
    values: list[dict[str, Any]] = [
        {
            "site_id": sid,
            "day": day,
            "checks": s.checks,
            "up_checks": s.up_checks,
            "avg_ms": s.avg_ms,
            "p50_ms": s.p50_ms,
            "p95_ms": s.p95_ms,
            "p99_ms": s.p99_ms,
            "max_ms": s.max_ms,
        }
        for sid, s in summaries.items()
    ]
    stmt = upsert_insert(conn)(CheckDaily)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[CheckDaily.site_id, CheckDaily.day],
            set_={k: stmt.excluded[k] for k in values[0] if k not in ("site_id", "day")},
        ),
        values,
    )
    return len(values)


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

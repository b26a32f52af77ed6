"""Each check location's daily figures of a site, for its charts and the API's history.

A site checked from one place has one series, the site's own daily rows
(``store.history.uptime_by_day``); these queries answer only where it was checked
from more than one location in the period. Days rolled up come from
``check_daily_by_location`` (a rolled-up day without rows there was the default
location's alone: its ``check_daily`` row), days not rolled up yet from raw results,
as ``uptime_by_day`` reads them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sitekeeper.domain.uptime import Summary, summarize
from sitekeeper.store.location_tables import CheckDailyByLocation
from sitekeeper.store.locations import DEFAULT, shown
from sitekeeper.store.rollup import day_bounds_ms
from sitekeeper.store.tables import CheckDaily, CheckRaw, Site

ByLocation = dict[str, dict[date, Summary]]  # location name -> UTC day -> its figures


def _summary(row: CheckDaily | CheckDailyByLocation) -> Summary:
    return Summary(
        row.checks, row.up_checks, row.avg_ms, row.p50_ms, row.p95_ms, row.p99_ms, row.max_ms
    )


def _day(ts_ms: int) -> date:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).date()


def daily_by_location(
    session: Session, site_id: int, days: int, today: date | None = None
) -> ByLocation:
    """Each location's figures per UTC day of the ``days`` days up to ``today``, from the
    site's creation on; empty unless it was checked from more than one location then."""
    today = today or datetime.now(UTC).date()
    found = session.execute(
        select(
            Site.created_at,
            select(func.min(CheckRaw.ts_ms)).where(CheckRaw.site_id == site_id).scalar_subquery(),
        ).where(Site.id == site_id)
    ).first()
    if found is None:
        return {}
    created, oldest_ms = found
    first = max(today - timedelta(days=days - 1), created.date())
    figures: ByLocation = {}
    located: set[date] = set()
    for row in session.scalars(
        select(CheckDailyByLocation).where(
            CheckDailyByLocation.site_id == site_id,
            CheckDailyByLocation.day >= first,
            CheckDailyByLocation.day <= today,
        )
    ):
        figures.setdefault(shown(row.location), {})[row.day] = _summary(row)
        located.add(row.day)
    rolled: set[date] = set()
    for daily in session.scalars(
        select(CheckDaily).where(
            CheckDaily.site_id == site_id, CheckDaily.day >= first, CheckDaily.day <= today
        )
    ):
        rolled.add(daily.day)
        if daily.day not in located:  # rolled up with no other location: the default's
            figures.setdefault(DEFAULT, {})[daily.day] = _summary(daily)
    if oldest_ms is not None:
        span = (today - first).days + 1
        lacking = [
            d
            for d in (first + timedelta(days=n) for n in range(span))
            if d not in rolled and d >= _day(oldest_ms)
        ]
        since_ms = int(created.timestamp() * 1000)
        for (location, day), summary in _raw_days(session, site_id, lacking, since_ms):
            figures.setdefault(location, {})[day] = summary
    return dict(sorted(figures.items())) if len(figures) > 1 else {}


def _raw_days(
    session: Session, site_id: int, days: list[date], since_ms: int
) -> Iterable[tuple[tuple[str, date], Summary]]:
    """Per location and day, the figures of ``days`` (not rolled up) from raw results."""
    if not days:
        return []
    spans = [day_bounds_ms(d) for d in days]
    rows = session.execute(
        select(CheckRaw.ts_ms, CheckRaw.location, CheckRaw.up, CheckRaw.response_ms).where(
            CheckRaw.site_id == site_id,
            CheckRaw.ts_ms >= since_ms,
            or_(*(CheckRaw.ts_ms.between(start, end - 1) for start, end in spans)),
        )
    ).tuples()
    values: dict[tuple[str, date], list[tuple[bool, int | None]]] = {}
    for ts_ms, location, up, ms in rows:
        values.setdefault((shown(location), _day(ts_ms)), []).append((bool(up), ms))
    return [(key, summarize(v)) for key, v in values.items()]

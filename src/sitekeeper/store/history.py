"""Named queries over what happened: incidents, uptime per day, the journal, alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sitekeeper.domain.uptime import Summary
from sitekeeper.store.rollup import summarize_day
from sitekeeper.store.tables import CheckDaily, Event, Incident, Notification, Site


def incidents(
    session: Session,
    site_ids: Sequence[int] | None = None,
    *,
    only_open: bool = False,
    limit: int = 200,
) -> list[Incident]:
    """Newest incidents first, optionally of some sites and only open ones."""
    stmt = select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
    if site_ids is not None:
        stmt = stmt.where(Incident.site_id.in_(site_ids))
    if only_open:
        stmt = stmt.where(Incident.closed_at.is_(None))
    return list(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class DayFigures:
    """One site's uptime and response times on one UTC day."""

    site_id: int
    day: date
    summary: Summary


def uptime_by_day(
    session: Session, site_ids: Sequence[int], days: int, today: date | None = None
) -> list[DayFigures]:
    """Daily figures of the last ``days`` days: rolled-up days, plus today from raw results."""
    today = today or datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    rows = session.scalars(
        select(CheckDaily)
        .where(CheckDaily.site_id.in_(site_ids), CheckDaily.day >= first)
        .order_by(CheckDaily.site_id, CheckDaily.day)
    )
    figures = [
        DayFigures(
            r.site_id,
            r.day,
            Summary(r.checks, r.up_checks, r.avg_ms, r.p50_ms, r.p95_ms, r.p99_ms, r.max_ms),
        )
        for r in rows
    ]
    rolled = {(f.site_id, f.day) for f in figures}
    # Days not rolled up yet (today, or while serve was stopped) come from raw rows.
    conn = session.connection()
    for offset in range(days):
        day = first + timedelta(days=offset)
        missing = [sid for sid in site_ids if (sid, day) not in rolled]
        if not missing:
            continue
        for sid, summary in summarize_day(conn, day, site_ids=missing).items():
            figures.append(DayFigures(sid, day, summary))
    return sorted(figures, key=lambda f: (f.site_id, f.day))


def journal_events(
    session: Session,
    *,
    site_ids: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Event]:
    """Newest journal events first, filtered by site, kind and time.

    Events of given sites count only if recorded for the site's own client (or
    none): the journal outlives sites, so a site id once reused on an old install
    must not show another client's history under the new site.
    """
    stmt = select(Event).order_by(Event.id.desc()).limit(limit)
    if site_ids is not None:
        stmt = stmt.join(Site, Site.id == Event.site_id).where(
            Event.site_id.in_(site_ids),
            or_(Event.client_id.is_(None), Event.client_id == Site.client_id),
        )
    if kinds:
        stmt = stmt.where(Event.kind.in_(kinds))
    if since is not None:
        stmt = stmt.where(Event.ts >= since)
    return list(session.scalars(stmt))


def notifications(
    session: Session, *, status: str | None = None, limit: int = 100
) -> list[Notification]:
    """Newest queued/sent/failed alerts first."""
    stmt = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Notification.status == status)
    return list(session.scalars(stmt))

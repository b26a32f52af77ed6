"""Named queries over what happened: incidents, uptime per day, the journal, alerts.

Asked about given sites, each query keeps to the site's own history: what was
recorded from its creation on (and, in the journal, for its own client). Ids
are never reused since revision 0008, but an older install may hold another
site's leftovers under a reused id, and they must not show under this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from sitekeeper.domain.uptime import Summary
from sitekeeper.store.rollup import summarize_day
from sitekeeper.store.tables import CheckDaily, CheckRaw, Event, Incident, Notification, Site

SelectT = TypeVar("SelectT", bound=Select[Any])


def incidents(
    session: Session,
    site_ids: Sequence[int] | None = None,
    *,
    only_open: bool = False,
    overlapping: tuple[datetime, datetime] | None = None,
    limit: int | None = 200,
) -> list[Incident]:
    """Newest incidents first, optionally of some sites, only open ones, or only those open
    at some moment in ``[start, end)`` (a report's period); ``limit`` None: all."""
    stmt = select(Incident).order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit)
    if overlapping is not None:
        start, end = overlapping
        stmt = stmt.where(
            Incident.opened_at < end, or_(Incident.closed_at.is_(None), Incident.closed_at > start)
        )
    if site_ids is not None:
        stmt = stmt.join(Site, Site.id == Incident.site_id).where(
            Incident.site_id.in_(site_ids), Incident.opened_at >= Site.created_at
        )
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
    """Daily figures of the ``days`` days up to ``today`` (a past day: a report's period):
    rolled-up days, plus days not rolled up from raw results, counted as the roll-up
    counts them (``store.rollup.summarize_locations``: a day checked from several
    locations is down only in its confirmed outages). Days before a site was created are
    not its own."""
    today = today or datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    # Each site's creation and its oldest raw row (one index lookup a site): raw rows are
    # kept for days, so the days before it are never read.
    oldest = select(func.min(CheckRaw.ts_ms)).where(CheckRaw.site_id == Site.id).scalar_subquery()
    sites = session.execute(
        select(Site.id, Site.created_at, oldest).where(Site.id.in_(site_ids))
    ).tuples()
    born: dict[int, datetime] = {}
    raw_from: dict[int, date] = {}
    for sid, created, oldest_ms in sites:
        born[sid] = created
        if oldest_ms is not None:
            raw_from[sid] = max(
                created.date(), datetime.fromtimestamp(oldest_ms / 1000, UTC).date()
            )
    rows = (
        r
        for r in session.scalars(
            select(CheckDaily)
            .where(
                CheckDaily.site_id.in_(site_ids), CheckDaily.day >= first, CheckDaily.day <= today
            )
            .order_by(CheckDaily.site_id, CheckDaily.day)
        )
        if r.site_id in born and r.day >= born[r.site_id].date()
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
    # Days not rolled up yet (today, or while serve was stopped) come from raw rows, one
    # read a day for all the sites it lacks (at most a day of their checks in memory),
    # each site counting its checks from its creation on.
    since = {sid: int(created.timestamp() * 1000) for sid, created in born.items()}
    reads_from = max(first, min(raw_from.values(), default=today + timedelta(days=1)))
    for day in (reads_from + timedelta(days=n) for n in range((today - reads_from).days + 1)):
        lacking = {
            s: since[s] for s, start in raw_from.items() if start <= day and (s, day) not in rolled
        }
        if lacking:
            found = summarize_day(session.connection(), day, lacking)
            figures += [DayFigures(sid, day, summary) for sid, summary in found.items()]
    return sorted(figures, key=lambda f: (f.site_id, f.day))


def journal_events(
    session: Session,
    *,
    site_ids: Sequence[int] | None = None,
    kinds: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 100,
) -> list[Event]:
    """Newest journal events first, filtered by site, kind and time (``since`` inclusive,
    ``until`` exclusive; ``limit`` None: all).

    Events of given sites count only if recorded for the site's own client (or
    none) since it was created: the journal outlives sites, so a site id once
    reused on an old install must not show another client's history under the new site.
    """
    stmt = select(Event).order_by(Event.id.desc()).limit(limit)
    if site_ids is not None:
        stmt = own_events(stmt, site_ids)
    if kinds:
        stmt = stmt.where(Event.kind.in_(kinds))
    if since is not None:
        stmt = stmt.where(Event.ts >= since)
    if until is not None:
        stmt = stmt.where(Event.ts < until)
    return list(session.scalars(stmt))


def own_events(stmt: SelectT, site_ids: Sequence[int]) -> SelectT:
    """``stmt`` over ``Event`` kept to these sites' own journal: recorded for the site's
    client (or none) since the site was created (see the module's docstring)."""
    return stmt.join(Site, Site.id == Event.site_id).where(
        Event.site_id.in_(site_ids),
        or_(Event.client_id.is_(None), Event.client_id == Site.client_id),
        Event.ts >= Site.created_at,
    )


def notifications(
    session: Session, *, status: str | None = None, limit: int = 100
) -> list[Notification]:
    """Newest queued/sent/failed alerts first."""
    stmt = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Notification.status == status)
    return list(session.scalars(stmt))


def site_names(session: Session, site_ids: Iterable[int] | None = None) -> dict[int, str]:
    """Site id → name, for the sites ``site_ids`` lists (every site when None)."""
    stmt = select(Site.id, Site.name)
    if site_ids is not None:
        stmt = stmt.where(Site.id.in_(set(site_ids)))
    return dict(session.execute(stmt).tuples().all())


def client_site_ids(session: Session, client_id: int) -> list[int]:
    """The ids of a client's sites: the scope of a client user's history queries."""
    return list(session.scalars(select(Site.id).where(Site.client_id == client_id)))

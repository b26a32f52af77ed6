"""/api/incidents, /api/sites/{id}/uptime, /api/journal: what happened, scoped to the viewer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from sitekeeper.domain.client_view import cause_category, client_facts
from sitekeeper.domain.journal_text import describe
from sitekeeper.domain.uptime import Summary
from sitekeeper.store import history, location_history, locations
from sitekeeper.store.tables import Event
from sitekeeper.web.api.common import ERRORS
from sitekeeper.web.api.schemas import (
    AlertOut,
    EventOut,
    IncidentOut,
    LocationDay,
    LocationFigures,
    MeOut,
    UptimeDay,
)
from sitekeeper.web.auth import AnyUser, Staff, Viewer
from sitekeeper.web.common import Db, Id, IdQuery, visible_site

router = APIRouter(prefix="/api", responses=ERRORS)


def scoped_site_ids(session: Session, who: Viewer, site_id: int | None) -> list[int] | None:
    """The site ids a history query may cover: one visible site, the client's, or all (None)."""
    if site_id is not None:
        return [visible_site(session, who, site_id).id]
    scope = who.client_scope
    if scope is None:
        return None
    return history.client_site_ids(session, scope)


@router.get("/me", response_model=MeOut, tags=["account"])
def me(who: AnyUser) -> MeOut:
    """Who the token or session belongs to."""
    return MeOut(id=who.user_id, email=who.email, role=who.role, client_id=who.client_id)


@router.get("/incidents", response_model=list[IncidentOut], tags=["history"])
def incidents(
    *,
    session: Db,
    who: AnyUser,
    site_id: IdQuery = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[IncidentOut]:
    """Incidents, newest first."""
    ids = scoped_site_ids(session, who, site_id)
    rows = history.incidents(session, ids, only_open=open_only, limit=limit)
    names = history.site_names(session, (r.site_id for r in rows))
    return [
        IncidentOut(
            id=i.id,
            site_id=i.site_id,
            site=names.get(i.site_id),
            kind=i.kind,
            cause=i.cause if who.is_staff else cause_category(i.cause),
            opened_at=i.opened_at,
            closed_at=i.closed_at,
            duration_s=int((i.closed_at - i.opened_at).total_seconds()) if i.closed_at else None,
        )
        for i in rows
    ]


@router.get("/alerts", response_model=list[AlertOut], tags=["history"])
def alerts(
    session: Db,
    who: Staff,
    status: Annotated[str | None, Query(pattern="^(pending|sent|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AlertOut]:
    """Queued, sent and failed alert deliveries (targets hold secrets: never shown)."""
    return [
        AlertOut(
            id=n.id,
            event_id=n.event_id,
            title=n.title,
            status=n.status,
            attempts=n.attempts,
            last_error=n.last_error,
            created_at=n.created_at,
            sent_at=n.sent_at,
        )
        for n in history.notifications(session, status=status, limit=limit)
    ]


@router.get("/sites/{site_id}/uptime", response_model=list[UptimeDay], tags=["history"])
def uptime(
    *, site_id: Id, session: Db, who: AnyUser, days: Annotated[int, Query(ge=1, le=400)] = 30
) -> list[UptimeDay]:
    """Uptime and response-time percentiles per UTC day; per check location too (in
    ``locations``) where the site was checked from more than one in those days."""
    site = visible_site(session, who, site_id)
    today = datetime.now(UTC).date()
    located = location_history.daily_by_location(session, site.id, days, today)
    return [
        UptimeDay(
            day=f.day,
            checks=f.summary.checks,
            uptime_pct=_pct(f.summary),
            avg_ms=f.summary.avg_ms,
            p50_ms=f.summary.p50_ms,
            p95_ms=f.summary.p95_ms,
            p99_ms=f.summary.p99_ms,
            max_ms=f.summary.max_ms,
            locations=[
                LocationDay(
                    location=name,
                    checks=s.checks,
                    uptime_pct=_pct(s),
                    avg_ms=s.avg_ms,
                    p50_ms=s.p50_ms,
                    p95_ms=s.p95_ms,
                    p99_ms=s.p99_ms,
                    max_ms=s.max_ms,
                )
                for name, by_day in located.items()
                if (s := by_day.get(f.day)) is not None
            ],
        )
        for f in history.uptime_by_day(session, [site.id], days, today)
    ]


def _pct(summary: Summary) -> float | None:
    """Uptime in percent with three decimals (None without checks)."""
    return round(summary.uptime * 100, 3) if summary.uptime is not None else None


@router.get("/sites/{site_id}/locations", response_model=list[LocationFigures], tags=["history"])
def by_location(
    *, site_id: Id, session: Db, who: AnyUser, hours: Annotated[int, Query(ge=1, le=336)] = 24
) -> list[LocationFigures]:
    """Uptime and response times per check location over the last ``hours`` (raw results;
    one entry, ``default``, where sites are checked from one place)."""
    site = visible_site(session, who, site_id)
    since = datetime.now(UTC) - timedelta(hours=hours)
    return [
        LocationFigures(
            location=name,
            checks=s.checks,
            uptime_pct=_pct(s),
            avg_ms=s.avg_ms,
            p50_ms=s.p50_ms,
            p95_ms=s.p95_ms,
            max_ms=s.max_ms,
        )
        for name, s in locations.by_location(session.connection(), site.id, since).items()
    ]


@router.get("/journal", response_model=list[EventOut], tags=["history"])
def journal(
    *,
    session: Db,
    who: AnyUser,
    site_id: IdQuery = None,
    kind: Annotated[list[str] | None, Query(max_length=20)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EventOut]:
    """Journal events, newest first."""
    ids = scoped_site_ids(session, who, site_id)
    events = history.journal_events(session, site_ids=ids, kinds=kind, since=since, limit=limit)
    return [_event_out(e, who) for e in events]


def _event_out(event: Event, who: Viewer) -> EventOut:
    """The event in words; a client user gets it from the client's facts only (no error
    texts, paths or hosts: ``domain.client_view``)."""
    data = dict(event.data or {}) if who.is_staff else client_facts(event.kind, event.data)
    text = describe(event.kind, data)
    return EventOut(
        id=event.id,
        ts=event.ts,
        kind=event.kind,
        site_id=event.site_id,
        client_id=event.client_id,
        incident_id=event.incident_id,
        title=text.title,
        summary=text.detail,
        data=data,
    )

"""A site's availability in a period: uptime against the plan's target, incidents, daily
response times and the certificate.

Uptime and response times are the dashboard's daily rows (``check_daily``, one per UTC
day; days not rolled up yet from the raw checks, as the dashboard does), taken for the
UTC days of the **same dates** as the period's local dates: November of a Berlin client
is the rows of 1–30 November. That shifts the period by the zone's offset (an hour or
two here) but counts every day in exactly one monthly report, and a month's figure is the
site page's bar for that month (up checks / checks of its days). A site counts from its
creation (the rows before it are not its own). Incidents are cut at the exact local bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sitekeeper.domain.client_view import cause_category
from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.reports.period import Period
from sitekeeper.store.history import DayFigures
from sitekeeper.store.tables import Incident, Site, SiteState


@dataclass(frozen=True, slots=True)
class DayFigure:
    """One UTC day of checks: how many, how many up, the day's median and 95th percentile."""

    day: date
    checks: int
    up_checks: int
    uptime_pct: float | None
    p50_ms: int | None
    p95_ms: int | None


@dataclass(frozen=True, slots=True)
class IncidentFigure:
    """One incident open during the period (its whole duration; ``closed_at`` None: open)."""

    id: int
    kind: str
    opened_at: datetime
    closed_at: datetime | None
    duration_s: int | None
    seconds_in_period: int
    cause: str | None  # the category a client may see ("refused", "http_status: 503")


@dataclass(frozen=True, slots=True)
class UptimeFigures:
    """Availability of one site: ``uptime_pct`` is up checks / checks of its days."""

    counted_from: datetime  # the period's start, or the site's creation when later
    checks: int
    up_checks: int
    uptime_pct: float | None
    target_pct: float | None
    met: bool | None
    downtime_s: int  # of the down incidents, within the period
    days: list[DayFigure]
    incidents: list[IncidentFigure]


@dataclass(frozen=True, slots=True)
class CertificateFigure:
    """The certificate as last checked (at the report's making), and its incidents."""

    expires_at: datetime | None
    days_left: int | None
    issuer: str | None
    error: str | None
    checked_at: datetime | None
    incident_ids: list[int]


def percent(up: int, total: int) -> float | None:
    """``up`` of ``total`` as a percentage with three decimals (None of nothing)."""
    return round(up * 100 / total, 3) if total else None


def uptime_of(
    site: Site,
    days: Sequence[DayFigures],
    incidents: Sequence[Incident],
    period: Period,
    *,
    target: float | None,
    now: datetime,
) -> UptimeFigures:
    """The site's figures from its daily rows and its incidents of the period."""
    mine = sorted((d for d in days if d.site_id == site.id), key=lambda d: d.day)
    checks = sum(d.summary.checks for d in mine)
    up = sum(d.summary.up_checks for d in mine)
    share = percent(up, checks)
    shown = [_incident(i, period, now) for i in sorted(incidents, key=lambda i: i.opened_at)]
    return UptimeFigures(
        counted_from=max(period.start, site.created_at),
        checks=checks,
        up_checks=up,
        uptime_pct=share,
        target_pct=target,
        met=None if share is None or target is None else share >= target,
        downtime_s=sum(i.seconds_in_period for i in shown if i.kind == IncidentKind.DOWN),
        days=[
            DayFigure(
                d.day,
                d.summary.checks,
                d.summary.up_checks,
                percent(d.summary.up_checks, d.summary.checks),
                d.summary.p50_ms,
                d.summary.p95_ms,
            )
            for d in mine
        ],
        incidents=shown,
    )


def certificate_of(
    state: SiteState | None, incidents: Sequence[Incident], now: datetime
) -> CertificateFigure:
    """The site's certificate state and the ids of its certificate incidents."""
    expires = state.tls_expires if state else None
    return CertificateFigure(
        expires_at=expires,
        days_left=(expires - now).days if expires else None,
        issuer=state.tls_issuer if state else None,
        error=state.tls_error if state else None,
        checked_at=state.checked_at if state else None,
        incident_ids=sorted(i.id for i in incidents if i.kind == IncidentKind.TLS_EXPIRING),
    )


def _incident(incident: Incident, period: Period, now: datetime) -> IncidentFigure:
    closed = incident.closed_at
    until = min(closed or now, period.end)
    inside = max(0, int((until - max(incident.opened_at, period.start)).total_seconds()))
    return IncidentFigure(
        id=incident.id,
        kind=incident.kind,
        opened_at=incident.opened_at,
        closed_at=closed,
        duration_s=int((closed - incident.opened_at).total_seconds()) if closed else None,
        seconds_in_period=inside,
        cause=cause_category(incident.cause),
    )

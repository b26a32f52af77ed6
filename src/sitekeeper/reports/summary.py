"""The report's first page in figures: how many sites, how available, how many updates,
security fixes and backups, the last restore drill, the work done.

The uptime of all sites weighs each site by the days it was measured, so it equals a
single site's own figure and a site added late counts for the days it had.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sitekeeper.domain.incidents import IncidentKind
from sitekeeper.reports.backups import DrillFigure
from sitekeeper.reports.site_figures import SiteFigures
from sitekeeper.reports.updates import UpdateFigure


@dataclass(frozen=True, slots=True)
class SummaryFigures:
    """What the first page says (every figure is also in the sections it sums)."""

    sites: int
    uptime_pct: float | None
    incidents: int  # down incidents open during the period
    downtime_s: int
    updates_applied: int
    security_fixes: int
    hours_after_release_avg: float | None  # of the applied updates whose release date is known
    security_hours_after_release_avg: float | None
    rolled_back: int
    backups_taken: int
    backups_failed: int
    last_drill: DrillFigure | None
    advisories: int
    advisories_fixed: int
    advisories_open: int
    detections: int  # exposure and hack-detection findings open at some moment of it
    detections_open: int  # of them, still open at the period's end
    work_minutes: int


def uptime_of_all(sites: Sequence[SiteFigures]) -> float | None:
    """The sites' uptimes, each weighed by its measured days (None: nothing measured)."""
    weighed = [(s.uptime.uptime_pct, len(s.uptime.days)) for s in sites]
    days = sum(n for share, n in weighed if share is not None)
    if not days:
        return None
    return round(sum(share * n for share, n in weighed if share is not None) / days, 3)


def summarize(sites: Sequence[SiteFigures], work_minutes: int) -> SummaryFigures:
    """The first page's figures of these sites."""
    applied = [u for s in sites for u in s.updates.applied]
    security = [u for u in applied if u.security]
    drills = [s.backups.last_drill for s in sites if s.backups.last_drill is not None]
    down = [i for s in sites for i in s.uptime.incidents if i.kind == IncidentKind.DOWN]
    advisories = [a for s in sites for a in s.security.advisories]
    fixed = sum(1 for a in advisories if a.fixed_at is not None)
    return SummaryFigures(
        sites=len(sites),
        uptime_pct=uptime_of_all(sites),
        incidents=len(down),
        downtime_s=sum(i.seconds_in_period for i in down),
        updates_applied=len(applied),
        security_fixes=len(security),
        hours_after_release_avg=_average(applied),
        security_hours_after_release_avg=_average(security),
        rolled_back=sum(len(s.updates.rolled_back) for s in sites),
        backups_taken=sum(s.backups.taken for s in sites),
        backups_failed=sum(s.backups.failed for s in sites),
        last_drill=max(drills, key=lambda d: (d.at, d.event_id)) if drills else None,
        advisories=len(advisories),
        advisories_fixed=fixed,
        advisories_open=len(advisories) - fixed,
        detections=sum(len(s.detections.findings) for s in sites),
        detections_open=sum(s.detections.open for s in sites),
        work_minutes=work_minutes,
    )


def _average(updates: Sequence[UpdateFigure]) -> float | None:
    hours = [u.hours_after_release for u in updates if u.hours_after_release is not None]
    return round(sum(hours) / len(hours), 1) if hours else None

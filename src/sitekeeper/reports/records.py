"""Everything a client's report reads, in one pass of named store queries per kind of
record (not per site), grouped by site for the sections to compute from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from sitekeeper.reports import backups, detections, security, updates
from sitekeeper.reports.period import Period
from sitekeeper.store import domain_watch, findings, history, report_records, work_log
from sitekeeper.store import update_approvals as queue
from sitekeeper.store.domain_watch import DomainPeriod, DomainView
from sitekeeper.store.findings import UpdateRow
from sitekeeper.store.history import DayFigures
from sitekeeper.store.intel_tables import AdvisoryRecord, Finding
from sitekeeper.store.report_records import ReleaseKey
from sitekeeper.store.tables import Event, Incident, Site, SiteState
from sitekeeper.store.update_tables import UpdateApproval, UpdateHold
from sitekeeper.store.work_tables import WorkEntry
from sitekeeper.updates.policy import Scheduled, schedule

T = TypeVar("T")


@dataclass
class Records:
    """The records behind one client's report for one period."""

    days: list[DayFigures] = field(default_factory=list)
    incidents: dict[int, list[Incident]] = field(default_factory=dict)
    states: dict[int, SiteState] = field(default_factory=dict)
    backup_events: dict[int, list[Event]] = field(default_factory=dict)
    drills: dict[int, Event] = field(default_factory=dict)
    passed: dict[int, Event] = field(default_factory=dict)
    update_events: dict[int, list[Event]] = field(default_factory=dict)
    ecosystems: dict[tuple[int, str, str], str] = field(default_factory=dict)
    released: dict[ReleaseKey, datetime] = field(default_factory=dict)
    update_rows: dict[int, list[UpdateRow]] = field(default_factory=dict)
    approvals: dict[int, list[UpdateApproval]] = field(default_factory=dict)
    holds: dict[int, list[UpdateHold]] = field(default_factory=dict)
    scheduled: dict[int, list[Scheduled]] = field(default_factory=dict)
    vulnerabilities: dict[int, list[Finding]] = field(default_factory=dict)
    advisories: dict[str, AdvisoryRecord] = field(default_factory=dict)
    finding_events: dict[int, list[Event]] = field(default_factory=dict)
    detections: dict[int, list[Finding]] = field(default_factory=dict)
    detection_events: dict[int, list[Event]] = field(default_factory=dict)
    domains: dict[int, DomainView] = field(default_factory=dict)
    domain_periods: dict[int, DomainPeriod] = field(default_factory=dict)
    work: list[WorkEntry] = field(default_factory=list)


def read(
    session: Session, client_id: int, sites: Sequence[Site], period: Period, now: datetime
) -> Records:
    """The client's records of ``period`` (pending updates: as of ``now``)."""
    ids = [s.id for s in sites]
    found = Records(
        work=work_log.entries(session, client_ids=[client_id], first=period.first, last=period.last)
    )
    if not ids:
        return found
    # The dashboard's daily rows of the UTC dates equal to the period's local dates.
    found.days = history.uptime_by_day(session, ids, period.days, today=period.last)
    found.incidents = _by_site(
        history.incidents(session, ids, overlapping=(period.start, period.end), limit=None)
    )
    found.states = report_records.site_states(session, ids)
    found.backup_events = _by_site(_events(session, ids, backups.KINDS, period))
    # The latest drill before the end, and the latest that passed (maybe earlier).
    found.drills = report_records.latest_events(session, ids, backups.DRILLS, period.end)
    found.passed = report_records.latest_events(session, ids, backups.PASSED, period.end)
    events = _events(session, ids, updates.KINDS, period)
    found.update_events = _by_site(events)
    found.ecosystems = report_records.software_ecosystems(session, ids)
    found.released = report_records.release_times(
        session, updates.release_keys(events, found.ecosystems)
    )
    found.update_rows = _by_site(findings.update_rows(session, site_ids=ids))
    found.approvals = _by_site(queue.approvals(session, site_ids=ids))
    found.holds = _by_site(queue.holds(session, ids))
    found.scheduled = _by_site(schedule(session, now, client_id=client_id).scheduled)
    vulns = report_records.vulnerabilities_between(session, ids, period.start, period.end)
    found.vulnerabilities = _by_site(vulns)
    found.advisories = report_records.advisory_records(
        session, {f.advisory_id for f in vulns if f.advisory_id}
    )
    if vulns:
        since = min(f.opened_at for f in vulns)
        found.finding_events = _by_site(
            report_records.site_events(session, ids, security.KINDS, since, period.end)
        )
    found_kinds = report_records.findings_between(
        session, ids, detections.KINDS, period.start, period.end
    )
    found.detections = _by_site(found_kinds)
    if found_kinds:
        found.detection_events = _by_site(
            report_records.site_events(
                session, ids, [detections.ACKNOWLEDGED], period.start, period.end
            )
        )
    found.domains = domain_watch.domain_views(session, ids)
    found.domain_periods = domain_watch.domain_period(session, ids, period.start, period.end)
    return found


def _events(session: Session, ids: list[int], kinds: Sequence[str], period: Period) -> list[Event]:
    """The sites' journal events of these kinds within the period (all of them)."""
    return report_records.site_events(session, ids, kinds, period.start, period.end)


def _by_site(rows: Sequence[T]) -> dict[int, list[T]]:
    grouped: dict[int, list[T]] = {}
    for row in rows:
        site_id = getattr(row, "site_id", None)
        if site_id is not None:
            grouped.setdefault(site_id, []).append(row)
    return grouped

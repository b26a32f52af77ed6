"""Named queries for the outside security probe: which sites are due, and filing a report
as findings of kind ``exposure``.

A check that did not finish (a path that timed out, the budget spent) leaves its open
findings as they are: what was not seen this time is unknown, not fixed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.domain.exposure import BASIS, ECOSYSTEM, EXPOSURE, SecurityReport
from sitekeeper.domain.findings import FindingSpec
from sitekeeper.store import findings
from sitekeeper.store.intel_tables import Finding, IntelAttempt
from sitekeeper.store.tables import Contract, Plan, Site

KIND = "security"  # the intel_attempts kind: when a site was last probed
PLAN_OPTION = "security_interval"  # seconds, per plan; else the setting


def sites_due(
    session: Session, now: datetime, default_interval: float, limit: int = 100
) -> list[int]:
    """Unpaused sites not probed for their interval (the plan's ``security_interval`` or
    ``default_interval``), never-probed first, then least recently probed."""
    tried = (
        select(IntelAttempt.site_id, IntelAttempt.attempted_at)
        .where(IntelAttempt.kind == KIND)
        .subquery()
    )
    stmt = (
        select(Site.id, tried.c.attempted_at, Plan.options)
        .outerjoin(tried, tried.c.site_id == Site.id)
        .outerjoin(Contract, Contract.id == Site.contract_id)
        .outerjoin(Plan, Plan.id == Contract.plan_id)
        .where(Site.paused.is_(False))
        .order_by(tried.c.attempted_at.is_not(None), tried.c.attempted_at, Site.id)
    )
    due: list[int] = []
    moment = now.timestamp()
    for site_id, attempted, options in session.execute(stmt):
        interval = float((options or {}).get(PLAN_OPTION) or default_interval)
        if attempted is not None and _aware(attempted).timestamp() + interval > moment:
            continue
        due.append(site_id)
        if len(due) >= limit:
            break
    return due


def file_report(
    session: Session, site_id: int, report: SecurityReport, now: datetime
) -> findings.Changes:
    """Open, keep and resolve the site's ``exposure`` findings to match ``report``."""
    specs = [issue.spec(site_id) for issue in report.issues]
    wanted = {s.key for s in specs}
    kept = [
        _as_spec(f)
        for f in _open(session, site_id)
        if f.type not in report.complete and f.key not in wanted
    ]
    return findings.reconcile(session, specs + kept, now, site_ids=[site_id], kinds=[EXPOSURE])


def open_issues(session: Session, site_ids: Collection[int]) -> list[Finding]:
    """The open ``exposure`` findings of these sites."""
    if not site_ids:
        return []
    stmt = select(Finding).where(
        Finding.kind == EXPOSURE,
        Finding.resolved_at.is_(None),
        Finding.site_id.in_(list(site_ids)),
    )
    return list(session.scalars(stmt))


def _open(session: Session, site_id: int) -> list[Finding]:
    return open_issues(session, [site_id])


def _as_spec(finding: Finding) -> FindingSpec:
    """An open finding as the spec that keeps it unchanged."""
    data = finding.data or {}
    extra = tuple((k, str(data[k])) for k in ("title", "evidence") if k in data)
    return FindingSpec(
        site_id=finding.site_id,
        kind=EXPOSURE,
        ecosystem=ECOSYSTEM,
        type=finding.type,
        package=finding.package,
        installed=None,
        basis=BASIS,
        security=finding.security,
        certainty=finding.certainty,
        severity=data.get("severity"),
        note=data.get("note"),
        extra=extra,
    )


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back naive; they are stored in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)

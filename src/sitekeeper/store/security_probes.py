"""Named queries for the outside security probe: which sites are due, and filing a report
as findings of kind ``exposure``.

A check that did not finish (a path that timed out, the budget spent) leaves its open
findings as they are: what was not seen this time is unknown, not fixed.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.domain.exposure import BASIS, ECOSYSTEM, EXPOSURE, SecurityReport
from sitekeeper.domain.findings import FindingSpec
from sitekeeper.store import findings, inventories
from sitekeeper.store.intel_tables import Finding

KIND = "security"  # the intel_attempts kind: when a site was last probed


def sites_due(
    session: Session, now: datetime, default_interval: float, limit: int = 100
) -> list[int]:
    """Sites due for the check (the plan's ``{KIND}_interval`` or ``default_interval``)."""
    return inventories.attempts_due(session, KIND, now, default_interval, limit)


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

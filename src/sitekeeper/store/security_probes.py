"""Named queries for the outside security probe: which sites are due, and filing a report
as findings of kind ``exposure``.

A check that did not finish (a path that timed out, the budget spent) leaves its open
findings as they are: what was not seen this time is unknown, not fixed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session

from sitekeeper.domain.exposure import EXPOSURE, SecurityReport
from sitekeeper.store import finding_acks, findings, inventories

KIND = "security"  # the intel_attempts kind: when a site was last probed


def sites_due(
    session: Session, now: datetime, default_interval: float, limit: int = 100
) -> list[int]:
    """Sites due for the check (the plan's ``{KIND}_interval`` or ``default_interval``)."""
    return inventories.attempts_due(session, KIND, now, default_interval, limit)


def file_report(
    session: Session, site_id: int, report: SecurityReport, now: datetime
) -> findings.Changes:
    """Open, keep and resolve the site's ``exposure`` findings to match ``report``; only
    the issue types it examined completely resolve."""
    specs = [issue.spec(site_id, _digest(issue.seen)) for issue in report.issues]
    specs = finding_acks.quiet(session, site_id, specs)
    return findings.reconcile(
        session, specs, now, site_ids=[site_id], kinds=[EXPOSURE], types=report.complete
    )


def _digest(seen: str) -> str:
    return hashlib.sha256(seen.encode("utf-8", errors="surrogateescape")).hexdigest()

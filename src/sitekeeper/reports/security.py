"""A site's security in a period: the advisories that concerned it, when each became
known to concern it, when it was fixed (the time to patch), and what is still open.

"Known" is when the vulnerability finding opened (sitekeeper matched the advisory against
the site's software); "fixed" when it resolved (the site no longer runs an affected
version), if that was before the period's end: later, it is open in this report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.store.intel_tables import AdvisoryRecord, Finding
from sitekeeper.store.tables import Event

KINDS = (IntelEventKind.FINDING_OPENED, IntelEventKind.FINDING_RESOLVED)


@dataclass(frozen=True, slots=True)
class AdvisoryFigure:
    """One advisory that concerned the site during the period."""

    advisory_id: str | None
    aliases: list[str]
    summary: str | None
    severity: str | None
    type: str
    package: str
    installed: str | None
    published_at: datetime | None  # by its source
    known_at: datetime  # the finding opened: it concerned the site from then on
    fixed_at: datetime | None  # None: still open at the period's end
    hours_to_patch: float | None
    finding_id: int
    event_ids: list[int]  # finding.opened / finding.resolved


@dataclass(frozen=True, slots=True)
class SecurityFigures:
    """One site's advisories of the period, and how many are fixed and still open."""

    advisories: list[AdvisoryFigure]
    fixed: int
    open: int


def security_of(
    found: Sequence[Finding],
    records: Mapping[str, AdvisoryRecord],
    events: Sequence[Event],
    end: datetime,
) -> SecurityFigures:
    """The figures from one site's vulnerability findings, their advisories and events."""
    by_finding: dict[int, list[int]] = {}
    for event in events:
        finding = (event.data or {}).get("finding_id")
        if isinstance(finding, int) and event.ts < end:
            by_finding.setdefault(finding, []).append(event.id)
    shown = [_advisory(f, records, sorted(by_finding.get(f.id, [])), end) for f in found]
    fixed = sum(1 for a in shown if a.fixed_at is not None)
    return SecurityFigures(advisories=shown, fixed=fixed, open=len(shown) - fixed)


def _advisory(
    finding: Finding, records: Mapping[str, AdvisoryRecord], event_ids: list[int], end: datetime
) -> AdvisoryFigure:
    record = records.get(finding.advisory_id or "")
    data = dict(finding.data or {})
    fixed = finding.resolved_at if finding.resolved_at and finding.resolved_at < end else None
    hours = (fixed - finding.opened_at).total_seconds() / 3600 if fixed else None
    return AdvisoryFigure(
        advisory_id=finding.advisory_id,
        aliases=[str(a) for a in (record.aliases if record else data.get("aliases") or [])],
        summary=record.summary if record else None,
        severity=(record.severity if record else None) or data.get("severity"),
        type=finding.type,
        package=finding.package,
        installed=finding.installed,
        published_at=record.published if record else None,
        known_at=finding.opened_at,
        fixed_at=fixed,
        hours_to_patch=round(hours, 1) if hours is not None else None,
        finding_id=finding.id,
        event_ids=event_ids,
    )

"""A site's security findings in a period, beyond published vulnerabilities: what the
outside checks saw exposed, and what hack detection found (changed core files, malicious
code, search-engine spam) — when each was found, when it was resolved or acknowledged as
expected, and what is still open at the period's end.

The findings are read generically by kind from the findings table (each check files its
own types and titles) and the journal's ``finding.acknowledged`` events; a kind no check
files yet simply has no rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sitekeeper.domain.exposure import EXPOSURE
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.domain.severity import severity_rank
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Event

INTEGRITY, MALWARE, SEO = "integrity", "malware", "seo"
KINDS = (EXPOSURE, INTEGRITY, MALWARE, SEO)  # in the order the report lists them
ACKNOWLEDGED = str(IntelEventKind.FINDING_ACKNOWLEDGED)
TITLE_MAX = 300  # characters of a check's title shown (it may quote what a site sent)


@dataclass(frozen=True, slots=True)
class DetectionFigure:
    """One finding that was open at some moment of the period."""

    finding_id: int
    kind: str  # exposure | integrity | malware | seo
    type: str  # the check's own issue type
    item: str  # what exactly: a path, a header, a page
    severity: str | None
    title: str | None
    found_at: datetime
    resolved_at: datetime | None  # None: still open at the period's end
    acknowledged: bool  # resolved because staff marked it as expected
    event_id: int | None  # the acknowledgement's journal event


@dataclass(frozen=True, slots=True)
class DetectionFigures:
    """One site's findings of the period, and how many were found, resolved, still open."""

    findings: list[DetectionFigure]
    found: int  # opened within the period
    resolved: int  # resolved within the period (acknowledged ones included)
    open: int  # still open at the period's end
    open_by_kind: dict[str, int]


def detections_of(
    found: Sequence[Finding], events: Sequence[Event], start: datetime, end: datetime
) -> DetectionFigures:
    """The figures from one site's findings of the detection kinds and its journal's
    acknowledgements, most severe open ones first."""
    acks = {
        int(e.data["finding_id"]): e.id
        for e in sorted(events, key=lambda e: e.id)
        if e.kind == ACKNOWLEDGED and isinstance((e.data or {}).get("finding_id"), int)
    }
    shown = [_figure(f, acks, end) for f in found]
    shown.sort(key=lambda d: (d.resolved_at is not None, -severity_rank(d.severity), d.found_at))
    still = [d for d in shown if d.resolved_at is None]
    by_kind: dict[str, int] = {}
    for d in still:
        by_kind[d.kind] = by_kind.get(d.kind, 0) + 1
    return DetectionFigures(
        findings=shown,
        found=sum(1 for d in shown if d.found_at >= start),
        resolved=len(shown) - len(still),
        open=len(still),
        open_by_kind=by_kind,
    )


def _figure(finding: Finding, acks: dict[int, int], end: datetime) -> DetectionFigure:
    data = finding.data or {}
    resolved = finding.resolved_at if finding.resolved_at and finding.resolved_at < end else None
    acked = resolved is not None and finding.id in acks
    title = data.get("title")
    return DetectionFigure(
        finding_id=finding.id,
        kind=finding.kind,
        type=finding.type,
        item=finding.package,
        severity=str(data["severity"]) if data.get("severity") else None,
        title=str(title)[:TITLE_MAX] if title else None,
        found_at=finding.opened_at,
        resolved_at=resolved,
        acknowledged=acked,
        event_id=acks.get(finding.id) if acked else None,
    )

"""A site's domain in the report: its registration (registrar, expiry, DNSSEC) as last
looked up, and what the domain watch saw in the period (DNS changes, domain issues
opened and resolved). Read from ``store.domain_watch``; a site the watch never looked
at has no domain section."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sitekeeper.store.domain_watch import DomainPeriod, DomainView

ISSUE_TITLE_MAX = 300  # characters of an open issue's title shown


@dataclass(frozen=True, slots=True)
class DomainIssueFigure:
    """A domain issue open when the report was made (an expiring domain, an NS change…)."""

    type: str
    item: str
    severity: str | None
    title: str | None
    since: datetime


@dataclass(frozen=True, slots=True)
class DomainFigures:
    """The site's domain: registration as of the report, DNS activity in the period."""

    domain: str
    registrar: str | None
    expires_at: datetime | None
    days_left: int | None  # at the report's making
    dnssec: bool | None
    checked_at: datetime | None  # the last registration (RDAP) look-up
    lookup_error: str | None  # why the last look-up told nothing
    dns_changes: int  # look-ups in the period that found a watched record changed
    issues_opened: int
    issues_resolved: int
    open_issues: list[DomainIssueFigure]


def domain_of(
    view: DomainView | None, period: DomainPeriod | None, now: datetime
) -> DomainFigures | None:
    """The section's figures; None when the domain watch has nothing on the site."""
    if view is None:
        return None
    seen = period or DomainPeriod()
    return DomainFigures(
        domain=view.domain,
        registrar=view.registrar,
        expires_at=view.expires_at,
        days_left=view.days_left(now),
        dnssec=view.dnssec,
        checked_at=view.rdap_checked_at,
        lookup_error=view.rdap_error,
        dns_changes=seen.dns_changes,
        issues_opened=seen.issues_opened,
        issues_resolved=seen.issues_resolved,
        open_issues=[
            DomainIssueFigure(
                type=str(i["type"]),
                item=str(i["item"]),
                severity=str(i["severity"]) if i.get("severity") else None,
                title=str(i["title"])[:ISSUE_TITLE_MAX] if i.get("title") else None,
                since=i["since"],
            )
            for i in view.issues
        ],
    )

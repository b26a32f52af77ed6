"""Named queries of the domain and DNS watch: which sites are due, filing a check (the
site's row, journal events, findings of kind ``domain``), accepting a DNS move, and the
read the site page and the report use.

What a check could not see (the RDAP server did not answer, a DNS type timed out) leaves
its open findings as they are: unknown is not fixed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sitekeeper.domain import dns_watch
from sitekeeper.domain.dns_watch import DnsReview, DnsState
from sitekeeper.domain.domain_check import DomainCheck
from sitekeeper.domain.domain_events import DomainEventKind
from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.registration import DOMAIN, EXPIRY, ExpiryRule
from sitekeeper.errors import NotFound
from sitekeeper.store import findings, inventories, journal
from sitekeeper.store.domain_tables import SiteDomain
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Contract, Event, Plan, Site

KIND = "domain"  # the intel_attempts kind: when a site's domain was last checked
DEFAULT_WARN_DAYS = 30  # a site without a plan: as the plans' default
DNS_TYPES = (dns_watch.NS_CHANGE, dns_watch.NEW_NETWORK)  # the DNS review's finding types


@dataclass(frozen=True)
class Target:
    """What a check needs to know about a site."""

    site_id: int
    url: str
    warn_days: int
    client_id: int | None


def target(session: Session, site_id: int) -> Target:
    """The site's URL and its plan's ``domain_warn_days``; NotFound for no such site."""
    row = session.execute(
        select(Site.url, Site.client_id, Plan.domain_warn_days)
        .outerjoin(Contract, Contract.id == Site.contract_id)
        .outerjoin(Plan, Plan.id == Contract.plan_id)
        .where(Site.id == site_id)
    ).first()
    if row is None:
        raise NotFound(f"no site {site_id}")
    url, client_id, warn = row
    return Target(site_id, url, warn if warn is not None else DEFAULT_WARN_DAYS, client_id)


def sites_due(
    session: Session, now: datetime, default_interval: float, limit: int = 100
) -> list[int]:
    """Sites due for the check (the plan's ``{KIND}_interval`` or ``default_interval``)."""
    return inventories.attempts_due(session, KIND, now, default_interval, limit)


@dataclass
class Filed:
    """What filing one check did: the DNS review (None: no records seen) and the findings."""

    review: DnsReview | None
    changes: findings.Changes = field(default_factory=findings.Changes)


def file_check(session: Session, goal: Target, check: DomainCheck) -> Filed:
    """Store ``check`` for the site: its row, a ``dns.changed`` event, its findings."""
    now = check.checked_at
    if check.domain is None:
        return Filed(None)
    row = session.get(SiteDomain, goal.site_id)
    if row is None or row.domain != check.domain:  # a new domain starts a new baseline
        if row is not None:
            session.delete(row)
            session.flush()
        row = SiteDomain(site_id=goal.site_id, domain=check.domain, statuses=[])
        row.dns_records, row.dns_trusted_ns, row.dns_networks, row.dns_failed = {}, [], [], {}
        session.add(row)
        previous = None
    else:
        previous = _state(row)
    registration = check.registration
    if registration is not None:
        row.rdap_checked_at, row.rdap_source = now, registration.source
        row.rdap_error = registration.error[:500] if registration.error else None
        if registration.error is None:
            row.registrar, row.expires_at = registration.registrar, registration.expires
            row.registered_at, row.dnssec = registration.registered, registration.dnssec
            row.statuses = list(registration.statuses)
    review = None
    answer = check.dns
    if answer is not None and set(answer.failed) != set(dns_watch.TYPES):
        review = dns_watch.review(goal.site_id, previous, answer)
        _save_state(row, review.state, answer.failed, now)
        if review.changed:
            journal.record(
                session,
                DomainEventKind.DNS_CHANGED,
                site_id=goal.site_id,
                client_id=goal.client_id,
                data={"host": answer.host, "domain": answer.domain, "changes": review.changes},
                ts=now,
            )
    elif answer is not None:
        row.dns_failed, row.dns_checked_at = dict(answer.failed), now
    specs, seen = _wanted(goal, check, review)
    changes = findings.reconcile(
        session, specs, now, site_ids=[goal.site_id], kinds=[DOMAIN], types=seen
    )
    return Filed(review, changes)


def _wanted(
    goal: Target, check: DomainCheck, review: DnsReview | None
) -> tuple[list[FindingSpec], list[str]]:
    """The findings the check wants, and the finding types it saw (only their open
    findings may resolve: a part it could not see keeps its findings open)."""
    registration = check.registration
    specs: list[FindingSpec] = []
    seen: list[str] = []
    if registration is not None and registration.error is None:
        expiry = ExpiryRule(goal.warn_days).spec(goal.site_id, registration, check.checked_at)
        specs += [expiry] if expiry else []
        seen.append(EXPIRY)
    if review is not None:
        specs += review.specs
        seen += DNS_TYPES
    return specs, seen


def accept_dns(session: Session, site_id: int, *, by: str, why: str, now: datetime) -> Filed:
    """Trust the site's current name servers and networks (a planned move), journalled
    with who and why; the DNS findings resolve."""
    row = session.get(SiteDomain, site_id)
    if row is None or row.dns_checked_at is None:
        raise NotFound(f"site {site_id} has no DNS records yet: check it first")
    state = dns_watch.accept(_state(row))
    _save_state(row, state, dict(row.dns_failed or {}), row.dns_checked_at)
    goal = target(session, site_id)
    journal.record(
        session,
        DomainEventKind.DNS_ACCEPTED,
        site_id=site_id,
        client_id=goal.client_id,
        data={"by": by[:200], "why": why[:500], "ns": list(state.trusted_ns)},
        ts=now,
    )
    changes = findings.reconcile(
        session, [], now, site_ids=[site_id], kinds=[DOMAIN], types=DNS_TYPES
    )
    return Filed(None, changes)


@dataclass(frozen=True)
class DomainView:
    """A site's domain as the site page and the report show it."""

    site_id: int
    domain: str
    registrar: str | None
    expires_at: datetime | None
    statuses: list[str]
    dnssec: bool | None
    rdap_error: str | None
    rdap_checked_at: datetime | None
    records: dict[str, list[str]]
    dns_failed: dict[str, str]
    dns_checked_at: datetime | None
    issues: list[dict[str, Any]]  # open findings: type, item, severity, title, note, since

    def days_left(self, now: datetime) -> int | None:
        """Whole days until the domain expires."""
        return None if self.expires_at is None else (self.expires_at - now).days

    def to_json(self, now: datetime) -> dict[str, Any]:
        """The documented shape (``sitekeeper domain --json``'s ``stored``)."""
        return {
            "domain": self.domain,
            "registrar": self.registrar,
            "expires": self.expires_at.isoformat() if self.expires_at else None,
            "days_left": self.days_left(now),
            "statuses": self.statuses,
            "dnssec": self.dnssec,
            "rdap_error": self.rdap_error,
            "rdap_checked_at": _iso(self.rdap_checked_at),
            "records": self.records,
            "dns_failed": self.dns_failed,
            "dns_checked_at": _iso(self.dns_checked_at),
            "issues": [{**i, "since": _iso(i["since"])} for i in self.issues],
        }


def domain_views(session: Session, site_ids: Collection[int]) -> dict[int, DomainView]:
    """Each checked site's domain, records and open domain findings; two queries per
    1,000 sites (the report reads a client's sites at once)."""
    ids = sorted(set(site_ids))
    rows: list[SiteDomain] = []
    issues: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows += session.scalars(select(SiteDomain).where(SiteDomain.site_id.in_(chunk)))
        for f in findings.open_findings(session, [DOMAIN], site_ids=chunk):
            issues.setdefault(f.site_id, []).append(_issue(f))
    return {
        r.site_id: DomainView(
            site_id=r.site_id,
            domain=r.domain,
            registrar=r.registrar,
            expires_at=r.expires_at,
            statuses=[str(s) for s in r.statuses or []],
            dnssec=r.dnssec,
            rdap_error=r.rdap_error,
            rdap_checked_at=r.rdap_checked_at,
            records={str(k): [str(v) for v in vs] for k, vs in (r.dns_records or {}).items()},
            dns_failed={str(k): str(v) for k, v in (r.dns_failed or {}).items()},
            dns_checked_at=r.dns_checked_at,
            issues=sorted(issues.get(r.site_id, []), key=lambda i: (i["type"], i["item"])),
        )
        for r in rows
    }


@dataclass(frozen=True)
class DomainPeriod:
    """What the domain watch saw of one site in a report's period."""

    dns_changes: int = 0  # look-ups that found a watched record changed
    issues_opened: int = 0  # expiring domains, NS changes, new networks
    issues_resolved: int = 0


def domain_period(
    session: Session, site_ids: Collection[int], start: datetime, end: datetime
) -> dict[int, DomainPeriod]:
    """Per site, the DNS changes and domain issues opened and resolved in [start, end);
    three grouped queries per 1,000 sites. Sites with nothing are left out."""
    ids = sorted(set(site_ids))
    counts: dict[int, list[int]] = {}
    for first in range(0, len(ids), 1000):
        chunk = ids[first : first + 1000]
        changed = (
            select(Event.site_id, func.count())
            .where(
                Event.kind == str(DomainEventKind.DNS_CHANGED),
                Event.site_id.in_(chunk), Event.ts >= start, Event.ts < end,
            )
            .group_by(Event.site_id)
        )  # fmt: skip
        mine = (Finding.kind == DOMAIN, Finding.site_id.in_(chunk))
        opened = (
            select(Finding.site_id, func.count())
            .where(*mine, Finding.opened_at >= start, Finding.opened_at < end)
            .group_by(Finding.site_id)
        )
        resolved = (
            select(Finding.site_id, func.count())
            .where(*mine, Finding.resolved_at >= start, Finding.resolved_at < end)
            .group_by(Finding.site_id)
        )
        queries: tuple[Select[Any], ...] = (changed, opened, resolved)
        for position, query in enumerate(queries):
            for site_id, count in session.execute(query):
                if site_id is not None:
                    counts.setdefault(site_id, [0, 0, 0])[position] = int(count)
    return {site_id: DomainPeriod(*values) for site_id, values in counts.items()}


def _issue(f: findings.FindingView) -> dict[str, Any]:
    data = f.data
    return {
        "type": f.type,
        "item": f.package,
        "severity": data.get("severity"),
        "title": data.get("title"),
        "note": data.get("note"),
        "evidence": data.get("evidence"),
        "since": f.opened_at,
    }


def _state(row: SiteDomain) -> DnsState:
    return DnsState.from_row(
        row.dns_records or {}, row.dns_trusted_ns or [], row.dns_networks or []
    )


def _save_state(row: SiteDomain, state: DnsState, failed: dict[str, str], now: datetime) -> None:
    saved = state.to_row()
    row.dns_records, row.dns_trusted_ns = saved["records"], saved["trusted_ns"]
    row.dns_networks, row.dns_failed, row.dns_checked_at = saved["networks"], dict(failed), now


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None

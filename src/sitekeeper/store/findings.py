"""Named queries for findings: reconcile stored findings with what matching wants, list them.

Reconciling is scoped (some sites, or some packages across the fleet) and done
in bulk — one read of the open findings in scope, one multi-row insert, one
multi-row journal insert — so an advisory that hits 10,000 sites costs a few
statements, not 10,000 round trips. Every open and resolve is a journal event.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from sitekeeper.domain.findings import UNKNOWN_SOURCE, UPDATE, VULNERABILITY, FindingSpec
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.store import site_summary
from sitekeeper.store.intel_tables import Finding, SiteSoftware
from sitekeeper.store.tables import Client, Event, Site

_SITES_PER_QUERY = 5_000  # ids in one IN list (PostgreSQL takes at most 65,535 parameters)


@dataclass
class Changes:
    """What one reconcile did."""

    opened: list[FindingSpec] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    # update findings that became security-relevant (a security release came out)
    escalated: list[FindingSpec] = field(default_factory=list)

    def alerting(self) -> list[FindingSpec]:
        """The changes an agency must hear about now: new vulnerabilities and security updates."""
        fresh = [
            s for s in self.opened if s.kind == VULNERABILITY or (s.kind == UPDATE and s.security)
        ]
        return fresh + self.escalated


def reconcile(
    session: Session,
    specs: Sequence[FindingSpec],
    now: datetime,
    *,
    site_ids: Collection[int] | None = None,
    packages: Collection[tuple[str, str]] | None = None,
    kinds: Collection[str] | None = None,
    types: Collection[str] | None = None,
) -> Changes:
    """Make the open findings in scope equal to ``specs``.

    Scope is the given sites and/or (ecosystem, package) pairs, of the given finding
    ``kinds`` only (default: every kind); ``specs`` must be the complete matching result
    for that scope, or findings outside it would be wrongly resolved. ``types``: only
    findings of these types resolve when ``specs`` lacks them (what a check could not see
    this time stays open: unknown is not fixed); every spec still opens or refreshes.
    """
    changes = Changes()
    in_scope = _open_in_scope(session, site_ids, packages, kinds)
    existing = {(f.site_id, f.key): f for f in in_scope}
    wanted = {(s.site_id, s.key[:500]): s for s in specs}
    events: list[dict[str, Any]] = []
    clients = _clients(session, {s for s, _ in existing} | {s for s, _ in wanted})
    resolvable = None if types is None else frozenset(types)
    for key, finding in existing.items():
        if key not in wanted and resolvable is not None and finding.type not in resolvable:
            continue  # not looked at: left as it is
        if key not in wanted:
            finding.resolved_at = now
            changes.resolved.append(finding)
            events.append(_event(IntelEventKind.FINDING_RESOLVED, finding, clients, now))
            continue
        spec = wanted[key]
        if spec.kind == UPDATE and spec.security and not finding.security:
            changes.escalated.append(spec)
        _refresh(finding, spec)
    session.flush()  # resolve before insert: the partial unique index sees the resolved rows
    new = [spec for key, spec in wanted.items() if key not in existing]
    if new:
        rows = [_row(spec, now) for spec in new]
        ids = session.scalars(
            insert(Finding).returning(Finding.id, sort_by_parameter_order=True), rows
        ).all()
        for finding_id, spec, row in zip(ids, new, rows, strict=True):
            events.append(
                {
                    "ts": now,
                    "kind": str(IntelEventKind.FINDING_OPENED),
                    "site_id": spec.site_id,
                    "client_id": clients.get(spec.site_id),
                    "incident_id": None,
                    "data": {"finding_id": finding_id, **_summary(row)},
                }
            )
        changes.opened = new
    if events:
        session.execute(insert(Event), events)
    site_summary.refresh_findings(session, {s for s, _ in existing} | {s for s, _ in wanted})
    return changes


def _open_in_scope(
    session: Session,
    site_ids: Collection[int] | None,
    packages: Collection[tuple[str, str]] | None,
    kinds: Collection[str] | None = None,
) -> list[Finding]:
    stmt = select(Finding).where(Finding.resolved_at.is_(None))
    if kinds is not None:
        stmt = stmt.where(Finding.kind.in_(list(kinds)))
    if site_ids is None and packages is None:
        return list(session.scalars(stmt))
    found: dict[int, Finding] = {}
    if site_ids:
        ids = list(site_ids)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            found.update((f.id, f) for f in session.scalars(stmt.where(Finding.site_id.in_(chunk))))
    if packages:
        pairs = list(packages)
        for start in range(0, len(pairs), 500):
            where = tuple_(Finding.ecosystem, Finding.package).in_(pairs[start : start + 500])
            found.update((f.id, f) for f in session.scalars(stmt.where(where)))
    return list(found.values())


def _clients(session: Session, site_ids: set[int]) -> dict[int, int | None]:
    result: dict[int, int | None] = {}
    ids = list(site_ids)
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(Site.id, Site.client_id).where(Site.id.in_(ids[start : start + 1000]))
        )
        result.update((s, c) for s, c in rows)
    return result


def _row(spec: FindingSpec, now: datetime) -> dict[str, Any]:
    return {
        "site_id": spec.site_id,
        "key": spec.key[:500],
        "kind": spec.kind,
        "ecosystem": spec.ecosystem,
        "type": spec.type,
        "package": spec.package[:200],
        "installed": spec.installed[:100] if spec.installed else None,
        "latest": spec.latest[:100] if spec.latest else None,
        "advisory_id": spec.advisory_id[:200] if spec.advisory_id else None,
        "security": spec.security,
        "certainty": spec.certainty,
        "basis": spec.basis,
        "data": spec.data(),
        "opened_at": now,
        "resolved_at": None,
    }


def _refresh(finding: Finding, spec: FindingSpec) -> None:
    """Same finding, newer facts (a later latest release, a security flag, a fix version)."""
    row = _row(spec, finding.opened_at)
    for name in ("installed", "latest", "security", "certainty", "basis", "data"):
        if getattr(finding, name) != row[name]:
            setattr(finding, name, row[name])


def _summary(row: dict[str, Any] | Finding) -> dict[str, Any]:
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {
        name: get(name)
        for name in (
            "kind",
            "ecosystem",
            "type",
            "package",
            "installed",
            "latest",
            "advisory_id",
            "security",
            "certainty",
            "basis",
        )
    }


def _event(
    kind: IntelEventKind, finding: Finding, clients: dict[int, int | None], now: datetime
) -> dict[str, Any]:
    return {
        "ts": now,
        "kind": str(kind),
        "site_id": finding.site_id,
        "client_id": clients.get(finding.site_id),
        "incident_id": None,
        "data": {"finding_id": finding.id, **_summary(finding)},
    }


@dataclass(frozen=True, slots=True)
class FindingColumns:
    """A stored finding's columns as the views read them (its data copied)."""

    site_id: int
    kind: str
    ecosystem: str
    type: str
    package: str
    installed: str | None
    latest: str | None
    advisory_id: str | None
    security: bool
    certainty: str
    basis: str
    data: dict[str, Any]
    opened_at: datetime


def columns(f: Finding) -> dict[str, Any]:
    """``FindingColumns``' fields of a stored finding, to build a view of it with."""
    return {
        "site_id": f.site_id,
        "kind": f.kind,
        "ecosystem": f.ecosystem,
        "type": f.type,
        "package": f.package,
        "installed": f.installed,
        "latest": f.latest,
        "advisory_id": f.advisory_id,
        "security": f.security,
        "certainty": f.certainty,
        "basis": f.basis,
        "data": dict(f.data or {}),
        "opened_at": f.opened_at,
    }


@dataclass(frozen=True)
class FindingView(FindingColumns):
    """An open finding with its site, for the fleet views."""

    site: str
    client: str | None


def open_findings(
    session: Session,
    kinds: Collection[str],
    *,
    site_ids: Collection[int] | None = None,
    security_only: bool = False,
) -> list[FindingView]:
    """Open findings of the given kinds (of some sites, or all), by site name then package."""
    stmt = (
        select(Finding, Site.name, Client.name)
        .join(Site, Site.id == Finding.site_id)
        .outerjoin(Client, Client.id == Site.client_id)
        .where(Finding.resolved_at.is_(None), Finding.kind.in_(list(kinds)))
        .order_by(Site.name, Finding.package, Finding.advisory_id)
    )
    if site_ids is not None:
        stmt = stmt.where(Finding.site_id.in_(list(site_ids)))
    if security_only:
        stmt = stmt.where(Finding.security.is_(True))
    return [
        FindingView(site=site, client=client, **columns(f))
        for f, site, client in session.execute(stmt).tuples()
    ]


UPDATE_KINDS = (UPDATE, UNKNOWN_SOURCE)  # what the ``updates`` view lists


def sites_with_open(session: Session, kinds: Collection[str]) -> set[int]:
    """Ids of the sites with an open finding of these kinds (one small read where a
    planner would otherwise name every site in its queries)."""
    query = select(Finding.site_id).where(
        Finding.resolved_at.is_(None), Finding.kind.in_(list(kinds))
    )
    return set(session.scalars(query.distinct()))


FEED_UNREACHABLE = "feed not reachable"


@dataclass(frozen=True)
class UpdateRow:
    """One line of the ``updates`` view (``sitekeeper updates --json``, ``/api/updates``).

    ``branch_update`` is the newest release on the installed branch (a security policy
    applies it without approval), ``major_update`` the newest one beyond it (waits for
    approval); ``latest`` is the newest there is. A package whose feed could not be read
    has ``status`` "feed not reachable" and the reason in ``note`` (it is no finding).
    """

    site_id: int
    site: str
    client: str | None
    ecosystem: str
    type: str
    package: str
    installed: str | None
    latest: str | None
    branch_update: str | None
    branch_security: bool
    major_update: str | None
    security: bool
    advisory_ids: list[str]
    status: str  # update | unknown source | feed not reachable
    note: str | None
    basis: str
    source: str | None = None  # where the site says its updates come from (an update server)

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` object (without ``site_id``, as the CLI always had,
        nor ``source``, which only the update run reads)."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        del data["site_id"], data["source"]
        return data


def update_rows(
    session: Session, *, site_ids: Collection[int] | None = None, security_only: bool = False
) -> list[UpdateRow]:
    """Pending updates, packages of unknown source and, unless only security updates are
    asked for, packages whose feed is not reachable; by site name then package."""
    from sitekeeper.store.releases import untracked  # noqa: PLC0415 - same layer, no cycle

    rows = [
        UpdateRow(
            site_id=v.site_id,
            site=v.site,
            client=v.client,
            ecosystem=v.ecosystem,
            type=v.type,
            package=v.package,
            installed=v.installed,
            latest=v.latest,
            branch_update=v.data.get("branch_update"),
            branch_security=bool(v.data.get("branch_security")),
            major_update=v.data.get("major_update"),
            security=v.security,
            advisory_ids=[str(a) for a in v.data.get("advisory_ids") or []],
            status="unknown source" if v.kind == UNKNOWN_SOURCE else "update",
            note=v.data.get("note"),
            basis=v.basis,
        )
        for v in open_findings(
            session, UPDATE_KINDS, site_ids=site_ids, security_only=security_only
        )
    ]
    if not security_only:
        rows += [
            UpdateRow(
                site_id=u.site_id,
                site=u.site,
                client=u.client,
                ecosystem=u.ecosystem,
                type=u.type,
                package=u.package,
                installed=u.installed,
                latest=None,
                branch_update=None,
                branch_security=False,
                major_update=None,
                security=False,
                advisory_ids=[],
                status=FEED_UNREACHABLE,
                note=u.note,
                basis=u.basis,
            )
            for u in untracked(session, site_ids)
        ]
        rows.sort(key=lambda r: (r.site, r.package))
    return _with_sources(session, rows)


def _with_sources(session: Session, rows: list[UpdateRow]) -> list[UpdateRow]:
    """Each row with the update source its site's software names (an extension's own
    update server: where the update run finds the release). Few packages name one, so
    the sites' named sources are read by site id (the table's key), 5,000 sites a query,
    not row by row."""
    site_ids = sorted({r.site_id for r in rows})
    sources: dict[tuple[int, str, str, str], str | None] = {}
    columns = (
        SiteSoftware.site_id,
        SiteSoftware.ecosystem,
        SiteSoftware.type,
        SiteSoftware.package,
        SiteSoftware.update_source,
    )
    for start in range(0, len(site_ids), _SITES_PER_QUERY):
        query = select(*columns).where(
            SiteSoftware.site_id.in_(site_ids[start : start + _SITES_PER_QUERY]),
            SiteSoftware.update_source.is_not(None),
        )
        for site_id, eco, type_, package, source in session.execute(query):
            sources[(site_id, eco, type_, package)] = source
    return [
        replace(r, source=sources.get((r.site_id, r.ecosystem, r.type, r.package))) for r in rows
    ]


def first_seen(
    session: Session, kind: str, site_ids: Collection[int]
) -> dict[tuple[int, str, str], datetime]:
    """When each open finding of ``kind`` of the sites was first seen, by (site, type,
    package); read as columns (the policy round reads thousands of sites' at a time)."""
    ids = sorted(site_ids)
    found: dict[tuple[int, str, str], datetime] = {}
    for start in range(0, len(ids), _SITES_PER_QUERY):
        stmt = (
            select(Finding.site_id, Finding.type, Finding.package, func.min(Finding.opened_at))
            .where(
                Finding.resolved_at.is_(None),
                Finding.kind == kind,
                Finding.site_id.in_(ids[start : start + _SITES_PER_QUERY]),
            )
            .group_by(Finding.site_id, Finding.type, Finding.package)
        )
        found.update({(s, t, p): at for s, t, p, at in session.execute(stmt).tuples()})
    return found


def resolve_all_for_site(session: Session, site_id: int, now: datetime) -> int:
    """Resolve every open finding of a site (its software is no longer known)."""
    result = session.execute(
        update(Finding)
        .where(Finding.site_id == site_id, Finding.resolved_at.is_(None))
        .values(resolved_at=now)
    )
    site_summary.refresh_findings(session, [site_id])
    return int(getattr(result, "rowcount", 0) or 0)

"""Named queries only a report needs: what concerned a client's sites within a period.

The report reads the same records the dashboard does (incidents, the journal and the
daily check rows come from ``store.history``); these add what no page asked for yet:
the vulnerabilities open at some moment of a period, the advisories behind them, when
releases came out, the sites' latest certificate state and each site's latest journal
event of some kinds (its last restore drill). Each asks once per 500 sites, not per site.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.orm import Session

from sitekeeper.domain.findings import VULNERABILITY
from sitekeeper.store.dialect import unindexed
from sitekeeper.store.history import own_events
from sitekeeper.store.intel_tables import AdvisoryRecord, CatalogueRelease, Finding, SiteSoftware
from sitekeeper.store.tables import Event, SiteState

ReleaseKey = tuple[str, str, str, str]  # ecosystem, type, package, version
CHUNK = 500


def vulnerabilities_between(
    session: Session, site_ids: Collection[int], start: datetime, end: datetime
) -> list[Finding]:
    """Vulnerability findings of these sites open at some moment of ``[start, end)``,
    by site, then when they opened."""
    found: list[Finding] = []
    ids = sorted(site_ids)
    for at in range(0, len(ids), CHUNK):
        found += session.scalars(
            select(Finding).where(
                Finding.site_id.in_(ids[at : at + CHUNK]),
                Finding.kind == VULNERABILITY,
                Finding.opened_at < end,
                or_(Finding.resolved_at.is_(None), Finding.resolved_at >= start),
            )
        )
    return sorted(found, key=lambda f: (f.site_id, f.opened_at, f.id))


def findings_between(
    session: Session,
    site_ids: Collection[int],
    kinds: Collection[str],
    start: datetime,
    end: datetime,
) -> list[Finding]:
    """Findings of these kinds (exposure, integrity, malware, seo…) of these sites open at
    some moment of ``[start, end)``, by site, then when they opened."""
    found: list[Finding] = []
    ids = sorted(site_ids)
    for at in range(0, len(ids), CHUNK):
        found += session.scalars(
            select(Finding).where(
                Finding.site_id.in_(ids[at : at + CHUNK]),
                Finding.kind.in_(sorted(kinds)),
                Finding.opened_at < end,
                or_(Finding.resolved_at.is_(None), Finding.resolved_at >= start),
            )
        )
    return sorted(found, key=lambda f: (f.site_id, f.opened_at, f.id))


def advisory_records(session: Session, advisory_ids: Collection[str]) -> dict[str, AdvisoryRecord]:
    """The stored advisories with these ids (absent: not stored, or removed since)."""
    ids = sorted(advisory_ids)
    found: dict[str, AdvisoryRecord] = {}
    for at in range(0, len(ids), CHUNK):
        query = select(AdvisoryRecord).where(AdvisoryRecord.id.in_(ids[at : at + CHUNK]))
        found.update((r.id, r) for r in session.scalars(query))
    return found


def software_ecosystems(
    session: Session, site_ids: Collection[int]
) -> dict[tuple[int, str, str], str]:
    """(site, type, package) → the ecosystem the site's software is known under."""
    ids = sorted(site_ids)
    found: dict[tuple[int, str, str], str] = {}
    for at in range(0, len(ids), CHUNK):
        query = select(
            SiteSoftware.site_id, SiteSoftware.type, SiteSoftware.package, SiteSoftware.ecosystem
        ).where(SiteSoftware.site_id.in_(ids[at : at + CHUNK]))
        found.update(((s, t, p), e) for s, t, p, e in session.execute(query))
    return found


def release_times(session: Session, keys: Collection[ReleaseKey]) -> dict[ReleaseKey, datetime]:
    """When the vendor published each release (those the catalogue knows a date of)."""
    wanted = sorted(set(keys))
    found: dict[ReleaseKey, datetime] = {}
    for at in range(0, len(wanted), CHUNK):
        query = select(
            CatalogueRelease.ecosystem,
            CatalogueRelease.type,
            CatalogueRelease.package,
            CatalogueRelease.version,
            CatalogueRelease.released_at,
        ).where(
            tuple_(
                CatalogueRelease.ecosystem,
                CatalogueRelease.type,
                CatalogueRelease.package,
                CatalogueRelease.version,
            ).in_(wanted[at : at + CHUNK]),
            CatalogueRelease.released_at.is_not(None),
        )
        found.update(((e, t, p, v), when) for e, t, p, v, when in session.execute(query))
    return found


def site_states(session: Session, site_ids: Collection[int]) -> dict[int, SiteState]:
    """The latest check state of each site (certificate expiry, issuer, error)."""
    ids = sorted(site_ids)
    found: dict[int, SiteState] = {}
    for at in range(0, len(ids), CHUNK):
        query = select(SiteState).where(SiteState.site_id.in_(ids[at : at + CHUNK]))
        found.update((s.site_id, s) for s in session.scalars(query))
    return found


def site_events(
    session: Session,
    site_ids: Collection[int],
    kinds: Collection[str],
    since: datetime,
    until: datetime,
) -> list[Event]:
    """The sites' journal events of these kinds in ``[since, until)``, newest first: what
    ``history.journal_events`` gives for them, read through the sites' index (without
    statistics, SQLite and PostgreSQL took the kinds' index: every site's backups of the
    month, 0.45 s and 0.07 s for 20 sites among 10,000 in bench/report_bench.py)."""
    ids = sorted(site_ids)
    found: list[Event] = []
    for at in range(0, len(ids), CHUNK):
        query = own_events(select(Event), ids[at : at + CHUNK]).where(
            unindexed(Event.kind).in_(kinds), Event.ts >= since, Event.ts < until
        )
        found += session.scalars(query)
    return sorted(found, key=lambda e: e.id, reverse=True)


def latest_events(
    session: Session, site_ids: Collection[int], kinds: Collection[str], until: datetime
) -> dict[int, Event]:
    """Each site's newest journal event of these kinds before ``until`` (the same event
    ``history.journal_events(..., limit=1)`` gives for that site alone), for all sites at
    once: a site without one is absent."""
    ids = sorted(site_ids)
    found: dict[int, Event] = {}
    for at in range(0, len(ids), CHUNK):
        newest = own_events(select(func.max(Event.id)), ids[at : at + CHUNK]).where(
            unindexed(Event.kind).in_(kinds), Event.ts < until
        )
        query = select(Event).where(Event.id.in_(newest.group_by(Event.site_id)))
        found.update((e.site_id, e) for e in session.scalars(query) if e.site_id is not None)
    return found

"""Storing what a feed or an advisory source said, in one transaction each.

The new entries are stored, only what changed is re-matched (the packages an
advisory or release names, or the one site inventoried) and the alerts are
queued, all together: a rejected feed or a crash leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from sitekeeper.domain.advisory import Advisory
from sitekeeper.domain.catalogue import PackageInfo, PackageKey, VendorRelease
from sitekeeper.domain.findings import SOFTWARE_KINDS
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.engine.software_alerts import SoftwareAlerts
from sitekeeper.intel import importer
from sitekeeper.intel.matching import AdvisoryIndex, match
from sitekeeper.store import advisories as advisory_store
from sitekeeper.store import findings, inventories, journal, releases


@dataclass
class IngestReport:
    """What one advisory import or feed poll changed."""

    advisories: int = 0  # read from the source
    changed: list[str] = field(default_factory=list)  # advisory ids new or changed
    packages: int = 0  # catalogue entries that changed
    opened: int = 0
    resolved: int = 0
    alerts: int = 0  # messages queued (one per client)
    errors: list[str] = field(default_factory=list)
    polled: int = 0  # packages a feed poll asked for
    failed: int = 0  # of them, how many could not be read

    @property
    def all_failed(self) -> bool:
        """A feed poll read nothing at all (offline, or every vendor down)."""
        return self.polled > 0 and self.failed >= self.polled


# --- in one transaction -------------------------------------------------------------------------


def rematch(
    session: Session,
    now: datetime,
    *,
    packages: Collection[tuple[str, str]] | None = None,
    site_ids: Collection[int] | None = None,
) -> findings.Changes:
    """Re-derive the findings in scope (some packages fleet-wide, or some sites)."""
    software = inventories.software(session, site_ids=site_ids, packages=packages)
    pairs = {(str(s.ecosystem), s.package) for s in software}
    wanted = advisory_store.for_packages(session, pairs if packages or site_ids else None)
    catalogue = releases.catalogue(session, {s.catalogue_key for s in software})
    specs = match(software, AdvisoryIndex(wanted), catalogue)
    # Only the kinds matching derives: the outside probe's and the scans' findings stay.
    return findings.reconcile(
        session, specs, now, site_ids=site_ids, packages=packages, kinds=SOFTWARE_KINDS
    )


def ingest_advisories(
    session: Session, advisories: Sequence[Advisory], alerts: SoftwareAlerts, now: datetime
) -> IngestReport:
    """Normalise per branch, store, re-match the packages they name, queue alerts."""
    cache: dict[tuple[Ecosystem, str], list[VendorRelease]] = {}

    def vendor(ecosystem: Ecosystem, package: str) -> list[VendorRelease]:
        key = (ecosystem, package)
        if key not in cache:
            cache[key] = releases.vendor_releases(session, ecosystem, package)
        return cache[key]

    normalised = importer.normalise(advisories, vendor)
    before = advisory_store.packages_of(session, [a.id for a in normalised])
    changed = advisory_store.upsert(session, normalised, now)
    report = IngestReport(advisories=len(normalised), changed=changed)
    if not changed:
        return report
    scope = before | advisory_store.packages_of(session, changed)
    changes = rematch(session, now, packages=scope)
    report.opened, report.resolved = len(changes.opened), len(changes.resolved)
    report.alerts = alerts.queue(session, changes.alerting(), now)
    journal.record(
        session,
        IntelEventKind.ADVISORIES_IMPORTED,
        data={"advisories": changed[:1000], "count": len(changed), "opened": report.opened},
        ts=now,
    )
    return report


def ingest_releases(
    session: Session,
    infos: Sequence[PackageInfo],
    alerts: SoftwareAlerts,
    now: datetime,
    failed: Mapping[PackageKey, str] | None = None,
) -> IngestReport:
    """Store catalogue entries, re-match the packages that changed, alert on security ones.

    ``failed``: packages whose feed could not be read, remembered as "not reachable
    since …" (no finding is opened for them).
    """
    changed = releases.store_packages(session, infos, now)
    unread = releases.mark_unreachable(session, failed or {}, now)
    report = IngestReport(packages=len(changed))
    scope = {(str(i.ecosystem), i.package) for i in changed} | {(e, p) for e, _, p in unread}
    if scope:
        changes = rematch(session, now, packages=scope)
        report.opened, report.resolved = len(changes.opened), len(changes.resolved)
        report.alerts = alerts.queue(session, changes.alerting(), now)
    return report

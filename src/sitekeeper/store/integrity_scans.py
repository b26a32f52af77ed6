"""Named queries for the integrity scan over SSH: which sites are due, the manifest kept
between scans, whether an update explains new files, and filing a report as findings of
kinds ``integrity`` and ``malware``.

A scan that did not see everything (a cap, the time limit, an unreadable folder) resolves
nothing it did not see: only the issue types in ``report.complete`` resolve.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.integrity import KINDS, MALWARE, IntegrityReport
from sitekeeper.domain.update_events import UpdateEventKind
from sitekeeper.store import finding_acks, findings, inventories
from sitekeeper.store.backup_tables import OK, BackupRun
from sitekeeper.store.detection_tables import SiteFileManifest
from sitekeeper.store.intel_tables import Finding
from sitekeeper.store.tables import Event

KIND = "integrity"  # the intel_attempts kind: when a site was last scanned


def sites_due(
    session: Session, now: datetime, default_interval: float, limit: int = 100
) -> list[int]:
    """Sites with SSH access due for the scan (the plan's ``integrity_interval`` or
    ``default_interval``)."""
    return inventories.attempts_due(session, KIND, now, default_interval, limit)


def manifest(session: Session, site_id: int) -> SiteFileManifest | None:
    """The site's last complete manifest, if any."""
    return session.get(SiteFileManifest, site_id)


def save_manifest(
    session: Session,
    site_id: int,
    *,
    cms: str,
    version: str | None,
    blob: bytes,
    count: int,
    now: datetime,
) -> None:
    """Replace the site's manifest with a complete walk's."""
    row = session.get(SiteFileManifest, site_id)
    if row is None:
        row = SiteFileManifest(site_id=site_id)
        session.add(row)
    row.cms, row.cms_version, row.scanned_at = cms[:16], version, now
    row.file_count, row.manifest = count, blob
    session.flush()


def updated_since(session: Session, site_id: int, since: datetime) -> bool:
    """Whether an update was applied to the site since ``since`` (its new files are the
    update's, not unexplained)."""
    count = session.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.site_id == site_id, Event.kind == UpdateEventKind.APPLIED, Event.ts >= since)
    )
    return bool(count)


# Journal events after which a site's code may have changed by our own hand.
EXPLAINING = (
    UpdateEventKind.APPLIED, UpdateEventKind.NEEDS_REVIEW, UpdateEventKind.ROLLED_BACK,
    UpdateEventKind.FAILED, UpdateEventKind.INTERRUPTED, BackupEventKind.BACKUP_RESTORED,
)  # fmt: skip


def last_explained(session: Session, site_id: int) -> datetime | None:
    """When the journal last says the site's files were changed by an update, a rollback
    or a restore (None: never)."""
    found = session.scalar(
        select(func.max(Event.ts)).where(
            Event.site_id == site_id, Event.kind.in_([str(k) for k in EXPLAINING])
        )
    )
    return None if found is None else _aware(found)


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def last_snapshots(session: Session, site_id: int) -> list[tuple[str, datetime]]:
    """The site's two newest snapshots still kept (id, when taken), oldest first."""
    rows = session.execute(
        select(BackupRun.snapshot_id, BackupRun.started_at)
        .where(
            BackupRun.site_id == site_id,
            BackupRun.status == OK,
            BackupRun.snapshot_id.is_not(None),
        )
        .order_by(BackupRun.started_at.desc(), BackupRun.id.desc())
        .limit(2)
    ).all()
    return [(str(i), _aware(at)) for i, at in reversed(rows)]


def open_malware_paths(session: Session, site_id: int) -> set[str]:
    """The files an open malware finding names (rescanned every time, even unchanged)."""
    rows = session.scalars(
        select(Finding.package).where(
            Finding.site_id == site_id, Finding.kind == MALWARE, Finding.resolved_at.is_(None)
        )
    )
    return set(rows)


def file_report(
    session: Session, site_id: int, report: IntegrityReport, now: datetime
) -> findings.Changes:
    """Open, keep and resolve the site's integrity and malware findings to match
    ``report``; acknowledged files with the same digest stay quiet."""
    specs = finding_acks.quiet(session, site_id, [i.spec(site_id) for i in report.issues])
    return findings.reconcile(
        session, specs, now, site_ids=[site_id], kinds=list(KINDS), types=report.complete
    )

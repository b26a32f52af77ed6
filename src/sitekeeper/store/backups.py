"""Named queries for backups: repositories, runs (with their journal events), what is due.

Every outcome is written together with its journal event in one transaction,
so a report never counts a backup the runs table does not show, or vice versa.

Over 400 lines because the backup tables' queries share one rule (an outcome and its
journal event in one transaction), best checked in one place.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.plans import PlanOptions
from sitekeeper.errors import NotFound
from sitekeeper.store import journal, site_summary
from sitekeeper.store.backup_tables import (
    FAILED,
    INTERRUPTED,
    OK,
    PRUNED,
    RUNNING,
    SAFETY,
    BackupRepository,
    BackupRun,
)
from sitekeeper.store.lease_tables import Lease
from sitekeeper.store.plans import planned_sites
from sitekeeper.store.tables import Client, Contract, Event, Site

SCHEDULE_SECONDS = {"hourly": 3600, "daily": 86400, "weekly": 7 * 86400}
DRILL_SECONDS = {"weekly": 7 * 86400, "monthly": 30 * 86400, "quarterly": 91 * 86400}
# A failed scheduled backup is retried after a quarter of its interval, at most an hour.
RETRY_FRACTION, RETRY_MAX = 4, 3600


def repository_row(session: Session, client_id: int | None) -> BackupRepository | None:
    """The agency default (``client_id=None``) or a client's own repository row."""
    condition = (
        BackupRepository.client_id.is_(None)
        if client_id is None
        else BackupRepository.client_id == client_id
    )
    return session.scalar(select(BackupRepository).where(condition))


def save_repository(
    session: Session,
    *,
    client_id: int | None,
    kind: str,
    location: str,
    options: dict[str, Any],
    secrets: str,
    now: datetime,
) -> BackupRepository:
    """Insert or replace the repository row of the agency (``None``) or a client."""
    row = repository_row(session, client_id)
    if row is None:
        row = BackupRepository(client_id=client_id, created_at=now)
        session.add(row)
    row.kind, row.location, row.options, row.secrets = kind, location, options, secrets
    row.initialized = False
    session.flush()
    return row


def repositories(session: Session) -> list[tuple[BackupRepository, str | None]]:
    """Every repository with its client's name (None: the agency's), the agency's first."""
    stmt = (
        select(BackupRepository, Client.name)
        .outerjoin(Client, Client.id == BackupRepository.client_id)
        .order_by(BackupRepository.client_id.is_not(None), Client.name)
    )
    return list(session.execute(stmt).tuples())


def sites_with_ssh(session: Session) -> list[int]:
    """The ids of the sites that can be backed up (those with SSH access), by name."""
    # JSON null and SQL NULL both mean "no SSH access", so the test is in Python.
    rows = session.execute(select(Site.id, Site.ssh).order_by(Site.name)).tuples()
    return [site_id for site_id, ssh in rows if ssh]


def repository_row_for_site(session: Session, site: Site) -> BackupRepository | None:
    """The client's own repository, else the agency default, else None."""
    row = repository_row(session, site.client_id) if site.client_id is not None else None
    return row or repository_row(session, None)


def mark_initialized(session: Session, repository_id: int | None) -> None:
    """Remember that ``restic init`` is done (skips a round trip to remote storage)."""
    if repository_id is not None and (row := session.get(BackupRepository, repository_id)):
        row.initialized = True


def start_run(
    session: Session, site: Site, repository_id: int | None, reason: str, now: datetime
) -> BackupRun:
    """A ``running`` row; a crash leaves it so, and the next run of the site fails it."""
    run = BackupRun(
        site_id=site.id,
        repository_id=repository_id,
        reason=reason,
        status=RUNNING,
        started_at=now,
    )
    session.add(run)
    session.flush()
    return run


@dataclass(frozen=True)
class RunFigures:
    """What a finished backup measured."""

    snapshot_id: str
    files: int
    files_new: int
    files_changed: int
    bytes_total: int
    bytes_added: int
    bytes_transferred: int
    database_bytes: int
    duration: float

    def as_event(self) -> dict[str, Any]:
        """The journal event's data."""
        return {
            "snapshot": self.snapshot_id,
            "files": self.files,
            "files_new": self.files_new,
            "files_changed": self.files_changed,
            "bytes_total": self.bytes_total,
            "bytes_added": self.bytes_added,
            "bytes_transferred": self.bytes_transferred,
            "database_bytes": self.database_bytes,
            "duration": round(self.duration, 3),
        }


def finish_run(session: Session, run_id: int, figures: RunFigures, now: datetime) -> BackupRun:
    """Mark the run ok and journal ``backup.taken`` with its figures."""
    run = _run(session, run_id)
    run.status, run.finished_at = OK, now
    run.snapshot_id = figures.snapshot_id
    run.files, run.files_new, run.files_changed = (
        figures.files,
        figures.files_new,
        figures.files_changed,
    )
    run.bytes_total, run.bytes_added = figures.bytes_total, figures.bytes_added
    run.bytes_transferred, run.database_bytes = figures.bytes_transferred, figures.database_bytes
    run.duration = figures.duration
    site_summary.refresh_backups(session, [run.site_id])
    site = session.get(Site, run.site_id)
    journal.record(
        session,
        BackupEventKind.BACKUP_TAKEN,
        site_id=run.site_id,
        client_id=site.client_id if site else None,
        data={"run": run.id, "reason": run.reason, **figures.as_event()},
        ts=now,
    )
    return run


def fail_run(session: Session, run_id: int, error: str, now: datetime) -> Event:
    """Mark the run failed and journal ``backup.failed``; the event (for its alert)."""
    run = _run(session, run_id)
    run.status, run.finished_at, run.error = FAILED, now, error[:4000]
    run.duration = (now - run.started_at).total_seconds()
    site_summary.refresh_backups(session, [run.site_id])
    site = session.get(Site, run.site_id)
    return journal.record(
        session,
        BackupEventKind.BACKUP_FAILED,
        site_id=run.site_id,
        client_id=site.client_id if site else None,
        data={
            "run": run.id,
            "reason": run.reason,
            "error": error[:1000],
            "duration": round(run.duration, 3),
        },
        ts=now,
    )


def interrupt_run(session: Session, run_id: int, error: str, now: datetime) -> Event:
    """Mark a run whose process died ``interrupted`` and journal ``backup.interrupted``."""
    run = _run(session, run_id)
    run.status, run.finished_at, run.error = INTERRUPTED, now, error[:4000]
    run.duration = (now - _aware(run.started_at)).total_seconds()
    site_summary.refresh_backups(session, [run.site_id])
    site = session.get(Site, run.site_id)
    return journal.record(
        session,
        BackupEventKind.BACKUP_INTERRUPTED,
        site_id=run.site_id,
        client_id=site.client_id if site else None,
        data={"run": run.id, "reason": run.reason, "error": error[:1000]},
        ts=now,
    )


def running(session: Session) -> list[BackupRun]:
    """Every run still marked ``running`` (live, or left by a process that died)."""
    return list(session.scalars(select(BackupRun).where(BackupRun.status == RUNNING)))


def run_lease(run_id: int) -> str:
    """The lease a run's process holds while it runs (``store.leases``), naming its worker."""
    return f"run:{run_id}"


def leases_held_by_others(
    session: Session, names: list[str], holders: list[str], now: datetime
) -> set[str]:
    """Which of ``names`` another holder has, unexpired (a live process elsewhere)."""
    if not names:
        return set()
    return set(
        session.scalars(
            select(Lease.name).where(
                Lease.name.in_(names), Lease.holder.not_in(holders), Lease.expires_at > now
            )
        )
    )


def release_site_leases(session: Session, holders: list[str], names: list[str]) -> int:
    """Release ``holders``' per-site leases (backups, drills) and the run leases ``names``."""
    kinds = or_(Lease.name.like("backup:%"), Lease.name.like("drill:%"), Lease.name.in_(names))
    result = session.execute(delete(Lease).where(Lease.holder.in_(holders), kinds))
    return int(getattr(result, "rowcount", 0) or 0)


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def mark_pruned(session: Session, site_id: int, snapshot_ids: list[str]) -> None:
    """Runs whose snapshots retention removed (full or short ids) are ``pruned``."""
    session.execute(
        update(BackupRun)
        .where(
            BackupRun.site_id == site_id,
            BackupRun.snapshot_id.in_([*snapshot_ids, *(i[:8] for i in snapshot_ids)]),
        )
        .values(status=PRUNED)
    )
    site_summary.refresh_backups(session, [site_id])


def running_runs(session: Session, site_id: int) -> list[int]:
    """Ids of a site's runs still marked ``running``."""
    return list(
        session.scalars(
            select(BackupRun.id).where(BackupRun.site_id == site_id, BackupRun.status == RUNNING)
        )
    )


def record_event(
    session: Session, kind: BackupEventKind, site: Site, data: dict[str, Any], now: datetime
) -> None:
    """A backup-related journal event for ``site`` (restore, prune)."""
    journal.record(session, kind, site_id=site.id, client_id=site.client_id, data=data, ts=now)


def mark_verified(
    session: Session,
    site: Site,
    snapshot_id: str,
    *,
    ok: bool,
    detail: str,
    figures: dict[str, Any],
    now: datetime,
) -> None:
    """Record a drill's verdict on the snapshot's run and in the journal."""
    run = session.scalar(
        select(BackupRun).where(
            BackupRun.site_id == site.id, BackupRun.snapshot_id.in_([snapshot_id, snapshot_id[:8]])
        )
    )
    if run is not None:
        run.verified, run.verified_at, run.verify_detail = ok, now, detail[:4000]
    kind = BackupEventKind.BACKUP_VERIFIED if ok else BackupEventKind.BACKUP_VERIFICATION_FAILED
    record_event(
        session, kind, site, {"snapshot": snapshot_id, "detail": detail[:1000], **figures}, now
    )


def runs_of(session: Session, site_id: int, limit: int = 100) -> list[BackupRun]:
    """A site's backup runs, newest first."""
    return list(
        session.scalars(
            select(BackupRun)
            .where(BackupRun.site_id == site_id)
            .order_by(BackupRun.started_at.desc(), BackupRun.id.desc())
            .limit(limit)
        )
    )


def run_by_snapshot(session: Session, site_id: int, snapshot: str) -> BackupRun | None:
    """The run that made a snapshot (full id or a prefix of at least 8 characters)."""
    return session.scalar(
        select(BackupRun).where(
            BackupRun.site_id == site_id, BackupRun.snapshot_id.startswith(snapshot)
        )
    )


def _run(session: Session, run_id: int) -> BackupRun:
    run = session.get(BackupRun, run_id)
    if run is None:
        raise NotFound(f"no backup run {run_id}")
    return run


def plan_options(site: Site) -> PlanOptions | None:
    """The plan options of the site's contract, if it has one."""
    contract: Contract | None = site.contract
    if contract is None:
        return None
    return PlanOptions.model_validate(contract.plan.options or {})


def due_backups(session: Session, now: datetime) -> list[int]:
    """Ids of the sites whose plan schedules backups and whose last attempt is old enough.

    Due = no successful backup within the schedule's interval, and no attempt
    (failed or running) within the retry delay: a broken site is retried,
    but not hammered.
    """
    last_ok = _last_by_site(session, OK)
    last_try: dict[int, datetime] = dict(
        session.execute(
            select(BackupRun.site_id, func.max(BackupRun.started_at))
            .where(BackupRun.reason != SAFETY)
            .group_by(BackupRun.site_id)
        )
        .tuples()
        .all()
    )
    due: list[int] = []
    for site_id, ssh, *_, options in planned_sites(session, unpaused=True):
        if options.backup == "none" or not ssh:
            continue
        interval = SCHEDULE_SECONDS[options.backup]
        ok_at, tried_at = last_ok.get(site_id), last_try.get(site_id)
        if ok_at is not None and now - ok_at < timedelta(seconds=interval):
            continue
        retry = min(interval // RETRY_FRACTION, RETRY_MAX)
        if tried_at is not None and now - tried_at < timedelta(seconds=retry):
            continue
        due.append(site_id)
    return due


def due_drills(session: Session, now: datetime) -> list[int]:
    """Ids of the sites whose plan asks for restore drills and whose last drill is older
    than that."""
    last: dict[int, datetime | None] = dict(
        session.execute(
            select(BackupRun.site_id, func.max(BackupRun.verified_at))
            .where(BackupRun.verified_at.is_not(None))
            .group_by(BackupRun.site_id)
        )
        .tuples()
        .all()
    )
    have_backup = set(_last_by_site(session, OK))
    due: list[int] = []
    for site_id, *_, options in planned_sites(session, unpaused=True):
        if options.restore_drill == "none" or site_id not in have_backup:
            continue
        at = last.get(site_id)
        if at is None or now - at >= timedelta(seconds=DRILL_SECONDS[options.restore_drill]):
            due.append(site_id)
    return due


def _last_by_site(session: Session, status: str) -> dict[int, datetime]:
    rows = session.execute(
        select(BackupRun.site_id, func.max(BackupRun.started_at))
        .where(BackupRun.status == status, BackupRun.reason != SAFETY)
        .group_by(BackupRun.site_id)
    ).all()
    return {site_id: at for site_id, at in rows}


def site_names_by_backup_host(session: Session, backup_hosts: Collection[str]) -> dict[str, str]:
    """``Site.backup_host`` -> the name of the site that has it (removed sites: absent)."""
    rows = session.execute(
        select(Site.backup_host, Site.name).where(Site.backup_host.in_(list(backup_hosts)))
    )
    return {backup_host: name for backup_host, name in rows}

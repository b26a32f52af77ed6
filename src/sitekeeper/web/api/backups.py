"""/api/sites/{id}/backups: a site's backup runs, newest first (``sitekeeper backups --json``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sitekeeper.store import backups as backup_store
from sitekeeper.store.backup_tables import OK
from sitekeeper.web.api.common import ERRORS
from sitekeeper.web.api.schemas import BackupRunOut
from sitekeeper.web.auth import AnyUser
from sitekeeper.web.common import Db, Id, visible_site

router = APIRouter(prefix="/api", tags=["backups"], responses=ERRORS)


@router.get("/sites/{site_id}/backups", response_model=list[BackupRunOut])
def site_backups(
    *,
    site_id: Id,
    session: Db,
    who: AnyUser,
    all_runs: Annotated[bool, Query(alias="all", description="Failed and safety runs too")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[BackupRunOut]:
    """Snapshots of the site: time, files, bytes added, duration, restore-drill verdict."""
    site = visible_site(session, who, site_id)
    runs = backup_store.runs_of(session, site.id, limit)
    if not all_runs:
        runs = [r for r in runs if r.status == OK]
    return [
        BackupRunOut(
            run_id=r.id,
            snapshot=r.snapshot_id,
            time=r.started_at,
            status=r.status,
            reason=r.reason,
            files=r.files,
            files_new=r.files_new,
            files_changed=r.files_changed,
            bytes_total=r.bytes_total,
            bytes_added=r.bytes_added,
            bytes_transferred=r.bytes_transferred,
            database_bytes=r.database_bytes,
            duration_s=round(r.duration, 3) if r.duration is not None else None,
            verified=r.verified,
            verified_at=r.verified_at,
            # The raw error (SSH user@host, paths, dump lines) is the agency's to read.
            error=r.error if who.is_staff else None,
        )
        for r in runs
    ]

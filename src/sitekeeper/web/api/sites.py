"""/api/sites: the fleet as JSON (list with filters and pagination, get, create, update, delete)."""

from __future__ import annotations

from typing import Annotated

import anyio.from_thread
from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy.orm import Session

from sitekeeper.backup import removal
from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.options import BackupSettings
from sitekeeper.domain.key_pages import stored_key_pages
from sitekeeper.probes.registry import ProbeSet
from sitekeeper.store import fleet
from sitekeeper.store import sites as site_store
from sitekeeper.store.tables import Site
from sitekeeper.web.api.common import ERRORS, Page, PageNo, PerPage, meta
from sitekeeper.web.api.schemas import SiteIn, SiteOut, SitePatch, SshChange
from sitekeeper.web.auth import AnyUser, Staff, now
from sitekeeper.web.common import Db, Id, IdQuery, default_interval, vault_of, visible_site

router = APIRouter(prefix="/api", tags=["sites"], responses=ERRORS)
_STATES = f"^({'|'.join((*fleet.STATES, 'problems'))})$"


def site_out(row: fleet.FleetRow) -> SiteOut:
    """The API shape of a fleet row (the list and the single site read the same row)."""
    return SiteOut(
        id=row.site_id,
        name=row.name,
        url=row.url,
        client_id=row.client_id,
        client=row.client_name,
        contract_id=row.contract_id,
        tags=row.tags,
        cms=row.cms,
        cms_version=row.cms_version,
        paused=row.paused,
        state=row.state,
        up=row.up,
        status=row.status,
        error=row.error,
        response_ms=row.response_ms,
        checked_at=row.checked_at,
        tls_expires=row.tls_expires,
        down_since=row.down_since,
        updates=row.updates,
        security_updates=row.security_updates,
        vulns=row.vulns,
        last_backup_at=row.last_backup_at,
        backup_failed=row.backup_failed,
        compromised=row.compromised,
    )


def _one(session: Session, site: Site) -> SiteOut:
    page = fleet.fleet_page(session, fleet.FleetFilter(site_id=site.id), now())
    pages = stored_key_pages(site.check_options)
    return site_out(page.rows[0]).model_copy(update={"key_pages": pages})


@router.get("/sites", response_model=Page[SiteOut])
def list_sites(
    *,
    session: Db,
    who: AnyUser,
    page: PageNo = 1,
    per_page: PerPage = 50,
    client_id: IdQuery = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(pattern=_STATES)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in name/URL/client")] = None,
    issue: Annotated[str | None, Query(pattern="^(updates|security|vulns|backup)$")] = None,
    cms: Annotated[str | None, Query(max_length=32)] = None,
    sort: Annotated[
        str,
        Query(pattern="^(problems|name|client|response|tls|cms|checked|updates|vulns|backup)$"),
    ] = "problems",
    desc: bool = False,
) -> Page[SiteOut]:
    """Sites, problems first by default, filtered like the fleet view."""
    scope = who.client_scope
    if scope is not None:
        client_id = scope
    flt = fleet.FleetFilter(client_id=client_id, tag=tag, state=state, text=q, issue=issue, cms=cms)
    result = fleet.fleet_page(
        session, flt, now(), sort=sort, descending=desc, page=page, per_page=per_page
    )
    return Page[SiteOut](
        items=[site_out(r) for r in result.rows], meta=meta(result.total, page, per_page)
    )


@router.get("/sites/{site_id}", response_model=SiteOut)
def get_site(site_id: Id, session: Db, who: AnyUser) -> SiteOut:
    """One site and its latest state."""
    return _one(session, visible_site(session, who, site_id))


@router.post("/sites", response_model=SiteOut, status_code=201)
def create_site(body: SiteIn, request: Request, session: Db, who: Staff) -> SiteOut:
    """Add a site (its check job is scheduled at once)."""
    fields = site_store.site_change(session, body.model_dump(), ProbeSet().config)
    site = site_store.add_site(session, fields, now(), default_interval=default_interval(request))
    return _one(session, site)


@router.patch("/sites/{site_id}", response_model=SiteOut)
def update_site(
    *, site_id: Id, body: SitePatch, request: Request, session: Db, who: Staff
) -> SiteOut:
    """Change a site's fields; its SSH access (``ssh``) only as an admin."""
    site = visible_site(session, who, site_id)
    values = body.model_dump()
    ssh = values.pop("ssh", None)
    fields = site_store.site_change(session, values, ProbeSet().config)
    if ssh is not None:
        if not who.is_admin:
            raise HTTPException(403, detail="only an admin may change a site's SSH access")
        change = SshChange.model_validate(ssh)
        fields.clear_ssh = change.clear
        if not change.clear:
            fields.ssh = site_store.edited_ssh(
                site, change.target, change.key_id, change.docroot, change.sudo_user
            )
    site_store.update_site(session, site, fields, now(), default_interval=default_interval(request))
    return _one(session, site)


@router.delete("/sites/{site_id}", status_code=204)
def delete_site(
    site_id: Id,
    request: Request,
    session: Db,
    who: Staff,
    purge_backups: Annotated[
        bool,
        Query(
            description="Also delete the site's snapshots from the backup repository (forget "
            "and prune). By default they are kept under the site's own restic host; the "
            "journal records which (backup.kept / backup.purged)."
        ),
    ] = False,
) -> Response:
    """Remove a site (its history stays in the journal); its snapshots are kept or purged."""
    settings = request.app.state.settings
    try:
        removal.remove_site(
            session,
            vault_of(request),
            BackupSettings.from_settings(settings),
            visible_site(session, who, site_id),
            purge=purge_backups,
            run=anyio.from_thread.run,  # a sync endpoint runs on a worker thread
            now=now(),
        )
    except BackupError as exc:
        raise HTTPException(503, detail=f"the site was not removed: {exc}") from None
    return Response(status_code=204)

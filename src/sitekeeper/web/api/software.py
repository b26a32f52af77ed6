"""/api/sites/{id}/inventory and /findings, /api/updates, /api/vulns, /api/advisories.

``/api/sites/{id}/findings`` pages through every open finding of the site (updates,
vulnerabilities, exposures, integrity, malware, SEO…), worst first, ``?kind=`` narrowing it;
each has the ``id`` an acknowledgement names (``/api/findings/{id}/acknowledge``).

The fleet-wide lists have the fields of ``sitekeeper updates --json`` and
``vulns --json`` (plus ``site_id``); a client user's lists hold only its sites.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy.orm import Session

from sitekeeper.domain.findings import VULNERABILITY
from sitekeeper.store import advisories as advisory_store
from sitekeeper.store import findings
from sitekeeper.store.findings import FindingView
from sitekeeper.store.inventories import latest_inventory
from sitekeeper.store.site_findings import SiteFinding, site_findings
from sitekeeper.web.api.common import ERRORS, Page, PageNo, PerPage, meta
from sitekeeper.web.api.history import scoped_site_ids
from sitekeeper.web.api.schemas import (
    AdvisoryOut,
    ExtensionOut,
    FindingOut,
    InventoryOut,
    UpdateOut,
    VulnOut,
)
from sitekeeper.web.auth import AnyUser, Viewer
from sitekeeper.web.common import Db, Id, visible_site

router = APIRouter(prefix="/api", tags=["software"], responses=ERRORS)


def _aliases(view: FindingView) -> list[str]:
    return [str(a) for a in view.data.get("aliases") or []]


def _advisory_ids(view: FindingView) -> list[str]:
    return [str(a) for a in view.data.get("advisory_ids") or []]


def _fleet_findings(
    session: Session, who: Viewer, kinds: Collection[str], *, security_only: bool = False
) -> list[FindingView]:
    """Open findings of every site the viewer may see: a client user's lists hold only its sites."""
    ids = scoped_site_ids(session, who, None)
    return findings.open_findings(session, kinds, site_ids=ids, security_only=security_only)


@router.get("/sites/{site_id}/inventory", response_model=InventoryOut)
def inventory(site_id: Id, session: Db, who: AnyUser) -> InventoryOut:
    """The site's latest inventory: core, PHP, database, extensions (404 before the first)."""
    site = visible_site(session, who, site_id)
    found = latest_inventory(session, site.id)
    if found is None:
        raise HTTPException(404, f"no inventory of site {site_id} yet")
    return InventoryOut(
        cms=found.cms,
        version=found.version,
        php=found.php,
        database=found.database,
        extensions=[
            ExtensionOut(
                type=e.type,
                slug=e.slug,
                name=e.name,
                version=e.version,
                active=e.active,
                update_source=e.update_source,
            )
            for e in found.extensions
        ],
        collected_at=found.collected_at,
        warnings=list(found.warnings),
    )


def finding_out(f: SiteFinding) -> FindingOut:
    """The API shape of one finding (what ``sitekeeper findings --json`` prints too)."""
    return FindingOut(**f.to_json())


@router.get("/sites/{site_id}/findings", response_model=Page[FindingOut])
def list_site_findings(
    *,
    site_id: Id,
    session: Db,
    who: AnyUser,
    kind: Annotated[
        list[str] | None,
        Query(max_length=20, description="Only these kinds (repeatable); default: every kind"),
    ] = None,
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> Page[FindingOut]:
    """The site's open findings, worst first: updates, vulnerabilities, packages of unknown
    source, exposures and signs of a hack (integrity, malware, SEO)."""
    site = visible_site(session, who, site_id)
    rows, total = site_findings(session, site.id, kind or None, page=page, per_page=per_page)
    return Page[FindingOut](items=[finding_out(f) for f in rows], meta=meta(total, page, per_page))


@router.get("/updates", response_model=list[UpdateOut])
def updates(
    session: Db,
    who: AnyUser,
    security: Annotated[bool, Query(description="Security updates only")] = False,
) -> list[UpdateOut]:
    """Pending updates across the (visible) fleet: the installed branch's newest release and
    the newest beyond it; unknown update sources and unreachable feeds are listed too."""
    ids = scoped_site_ids(session, who, None)
    rows = findings.update_rows(session, site_ids=ids, security_only=security)
    return [UpdateOut(site_id=r.site_id, **r.to_json()) for r in rows]


@router.get("/vulns", response_model=list[VulnOut])
def vulns(session: Db, who: AnyUser) -> list[VulnOut]:
    """Known vulnerabilities across the (visible) fleet: certain or possible, with the basis."""
    return [
        VulnOut(
            site_id=v.site_id,
            site=v.site,
            client=v.client,
            ecosystem=v.ecosystem,
            type=v.type,
            package=v.package,
            installed=v.installed,
            advisory_id=v.advisory_id,
            aliases=_aliases(v),
            severity=v.data.get("severity"),
            fixed_in=v.data.get("fixed_in"),
            certainty=v.certainty,
            basis=v.basis,
        )
        for v in _fleet_findings(session, who, (VULNERABILITY,))
    ]


@router.get("/advisories", response_model=list[AdvisoryOut])
def advisories(session: Db, who: AnyUser) -> list[AdvisoryOut]:
    """Every stored advisory, newest first (public vendor data: the same for every user)."""
    return [
        AdvisoryOut(
            id=r.id,
            source=r.source,
            summary=r.summary,
            severity=r.severity,
            aliases=[str(a) for a in r.aliases],
            published=r.published,
            packages=sorted(
                {
                    f"{p['ecosystem']}/{p['slug']}"
                    for p in (r.data or {}).get("affected", [])
                    if p.get("slug")
                }
            ),
        )
        for r in advisory_store.list_all(session)
    ]

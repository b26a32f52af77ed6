"""The site an update run works on, as the store knows it, and which of the planned items
its CMS can apply.

Read in one session before the run starts: the home URL the health checks load, how its
uptime check trusts the certificate and which keyword it expects, its usual response time,
and its pending updates (the ``updates`` view), so the plan and the checks see the site as
the dashboard does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from sitekeeper.cms.protocol import Cms
from sitekeeper.cms.registry import CMSES
from sitekeeper.domain.checks import CheckOptions, web_check_options
from sitekeeper.errors import ConfigError
from sitekeeper.store import findings, releases
from sitekeeper.store.findings import UpdateRow
from sitekeeper.store.inventories import latest_inventory
from sitekeeper.store.sites import get_site
from sitekeeper.updates.health_usual import usual_ms
from sitekeeper.updates.plan import Plan, Refusal


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """One site as an update run needs it."""

    id: int
    name: str
    url: str
    cms: str | None
    trust: CheckOptions
    usual_ms: int | None
    rows: tuple[UpdateRow, ...]
    php: str | None = None  # the PHP its latest inventory found
    cms_version: str | None = None  # the CMS core version its latest inventory found
    database: str | None = None  # the database server's version, as it said
    # (type, package) -> {version: lowest PHP it needs}, as the vendor's feed says
    requires_php: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    # (type, package) -> {version: lowest MySQL-compatible server version it needs}
    requires_db: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def php_needed(self, type_: str, package: str, version: str) -> str | None:
        """The lowest PHP ``version`` of the package needs, if the feed says."""
        return self.requires_php.get((type_, package), {}).get(version)

    def db_needed(self, type_: str, package: str, version: str) -> str | None:
        """The lowest database server ``version`` of the package needs, if the feed says."""
        return self.requires_db.get((type_, package), {}).get(version)


def site_facts(session: Session, ref: str) -> SiteFacts:
    """The site ``ref`` (id, name or URL) and its pending updates."""
    site = get_site(session, ref)
    rows = findings.update_rows(session, site_ids=[site.id])
    entries = releases.catalogue(session, {(r.ecosystem, r.type, r.package) for r in rows})
    inventory = latest_inventory(session, site.id)
    return SiteFacts(
        id=site.id,
        name=site.name,
        url=site.url,
        cms=site.cms,
        trust=web_check_options(site.check_options),
        usual_ms=usual_ms(session, site.id),
        rows=tuple(rows),
        php=inventory.php if inventory else None,
        cms_version=inventory.version if inventory else None,
        database=inventory.database if inventory else None,
        requires_php={
            (type_, package): dict(entry.requires_php)
            for (_, type_, package), entry in entries.items()
            if entry.requires_php
        },
        requires_db={
            (type_, package): dict(entry.requires_db)
            for (_, type_, package), entry in entries.items()
            if entry.requires_db
        },
    )


def cms_of(kind: str | None) -> Cms | None:
    """The registered CMS of that kind, None if the site has none sitekeeper knows."""
    if kind is None:
        return None
    try:
        return CMSES.get(kind)
    except ConfigError:
        return None


def applicable(chosen: Plan, cms: Cms | None, kind: str | None) -> Plan:
    """The plan with what the site's CMS cannot apply moved to the refusals, with why."""
    updater = cms.updater if cms is not None else None
    items, refused = [], list(chosen.refused)
    for item in chosen.items:
        if updater is None:
            name = kind or "no known CMS"
            refused.append(
                Refusal(item.type, item.package, f"sitekeeper cannot apply {name} updates yet")
            )
        elif item.type not in updater.types:
            refused.append(
                Refusal(item.type, item.package, f"{kind} {item.type} updates are not supported")
            )
        else:
            items.append(item)
    return Plan(chosen.site_id, tuple(items), tuple(refused))

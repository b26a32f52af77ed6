"""What becomes of a site's snapshots when the site is removed: kept, or purged.

Snapshots carry the site's restic host, made from ``Site.backup_host``,
which no later site ever gets: a new site never sees a removed site's
snapshots. Removing a site either keeps them under that host (the default:
they can be listed and deleted later with ``backup-repo snapshots/forget
--host``), or purges them (``--purge-backups``, ``?purge_backups=true``):
forgotten and pruned from the repository before the site row goes. A purge
that cannot be done removes nothing. Either way the journal records which
host, which repository and which snapshots, and the site's local mirror (a
copy of its files) is deleted.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sitekeeper.backup.errors import BackupError
from sitekeeper.backup.identity import backup_host_of, snapshot_host
from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.repository import OpenRepository, open_stored
from sitekeeper.backup.restic import Restic
from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.humanize import plural
from sitekeeper.errors import UsageError
from sitekeeper.store import backups as queries
from sitekeeper.store import journal, sites
from sitekeeper.store.tables import Client, Site
from sitekeeper.vault import Vault


@dataclass(frozen=True)
class SiteBackups:
    """Where a site's snapshots are: its restic host in its repository (if it has one)."""

    site_id: int
    name: str
    host: str
    repository: OpenRepository | None
    client: str | None  # the client whose own repository it is; None: the agency's

    @classmethod
    def of(cls, session: Session, vault: Vault, site: Site) -> SiteBackups:
        """Look the repository up without making one (a site never backed up has none)."""
        row = queries.repository_row_for_site(session, site)
        client = session.get(Client, row.client_id) if row and row.client_id else None
        return cls(
            site_id=site.id,
            name=site.name,
            host=snapshot_host(site.backup_host),
            repository=open_stored(row, vault) if row is not None else None,
            client=client.name if client else None,
        )


@dataclass(frozen=True)
class Disposal:
    """What was done with a removed site's snapshots, in words and for the journal."""

    host: str
    location: str | None
    client: str | None
    snapshots: list[str] = field(default_factory=list)
    purged: bool = False
    unlisted: str | None = None  # why the snapshots could not be listed

    def sentence(self) -> str:
        """For the operator: where the snapshots are and how to reach them."""
        if self.location is None:
            return "it had no backups"
        where = f"backup repository {self.location} under restic host {self.host}"
        repo = f" --client {_quoted(self.client)}" if self.client else ""
        listing = f"`sitekeeper backup-repo snapshots --host {self.host}{repo}`"
        if self.unlisted is not None:
            return (
                f"its snapshots, if any, stay in {where} (they could not be listed now: "
                f"{self.unlisted}); list them later with {listing}"
            )
        count = plural(len(self.snapshots), "snapshot")
        if self.purged:
            return f"its {count} were deleted from backup repository {self.location}"
        if not self.snapshots:
            return "it had no snapshots"
        return (
            f"its {count} stay in {where}; list them with {listing}, delete them with "
            f"`sitekeeper backup-repo forget --host {self.host}{repo}` "
            "(`site remove --purge-backups` deletes them with the site)"
        )

    def event(self) -> tuple[BackupEventKind, dict[str, Any]]:
        """The journal event recording it."""
        kind = BackupEventKind.BACKUPS_PURGED if self.purged else BackupEventKind.BACKUPS_KEPT
        data: dict[str, Any] = {
            "host": self.host,
            "repository": self.location,
            "snapshots": self.snapshots,
        }
        if self.unlisted is not None:
            data["unlisted"] = self.unlisted
        return kind, data


def _quoted(name: str) -> str:
    return name if name.replace("-", "").replace("_", "").isalnum() else repr(name)


def restic_for(settings: BackupSettings, repo: OpenRepository) -> Restic:
    """restic bound to ``repo`` with sitekeeper's cache directory."""
    return Restic(repo, binary=settings.restic_binary, cache_dir=settings.work_dir / "restic-cache")


async def dispose(settings: BackupSettings, backups: SiteBackups, *, purge: bool) -> Disposal:
    """List the site's snapshots and, with ``purge``, forget and prune them.

    A repository that was never created holds nothing. With ``purge``, any
    other failure is raised (the caller then keeps the site); without it, the
    site can go and the reason is recorded.
    """
    repo = backups.repository
    if repo is None:
        return Disposal(backups.host, None, None)
    restic = restic_for(settings, repo)
    try:
        snaps = await restic.snapshots(host=backups.host)
    except BackupError as exc:
        if "no restic repository" in str(exc):
            return Disposal(backups.host, repo.location, backups.client, purged=purge)
        if purge:
            raise BackupError(
                f"the snapshots of {backups.name} could not be listed, so nothing was "
                f"removed: {exc}"
            ) from None
        return Disposal(backups.host, repo.location, backups.client, unlisted=str(exc))
    ids = [s.id for s in snaps]
    if purge and ids:
        await restic.unlock()  # stale locks of killed runs would block the prune
        await restic.forget_snapshots(ids)
    return Disposal(backups.host, repo.location, backups.client, ids, purge)


def record(session: Session, site: Site, disposal: Disposal, now: datetime) -> None:
    """Journal what became of the snapshots (before the site row goes); a site that had
    none leaves nothing to say."""
    if not disposal.snapshots and disposal.unlisted is None:
        return
    kind, data = disposal.event()
    queries.record_event(session, kind, site, data, now)


def drop_mirror(settings: BackupSettings, site_id: int) -> None:
    """Delete the site's staging directory: its file mirror and pinned host key."""
    shutil.rmtree(settings.site_dir(site_id), ignore_errors=True)


def remove_site(
    session: Session,
    vault: Vault,
    settings: BackupSettings,
    site: Site,
    *,
    purge: bool,
    run: Callable[[Callable[[], Coroutine[Any, Any, Disposal]]], Disposal],
    now: datetime,
) -> Disposal:
    """Settle the site's snapshots, journal what became of them, then remove the site.

    ``run`` runs the restic part: ``asyncio.run`` from the CLI, ``anyio.from_thread.run``
    from a web request's worker thread. A failed purge raises before anything is removed.
    """
    backups = SiteBackups.of(session, vault, site)
    disposal = run(functools.partial(dispose, settings, backups, purge=purge))
    record(session, site, disposal, now)
    sites.remove_site(session, site, now)
    drop_mirror(settings, backups.site_id)
    return disposal


def stored_repository(
    session: Session, vault: Vault, client: Client | None
) -> tuple[OpenRepository, str | None]:
    """The agency's (``client=None``) or a client's own repository; UsageError if unset."""
    row = queries.repository_row(session, client.id if client else None)
    if row is None:
        whose = f"client {client.name}" if client else "the agency"
        raise UsageError(f"{whose} has no backup repository")
    return open_stored(row, vault), client.name if client else None


def sites_by_host(session: Session, hosts: Collection[str]) -> dict[str, str]:
    """Restic host -> name of the site that has it now (a removed site's host: absent)."""
    wanted = {h: b for h in hosts if (b := backup_host_of(h)) is not None}
    names = queries.site_names_by_backup_host(session, wanted.values())
    return {h: names[b] for h, b in wanted.items() if b in names}


def check_forgettable(session: Session, host: str) -> None:
    """Only a removed site's host may be forgotten wholesale; UsageError otherwise."""
    if backup_host_of(host) is None:
        raise UsageError(f"{host!r} is not the restic host of a sitekeeper site")
    if owner := sites_by_host(session, [host]).get(host):
        raise UsageError(
            f"{host} is the restic host of site {owner!r}; remove the site with "
            "--purge-backups to delete its snapshots with it"
        )


async def forget_host(
    settings: BackupSettings, repo: OpenRepository, host: str, client: str | None
) -> Disposal:
    """Forget and prune every snapshot of ``host`` (a removed site's)."""
    restic = restic_for(settings, repo)
    ids = [s.id for s in await restic.snapshots(host=host)]
    if ids:
        await restic.unlock()
        await restic.forget_snapshots(ids)
    return Disposal(host, repo.location, client, ids, purged=True)


def record_forgotten(session: Session, disposal: Disposal, now: datetime) -> None:
    """Journal the deletion of a removed site's snapshots (no site row any more)."""
    kind, data = disposal.event()
    journal.record(session, kind, data=data, ts=now)

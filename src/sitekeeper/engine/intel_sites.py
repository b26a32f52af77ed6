"""Per-site intelligence jobs: the SSH inventory and the fingerprint from outside, each
stored with the site's findings re-matched and alerted in one transaction; ``*_due``
runs them for the sites whose turn it is, under a lease per site."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from sitekeeper.cms.registry import CMSES
from sitekeeper.domain.checks import web_check_options
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.inventory import Inventory, InventoryDiff
from sitekeeper.domain.ssh_access import SshAccess
from sitekeeper.domain.untrusted import visible
from sitekeeper.engine import fingerprinting
from sitekeeper.engine.intel_base import FingerprintFn, IntelBase
from sitekeeper.engine.intel_ingest import rematch
from sitekeeper.errors import FeedError, NoCms, NotFound, RemoteError, UsageError
from sitekeeper.logs import Conditions
from sitekeeper.probes.fingerprint import FingerprintOptions, learn_release_hashes
from sitekeeper.store import inventories
from sitekeeper.store.site_cms import remember_cms
from sitekeeper.store.tables import Site

log = logging.getLogger(__name__)
_site_states = Conditions(log)  # what a site's state made us skip, said once per change
SITE_LEASE = timedelta(hours=1)  # a site's inventory or fingerprint run; a crashed holder's lapses


class SiteJobs(IntelBase):
    """Inventories and fingerprints, one site at a time or every due site."""

    async def inventory_site(self, ref: str) -> tuple[int, Inventory, InventoryDiff]:
        """Inventory one site over SSH, store it with its diff, re-match its findings."""
        from sitekeeper.cms.collector import InventoryLimits  # noqa: PLC0415
        from sitekeeper.cms.detect import confirm  # noqa: PLC0415
        from sitekeeper.remote.hostkeys import StoreHostKeyPins  # noqa: PLC0415 - SSH only here
        from sitekeeper.remote.ssh import connect  # noqa: PLC0415

        site_id, cms, access, key = await self._ssh_target(ref)
        async with await connect(access, StoreHostKeyPins(self.db), private_key=key) as conn:
            assert access.docroot is not None
            # stored, unless its files are gone (a site added by hand, or rebuilt)
            stored, cms = cms, await confirm(conn, access.docroot, cms)
            if cms != stored:
                await self.dbt.session_aside(remember_cms, site_id, cms, replacing=stored)
            limits = InventoryLimits.from_settings(self.settings)  # deadline and byte budget
            inventory = await CMSES.get(cms).inventory(conn, access.docroot, limits)
        now = datetime.now(UTC)

        def store(session: Session) -> InventoryDiff:
            site = session.get(Site, site_id)
            if site is None:
                raise NotFound(f"site {ref!r} was removed during the inventory")
            changes = inventories.store_inventory(session, site, inventory)
            # A site's first match of a known vulnerability alerts, as an advisory import does.
            self.alerts.queue(session, rematch(session, now, site_ids=[site_id]).alerting(), now)
            return changes

        return site_id, inventory, await self.dbt.session_aside(store)

    async def _ssh_target(self, ref: str) -> tuple[int, str | None, SshAccess, str]:
        """The site's id, CMS, SSH access and private key (from the vault, its client's)."""
        from sitekeeper.store.sites import get_site  # noqa: PLC0415
        from sitekeeper.store.ssh_keys import ssh_login  # noqa: PLC0415

        def load(session: Session) -> tuple[int, str | None, SshAccess, str]:
            site = get_site(session, ref)
            if not site.ssh:
                raise UsageError(f"site {site.name!r} has no SSH access configured")
            access, key = ssh_login(session, self.vault, site)
            if not access.docroot:
                raise UsageError(f"site {site.name!r}: SSH access has no docroot")
            return site.id, site.cms, access, key

        return await self.dbt.session_aside(load)

    async def fingerprint_site(
        self, site_id: int, fingerprint: FingerprintFn | None = None
    ) -> Fingerprint:
        """Fingerprint one site from outside, as its check options say, and store it (its
        software, without inventory). ``fingerprint``: a run's shared one, else one for this.
        """
        if fingerprint is None:
            async with self.fingerprinter() as one_off:
                return await self.fingerprint_site(site_id, one_off)
        url, options = await self.dbt.session_aside(_fingerprint_target, site_id)
        result = await fingerprint(url, options)
        now = datetime.now(UTC)

        def store(session: Session) -> None:
            site = session.get(Site, site_id)
            if site is not None:
                inventories.store_fingerprint(session, site, result, now)
                matched = rematch(session, now, site_ids=[site_id])
                self.alerts.queue(session, matched.alerting(), now)  # as after an inventory

        await self.dbt.session_aside(store)
        return result

    @asynccontextmanager
    async def fingerprinter(self) -> AsyncIterator[FingerprintFn]:
        """One probe for a run that learns the release hashes a hardened site's range needs
        (``engine.fingerprinting``); or the given function."""
        if self.fingerprint_fn is not None:
            yield self.fingerprint_fn
            return
        async with fingerprinting.fingerprinter(self.settings) as fingerprint:
            yield fingerprint

    async def learn_hashes(self) -> dict[str, list[str]]:
        """Learn the static-file hashes of new CMS releases (``fingerprint --learn``).

        Releases already in the cache are not downloaded again: a run with nothing new
        reads each vendor's release list and nothing else.
        """
        learned = await learn_release_hashes(self.settings)
        if any(learned.values()):
            counts = ", ".join(f"{len(v)} {cms}" for cms, v in learned.items())
            log.info("learned the static files of new releases: %s", counts)
        return learned

    async def inventories_due(self, limit: int = 100) -> int:
        """Inventory the sites whose inventory is due (SSH sites); returns how many ran.

        A site another process holds the lease of is left to it.
        """
        async with self._due("inventory", self.feeds.inventory_interval, limit) as due:
            await self._each("inventory", due, lambda site_id: self.inventory_site(str(site_id)))
        return len(due)

    async def fingerprints_due(self, limit: int = 100) -> int:
        """Fingerprint the sites whose fingerprint is due with one probe; returns how many ran.

        A site another process holds the lease of is left to it.
        """
        async with self._due("fingerprint", self.feeds.fingerprint_interval, limit) as due:
            if due:
                async with self.fingerprinter() as fingerprint:
                    await self._each(
                        "fingerprint",
                        due,
                        lambda site_id: self.fingerprint_site(site_id, fingerprint),
                    )
        return len(due)

    def _due(
        self, kind: str, interval: float, limit: int
    ) -> AbstractAsyncContextManager[list[int]]:
        """The due sites of ``kind`` whose lease this process got, held until exit."""
        now = datetime.now(UTC)
        return self.leases.claim(
            kind, SITE_LEASE, lambda s: inventories.sites_due(s, kind, now, interval, limit)
        )

    async def _each(
        self, kind: str, site_ids: list[int], job: Callable[[int], Awaitable[object]]
    ) -> None:
        """``job`` for every site, ``concurrency`` at once; a site's failure is only logged."""
        now = datetime.now(UTC)  # tried now, so a failure goes to the back of the queue
        await self.dbt.session_aside(inventories.mark_attempted, kind, site_ids, now)
        gate = asyncio.Semaphore(self.concurrency)

        async def one(site_id: int) -> None:
            async with gate:
                try:
                    await job(site_id)
                except (UsageError, NoCms) as exc:  # a state (no SSH access, a static site),
                    # not a failure: said once until it changes
                    key, said = (kind, site_id), "%s of site %s skipped: %s"
                    text = visible(str(exc))
                    _site_states.report(key, text, logging.INFO, said, kind, site_id, text)
                except (RemoteError, FeedError) as exc:
                    # The error may quote the site (stderr, file names): one line, escaped.
                    log.warning("%s of site %s failed: %s", kind, site_id, visible(str(exc)))
                else:
                    _site_states.clear((kind, site_id))

        await asyncio.gather(*(one(site_id) for site_id in site_ids))


def _fingerprint_target(session: Session, site_id: int) -> tuple[str, FingerprintOptions]:
    """The site's URL and what its stored check options say about fingerprinting it."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site {site_id}")
    check = web_check_options(site.check_options)
    return site.url, FingerprintOptions.from_check(check)

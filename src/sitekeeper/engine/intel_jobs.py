"""Software intelligence jobs: feed polls, advisory imports, inventories, fingerprints.

Each job fetches outside any transaction, then stores what it learnt, re-matches
only what changed (the packages an advisory or release names, or the one site
inventoried) and queues alerts — all in one transaction, so a rejected feed or
a crash leaves the store as it was. ``serve`` runs the ``*_due`` / ``poll`` /
``refresh`` / ``learn`` methods as periodic loops; the CLI calls the same methods once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.cms.registry import CMSES
from sitekeeper.config import Settings
from sitekeeper.domain.advisory import Advisory
from sitekeeper.domain.catalogue import PackageInfo, PackageKey, VendorRelease
from sitekeeper.domain.checks import CheckOptions
from sitekeeper.domain.findings import FindingSpec
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.intel_events import IntelEventKind
from sitekeeper.domain.inventory import Inventory, InventoryDiff
from sitekeeper.domain.ssh_access import SshAccess
from sitekeeper.domain.untrusted import visible
from sitekeeper.domain.versions import Ecosystem
from sitekeeper.engine import fingerprinting
from sitekeeper.errors import (
    FeedError,
    NoCms,
    NotFound,
    RemoteError,
    SitekeeperError,
    UsageError,
)
from sitekeeper.intel import importer
from sitekeeper.intel.fetch import FeedSettings, Fetcher, cache_from_rows
from sitekeeper.intel.matching import AdvisoryIndex, match
from sitekeeper.intel.pollers import PollResult
from sitekeeper.logs import Conditions
from sitekeeper.notify import messages, outbox
from sitekeeper.probes.fingerprint import FingerprintOptions, learn_release_hashes
from sitekeeper.store import advisories as advisory_store
from sitekeeper.store import findings, inventories, journal, releases
from sitekeeper.store.channels import channel_urls
from sitekeeper.store.database import Database
from sitekeeper.store.leases import Leases
from sitekeeper.store.releases import FeedStateRow
from sitekeeper.store.site_cms import remember_cms
from sitekeeper.store.tables import Client, Site
from sitekeeper.vault import Vault

log = logging.getLogger(__name__)
_site_states = Conditions(log)  # what a site's state made us skip, said once per change
FingerprintFn = Callable[[str, FingerprintOptions], Awaitable[Fingerprint]]
MAX_ALERT_LINES = 200  # per message; a client with more sites gets the count
SITE_LEASE = timedelta(hours=1)  # a site's inventory or fingerprint run; a crashed holder's lapses


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
    return findings.reconcile(session, specs, now, site_ids=site_ids, packages=packages)


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


class SoftwareAlerts:
    """One message per client listing its affected sites, to the global + client channels."""

    def __init__(self, global_urls: Sequence[str], vault: Vault) -> None:
        self.global_urls = list(global_urls)
        self.vault = vault

    def queue(self, session: Session, specs: Sequence[FindingSpec], now: datetime) -> int:
        """Queue the alerts for ``specs`` in the caller's transaction; returns messages queued."""
        if not specs:
            return 0
        by_site: dict[int, list[FindingSpec]] = {}
        for spec in specs:
            by_site.setdefault(spec.site_id, []).append(spec)
        sites = _sites(session, list(by_site))
        by_client: dict[int | None, list[int]] = {}
        for site_id in sorted(by_site, key=lambda s: sites[s][0] if s in sites else ""):
            if site_id in sites:
                by_client.setdefault(sites[site_id][2], []).append(site_id)
        clients = _clients(session, [c for c in by_client if c is not None])
        queued = 0
        for client_id, site_ids in by_client.items():
            name, stored, language = (
                clients.get(client_id, (None, [], "en")) if client_id else (None, [], "en")
            )
            urls = channel_urls(session, self.vault, self.global_urls, stored, name)
            event = journal.record(
                session,
                IntelEventKind.SOFTWARE_ALERT,
                client_id=client_id,
                data={
                    "sites": site_ids[:5000],
                    "site_count": len(site_ids),
                    "advisories": sorted(
                        {s.advisory_id for i in site_ids for s in by_site[i] if s.advisory_id}
                    )[:100],
                },
                ts=now,
            )
            if not urls:
                continue
            title, body = _message(name, language, site_ids, sites, by_site)
            outbox.enqueue(
                session,
                urls=urls,
                title=title,
                body=body,
                event_id=event.id,
                vault=self.vault,
                now=now,
            )
            queued += 1
        return queued


def _sites(session: Session, ids: list[int]) -> dict[int, tuple[str, str, int | None]]:
    result: dict[int, tuple[str, str, int | None]] = {}
    for start in range(0, len(ids), 1000):
        rows = session.execute(
            select(Site.id, Site.name, Site.url, Site.client_id).where(
                Site.id.in_(ids[start : start + 1000])
            )
        )
        result.update((i, (n, u, c)) for i, n, u, c in rows)
    return result


def _clients(session: Session, ids: list[int]) -> dict[int | None, tuple[str, list[str], str]]:
    rows = session.execute(
        select(Client.id, Client.name, Client.alert_urls, Client.language).where(Client.id.in_(ids))
    )
    return {i: (n, list(u or []), lang or "en") for i, n, u, lang in rows}


def _message(
    client: str | None,
    language: str,
    site_ids: list[int],
    sites: dict[int, tuple[str, str, int | None]],
    by_site: dict[int, list[FindingSpec]],
) -> tuple[str, str]:
    lines = [
        messages.SoftwareLine(
            site=sites[site_id][0],
            url=sites[site_id][1],
            package=spec.package,
            installed=spec.installed,
            advisory_id=spec.advisory_id,
            severity=spec.severity,
            fixed_in=spec.fixed_in,
            possible=spec.certainty == "possible",
            latest=spec.latest,
        )
        for site_id in site_ids[:MAX_ALERT_LINES]
        for spec in by_site[site_id]
    ]
    advisories = sorted({s.advisory_id for i in site_ids for s in by_site[i] if s.advisory_id})
    message = messages.software_alert(
        lines=lines,
        site_count=len(site_ids),
        advisories=advisories,
        client=client,
        language=language,
        more=max(0, len(site_ids) - MAX_ALERT_LINES),
    )
    return message.title, message.body


# --- the jobs -----------------------------------------------------------------------------------


class IntelJobs:
    """The jobs ``serve`` schedules and the CLI runs once, sharing one code path."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        feeds: FeedSettings | None = None,
        vault: Vault | None = None,
        fingerprint: FingerprintFn | None = None,
        concurrency: int = 10,
        leases: Leases | None = None,
    ) -> None:
        """``fingerprint``: what fingerprints a site (default: one shared probe per run).

        ``leases``: how scheduled work is shared with other ``serve`` processes
        (default: held as ``settings.worker_name``).
        """
        self.db = db
        self.settings = settings
        self.feeds = feeds or FeedSettings.from_settings(settings)
        self.vault = vault or Vault.from_home(settings.home, settings.secret_key)
        self.alerts = SoftwareAlerts(settings.alert_urls, self.vault)
        self.fingerprint_fn = fingerprint
        self.concurrency = concurrency
        self.leases = leases or Leases(db, settings.worker_name)
        self._feed_errors_said: tuple[int, int, list[str]] = (0, 0, [])

    def schedules(self, due_check: float = 300.0) -> list[Schedule]:
        """What ``serve`` runs periodically: (name, period in seconds, action).

        Inventories and fingerprints are checked for due sites every ``due_check``
        seconds; each site's own interval (plan option or setting) decides. Release
        hashes are learned unless their interval is 0. With several ``serve`` processes
        the global jobs run in one of them per period and each due site in one of them
        (``store.leases``).
        """
        schedules = [
            self._global("intel-feeds", self.feeds.poll_interval, self.poll_feeds_logged),
            self._global("intel-advisories", self.feeds.advisory_interval, self.refresh_advisories),
            Schedule("intel-inventories", due_check, self.inventories_due),
            Schedule("intel-fingerprints", due_check, self.fingerprints_due),
        ]
        if self.feeds.hash_learn_interval:
            learn = self._global("intel-hashes", self.feeds.hash_learn_interval, self.learn_hashes)
            schedules.append(learn)
        return schedules

    def _global(
        self, name: str, period: float, action: Callable[[], Awaitable[object]]
    ) -> Schedule:
        return Schedule(name, period, self.leases.periodic(name, period, action))

    async def run_safely(self, schedule: Schedule) -> None:
        """One scheduled run; a failure is logged and the loop goes on (the next run retries)."""
        try:
            await schedule.action()
        except SitekeeperError as exc:
            log.error("%s failed: %s", schedule.name, exc)

    async def _db(self, fn: Callable[[Session], object]) -> object:
        def run() -> object:
            with self.db.session() as session:
                return fn(session)

        return await asyncio.to_thread(run)

    # advisories

    async def import_advisories(self, source: str) -> IngestReport:
        """Import one file, directory, zip or URL; all-or-nothing (InvalidFeed stores nothing)."""
        async with await self._fetcher() as fetcher:
            try:
                found = await importer.load_source(source, fetcher)
            finally:
                await self._save_feed_state(fetcher)
        now = datetime.now(UTC)
        result = await self._db(lambda s: ingest_advisories(s, found, self.alerts, now))
        assert isinstance(result, IngestReport)
        return result

    async def refresh_advisories(self) -> IngestReport:
        """Import every configured advisory source; one failing source does not stop the rest."""
        total = IngestReport()
        for source in self.feeds.advisory_sources:
            try:
                report = await self.import_advisories(source)
            except FeedError as exc:
                log.warning("advisory source %s: %s", source, exc)
                total.errors.append(f"{source}: {exc}")
                continue
            total.advisories += report.advisories
            total.changed += report.changed
            total.opened += report.opened
            total.resolved += report.resolved
            total.alerts += report.alerts
        return total

    # release feeds

    async def poll_feeds(self) -> IngestReport:
        """Poll every vendor feed for the packages the fleet runs, then store and re-match."""
        cmses = [cms for _, cms in CMSES.items()]
        wanted = await self._db(
            lambda s: {c.kind: releases.packages_to_poll(s, c.ecosystem) for c in cmses}
        )
        assert isinstance(wanted, dict)
        result = PollResult()
        async with await self._fetcher() as fetcher:
            try:
                for cms in cmses:
                    # a package whose updates come from elsewhere (a premium plugin) is not asked
                    rows = [row for row in wanted[cms.kind] if cms.polls(row[2])]
                    if rows:
                        result.extend(await cms.poll(fetcher, rows, self.settings.home))
            finally:
                await self._save_feed_state(fetcher)
        now = datetime.now(UTC)
        report = await self._db(
            lambda s: ingest_releases(s, result.packages, self.alerts, now, result.failed)
        )
        assert isinstance(report, IngestReport)
        report.errors = result.errors
        report.polled, report.failed = len(result.polled), len(result.failed)
        return report

    async def poll_feeds_logged(self) -> IngestReport:
        """``poll_feeds`` for ``serve``: failures logged in one line, and only when they
        change (a vendor down for a day is one warning, not one per package per poll)."""
        report = await self.poll_feeds()
        said = (report.failed, report.polled, report.errors[:1])
        if said != self._feed_errors_said:
            if report.errors:
                log.warning(
                    "release feeds: %d of %d packages could not be read (%d feeds failed), "
                    "e.g. %s",
                    report.failed, report.polled, len(report.errors), report.errors[0],
                )  # fmt: skip
            elif self._feed_errors_said[0]:
                log.info("release feeds: every feed read again")
            self._feed_errors_said = said
        return report

    async def _fetcher(self) -> Fetcher:
        rows = await self._db(releases.load_feed_state)
        assert isinstance(rows, dict)
        return Fetcher(self.feeds, cache=cache_from_rows(rows))

    async def _save_feed_state(self, fetcher: Fetcher) -> None:
        states = {
            url: FeedStateRow(e.etag, e.last_modified, e.failures, e.next_attempt_at, e.last_error)
            for url, e in fetcher.cache.items()
            if url in fetcher.touched
        }
        now = datetime.now(UTC)
        await self._db(lambda s: releases.save_feed_state(s, states, now))

    # inventories and fingerprints

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
                found = cms
                await self._db(lambda s: remember_cms(s, site_id, found, replacing=stored))
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

        changes = await self._db(store)
        assert isinstance(changes, InventoryDiff)
        return site_id, inventory, changes

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

        target = await self._db(load)
        assert isinstance(target, tuple)
        return target

    async def fingerprint_site(
        self, site_id: int, fingerprint: FingerprintFn | None = None
    ) -> Fingerprint:
        """Fingerprint one site from outside, as its check options say, and store it (its
        software, without inventory). ``fingerprint``: a run's shared one, else one for this.
        """
        if fingerprint is None:
            async with self.fingerprinter() as one_off:
                return await self.fingerprint_site(site_id, one_off)
        target = await self._db(lambda s: _fingerprint_target(s, site_id))
        assert isinstance(target, tuple)
        url, options = target
        result = await fingerprint(url, options)
        now = datetime.now(UTC)

        def store(session: Session) -> None:
            site = session.get(Site, site_id)
            if site is not None:
                inventories.store_fingerprint(session, site, result, now)
                matched = rematch(session, now, site_ids=[site_id])
                self.alerts.queue(session, matched.alerting(), now)  # as after an inventory

        await self._db(store)
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
        await self._db(lambda s: inventories.mark_attempted(s, kind, site_ids, now))
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


@dataclass(frozen=True)
class Schedule:
    """A periodic job for ``serve``."""

    name: str
    period: float
    action: Callable[[], Awaitable[object]]


def _fingerprint_target(session: Session, site_id: int) -> tuple[str, FingerprintOptions]:
    """The site's URL and what its stored check options say about fingerprinting it."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site {site_id}")
    check = CheckOptions.model_validate(site.check_options or {})
    return site.url, FingerprintOptions.from_check(check)

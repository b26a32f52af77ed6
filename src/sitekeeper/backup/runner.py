"""Backing sites up: mirror the files, dump the database, store both in restic, apply retention.

One site's backup (:func:`backup_site`) is: lock the site's staging
directory, open SSH (which pins the host key on first use), read the
database credentials from the CMS's config file (the CMS found over SSH if
none is stored yet: ``cms.detect``), rsync the docroot into the
mirror, stream the dump next to it, ``restic backup`` both, then forget and
prune by the plan's retention. Any failure is a ``backup.failed`` event (and
an alert); restic only writes a snapshot once all of its data is stored, so
earlier snapshots are never at risk, and the next run starts by clearing
stale locks. :func:`run_due_backups` is what the engine calls on a timer.

Over 400 lines because one backup's steps read top to bottom, in the order they run;
the due loop beside them is their only other caller.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import logging
import os
import posixpath
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sitekeeper.backup import repository
from sitekeeper.backup.errors import BackupError, RepositoryLocked
from sitekeeper.backup.identity import snapshot_host
from sitekeeper.backup.mirror import SshTransport, pull
from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.registry import DUMP_ENGINES
from sitekeeper.backup.repository import OpenRepository
from sitekeeper.backup.restic import Restic
from sitekeeper.cms.db_credentials import DbCredentials
from sitekeeper.cms.detect import confirm
from sitekeeper.cms.site_database import site_database
from sitekeeper.domain.backup_events import BackupEventKind
from sitekeeper.domain.plans import PlanOptions
from sitekeeper.errors import NoCms, SitekeeperError, UsageError
from sitekeeper.notify import messages, outbox
from sitekeeper.remote.access import SshAccess
from sitekeeper.remote.hostkeys import StoreHostKeyPins
from sitekeeper.remote.keys import remove_stale_keys, write_key_file
from sitekeeper.remote.ssh import SshConnection, connect
from sitekeeper.store import backups as queries
from sitekeeper.store import leases
from sitekeeper.store.backup_tables import MANUAL, SAFETY, SCHEDULED
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.leases import Leases
from sitekeeper.store.site_cms import remember_cms
from sitekeeper.store.sites import get_site
from sitekeeper.store.ssh_keys import ssh_login
from sitekeeper.store.tables import Site
from sitekeeper.vault import Vault

log = logging.getLogger(__name__)

Progress = Callable[[str, str], None]  # (site name, what is happening)
CONFIG_BYTES = 256 * 1024
FILES, DUMP = "files", "database.sql"
INTERRUPTED = "interrupted: the backup process stopped before finishing"
# Tags of snapshots someone asked for: kept manual_keep_days whatever the plan says.
KEPT_BY_PERSON = (MANUAL, SAFETY)
# A scheduled backup holds its site's lease while it runs; a crashed holder's lapses.
BACKUP_LEASE = timedelta(hours=12)


@dataclass(frozen=True)
class SiteInfo:
    """What a backup needs to know about a site, read in one short transaction."""

    id: int
    name: str
    backup_host: str  # Site.backup_host: the site's identity in the repository, for ever
    client_id: int | None
    cms: str | None
    access: SshAccess
    docroot: str
    repository: OpenRepository
    plan: PlanOptions | None
    private_key: str = field(default="", repr=False)  # from the vault, for this run only

    @property
    def restic_host(self) -> str:
        """The restic ``--host`` of this site's snapshots."""
        return snapshot_host(self.backup_host)


@dataclass(frozen=True)
class BackupOutcome:
    """One site's result in a run: a snapshot with figures, or the error."""

    site_id: int
    site: str
    run_id: int
    figures: queries.RunFigures | None
    error: str | None

    @property
    def ok(self) -> bool:
        """Whether a snapshot was stored."""
        return self.error is None


@dataclass
class BackupContext:
    """The shared pieces: store, vault, settings, host-key pins, a clock.

    ``worker``: this process's name on the leases of scheduled backups and drills
    (``settings.worker_name``; see ``store.leases``).
    """

    db: Database
    vault: Vault
    settings: BackupSettings
    alert_urls: Sequence[str] = ()
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    worker: str = field(default_factory=socket.gethostname)
    initialized: set[str] = field(default_factory=set)  # repositories known to exist
    _init_lock: asyncio.Lock | None = field(default=None, repr=False)

    @property
    def init_lock(self) -> asyncio.Lock:
        """Serialises repository creation within this context (made in the running loop)."""
        if self._init_lock is None:
            self._init_lock = asyncio.Lock()
        return self._init_lock

    @property
    def leases(self) -> Leases:
        """This worker's leases, on the context's clock."""
        return Leases(self.db, self.worker, self.clock)

    @property
    def pins(self) -> StoreHostKeyPins:
        """Host-key pins in the store (shared with every SSH user)."""
        return StoreHostKeyPins(self.db)

    def restic(self, repo: OpenRepository) -> Restic:
        """restic bound to ``repo`` with our cache directory."""
        return Restic(
            repo,
            binary=self.settings.restic_binary,
            cache_dir=self.settings.work_dir / "restic-cache",
        )

    @property
    def dbthread(self) -> DbThread:
        """Database work off the event loop (the aside lane: backups keep no writer thread)."""
        return DbThread(self.db)

    async def site_info(self, ref: str) -> SiteInfo:
        """Look the site up and resolve its repository and plan."""
        try:
            return await self.dbthread.session_aside(self._site_info_once, ref)
        except IntegrityError:  # a concurrent run made the default repository first
            return await self.dbthread.session_aside(self._site_info_once, ref)

    def _site_info_once(self, session: Session, ref: str) -> SiteInfo:
        site = get_site(session, ref)
        if not site.ssh:
            raise UsageError(f"site {site.name} has no SSH access; cannot back it up")
        access, private_key = ssh_login(session, self.vault, site)
        if not access.docroot:
            raise UsageError(f"site {site.name} has no docroot (--path) set")
        repo = repository.for_site(session, self.vault, site, self.settings.home)
        return SiteInfo(
            id=site.id,
            name=site.name,
            backup_host=site.backup_host,
            client_id=site.client_id,
            cms=site.cms,
            access=access,
            docroot=access.docroot,
            repository=repo,
            plan=queries.plan_options(site),
            private_key=private_key,
        )

    def transport(self, site: SiteInfo, host_key: str) -> SshTransport:
        """The OpenSSH command for the site, trusting only ``host_key``."""
        transport = SshTransport(
            access=site.access,
            host_key=host_key,
            known_hosts=self.settings.site_dir(site.id) / "known_hosts",
            io_timeout=self.settings.io_timeout,
            ssh_binary=self.settings.ssh_binary,
            bwlimit_kbps=self.settings.bwlimit_kbps,
            key_file=write_key_file(self.settings.site_dir(site.id), site.private_key),
        )
        transport.write_known_hosts()
        return transport

    async def open_site(self, site: SiteInfo) -> tuple[SshConnection, SshTransport]:
        """SSH via the one SSH layer (pinning the key on first use), and the matching transport."""
        conn = await connect(site.access, self.pins, private_key=site.private_key)
        pinned = await asyncio.to_thread(self.pins.get, site.access.host, site.access.port)
        if pinned is None:  # pragma: no cover - connect() pins before returning
            await conn.close()
            raise BackupError(f"{site.name}: host key was not pinned")
        return conn, self.transport(site, pinned.public_key)


@asynccontextmanager
async def site_lock(directory: Path) -> AsyncIterator[None]:
    """An exclusive, non-blocking lock on a site's staging directory.

    ``flock`` is released by the kernel when the holder dies, so a killed run
    never blocks the next one.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)  # noqa: ASYNC240 - local, instant
    fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"another backup of this site is running ({directory})") from None
        yield
    finally:
        os.close(fd)


async def read_credentials(conn: SshConnection, docroot: str, cms: str) -> DbCredentials | None:
    """The site's database credentials from its CMS's config file (``wp-config.php``,
    ``configuration.php``, ``settings.php``: ``cms.site_database``); None if it has none.
    A config file that is a symlink is not followed."""
    database = site_database(cms)
    root = docroot.rstrip("/") or "/"
    for relative in database.config_files:
        path = posixpath.normpath(posixpath.join(root, relative))
        entry = await conn.lstat(path)
        if entry is not None and entry.kind == "file":
            return database.credentials(await conn.read_file(path, CONFIG_BYTES))
    return None


async def site_cms(ctx: BackupContext, conn: SshConnection, site: SiteInfo) -> str | None:
    """The site's CMS: stored while its files are there, else found over SSH from its files
    and stored (None: no CMS sitekeeper knows, e.g. a static site, whose files are backed
    up alone)."""
    try:
        found = await confirm(conn, site.docroot, site.cms)
    except NoCms:
        return None
    if found != site.cms:
        await ctx.dbthread.session_aside(_remember_cms, ctx, site.id, found, site.cms)
    return found


def _remember_cms(
    session: Session, ctx: BackupContext, site_id: int, cms: str, replacing: str | None
) -> None:
    remember_cms(session, site_id, cms, replacing)


async def backup_site(
    ctx: BackupContext,
    ref: str,
    *,
    reason: str = MANUAL,
    apply_retention: bool = True,
    progress: Progress | None = None,
    snapshot_time: datetime | None = None,
    tags: Sequence[str] = (),
    locked: bool = False,
) -> BackupOutcome:
    """Back one site up; failures are recorded (journal, alert) and returned, not raised.

    ``snapshot_time`` overrides the snapshot's timestamp (benchmarks and
    retention tests that simulate days); ``tags`` are added to the snapshot's own (an
    update's safety snapshot names its run). ``locked``: the caller holds the job
    engine's lock of the site, so a run of the site still marked running is a dead
    worker's, whatever its lease says.
    """
    site = await ctx.site_info(ref)

    def say(what: str) -> None:
        if progress is not None:
            progress(site.name, what)

    staging = ctx.settings.site_dir(site.id)
    async with site_lock(staging):
        run_id = await ctx.dbthread.session_aside(_start, ctx, site, reason, locked)
        started = time.monotonic()
        try:
            figures = await _take(ctx, site, staging, (reason, *tags), say, snapshot_time)
        except SitekeeperError as exc:
            await ctx.dbthread.session_aside(_fail, ctx, run_id, str(exc))
            await ctx.leases.give_back([queries.run_lease(run_id)])
            say(f"failed: {exc}")
            return BackupOutcome(site.id, site.name, run_id, None, str(exc))
        except Exception as exc:
            await ctx.dbthread.session_aside(_fail, ctx, run_id, f"internal error: {exc!r}")
            await ctx.leases.give_back([queries.run_lease(run_id)])
            raise
        finally:
            (staging / DUMP).unlink(missing_ok=True)  # holds customer data; restic has it
            remove_stale_keys(staging)  # the key copy ssh read (we hold the site's lock)
        figures = queries.RunFigures(**{**figures.__dict__, "duration": time.monotonic() - started})
        await ctx.dbthread.session_aside(_finish, ctx, run_id, figures)
        say(f"stored snapshot {figures.snapshot_id[:8]}")
    await ctx.leases.give_back([queries.run_lease(run_id)])  # a killed run keeps it: recovery
    if apply_retention and site.plan is not None and reason != SAFETY:
        await apply_retention_policy(ctx, [site])
    return BackupOutcome(site.id, site.name, run_id, figures, None)


async def _take(  # noqa: PLR0917 - private step of backup_site
    ctx: BackupContext,
    site: SiteInfo,
    staging: Path,
    tags: Sequence[str],  # the reason first, then any the caller adds
    say: Callable[[str], None],
    snapshot_time: datetime | None,
) -> queries.RunFigures:
    say("connecting")
    conn, transport = await ctx.open_site(site)
    async with conn:
        cms = await site_cms(ctx, conn, site)
        creds = await read_credentials(conn, site.docroot, cms) if cms else None
    say("transferring files" + (" and dumping database" if creds else ""))
    # Files and dump travel on separate SSH connections at once; if one fails the
    # other is cancelled (and its rsync/ssh process killed).
    try:
        async with asyncio.TaskGroup() as group:
            files = group.create_task(
                pull(
                    transport,
                    site.docroot,
                    staging / FILES,
                    excludes=ctx.settings.excludes,
                    binary=ctx.settings.rsync_binary,
                )
            )
            dump = (
                group.create_task(
                    DUMP_ENGINES.get(creds.engine).dump(
                        transport, creds, staging / DUMP, timeout=ctx.settings.dump_timeout
                    )
                )
                if creds is not None
                else None
            )
    except* SitekeeperError as failed:
        raise failed.exceptions[0] from None
    stats, db_bytes = files.result(), dump.result() if dump is not None else 0
    paths = [FILES, DUMP] if dump is not None else [FILES]
    restic = ctx.restic(site.repository)
    say("storing in repository")
    await _prepare_repository(ctx, restic)
    store = functools.partial(
        restic.backup,
        staging,
        paths,
        host=site.restic_host,
        tags=["sitekeeper", site.backup_host, *tags],
        time=snapshot_time,
        on_progress=lambda status: say(f"storing {status.get('percent_done', 0):.0%}"),
    )
    try:
        summary = await store()
    except RepositoryLocked:
        # An exclusive lock (a killed prune or check) blocks backups; if its owner
        # is dead, unlock removes it and the backup goes ahead.
        await restic.unlock()
        summary = await store()
    return queries.RunFigures(
        snapshot_id=summary.snapshot_id,
        files=summary.files_total,
        files_new=summary.files_new,
        files_changed=summary.files_changed,
        bytes_total=summary.bytes_total,
        bytes_added=summary.bytes_added,
        bytes_transferred=stats.network_bytes,
        database_bytes=db_bytes,
        duration=summary.duration,
    )


async def _prepare_repository(ctx: BackupContext, restic: Restic) -> None:
    """Create the repository on first use, and clear stale locks once per process.

    Concurrent backups of one batch share a repository: the check-and-init is
    serialised, or two ``restic init`` could race on a fresh location. The
    first backup of a repository in this process also runs ``restic unlock``:
    a restic killed earlier (kill -9, a crash) left its lock, which would
    block the next prune or check. restic removes only stale locks -- of a
    process no longer running on this host, or not refreshed for 30 minutes
    -- so a live backup's lock stays. Later backups skip it (each restic
    start costs a key derivation, about half a second); the exclusive steps
    (prune) unlock first anyway.
    """
    location = restic.repo.location
    async with ctx.init_lock:
        if location not in ctx.initialized:
            if await restic.ensure_initialized():
                log.info("initialised backup repository %s", location)
            else:
                await restic.unlock()
            await ctx.dbthread.session_aside(_mark_initialized, ctx, restic.repo.id)
            ctx.initialized.add(location)


def _mark_initialized(session: Session, ctx: BackupContext, repository_id: int | None) -> None:
    queries.mark_initialized(session, repository_id)


def _start(
    session: Session, ctx: BackupContext, site: SiteInfo, reason: str, locked: bool = False
) -> int:
    """A ``running`` row, and the lease naming this worker as its runner (one transaction)."""
    now = ctx.clock()
    # We hold the site lock here, so a "running" row of this site is a run whose
    # process died -- unless another worker's live lease says it runs elsewhere (not
    # possible under the job engine's lock of the site).
    stale = queries.running_runs(session, site.id)
    elsewhere = (
        set()
        if locked
        else queries.leases_held_by_others(
            session, [queries.run_lease(i) for i in stale], [ctx.worker], now
        )
    )
    for run_id in stale:
        if queries.run_lease(run_id) not in elsewhere:
            queries.interrupt_run(session, run_id, INTERRUPTED, now)
    row = session.get(Site, site.id)
    assert row is not None
    run_id = queries.start_run(session, row, site.repository.id, reason, now).id
    leases.acquire(session.connection(), queries.run_lease(run_id), ctx.worker, now, BACKUP_LEASE)
    return run_id


def _fail(session: Session, ctx: BackupContext, run_id: int, error: str) -> None:
    """Journal the failure and queue its alert in the same transaction (both or neither)."""
    now = ctx.clock()
    event = queries.fail_run(session, run_id, error, now)
    site = session.get(Site, event.site_id) if event.site_id is not None else None
    if site is None:
        return
    outbox.enqueue_for_client(
        session,
        outbox.client_of(site),
        lambda client, language: messages.backup_failed(  # in the client's language
            site=site.name, url=site.url, error=error, client=client, language=language
        ),
        vault=ctx.vault,
        global_urls=ctx.alert_urls,
        event_id=event.id,
        now=now,
    )


def _finish(session: Session, ctx: BackupContext, run_id: int, figures: queries.RunFigures) -> None:
    queries.finish_run(session, run_id, figures, ctx.clock())


async def apply_retention_policy(ctx: BackupContext, sites: Sequence[SiteInfo]) -> dict[int, int]:
    """The plans' retention per repository, for these sites at once; then one prune.

    The plan's daily/weekly/monthly policy thins the *scheduled* snapshots
    (``restic forget --tag scheduled``). Manual snapshots and the safety copies
    taken before a restore are someone's deliberate choice: they are left out
    of it and kept ``manual_keep_days`` days from when they were taken, then
    forgotten (with 0 days the plan's policy applies to them too). Grouping
    sites that share a repository and a policy keeps it to one prune per group
    (prune takes the repository's exclusive lock, so it runs after a batch's
    backups, not between them). Returns removed snapshots per site; a failure
    is logged and retried on the next run.
    """
    groups: dict[tuple[str, int, int, int], list[SiteInfo]] = {}
    for site in sites:
        if site.plan is None:
            continue
        key = (
            site.repository.location,
            site.plan.keep_daily,
            site.plan.keep_weekly,
            site.plan.keep_monthly,
        )
        groups.setdefault(key, []).append(site)
    grace = ctx.settings.manual_keep_days
    planned = [SCHEDULED] if grace else []
    removed: dict[int, int] = {}
    for (_, daily, weekly, monthly), members in groups.items():
        restic = ctx.restic(members[0].repository)
        by_host = {s.restic_host: s for s in members}
        try:
            await restic.unlock()  # stale locks of killed runs would block the prune
            gone = await restic.forget(
                hosts=list(by_host),
                keep_daily=daily,
                keep_weekly=weekly,
                keep_monthly=monthly,
                tags=planned,
                prune=False,
            )
            if grace:
                cutoff = ctx.clock() - timedelta(days=grace)
                expired = [
                    s
                    for s in await restic.snapshots(hosts=list(by_host), tags=KEPT_BY_PERSON)
                    if s.time < cutoff
                ]
                await restic.forget_snapshots([s.id for s in expired], prune=False)
                for snap in expired:
                    gone.setdefault(snap.host, []).append(snap.id)
            if any(gone.values()):
                await restic.prune()
        except BackupError as exc:
            log.warning("retention not applied this time: %s", exc)
            continue
        await ctx.dbthread.session_aside(_record_pruned, ctx, by_host, gone)
        for host, ids in gone.items():
            removed[by_host[host].id] = len(ids)
    return removed


def _record_pruned(
    session: Session, ctx: BackupContext, by_host: dict[str, SiteInfo], gone: dict[str, list[str]]
) -> None:
    now = ctx.clock()
    for host, ids in gone.items():
        if not ids or host not in by_host:
            continue
        site = session.get(Site, by_host[host].id)
        if site is None:
            continue
        queries.mark_pruned(session, site.id, ids)
        queries.record_event(session, BackupEventKind.BACKUP_PRUNED, site, {"snapshots": ids}, now)


async def backup_sites(
    ctx: BackupContext,
    refs: Sequence[str],
    *,
    reason: str = MANUAL,
    progress: Progress | None = None,
    done: Callable[[BackupOutcome], None] | None = None,
) -> list[BackupOutcome]:
    """Back several sites up, at most ``settings.concurrency`` at once, then apply retention."""
    gate = asyncio.Semaphore(ctx.settings.concurrency)
    infos: list[SiteInfo] = []

    async def one(ref: str) -> BackupOutcome:
        async with gate:
            try:
                infos.append(await ctx.site_info(ref))
                outcome = await backup_site(
                    ctx, ref, reason=reason, apply_retention=False, progress=progress
                )
            except SitekeeperError as exc:  # no such site / no SSH / locked
                outcome = BackupOutcome(0, ref, 0, None, str(exc))
        if done is not None:
            done(outcome)
        return outcome

    outcomes = await asyncio.gather(*(one(ref) for ref in refs))
    ok_ids = {o.site_id for o in outcomes if o.ok}
    await apply_retention_policy(ctx, [i for i in infos if i.id in ok_ids])
    return list(outcomes)


async def run_due_backups(ctx: BackupContext) -> list[BackupOutcome]:
    """What the engine calls periodically: back up every site whose plan says it is due.

    Each site's lease is held during the run, so another ``serve`` process skips it.
    """

    def due(session: Session) -> list[int]:
        return queries.due_backups(session, ctx.clock())

    async with ctx.leases.claim("backup", BACKUP_LEASE, due) as site_ids:
        if not site_ids:
            return []
        return await backup_sites(ctx, [str(i) for i in site_ids], reason=SCHEDULED)

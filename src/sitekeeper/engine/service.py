"""`sitekeeper serve`: the embedded service — scheduler, in-process workers, housekeeping.

Every loop runs until one stop event is set; on stop the scheduler stops
claiming, running checks finish, and their results are flushed, so a restart
loses no incident state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from sitekeeper.backup.drill import run_due_drills
from sitekeeper.backup.options import BackupSettings
from sitekeeper.backup.recovery import recover as recover_backups
from sitekeeper.backup.runner import BackupContext, run_due_backups
from sitekeeper.config import Settings
from sitekeeper.domain.workers import SCHEDULE, Role
from sitekeeper.egress.policy import outbound_policy
from sitekeeper.engine.alerts import Alerter, queue_reminders
from sitekeeper.engine.check_runner import CheckRunner
from sitekeeper.engine.dispatch import for_database, runs_job_engine
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.engine.local import LocalDispatcher
from sitekeeper.engine.location_watch import watch_locations
from sitekeeper.engine.maintenance import check_summary, prune_tasks, rollup_and_prune
from sitekeeper.engine.periodic import Periodic
from sitekeeper.engine.presence import Presence
from sitekeeper.engine.recorder import Recorder
from sitekeeper.engine.report_jobs import ReportJobs
from sitekeeper.engine.scheduler import Scheduler
from sitekeeper.engine.stats import Stats, json_line, status_line
from sitekeeper.engine.tasks import TaskContext, TaskRunner
from sitekeeper.engine.waiting import wait_event
from sitekeeper.errors import SitekeeperError
from sitekeeper.notify.outbox import deliver_due
from sitekeeper.notify.registry import Notifiers
from sitekeeper.probes.registry import ProbeSet
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.leases import Granted, Leases
from sitekeeper.store.location_jobs import location_kind, sync_location_jobs
from sitekeeper.store.monitoring import count_down
from sitekeeper.store.users import purge_expired
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.policy import run_due_updates
from sitekeeper.updates.recover import recover_interrupted
from sitekeeper.vault import Vault

log = logging.getLogger(__name__)
LOCATION_PERIOD = 60.0  # seconds between syncs of a location's check jobs and silence watches
status_log = logging.getLogger("sitekeeper.status")


class Service:
    """Wires the engine's parts for one process and runs them until stopped."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        stats_interval: float | None = None,
        housekeeping_interval: float = 3600.0,
        delivery_interval: float = 5.0,
        software_intel: bool = True,
        backups: bool = True,
        backup_check_interval: float = 300.0,
        task_poll_interval: float = 3.0,
        report_interval: float = 600.0,
        plan_interval: float = 60.0,
        role: Role = Role.ALL,
        queues: tuple[str, ...] = (),
    ) -> None:
        """``software_intel``: also poll feeds, advisories, inventories, fingerprints.

        ``backups``: also run the backups and restore drills the plans make due.
        ``plan_interval``: seconds between the job engine's planning rounds (PostgreSQL).
        ``role``: which loops this process runs (``domain.workers.Role``); ``queues``: the
        job queues a worker takes jobs from (empty: all).
        """
        self.settings = settings
        self.db = db
        self.role = role
        self.vault = Vault.from_home(settings.home, settings.secret_key)
        self.stats = Stats()
        self.dbthread = DbThread(db)
        self.alerter = Alerter(settings.alert_urls)
        # Results carry where they were seen from; a plan's quorum decides on them together.
        self.recorder = Recorder(self.dbthread, self.alerter, location=settings.location)
        self.presence = Presence(self.dbthread, settings, role, queues)
        self.probe = ProbeSet.from_settings(settings)  # one probe per check kind
        self.runner = CheckRunner(
            self.dbthread,
            self.probe,
            self.recorder,
            self.stats,
            confirm_delay=settings.confirm_delay,
        )
        self.dispatcher = LocalDispatcher(self.runner, settings.concurrency)
        # The default location claims the shared ``check`` jobs; another, its own ones.
        self.scheduler = Scheduler(
            self.dbthread, self.dispatcher, kind=location_kind(settings.location)
        )
        self._stats_interval = stats_interval
        self._housekeeping_interval = housekeeping_interval
        self._delivery_interval = delivery_interval
        # Periodic work every serve process schedules runs in one of them (store.leases);
        # on PostgreSQL the job engine's locks do that, and a lease would outlive a
        # killed worker (store.leases.Granted).
        self.job_engine = runs_job_engine(db)
        self.leases = (Granted if self.job_engine else Leases)(db, settings.worker_name)
        self.intel = (
            IntelJobs(db, settings, vault=self.vault, leases=self.leases)
            if software_intel
            else None
        )
        self.backups = (
            BackupContext(
                db=db,
                vault=self.vault,
                settings=BackupSettings.from_settings(settings),
                alert_urls=settings.alert_urls,
                worker=settings.worker_name,
            )
            if backups
            else None
        )
        self._backup_check_interval = backup_check_interval
        # Client reports the plans make due, mailed once (the archive is the memory).
        self.reports = ReportJobs(self.dbthread, settings, self.leases)
        self._report_interval = report_interval
        self._plan_interval = plan_interval
        # Actions asked for from the API and the UI; the web layer calls tasks.wake().
        self.tasks = TaskRunner(
            TaskContext(
                settings=settings,
                dbthread=self.dbthread,
                vault=self.vault,
                checks=self.runner,
                recorder=self.recorder,
                intel_jobs=self.intel,
                backup_context=self.backups,
            ),
            concurrency=settings.task_concurrency,
            worker=settings.worker_name,
            poll_interval=task_poll_interval,
        )
        # What carries queued tasks to it: the runner's own claims (SQLite), or
        # procrastinate's jobs on PostgreSQL (engine.dispatch), which then also run the
        # scheduler's periodic work in place of this process's own loops.
        self.dispatch = for_database(
            db, self.tasks, settings, role=role, queues=queues, periodics=self.periodics()
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Run every loop until ``stop`` is set, then shut down in bounded time.

        On stop nothing new is claimed; running work gets ``stop_timeout`` seconds to
        finish and is cancelled after that (interrupted tasks are failed as such, a
        cancelled check simply runs at its next interval), then the results are flushed.
        """
        await self.presence.register()  # listed before any work starts
        if self.backups is not None and self.role is not Role.WEB:
            await recover_backups(self.backups)  # before any loop: what a killed serve left
        claiming, flushing = asyncio.Event(), asyncio.Event()
        recorder = asyncio.create_task(self.recorder.run(flushing), name="recorder")
        loops = [asyncio.create_task(self.presence.run(stop), name="presence")]
        if self.role.works:  # due check batches, claimed with the compare-and-set
            loops.append(asyncio.create_task(self.scheduler.run(claiming), name="scheduler"))
            loops.append(
                asyncio.create_task(
                    self._every(stop, LOCATION_PERIOD, self.sync_location_jobs), name="locations"
                )
            )
        interruptible: list[asyncio.Task[None]] = []
        if self.role.schedules and not self.job_engine:
            loops.extend(self._periodic_loops(stop, interruptible))
        if self.role.works or (self.role.schedules and self.job_engine):
            # Queued tasks (and, on the job engine, the periodic jobs): on stop the runner
            # cancels what still runs, marked interrupted.
            loops.append(asyncio.create_task(self.dispatch.work(stop), name="tasks"))
        if self._stats_interval and self.role is not Role.WEB:
            loops.append(
                asyncio.create_task(
                    self._every(stop, self._stats_interval, self._stats, wait_first=True),
                    name="status",
                )
            )
        await stop.wait()
        claiming.set()
        for task in interruptible:
            task.cancel()
        await self._wind_down([*loops, *interruptible])
        flushing.set()
        await recorder
        grace = self.settings.stop_timeout
        try:
            async with asyncio.timeout(grace):
                await self.deliver()
        except TimeoutError:
            log.warning("alerts still being sent after %gs were left for the next start", grace)
        await self.probe.aclose()
        self.dbthread.close()

    def periodics(self) -> tuple[Periodic, ...]:
        """The scheduler's periodic work as the job engine runs it (PostgreSQL): each
        deferred once per period across all schedulers, run by a worker of its queue.

        Due per-site work (backups, drills, inventories, scans...) is not run here but
        queued as one task per site by the planning round (``engine.planner``).
        """
        jobs = [
            Periodic("plan", self._plan_interval, SCHEDULE, self.plan),
            Periodic("delivery", self._delivery_interval, SCHEDULE, self.deliver),
            Periodic("housekeeping", self._housekeeping_interval, SCHEDULE, self.housekeeping),
            Periodic("location-watch", LOCATION_PERIOD, SCHEDULE, self.watch_locations),
            # Exclusive: two runs at once would mail a client's report twice.
            Periodic(
                "reports", self._report_interval, "reports", self.reports.send_due, exclusive=True
            ),
        ]
        if self.settings.alert_reminder_hours:
            jobs.append(Periodic("reminders", 60.0, SCHEDULE, self.remind))
        if self.backups is not None:  # runs whose worker died; the planner queues the rest
            jobs += [
                Periodic(
                    "updates-recover",
                    self._backup_check_interval,
                    "updates",
                    partial(self.run_updates, apply=False),
                ),
                Periodic(  # up to minutes at 100,000 sites (benchmarks §20): never two
                    "plan-updates",
                    self._backup_check_interval,
                    SCHEDULE,
                    partial(self.plan, policy=True),
                    exclusive=True,
                ),
            ]
        if self.intel is not None:
            feeds = self.intel.feeds
            jobs += [
                # Minutes of vendor requests each: never two at once.
                Periodic(
                    "intel-feeds",
                    feeds.poll_interval,
                    "feeds",
                    self.intel.poll_feeds_logged,
                    exclusive=True,
                ),
                Periodic(
                    "intel-advisories",
                    feeds.advisory_interval,
                    "feeds",
                    self.intel.refresh_advisories,
                    exclusive=True,
                ),
                Periodic(  # two at once would ask the registries twice per site
                    "domain-watch",
                    self._backup_check_interval,
                    "scans",
                    self.intel.domains_due,
                    exclusive=True,
                ),
            ]
            if feeds.hash_learn_interval:
                jobs.append(
                    Periodic(
                        "intel-hashes",
                        feeds.hash_learn_interval,
                        "feeds",
                        self.intel.learn_hashes,
                        exclusive=True,
                    )
                )
        return tuple(jobs)

    async def plan(self, policy: bool = False) -> None:
        """Queue the per-site work that is due, one task per site (``engine.planner``);
        ``policy``: only the updates the plans apply by themselves, which are looked up
        every few minutes, not every round: the look-up takes about 0.6 s per 1,000 sites
        with pending updates (benchmarks §20), and windows and deadlines are hours."""
        from sitekeeper.engine.planner import PLANNED, POLICY_UPDATE, plan_due  # noqa: PLC0415

        needs_backups = ("backup", "drill", POLICY_UPDATE)
        kinds = tuple(
            p
            for p in PLANNED
            if (p.kind == POLICY_UPDATE) == policy
            and (self.backups if p.kind in needs_backups else self.intel) is not None
        )
        if kinds:
            await self.dbthread.session_aside(plan_due, datetime.now(UTC), self.settings, kinds)

    def _periodic_loops(
        self, stop: asyncio.Event, interruptible: list[asyncio.Task[None]]
    ) -> list[asyncio.Task[None]]:
        """The scheduler role's loops: what decides what is due, housekeeping, delivery.

        Long ones that stop may cancel at once (backups, drills) go to ``interruptible``.
        """
        loops = [
            asyncio.create_task(
                self._every(stop, self._housekeeping_interval, self.housekeeping),
                name="housekeeping",
            ),
            asyncio.create_task(
                self._every(stop, self._delivery_interval, self.deliver), name="delivery"
            ),
        ]
        for job in self.intel.schedules() if self.intel else []:
            loops.append(
                asyncio.create_task(self._every(stop, job.period, job.action), name=job.name)
            )
        # Backups and drills can run for minutes; on stop they are cancelled, which
        # restic and the staging lock are built to survive (the next run resumes).
        if self.backups is not None:
            interruptible.append(
                asyncio.create_task(
                    self._every(stop, self._backup_check_interval, self.run_backups), name="backups"
                )
            )
            # Update runs whose process died (this one before its restart, or another),
            # then the updates the plans apply by themselves (one process schedules them).
            # On stop no new site is started and the runs under way get the grace period
            # (an update cut off mid-way leaves the site to the recovery at the next start).
            due = self.leases.periodic(
                "updates", self._backup_check_interval, partial(self.run_updates, stop)
            )
            loops.append(
                asyncio.create_task(
                    self._every(stop, self._backup_check_interval, due), name="updates"
                )
            )
        loops.append(
            asyncio.create_task(
                self._every(stop, self._report_interval, self.reports.send_due), name="reports"
            )
        )
        watch = self.leases.periodic("location-watch", LOCATION_PERIOD, self.watch_locations)
        loops.append(
            asyncio.create_task(self._every(stop, LOCATION_PERIOD, watch), name="location-watch")
        )
        if self.settings.alert_reminder_hours:
            remind = self.leases.periodic("reminders", 60.0, self.remind)
            loops.append(asyncio.create_task(self._every(stop, 60.0, remind), name="reminders"))
        return loops

    async def _wind_down(self, loops: list[asyncio.Task[None]]) -> None:
        """Give running work ``stop_timeout`` seconds, then cancel what is left."""
        grace = self.settings.stop_timeout
        running = [*loops, asyncio.create_task(self.dispatcher.drain(), name="checks")]
        if grace > 0:
            await asyncio.wait(running, timeout=grace)
        late = [t for t in running if not t.done()]
        if not late:
            return
        log.info(
            "stopping: cancelling what still runs after %gs: %s",
            grace,
            ", ".join(sorted(t.get_name() for t in late)),
        )
        self.dispatcher.cancel()
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _every(
        self,
        stop: asyncio.Event,
        period: float,
        action: Callable[[], object],
        *,
        wait_first: bool = False,
    ) -> None:
        """``action`` every ``period`` seconds until ``stop`` (the first one at once, or after
        a period with ``wait_first``: a status line about nothing yet says nothing)."""
        if wait_first and await wait_event(stop, period):
            return
        while not stop.is_set():
            try:
                result = action()
                if asyncio.iscoroutine(result):
                    await result
            except (SQLAlchemyError, SitekeeperError, OSError):
                # Housekeeping and delivery retry on their next period; the service
                # keeps monitoring meanwhile.
                log.exception(
                    "periodic task %s failed; retrying", getattr(action, "__name__", action)
                )
            if await wait_event(stop, period):
                return

    async def housekeeping(self) -> None:
        """Roll up complete days, prune raw results and old tasks, re-check the fleet summary."""
        today = datetime.now(UTC).date()
        await self.dbthread.session(rollup_and_prune, today, self.settings.raw_retention_days)
        # Seconds at 100,000 sites, mostly reading: on its own thread and session, so the
        # database thread keeps flushing check results meanwhile.
        await self.dbthread.session_aside(check_summary)
        await self.dbthread.session(
            prune_tasks, datetime.now(UTC), self.settings.task_retention_days
        )
        # Expired sessions and tokens, login throttle rows nobody needs any more.
        await self.dbthread.session(purge_expired, datetime.now(UTC))

    async def deliver(self) -> None:
        """Send due notifications (failures are retried by the outbox, never dropped)."""
        await deliver_due(
            self.db,
            self.vault,
            now=datetime.now(UTC),
            max_attempts=self.settings.notify_max_attempts,
            sender=Notifiers(egress=outbound_policy(self.settings)),
            global_urls=self.settings.alert_urls,
        )

    async def run_backups(self) -> None:
        """Back up the sites whose plan makes a backup due, then the due restore drills."""
        if self.backups is not None:
            await run_due_backups(self.backups)
            await run_due_drills(self.backups)

    async def run_updates(self, stop: asyncio.Event | None = None, *, apply: bool = True) -> None:
        """Settle the update runs no live process renews (``updates.recover``), then apply
        the updates the plans' policies make due (``updates.policy``) until ``stop``.

        On the job engine only the first (``apply=False``): there a killed worker's update
        is never run again but recovered here, and the planner queues the policies' updates
        one job per site.
        """
        if self.backups is None:
            return
        jobs = self.intel or IntelJobs(self.db, self.settings, vault=self.vault)
        ctx = UpdateContext.from_settings(
            self.settings, self.backups, reinventory=lambda i: jobs.inventory_site(str(i))
        )
        async with ctx:
            await recover_interrupted(ctx)
            if apply:
                await run_due_updates(ctx, concurrency=self.settings.update_concurrency, stop=stop)

    async def sync_location_jobs(self) -> None:
        """Check jobs of the sites this location should check besides the default one (a
        plan's ``check_locations``; plans, sites and live locations change under it)."""
        await self.dbthread.session(
            sync_location_jobs, self.settings.location, datetime.now(UTC).timestamp()
        )

    async def watch_locations(self) -> None:
        """One journal event and one agency alert per location that fell silent or is back."""
        await self.dbthread.session(
            partial(
                watch_locations,
                vault=self.vault,
                global_urls=self.settings.alert_urls,
                default_interval=self.settings.default_check_interval,
            ),
            datetime.now(UTC),
        )

    async def remind(self) -> None:
        """Queue reminders for incidents still open after the reminder period."""
        every = timedelta(hours=self.settings.alert_reminder_hours)
        await self.dbthread.session(queue_reminders, self.alerter, datetime.now(UTC), every)

    async def _stats(self) -> None:
        """The status line in words at INFO; the same figures as JSON at DEBUG."""
        figures = self.stats.snapshot()
        try:
            down: int | None = await self.dbthread.call(count_down)
        except SQLAlchemyError:
            down = None  # the line still says what was checked
        status_log.info("%s", status_line(figures, down))
        status_log.debug("%s", json_line(figures))

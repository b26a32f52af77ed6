"""One safe update of one site: preflight, package, safety snapshot, apply, health check,
rollback; every step journaled with its timing.

The order is the one that touches the site last: everything that can refuse (SSH, file
ownership, the site's health before, the package's checksums, free disk) runs before the
safety snapshot, and the snapshot before the CMS's upgrader. A site already broken is
refused unless ``force``: a rollback needs a good state to return to. The items of a run
are one change: if any of them fails to apply or the site fails its health check after
them, the whole run's scope (their folders, or the docroot for core, and the database)
goes back to the snapshot, so a database upgraded by one item never meets files put back
by another.

A run holds two leases while it works: its own (renewed; a process that dies stops
renewing it, which is how ``updates.recover`` finds the run after a restart) and its
site's (one update of a site at a time, whichever process asks).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from sitekeeper.backup.runner import Progress, SiteInfo
from sitekeeper.cms.protocol import Cms
from sitekeeper.cms.updater import SiteSource, Updater
from sitekeeper.domain.updates import Check, HealthReport, UpdateItem, VerifiedPackage
from sitekeeper.errors import SitekeeperError, UsageError
from sitekeeper.remote.as_owner import OwnerConnection
from sitekeeper.remote.ssh import SshConnection
from sitekeeper.store import updates as runs
from sitekeeper.store.update_tables import (
    APPLIED,
    FAILED,
    IN_PLACE,
    MANUAL,
    NEEDS_REVIEW,
    REFUSED,
    ROLLED_BACK,
)
from sitekeeper.updates import record
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.health import Baseline, Inside, check_after, check_before, load_checker
from sitekeeper.updates.health_opcache import reset_web_opcache
from sitekeeper.updates.packages import obtain
from sitekeeper.updates.plan import Plan, Refusal, Selection, plan
from sitekeeper.updates.preflight import disk_check, requirement_check, site_lease, sudo_check
from sitekeeper.updates.rollback import Scope, roll_back, scope_for
from sitekeeper.updates.snapshot import take_safety_snapshot
from sitekeeper.updates.target import SiteFacts, applicable, cms_of, site_facts
from sitekeeper.updates.visual_check import VisualCheck, folder_of, visual_threshold

NOTHING = "nothing"  # the plan had nothing to move: no run was started


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What one site's update came to (``status``: an update outcome, or ``nothing``)."""

    site: str
    site_id: int
    status: str
    run_id: int | None = None
    items: tuple[UpdateItem, ...] = ()
    refused: tuple[Refusal, ...] = ()
    steps: tuple[Check, ...] = ()
    reason: str | None = None  # why it did not apply
    state: str | None = None  # the state the site is left in, in words
    snapshot_id: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Everything asked for was applied (or there was nothing to do, nothing refused);
        an update that needs review is applied."""
        return self.status in (*IN_PLACE, NOTHING) and not self.refused


def site_plan(facts: SiteFacts, selection: Selection) -> Plan:
    """What ``selection`` moves on the site, with what its CMS cannot apply refused
    (PlanError: the selection itself is wrong)."""
    chosen = plan(facts.id, facts.rows, selection, platform=facts.cms_version)
    return applicable(chosen, cms_of(facts.cms), facts.cms)


async def update_site(
    ctx: UpdateContext,
    ref: str,
    selection: Selection,
    *,
    force: bool = False,
    trigger: str = MANUAL,
    requested_by: str | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    """Plan and run the update of one site; never raises for what happens on the site."""
    started = time.monotonic()
    facts = await ctx.backup.dbthread.session_aside(site_facts, ref)
    chosen = site_plan(facts, selection)
    cms = cms_of(facts.cms)
    if not chosen.items or cms is None or cms.updater is None:
        seconds = time.monotonic() - started
        return RunOutcome(facts.name, facts.id, NOTHING, refused=chosen.refused, seconds=seconds)
    run = _Run(ctx, facts, cms, cms.updater, chosen, selection, force, progress)
    return await run.go(trigger, requested_by)


class _Stop(Exception):
    """The run ends early with this outcome (a refusal before the site changed)."""

    def __init__(self, status: str, reason: str, state: str) -> None:
        super().__init__(reason)
        self.status, self.reason, self.state = status, reason, state


_UNTOUCHED = "unchanged: nothing on the site was touched"


@dataclass
class _Run:
    """One run's state while it works; each step is stored as soon as it finishes."""

    ctx: UpdateContext
    facts: SiteFacts
    cms: Cms
    updater: Updater
    plan: Plan
    selection: Selection  # what was asked (its pinned archive digests)
    force: bool
    progress: Progress | None
    run_id: int = 0
    steps: list[Check] = field(default_factory=list)
    snapshot_id: str | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def items(self) -> tuple[UpdateItem, ...]:
        return self.plan.items

    async def go(self, trigger: str, requested_by: str | None) -> RunOutcome:
        db = self.ctx.backup.dbthread
        now = self.ctx.backup.clock()
        self.run_id = await db.session_aside(
            record.start,
            self.facts.id,
            self.items,
            trigger=trigger,
            requested_by=requested_by,
            now=now,
        )
        async with self._leases() as held:
            unexpected: Exception | None = None
            try:
                if not held:
                    raise _Stop(REFUSED, "another update of this site is running", _UNTOUCHED)
                status, reason, state = await self._work()
            except _Stop as stop:
                status, reason, state = stop.status, stop.reason, stop.state
            except Exception as exc:  # the run is ended and journaled either way
                status, reason, state = self._stopped_by(exc)
                unexpected = None if isinstance(exc, SitekeeperError) else exc
            await db.session_aside(
                record.finish,
                self.run_id,
                status,
                vault=self.ctx.backup.vault,
                global_urls=self.ctx.backup.alert_urls,
                now=self.ctx.backup.clock(),
                reason=reason,
                state=state,
            )
        if unexpected is not None:
            raise unexpected
        self._say(f"{status}: {reason or state}")
        return RunOutcome(
            site=self.facts.name,
            site_id=self.facts.id,
            status=status,
            run_id=self.run_id,
            items=self.items,
            refused=self.plan.refused,
            steps=tuple(self.steps),
            reason=reason,
            state=state,
            snapshot_id=self.snapshot_id,
            seconds=time.monotonic() - self.started,
        )

    def _stopped_by(self, exc: Exception) -> tuple[str, str, str]:
        """An error no step expected: before the snapshot nothing on the site changed."""
        what = str(exc) if isinstance(exc, SitekeeperError) else f"internal error: {exc!r}"
        if self.snapshot_id is None:
            return REFUSED, what, _UNTOUCHED
        state = (
            f"unknown: the run stopped after the safety snapshot {self.snapshot_id[:8]}; "
            "check the site, and roll back from that snapshot if it is broken"
        )
        return FAILED, what, state

    @contextlib.asynccontextmanager
    async def _leases(self) -> AsyncIterator[bool]:
        """Hold the run's lease (renewed while it works) and the site's; yields whether
        the site was free. Given back at the end; after a kill -9 they lapse."""
        leases, ttl = self.ctx.leases, self.ctx.limits.lease_ttl
        names = [runs.run_lease(self.run_id), site_lease(self.facts.id)]
        taken = await leases.take(names, ttl)

        async def renew() -> None:
            while True:
                await asyncio.sleep(ttl.total_seconds() / 3)
                await leases.take(taken, ttl)

        renewer = asyncio.create_task(renew())
        try:
            yield site_lease(self.facts.id) in taken
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            await asyncio.shield(leases.give_back(taken))

    async def _work(self) -> tuple[str, str | None, str | None]:
        info = await self.ctx.backup.site_info(str(self.facts.id))
        self._say("preflight")
        try:
            conn, transport = await self.ctx.backup.open_site(info)
        except SitekeeperError as exc:
            await self._step(Check("ssh", False, str(exc)))
            raise _Stop(REFUSED, f"SSH: {exc}", _UNTOUCHED) from None
        async with conn, transport:
            await self._step(Check("ssh", True, f"logged in as {info.access.user}"))
            if isinstance(conn, OwnerConnection):
                sudo = await sudo_check(conn, info.access.user)
                await self._step(sudo)
                if not sudo.ok:
                    raise _Stop(REFUSED, sudo.detail, _UNTOUCHED)
            baseline = await self._preflight(conn, info)
            verified = await self._packages(conn, info)
            await self._snapshot()
            visual = await self._visual_before(baseline)
            failure = await self._apply(conn, info, verified, baseline)
        if failure is not None:
            return await self._roll_back(failure, baseline)
        review = await self._visual_after(visual)
        await self._inventory()
        if review is not None:
            state = "updated and healthy, but the home page looks different: a person should look"
            return NEEDS_REVIEW, review, state
        return APPLIED, None, "updated and healthy"

    async def _visual_before(self, baseline: Baseline) -> VisualCheck | None:
        """The plan's visual check, if it has one: the home page's screenshot before, of
        the site and the host its home page redirects to (as the health check saw it)."""
        db = self.ctx.backup.dbthread
        threshold = await db.session_aside(visual_threshold, self.facts.id)
        if threshold is None:
            return None
        self._say("screenshot")
        visual = VisualCheck(
            url=self.facts.url,
            threshold=threshold,
            folder=folder_of(self.ctx.screenshots, self.facts.id, self.run_id),
            chromium=self.ctx.limits.chromium,
            run_as=self.ctx.limits.browser_user,
            verify_tls=self.facts.trust.verify_tls and self.facts.trust.ca_bundle is None,
            also=(baseline.home_at,) if baseline.home_at else (),
        )
        await self._step(await visual.take_before())
        return visual

    async def _visual_after(self, visual: VisualCheck | None) -> str | None:
        """The screenshot after, compared; why the run needs review (None: it does not)."""
        if visual is None:
            return None
        self._say("visual check")
        verdict = await visual.judge_after()
        if verdict is None:
            return None
        await self._step(verdict.check)
        return f"the home page looks different: {verdict.check.detail}" if verdict.review else None

    async def _inventory(self) -> None:
        """Read what the site runs now, so its pending updates no longer list what moved."""
        if self.ctx.reinventory is None:
            return
        since = time.monotonic()
        try:
            await self.ctx.reinventory(self.facts.id)
        except SitekeeperError as exc:
            detail = f"the site's software could not be read again: {exc}"
            await self._step(Check("inventory", False, detail, _since(since)))
            return
        await self._step(Check("inventory", True, "the site's software read again", _since(since)))

    async def _preflight(self, conn: SshConnection, info: SiteInfo) -> Baseline:
        """File ownership per item, then the site's health; the baseline to compare with."""
        for item in self.items:
            owner = await self.updater.check_owner(conn, info.docroot, item)
            await self._step(replace(owner, name=f"owner {item.package}"))
            if not owner.ok:
                raise _Stop(REFUSED, owner.detail, _UNTOUCHED)
            for what, has, needed in (
                ("PHP", self.facts.php, self.facts.php_needed),
                ("database", self.facts.database, self.facts.db_needed),
            ):
                met = requirement_check(
                    item.label, what, has, needed(item.type, item.package, item.target)
                )
                await self._step(replace(met, name=f"requirements {item.package}"))
                if not met.ok:
                    raise _Stop(REFUSED, met.detail, _UNTOUCHED)
        report, baseline = await check_before(
            self.ctx.page_fetcher,
            self.facts.url,
            self.cms.health,
            keyword=self.facts.trust.keyword,
            usual_ms=self.facts.usual_ms,
            trust=self.facts.trust,
            inside=self._inside(conn, info.docroot),
        )
        await self._health_steps("before", report)
        if baseline is None:
            raise _Stop(REFUSED, "the site gave no answer before the update", _UNTOUCHED)
        if not report.ok and not self.force:
            why = _failed(report)
            raise _Stop(REFUSED, f"the site is not healthy before the update ({why}); "
                        "a rollback would have no good state to return to (--force to update "
                        "anyway)", _UNTOUCHED)  # fmt: skip
        await self.ctx.backup.dbthread.session_aside(
            runs.set_baseline, self.run_id, asdict(baseline)
        )
        return baseline

    async def _packages(self, conn: SshConnection, info: SiteInfo) -> list[VerifiedPackage]:
        """Each item's package, downloaded and verified here; then room for them there."""
        self._say("package")
        verified = []
        for item in self.items:
            since = time.monotonic()
            try:
                pinned = self.selection.pinned(item.package)
                if isinstance(self.updater, SiteSource):  # it reads the site first
                    source = await self.updater.site_package_source(
                        conn, info.docroot, item, self.ctx.vendor, sha256=pinned
                    )
                else:
                    source = self.updater.package_source(item, self.ctx.vendor, sha256=pinned)
                package = await obtain(item, source, self.ctx.package_fetcher, self.ctx.cache)
            except (SitekeeperError, UsageError) as exc:
                await self._step(Check(f"package {item.package}", False, str(exc), _since(since)))
                raise _Stop(REFUSED, f"package {item.label}: {exc}", _UNTOUCHED) from None
            detail = (
                f"{package.url}, sha256 {package.sha256[:16]}…, "
                f"checked against {package.checksum_source}"
            )
            await self._step(Check(f"package {item.package}", True, detail, _since(since)))
            verified.append(package)
        await self.ctx.backup.dbthread.session_aside(record.packages, self.run_id, verified)
        size = sum([await asyncio.to_thread(_size, p.path) for p in verified])
        limits = self.ctx.limits
        disk = await disk_check(conn, info.docroot, limits.disk_factor * size + limits.disk_margin)
        await self._step(disk)
        if not disk.ok:
            raise _Stop(REFUSED, disk.detail, _UNTOUCHED)
        return verified

    async def _snapshot(self) -> None:
        """No snapshot, no update."""
        self._say("safety snapshot")
        since = time.monotonic()
        try:
            snap = await take_safety_snapshot(
                self.ctx.backup, str(self.facts.id), f"update-{self.run_id}"
            )
        except SitekeeperError as exc:
            await self._step(Check("snapshot", False, str(exc), _since(since)))
            raise _Stop(REFUSED, f"no safety snapshot, so no update: {exc}", _UNTOUCHED) from None
        self.snapshot_id = snap.snapshot_id
        await self.ctx.backup.dbthread.session_aside(
            runs.set_snapshot, self.run_id, snap.snapshot_id
        )
        detail = f"snapshot {snap.snapshot_id[:8]}: {snap.files} files, "
        detail += f"database {snap.database_bytes} bytes"
        await self._step(Check("snapshot", True, detail, snap.seconds))

    async def _apply(
        self,
        conn: SshConnection,
        info: SiteInfo,
        verified: Sequence[VerifiedPackage],
        baseline: Baseline,
    ) -> str | None:
        """Each package with the CMS's own upgrader, then the health check; what failed."""
        pages, trust = self.ctx.page_fetcher, self.facts.trust

        async def reset() -> Check:
            return await reset_web_opcache(conn, info.docroot, self.facts.url, pages, trust=trust)

        for package in verified:
            self._say(f"apply {package.item.label}")
            result = await self.updater.apply(
                conn, info.docroot, self.facts.url, package, reset_opcache=reset
            )
            for check in result.checks:
                await self._step(replace(check, name=f"{package.item.package}: {check.name}"))
            if not result.ok:
                bad = "; ".join(f"{c.name}: {c.detail}" for c in result.checks if not c.ok)
                return f"{package.item.label} did not apply: {bad}"
        self._say("health check")
        report = await check_after(
            pages, baseline, self.cms.health, trust=trust, inside=self._inside(conn, info.docroot)
        )
        await self._health_steps("after", report)
        return (
            None
            if report.ok
            else f"the site fails its health check after the update: {_failed(report)}"
        )

    async def _roll_back(self, failure: str, baseline: Baseline) -> tuple[str, str, str]:
        """Put the run's scope back from the snapshot; the outcome and the site's state."""
        self._say("rollback")
        assert self.snapshot_id is not None  # apply runs only after the snapshot
        result = await roll_back(
            self.ctx.backup,
            str(self.facts.id),
            self.snapshot_id,
            run_scope(self.items, self.cms),
            markers=self.cms.health,
            fetcher=self.ctx.page_fetcher,
            baseline=baseline,
            trust=self.facts.trust,
            loader=load_checker(self.updater),
        )
        for check in result.steps:
            await self._step(replace(check, name=f"rollback: {check.name}"))
        if result.health is not None:
            await self._health_steps("after rollback", result.health)
        return (ROLLED_BACK if result.ok else FAILED), failure, result.state

    def _inside(self, conn: SshConnection, docroot: str) -> Inside:
        return Inside(conn, docroot, load_checker(self.updater))

    async def _health_steps(self, when: str, report: HealthReport) -> None:
        for check in report.checks:
            await self._step(replace(check, name=f"health {when}: {check.name}"))

    async def _step(self, check: Check) -> None:
        self.steps.append(check)
        await self.ctx.backup.dbthread.session_aside(record.step, self.run_id, check)

    def _say(self, what: str) -> None:
        if self.progress is not None:
            self.progress(self.facts.name, what)


def run_scope(items: Sequence[UpdateItem], cms: Cms) -> Scope:
    """What a rollback of these items puts back: their folders, or the whole docroot if
    any of them lives in several places (core); the database always."""
    scopes = [scope_for(item, cms.health) for item in items]
    if any(not scope.paths for scope in scopes):
        return Scope()
    return Scope(tuple(dict.fromkeys(path for scope in scopes for path in scope.paths)))


def _failed(report: HealthReport) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in report.failed) or "no check passed"


def _size(path: str) -> int:
    return Path(path).stat().st_size


def _since(started: float) -> float:
    return time.monotonic() - started

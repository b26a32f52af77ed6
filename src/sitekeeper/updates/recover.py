"""Update runs whose process died (kill -9, a crash, a power cut), found and settled.

A live run renews its lease (``update:<run id>``) every few minutes; a run still marked
``running`` whose lease this process can take has no process behind it any more. Such a
run is never re-run blindly. Instead: the CMS's maintenance flags are cleared, the web
server's opcode cache is reset, and the site is health-checked (against the baseline the
run stored, when it got that far). A healthy site is left as it is; a broken one is
rolled back from the run's safety snapshot; a broken one without a snapshot was broken
before the update touched anything (the snapshot precedes every change), and the journal
says so. Either way the run ends ``interrupted`` with the state the site is in, and the
client's channels hear of it.

``serve`` runs this at its start and then periodically (another process may be the one
that died); ``sitekeeper update`` runs it before its own runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from sitekeeper.cms.protocol import Cms
from sitekeeper.cms.updater import MaintenanceSwitch
from sitekeeper.domain.updates import Check, HealthReport, UpdateItem
from sitekeeper.errors import SitekeeperError
from sitekeeper.store import updates as runs
from sitekeeper.store.update_tables import INTERRUPTED
from sitekeeper.updates import record
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.health import Baseline, Inside, check_after, check_before, load_checker
from sitekeeper.updates.health_judge import PageBaseline
from sitekeeper.updates.health_opcache import reset_web_opcache
from sitekeeper.updates.rollback import roll_back
from sitekeeper.updates.rollback_steps import clear_flags
from sitekeeper.updates.run import run_scope
from sitekeeper.updates.target import SiteFacts, cms_of, site_facts

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stranded:
    """A run left ``running``, as recovery needs it."""

    id: int
    site_id: int
    items: tuple[UpdateItem, ...]
    snapshot_id: str | None
    baseline: Baseline | None
    last_step: str | None


@dataclass(frozen=True, slots=True)
class Recovered:
    """What recovery found and did for one run."""

    run_id: int
    site: str
    reason: str
    state: str


def stranded(session: Session) -> list[Stranded]:
    """Every run still marked ``running`` (some may be alive in another process)."""
    return [
        Stranded(
            id=run.id,
            site_id=run.site_id,
            items=tuple(_item(i) for i in run.items),
            snapshot_id=run.snapshot_id,
            baseline=baseline_from(run.baseline),
            last_step=run.steps[-1]["name"] if run.steps else None,
        )
        for run in runs.running(session)
    ]


def baseline_from(stored: dict[str, Any] | None) -> Baseline | None:
    """The baseline as ``dataclasses.asdict`` stored it (None if none, or unreadable)."""
    if not stored:
        return None
    try:
        return Baseline(
            url=stored["url"],
            home=PageBaseline(**stored["home"]),
            login=PageBaseline(**stored["login"]),
            keyword=stored.get("keyword"),
            usual_ms=stored.get("usual_ms"),
            home_at=stored.get("home_at", ""),
        )
    except (KeyError, TypeError):
        return None


async def recover_interrupted(ctx: UpdateContext) -> list[Recovered]:
    """Settle every run whose process is gone; the runs alive elsewhere are left alone."""
    found = await ctx.backup.dbthread.session_aside(stranded)
    settled = []
    for run in found:
        lease = runs.run_lease(run.id)
        if not await ctx.leases.take([lease], ctx.limits.lease_ttl):
            continue  # its process still renews the lease
        try:
            settled.append(await _settle(ctx, run))
        except Exception:
            log.exception("recovering update run %s failed; it stays running", run.id)
        finally:
            await ctx.leases.give_back([lease])
    return settled


async def _settle(ctx: UpdateContext, run: Stranded) -> Recovered:
    facts = await ctx.backup.dbthread.session_aside(site_facts, str(run.site_id))
    after = f" after its step {run.last_step!r}" if run.last_step else " before its first step"
    reason = f"sitekeeper stopped during the run{after}"
    state = await _check_and_repair(ctx, run, facts, cms_of(facts.cms))
    await ctx.backup.dbthread.session_aside(
        record.finish,
        run.id,
        INTERRUPTED,
        vault=ctx.backup.vault,
        global_urls=ctx.backup.alert_urls,
        now=ctx.backup.clock(),
        reason=reason,
        state=state,
    )
    log.warning("update run %s of %s was interrupted: %s", run.id, facts.name, state)
    return Recovered(run.id, facts.name, reason, state)


async def _check_and_repair(
    ctx: UpdateContext, run: Stranded, facts: SiteFacts, cms: Cms | None
) -> str:
    """Flags off, caches reset, health checked, rolled back if broken: the state, in words."""
    if cms is None:
        return "unknown: the site's CMS is not known to this sitekeeper, so it was not checked"

    async def step(check: Check) -> None:
        named = Check(f"recovery: {check.name}", check.ok, check.detail, check.seconds)
        await ctx.backup.dbthread.session_aside(record.step, run.id, named)

    try:
        info = await ctx.backup.site_info(str(run.site_id))
        conn, transport = await ctx.backup.open_site(info)
    except SitekeeperError as exc:
        await step(Check("ssh", False, str(exc)))
        return f"unknown: the site could not be reached over SSH to check it ({exc})"
    async with conn, transport:
        await step(await clear_flags(conn, info.docroot, cms.health))
        if isinstance(cms.updater, MaintenanceSwitch):  # a flag that is not a file
            await step(await cms.updater.lift_maintenance(conn, info.docroot))
        pages = ctx.page_fetcher
        await step(await reset_web_opcache(conn, info.docroot, facts.url, pages, trust=facts.trust))
        inside = Inside(conn, info.docroot, load_checker(cms.updater))
        report = await _health(ctx, inside, run, facts, cms)
    for check in report.checks:
        await step(Check(f"health: {check.name}", check.ok, check.detail, check.seconds))
    if report.ok:
        return (
            "healthy when checked after the restart; the journal's steps say how far the update got"
        )
    failed = "; ".join(f"{c.name}: {c.detail}" for c in report.failed)
    if run.snapshot_id is None or run.baseline is None:
        return (
            f"broken ({failed}), but not by this update: it stopped before its safety "
            "snapshot, and nothing is changed before that"
        )
    result = await roll_back(
        ctx.backup,
        str(run.site_id),
        run.snapshot_id,
        run_scope(run.items, cms),
        markers=cms.health,
        fetcher=ctx.page_fetcher,
        baseline=run.baseline,
        trust=facts.trust,
        loader=load_checker(cms.updater),
    )
    for check in result.steps:
        await step(Check(f"rollback: {check.name}", check.ok, check.detail, check.seconds))
    return f"was broken after the restart ({failed}); {result.state}"


async def _health(
    ctx: UpdateContext, inside: Inside, run: Stranded, facts: SiteFacts, cms: Cms
) -> HealthReport:
    if run.baseline is not None:
        return await check_after(
            ctx.page_fetcher, run.baseline, cms.health, trust=facts.trust, inside=inside
        )
    report, _ = await check_before(
        ctx.page_fetcher,
        facts.url,
        cms.health,
        keyword=facts.trust.keyword,
        trust=facts.trust,
        inside=inside,
    )
    return report


def _item(stored: dict[str, Any]) -> UpdateItem:
    return UpdateItem(
        type=str(stored.get("type")),
        package=str(stored.get("package")),
        installed=str(stored.get("installed")),
        target=str(stored.get("target")),
        ecosystem=str(stored.get("ecosystem")),
        security=bool(stored.get("security")),
    )

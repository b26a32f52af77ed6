"""Updates a plan applies by itself: which pending updates are due on which site, and the
``serve`` job that runs them a few sites at a time.

The plan's ``update_policy`` says what needs no person: ``security`` — an update on the
installed branch that fixes a vulnerability (a fix only in a major release waits for a
person); ``minor`` — every update on the installed branch; ``all`` — majors too; ``none``
— nothing. What a policy would apply and did not is not retried blindly: after a run of
it was rolled back, failed or was interrupted, the same package and target wait for a
person (the alert said so); after a refusal (the site was down, the disk full, a package
failed its checksums) it is tried again after ``RETRY_REFUSED``, and so is one applied
while the site's inventory (read again after every applied run) still lists it.
Maintenance windows, the hours-after-release deadline, holds per extension and the
approval queue are not built yet (issue 10, point 3).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sitekeeper.store import findings
from sitekeeper.store import updates as runs
from sitekeeper.store.backups import plan_options
from sitekeeper.store.sites import list_sites
from sitekeeper.store.update_tables import (
    APPLIED,
    FAILED,
    INTERRUPTED,
    POLICY,
    REFUSED,
    ROLLED_BACK,
)
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.fleet import update_fleet
from sitekeeper.updates.plan import Selection
from sitekeeper.updates.run import RunOutcome, site_plan
from sitekeeper.updates.target import site_facts

log = logging.getLogger(__name__)

RETRY_REFUSED = timedelta(hours=6)
NEEDS_A_PERSON = frozenset({ROLLED_BACK, FAILED, INTERRUPTED})
SELECTIONS = {
    "security": Selection(security=True, branch_only=True),
    "minor": Selection(branch_only=True),
    "all": Selection(everything=True),
}


@dataclass(frozen=True, slots=True)
class Due:
    """One site whose plan applies some of its pending updates now."""

    site_id: int
    selection: Selection  # names the packages, so what is held stays out of the run


def policy_selection(policy: str) -> Selection | None:
    """What a plan's ``update_policy`` applies by itself (None: nothing)."""
    return SELECTIONS.get(policy)


def due_updates(session: Session, now: datetime) -> list[Due]:
    """The sites (with SSH access and a plan that updates) with updates due by policy."""
    sites = [s for s in list_sites(session) if s.ssh]
    wanted: dict[int, Selection] = {}
    for site in sites:
        options = plan_options(site)
        selection = policy_selection(options.update_policy) if options else None
        if selection is not None:
            wanted[site.id] = selection
    if not wanted:
        return []
    pending = {row.site_id for row in findings.update_rows(session, site_ids=list(wanted))}
    held = _held(session, [i for i in wanted if i in pending], now)
    due = []
    for site_id in sorted(pending & set(wanted)):
        facts = site_facts(session, str(site_id))
        chosen = site_plan(facts, wanted[site_id])
        items = [i for i in chosen.items if (site_id, i.package, i.target) not in held]
        if not items:
            continue
        selection = Selection(
            core=any(i.type == "core" for i in items),
            plugins=tuple(i.package for i in items if i.type == "plugin"),
            themes=tuple(i.package for i in items if i.type == "theme"),
            security=wanted[site_id].security,
            branch_only=wanted[site_id].branch_only,
        )
        due.append(Due(site_id, selection))
    return due


def _held(session: Session, site_ids: Iterable[int], now: datetime) -> set[tuple[int, str, str]]:
    """(site, package, target) a policy run already tried and must not try again now."""
    ids = list(site_ids)
    if not ids:
        return set()
    held = set()
    for run in runs.policy_runs(session, ids):
        # recently applied: the inventory that would show it may not have been read yet
        recent = run.status in (REFUSED, APPLIED) and run.started_at > now - RETRY_REFUSED
        if run.status in NEEDS_A_PERSON or recent:
            held |= {(run.site_id, str(i.get("package")), str(i.get("target"))) for i in run.items}
    return held


async def run_due_updates(ctx: UpdateContext, *, concurrency: int) -> list[RunOutcome]:
    """Apply what the plans apply by themselves, ``concurrency`` sites at a time."""
    now = ctx.backup.clock()
    due = await ctx.backup.dbthread.session_aside(due_updates, now)
    outcomes = await update_fleet(
        ctx,
        [(d.site_id, d.selection) for d in due],
        concurrency=concurrency,
        trigger=POLICY,
        requested_by="policy",
    )
    for outcome in outcomes:
        log.info("policy update of %s: %s", outcome.site, outcome.status)
    return outcomes

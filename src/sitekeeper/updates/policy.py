"""Updates a plan applies by itself or a person approved: which are due on which site,
what waits for approval, and the ``serve`` job that runs them a few sites at a time.

The plan's ``update_policy`` says what needs no person: ``security`` — an update on the
installed branch that fixes a vulnerability; ``minor`` — every update on the installed
branch; ``all`` — majors too; ``none`` — nothing (and nothing is queued: updates by hand
only). Every other pending update of a site with a policy waits in the approval queue
(``store.update_approvals``; ``sitekeeper approvals``) at its newest release; an approved
one is applied by the next policy run, to exactly the approved version. A hold keeps the
policy (and the queue) away from one extension of one site.

What a policy run tried is not retried blindly: after a run of it was rolled back,
failed or was interrupted, the same package and target wait for a person (the alert
said so); after a refusal (the site was down, the disk full, a package failed its
checksums) it is tried again after ``RETRY_REFUSED``, and so is one applied while the
site's inventory (read again after every applied run) still lists it.

A plan's maintenance window (``update_window``, in the client's time zone) holds policy
and approved updates until it opens, except a security update whose deadline — first
seen plus ``security_within_hours`` — comes before the window opens: that one is
applied at once. An update whose package cannot be verified without a person's pinned
digest (a WordPress theme) is left to a person: neither applied nor queued.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sitekeeper.cms.updater import Updater
from sitekeeper.domain.findings import UPDATE
from sitekeeper.domain.update_windows import parse_window
from sitekeeper.domain.updates import UpdateItem
from sitekeeper.errors import UsageError
from sitekeeper.store import findings
from sitekeeper.store import update_approvals as queue
from sitekeeper.store import updates as runs
from sitekeeper.store.backups import plan_options
from sitekeeper.store.sites import list_sites
from sitekeeper.store.tables import Site
from sitekeeper.store.update_tables import (
    APPLIED,
    APPROVED,
    FAILED,
    INTERRUPTED,
    POLICY,
    REFUSED,
    ROLLED_BACK,
    SUPERSEDED,
    UpdateApproval,
)
from sitekeeper.timezones import zone
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.fleet import update_fleet
from sitekeeper.updates.plan import Selection
from sitekeeper.updates.run import RunOutcome, site_plan
from sitekeeper.updates.target import cms_of, site_facts

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
    selection: Selection  # the exact items, so what is held stays out of the run
    approvals: tuple[int, ...] = ()  # the approved updates among them


def policy_selection(policy: str) -> Selection | None:
    """What a plan's ``update_policy`` applies by itself (None: nothing)."""
    return SELECTIONS.get(policy)


def due_updates(session: Session, now: datetime) -> list[Due]:
    """The sites (with SSH access and a plan that updates) with updates due by policy or
    approved by a person; what the policy leaves to a person is queued for approval."""
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
    ids = sorted(pending & set(wanted))
    tried = _held(session, ids, now)
    held = {(h.site_id, h.type, h.package) for h in queue.holds(session, ids)}
    open_ = queue.approvals(session, site_ids=ids)
    first_seen = {
        (f.site_id, f.type, f.package): f.opened_at
        for f in findings.open_findings(session, (UPDATE,), site_ids=ids)
    }
    timing = {site.id: _timing(site, now) for site in sites if site.id in wanted}
    due = []
    for site_id in ids:
        facts = site_facts(session, str(site_id))
        updater = cms.updater if (cms := cms_of(facts.cms)) else None
        auto = [i for i in site_plan(facts, wanted[site_id]).items if _verifiable(updater, i)]
        newest = [
            i for i in site_plan(facts, Selection(everything=True)).items if _verifiable(updater, i)
        ]
        approved = {
            (a.type, a.package, a.target): a.id
            for a in open_
            if a.site_id == site_id and a.status == APPROVED
        }
        chosen: dict[tuple[str, str], UpdateItem] = {}
        for item in auto:
            chosen[(item.type, item.package)] = item
        for item in newest:
            if (site_id, item.type, item.package) in held:
                continue  # held back: nothing to ask anyone either
            key = (item.type, item.package, item.target)
            if key in approved:
                chosen[(item.type, item.package)] = item  # a person's yes: the newer target
            elif item not in auto:
                queue.request(session, site_id, item, now)
        _supersede_gone(open_, site_id, {(i.type, i.package, i.target) for i in newest})
        opens_at, within = timing[site_id]
        items = [
            i
            for i in chosen.values()
            if (site_id, i.type, i.package) not in held
            and (site_id, i.package, i.target) not in tried
            and _in_time(i, opens_at, first_seen.get((site_id, i.type, i.package)), within, now)
        ]
        if items:
            exact = tuple((i.type, i.package, i.target) for i in items)
            ids_done = tuple(approved[k] for k in exact if k in approved)
            due.append(Due(site_id, Selection(exact=exact), ids_done))
    return due


def _verifiable(updater: Updater | None, item: UpdateItem) -> bool:
    """Whether the package can be checked without a person's pinned digest (a WordPress
    theme cannot: no vendor checksums). Such an update is left to a person with the
    digest (``update --sha256``), never tried and refused by a policy every few hours."""
    if updater is None:
        return False
    try:
        updater.package_source(item, {})
    except UsageError:
        return False
    return True


def _timing(site: Site, now: datetime) -> tuple[datetime, timedelta]:
    """When the site's maintenance window opens next (now if open or none), and how soon
    after its release a security update must be on the site."""
    options = plan_options(site)
    within = timedelta(hours=options.security_within_hours if options else 4)
    if options is None or not options.update_window:
        return now, within
    local = now.astimezone(zone(site.client.timezone if site.client else "UTC"))
    return parse_window(options.update_window).next_opening(local), within


def _in_time(
    item: UpdateItem,
    opens_at: datetime,
    seen: datetime | None,
    within: timedelta,
    now: datetime,
) -> bool:
    """Due now: inside the window; outside it, a security update whose deadline (first
    seen + the plan's hours) comes before the window opens."""
    if opens_at <= now:
        return True
    return item.security and (seen is None or seen + within <= opens_at)


def _supersede_gone(
    open_: list[UpdateApproval], site_id: int, pending: set[tuple[str, str, str]]
) -> None:
    """An open approval whose update is no longer pending (applied by hand, or a newer
    release came) has nothing left to decide."""
    for approval in open_:
        if (
            approval.site_id == site_id
            and (approval.type, approval.package, approval.target) not in pending
        ):
            approval.status = SUPERSEDED


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
    done = {d.site_id: d.approvals for d in due if d.approvals}
    for outcome in outcomes:
        if outcome.status == APPLIED and outcome.run_id and outcome.site_id in done:
            await ctx.backup.dbthread.session_aside(
                queue.mark_applied, done[outcome.site_id], outcome.run_id
            )
    for outcome in outcomes:
        log.info("policy update of %s: %s", outcome.site, outcome.status)
    return outcomes

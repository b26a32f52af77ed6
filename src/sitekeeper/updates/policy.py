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

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
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
from sitekeeper.store.findings import UPDATE_KINDS, UpdateRow
from sitekeeper.store.plans import PlannedSite, planned_sites
from sitekeeper.store.tables import Site
from sitekeeper.store.update_tables import (
    APPROVED,
    FAILED,
    IN_PLACE,
    INTERRUPTED,
    PENDING,
    POLICY,
    REFUSED,
    REJECTED,
    ROLLED_BACK,
    SUPERSEDED,
    UpdateApproval,
)
from sitekeeper.timezones import zone
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.fleet import update_fleet
from sitekeeper.updates.plan import Selection, plan
from sitekeeper.updates.run import RunOutcome, update_site
from sitekeeper.updates.target import applicable, cms_of

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


@dataclass(frozen=True, slots=True)
class Scheduled:
    """One update a plan will apply by itself (or a person approved), and when."""

    site_id: int
    item: UpdateItem
    at: datetime  # now, or when the plan's maintenance window opens
    approval: int | None = None  # the approval behind it, if a person said yes


@dataclass(slots=True)
class PolicySchedule:
    """What the policies do next: the updates they will apply and when, and the
    changes to the approval queue that go with it (made by ``due_updates``)."""

    scheduled: list[Scheduled] = field(default_factory=list)
    to_ask: list[tuple[int, UpdateItem]] = field(default_factory=list)
    gone: list[UpdateApproval] = field(default_factory=list)  # nothing left to decide


@dataclass(frozen=True, slots=True)
class _PolicySite:
    """A site whose plan applies updates by itself, and what it applies."""

    site: PlannedSite
    selection: Selection

    @property
    def id(self) -> int:
        return self.site.id


# Sites looked at together: bounds the rows held at once and the ids in one query
# (PostgreSQL takes at most 65,535 parameters in one statement).
CHUNK = 5_000


def schedule(
    session: Session, now: datetime, client_id: int | None = None, site: Site | None = None
) -> PolicySchedule:
    """Every update the plans (of sites with SSH access; of one client's, or of one
    site) will apply by themselves or a person approved, with when; reads only (the
    dashboard shows it)."""
    plan_ = PolicySchedule()
    sites = _policy_sites(session, client_id, site.id if site is not None else None)
    if len(sites) > CHUNK:
        # A fleet: most sites have nothing pending and nothing waiting for a person, so
        # they are left out at once (two reads over the whole fleet, not worth it for
        # one site's page or one client's).
        pending = findings.sites_with_open(session, UPDATE_KINDS) | queue.sites_with_open(session)
        sites = [s for s in sites if s.id in pending]
    for start in range(0, len(sites), CHUNK):
        _schedule_chunk(session, now, sites[start : start + CHUNK], plan_)
    return plan_


def _policy_sites(
    session: Session, client_id: int | None, site_id: int | None
) -> list[_PolicySite]:
    """The sites (of one client, or one) with SSH access whose plan applies updates by
    itself."""
    sites = []
    for planned in planned_sites(session, client_id=client_id, site_id=site_id):
        selection = policy_selection(planned.options.update_policy)
        if selection is not None and planned.ssh:
            sites.append(_PolicySite(planned, selection))
    return sites


def _schedule_chunk(
    session: Session, now: datetime, sites: list[_PolicySite], plan_: PolicySchedule
) -> None:
    """``schedule`` for some sites, added to ``plan_``."""
    rows: dict[int, list[UpdateRow]] = {}
    for row in findings.update_rows(session, site_ids=[s.id for s in sites]):
        rows.setdefault(row.site_id, []).append(row)
    ids = sorted(s.id for s in sites)
    tried = _held(session, ids, now)
    held = {(h.site_id, h.type, h.package) for h in queue.holds(session, ids)}
    asked = queue.approvals(session, statuses=(*queue.OPEN, REJECTED), site_ids=ids)
    open_: dict[int, list[UpdateApproval]] = {}
    for a in asked:
        if a.status in queue.OPEN:
            open_.setdefault(a.site_id, []).append(a)
    # What a person was asked already, as the only open question on its package: asking
    # again would change nothing (a query per update per round, at 10,000 sites with one).
    settled = _settled(asked)
    first_seen = findings.first_seen(session, UPDATE, ids)
    by_id = {site.id: site for site in sites}
    for site_id in ids:
        site = by_id[site_id]
        auto = _automatic(site.site, rows.get(site_id, []), site.selection)
        newest = _automatic(site.site, rows.get(site_id, []), Selection(everything=True))
        approved = {
            (a.type, a.package, a.target): a.id
            for a in open_.get(site_id, ())
            if a.status == APPROVED
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
            elif item not in auto and (site_id, *key) not in settled:
                plan_.to_ask.append((site_id, item))
        pending = {(i.type, i.package, i.target) for i in newest}
        plan_.gone += [
            a for a in open_.get(site_id, ()) if (a.type, a.package, a.target) not in pending
        ]
        opens_at, within = _timing(site.site, now)
        for i in chosen.values():
            if (site_id, i.type, i.package) in held or (site_id, i.package, i.target) in tried:
                continue
            seen = first_seen.get((site_id, i.type, i.package))
            at = now if _in_time(i, opens_at, seen, within, now) else opens_at
            approval = approved.get((i.type, i.package, i.target))
            plan_.scheduled.append(Scheduled(site_id, i, at, approval))


def _settled(asked: list[UpdateApproval]) -> set[tuple[int, str, str, str]]:
    """(site, type, package, target) of the pending or rejected approvals that are the only
    open one of their package (``queue.request`` would return them unchanged)."""
    open_targets: dict[tuple[int, str, str], set[str]] = {}
    for a in asked:
        if a.status in queue.OPEN:
            open_targets.setdefault((a.site_id, a.type, a.package), set()).add(a.target)
    return {
        (a.site_id, a.type, a.package, a.target)
        for a in asked
        if a.status in (PENDING, REJECTED)
        and open_targets.get((a.site_id, a.type, a.package), set()) <= {a.target}
    }


def due_updates(session: Session, now: datetime) -> list[Due]:
    """The sites with updates due now by policy or approved by a person; what the policy
    leaves to a person is queued for approval, and approvals of updates no longer
    pending are superseded."""
    plan_ = schedule(session, now)
    for site_id, item in plan_.to_ask:
        queue.request(session, site_id, item, now)
    for approval in plan_.gone:
        approval.status = SUPERSEDED  # applied by hand, or a newer release came
    by_site: dict[int, list[Scheduled]] = {}
    for entry in plan_.scheduled:
        if entry.at <= now:
            by_site.setdefault(entry.site_id, []).append(entry)
    due = []
    for site_id, entries in sorted(by_site.items()):
        exact = tuple((e.item.type, e.item.package, e.item.target) for e in entries)
        approvals = tuple(e.approval for e in entries if e.approval is not None)
        due.append(Due(site_id, Selection(exact=exact), approvals))
    return due


def _automatic(site: PlannedSite, rows: list[UpdateRow], selection: Selection) -> list[UpdateItem]:
    """The items of ``selection`` the site's CMS can apply and verify without a person."""
    cms = cms_of(site.cms)
    updater = cms.updater if cms else None
    chosen = plan(site.id, rows, selection, platform=site.cms_version)
    chosen = applicable(chosen, cms, site.cms)
    return [item for item in chosen.items if _verifiable(updater, item)]


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


def _timing(site: PlannedSite, now: datetime) -> tuple[datetime, timedelta]:
    """When the site's maintenance window opens next (now if open or none), and how soon
    after its release a security update must be on the site."""
    within = timedelta(hours=site.options.security_within_hours)
    if not site.options.update_window:
        return now, within
    local = now.astimezone(zone(site.timezone))
    return parse_window(site.options.update_window).next_opening(local), within


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


def _held(session: Session, site_ids: Iterable[int], now: datetime) -> set[tuple[int, str, str]]:
    """(site, package, target) a policy run already tried and must not try again now."""
    ids = list(site_ids)
    if not ids:
        return set()
    held = set()
    for run in runs.policy_runs(session, ids):
        # recently applied: the inventory that would show it may not have been read yet
        recent = run.status in (REFUSED, *IN_PLACE) and run.started_at > now - RETRY_REFUSED
        if run.status in NEEDS_A_PERSON or recent:
            held |= {(run.site_id, str(i.get("package")), str(i.get("target"))) for i in run.items}
    return held


async def run_due_updates(
    ctx: UpdateContext, *, concurrency: int, stop: asyncio.Event | None = None
) -> list[RunOutcome]:
    """Apply what the plans apply by themselves, ``concurrency`` sites at a time (none
    started once ``stop`` is set)."""
    now = ctx.backup.clock()
    due = await ctx.backup.dbthread.session_aside(due_updates, now)
    outcomes = await update_fleet(
        ctx,
        [(d.site_id, d.selection) for d in due],
        concurrency=concurrency,
        trigger=POLICY,
        requested_by="policy",
        stop=stop,
    )
    approvals = {d.site_id: d.approvals for d in due}
    for outcome in outcomes:
        await settle_approvals(ctx, outcome, approvals.get(outcome.site_id, ()))
        log.info("policy update of %s: %s", outcome.site, outcome.status)
    return outcomes


async def apply_due(ctx: UpdateContext, due: Due) -> RunOutcome:
    """One site's policy update, as the job engine runs it (one job per site: the
    per-server limit and crash recovery are the engine's)."""
    outcome = await update_site(
        ctx, str(due.site_id), due.selection, trigger=POLICY, requested_by="policy"
    )
    await settle_approvals(ctx, outcome, due.approvals)
    log.info("policy update of %s: %s", outcome.site, outcome.status)
    return outcome


async def settle_approvals(
    ctx: UpdateContext, outcome: RunOutcome, approvals: tuple[int, ...]
) -> None:
    """The approved updates a run put on the site are applied (not asked again)."""
    if approvals and outcome.status in IN_PLACE and outcome.run_id:
        await ctx.backup.dbthread.session_aside(queue.mark_applied, approvals, outcome.run_id)

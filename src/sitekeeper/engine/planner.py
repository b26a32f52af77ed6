"""The scheduler's planning round on PostgreSQL: due per-site work becomes queued tasks.

With one process (SQLite) the scheduler's loops run the due backups, drills, scans and
the like themselves. Scaled out, the scheduler only decides what is due and queues it:
one task row per site and kind (the record the API and UI read) with its job, so that
workers anywhere run it under the engine's locks (one site-changing job per site, at
most ``server_parallel`` per client server), retries and crash recovery. A round is
idempotent: a site whose task is still queued or running is not queued again (the
tasks table's unique index), so two schedulers planning at once do no double work.

Fairness: in each kind, a client's first due site gets priority 0, its second -1 and so
on, so the engine interleaves clients and one agency's 500 sites do not hold back
another's three; ``client_parallel`` caps what one client may have queued or running
of a kind (the rest waits for later rounds). Work a person asks for has priority above
all of it and no cap.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.orm import Session

from sitekeeper.config import Settings
from sitekeeper.engine import content_jobs, integrity_jobs, intel_security
from sitekeeper.engine.job_queue import defer_job, defer_jobs
from sitekeeper.engine.tasks import validate_params
from sitekeeper.errors import UsageError
from sitekeeper.store import integrity_scans, inventories, page_baselines, security_probes
from sitekeeper.store import tasks as task_store
from sitekeeper.store.backups import due_backups, due_drills
from sitekeeper.store.job_routes import Route, routes
from sitekeeper.updates.policy import due_updates

log = logging.getLogger(__name__)

POLICY_UPDATE = "policy-update"  # planned every few minutes, not every round
ROUND_LIMIT = 1000  # sites queued per kind and round; the next round takes the rest
LOWEST = -1000  # priorities stop here: beyond, order by age is fair enough


Wanted = dict[int, dict[str, object]]  # due site -> its task's parameters, in order


@dataclass(frozen=True, slots=True)
class Planned:
    """One kind of scheduled per-site work: its task kind and how its due sites are found.

    ``attempt`` names the ``intel_attempts`` row stamped when the task is queued, so a
    site that fails goes behind the others instead of being queued every round.
    """

    kind: str
    attempt: str | None
    sites: Callable[[Session, datetime, Settings], Wanted]


def _each(
    ids: Callable[[Session, datetime, Settings], list[int]], params: dict[str, object]
) -> Callable[[Session, datetime, Settings], Wanted]:
    """Due sites found by ``ids``, all with the same parameters."""

    def sites(session: Session, now: datetime, settings: Settings) -> Wanted:
        return {site_id: params for site_id in ids(session, now, settings)[:ROUND_LIMIT]}

    return sites


def _attempts(kind: str, interval: Callable[[Settings], float]) -> Callable[..., list[int]]:
    def due(session: Session, now: datetime, settings: Settings) -> list[int]:
        return inventories.sites_due(session, kind, now, interval(settings), ROUND_LIMIT)

    return due


def _checks(
    sites_due: Callable[[Session, datetime, float, int], list[int]], interval: float
) -> Callable[..., list[int]]:
    def due(session: Session, now: datetime, _: Settings) -> list[int]:
        return sites_due(session, now, interval, ROUND_LIMIT)

    return due


def _backups(session: Session, now: datetime, _: Settings) -> list[int]:
    return due_backups(session, now)


def _drills(session: Session, now: datetime, _: Settings) -> list[int]:
    return due_drills(session, now)


def _policy_updates(session: Session, now: datetime, _: Settings) -> Wanted:
    """The updates the plans apply by themselves now, per site (``updates.policy``)."""
    return {
        d.site_id: {"exact": [list(i) for i in d.selection.exact], "approvals": list(d.approvals)}
        for d in due_updates(session, now)[:ROUND_LIMIT]
    }


PLANNED = (
    Planned("backup", None, _each(_backups, {"scheduled": True})),
    Planned("drill", None, _each(_drills, {})),
    Planned(POLICY_UPDATE, None, _policy_updates),
    Planned(
        "inventory", "inventory", _each(_attempts("inventory", lambda s: s.inventory_interval), {})
    ),
    Planned(
        "fingerprint",
        "fingerprint",
        _each(_attempts("fingerprint", lambda s: s.fingerprint_interval), {}),
    ),
    Planned(
        "probe-security",
        security_probes.KIND,
        _each(_checks(security_probes.sites_due, intel_security.DEFAULT_INTERVAL), {}),
    ),
    Planned(
        "scan",
        integrity_scans.KIND,
        _each(_checks(integrity_scans.sites_due, integrity_jobs.DEFAULT_INTERVAL), {}),
    ),
    Planned(
        "probe-content",
        page_baselines.KIND,
        _each(_checks(page_baselines.sites_due, content_jobs.DEFAULT_INTERVAL), {}),
    ),
)


def fair_priorities(site_ids: list[int], client_of: dict[int, int | None]) -> dict[int, int]:
    """Each site's priority: minus its rank among its client's due sites (0 for the first)."""
    seen: dict[int | None, int] = defaultdict(int)
    ranked = {}
    for site_id in site_ids:
        client = client_of.get(site_id)
        ranked[site_id] = max(-seen[client], LOWEST)
        seen[client] += 1
    return ranked


class _Quota:
    """What each client may still have queued of one kind this round (``limit`` 0: no cap)."""

    def __init__(self, session: Session, kind: str, limit: int) -> None:
        self.limit = limit
        self.active = task_store.active_by_client(session, kind) if limit else {}

    def full(self, client: int | None) -> bool:
        return bool(self.limit) and self.active.get(client, 0) >= self.limit

    def took(self, client: int | None) -> None:
        self.active[client] = self.active.get(client, 0) + 1


def plan_due(
    session: Session, now: datetime, settings: Settings, kinds: tuple[Planned, ...] = PLANNED
) -> dict[str, int]:
    """Queue a task (and its job) for every site whose scheduled work is due and not
    queued yet; returns how many were queued per kind. One transaction for the round."""
    queued: dict[str, int] = {}
    for planned in kinds:
        wanted = planned.sites(session, now, settings)
        if not wanted:
            continue
        due = list(wanted)
        route = routes(session, due)
        client_of = {i: r.client_id for i, r in route.items()}
        quota = _Quota(session, planned.kind, settings.client_parallel)
        # Read once for the round; a task queued meanwhile by another scheduler or a
        # person is left out by the tasks table's unique index.
        active = task_store.sites_with_active(session, planned.kind, due)
        picked: Wanted = {}
        for site_id, raw in wanted.items():
            client = client_of.get(site_id)
            if site_id in active:
                continue
            if quota.full(client):
                continue  # its share is in the engine; a later round adds more
            quota.took(client)
            picked[site_id] = validate_params(planned.kind, dict(raw))
        batch = _Batch(session, planned.kind, settings, route, fair_priorities(due, client_of))
        made = batch.queue(picked, now)
        if planned.attempt is not None:  # queued now or before: tried, to the back
            taken = [s for s in wanted if s in active or s in made]
            inventories.mark_attempted(session, planned.attempt, taken, now)
        if made:
            queued[planned.kind] = len(made)
    if queued:
        log.info("queued scheduled work: %s", ", ".join(f"{k} {n}" for k, n in queued.items()))
    return queued


@dataclass(frozen=True, slots=True)
class _Batch:
    """Queues one kind's due sites of a round: in a few statements whatever their number
    (a fresh fleet of 100,000 sites, or a night's backups, is one round's thousands).

    Row by row each task took a savepoint, a look-up, its insert and its job's (about ten
    round trips: 3.3 ms a task, against 0.33 batched: benchmarks §17).
    """

    session: Session
    kind: str
    settings: Settings
    route: dict[int, Route]
    priority: dict[int, int]

    def queue(self, wanted: Wanted, now: datetime) -> set[int]:
        """Queue a task and its job for each site of ``wanted`` (its validated
        parameters); the sites queued. A site with a job of the kind still waiting (its
        task ended some other way) makes the batch fall back to one site at a time."""
        if not wanted:
            return set()
        try:
            with self.session.begin_nested():  # the rows and their jobs, or neither
                tasks = task_store.enqueue_many(self.session, self.kind, wanted, now)
                jobs = defer_jobs(
                    self.session,
                    self.kind,
                    {task_id: site_id for site_id, task_id in tasks.items()},
                    server_parallel=self.settings.server_parallel,
                    priority=self.priority,
                    route=self.route,
                )
                task_store.set_job_ids(self.session, jobs)
            return set(tasks)
        except AlreadyEnqueued:
            return {s for s, params in wanted.items() if self._one(s, params, now)}

    def _one(self, site_id: int, params: dict[str, object], now: datetime) -> bool:
        """Queue one site's task and job; whether it was queued here."""
        try:
            with self.session.begin_nested():  # the row and its job, or neither
                task, created = task_store.enqueue(
                    self.session,
                    self.kind,
                    site_id=site_id,
                    params=params,
                    requested_by=None,
                    now=now,
                )
                if created:  # else another scheduler's round was first
                    defer_job(
                        self.session,
                        task,
                        server_parallel=self.settings.server_parallel,
                        priority=self.priority[site_id],
                        route=self.route.get(site_id),
                    )
                return created
        except UsageError:  # lost a race to a person's request of the kind: it will do
            return False

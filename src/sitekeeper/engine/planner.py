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

from sqlalchemy.orm import Session

from sitekeeper.config import Settings
from sitekeeper.engine import content_jobs, integrity_jobs, intel_security
from sitekeeper.engine.job_queue import defer_job
from sitekeeper.engine.tasks import validate_params
from sitekeeper.errors import UsageError
from sitekeeper.store import integrity_scans, inventories, page_baselines, security_probes
from sitekeeper.store import tasks as task_store
from sitekeeper.store.backups import due_backups, due_drills
from sitekeeper.store.job_routes import routes
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
        priority = fair_priorities(due, client_of)
        quota = _Quota(session, planned.kind, settings.client_parallel)
        # Read once for the round; a task queued meanwhile by another scheduler or a
        # person is caught by enqueue (the tasks table's unique index).
        active = task_store.sites_with_active(session, planned.kind, due)
        count, taken = 0, []
        for site_id, raw in wanted.items():
            client = client_of.get(site_id)
            if site_id not in active:
                if quota.full(client):
                    continue  # its share is in the engine; a later round adds more
                try:
                    with session.begin_nested():  # the row and its job, or neither
                        task, created = task_store.enqueue(
                            session,
                            planned.kind,
                            site_id=site_id,
                            params=validate_params(planned.kind, dict(raw)),
                            requested_by=None,
                            now=now,
                        )
                        if created:  # else another scheduler's round was first
                            defer_job(
                                session,
                                task,
                                server_parallel=settings.server_parallel,
                                priority=priority[site_id],
                                route=route.get(site_id),
                            )
                            quota.took(client)
                            count += 1
                except UsageError:  # lost a race to a person's request of the kind: it will do
                    continue
            taken.append(site_id)
        if planned.attempt is not None:  # queued now or before: tried, to the back
            inventories.mark_attempted(session, planned.attempt, taken, now)
        if count:
            queued[planned.kind] = count
    if queued:
        log.info("queued scheduled work: %s", ", ".join(f"{k} {n}" for k, n in queued.items()))
    return queued

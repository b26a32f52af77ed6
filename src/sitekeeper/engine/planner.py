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
another's three. Work a person asks for has priority above all of it.
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
from sitekeeper.store import backups, integrity_scans, inventories, page_baselines, security_probes
from sitekeeper.store import tasks as task_store
from sitekeeper.store.job_routes import routes

log = logging.getLogger(__name__)

ROUND_LIMIT = 1000  # sites queued per kind and round; the next round takes the rest
LOWEST = -1000  # priorities stop here: beyond, order by age is fair enough


@dataclass(frozen=True, slots=True)
class Planned:
    """One kind of scheduled per-site work: its task kind and how its due sites are found.

    ``attempt`` names the ``intel_attempts`` row stamped when the task is queued, so a
    site that fails goes behind the others instead of being queued every round.
    """

    kind: str
    attempt: str | None
    due: Callable[[Session, datetime, Settings], list[int]]
    params: dict[str, object]


def _backups(session: Session, now: datetime, _: Settings) -> list[int]:
    return [site.id for site in backups.due_backups(session, now)][:ROUND_LIMIT]


def _drills(session: Session, now: datetime, _: Settings) -> list[int]:
    return [site.id for site in backups.due_drills(session, now)][:ROUND_LIMIT]


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


PLANNED = (
    Planned("backup", None, _backups, {"scheduled": True}),
    Planned("drill", None, _drills, {}),
    Planned("inventory", "inventory", _attempts("inventory", lambda s: s.inventory_interval), {}),
    Planned(
        "fingerprint", "fingerprint", _attempts("fingerprint", lambda s: s.fingerprint_interval), {}
    ),
    Planned(
        "probe-security",
        security_probes.KIND,
        _checks(security_probes.sites_due, intel_security.DEFAULT_INTERVAL),
        {},
    ),
    Planned(
        "scan",
        integrity_scans.KIND,
        _checks(integrity_scans.sites_due, integrity_jobs.DEFAULT_INTERVAL),
        {},
    ),
    Planned(
        "probe-content",
        page_baselines.KIND,
        _checks(page_baselines.sites_due, content_jobs.DEFAULT_INTERVAL),
        {},
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


def plan_due(
    session: Session, now: datetime, settings: Settings, kinds: tuple[Planned, ...] = PLANNED
) -> dict[str, int]:
    """Queue a task (and its job) for every site whose scheduled work is due and not
    queued yet; returns how many were queued per kind. One transaction for the round."""
    queued: dict[str, int] = {}
    for planned in kinds:
        due = planned.due(session, now, settings)
        if not due:
            continue
        route = routes(session, due)
        priority = fair_priorities(due, {i: r.client_id for i, r in route.items()})
        params = validate_params(planned.kind, dict(planned.params))
        count = 0
        for site_id in due:
            try:
                with session.begin_nested():  # the row and its job, or neither
                    task, created = task_store.enqueue(
                        session,
                        planned.kind,
                        site_id=site_id,
                        params=params,
                        requested_by=None,
                        now=now,
                    )
                    if created:
                        defer_job(
                            session,
                            task,
                            server_parallel=settings.server_parallel,
                            priority=priority[site_id],
                        )
                        count += 1
            except UsageError:  # TaskConflict: a person's request of the kind will do
                continue
        if planned.attempt is not None:
            inventories.mark_attempted(session, planned.attempt, due, now)
        if count:
            queued[planned.kind] = count
    if queued:
        log.info("queued scheduled work: %s", ", ".join(f"{k} {n}" for k, n in queued.items()))
    return queued

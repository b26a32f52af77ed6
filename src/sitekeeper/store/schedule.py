"""Check jobs: every site has one, its interval follows the site's plan.

First runs are jittered over one interval so a bulk import (or a plan change)
spreads checks evenly instead of firing them all in the same second.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from sitekeeper.store.tables import Contract, Job, Plan, Site

CHECK = "check"
_rng = random.SystemRandom()


def first_run(now: float, interval: int, rng: random.Random | None = None) -> float:
    """A random instant in ``[now, now + interval)``."""
    return now + (rng or _rng).random() * interval


def site_interval(session: Session, site: Site, default_interval: int) -> int:
    """The check interval of the site's contract plan, else the default."""
    if site.contract_id is None:
        return default_interval
    interval = session.scalar(
        select(Plan.check_interval)
        .join(Contract, Contract.plan_id == Plan.id)
        .where(Contract.id == site.contract_id)
    )
    return interval if interval is not None else default_interval


def sync_check_job(
    session: Session,
    site: Site,
    now: float,
    *,
    default_interval: int,
    rng: random.Random | None = None,
) -> Job:
    """Create or update the site's check job (interval, enabled) to match the site."""
    interval = site_interval(session, site, default_interval)
    job = session.scalar(select(Job).where(Job.kind == CHECK, Job.site_id == site.id))
    if job is None:
        job = Job(kind=CHECK, site_id=site.id, interval=interval, enabled=not site.paused)
        job.next_run_at = first_run(now, interval, rng)
        session.add(job)
    else:
        _apply(job, interval, not site.paused, now, rng)
    session.flush()
    return job


def _apply(job: Job, interval: int, enabled: bool, now: float, rng: random.Random | None) -> None:
    """Update a job in place; re-jitter when its next run no longer fits the interval."""
    resumed = enabled and not job.enabled
    job.interval = interval
    job.enabled = enabled
    if resumed or job.next_run_at > now + interval:
        job.next_run_at = first_run(now, interval, rng)


def resync_sites(
    session: Session,
    site_ids: Iterable[int],
    now: float,
    *,
    default_interval: int,
    rng: random.Random | None = None,
) -> int:
    """Re-sync the check jobs of many sites in a few queries; returns how many changed."""
    ids = list(site_ids)
    if not ids:
        return 0
    changed = 0
    for chunk in _chunks(ids, 500):
        rows = session.execute(
            select(Site.id, Site.paused, Plan.check_interval)
            .outerjoin(Contract, Contract.id == Site.contract_id)
            .outerjoin(Plan, Plan.id == Contract.plan_id)
            .where(Site.id.in_(chunk))
        ).all()
        jobs = {
            j.site_id: j
            for j in session.scalars(select(Job).where(Job.kind == CHECK, Job.site_id.in_(chunk)))
        }
        for site_id, paused, plan_interval in rows:
            interval = plan_interval if plan_interval is not None else default_interval
            job = jobs.get(site_id)
            if job is None:
                session.add(
                    Job(
                        kind=CHECK,
                        site_id=site_id,
                        interval=interval,
                        enabled=not paused,
                        next_run_at=first_run(now, interval, rng),
                    )
                )
                changed += 1
            elif job.interval != interval or job.enabled == paused:
                _apply(job, interval, not paused, now, rng)
                changed += 1
    session.flush()
    return changed


def sites_on_plan(session: Session, plan_id: int) -> list[int]:
    """Ids of the sites whose contract is on the plan."""
    return list(
        session.scalars(
            select(Site.id)
            .join(Contract, Contract.id == Site.contract_id)
            .where(Contract.plan_id == plan_id)
        )
    )


def sites_on_contract(session: Session, contract_id: int) -> list[int]:
    """Ids of the sites covered by the contract."""
    return list(session.scalars(select(Site.id).where(Site.contract_id == contract_id)))


def check_job(session: Session, site_id: int) -> Job | None:
    """The site's check job, if any."""
    return session.scalar(select(Job).where(Job.kind == CHECK, Job.site_id == site_id))


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""Check jobs of the other locations: which sites a location checks besides the home one.

The default location checks every site through the shared ``check`` job. A site on
a plan with ``check_locations`` N > 1 is also checked by N - 1 other locations, each
claiming its own ``check@<location>`` job (``Scheduler(kind=location_kind(name))``),
so that N different places look at it every interval. Which N - 1, among the
locations not silent, is rendezvous hashing: every location computes the same choice
alone, and when one falls silent only its sites move to another.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sitekeeper.store.location_tables import CheckLocation
from sitekeeper.store.locations import DEFAULT, plan_locations, shown
from sitekeeper.store.schedule import first_run
from sitekeeper.store.tables import Contract, Job, Plan, Site

PREFIX = "check@"


def location_kind(location: str) -> str:
    """The job kind a location's own checks are claimed as (the default's: ``check``)."""
    return "check" if location == DEFAULT else PREFIX + location


def chosen(site_id: int, locations: Iterable[str], count: int) -> list[str]:
    """The ``count`` locations that check ``site_id`` besides the default one (rendezvous:
    the highest CRC of site and name; stable across processes, unlike ``hash``)."""
    ranked = sorted(locations, key=lambda name: (-zlib.crc32(f"{site_id}/{name}".encode()), name))
    return ranked[:count]


def sync_location_jobs(
    session: Session, location: str, now: float, *, rng: random.Random | None = None
) -> tuple[int, int]:
    """Create the jobs of the sites ``location`` should check and drop those it no longer
    should; returns (added, removed). Run by each location now and then (cheap when
    nothing changed): plans, sites and live locations may change under it."""
    if location == DEFAULT:
        return 0, 0
    live = {
        shown(name)
        for name in session.scalars(
            select(CheckLocation.name).where(CheckLocation.silent_since.is_(None))
        )
    }
    others = sorted((live | {location}) - {DEFAULT})
    kind = location_kind(location)
    wanted: dict[int, int] = {}
    rows = session.execute(
        select(Site.id, Plan.check_interval, Plan.options)
        .join(Contract, Contract.id == Site.contract_id)
        .join(Plan, Plan.id == Contract.plan_id)
        .where(Site.paused.is_(False))
    )
    for site_id, interval, options in rows:
        extra = plan_locations(options) - 1
        if extra > 0 and location in chosen(site_id, others, extra):
            wanted[site_id] = interval
    jobs = {j.site_id: j for j in session.scalars(select(Job).where(Job.kind == kind))}
    added = 0
    for site_id, interval in wanted.items():
        job = jobs.get(site_id)
        if job is None:
            session.add(
                Job(
                    kind=kind,
                    site_id=site_id,
                    interval=interval,
                    enabled=True,
                    next_run_at=first_run(now, interval, rng),
                )
            )
            added += 1
        elif job.interval != interval:
            job.interval = interval
    gone = [site_id for site_id in jobs if site_id not in wanted]
    if gone:
        session.execute(delete(Job).where(Job.kind == kind, Job.site_id.in_(gone)))
    session.flush()
    return added, len(gone)

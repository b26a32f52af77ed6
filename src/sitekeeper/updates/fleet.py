"""Updates across many sites at once: which sites a fleet-wide run covers, and running
them a few at a time.

Each site is its own run (its own snapshot, health check and rollback): one site whose
update breaks is rolled back while the others finish. Concurrency bounds the snapshots
and upgrades in flight, not the sites chosen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from sitekeeper.backup.runner import Progress
from sitekeeper.store.sites import list_sites
from sitekeeper.store.update_tables import MANUAL
from sitekeeper.updates.context import UpdateContext
from sitekeeper.updates.plan import Selection
from sitekeeper.updates.run import NOTHING, RunOutcome, update_site


def fleet_sites(session: Session, *, client_id: int | None, tag: str | None) -> list[int]:
    """The sites with SSH access (the others cannot be updated), of one client or with one
    tag (both None: every site), by name."""
    return [s.id for s in list_sites(session, client_id=client_id, tag=tag) if s.ssh]


async def update_fleet(
    ctx: UpdateContext,
    wanted: Sequence[tuple[int, Selection]],
    *,
    concurrency: int,
    force: bool = False,
    trigger: str = MANUAL,
    requested_by: str | None = None,
    progress: Progress | None = None,
    done: Callable[[RunOutcome], None] | None = None,
    stop: asyncio.Event | None = None,
) -> list[RunOutcome]:
    """Update each site with its selection, at most ``concurrency`` at once; outcomes in
    the order asked. Once ``stop`` is set no further site is started (the runs under way
    go on: cut off, they would leave work for the recovery)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(site_id: int, selection: Selection) -> RunOutcome:
        async with gate:
            if stop is not None and stop.is_set():
                reason = "not started: sitekeeper is stopping"
                return RunOutcome(str(site_id), site_id, NOTHING, reason=reason)
            outcome = await update_site(
                ctx,
                str(site_id),
                selection,
                force=force,
                trigger=trigger,
                requested_by=requested_by,
                progress=progress,
            )
        if done is not None:
            done(outcome)
        return outcome

    return list(await asyncio.gather(*(one(i, chosen) for i, chosen in wanted)))

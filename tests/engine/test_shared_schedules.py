"""Two ``serve`` processes on one database: due per-site work and global schedules run once.

Each process is an ``IntelJobs`` with its own worker name; a fingerprint function that
counts its calls stands in for the probe, and the feeds poll has nothing to fetch.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sitekeeper.config import Settings
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.engine.intel_jobs import IntelJobs
from sitekeeper.intel.fetch import FeedSettings
from sitekeeper.probes.fingerprint import FingerprintOptions
from sitekeeper.store import clients, sites
from sitekeeper.store.database import Database
from sitekeeper.store.leases import Leases
from tests.store.factories import NOW, VAULT

UNREACHABLE = "http://127.0.0.1:9"


def _process(db: Database, tmp_path: Path, name: str, clock: list[datetime]) -> IntelJobs:
    settings = Settings(home=tmp_path / name, worker_name=name)
    feeds = FeedSettings(
        vendor={"wordpress_api_url": UNREACHABLE, "drupal_updates_url": UNREACHABLE}
    )
    leases = Leases(db, name, clock=lambda: clock[0])
    return IntelJobs(db, settings, feeds=feeds, vault=VAULT, leases=leases)


async def test_a_due_site_is_fingerprinted_by_one_process(db: Database, tmp_path: Path) -> None:
    with db.session() as session:
        owner = clients.add_client(session, VAULT, name="Shared", now=NOW)
        for name in ("one", "two"):
            fields = sites.SiteFields(url=f"https://{name}.example", client=owner, name=name)
            sites.add_site(session, fields, NOW, default_interval=300)
    clock = [datetime.now(UTC)]
    first, second = (_process(db, tmp_path, name, clock) for name in ("first", "second"))
    calls: list[str] = []
    inside, finish = asyncio.Event(), asyncio.Event()

    async def fingerprint(url: str, options: FingerprintOptions) -> Fingerprint:
        calls.append(url)
        inside.set()
        await finish.wait()  # still running when the other process looks
        return Fingerprint(url=url, cms="wordpress", candidates=[">=6.1 <6.2"], evidence=["x"])

    first.fingerprint_fn = second.fingerprint_fn = fingerprint
    running = asyncio.create_task(first.fingerprints_due())
    await inside.wait()
    assert await second.fingerprints_due() == 0  # both sites are leased to the first
    finish.set()
    assert await running == 2
    assert await second.fingerprints_due() == 0  # done by the first: no longer due
    assert sorted(calls) == ["https://one.example/", "https://two.example/"]


async def test_a_global_schedule_runs_once_per_period(db: Database, tmp_path: Path) -> None:
    clock = [NOW]
    first, second = (_process(db, tmp_path, name, clock) for name in ("first", "second"))
    feeds = [{s.name: s for s in p.schedules()}["intel-feeds"] for p in (first, second)]
    period = timedelta(seconds=feeds[0].period)

    async def tick(process: int) -> bool:
        return await feeds[process].action() is not None  # None: another process has it

    assert (await tick(0), await tick(1)) == (True, False)
    clock[0] = NOW + period / 2
    assert await tick(1) is False
    clock[0] = NOW + period  # the first's next period: it renews
    assert (await tick(0), await tick(1)) == (True, False)
    clock[0] = NOW + 2 * period  # the first missed a run (stopped): the second takes over
    assert (await tick(1), await tick(0)) == (True, False)

"""The road not taken, as a prototype for bench/scaleout_checks.py: a procrastinate job per
batch of due checks instead of workers claiming batches from the schedule table.

``scheduler``: claims due batches with the product's compare-and-set (``claim_due``) and
defers each as one procrastinate job; ``worker``: a procrastinate worker whose task runs
a batch with the product's check runner and recorder. Both log the same ``STATS {json}``
lines as ``sitekeeper serve``, so the harness reads them alike.

    python bench/_batch_jobs.py scheduler|worker  (SITEKEEPER_DATABASE_URL, SITEKEEPER_HOME)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from typing import Any

from procrastinate import App, PsycopgConnector

from sitekeeper.config import Settings
from sitekeeper.engine.alerts import Alerter
from sitekeeper.engine.check_runner import CheckRunner
from sitekeeper.engine.recorder import Recorder
from sitekeeper.engine.stats import Stats
from sitekeeper.probes.registry import ProbeSet
from sitekeeper.store.database import Database, libpq_url
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.jobs import Claim, claim_due

QUEUE, TASK = "checkbatch", "bench.check_batch"
BATCH, TICK, STATS_EVERY = 500, 0.25, 20.0
JOBS_PER_WORKER = 2  # 2 x 500 in hand: what serve's claim loop keeps (2 x concurrency)
log = logging.getLogger("sitekeeper.status")


def make_app(url: str) -> App:
    """The prototype's app: one task, on its own queue."""
    return App(connector=PsycopgConnector(conninfo=libpq_url(url), min_size=1, max_size=3))


async def report(stats: Stats, stop: asyncio.Event) -> None:
    """A STATS line every STATS_EVERY seconds, as serve --stats-interval does."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STATS_EVERY)
        log.debug("%s", stats.line())


async def schedule(settings: Settings, db: Database, stop: asyncio.Event) -> None:
    """Claim due batches (the same compare-and-set) and defer one job per batch.

    No back-pressure from the workers but the queue itself: a job waits in
    procrastinate_jobs until a worker fetches it.
    """
    app, dbthread = make_app(settings.resolved_database_url), DbThread(db)
    task = app.configure_task(TASK, queue=QUEUE)
    async with app.open_async():
        while not stop.is_set():
            claims = await dbthread.call(claim_due, "check", time.time(), BATCH)
            if claims:
                rows = [[c.job_id, c.site_id, c.due_at] for c in claims]
                await task.defer_async(claims=rows)
            if len(claims) < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), TICK)
    dbthread.close()


async def work(settings: Settings, db: Database, stop: asyncio.Event) -> None:
    """A procrastinate worker running batches with the product's runner and recorder."""
    dbthread, stats = DbThread(db), Stats()
    recorder = Recorder(dbthread, Alerter(settings.alert_urls), location=settings.location)
    probes = ProbeSet.from_settings(settings)
    runner = CheckRunner(dbthread, probes, recorder, stats, confirm_delay=settings.confirm_delay)
    slots = asyncio.Semaphore(settings.concurrency)
    app = make_app(settings.resolved_database_url)

    async def one(claim: Claim, target: Any) -> None:
        async with slots:
            await runner.run_one(claim, target)

    @app.task(name=TASK, queue=QUEUE)
    async def check_batch(claims: list[list[Any]]) -> None:
        loaded = await runner.load([Claim(int(j), int(s), float(d)) for j, s, d in claims])
        await asyncio.gather(*(one(claim, target) for claim, target in loaded))

    flushing = asyncio.Event()
    recording = asyncio.create_task(recorder.run(flushing))
    reporting = asyncio.create_task(report(stats, stop))
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE], concurrency=JOBS_PER_WORKER, install_signal_handlers=False
            )
        )
        await stop.wait()
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    flushing.set()
    await asyncio.gather(recording, reporting)
    await probes.aclose()
    dbthread.close()


async def main(role: str) -> None:
    settings = Settings()
    db = Database(settings.resolved_database_url, migrate=False)  # the harness migrated
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await (schedule if role == "scheduler" else work)(settings, db, stop)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.DEBUG)
    asyncio.run(main(sys.argv[1]))

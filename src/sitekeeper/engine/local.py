"""The in-process dispatcher (embedded default): an asyncio pool with a global bound."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sitekeeper.engine.check_runner import CheckRunner
from sitekeeper.store.jobs import Claim
from sitekeeper.store.monitoring import CheckTarget

log = logging.getLogger(__name__)


class LocalDispatcher:
    """Runs claims as tasks in this process, at most ``concurrency`` at a time."""

    def __init__(self, runner: CheckRunner, concurrency: int) -> None:
        self._runner = runner
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self.concurrency = concurrency

    @property
    def pending(self) -> int:
        """Checks handed over and not finished yet (for back-pressure)."""
        return self._in_flight

    def submit(self, claims: Sequence[Claim]) -> None:
        """Start a batch; returns at once."""
        self._in_flight += len(claims)
        task = asyncio.create_task(self._run_batch(list(claims)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_batch(self, claims: list[Claim]) -> None:
        try:
            loaded = await self._runner.load(claims)
            self._in_flight -= len(claims) - len(loaded)
            await asyncio.gather(*(self._run(claim, target) for claim, target in loaded))
        except Exception:
            log.exception("loading %d check targets failed; they run next interval", len(claims))
            self._in_flight -= len(claims)

    async def _run(self, claim: Claim, target: CheckTarget) -> None:
        async with self._slots:
            try:
                await self._runner.run_one(claim, target)
            except Exception:
                # The probe never raises for a site's failure; this is a bug. Log it
                # with the site so it can be fixed, and keep the scheduler alive.
                log.exception("check of site %s crashed", claim.site_id)
            finally:
                self._in_flight -= 1

    def cancel(self) -> None:
        """Cancel every running check (shutdown): nothing is recorded for them, and each
        site's job runs again at its next interval."""
        for task in self._tasks:
            task.cancel()

    async def drain(self) -> None:
        """Wait for every submitted batch to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

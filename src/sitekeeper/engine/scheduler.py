"""The scheduler: claims due jobs from the store and hands them to a dispatcher."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy.exc import SQLAlchemyError

from sitekeeper.engine.local import LocalDispatcher
from sitekeeper.engine.waiting import wait_event
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.jobs import claim_due, respread_overdue

log = logging.getLogger(__name__)


class Scheduler:
    """Claims due check jobs every tick, with back-pressure from the dispatcher."""

    def __init__(
        self,
        dbthread: DbThread,
        dispatcher: LocalDispatcher,
        *,
        kind: str = "check",
        tick: float = 0.25,
        batch: int = 500,
        restart_rate: float = 200.0,
    ) -> None:
        self._db = dbthread
        self._dispatcher = dispatcher
        self._kind = kind
        self._tick = tick
        self._batch = batch
        self._restart_rate = restart_rate

    async def start(self) -> int:
        """Spread jobs that fell due while nothing ran, so a restart is no stampede."""
        try:
            moved = await self._db.call(
                respread_overdue, self._kind, time.time(), self._restart_rate
            )
        except SQLAlchemyError:
            # Spreading is a courtesy: without it the backlog runs at the claim rate,
            # late but complete. Failing here must never stop the checks.
            log.exception("spreading overdue %s jobs failed; claiming them as due", self._kind)
            return 0
        if moved:
            log.info("spread %d overdue %s jobs over the next interval", moved, self._kind)
        return moved

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and dispatch until ``stop`` is set."""
        await self.start()
        while not stop.is_set():
            room = self._dispatcher.concurrency * 2 - self._dispatcher.pending
            claimed = 0
            if room > 0:
                try:
                    claims = await self._db.call(
                        claim_due, self._kind, time.time(), min(self._batch, room)
                    )
                except SQLAlchemyError:
                    # A locked or unreachable database is retried next tick; the jobs
                    # stay due, so nothing is skipped, only late.
                    log.exception("claiming due %s jobs failed; retrying", self._kind)
                    claims = []
                claimed = len(claims)
                if claims:
                    self._dispatcher.submit(claims)
            if claimed == self._batch:
                continue  # more are due right now
            await wait_event(stop, self._tick)

"""This process in the workers registry: registered at start, a heartbeat every period,
a goodbye on a clean stop — and a stop of its own if the schema moves past its code.

A rolling upgrade migrates the database while older processes still run; their next
heartbeat sees a revision their code does not know and stops them with the reason,
instead of letting them write rows the new schema does not expect.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from sitekeeper.config import Settings
from sitekeeper.domain.workers import Role
from sitekeeper.engine.waiting import wait_event
from sitekeeper.store import workers
from sitekeeper.store.database import newer_schema
from sitekeeper.store.dbthread import DbThread

log = logging.getLogger(__name__)


def sitekeeper_version() -> str:
    """The installed package's version ("unknown" when run from a bare checkout)."""
    try:
        return version("sitekeeper")
    except PackageNotFoundError:
        return "unknown"


class Presence:
    """Keeps this process's row in the workers registry alive until ``stop``."""

    def __init__(
        self, dbthread: DbThread, settings: Settings, role: Role, queues: tuple[str, ...]
    ) -> None:
        self.dbthread = dbthread
        self.period = settings.job_heartbeat_seconds
        pid = os.getpid()
        self.me = workers.Registration(
            host=socket.gethostname(),
            pid=pid,
            name=f"{settings.worker_name}/{pid}",
            role=role.value,
            location=settings.location,
            queues=queues,
            version=sitekeeper_version(),
            heartbeat_seconds=self.period,
        )
        self.worker_id: int | None = None

    async def register(self) -> int:
        """Write this process's row (before any loop starts, so it is listed at once)."""
        # Beside the database thread: a heartbeat never waits behind a flush of results.
        self.worker_id = await self.dbthread.session_aside(
            workers.register, self.me, datetime.now(UTC)
        )
        return self.worker_id

    async def run(self, stop: asyncio.Event) -> None:
        """Heartbeat every period until ``stop``; then say goodbye."""
        if self.worker_id is None:
            await self.register()
        try:
            while not await wait_event(stop, self.period):
                try:
                    refused = await self.dbthread.session_aside(self._beat)
                except SQLAlchemyError as exc:  # the database away for a beat: try the next
                    log.warning("heartbeat not recorded: %s", exc)
                    continue
                if refused:
                    log.error("stopping: %s", refused)
                    stop.set()
        finally:
            try:
                await self.dbthread.session_aside(self._goodbye)
            except SQLAlchemyError as exc:
                log.warning("could not record this process as stopped: %s", exc)

    def _beat(self, session: Session) -> str | None:
        """Record the heartbeat; why this process must stop, if the schema moved on."""
        assert self.worker_id is not None
        return newer_schema(workers.heartbeat(session, self.worker_id, datetime.now(UTC)))

    def _goodbye(self, session: Session) -> None:
        assert self.worker_id is not None
        workers.stopped(session, self.worker_id, datetime.now(UTC))

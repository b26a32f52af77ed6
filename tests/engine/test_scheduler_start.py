"""A scheduler whose start-up spread fails still claims: the spread is a courtesy."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from sitekeeper.engine import scheduler as scheduler_module
from sitekeeper.engine.scheduler import Scheduler
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.jobs import Claim
from tests.store.test_jobs import _sites_with_jobs


class _Collecting:
    """A dispatcher that keeps what it is handed."""

    concurrency = 100
    pending = 0

    def __init__(self) -> None:
        self.claims: list[Claim] = []
        self.got = asyncio.Event()

    def submit(self, claims: list[Claim]) -> None:
        self.claims.extend(claims)
        self.got.set()


async def test_a_failed_spread_is_logged_and_due_jobs_are_still_claimed(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sites = _sites_with_jobs(sqlite_db, [time.time() - 30, time.time() - 20])

    def broken(conn: Connection, *args: Any) -> int:
        raise OperationalError("UPDATE jobs", {}, Exception("integer out of range"))

    monkeypatch.setattr(scheduler_module, "respread_overdue", broken)
    dispatcher = _Collecting()
    dbthread = DbThread(sqlite_db)
    scheduler = Scheduler(dbthread, dispatcher, tick=0.01)  # type: ignore[arg-type]
    stop = asyncio.Event()
    running = asyncio.create_task(scheduler.run(stop))
    try:
        await asyncio.wait_for(dispatcher.got.wait(), 10)
    finally:
        stop.set()
        await running
        dbthread.close()
    assert sorted(c.site_id for c in dispatcher.claims) == sites
    assert "spreading overdue check jobs failed" in caplog.text

"""DbThread: store functions run off the event loop, in order on the writer, beside it aside."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from sitekeeper.store import history, installation
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from tests.store.factories import baker, site


def _wait(conn: Connection, started: threading.Event, release: threading.Event) -> str:
    started.set()
    assert release.wait(60), "the writer was never released"
    return threading.current_thread().name


def _add_shop(session: Session, name: str) -> None:
    site(session, baker(session), "https://shop.example", name=name)


def test_results_come_back_and_writes_commit(db: Database) -> None:
    async def main() -> tuple[dict[int, str], int]:
        thread = DbThread(db)
        try:
            await thread.session(_add_shop, "shop")
            names = await thread.session(history.site_names)
            size = await thread.session_aside(installation.size)
            return names, size.sites
        finally:
            thread.close()

    names, sites = asyncio.run(main())
    assert list(names.values()) == ["shop"] and sites == 1


def test_aside_work_does_not_wait_behind_the_writer(sqlite_db: Database) -> None:
    # A long read (the hourly summary check) or a lease must go through while the
    # writer is busy with a batch; the writer's own queue keeps its order.
    async def main() -> tuple[str, list[str], str]:
        thread = DbThread(sqlite_db)
        started, release = threading.Event(), threading.Event()
        order: list[str] = []

        def note(session: Session, what: str) -> None:
            order.append(what)

        try:
            busy = asyncio.ensure_future(thread.call(_wait, started, release))
            queued = asyncio.ensure_future(thread.session(note, "queued behind the writer"))
            await asyncio.get_running_loop().run_in_executor(None, started.wait)
            await thread.session_aside(note, "aside")  # returns while the writer still waits
            release.set()
            writer = await busy
            await queued
            return writer, order, threading.current_thread().name
        finally:
            release.set()
            thread.close()

    writer, order, loop_thread = asyncio.run(main())
    assert order == ["aside", "queued behind the writer"]
    assert writer.startswith("sitekeeper-db") and writer != loop_thread

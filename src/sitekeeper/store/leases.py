"""Leases: periodic work that every ``serve`` process schedules runs in one of them at a time.

Checks, tasks and notifications are claimed row by row (``store.jobs``,
``store.tasks``, the outbox). Scheduled backups, drills, inventories,
fingerprints and the global schedules (feed polls, reminders) are instead
decided by each process's own loop; before doing one, a process takes a
named lease ("backup:42", "schedule:intel-feeds"). Taking it is one
``INSERT … ON CONFLICT (name) DO UPDATE … WHERE expired OR ours RETURNING``,
so of racing processes exactly one gets a row back, on SQLite and
PostgreSQL. A crashed holder's lease simply expires.

The holder is ``settings.worker_name``: stable across restarts, so a
restarted process takes its own leases back at once. Two processes on one
machine therefore need distinct ``SITEKEEPER_WORKER_NAME`` values (as tasks
already require), or they count as one holder and both run the work.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, delete
from sqlalchemy.orm import Session

from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.dialect import upsert_insert
from sitekeeper.store.lease_tables import Lease

T = TypeVar("T")
_CHUNK = 500  # names per statement (3 parameters each; SQLite allows 32,766)


def acquire(conn: Connection, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` until ``now + ttl``; False while another holder has it."""
    return name in acquire_many(conn, [name], holder, now, ttl)


def acquire_many(
    conn: Connection, names: Collection[str], holder: str, now: datetime, ttl: timedelta
) -> set[str]:
    """Take or renew each lease that is free, expired or ours; returns the names taken."""
    taken: set[str] = set()
    # Sorted, so concurrent batches lock rows in one order and cannot deadlock.
    ordered = sorted(set(names))
    for start in range(0, len(ordered), _CHUNK):
        rows = [
            {"name": n, "holder": holder, "expires_at": now + ttl}
            for n in ordered[start : start + _CHUNK]
        ]
        stmt: Any = upsert_insert(conn)(Lease).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=[Lease.name],
            set_={"holder": stmt.excluded.holder, "expires_at": stmt.excluded.expires_at},
            where=(Lease.expires_at <= now) | (Lease.holder == holder),
        ).returning(Lease.name)
        taken.update(conn.scalars(stmt))
    return taken


def release(conn: Connection, name: str, holder: str) -> bool:
    """Give the lease back; only its holder can (False if it was not ours)."""
    return release_many(conn, [name], holder) == 1


def release_many(conn: Connection, names: Collection[str], holder: str) -> int:
    """Give back those of ``names`` that ``holder`` has; returns how many."""
    ordered, count = sorted(set(names)), 0
    for start in range(0, len(ordered), _CHUNK):
        stmt = delete(Lease).where(
            Lease.name.in_(ordered[start : start + _CHUNK]), Lease.holder == holder
        )
        count += conn.execute(stmt).rowcount
    return count


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Leases:
    """One holder's leases on a database, taken and given back off the event loop.

    Beside the writer thread (``DbThread.call_aside``): a lease must not wait behind a
    batch of check results, and a process without a writer thread (the CLI) takes them too.
    """

    def __init__(self, db: Database, holder: str, clock: Callable[[], datetime] = _utcnow) -> None:
        self.db = db
        self.holder = holder
        self.clock = clock
        self._thread = DbThread(db)

    async def take(self, names: Collection[str], ttl: timedelta) -> set[str]:
        """Take (or renew) what is free of ``names`` for ``ttl``; returns the names taken."""
        if not names:
            return set()
        return await self._thread.call_aside(acquire_many, names, self.holder, self.clock(), ttl)

    async def give_back(self, names: Collection[str]) -> None:
        """Release ``names`` (those still ours)."""
        if not names:
            return
        await self._thread.call_aside(release_many, names, self.holder)

    @asynccontextmanager
    async def hold(self, name: str, ttl: timedelta) -> AsyncIterator[bool]:
        """Hold one lease for the block if it is free; yields whether we got it."""
        got = bool(await self.take([name], ttl))
        try:
            yield got
        finally:
            if got:
                await self.give_back([name])

    @asynccontextmanager
    async def claim(
        self, kind: str, ttl: timedelta, due: Callable[[Session], list[int]]
    ) -> AsyncIterator[list[int]]:
        """The site ids ``due`` lists whose lease ``"<kind>:<id>"`` this holder got; released
        on exit. A site another holder has is left out (``due`` offers it again next round).

        ``due`` is asked again once the leases are held: a site that another holder
        finished (and released) after our first look is no longer due and is given back.
        """
        taken = await self.take({f"{kind}:{site_id}" for site_id in await self._due(due)}, ttl)
        try:
            mine = [i for i in (await self._due(due) if taken else []) if f"{kind}:{i}" in taken]
            await self.give_back(taken - {f"{kind}:{i}" for i in mine})
            taken = {f"{kind}:{i}" for i in mine}
            yield mine
        finally:
            await self.give_back(taken)

    async def _due(self, due: Callable[[Session], list[int]]) -> list[int]:
        return await self._thread.session_aside(due)

    def periodic(
        self, name: str, period: float, action: Callable[[], Awaitable[T]]
    ) -> Callable[[], Awaitable[T | None]]:
        """``action`` run only by the holder of ``"schedule:<name>"``; None when skipped.

        The lease lasts a little under ``period`` (so the holder's next tick finds
        it free or its own) and is kept, not released: another process can take it
        only once it has expired, so runs are at least 0.9 periods apart across all
        processes, and a stopped holder is replaced within about one period.
        """
        ttl = timedelta(seconds=period * 0.9)

        @functools.wraps(action)
        async def once() -> T | None:
            if not await self.take([f"schedule:{name}"], ttl):
                return None
            return await action()

        return once


class Granted(Leases):
    """Every lease granted, none written: for a process whose work the job engine already
    keeps one at a time (its job locks, on PostgreSQL). A lease row would only outlive a
    killed worker and hold its work back for the lease's whole life (up to hours), where
    the engine frees a dead worker's lock at its sweep."""

    async def take(self, names: Collection[str], ttl: timedelta) -> set[str]:
        """All of ``names``."""
        return set(names)

    async def give_back(self, names: Collection[str]) -> None:
        """Nothing was written."""

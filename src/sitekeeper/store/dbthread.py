"""The one way to run database work off the event loop: hand a store function to a DbThread.

Async code never opens a session itself: it passes a named store function and
its arguments, ``await dbthread.session(store.x.do_it, a, b)``, and gets the
function's typed result back. Two lanes:

- ``call`` / ``session`` run on one thread, in order. A single writer is what
  SQLite wants anyway, and batches of check results stay in sequence.
- ``call_aside`` / ``session_aside`` run beside it, on the event loop's default
  thread pool: long reads (the hourly summary check, seconds at 100,000 sites)
  and short independent work (leases) that must not wait behind, or hold up,
  the writer. They need no writer thread, so a DbThread used only aside (the
  CLI's leases) starts no thread of its own and needs no ``close``.

It lives in ``store`` so every layer that does database work (engine, backup,
notify, remote) can use it without importing upwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from sitekeeper.store.database import Database

P = ParamSpec("P")
R = TypeVar("R")

ConnWork = Callable[Concatenate[Connection, P], R]
SessionWork = Callable[Concatenate[Session, P], R]


class DbThread:
    """Executes store functions of a connection or a session, one transaction each."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._serial: ThreadPoolExecutor | None = None  # made on first use: see close()
        self._closed = False

    def _writer(self) -> ThreadPoolExecutor:
        if self._closed:
            raise RuntimeError("DbThread used after close()")
        if self._serial is None:
            self._serial = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sitekeeper-db")
        return self._serial

    def _in_transaction(self, fn: ConnWork[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.db.engine.begin() as conn:
            return fn(conn, *args, **kwargs)

    def _in_session(self, fn: SessionWork[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.db.session() as session:
            return fn(session, *args, **kwargs)

    async def _run(self, pool: ThreadPoolExecutor | None, work: Callable[[], R]) -> R:
        return await asyncio.get_running_loop().run_in_executor(pool, work)

    async def call(self, fn: ConnWork[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``fn(conn, ...)`` in a transaction on the database thread."""
        return await self._run(self._writer(), partial(self._in_transaction, fn, *args, **kwargs))

    async def session(self, fn: SessionWork[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``fn(session, ...)`` in a committed session on the database thread."""
        return await self._run(self._writer(), partial(self._in_session, fn, *args, **kwargs))

    async def call_aside(self, fn: ConnWork[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``fn(conn, ...)`` in a transaction beside the database thread (not queued behind it)."""
        return await self._run(None, partial(self._in_transaction, fn, *args, **kwargs))

    async def session_aside(self, fn: SessionWork[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """``fn(session, ...)`` in a committed session beside the database thread."""
        return await self._run(None, partial(self._in_session, fn, *args, **kwargs))

    def close(self) -> None:
        """Wait for queued work and stop the writer thread (if it was ever started)."""
        self._closed = True
        if self._serial is not None:
            self._serial.shutdown(wait=True)

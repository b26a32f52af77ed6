"""Run blocking database work off the event loop, one statement batch at a time.

A single thread serialises writes, which is what SQLite wants anyway and keeps
the event loop free for the probes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from sitekeeper.store.database import Database

P = ParamSpec("P")
R = TypeVar("R")


class DbThread:
    """Executes functions of a connection (or session) in one transaction each."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sitekeeper-db")

    def _in_transaction(
        self, fn: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        with self.db.engine.begin() as conn:
            return fn(conn, *args, **kwargs)

    def _in_session(
        self, fn: Callable[Concatenate[Session, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        with self.db.session() as session:
            return fn(session, *args, **kwargs)

    async def call(
        self, fn: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``fn(conn, ...)`` in a transaction on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, lambda: self._in_transaction(fn, *args, **kwargs)
        )

    async def session(
        self, fn: Callable[Concatenate[Session, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``fn(session, ...)`` in a committed session on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: self._in_session(fn, *args, **kwargs))

    def close(self) -> None:
        """Wait for queued work and stop the thread."""
        self._pool.shutdown(wait=True)

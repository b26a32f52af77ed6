"""What one delivery run has in flight: its claims, renewed while their sends run, and
the sends' outcomes, stored as soon as each send ends, many per transaction.

Both keep the at-least-once window of the outbox short (docs/architecture.md, "Outbox"):
a deliverer that dies is taken over within ``CLAIM_LEASE``, and a message the channel
has is marked sent about one transaction later, not after the rest of its batch. Both
write on the run's own database thread: the sends (Apprise's run in the event loop's
default thread pool) must not hold up a renewal or an outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from sitekeeper.store import outbox as queries
from sitekeeper.store.dbthread import DbThread

log = logging.getLogger(__name__)

# How long a claim holds without renewal: a dead deliverer's rows wait this long at most.
CLAIM_LEASE = timedelta(seconds=30)
# A live deliverer renews its claims this often while sending, so a slow send (up to the
# notifiers' 30 s timeout, and waiting for a free slot before it) never loses its row.
CLAIM_RENEW = timedelta(seconds=10)

Item = TypeVar("Item")
Result = TypeVar("Result")


class Claims:
    """The rows one run has claimed and not yet finished, renewed every ``CLAIM_RENEW``
    until each send's outcome is about to be stored (never after: a renewal must not push
    a retry's backoff out)."""

    def __init__(self, dbthread: DbThread, now: datetime) -> None:
        self._db = dbthread
        self._now = now  # the run's clock; renewals add the time elapsed since
        self._started = asyncio.get_running_loop().time()
        self._lock = asyncio.Lock()
        self._held: dict[int, int] = {}  # row id -> attempts at our claim
        self._renewing = asyncio.create_task(self._renew_until_closed())

    def hold(self, row_id: int, attempts: int) -> None:
        """Renew ``row_id`` (claimed at ``attempts``) from now on."""
        self._held[row_id] = attempts

    async def release(self, row_id: int) -> None:
        """Stop renewing ``row_id`` (its outcome is stored next)."""
        async with self._lock:  # a renewal under way ends first
            self._held.pop(row_id, None)

    async def close(self) -> None:
        """Stop renewing."""
        self._renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._renewing

    async def _renew_until_closed(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(CLAIM_RENEW.total_seconds())
            async with self._lock:
                if not self._held:
                    continue
                elapsed = timedelta(seconds=loop.time() - self._started)
                until = self._now + elapsed + CLAIM_LEASE
                try:
                    await self._db.session(queries.renew_claims, dict(self._held), until=until)
                except SQLAlchemyError:
                    # The next renewal retries; if the lease runs out meanwhile another
                    # deliverer may send the row too (its outcome is then "lost" here).
                    log.exception("renewing %d notification claims failed", len(self._held))


class Outcomes(Generic[Item, Result]):
    """Stores outcomes as they come: whatever arrived while one transaction was being
    written goes into the next (a group commit), so a finished send waits for about
    one transaction, however many sends run."""

    def __init__(
        self, dbthread: DbThread, write: Callable[[Session, list[Item]], list[Result]]
    ) -> None:
        """``write(session, items)`` stores a batch and returns a result per item."""
        self._db = dbthread
        self._write = write
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def store(self, item: Item) -> Result:
        """Store ``item`` with the next batch; its result once that batch committed."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        return await future

    async def close(self) -> None:
        """Stop writing (what still waits is left to its claim's lease)."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                results = await self._db.session(self._write, [item for item, _ in batch])
            except Exception as exc:  # not swallowed: each waiting store() raises it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

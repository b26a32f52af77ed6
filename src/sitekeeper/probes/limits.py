"""At most N things at once per key (a server IP), with no state for idle keys.

Many client sites often live on one shared server; checking them all at the
same second would look like an attack to that server and skew its response
times, so checks queue per IP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedLimiter:
    """One semaphore per key, created on first use and dropped when idle."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self._slots: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        """Wait for a free slot for ``key`` and hold it for the ``with`` block."""
        entry = self._slots.get(key)
        if entry is None:
            entry = (asyncio.Semaphore(self._limit), [0])
            self._slots[key] = entry
        semaphore, users = entry
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                # Nobody holds or waits: forget the key so 10k IPs cost nothing idle.
                del self._slots[key]

    def in_use(self, key: str) -> int:
        """Holders plus waiters for ``key`` (for tests and diagnostics)."""
        entry = self._slots.get(key)
        return entry[1][0] if entry else 0

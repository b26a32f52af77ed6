"""Name resolution for the probes: c-ares on the event loop, bounded, behind a TTL cache.

The HTTP probe resolves a host once to pick the per-IP concurrency slot, then
hands the same resolver to aiohttp, so the connection reuses that answer
instead of asking the system again. Concurrent look-ups of one name share a
single query.

Look-ups go through c-ares (aiodns), not ``getaddrinfo`` in threads: a name
whose DNS server never answers then costs a UDP socket and a timer, not a
worker thread of the loop's default pool, which the database and file work
share. Thousands of dead domains once filled that pool for many minutes and
kept ``serve`` from stopping (bench/dns_resolvers.py has the comparison).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import AsyncResolver

_Key = tuple[str, int, int]
MAX_IN_FLIGHT = 512  # queries at once; a probe waiting for a slot is still under its deadline


def c_ares(
    servers: Sequence[str] = (), *, timeout: float = 2.0, tries: int = 2
) -> AbstractResolver:
    """aiohttp's c-ares resolver: ``servers`` as ``IP[:port]`` (default: /etc/resolv.conf).

    A query gives up after ``timeout`` seconds per try, ``tries`` tries per server.
    Needs a running loop.
    """
    return AsyncResolver(nameservers=list(servers) or None, timeout=timeout, tries=tries)


class CachingResolver(AbstractResolver):
    """Caches successful answers for ``ttl`` seconds; failures are never cached.

    Failures are not cached because a confirming re-check a few seconds later
    must ask again, or a brief DNS glitch would look like a lasting outage.
    """

    def __init__(
        self,
        inner: AbstractResolver | None = None,
        *,
        servers: Sequence[str] = (),
        timeout: float = 2.0,
        ttl: float = 60.0,
        max_entries: int = 50_000,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        """``inner``: who answers (default: c-ares asking ``servers`` with ``timeout``)."""
        self._inner = inner
        self._servers = tuple(servers)
        self._timeout = timeout
        self._slots = asyncio.Semaphore(max_in_flight)
        self._ttl = ttl
        self._max_entries = max_entries
        self._answers: dict[_Key, tuple[float, list[ResolveResult]]] = {}
        self._pending: dict[_Key, asyncio.Future[list[ResolveResult]]] = {}

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The addresses of ``host``, from the cache while fresh."""
        key = (host, port, int(family))
        now = time.monotonic()
        cached = self._answers.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        query = self._pending.get(key)
        if query is None:
            # A task of its own, so one caller's cancellation (its deadline) does
            # not cancel the query the other callers are waiting for.
            query = asyncio.ensure_future(self._query(key, host, port, family))
            query.add_done_callback(_retrieve)
            self._pending[key] = query
        return await asyncio.shield(query)

    async def _query(
        self, key: _Key, host: str, port: int, family: socket.AddressFamily
    ) -> list[ResolveResult]:
        """Ask the inner resolver once and cache a success."""
        try:
            async with self._slots:
                answer = await self._resolver().resolve(host, port, family)
        finally:
            del self._pending[key]
        self._store(key, answer, time.monotonic())
        return answer

    def _resolver(self) -> AbstractResolver:
        """The inner resolver, made on first use (c-ares binds to the running loop)."""
        if self._inner is None:
            self._inner = c_ares(self._servers, timeout=self._timeout)
        return self._inner

    def _store(self, key: _Key, answer: list[ResolveResult], now: float) -> None:
        """Remember an answer, dropping expired entries when the cache is full."""
        if len(self._answers) >= self._max_entries:
            self._answers = {k: v for k, v in self._answers.items() if v[0] > now}
            if len(self._answers) >= self._max_entries:
                self._answers.clear()
        self._answers[key] = (now + self._ttl, answer)

    async def close(self) -> None:
        """Release the inner resolver (its c-ares channel, if one was made)."""
        if self._inner is not None:
            await self._inner.close()


def _retrieve(query: asyncio.Future[list[ResolveResult]]) -> None:
    """Mark a failed query's error as seen; its callers may all have given up."""
    if not query.cancelled():
        query.exception()

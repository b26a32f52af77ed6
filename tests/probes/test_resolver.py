"""CachingResolver: one query per name at a time, answers cached, failures not; c-ares
asks the configured servers, bounded, without tying up threads."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from sqlalchemy import func, select

from sitekeeper.config import Settings
from sitekeeper.probes.fingerprint import FingerprintProbe
from sitekeeper.probes.http import HttpProbe
from sitekeeper.probes.resolver import CachingResolver
from sitekeeper.store.database import Database
from sitekeeper.store.dbthread import DbThread
from sitekeeper.store.tables import Site


class GatedResolver(AbstractResolver):
    """Answers only when the test opens the gate; counts queries."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.asked = asyncio.Event()
        self.queries = 0
        self.fail = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.queries += 1
        self.asked.set()
        await self.gate.wait()
        if self.fail:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(
                hostname=host, host="127.0.0.9", port=port, family=socket.AF_INET, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


async def test_concurrent_lookups_share_one_query_and_the_answer_is_cached() -> None:
    inner = GatedResolver()
    resolver = CachingResolver(inner, ttl=60)
    waiting = [asyncio.create_task(resolver.resolve("a.test", 443)) for _ in range(5)]
    await inner.asked.wait()
    inner.gate.set()
    answers = await asyncio.gather(*waiting)
    again = await resolver.resolve("a.test", 443)
    assert inner.queries == 1
    assert all(a[0]["host"] == "127.0.0.9" for a in answers)
    assert again == answers[0]


async def test_ports_are_kept_apart() -> None:
    inner = GatedResolver()
    inner.gate.set()
    resolver = CachingResolver(inner)
    https = await resolver.resolve("a.test", 443)
    http = await resolver.resolve("a.test", 80)
    assert (https[0]["port"], http[0]["port"]) == (443, 80)


async def test_failures_are_not_cached() -> None:
    inner = GatedResolver()
    inner.gate.set()
    inner.fail = True
    resolver = CachingResolver(inner)
    with pytest.raises(OSError, match="Name or service not known"):
        await resolver.resolve("gone.test")
    inner.fail = False
    answer = await resolver.resolve("gone.test")
    assert answer[0]["host"] == "127.0.0.9"
    assert inner.queries == 2


async def test_expired_answers_are_asked_again() -> None:
    inner = GatedResolver()
    inner.gate.set()
    resolver = CachingResolver(inner, ttl=0)
    await resolver.resolve("a.test")
    await resolver.resolve("a.test")
    assert inner.queries == 2


async def test_one_cancelled_caller_does_not_cancel_the_others() -> None:
    inner = GatedResolver()
    resolver = CachingResolver(inner)
    first = asyncio.create_task(resolver.resolve("a.test"))
    second = asyncio.create_task(resolver.resolve("a.test"))
    await inner.asked.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    inner.gate.set()
    answer = await second
    assert answer[0]["host"] == "127.0.0.9"
    assert inner.queries == 1


@dataclass
class BlackHole:
    """A DNS server that receives every query and never answers."""

    address: str
    queries: int = 0
    asked: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def black_hole() -> AsyncIterator[BlackHole]:
    """A loopback UDP socket that swallows DNS queries, like a dead domain's servers."""
    hole = BlackHole("")

    class Swallow(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            hole.queries += 1
            hole.asked.set()

    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Swallow, local_addr=("127.0.0.1", 0)
    )
    hole.address = "127.0.0.1:{}".format(transport.get_extra_info("sockname")[1])
    yield hole
    transport.close()


async def test_the_configured_dns_server_is_asked_and_silence_fails_in_bounded_time(
    black_hole: BlackHole,
) -> None:
    resolver = CachingResolver(servers=[black_hole.address], timeout=0.2)
    try:
        with pytest.raises(OSError, match=r"(?i)timeout"):
            await asyncio.wait_for(resolver.resolve("dead.example", 80), 30)
    finally:
        await resolver.close()
    assert black_hole.queries >= 1  # asked our server, not the system's


async def test_lookups_in_flight_are_bounded(black_hole: BlackHole) -> None:
    resolver = CachingResolver(servers=[black_hole.address], timeout=30, max_in_flight=3)
    lookups = [asyncio.create_task(resolver.resolve(f"dead-{i}.example")) for i in range(10)]
    try:
        while black_hole.queries < 3:
            black_hole.asked.clear()
            await black_hole.asked.wait()
        # Let every other lookup reach the gate; none may get past it.
        for _ in range(20):
            await asyncio.sleep(0)
        assert black_hole.queries == 3
    finally:
        for lookup in lookups:
            lookup.cancel()
        await asyncio.gather(*lookups, return_exceptions=True)
        await resolver.close()


async def test_waiting_lookups_leave_the_default_thread_pool_free(
    black_hole: BlackHole, sqlite_db: Database
) -> None:
    """Hundreds of names whose server never answers, and database work still runs at once:
    look-ups wait on sockets, not in the worker threads the database work needs."""
    async with HttpProbe(timeout=60, dns_servers=[black_hole.address], dns_timeout=30) as probe:
        checks = [asyncio.create_task(probe.check(f"http://dead-{i}.example/")) for i in range(300)]
        while black_hole.queries < 300:
            black_hole.asked.clear()
            await black_hole.asked.wait()

        def count_sites() -> int:
            with sqlite_db.session() as session:
                return session.scalar(select(func.count()).select_from(Site)) or 0

        dbthread = DbThread(sqlite_db)
        try:
            assert await asyncio.wait_for(asyncio.to_thread(count_sites), 30) == 0
            assert await asyncio.wait_for(dbthread.session(lambda s: count_sites()), 30) == 0
        finally:
            dbthread.close()
        assert not any(check.done() for check in checks)  # all still waiting for DNS
        assert threading.active_count() < 50  # no thread per look-up
        for check in checks:
            check.cancel()
        await asyncio.gather(*checks, return_exceptions=True)


async def test_fingerprints_ask_the_configured_dns_servers(
    black_hole: BlackHole, tmp_path: Path
) -> None:
    """A fingerprint resolves names as checks do: SITEKEEPER_DNS_SERVERS, bounded time."""
    settings = Settings(home=tmp_path, dns_servers=[black_hole.address], dns_timeout=0.2)
    async with FingerprintProbe.from_settings(settings) as probe:
        found = await asyncio.wait_for(probe.fingerprint("http://dead.example/"), 30)
    assert found.error is not None
    assert black_hole.queries >= 1  # asked our server, not the system's

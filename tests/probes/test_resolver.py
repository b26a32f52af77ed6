"""CachingResolver: one query per name at a time, answers cached, failures not."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from sitekeeper.probes.resolver import CachingResolver


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

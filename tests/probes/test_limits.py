"""KeyedLimiter: N holders per key, independent keys, nothing kept for idle keys."""

from __future__ import annotations

import asyncio

import pytest

from sitekeeper.probes.limits import KeyedLimiter


async def test_limit_per_key_and_keys_are_independent() -> None:
    limiter = KeyedLimiter(1)
    release, two_in = asyncio.Event(), asyncio.Event()
    entered: list[str] = []

    async def hold(key: str) -> None:
        async with limiter.hold(key):
            entered.append(key)
            if len(entered) == 2:
                two_in.set()
            await release.wait()

    # Tasks start in order: a broken limit would let the second 10.0.0.1 in before 10.0.0.2.
    first = asyncio.create_task(hold("10.0.0.1"))
    second = asyncio.create_task(hold("10.0.0.1"))
    other = asyncio.create_task(hold("10.0.0.2"))
    await two_in.wait()
    assert entered == ["10.0.0.1", "10.0.0.2"]
    assert limiter.in_use("10.0.0.1") == 2  # one holding, one waiting
    release.set()
    await asyncio.gather(first, second, other)
    assert entered.count("10.0.0.1") == 2


async def test_idle_keys_are_forgotten() -> None:
    limiter = KeyedLimiter(2)
    async with limiter.hold("10.0.0.1"):
        assert limiter.in_use("10.0.0.1") == 1
    assert limiter.in_use("10.0.0.1") == 0
    assert not limiter._slots


async def test_a_cancelled_waiter_leaves_no_trace() -> None:
    limiter = KeyedLimiter(1)
    queued = asyncio.Event()

    async def wait_for_slot() -> None:
        queued.set()  # no await between this and queueing on the semaphore
        async with limiter.hold("k"):
            raise AssertionError("got a slot that was held")

    async with limiter.hold("k"):
        waiter = asyncio.create_task(wait_for_slot())
        await queued.wait()
        assert limiter.in_use("k") == 2
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert limiter.in_use("k") == 1
    assert limiter.in_use("k") == 0


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        KeyedLimiter(0)

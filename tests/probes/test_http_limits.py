"""Per-IP concurrency: many sites on one server are checked a few at a time."""

from __future__ import annotations

import asyncio

from aiohttp import web

from sitekeeper.domain.checks import CheckOptions
from sitekeeper.probes.http import HttpProbe
from tests.probes.conftest import StaticResolver, serve


class Gauge:
    """Counts requests in flight at a server and remembers the peak."""

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0

    def enter(self) -> None:
        self.active += 1
        self.peak = max(self.peak, self.active)

    def leave(self) -> None:
        self.active -= 1


def held_app(gauge: Gauge, full: asyncio.Event, gate: asyncio.Event, at: int) -> web.Application:
    """Each request waits at ``gate``; ``full`` is set once ``at`` are in flight."""
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        gauge.enter()
        try:
            if gauge.active >= at:
                full.set()
            await gate.wait()
            return web.Response(text="ok")
        finally:
            gauge.leave()

    app.router.add_route("*", "/{tail:.*}", handler)
    return app


def quick_app() -> web.Application:
    app = web.Application()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app.router.add_get("/", handler)
    return app


async def test_one_ip_never_sees_more_than_the_limit() -> None:
    """10 sites (names and paths) on 127.0.0.1, limit 2; a site on 127.0.0.2 is not held up."""
    gauge, full, gate = Gauge(), asyncio.Event(), asyncio.Event()
    names = {f"site{i}.test": "127.0.0.1" for i in range(10)} | {"other.test": "127.0.0.2"}
    probe = HttpProbe(timeout=10, per_ip_concurrency=2, resolver=StaticResolver(names))
    async with (
        serve(held_app(gauge, full, gate, at=2), "127.0.0.1") as shared,
        serve(quick_app(), "127.0.0.2") as other,
        probe,
    ):
        checks = [
            asyncio.create_task(probe.check(shared.url(f"/p{i}", name=f"site{i}.test")))
            for i in range(10)
        ]
        try:
            await full.wait()
            # While 127.0.0.1 is saturated, another IP is checked at once; by the time
            # this round trip is done, unthrottled requests would have reached the server.
            elsewhere = await probe.check(other.url(name="other.test"))
            assert elsewhere.up, elsewhere
            assert gauge.active == 2
        finally:
            gate.set()  # a failed assertion must not leave the server's handlers hanging
        results = await asyncio.gather(*checks)
    assert all(r.up for r in results), [r for r in results if not r.up]
    assert gauge.peak == 2


async def test_waiting_for_a_slot_is_not_charged_to_the_deadline() -> None:
    """Queued checks of a slow shared server must not time out for our own queueing."""
    gauge, full, gate = Gauge(), asyncio.Event(), asyncio.Event()
    probe = HttpProbe(per_ip_concurrency=1)
    async with serve(held_app(gauge, full, gate, at=1)) as site, probe:
        first = asyncio.create_task(probe.check(site.url("/1"), CheckOptions(timeout=30)))
        try:
            await full.wait()
            queued = asyncio.create_task(probe.check(site.url("/2"), CheckOptions(timeout=0.3)))
            # The first holds the only slot past the second's whole deadline.
            done, _ = await asyncio.wait({queued}, timeout=0.6)
            assert not done, "the queued check ran out its deadline while waiting for a slot"
        finally:
            gate.set()
        results = await asyncio.gather(first, queued)
    assert all(r.up for r in results), results


async def test_different_ips_do_not_throttle_each_other() -> None:
    """Limit 1 per IP: a request held at 127.0.0.2 must not block one to 127.0.0.3."""
    gauge, both, gate = Gauge(), asyncio.Event(), asyncio.Event()
    async with (
        serve(held_app(gauge, both, gate, at=2), "127.0.0.2") as a,
        serve(held_app(gauge, both, gate, at=2), "127.0.0.3") as b,
        HttpProbe(timeout=10, per_ip_concurrency=1) as probe,
    ):
        checks = [asyncio.create_task(probe.check(s.url())) for s in (a, b)]
        await both.wait()  # never set if the second IP waited for the first
        gate.set()
        results = await asyncio.gather(*checks)
    assert all(r.up for r in results), results
    assert gauge.peak == 2

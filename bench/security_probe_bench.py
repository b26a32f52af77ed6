"""The outside security checks of 1,000 simulated sites: requests per site, total time,
with the per-IP limits respected.

The loopback fleet simulator's sites answer every path with their page (200): a
fleet of soft-404 sites, so any exposure finding here would be a false alarm. Each
site has an address of its own (127.x.y.z), so the per-IP limit holds per site; the
peak of requests in flight per address is measured at the probe's per-IP slots.
A WordPress site asks more (its own paths, user enumeration, XML-RPC): one is probed
on an aiohttp site on loopback beside the fleet to give that figure too.

    .venv/bin/python bench/security_probe_bench.py [--sites 1000] [--concurrency 200]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from _common import command_line, proc_cpu_s, start_simulator
from aiohttp import web

from sitekeeper.domain.exposure import SecurityReport
from sitekeeper.probes.fingerprint import CMS_SIGNALS
from sitekeeper.probes.limits import KeyedLimiter
from sitekeeper.probes.security.checks import CHECKS
from sitekeeper.probes.security.probe import SecurityProbe

WP_HOME = (
    b"<!doctype html><html><head><title>Blog</title>"
    b'<meta name="generator" content="WordPress 6.8.1" /></head><body>Hallo</body></html>'
)


class PeakLimiter(KeyedLimiter):
    """The probe's per-IP slots, remembering the most holders any one address had."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.peak = 0
        self._holding: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with super().hold(key):
            self._holding[key] += 1
            self.peak = max(self.peak, self._holding[key])
            try:
                yield
            finally:
                self._holding[key] -= 1


async def wordpress_requests() -> SecurityReport:
    """One WordPress site that answers every path with its page: what such a site costs."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(body=WP_HOME, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with SecurityProbe() as probe:
            return await probe.probe(f"http://127.0.0.1:{port}/")
    finally:
        await runner.cleanup()


async def probe_fleet(
    urls: list[str], concurrency: int, per_ip: int
) -> tuple[list[SecurityReport], float, int]:
    """Every URL with one shared probe, ``concurrency`` sites at once."""
    probe = SecurityProbe(per_ip_concurrency=per_ip)
    limiter = PeakLimiter(per_ip)
    probe._limiter = limiter  # measure at the very slots the probe takes
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str) -> SecurityReport:
        async with gate:
            return await probe.probe(url)

    CHECKS.kinds(), CMS_SIGNALS.kinds()  # import the checks and CMS readers before the clock
    async with probe:
        started = time.perf_counter()
        reports = await asyncio.gather(*(one(u) for u in urls))
        wall = time.perf_counter() - started
    return list(reports), wall, limiter.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200, help="sites probed at once")
    parser.add_argument("--per-ip", type=int, default=4, help="requests at once per address")
    parser.add_argument("--latency", default="5-50ms")
    parser.add_argument("--https-fraction", type=float, default=0.1)
    args = parser.parse_args()

    print(f"# {command_line()}")
    print(f"# load average {os.getloadavg()[0]:.1f} at the start")
    work = Path(tempfile.mkdtemp(prefix="bench-security-"))
    ca, manifest = work / "ca.pem", work / "sites.csv"
    sim = start_simulator(
        "--sites", str(args.sites), "--latency", args.latency,
        "--https-fraction", str(args.https_fraction), "--ca", str(ca), "--manifest", str(manifest),
    )  # fmt: skip
    try:
        with manifest.open(newline="") as f:
            urls = [row["url"] for row in csv.DictReader(f)]
        os.environ["SSL_CERT_FILE"] = str(ca)  # read by the probe's first default context
        sim_cpu0 = proc_cpu_s(sim.pid)
        cpu0 = time.process_time()
        reports, wall, peak = asyncio.run(probe_fleet(urls, args.concurrency, args.per_ip))
        cpu = time.process_time() - cpu0
        sim_cpu = proc_cpu_s(sim.pid) - sim_cpu0
    finally:
        sim.stop()
    requests = [r.requests for r in reports]
    failed = [r for r in reports if r.error]
    by_check = Counter((i.check, str(i.severity)) for r in reports for i in r.issues)
    exposures = sum(n for (check, _), n in by_check.items() if check == "exposed-file")
    https = sum(1 for u in urls if u.startswith("https://"))
    print(f"sites                    {len(urls)} ({https} https)")
    print(f"wall                     {wall:.1f} s  ({len(urls) / wall:.0f} sites/s)")
    print(f"probe CPU                {cpu:.1f} s   simulator CPU {sim_cpu:.1f} s")
    print(
        f"requests per site        mean {statistics.mean(requests):.1f}, "
        f"min {min(requests)}, max {max(requests)}; total {sum(requests)}"
    )
    handshakes = sum(r.handshakes for r in reports)
    print(f"TLS handshakes           {handshakes} (1.0 and 1.1 per https site)")
    print(f"per-IP peak in flight    {peak} (limit {args.per_ip})")
    print(f"sites not reachable      {len(failed)}")
    print(f"exposure findings        {exposures} (a soft-404 fleet: must be 0)")
    for (check, severity), n in sorted(by_check.items()):
        print(f"  {check:<22} {severity:<8} {n}")
    wp = asyncio.run(wordpress_requests())
    print(f"a WordPress site         {wp.requests} requests (its paths, user enumeration, XML-RPC)")


if __name__ == "__main__":
    main()

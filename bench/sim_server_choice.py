"""Which server keeps the simulator's CPU per request lowest, and what TLS costs it.

Compares, on the same sites and load, the simulator's hand-written asyncio
protocol with aiohttp's low-level server (``aiohttp.web.Server``), both in a
subprocess; the load comes from an aiohttp client in this process. The figure
is the *server's* CPU (utime+stime from /proc) divided by requests served.
Then measures HTTPS: start-up time and per-connection CPU for leaf
certificates shared by 1, 250 or 1000 sites (more IP SANs = bigger handshake).

    .venv/bin/python bench/sim_server_choice.py [--sites 200] [--requests 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import subprocess
import sys
import time
from pathlib import Path

from _common import PYTHON, Simulator, command_line, measure, start_simulator
from aiohttp import web

from sitekeeper.simulator.fleet import site_address


async def _serve_aiohttp(sites: int) -> None:
    """The alternative: aiohttp's low-level server on the same addresses."""

    async def handler(request: web.BaseRequest) -> web.Response:
        host = request.host.split(":")[0]
        return web.Response(
            text=f"<!doctype html><html><head><title>{host}</title></head><body>ok</body></html>",
            content_type="text/html",
        )

    server = web.Server(handler, access_log=None)
    loop = asyncio.get_running_loop()
    first = await loop.create_server(server, site_address(0), 0)
    port = first.sockets[0].getsockname()[1]
    for i in range(1, sites):
        await loop.create_server(server, site_address(i), port)
    print(f'ready {{"port": {port}}}', flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--serve-aiohttp", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_aiohttp:
        asyncio.run(_serve_aiohttp(args.serve_aiohttp))
        return

    print(f"# {command_line()}")
    print(f"{'server':<22}{'connections':<14}{'server CPU µs/req':>18}{'req/s':>10}")
    servers: list[tuple[str, Simulator]] = []
    raw = start_simulator("--sites", str(args.sites))
    servers.append(("asyncio protocol", raw))
    proc = subprocess.Popen(
        [PYTHON, __file__, "--serve-aiohttp", str(args.sites)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    port = int(line.split('"port": ')[1].rstrip("}\n"))
    servers.append(("aiohttp.web.Server", Simulator(proc, {"port": port})))
    for name, sim in servers:
        urls = [f"http://{site_address(i)}:{sim.ready['port']}/" for i in range(args.sites)]
        for keepalive in (True, False):
            us, rate = measure(sim.pid, urls, args.requests, args.concurrency, keepalive)
            label = "keep-alive" if keepalive else "new per req"
            print(f"{name:<22}{label:<14}{us:>18.1f}{rate:>10.0f}")
        sim.proc.terminate()
        sim.proc.wait()

    print()
    print(f"{'HTTPS sites per cert':<22}{'start-up s':>12}{'server CPU µs/req':>19}{'req/s':>10}")
    tls_requests = max(2000, args.requests // 5)
    for per_cert in (1, 10, 250, 1000):
        ca = Path(f"/tmp/sim-choice-ca-{per_cert}.pem")
        t0 = time.perf_counter()
        sim = start_simulator(
            "--sites",
            "1000",
            "--https-fraction",
            "1",
            "--sans-per-cert",
            str(per_cert),
            "--ca",
            str(ca),
        )
        startup = time.perf_counter() - t0
        ctx = ssl.create_default_context(cafile=str(ca))
        urls = [f"https://{site_address(i)}:{sim.ready['port']}/" for i in range(1000)]
        us, rate = measure(sim.pid, urls, tls_requests, args.concurrency, False, ctx)
        print(f"{per_cert:<22}{startup:>12.2f}{us:>19.1f}{rate:>10.0f}")
        sim.proc.terminate()
        sim.proc.wait()
    sys.stdout.flush()


if __name__ == "__main__":
    main()

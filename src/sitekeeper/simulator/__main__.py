"""``python -m sitekeeper.simulator``: run a fleet as a process, for bench/ and manual tests.

Prints ``ready {json}`` on stdout once every site listens, so a harness waits
on that line instead of sleeping. A small control API on 127.0.0.1 flips sites
down and up and reports counters:

- ``GET  /stats[?per_site=1]``
- ``POST /sites/{i}/down[?mode=503|refuse]``
- ``POST /sites/{i}/up``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from sitekeeper.simulator.fleet import Fleet, parse_latency


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sitekeeper.simulator", description=__doc__)
    parser.add_argument("--sites", type=int, default=100, help="number of sites")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--port", type=int, default=0, help="port of every site (0: any free)")
    parser.add_argument("--https-fraction", type=float, default=0.0)
    parser.add_argument("--latency", default="0ms", help="fixed (20ms) or range (5-50ms)")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="fraction of requests")
    parser.add_argument("--fail-mode", choices=["500", "reset", "mixed"], default="mixed")
    parser.add_argument("--flap-fraction", type=float, default=0.0, help="fraction of sites")
    parser.add_argument("--flap-period", type=float, default=600.0, help="seconds")
    parser.add_argument("--flap-down", type=float, default=120.0, help="seconds down per period")
    parser.add_argument("--body-bytes", type=int, default=0, help="pad each page to this size")
    parser.add_argument("--sans-per-cert", type=int, default=10, help="HTTPS sites per cert")
    parser.add_argument(
        "--listeners",
        choices=["auto", "site", "port"],
        default="auto",
        help="one listening socket per site, or one per port on 0.0.0.0 (auto: per site "
        "while the open-files limit allows)",
    )
    parser.add_argument("--idle-timeout", type=float, default=30.0, help="keep-alive, seconds")
    parser.add_argument("--manifest", type=Path, help="write url,name,tags CSV here")
    parser.add_argument("--client", help="add a client column with this name to the manifest")
    parser.add_argument("--ca", type=Path, help="write the CA certificate (PEM) here")
    parser.add_argument("--control-port", type=int, default=0, help="on 127.0.0.1 (0: any)")
    return parser


def _control_app(fleet: Fleet) -> web.Application:
    """The control API: cheap enough to use aiohttp.web, unlike the sites themselves."""

    def site_index(request: web.Request) -> int:
        try:
            index = int(request.match_info["i"])
        except ValueError:
            raise web.HTTPBadRequest(text="site index must be an integer") from None
        if not 0 <= index < len(fleet.sites):
            raise web.HTTPNotFound(text=f"no site {index}")
        return index

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(fleet.stats(per_site=request.query.get("per_site") == "1"))

    async def down(request: web.Request) -> web.Response:
        mode = request.query.get("mode", "503")
        if mode not in ("503", "refuse"):
            raise web.HTTPBadRequest(text="mode must be 503 or refuse")
        index = site_index(request)
        fleet.set_down(index, "refuse" if mode == "refuse" else "503")
        return web.json_response({"site": index, "down": mode})

    async def up(request: web.Request) -> web.Response:
        index = site_index(request)
        fleet.set_up(index)
        return web.json_response({"site": index, "down": None})

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/sites/{i}/down", down)
    app.router.add_post("/sites/{i}/up", up)
    return app


def _quiet_exceptions(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Clients that vanish mid-handshake are normal under load; log anything else."""
    if isinstance(context.get("exception"), (ConnectionError, OSError, TimeoutError)):
        return
    loop.default_exception_handler(context)


async def run(args: argparse.Namespace) -> None:
    """Serve until SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_quiet_exceptions)
    fleet = Fleet(
        args.sites,
        seed=args.seed,
        https_fraction=args.https_fraction,
        latency_ms=parse_latency(args.latency),
        fail_rate=args.fail_rate,
        fail_mode=args.fail_mode,
        flap_fraction=args.flap_fraction,
        flap_period=args.flap_period,
        flap_down=args.flap_down,
        body_bytes=args.body_bytes,
        port=args.port,
        ca_path=args.ca,
        sans_per_cert=args.sans_per_cert,
        idle_timeout=args.idle_timeout,
        listeners=args.listeners,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with fleet:
        if args.manifest:
            fleet.write_manifest(args.manifest, client=args.client)
        runner = web.AppRunner(_control_app(fleet), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.control_port)
        await site.start()
        control_port = runner.addresses[0][1]
        ready = {
            "sites": len(fleet.sites),
            "port": fleet.port,
            "listeners": fleet.listener_count,
            "control": f"http://127.0.0.1:{control_port}",
            "ca": str(fleet.ca_path) if fleet.ca_path else None,
            "manifest": str(args.manifest) if args.manifest else None,
        }
        print("ready", json.dumps(ready), flush=True)
        await stop.wait()
        await runner.cleanup()
        print("stats", json.dumps(fleet.stats()), flush=True)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve."""
    args = _parser().parse_args(argv)
    try:
        parse_latency(args.latency)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

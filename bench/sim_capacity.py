"""How much the simulator itself can serve: start-up, memory, CPU per request at 10,000 sites.

The load comes from an aiohttp client in this process, which on a 2-core box
costs more CPU per request than the simulator does; so the observed rate is
the client's limit, and the simulator's capacity is 1 / (its CPU per request).

    .venv/bin/python bench/sim_capacity.py [--sites 10000] [--https-fraction 0.1]
"""

from __future__ import annotations

import argparse
import csv
import os
import ssl
import time
from pathlib import Path

from _common import command_line, measure, proc_cpu_s, proc_hwm_mib, start_simulator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--https-fraction", type=float, default=0.1)
    parser.add_argument("--listeners", choices=["auto", "site", "port"], default="auto")
    parser.add_argument("--sans-per-cert", type=int, default=10)
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--ca", type=Path, default=Path("/tmp/sim-capacity-ca.pem"))
    parser.add_argument("--manifest", type=Path, default=Path("/tmp/sim-capacity.csv"))
    args = parser.parse_args()

    print(f"# {command_line()}")
    t0 = time.perf_counter()
    sim = start_simulator(
        "--sites", str(args.sites), "--https-fraction", str(args.https_fraction),
        "--ca", str(args.ca), "--manifest", str(args.manifest), "--listeners", args.listeners,
        "--sans-per-cert", str(args.sans_per_cert),
    )  # fmt: skip
    startup = time.perf_counter() - t0
    fds = len(os.listdir(f"/proc/{sim.pid}/fd"))
    print(f"sites {args.sites}, HTTPS fraction {args.https_fraction}, "
          f"listeners {sim.ready['listeners']}")  # fmt: skip
    print(f"start-up to ready: {startup:.2f} s, CPU {proc_cpu_s(sim.pid):.2f} s, open files {fds}")
    print(f"RSS peak after start-up: {proc_hwm_mib(sim.pid):.0f} MiB")

    ctx = ssl.create_default_context(cafile=str(args.ca))
    with args.manifest.open(newline="") as f:
        urls = [row["url"] for row in csv.DictReader(f)]
    http_urls = [u for u in urls if u.startswith("http://")]
    https_urls = [u for u in urls if u.startswith("https://")]

    print(f"{'scenario':<28}{'sim CPU µs/req':>16}{'capacity req/s':>16}{'observed req/s':>16}")
    runs = [
        ("HTTP, new connection", http_urls, False, args.requests),
        ("HTTP, keep-alive", http_urls, True, args.requests),
        ("HTTPS, new connection", https_urls, False, args.requests // 5),
    ]
    try:
        for name, urls, keepalive, total in runs:
            if not urls:
                continue
            us, rate = measure(sim.pid, urls, total, args.concurrency, keepalive, ctx)
            print(f"{name:<28}{us:>16.1f}{1e6 / us:>16.0f}{rate:>16.0f}")
        print(f"RSS peak after load: {proc_hwm_mib(sim.pid):.0f} MiB")
    finally:
        stats = sim.stop()  # also when the load generator fails (it has open-file limits too)
    if stats:
        print(f"simulator counters: {stats}")


if __name__ == "__main__":
    main()

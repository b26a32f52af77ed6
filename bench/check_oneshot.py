"""One-shot checks of 5,000 loopback sites: sitekeeper against a bare aiohttp loop.

Side by side in one run, against the same simulator subprocess:

(a) bare   -- one aiohttp ClientSession, bounded concurrency, GET each URL, read the body:
              the floor of what any Python checker can do;
(b) cli    -- ``sitekeeper check --json URL...`` as a subprocess (includes start-up);
(b') probe -- ``sitekeeper.probes.http.HttpProbe`` in-process (what (b) runs, minus start-up).

Target: sitekeeper >= 50 % of the bare loop's sites/s. HTTPS sites are trusted
through SSL_CERT_FILE (the simulator's CA), which the probe's default context honours.
The CLI's start-up is measured on its own too: ``sitekeeper check --json`` of one
refused URL (imports, settings, event loop, exit), best of five, wall and CPU. The
load average is printed before and after: on a shared machine it moves every figure.

    .venv/bin/python bench/check_oneshot.py [--sites 5000] [--concurrency 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _common import command_line, proc_cpu_s, start_simulator

TARGET_RATIO = 0.5
SITEKEEPER = str(Path(sys.executable).parent / "sitekeeper")  # the venv's, not whatever is on PATH


@dataclass
class Run:
    """One pass over every URL."""

    wall_s: float
    cpu_s: float
    up: int


@dataclass
class Contender:
    name: str
    runs: list[Run] = field(default_factory=list)

    def best(self) -> Run:
        return min(self.runs, key=lambda r: r.wall_s)


async def bare_loop(urls: list[str], concurrency: int, ctx: ssl.SSLContext) -> int:
    """(a): the simplest correct checker; returns how many answered 2xx/3xx."""
    sem = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=ctx)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(url: str) -> bool:
            async with sem:
                try:
                    async with session.get(url) as resp:
                        await resp.read()
                        return resp.status < 400
                except (aiohttp.ClientError, TimeoutError):
                    return False

        return sum(await asyncio.gather(*(one(u) for u in urls)))


async def probe_loop(urls: list[str], concurrency: int) -> int:
    """(b'): sitekeeper's probe in-process, with the settings the CLI uses."""
    # Imported late: the probe and engine are written concurrently with this harness.
    from sitekeeper.config import load_settings  # noqa: PLC0415
    from sitekeeper.domain.checks import CheckOptions  # noqa: PLC0415
    from sitekeeper.engine.oneshot import OneShotTarget, check_all  # noqa: PLC0415

    targets = [OneShotTarget(u, CheckOptions()) for u in urls]
    results = await check_all(targets, load_settings(), concurrency=concurrency)
    return sum(r.up for r in results)


def timed_inprocess(fn: Callable[[], Coroutine[Any, Any, int]]) -> Run:
    cpu0, t0 = time.process_time(), time.perf_counter()
    up = asyncio.run(fn())
    return Run(time.perf_counter() - t0, time.process_time() - cpu0, up)


def cli_run(urls: list[str], concurrency: int, env: dict[str, str]) -> Run:
    """(b): the real command, start-up included; CPU from RUSAGE_CHILDREN."""
    cmd = [SITEKEEPER, "check", "--json", "--concurrency", str(concurrency), *urls]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"sitekeeper check failed ({proc.returncode}): {proc.stderr[-2000:]}")
    results = json.loads(proc.stdout)
    if len(results) != len(urls) or not {"url", "up", "status", "error"} <= set(results[0]):
        raise RuntimeError("unexpected `sitekeeper check --json` output")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Run(wall, cpu, sum(bool(r["up"]) for r in results))


def cli_startup(env: dict[str, str], runs: int = 5) -> tuple[float, float]:
    """Best wall and CPU seconds of the CLI checking one refused URL: its fixed cost."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        cmd = [SITEKEEPER, "check", "--json", "http://127.0.0.1:1/"]
        subprocess.run(cmd, capture_output=True, env=env, check=False)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency", default="5-50ms")
    parser.add_argument("--https-fraction", type=float, default=0.1)
    args = parser.parse_args()

    print(f"# {command_line()}")
    print(f"# load average {os.getloadavg()[0]:.1f} at the start")
    work = Path(tempfile.mkdtemp(prefix="bench-oneshot-"))
    ca, manifest = work / "ca.pem", work / "sites.csv"
    sim = start_simulator(
        "--sites", str(args.sites), "--latency", args.latency,
        "--https-fraction", str(args.https_fraction), "--ca", str(ca), "--manifest", str(manifest),
    )  # fmt: skip
    with manifest.open(newline="") as f:
        urls = [row["url"] for row in csv.DictReader(f)]
    os.environ["SSL_CERT_FILE"] = str(ca)  # read by the probe's first default context
    env = dict(os.environ, SITEKEEPER_HOME=str(work / "home"))
    os.environ["SITEKEEPER_HOME"] = env["SITEKEEPER_HOME"]
    ctx = ssl.create_default_context(cafile=str(ca))

    bare, cli, probe = Contender("bare aiohttp loop"), Contender("sitekeeper check (CLI)"), None
    try:
        from sitekeeper.probes.http import HttpProbe  # noqa: F401, PLC0415

        probe = Contender("HttpProbe in-process")
    except ImportError:
        print("(sitekeeper.probes.http not importable: skipping the in-process probe)")
    sim_cpu: dict[str, float] = {}
    for _ in range(args.rounds):
        for contender in (bare, probe, cli):
            if contender is None:
                continue
            cpu0 = proc_cpu_s(sim.pid)
            if contender is bare:
                run = timed_inprocess(lambda: bare_loop(urls, args.concurrency, ctx))
            elif contender is probe:
                run = timed_inprocess(lambda: probe_loop(urls, args.concurrency))
            else:
                try:
                    run = cli_run(urls, args.concurrency, env)
                except (RuntimeError, FileNotFoundError, json.JSONDecodeError) as exc:
                    print(f"(CLI not usable: {exc})")
                    cli = None  # type: ignore[assignment]
                    continue
            sim_cpu[contender.name] = proc_cpu_s(sim.pid) - cpu0
            contender.runs.append(run)

    startup = cli_startup(env) if cli is not None else None
    sim.stop()

    print(
        f"{args.sites} sites ({args.https_fraction:.0%} HTTPS), latency {args.latency}, "
        f"concurrency {args.concurrency}, best of {args.rounds}"
    )
    print(f"{'contender':<26}{'best sites/s':>13}{'CPU ms/check':>14}{'up':>6}"
          f"{'median sites/s':>16}{'vs bare (best)':>16}{'(median)':>10}")  # fmt: skip
    base = args.sites / bare.best().wall_s
    base_median = statistics.median(args.sites / r.wall_s for r in bare.runs)
    for contender in (bare, probe, cli):
        if contender is None or not contender.runs:
            continue
        best = contender.best()
        rate = args.sites / best.wall_s
        median = statistics.median(args.sites / r.wall_s for r in contender.runs)
        print(
            f"{contender.name:<26}{rate:>13.0f}{best.cpu_s / args.sites * 1000:>14.2f}"
            f"{best.up:>6}{median:>16.0f}{rate / base:>16.0%}{median / base_median:>10.0%}"
        )
    if startup is not None:
        print(
            f"(start-up, `sitekeeper check --json` of one refused URL: {startup[0]:.2f} s wall, "
            f"{startup[1]:.2f} s CPU, best of 5; included in the CLI row)"
        )
    print(f"target: sitekeeper >= {TARGET_RATIO:.0%} of the bare loop")
    print(f"# load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()

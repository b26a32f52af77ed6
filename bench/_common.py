"""Helpers shared by the benchmarks: start the simulator, read /proc, print commands."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

PYTHON = sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")


def command_line() -> str:
    """The exact command that produced the figures (printed with them)."""
    return shlex.join([PYTHON, *sys.argv])


def proc_cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds (from /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_hwm_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Simulator:
    """A simulator subprocess and what it announced on its ``ready`` line."""

    proc: subprocess.Popen[str]
    ready: dict[str, Any]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> dict[str, Any] | None:
        """SIGTERM, then the final ``stats`` line it prints."""
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=60)
        for line in out.splitlines():
            if line.startswith("stats "):
                stats: dict[str, Any] = json.loads(line[6:])
                return stats
        return None


def start_simulator(*args: str) -> Simulator:
    """Start ``python -m sitekeeper.simulator ARGS`` and wait for its ``ready`` line."""
    cmd = [PYTHON, "-m", "sitekeeper.simulator", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ready "):
            return Simulator(proc, json.loads(line[6:]))
    proc.wait()
    raise RuntimeError(f"simulator exited ({proc.returncode}) before ready: {shlex.join(cmd)}")


async def load(
    urls: list[str], total: int, concurrency: int, keepalive: bool, ctx: ssl.SSLContext | bool
) -> float:
    """GET ``total`` requests round-robin over ``urls``; return wall seconds."""
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=not keepalive, ssl=ctx)
    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(url: str) -> None:
            async with sem, session.get(url) as resp:
                await resp.read()
                assert resp.status == 200, resp.status

        t0 = time.perf_counter()
        await asyncio.gather(*(one(urls[i % len(urls)]) for i in range(total)))
        return time.perf_counter() - t0


def measure(
    pid: int,
    urls: list[str],
    total: int,
    concurrency: int,
    keepalive: bool,
    ctx: ssl.SSLContext | bool = False,
) -> tuple[float, float]:
    """(CPU µs per request of process ``pid``, requests/s) for one load run after a warm-up."""
    asyncio.run(load(urls, 200, concurrency, keepalive, ctx))
    cpu0 = proc_cpu_s(pid)
    wall = asyncio.run(load(urls, total, concurrency, keepalive, ctx))
    return (proc_cpu_s(pid) - cpu0) / total * 1e6, total / wall

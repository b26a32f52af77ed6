"""Name resolution for checks: c-ares (aiodns) against a dedicated bounded thread pool.

One loopback DNS server (a child process, 127.0.0.1:53) answers every A query for
``live-*`` names with 127.0.0.1 and swallows every query for ``dead-*`` names, as
the servers of a dead domain do. For each contender:

- answered/s: N distinct live names resolved;
- live after dead (s): N dead look-ups started first, then N live ones: how long
  until the live ones are all resolved (head-of-line blocking behind dead names);
- pool lag (ms): while the dead look-ups wait, the worst latency of
  ``asyncio.to_thread`` (the loop's default pool, which database and file work use);
- threads: threads alive meanwhile;
- stop (s): with the dead look-ups in flight, time from "stop" until the resolver
  is closed and its threads are gone (what SIGTERM waits for).

The thread pool calls the system's ``getaddrinfo``, which reads /etc/resolv.conf
and only knows port 53, so the measurements run in a private mount namespace
(``unshare -m``, needs root) where resolv.conf names the loopback server with
``options timeout:T attempts:2``; c-ares is given the same server, timeout and tries.

    .venv/bin/python bench/dns_resolvers.py [--names 1000] [--pool 64 256] [--timeout 2]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import command_line


def _dns_server(ready: Any) -> None:
    """Child process: answers ``live-*`` names, swallows ``dead-*`` ones."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 53))
    ready.put(True)
    while True:
        data, addr = server.recvfrom(4096)
        if data[13:18] == b"dead-":  # the first label, after its length byte
            continue
        ident, flags = struct.unpack("!HH", data[:4])
        end = data.index(b"\0", 12) + 5  # the question: name, type, class
        qtype = struct.unpack("!H", data[end - 4 : end - 2])[0]
        answer = b""
        if qtype == 1:  # A: 127.0.0.1, TTL 60
            answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        header = struct.pack(
            "!HHHHHH", ident, 0x8000 | (flags & 0x0100) | 0x0080, 1, 1 if answer else 0, 0, 0
        )
        server.sendto(header + data[12:end] + answer, addr)


class PoolResolver:
    """getaddrinfo in a dedicated bounded thread pool (the alternative to c-ares)."""

    def __init__(self, workers: int) -> None:
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="dns")

    async def resolve(self, host: str) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.pool, socket.getaddrinfo, host, 80, socket.AF_INET, socket.SOCK_STREAM
        )

    async def close(self) -> None:
        # Queued look-ups are dropped; running ones cannot be interrupted.
        self.pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(self.pool.shutdown, wait=True)


class AresResolver:
    """sitekeeper's resolver: c-ares on the event loop (without its answer cache)."""

    def __init__(self, timeout: float) -> None:
        from sitekeeper.probes.resolver import c_ares  # noqa: PLC0415

        self.inner = c_ares(["127.0.0.1:53"], timeout=timeout)

    async def resolve(self, host: str) -> Any:
        return await self.inner.resolve(host, 80, socket.AF_INET)

    async def close(self) -> None:
        await self.inner.close()


async def _settle(coros: list[Any]) -> None:
    await asyncio.gather(*coros, return_exceptions=True)


async def run_contender(name: str, make: Any, names: int) -> None:
    figures: list[float] = []
    resolver = make()
    t0 = time.perf_counter()
    await _settle([resolver.resolve(f"live-{i}.test") for i in range(names)])
    figures.append(names / (time.perf_counter() - t0))
    await resolver.close()

    resolver = make()
    dead = [asyncio.create_task(resolver.resolve(f"dead-{i}.test")) for i in range(names)]
    await asyncio.sleep(0.05)  # the dead ones are asked first
    t0 = time.perf_counter()
    await _settle([resolver.resolve(f"live-x{i}.test") for i in range(names)])
    figures.append(time.perf_counter() - t0)
    lags = []
    for _ in range(20):
        t1 = time.perf_counter()
        await asyncio.to_thread(lambda: None)
        lags.append(time.perf_counter() - t1)
    figures += [max(lags) * 1000, threading.active_count()]
    t0 = time.perf_counter()
    for task in dead:
        task.cancel()
    await _settle(dead)
    await resolver.close()
    figures.append(time.perf_counter() - t0)
    print(f"{name:<30}" + "".join(f"{v:>14.2f}" for v in figures), flush=True)


def measure(args: argparse.Namespace) -> None:
    """In the namespace whose resolv.conf names the loopback server."""
    print(
        f"{args.names} names, {args.timeout:g} s per try, 2 tries\n"
        f"{'contender':<30}{'answered/s':>14}{'live after':>14}{'pool lag ms':>14}"
        f"{'threads':>14}{'stop (s)':>14}"
    )
    asyncio.run(run_contender("c-ares (aiodns)", lambda: AresResolver(args.timeout), args.names))
    for workers in args.pool:
        label = f"thread pool of {workers}"
        asyncio.run(run_contender(label, lambda n=workers: PoolResolver(n), args.names))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--names", type=int, default=1000)
    parser.add_argument("--pool", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        measure(args)
        return
    print(f"# {command_line()}")
    ready: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=_dns_server, args=(ready,), daemon=True)
    server.start()
    ready.get(timeout=10)
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as conf:
        conf.write(f"nameserver 127.0.0.1\noptions timeout:{args.timeout:g} attempts:2\n")
        conf.flush()
        script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
        command = [sys.executable, *sys.argv, "--inside"]
        try:
            subprocess.run(["unshare", "-m", "sh", "-c", script, conf.name, *command], check=True)
        finally:
            server.terminate()


if __name__ == "__main__":
    main()

"""CPU per uptime check: our HttpProbe against plain aiohttp and bare asyncio clients.

Answers "how much CPU does one check cost in our probe, and what is the floor of any
Python asyncio HTTP client on this machine?" before anyone rewrites the probe. One
simulator subprocess (``--sites`` sites on 127.x, ``--https-fraction`` of them HTTPS
with its test CA, every site up) is checked by each client in turn, every URL once per
round, one new connection per check, ``--concurrency`` checks in flight:

- ``probe``: ``ProbeSet.from_settings(load_settings())``, the probes serve's check
  worker runs (egress policy, resolver, per-IP slots, cert cache, deadline), the CA
  trusted through SSL_CERT_FILE as the other benches do;
- ``probe-anywhere``: the same with no egress policy (its guard's share);
- ``aiohttp``: a bare ``ClientSession`` GET with ``force_close``, same TLS context;
- ``streams``: ``asyncio.open_connection``, a hand-written GET, status line, headers and
  the body up to 2 MiB: a floor for comparison, not a product client;
- ``protocol``: the same on a bare ``asyncio.Protocol`` (no streams): the lowest floor;
- ``httpx``: ``httpx.AsyncClient`` without keep-alive.

HTTP and HTTPS sites are checked in separate passes, since a process's CPU cannot be
split between concurrent requests: TLS handshakes cost what they cost in any client.
Rounds interleave the clients, so a load change on a shared box hits all of them.
CPU is this process's utime+stime (getrusage) and the simulator's (/proc), per check.
``--loop uvloop`` runs every client on uvloop (not a project dependency: put it on
PYTHONPATH) to see how much of the floor is the event loop's.

    .venv/bin/python bench/probe_floor.py --sites 5000 --rounds 3 --concurrency 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import importlib
import os
import platform
import resource
import signal
import ssl
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import aiohttp
from _common import command_line, proc_cpu_s, start_simulator

BODY_CAP = 2 * 1024 * 1024  # the probe's default max_body_bytes
TIMEOUT = 10.0  # the probe's default deadline; every client gets one, it costs a timer
USER_AGENT = "sitekeeper/0.1 (+uptime check)"
TARGET_RATE = 100_000 / 60  # the issue: 100,000 sites every 60 s
KINDS = ("http", "https")
# What a failed check raises in the non-product clients; counted, never fatal.
FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    ssl.SSLError,
    aiohttp.ClientError,
    TimeoutError,
    ValueError,
    EOFError,
)

Check = Callable[[str], Awaitable[bool]]  # one URL checked; True if it answered < 400
Opener = Callable[[ssl.SSLContext], contextlib.AbstractAsyncContextManager[Check]]


@dataclass
class Tally:
    """One client's figures for one kind of site, summed over the measured rounds."""

    checks: int = 0
    failures: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    sim_cpu_s: float = 0.0
    round_cpu_s: list[float] = field(default_factory=list)  # of each round, for the spread
    errors: Counter[str] = field(default_factory=Counter)  # a client's own bugs: type, message


def self_cpu_s() -> float:
    """This process's utime + stime, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def up(status: int) -> bool:
    return 200 <= status < 400


def target(url: str) -> tuple[str, int, bool, str]:
    """Host, port, https?, request target of an http(s) URL."""
    parts = urlsplit(url)
    https = parts.scheme == "https"
    host = parts.hostname or ""
    return host, parts.port or (443 if https else 80), https, parts.path or "/"


def request_bytes(url: str) -> bytes:
    """The GET every bare client sends: one request per connection."""
    host, _, _, path = target(url)
    netloc = urlsplit(url).netloc
    assert host, url
    return (
        f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode("ascii")


# --- the clients: each an async context manager that yields its check function ---------


@contextlib.asynccontextmanager
async def product(ctx: ssl.SSLContext, *, anywhere: bool = False) -> AsyncIterator[Check]:
    """serve's probes: ``ProbeSet.from_settings`` and ``check(kind, url, options)`` as the
    check runner calls it, for a site with no stored options. ``ctx`` is unused: the probe
    builds its own default context, which trusts SSL_CERT_FILE (the simulator's CA)."""
    # Imported here: the clients below must not pay for the product's imports.
    from sitekeeper.config import load_settings  # noqa: PLC0415
    from sitekeeper.probes.registry import ProbeSet  # noqa: PLC0415

    del ctx
    # No deny rule at all is what makes the policy unrestricted (no guard, no socket hook).
    settings = load_settings(site_egress_deny=[]) if anywhere else load_settings()
    async with ProbeSet.from_settings(settings) as probes:

        async def check(url: str) -> bool:
            return (await probes.check("http", url, {})).up

        yield check


@contextlib.asynccontextmanager
async def product_anywhere(ctx: ssl.SSLContext) -> AsyncIterator[Check]:
    async with product(ctx, anywhere=True) as check:
        yield check


@contextlib.asynccontextmanager
async def plain_aiohttp(ctx: ssl.SSLContext) -> AsyncIterator[Check]:
    """One session, a new connection per request, the body read up to the cap."""
    connector = aiohttp.TCPConnector(force_close=True, limit=0, ssl=ctx)
    headers = {"User-Agent": USER_AGENT}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def check(url: str) -> bool:
            try:
                async with asyncio.timeout(TIMEOUT), session.get(url) as resp:
                    size = 0
                    while size <= BODY_CAP and (chunk := await resp.content.read(BODY_CAP)):
                        size += len(chunk)
                    return up(resp.status)
            except FAILURES:
                return False

        yield check


@contextlib.asynccontextmanager
async def streams(ctx: ssl.SSLContext) -> AsyncIterator[Check]:
    """asyncio streams and a hand-written HTTP/1.1 exchange: no library between."""

    async def exchange(url: str) -> bool:
        host, port, https, _ = target(url)
        reader, writer = await asyncio.open_connection(
            host, port, ssl=ctx if https else None, server_hostname=host if https else None
        )
        try:
            writer.write(request_bytes(url))
            status = int((await reader.readline()).split(b" ", 2)[1])
            length: int | None = None
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length is not None:
                await reader.readexactly(min(length, BODY_CAP))
            else:  # until the server closes (we asked it to), up to the cap
                size = 0
                while size <= BODY_CAP and (chunk := await reader.read(BODY_CAP)):
                    size += len(chunk)
            return up(status)
        finally:
            writer.close()
            with contextlib.suppress(*FAILURES):
                await writer.wait_closed()

    async def check(url: str) -> bool:
        try:
            async with asyncio.timeout(TIMEOUT):
                return await exchange(url)
        except FAILURES:
            return False

    yield check


class _Fetch(asyncio.Protocol):
    """One GET on a bare transport: send on connect, collect until the body is complete."""

    def __init__(self, request: bytes, done: asyncio.Future[int]) -> None:
        self._request = request
        self._done = done
        self._buffer = bytearray()
        self._transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not isinstance: uvloop's transports do not subclass asyncio's.
        self._transport = cast(asyncio.WriteTransport, transport)
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:  # no length: the body ends when the server closes
            if len(self._buffer) > BODY_CAP + end:
                self._finish()
            return
        line_end = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
        if len(self._buffer) >= end + 4 + min(length, BODY_CAP):
            self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            if exc is not None:
                self._done.set_exception(exc)
            else:
                self._done.set_result(self._status())

    def _finish(self) -> None:
        if not self._done.done():
            self._done.set_result(self._status())
        assert self._transport is not None
        self._transport.close()

    def _status(self) -> int:
        line = bytes(self._buffer[: self._buffer.find(b"\r\n")])
        return int(line.split(b" ", 2)[1])


@contextlib.asynccontextmanager
async def protocol(ctx: ssl.SSLContext) -> AsyncIterator[Check]:
    """The least any asyncio client can do per check: connect, one write, parse nothing
    but the status and the length."""
    loop = asyncio.get_running_loop()

    async def check(url: str) -> bool:
        host, port, https, _ = target(url)
        done: asyncio.Future[int] = loop.create_future()
        transport: asyncio.BaseTransport | None = None
        try:
            async with asyncio.timeout(TIMEOUT):
                transport, _ = await loop.create_connection(
                    lambda: _Fetch(request_bytes(url), done),
                    host,
                    port,
                    ssl=ctx if https else None,
                    server_hostname=host if https else None,
                )
                return up(await done)
        except FAILURES:
            return False
        finally:
            if transport is not None:
                transport.close()

    yield check


@contextlib.asynccontextmanager
async def httpx_client(ctx: ssl.SSLContext) -> AsyncIterator[Check]:
    """httpx without keep-alive: a connection per request, closed after it."""
    import httpx  # noqa: PLC0415 - optional: only when asked for

    limits = httpx.Limits(max_keepalive_connections=0, max_connections=None)
    failures: tuple[type[BaseException], ...] = (*FAILURES, httpx.HTTPError)
    headers = {"User-Agent": USER_AGENT}
    async with httpx.AsyncClient(
        verify=ctx, limits=limits, timeout=TIMEOUT, headers=headers, trust_env=False
    ) as client:

        async def check(url: str) -> bool:
            try:
                async with client.stream("GET", url) as resp:
                    size = 0
                    async for chunk in resp.aiter_bytes():
                        size += len(chunk)
                        if size > BODY_CAP:
                            break
                    return up(resp.status_code)
            except failures:
                return False

        yield check


CLIENTS: dict[str, tuple[str, Opener]] = {
    "probe": ("HttpProbe via ProbeSet (serve's path)", product),
    "probe-anywhere": ("HttpProbe, no egress policy", product_anywhere),
    "aiohttp": ("aiohttp ClientSession, force_close", plain_aiohttp),
    "streams": ("asyncio streams, hand-written GET", streams),
    "protocol": ("asyncio.Protocol, hand-written GET", protocol),
    "httpx": ("httpx.AsyncClient, no keep-alive", httpx_client),
}


# --- measuring ------------------------------------------------------------------------


async def one_pass(check: Check, urls: list[str], concurrency: int, tally: Tally) -> int:
    """Every URL once with ``concurrency`` workers; returns the failures.

    A fixed pool pulling from one iterator, not a task per URL behind a semaphore,
    so the harness adds the same small cost to every client. A check that raises
    (a client's bug, not a site's failure) counts as failed and is named in the report,
    so one broken client does not lose the others' figures.
    """
    pending: Iterator[str] = iter(urls)
    failures = 0

    async def worker() -> None:
        nonlocal failures
        for url in pending:
            try:
                ok = await check(url)
            except Exception as exc:  # counted and reported, see above
                tally.errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
                ok = False
            failures += not ok

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(urls)))))
    return failures


async def measure(
    args: argparse.Namespace, sim_pid: int, ctx: ssl.SSLContext, urls: dict[str, list[str]]
) -> dict[str, dict[str, Tally]]:
    """Every client opened once, warmed up, then ``rounds`` interleaved rounds."""
    tallies = {name: {kind: Tally() for kind in KINDS} for name in args.clients}
    async with contextlib.AsyncExitStack() as stack:
        checks = {n: await stack.enter_async_context(CLIENTS[n][1](ctx)) for n in args.clients}
        for name, check in checks.items():  # contexts, imports, first connections
            for kind in KINDS:
                await one_pass(check, urls[kind][: args.warmup], args.concurrency, Tally())
            print(f"# warmed up {name}", flush=True)
        for round_no in range(1, args.rounds + 1):
            for name, check in checks.items():
                for kind in KINDS:
                    if not urls[kind]:
                        continue
                    gc.collect()  # the previous client's garbage is not this one's cost
                    sim0, cpu0, t0 = proc_cpu_s(sim_pid), self_cpu_s(), time.perf_counter()
                    tally = tallies[name][kind]
                    failed = await one_pass(check, urls[kind], args.concurrency, tally)
                    wall, cpu = time.perf_counter() - t0, self_cpu_s() - cpu0
                    tally.checks += len(urls[kind])
                    tally.failures += failed
                    tally.wall_s += wall
                    tally.cpu_s += cpu
                    tally.sim_cpu_s += proc_cpu_s(sim_pid) - sim0
                    tally.round_cpu_s.append(cpu)
            print(f"# round {round_no} done, load {loadavg()}", flush=True)
    return tallies


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def ms(seconds: float, checks: int) -> str:
    return f"{seconds / checks * 1000:.3f}" if checks else "n/a"


def report(tallies: dict[str, dict[str, Tally]], concurrency: int) -> None:
    """One markdown table: per-check CPU of this process by kind, the simulator's, rate."""
    print(
        "\n| client | checks | failed | checks/s | CPU ms/check all | http | https "
        "| (all, per round) | cores at 1,667/s | simulator CPU ms/check |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|---|--:|--:|")
    for name, by_kind in tallies.items():
        checks = sum(t.checks for t in by_kind.values())
        if not checks:
            continue
        cpu = sum(t.cpu_s for t in by_kind.values())
        wall = sum(t.wall_s for t in by_kind.values())
        rounds = max(len(t.round_cpu_s) for t in by_kind.values())
        per_round = [
            sum(t.round_cpu_s[i] for t in by_kind.values() if t.round_cpu_s) / checks * rounds
            for i in range(rounds)
        ]
        print(
            f"| {CLIENTS[name][0]} | {checks:,} "
            f"| {sum(t.failures for t in by_kind.values()):,} | {checks / wall:,.0f} "
            f"| {ms(cpu, checks)} | {ms(by_kind['http'].cpu_s, by_kind['http'].checks)} "
            f"| {ms(by_kind['https'].cpu_s, by_kind['https'].checks)} "
            f"| {' / '.join(f'{v * 1000:.3f}' for v in per_round)} "
            f"| {cpu / checks * TARGET_RATE:.2f} "
            f"| {ms(sum(t.sim_cpu_s for t in by_kind.values()), checks)} |"
        )
    for name, by_kind in tallies.items():
        for kind, tally in by_kind.items():
            for error, count in tally.errors.most_common(3):
                print(f"\n{CLIENTS[name][0]}, {kind}: {count:,} checks raised {error}")
    print(
        f"\nchecks/s: wall rate at concurrency {concurrency}, both processes on this box; "
        "cores at 1,667/s: this process's CPU per check x the issue's rate (100,000 sites "
        "at 60 s), the probe alone, without the database or the scheduler."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=300, help="URLs per kind, not counted")
    parser.add_argument("--latency", default="0-5ms")
    parser.add_argument("--https-fraction", type=float, default=0.1)
    parser.add_argument(
        "--fail-rate", type=float, default=0.0, help="simulator's share of 500s and resets"
    )
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument(
        "--clients",
        type=lambda s: s.split(","),
        default=["probe", "aiohttp", "streams", "protocol", "httpx"],
        help=f"comma-separated, in order, of: {', '.join(CLIENTS)}",
    )
    args = parser.parse_args()
    unknown = [c for c in args.clients if c not in CLIENTS]
    if unknown:
        parser.error(f"unknown client(s) {', '.join(unknown)}; known: {', '.join(CLIENTS)}")
    if args.loop == "uvloop":
        # By name: uvloop is no dependency of the project, so neither mypy nor the venv has it.
        asyncio.set_event_loop_policy(importlib.import_module("uvloop").EventLoopPolicy())
    # SIGTERM unwinds like an error, so the finally clause stops the simulator.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped by SIGTERM"))

    print(f"# {command_line()}")
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}, "
        f"{args.loop} loop, load {loadavg()} at the start"
    )
    work = Path(tempfile.mkdtemp(prefix="bench-probe-floor-"))
    ca, manifest = work / "ca.pem", work / "sites.csv"
    sim_args = [
        "--sites", str(args.sites), "--latency", args.latency,
        "--https-fraction", str(args.https_fraction), "--fail-rate", str(args.fail_rate),
        "--ca", str(ca), "--manifest", str(manifest),
    ]  # fmt: skip
    print(f"# simulator: python -m sitekeeper.simulator {' '.join(sim_args)}", flush=True)
    sim = start_simulator(*sim_args)
    try:
        # What the benches give serve: the simulator's CA as the system store, a scratch home.
        os.environ["SSL_CERT_FILE"] = str(ca)
        os.environ["SITEKEEPER_HOME"] = str(work / "home")
        with manifest.open(newline="") as f:
            all_urls = [row["url"] for row in csv.DictReader(f)]
        urls = {kind: [u for u in all_urls if u.startswith(f"{kind}://")] for kind in KINDS}
        print(f"# sites: {len(urls['http']):,} http, {len(urls['https']):,} https", flush=True)
        ctx = ssl.create_default_context(cafile=str(ca))
        tallies = asyncio.run(measure(args, sim.pid, ctx, urls))
    finally:
        stats = sim.stop()
    report(tallies, args.concurrency)
    if stats:
        print(
            f"\nsimulator: {stats.get('requests_total', 0):,} requests, "
            f"{stats.get('connections_total', 0):,} connections, outcomes {stats.get('outcomes')}"
        )
    print(f"load {loadavg()} at the end")
    print(f"command: {command_line()}")


if __name__ == "__main__":
    main()

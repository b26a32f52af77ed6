"""A fleet of fake websites on loopback, thousands of them in one asyncio process.

Each site has its own 127.x.y.z address (Linux routes all of 127/8 to
``lo``), so per-IP limits and connection pools behave as against real hosts.
Small fleets bind one listener per site; fleets larger than the open-files
limit allows share one listener per port on 0.0.0.0 and tell the sites apart
by the address each connection was made to (``getsockname()``).
Requests are answered by a small hand-written HTTP/1.1 protocol rather than
aiohttp's server: it costs a fraction of the CPU per request (measured in
bench/README.md), and the simulator must stay cheaper than what it tests.

Behaviour is deterministic from a seed: which sites are HTTPS or flapping is
drawn once, and each request's latency and failure are a hash of
(seed, site, request number), independent of how requests interleave.

Over 400 lines because it is a test bed, not product code: the hand-written protocol
and the site behaviours are one hot path, measured as a whole (bench/).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import errno
import logging
import resource
import socket
import ssl
import struct
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from types import TracebackType
from typing import Any, Literal, Self

import trustme

DownMode = Literal["503", "refuse"]
FailMode = Literal["500", "reset", "mixed"]
Listeners = Literal["auto", "site", "port"]

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 16 * 1024
_MASK64 = (1 << 64) - 1
_LINGER_RESET = struct.pack("ii", 1, 0)
_REASONS = {200: "OK", 400: "Bad Request", 500: "Internal Server Error", 503: "Unavailable"}
# With one listener per site, leave room for connections and the rest.
_FD_SLACK = 1024
_RETRY_ACCEPT_S = 1.0  # after EMFILE, as asyncio's own server waits before accepting again
_CLOSE = "Connection: close\r\n"


def site_address(index: int) -> str:
    """The address of site ``index``: 127.0.0.2, .3, … skipping .1, .0 and .255 hosts."""
    if index < 0:
        raise ValueError("site index must be >= 0")
    k = index + 1  # k == 0 would be 127.0.0.1, which other local services use
    block, host = divmod(k, 254)
    if block > 0xFFFF:
        raise ValueError("too many sites for 127/8")
    return f"127.{block >> 8}.{block & 0xFF}.{host + 1}"


def parse_latency(text: str) -> tuple[float, float]:
    """``"20ms"`` -> (20, 20); ``"5-50ms"`` -> (5, 50); ``"0.1-1s"`` -> (100, 1000) (ms)."""
    value = text.strip().lower()
    scale = 1.0
    if value.endswith("ms"):
        value = value[:-2]
    elif value.endswith("s"):
        value, scale = value[:-1], 1000.0
    low_text, dash, high_text = value.partition("-")
    try:
        low = float(low_text) * scale
        high = float(high_text) * scale if dash else low
    except ValueError:
        raise ValueError(f"not a latency: {text!r} (try 20ms or 5-50ms)") from None
    if not 0 <= low <= high:
        raise ValueError(f"latency range must be 0 <= low <= high: {text!r}")
    return low, high


def _mix(x: int) -> int:
    """splitmix64: a cheap, well-spread hash, so per-request draws need no RNG state."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


@dataclass(slots=True)
class SiteSpec:
    """How one site behaves; fields may be changed while the fleet runs."""

    index: int
    address: str
    https: bool = False
    latency_ms: tuple[float, float] = (0.0, 0.0)
    fail_rate: float = 0.0
    fail_mode: FailMode = "mixed"
    flap_period: float = 0.0  # seconds; 0 means the site never flaps
    flap_down: float = 0.0  # seconds down at the start of each period
    flap_phase: float = 0.0
    title: str = ""
    keyword: str = ""
    body_bytes: int = 0
    down: DownMode | None = None
    tags: list[str] = field(default_factory=list)

    def body(self) -> bytes:
        """The HTML page, padded to ``body_bytes`` so transfer cost can be simulated."""
        page = (
            f"<!doctype html><html><head><title>{self.title}</title></head>"
            f"<body><h1>{self.title}</h1><p>{self.keyword}</p>"
        )
        pad = max(0, self.body_bytes - len(page) - 14)
        return (page + "<!--" + "x" * pad + "-->" + "</body></html>").encode()


class _SiteProtocol(asyncio.Protocol):
    """One connection to one site: sequential HTTP/1.1 requests with keep-alive."""

    __slots__ = ("_buffer", "_busy", "_fleet", "_site", "_timer", "last_active", "transport")

    def __init__(self, fleet: Fleet, site: SiteSpec) -> None:
        self._fleet = fleet
        self._site = site
        self._buffer = bytearray()
        self._busy = False
        self._timer: asyncio.TimerHandle | None = None
        self.transport: asyncio.Transport | None = None
        self.last_active = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.last_active = self._fleet.loop_time()
        self._fleet.connection_opened(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._fleet.request_finished(self._site.index)
            self._timer = None
        self._fleet.connection_closed(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._next_request()

    def idle(self) -> bool:
        """Whether the connection waits for a request (so the idle sweep may close it)."""
        return not self._busy and not self._buffer

    def _next_request(self) -> None:
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                self._send(400, False)
            return
        head = bytes(buffer[:end]).lower()
        length = 0
        at = head.find(b"\r\ncontent-length:")
        if at >= 0:
            line_end = head.find(b"\r\n", at + 2)
            raw = head[at + 17 : line_end if line_end >= 0 else len(head)].strip()
            if not raw.isdigit():
                self._send(400, False)
                return
            length = int(raw)
        if b"\r\ntransfer-encoding:" in head:
            self._send(400, False)  # bodies are never needed here; refuse chunked uploads
            return
        if len(buffer) < end + 4 + length:
            return  # wait for the rest of the request body
        del buffer[: end + 4 + length]
        line_end = head.find(b"\r\n")
        if (head[:line_end] if line_end >= 0 else head).endswith(b"http/1.1"):
            keep = b"\r\nconnection: close" not in head
        else:
            keep = b"\r\nconnection: keep-alive" in head
        self._busy = True
        self.last_active = self._fleet.loop_time()
        status, delay = self._fleet.decide(self._site)
        head_only = head.startswith(b"head ")
        if delay > 0:
            self._timer = self._fleet.loop.call_later(delay, self._answer, status, keep, head_only)
        else:
            self._answer(status, keep, head_only)

    def _answer(self, status: int, keep: bool, head_only: bool) -> None:
        self._timer = None
        self._fleet.request_finished(self._site.index)
        if status == 0:
            self._reset()
            return
        self._send(status, keep, head_only)

    def _send(self, status: int, keep: bool, head_only: bool = False) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        body = self._site.body() if status == 200 else f"{status} {_REASONS[status]}\n".encode()
        header = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
            f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            f"Server: sitekeeper-sim\r\n{'' if keep else _CLOSE}\r\n"
        ).encode()
        transport.write(header if head_only else header + body)
        if not keep:
            transport.close()
            return
        self._busy = False
        self.last_active = self._fleet.loop_time()
        if self._buffer:
            self._next_request()

    def _reset(self) -> None:
        """Close with a TCP RST, as a crashing server or a middlebox would."""
        transport = self.transport
        if transport is None:
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        transport.abort()


def _reset_socket(sock: socket.socket) -> None:
    """Close an accepted socket with a TCP RST (a site that refuses, on a shared listener)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    sock.close()


class Fleet:
    """N fake sites on one port; use ``async with Fleet(n=50) as fleet: fleet.urls``."""

    loop: asyncio.AbstractEventLoop  # set by start()

    def __init__(
        self,
        n: int,
        *,
        seed: int = 0,
        https_fraction: float = 0.0,
        latency_ms: tuple[float, float] | str = (0.0, 0.0),
        fail_rate: float = 0.0,
        fail_mode: FailMode = "mixed",
        flap_fraction: float = 0.0,
        flap_period: float = 60.0,
        flap_down: float = 20.0,
        body_bytes: int = 0,
        port: int = 0,
        ca_path: Path | str | None = None,
        sans_per_cert: int = 10,
        idle_timeout: float = 30.0,
        backlog: int = 128,
        listeners: Listeners = "auto",
    ) -> None:
        """``listeners``: ``site`` binds each site's address (a refused site is refused by
        the kernel); ``port`` shares one listener on 0.0.0.0 (a refused site's connections
        are reset at once, and the fleet needs no file per site); ``auto`` takes ``site``
        while the open-files limit allows it."""
        if n < 1:
            raise ValueError("a fleet needs at least one site")
        for name, value in (
            ("https_fraction", https_fraction),
            ("fail_rate", fail_rate),
            ("flap_fraction", flap_fraction),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1")
        if isinstance(latency_ms, str):
            latency_ms = parse_latency(latency_ms)
        self.seed = seed
        self.port = port
        self.idle_timeout = idle_timeout
        self.backlog = backlog
        self.listeners = listeners
        self.sans_per_cert = max(1, sans_per_cert)
        self.sites = _make_specs(
            n,
            seed=seed,
            https_fraction=https_fraction,
            latency_ms=latency_ms,
            fail_rate=fail_rate,
            fail_mode=fail_mode,
            flap_fraction=flap_fraction,
            flap_period=flap_period,
            flap_down=flap_down,
            body_bytes=body_bytes,
        )
        self._ca_path_arg = Path(ca_path) if ca_path is not None else None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ca: trustme.CA | None = None
        self.ca_path: Path | None = None
        self._server_contexts: dict[int, ssl.SSLContext] = {}
        self._listeners: list[asyncio.Server | None] = [None] * n
        self._by_address = {site.address: site for site in self.sites}
        self._shared: socket.socket | None = None  # the one listener, with listeners="port"
        self._handshakes: set[asyncio.Task[Any]] = set()
        self._connections: set[_SiteProtocol] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._seed_key = _mix(seed & _MASK64)
        self._t0 = 0.0
        # Counters: plain lists of ints so the hot path does one index per update.
        self.requests = [0] * n
        self.in_flight = [0] * n
        self.max_in_flight = [0] * n
        self.in_flight_total = 0
        self.max_in_flight_total = 0
        self.outcomes = {"200": 0, "500": 0, "503": 0, "reset": 0}
        self.connections_total = 0
        self.max_open_connections = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Make certificates, bind every site and start serving."""
        self.loop = asyncio.get_running_loop()
        self._t0 = self.loop.time()
        limit = raise_fd_limit(len(self.sites) * 2 + _FD_SLACK)
        if self.listeners == "auto":
            self.listeners = "site" if limit >= len(self.sites) + _FD_SLACK else "port"
        if self.listeners == "site" and limit < len(self.sites) + 256:
            raise OSError(
                errno.EMFILE,
                f"{len(self.sites)} sites need more open files than RLIMIT_NOFILE allows "
                f"({limit}); raise the hard limit (ulimit -Hn) or use listeners='port'",
            )
        if any(s.https for s in self.sites):
            self._make_certificates()
        requested = self.port
        for attempt in range(8):
            try:
                self._bind_all()
                break
            except OSError as exc:
                self._close_listeners()
                # Someone holds the kernel's pick on one of our addresses: try another port.
                if requested or exc.errno != errno.EADDRINUSE or attempt == 7:
                    raise
                self.port = 0
        self._sweeper = self.loop.call_later(self.idle_timeout / 2, self._sweep)

    async def close(self) -> None:
        """Stop listening and drop every open connection."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._close_listeners()
        for handshake in list(self._handshakes):
            handshake.cancel()
        await asyncio.gather(*self._handshakes, return_exceptions=True)
        for proto in list(self._connections):
            if proto.transport is not None:
                proto.transport.abort()
        self._connections.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def listener_count(self) -> int:
        """Listening sockets open now: one per site that listens, or one per port."""
        if self._shared is not None:
            return 1
        return sum(server is not None for server in self._listeners)

    def _bind_all(self) -> None:
        if self.listeners == "port":
            self._shared = self._listen("0.0.0.0", self.port)  # noqa: S104 - see _accept
            self.port = self._shared.getsockname()[1]
            self.loop.add_reader(self._shared.fileno(), self._accept)
            return
        for site in self.sites:
            sock = self._listen(site.address, self.port)
            if self.port == 0:
                self.port = sock.getsockname()[1]
            self._serve(site, sock)

    def _listen(self, address: str, port: int) -> socket.socket:
        """A bound, listening, non-blocking socket (synchronous, so set_up is too)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            sock.listen(self.backlog)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def _serve(self, site: SiteSpec, sock: socket.socket) -> None:
        """Start accepting on ``sock``; connections already queued by the kernel wait there."""
        context = self._server_contexts.get(site.index) if site.https else None
        server = asyncio.Server(
            self.loop,
            [sock],
            lambda: _SiteProtocol(self, site),
            context,
            self.backlog,
            10.0,  # TLS handshake timeout
            None,
        )
        # Private, but the only synchronous way (create_server awaits): set_up must be
        # serving when it returns, and asyncio's own create_server does exactly this.
        server._start_serving()  # type: ignore[attr-defined]
        self._listeners[site.index] = server

    def _accept(self) -> None:
        """Accept what the shared listener holds; the local address names the site."""
        assert self._shared is not None
        for _ in range(self.backlog):
            try:
                conn, _peer = self._shared.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # Out of files: let connections wait in the backlog, as asyncio's server does.
                log.warning("simulator cannot accept (%s); retrying in %gs", exc, _RETRY_ACCEPT_S)
                self.loop.remove_reader(self._shared.fileno())
                self.loop.call_later(_RETRY_ACCEPT_S, self._resume_accepting)
                return
            # 0.0.0.0 also listens beyond loopback: anything not to a site's address is dropped.
            site = self._by_address.get(conn.getsockname()[0])
            if site is None or site.down == "refuse":
                _reset_socket(conn)
                continue
            conn.setblocking(False)
            handshake = self.loop.create_task(self._adopt(conn, site))
            self._handshakes.add(handshake)
            handshake.add_done_callback(self._handshakes.discard)

    def _resume_accepting(self) -> None:
        if self._shared is not None:
            self.loop.add_reader(self._shared.fileno(), self._accept)

    async def _adopt(self, conn: socket.socket, site: SiteSpec) -> None:
        """Serve an accepted connection as ``site`` (TLS with the site's certificate)."""
        context = self._server_contexts.get(site.index) if site.https else None
        try:
            await self.loop.connect_accepted_socket(
                lambda: _SiteProtocol(self, site),
                conn,
                ssl=context,
                ssl_handshake_timeout=10.0 if context else None,
            )
        except (OSError, TimeoutError):
            conn.close()  # a client that vanished mid-handshake, as with asyncio's server

    def _close_listeners(self) -> None:
        if self._shared is not None:
            self.loop.remove_reader(self._shared.fileno())
            self._shared.close()
            self._shared = None
        for i, server in enumerate(self._listeners):
            if server is not None:
                server.close()
                self._listeners[i] = None

    def _make_certificates(self) -> None:
        """One CA; leaf certificates shared by pools of sites (one per site is too slow)."""
        self.ca = trustme.CA(organization_name="sitekeeper simulator")
        if self._ca_path_arg is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sitekeeper-sim-")
            self.ca_path = Path(self._tmp.name) / "ca.pem"
        else:
            self.ca_path = self._ca_path_arg
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        https_sites = [s for s in self.sites if s.https]
        for start in range(0, len(https_sites), self.sans_per_cert):
            pool = https_sites[start : start + self.sans_per_cert]
            leaf = self.ca.issue_cert(*(s.address for s in pool))
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            leaf.configure_cert(context)
            for site in pool:
                self._server_contexts[site.index] = context

    # -- control -----------------------------------------------------------------------------

    @property
    def urls(self) -> list[str]:
        """One URL per site, in index order."""
        return [self.url(i) for i in range(len(self.sites))]

    def url(self, index: int) -> str:
        """The URL of site ``index``."""
        site = self.sites[index]
        return f"{'https' if site.https else 'http'}://{site.address}:{self.port}/"

    def set_down(self, index: int, mode: DownMode = "503") -> None:
        """Take a site down: answer 503, or refuse connections (its listener closed; on a
        shared listener each connection is reset as soon as it is accepted)."""
        site = self.sites[index]
        site.down = mode
        if mode == "refuse":
            server = self._listeners[index]
            if server is not None:
                server.close()
                self._listeners[index] = None
            for proto in list(self._connections):
                if proto._site is site and proto.transport is not None:
                    proto.transport.abort()

    def set_up(self, index: int) -> None:
        """Bring a site back; returns once it listens, so the next connect succeeds."""
        site = self.sites[index]
        site.down = None
        if self.listeners == "site" and self._listeners[index] is None:
            self._serve(site, self._listen(site.address, self.port))

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts the fleet's CA (and nothing else)."""
        if self.ca_path is None:
            raise RuntimeError("the fleet has no HTTPS sites, hence no CA")
        return ssl.create_default_context(cafile=str(self.ca_path))

    def write_manifest(self, path: Path | str, client: str | None = None) -> None:
        """CSV for ``sitekeeper site import``: url,name,tags[,client]; tags joined by ';'."""
        with Path(path).open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["url", "name", "tags", *(["client"] if client else [])])
            for site in self.sites:
                row = [self.url(site.index), site.title, ";".join(site.tags)]
                writer.writerow(row + ([client] if client else []))

    def stats(self, per_site: bool = False) -> dict[str, Any]:
        """Counters as plain JSON-able values."""
        data: dict[str, Any] = {
            "sites": len(self.sites),
            "port": self.port,
            "listeners": self.listener_count,
            "requests_total": sum(self.requests),
            "outcomes": dict(self.outcomes),
            "in_flight": self.in_flight_total,
            "max_in_flight": self.max_in_flight_total,
            "connections_total": self.connections_total,
            "open_connections": len(self._connections),
            "max_open_connections": self.max_open_connections,
            "cpu_s": round(time.process_time(), 3),
        }
        if per_site:
            data["requests"] = list(self.requests)
            data["max_in_flight_per_site"] = list(self.max_in_flight)
        return data

    # -- hot path (called by the protocol) ---------------------------------------------------

    def loop_time(self) -> float:
        """The loop's clock (monotonic)."""
        return self.loop.time()

    def decide(self, site: SiteSpec) -> tuple[int, float]:
        """Status (0 = reset) and delay (s) for the next request to ``site``; counts it."""
        i = site.index
        n = self.requests[i]
        self.requests[i] = n + 1
        flight = self.in_flight[i] + 1
        self.in_flight[i] = flight
        self.max_in_flight[i] = max(self.max_in_flight[i], flight)
        self.in_flight_total += 1
        self.max_in_flight_total = max(self.max_in_flight_total, self.in_flight_total)
        draw = _mix(self._seed_key ^ (i << 32) ^ n)
        low, high = site.latency_ms
        delay = (low + (high - low) * ((draw >> 32) / 4294967296.0)) / 1000.0
        if site.down is not None or self._flapping_down(site):
            status = 503
        elif site.fail_rate and (draw & 0xFFFFFF) / 16777216.0 < site.fail_rate:
            mode = site.fail_mode
            if mode == "mixed":
                mode = "reset" if draw & (1 << 24) else "500"
            status = 0 if mode == "reset" else 500
        else:
            status = 200
        self.outcomes["reset" if status == 0 else str(status)] += 1
        return status, delay

    def _flapping_down(self, site: SiteSpec) -> bool:
        if site.flap_period <= 0:
            return False
        phase = (self.loop.time() - self._t0 + site.flap_phase) % site.flap_period
        return phase < site.flap_down

    def request_finished(self, index: int) -> None:
        """A request was answered (or its connection died)."""
        self.in_flight[index] -= 1
        self.in_flight_total -= 1

    def connection_opened(self, proto: _SiteProtocol) -> None:
        """Track a connection so close() and the idle sweep can reach it."""
        if proto._site.down == "refuse":
            proto._reset()
            return
        self._connections.add(proto)
        self.connections_total += 1
        self.max_open_connections = max(self.max_open_connections, len(self._connections))

    def connection_closed(self, proto: _SiteProtocol) -> None:
        """Forget a closed connection."""
        self._connections.discard(proto)

    def _sweep(self) -> None:
        """Close keep-alive connections idle for ``idle_timeout``, to bound open files."""
        cutoff = self.loop.time() - self.idle_timeout
        for proto in list(self._connections):
            if proto.idle() and proto.last_active < cutoff and proto.transport is not None:
                proto.transport.close()
        self._sweeper = self.loop.call_later(self.idle_timeout / 2, self._sweep)


def _make_specs(
    n: int,
    *,
    seed: int,
    https_fraction: float,
    latency_ms: tuple[float, float],
    fail_rate: float,
    fail_mode: FailMode,
    flap_fraction: float,
    flap_period: float,
    flap_down: float,
    body_bytes: int,
) -> list[SiteSpec]:
    """Per-site behaviour drawn once from ``seed``: exact counts, random placement."""
    rng = Random(seed)  # noqa: S311 - test data, not security
    https = set(rng.sample(range(n), round(n * https_fraction)))
    flapping = set(rng.sample(range(n), round(n * flap_fraction)))
    sites = []
    for i in range(n):
        tags = ["sim", "https" if i in https else "http"]
        if i in flapping:
            tags.append("flapping")
        if fail_rate:
            tags.append("failing")
        sites.append(
            SiteSpec(
                index=i,
                address=site_address(i),
                https=i in https,
                latency_ms=latency_ms,
                fail_rate=fail_rate,
                fail_mode=fail_mode,
                flap_period=flap_period if i in flapping else 0.0,
                flap_down=flap_down,
                flap_phase=rng.uniform(0, flap_period) if i in flapping else 0.0,
                title=f"sim-{i:05d}",
                keyword=f"sitekeeper-sim-ok-{i}",
                body_bytes=body_bytes,
                tags=tags,
            )
        )
    return sites


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (up to the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft

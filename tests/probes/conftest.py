"""Loopback servers for the probe tests: aiohttp sites, raw TCP, TLS from a test CA."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Site:
    """A running loopback server: where it is and what it saw."""

    host: str
    port: int
    scheme: str = "http"
    connections: int = 0
    names: dict[str, str] = field(default_factory=dict)

    def url(self, path: str = "/", name: str | None = None) -> str:
        return f"{self.scheme}://{name or self.host}:{self.port}{path}"


@asynccontextmanager
async def serve(
    app: web.Application, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[Site]:
    """Run ``app`` on ``host`` (any 127/8 address), counting accepted connections."""
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    factory = runner.server
    assert factory is not None
    site = Site(host=host, port=0, scheme="https" if ssl_context else "http")

    def counting() -> asyncio.Protocol:
        site.connections += 1
        return factory()

    server = await asyncio.get_running_loop().create_server(counting, host, 0, ssl=ssl_context)
    site.port = server.sockets[0].getsockname()[1]
    try:
        yield site
    finally:
        server.close()
        await runner.cleanup()


@asynccontextmanager
async def raw_server(handler: RawHandler, host: str = "127.0.0.1") -> AsyncIterator[Site]:
    """A TCP server that speaks whatever ``handler`` writes (garbage, resets, silence)."""
    tasks: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await handler(reader, writer)
        finally:
            writer.transport.abort()
            tasks.discard(task)

    server = await asyncio.start_server(tracked, host, 0)
    site = Site(host=host, port=server.sockets[0].getsockname()[1])
    try:
        yield site
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class StaticResolver(AbstractResolver):
    """Names to fixed IPs, like a hosts file the test owns; counts look-ups."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups += 1
        if host not in self.names:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        ip = self.names[host]
        return [
            ResolveResult(
                hostname=host,
                host=ip,
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """The test CA that signs the sites' certificates."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test CA as a PEM bundle, as an agency with a private CA would give it."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    """A server-side SSL context presenting ``cert``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


@pytest.fixture
def free_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port

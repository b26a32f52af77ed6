"""HttpProbe against broken servers: deadlines, refusals, resets, garbage, DNS."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import pytest
from aiohttp.resolver import AsyncResolver

from sitekeeper.domain.checks import CheckOptions, ErrorCategory
from sitekeeper.probes.http import HttpProbe
from tests.probes.conftest import StaticResolver, raw_server

HEAD_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"


async def test_slow_drip_body_hits_the_total_deadline() -> None:
    """A byte every 0.1 s never trips a per-read timeout; only a total deadline ends it."""
    sent = 0

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await reader.readuntil(b"\r\n\r\n")
        writer.write(HEAD_OK + b"Content-Length: 1000\r\n\r\n")
        while True:
            writer.write(b"x")
            sent += 1
            await writer.drain()
            await asyncio.sleep(0.1)  # the drip pace itself, not a wait for an event

    loop = asyncio.get_running_loop()
    async with raw_server(drip) as site, HttpProbe(timeout=5) as probe:
        started = loop.time()
        result = await probe.check(site.url(), CheckOptions(timeout=0.8))
        elapsed = loop.time() - started
    assert result.error is ErrorCategory.TIMEOUT, result
    assert result.detail == "no response within 0.8 s"
    assert result.status == 200  # headers arrived; the body never finished
    assert sent >= 3  # the body really was trickling
    assert 0.8 <= elapsed < 2.0


async def test_server_that_never_answers_times_out() -> None:
    never = asyncio.Event()
    arrived = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        arrived.set()
        await never.wait()

    async with raw_server(silent) as site, HttpProbe(timeout=0.5) as probe:
        result = await probe.check(site.url())
    assert arrived.is_set()
    assert result.error is ErrorCategory.TIMEOUT
    assert result.status is None
    assert result.response_ms is None


async def test_refused(free_port: int) -> None:
    async with HttpProbe() as probe:
        result = await probe.check(f"http://127.0.0.1:{free_port}/")
    assert result.error is ErrorCategory.REFUSED
    assert result.detail == "connection refused"
    assert not result.up


async def test_reset_mid_response() -> None:
    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(HEAD_OK + b"Content-Length: 100000\r\n\r\n" + b"x" * 500)
        await writer.drain()
        sock = writer.get_extra_info("socket")
        # Linger 0: close sends RST instead of FIN, as a crashing server does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async with raw_server(reset) as site, HttpProbe() as probe:
        result = await probe.check(site.url())
    assert result.error is ErrorCategory.RESET, result


async def test_closed_mid_body_is_reset() -> None:
    async def short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(HEAD_OK + b"Content-Length: 100000\r\n\r\n" + b"x" * 500)
        await writer.drain()
        writer.close()

    async with raw_server(short) as site, HttpProbe() as probe:
        result = await probe.check(site.url())
    assert result.error is ErrorCategory.RESET, result
    assert result.detail == "connection lost in the middle of the body"


async def test_closed_before_any_answer_is_reset() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async with raw_server(hang_up) as site, HttpProbe() as probe:
        result = await probe.check(site.url())
    assert result.error is ErrorCategory.RESET, result


async def test_a_hang_up_is_reported_not_hidden_by_a_second_request() -> None:
    """aiohttp sends an idempotent request again once when the connection drops, meant for
    a kept-alive connection the server had closed; a check opens a new one each time, so
    that would only hide a site that hangs up on every other visitor (and double its
    load). One connection, and the hang-up is what the check says."""
    connections = 0

    async def every_other(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if connections % 2:
            writer.close()
            return
        writer.write(HEAD_OK + b"Content-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    async with raw_server(every_other) as site, HttpProbe() as probe:
        result = await probe.check(site.url())
    assert result.error is ErrorCategory.RESET, result
    assert connections == 1


@pytest.mark.parametrize(
    "garbage",
    [
        b"SSH-2.0-OpenSSH_9.2\r\n",
        b"\x00\x01\x02\x03 binary noise \xff\xfe\r\n\r\n",
        b"HTTP/1.1 abc Broken\r\n\r\n",
    ],
)
async def test_garbage_is_invalid_response(garbage: bytes) -> None:
    async def babble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(garbage)
        await writer.drain()
        await reader.read()  # keep the connection open until the client gives up

    async with raw_server(babble) as site, HttpProbe(timeout=5) as probe:
        result = await probe.check(site.url())
    assert result.error is ErrorCategory.INVALID_RESPONSE, result
    assert result.detail is not None
    assert result.detail.startswith("not a valid HTTP response")


async def test_unresolvable_name_with_the_system_resolver() -> None:
    """``.invalid`` never resolves (RFC 2606); here the system answers at once."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with HttpProbe(timeout=5) as probe:
        result = await probe.check("http://no-such-site.invalid/")
    assert result.error is ErrorCategory.DNS, result
    assert result.detail is not None
    assert result.detail.startswith("cannot resolve no-such-site.invalid")
    assert loop.time() - started < 4


@pytest.fixture
async def nxdomain_server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A loopback DNS server that answers NXDOMAIN to every query (no network needed)."""
    queries: list[bytes] = []

    class Nx(asyncio.DatagramProtocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            queries.append(data)
            ident, flags = struct.unpack("!HH", data[:4])
            question = data[12:]
            # QR=1, opcode and RD copied, RA=1, RCODE=3 (NXDOMAIN); echo the question.
            reply_flags = 0x8000 | (flags & 0x7900) | 0x0080 | 3
            header = struct.pack("!HHHHHH", ident, reply_flags, 1, 0, 0, 0)
            assert isinstance(self.transport, asyncio.DatagramTransport)
            self.transport.sendto(header + question, addr)

    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Nx, local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    yield port, queries
    transport.close()


async def test_unresolvable_name_via_a_dns_server(
    nxdomain_server: tuple[int, list[bytes]],
) -> None:
    """Deterministic anywhere: a real DNS exchange with a server that says NXDOMAIN."""
    pytest.importorskip("aiodns")
    port, queries = nxdomain_server
    resolver = AsyncResolver(nameservers=[f"127.0.0.1:{port}"], tries=1, timeout=2)
    async with HttpProbe(timeout=5, resolver=resolver) as probe:
        result = await probe.check("http://shop.example.invalid/")
    assert queries, "the probe never asked the DNS server"
    assert result.error is ErrorCategory.DNS, result
    assert result.detail is not None
    assert result.detail.startswith("cannot resolve shop.example.invalid")


async def test_dns_answers_are_cached_and_reused_by_the_connection() -> None:
    """One look-up serves the per-IP slot, aiohttp's connect, and the next check."""
    answered = asyncio.Event()

    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(HEAD_OK + b"Content-Length: 2\r\n\r\nok")
        await writer.drain()
        answered.set()

    resolver = StaticResolver({"shop.test": "127.0.0.1"})
    async with raw_server(ok) as site, HttpProbe(resolver=resolver) as probe:
        first = await probe.check(site.url(name="shop.test"))
        second = await probe.check(site.url(name="shop.test"))
    assert first.up, first
    assert second.up, second
    assert answered.is_set()
    assert resolver.lookups == 1


async def test_corrupt_gzip_body_is_invalid_response() -> None:
    async def corrupt(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b"\x1f\x8b\x08\x00this is not deflate data at all" * 4
        writer.write(
            HEAD_OK + b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        await writer.drain()
        await reader.read()

    async with raw_server(corrupt) as site, HttpProbe(timeout=5) as probe:
        result = await probe.check(site.url())
    assert result.error is ErrorCategory.INVALID_RESPONSE, result
    assert result.detail == "body cannot be decompressed"


async def test_failure_after_a_redirect_reports_the_failing_hop(free_port: int) -> None:
    target = f"http://127.0.0.1:{free_port}/gone"

    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 301 Moved\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % target.encode()
        )
        await writer.drain()
        await reader.read()

    async with raw_server(redirect) as site, HttpProbe() as probe:
        result = await probe.check(site.url())
    assert result.error is ErrorCategory.REFUSED
    assert result.final_url == target
    assert result.status is None

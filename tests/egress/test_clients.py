"""The egress policy where connections are made: feeds and advisories (aiohttp), site checks
and fingerprints (the probes), alerts (Apprise in a worker thread), against loopback
servers that count the connections they accept: a refusal must happen before connecting."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from sitekeeper.config import load_settings
from sitekeeper.egress.policy import EgressPolicy, site_policy
from sitekeeper.errors import DeliveryError, FeedError
from sitekeeper.intel.fetch import FeedSettings, Fetcher
from sitekeeper.notify.apprise_sender import AppriseSender
from sitekeeper.probes.fingerprint import FingerprintProbe
from sitekeeper.probes.http import HttpProbe
from tests.notify.conftest import Mailbox

GREETING = b"J\x00\x00\x00\n10.11.6-MariaDB-0+deb12u1\x00\x08\x00\x00\x00;k>s3cr3t\x00"


@dataclass
class Server:
    """A loopback TCP server answering HTTP (or a database greeting); counts connections."""

    host: str
    port: int = 0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    def url(self, path: str = "/feed.json", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"


async def _serve(host: str, answer: bytes | None) -> AsyncIterator[Server]:
    server = Server(host)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        if answer is None:
            server.requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]")
        else:
            writer.write(answer)
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(handle, host, 0)
    server.port = listener.sockets[0].getsockname()[1]
    yield server
    listener.close()
    await listener.wait_closed()


@pytest.fixture
async def feed() -> AsyncIterator[Server]:
    async for server in _serve("127.0.0.1", None):
        yield server


@pytest.fixture
async def other_feed() -> AsyncIterator[Server]:
    async for server in _serve("127.0.0.2", None):  # all of 127/8 is loopback on Linux
        yield server


@pytest.fixture
async def database() -> AsyncIterator[Server]:
    async for server in _serve("127.0.0.1", GREETING):
        yield server


def _feeds(allow: list[str] | None) -> FeedSettings:
    return FeedSettings(egress_allow=allow, backoff_first=0.001)


async def test_advisories_and_feeds_are_public_only_by_default(feed: Server) -> None:
    async with Fetcher(_feeds([])) as fetcher:
        with pytest.raises(FeedError) as literal:
            await fetcher.get(feed.url(), conditional=False)
        with pytest.raises(FeedError) as named:
            await fetcher.get(feed.url(host="localhost"), conditional=False)
    assert "refused by the egress policy: 127.0.0.1 is loopback" in str(literal.value)
    assert "SITEKEEPER_EGRESS_ALLOW" in str(literal.value)
    assert "refused by the egress policy" in str(named.value)
    assert feed.connections == 0


async def test_an_allowed_network_is_fetched(feed: Server) -> None:
    async with Fetcher(_feeds(["127.0.0.0/8"])) as fetcher:
        result = await fetcher.get(feed.url(), conditional=False)
    assert result.body == b"[]" and feed.connections == 1


async def test_every_redirect_is_checked(feed: Server, other_feed: Server) -> None:
    """127.0.0.2 is allowed and answers with a redirect to 127.0.0.1, which is not."""
    async for hop in _serve(
        "127.0.0.2",
        b"HTTP/1.1 302 Found\r\nLocation: " + feed.url().encode() + b"\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n",
    ):
        async with Fetcher(_feeds(["127.0.0.2/32"])) as fetcher:
            with pytest.raises(FeedError, match=r"127\.0\.0\.1 is loopback"):
                await fetcher.get(hop.url(), conditional=False)
        assert hop.connections == 1
    assert feed.connections == 0


class _Answers(AbstractResolver):
    """A DNS server in a box: ``host`` resolves to the addresses given, in order."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        pass


async def test_a_name_with_a_refused_and_an_allowed_address_reaches_only_the_allowed_one(
    feed: Server, other_feed: Server
) -> None:
    """DNS rebinding: the address checked is the one connected to, never a second look-up."""
    policy = EgressPolicy.public_only(["127.0.0.2/32"])
    resolver = _Answers("127.0.0.1", "127.0.0.2")
    async with HttpProbe(egress=policy, resolver=resolver) as probe:
        result = await probe.check(f"http://feeds.test:{other_feed.port}/")
    assert result.up, result.detail
    assert other_feed.connections == 1 and feed.connections == 0


async def test_site_checks_reach_loopback_by_default_and_follow_the_deny_setting(
    feed: Server,
) -> None:
    async with HttpProbe(egress=site_policy(load_settings())) as probe:
        assert (await probe.check(feed.url())).up
        metadata = await probe.check("http://169.254.169.254/latest/meta-data/")
    assert metadata.error == "refused"
    assert metadata.detail == (
        "refused by the egress policy: 169.254.169.254 is a cloud metadata address "
        "(see SITEKEEPER_SITE_EGRESS_DENY and SITEKEEPER_SITE_EGRESS_ALLOW)"
    )
    denied = site_policy(load_settings(site_egress_deny="loopback"))
    before = feed.connections
    async with HttpProbe(egress=denied) as probe:
        literal = await probe.check(feed.url())
        named = await probe.check(feed.url(host="localhost"))
    async with FingerprintProbe(egress=denied) as fingerprints:
        printed = await fingerprints.fingerprint(feed.url("/"))
    assert (literal.error, named.error) == ("refused", "refused")
    assert "127.0.0.1 is loopback" in (literal.detail or "")
    assert "refused by the egress policy" in (printed.error or "")
    assert feed.connections == before


async def test_a_database_greeting_never_reaches_an_error_text(database: Server) -> None:
    async with Fetcher(_feeds(["loopback"])) as fetcher:
        with pytest.raises(FeedError) as fetched:
            await fetcher.get(database.url(), conditional=False)
    async with HttpProbe() as probe:
        checked = await probe.check(database.url())
    assert database.connections == 2
    for text in (str(fetched.value), checked.detail or ""):
        assert "not a valid HTTP response" in text
        assert "MariaDB" not in text and "s3cr3t" not in text and "\\x" not in text


async def test_alerts_are_public_only_by_default(feed: Server, smtp_server: Mailbox) -> None:
    sender = AppriseSender(timeout=10)
    for url in (
        f"json://127.0.0.1:{feed.port}/hook",
        f"json://localhost:{feed.port}/hook",
        smtp_server.url(),
    ):
        with pytest.raises(DeliveryError) as refused:
            await sender.send(url, title="t", body="b")
        assert str(refused.value).startswith("refused by the egress policy: ")
        assert "is loopback" in str(refused.value)
        assert refused.value.permanent
    assert feed.connections == 0 and smtp_server.messages == []
    # The guard is the sending thread's only: this thread still resolves loopback names.
    assert socket.getaddrinfo("localhost", 80)


async def test_alerts_reach_an_allowed_network(feed: Server) -> None:
    sender = AppriseSender(timeout=10, egress=EgressPolicy.public_only(["127.0.0.1/32"]))
    await sender.send(f"json://127.0.0.1:{feed.port}/hook", title="t", body="b")
    assert feed.connections == 1 and feed.requests[0].startswith(b"POST /hook")

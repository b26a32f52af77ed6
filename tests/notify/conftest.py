"""Real servers on loopback for the notification tests: SMTP, a webhook, a dead port."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography.fernet import Fernet

from sitekeeper.egress.policy import EgressPolicy
from sitekeeper.notify.apprise_sender import AppriseSender
from sitekeeper.vault import Vault

# The servers below listen on loopback, which alerts may not reach by default
# (SITEKEEPER_EGRESS_ALLOW): these tests allow it, as an admin would.
LOOPBACK = EgressPolicy.public_only(["loopback"])


def loopback_sender(**options: Any) -> AppriseSender:
    """An Apprise sender allowed to reach the loopback servers of these tests."""
    return AppriseSender(egress=LOOPBACK, **options)


@pytest.fixture
def vault() -> Vault:
    """A vault with a fresh key, as a new installation would have."""
    return Vault(Fernet.generate_key())


@dataclass
class Mailbox:
    """What the loopback SMTP server accepted."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    def url(self, to: str = "ops@agency.example") -> str:
        """The Apprise URL for plain SMTP (no TLS, no login) to this server."""
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from=alerts@agency.example&to={to}"


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.box.messages.append(message)
        self.box.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted"


@pytest.fixture
async def smtp_server() -> AsyncIterator[Mailbox]:
    """aiosmtpd in the test's event loop; Apprise sends from a worker thread."""
    loop = asyncio.get_running_loop()
    box = Mailbox(port=0)
    handler = _Handler(box)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mx.test", loop=loop), "127.0.0.1", 0
    )
    box.port = server.sockets[0].getsockname()[1]
    yield box
    server.close()
    await server.wait_closed()


@dataclass
class Webhook:
    """What the loopback webhook receiver got, in arrival order."""

    port: int
    posts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    status: int = 200

    def url(self, token: str = "s3cr3t-hook-token") -> str:
        return f"json://127.0.0.1:{self.port}/hooks/{token}"

    def titles(self) -> Counter[str]:
        return Counter(str(p.get("title")) for p in self.posts)


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    """An aiohttp server on 127.0.0.1 that records every JSON POST."""
    hook = Webhook(port=0)

    async def receive(request: web.Request) -> web.Response:
        hook.posts.append(await request.json())
        hook.paths.append(request.path)
        return web.Response(status=hook.status, text="ok")

    app = web.Application()
    app.router.add_post("/hooks/{token}", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.port = runner.addresses[0][1]
    yield hook
    await runner.cleanup()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A server that accepts connections and never says a word (a hung SMTP server)."""
    done = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    done.set()
    server.close()
    await server.wait_closed()

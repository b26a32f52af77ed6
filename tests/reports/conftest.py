"""A real SMTP server on loopback (aiosmtpd) that can refuse, for the delivery tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from sitekeeper.reports.smtp import SmtpSettings

SENDER = "reports@agency.example"


@dataclass
class Mailbox:
    """What the loopback server accepted, and what it is told to refuse."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse_data: str | None = None  # e.g. "451 4.3.0 try again later"
    refuse_rcpt: set[str] = field(default_factory=set)
    logins: list[str] = field(default_factory=list)

    def settings(self, **changes: Any) -> SmtpSettings:
        """Plain SMTP to this server (no TLS, no login), unless ``changes`` say otherwise."""
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "sender": SENDER,
            "timeout": 10.0,
        }
        return SmtpSettings(**{**values, **changes})


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.box.refuse_rcpt:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.box.refuse_data:
            return self.box.refuse_data
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.box.messages.append(message)
        self.box.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted"


def _authenticator(box: Mailbox) -> Any:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"agency",
            b"s3cret",
        )
        if ok:
            box.logins.append(data.login.decode())
        return AuthResult(success=ok)

    return check


async def _serve(box: Mailbox, tls: ssl.SSLContext | None) -> AsyncIterator[Mailbox]:
    loop = asyncio.get_running_loop()
    handler = _Handler(box)
    options: dict[str, Any] = {}
    if tls is not None:
        options = {
            "tls_context": tls,
            "require_starttls": True,
            "authenticator": _authenticator(box),
            "auth_require_tls": True,
        }
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="mx.test", loop=loop, **options), "127.0.0.1", 0
    )
    box.port = server.sockets[0].getsockname()[1]
    yield box
    server.close()
    await server.wait_closed()


@pytest.fixture
def ca() -> trustme.CA:
    """A test CA; the client trusts it, as it would the mail provider's."""
    return trustme.CA()


@pytest.fixture
def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def tls_client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    """aiosmtpd in the test's event loop; sends come from a worker thread."""
    async for box in _serve(Mailbox(), None):
        yield box


@pytest.fixture
async def tls_mailbox(tls_server_context: ssl.SSLContext) -> AsyncIterator[Mailbox]:
    """The same server demanding STARTTLS and a login (agency / s3cret)."""
    async for box in _serve(Mailbox(), tls_server_context):
        yield box


@contextmanager
def mailbox_in_thread() -> Iterator[Mailbox]:
    """The server in a thread of its own, for code that runs its own event loop (the CLI)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    box = Mailbox(port=port)
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()

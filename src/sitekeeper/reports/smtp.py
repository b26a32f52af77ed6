"""Sending mail through the agency's SMTP server, with the standard library's ``smtplib``.

Why not aiosmtplib: a few reports a month per client do not need an async client, and
``smtplib`` (in a worker thread, bounded by a timeout) is one dependency fewer, with the
STARTTLS and implicit-TLS handling every Python ships. An error says whether trying again
may help: a 5xx answer (a refused recipient or sender, a failed login) is permanent,
a connection error or a 4xx answer is not.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

from sitekeeper.config import Settings
from sitekeeper.errors import DeliveryError

Security = Literal["starttls", "tls", "none"]


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where and how reports are mailed (``SITEKEEPER_SMTP_*``)."""

    host: str
    port: int
    security: Security
    sender: str
    user: str | None = None
    password: str | None = None
    timeout: float = 60.0
    tls_context: ssl.SSLContext | None = None  # default: the system's trusted CAs

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSettings | None:
        """The settings' SMTP server, or None when no host is set (reports are not mailed)."""
        if not settings.smtp_host or not settings.smtp_sender:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            sender=settings.smtp_sender,
            user=settings.smtp_user,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
        )


def send_blocking(smtp: SmtpSettings, message: EmailMessage) -> dict[str, str]:
    """Hand ``message`` to the server; the recipients it refused while taking the others,
    with its reasons. DeliveryError when it took the message for nobody."""
    context = smtp.tls_context or ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.user:
                client.login(smtp.user, smtp.password or "")
            refused = client.send_message(message, from_addr=smtp.sender)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(_refusals(exc.recipients), permanent=True) from exc
    except smtplib.SMTPResponseException as exc:
        said = _reply(exc.smtp_code, exc.smtp_error)
        raise DeliveryError(f"SMTP {said}", permanent=exc.smtp_code >= 500) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP server {smtp.host}:{smtp.port}: {exc}") from exc
    return {address: _reply(code, reply) for address, (code, reply) in refused.items()}


async def send(smtp: SmtpSettings, message: EmailMessage) -> dict[str, str]:
    """:func:`send_blocking` in a worker thread (the event loop keeps running)."""
    return await asyncio.to_thread(send_blocking, smtp, message)


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}"


def _refusals(refused: dict[str, tuple[int, bytes]]) -> str:
    return "refused " + "; ".join(f"{a}: {_reply(c, r)}" for a, (c, r) in refused.items())

"""TLS for the HTTP probes: cached SSL contexts and what a certificate says.

Creating an ``SSLContext`` loads a whole trust store (milliseconds of CPU), so
contexts are built once per CA bundle and reused for every check. Parsing a
certificate is cached by its DER bytes: a site presents the same one every
minute for months.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime

from sitekeeper.domain.checks import TlsInfo

_CERT_CACHE_SIZE = 20_000


@dataclass(frozen=True, slots=True)
class CertFacts:
    """The parts of a certificate the probe reports."""

    expires: datetime
    issuer: str
    subject: str


class CaBundleError(OSError):
    """A site's CA bundle cannot be read or parsed; reported as the site's ``tls`` failure.

    An ``OSError`` like the transport errors, so the probes' one ``except`` catches it.
    """


class SslContexts:
    """SSL contexts by trust source: system store, a CA bundle, or no verification."""

    def __init__(self) -> None:
        self._verifying: dict[str | None, ssl.SSLContext] = {}
        self._unverified: ssl.SSLContext | None = None

    def verifying(self, ca_bundle: str | None = None) -> ssl.SSLContext:
        """A context that verifies chain and host name; ``None``: the system store.

        The system store honours ``SSL_CERT_FILE``/``SSL_CERT_DIR`` as read when
        the first check runs. Raises ``CaBundleError`` for an unreadable bundle (not
        cached: the agency may fix the file).
        """
        context = self._verifying.get(ca_bundle)
        if context is None:
            if ca_bundle is None:
                context = ssl.create_default_context()
            else:
                try:
                    context = ssl.create_default_context(cafile=ca_bundle)
                except (OSError, ssl.SSLError) as exc:
                    raise CaBundleError(f"cannot load CA bundle {ca_bundle}: {exc}") from exc
            self._verifying[ca_bundle] = context
        return context

    def unverified(self) -> ssl.SSLContext:
        """A context that accepts any certificate, to read what a broken site presents."""
        if self._unverified is None:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self._unverified = context
        return self._unverified


class CertCache:
    """Parsed certificates by their DER bytes, bounded."""

    def __init__(self, max_entries: int = _CERT_CACHE_SIZE) -> None:
        self._facts: dict[bytes, CertFacts | None] = {}
        self._max_entries = max_entries

    def facts(self, der: bytes) -> CertFacts | None:
        """What ``der`` says, or None if it cannot be parsed."""
        try:
            return self._facts[der]
        except KeyError:
            pass
        facts = _parse(der)
        if len(self._facts) >= self._max_entries:
            self._facts.clear()  # rare; a full re-parse costs less than LRU bookkeeping per check
        self._facts[der] = facts
        return facts

    def info(self, der: bytes | None, *, valid: bool, error: str | None, now: datetime) -> TlsInfo:
        """A ``TlsInfo`` for a presented certificate (``der`` None: none was seen)."""
        facts = self.facts(der) if der else None
        if facts is None:
            return TlsInfo(valid=valid, error=error)
        return TlsInfo(
            valid=valid,
            expires=facts.expires,
            days_left=(facts.expires - now).days,
            issuer=facts.issuer,
            subject=facts.subject,
            error=error,
        )


def _parse(der: bytes) -> CertFacts | None:
    """Parse a DER certificate; None when it is malformed (a hostile site)."""
    from cryptography import x509  # noqa: PLC0415 - 60 ms at start-up; only https needs it

    try:
        cert = x509.load_der_x509_certificate(der)
        return CertFacts(
            expires=cert.not_valid_after_utc,
            issuer=cert.issuer.rfc4514_string(),
            subject=cert.subject.rfc4514_string(),
        )
    except ValueError:
        return None


def peer_der(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> bytes | None:
    """The DER certificate the peer presented on a live TLS connection."""
    if ssl_object is None:
        return None
    return ssl_object.getpeercert(binary_form=True)


def verify_reason(error: BaseException) -> str:
    """A short human reason for a failed TLS handshake or verification."""
    message = getattr(error, "verify_message", None)
    if message:
        return str(message).strip().rstrip(".")
    reason = getattr(error, "reason", None)
    if reason:
        return str(reason).replace("_", " ").lower()
    return str(error) or type(error).__name__


async def fetch_unverified_cert(
    ip: str, port: int, server_name: str, context: ssl.SSLContext
) -> bytes | None:
    """Handshake again without verification, only to read the certificate.

    Runs only after verification failed, so the normal path pays nothing; the
    caller bounds it with the check's deadline.
    """
    _, writer = await asyncio.open_connection(
        ip, port, ssl=context, server_hostname=server_name or None
    )
    try:
        return peer_der(writer.get_extra_info("ssl_object"))
    finally:
        writer.transport.abort()


def utcnow() -> datetime:
    """Now, aware UTC (one place, so tests can pin the clock)."""
    return datetime.now(UTC)

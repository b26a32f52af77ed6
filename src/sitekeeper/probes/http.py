"""The uptime/TLS probe: one HTTP(S) request chain per check, bounded in every way.

A monitored site may be down, slow, hacked or hostile, so each check has a
total deadline (DNS, connect, TLS, headers and body, across redirects), a cap
on the decompressed body and on redirects, and a per-IP concurrency limit.
A site's failure is a ``CheckResult`` with a stable ``ErrorCategory``; this
module raises only for programming errors in the caller.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass
from typing import ClassVar, Unpack

import aiohttp
from aiohttp.http_exceptions import ContentEncodingError, HttpProcessingError
from yarl import URL

from sitekeeper.domain.checks import CheckOptions, CheckResult, ErrorCategory, TlsInfo
from sitekeeper.domain.untrusted import clean
from sitekeeper.egress.aio import refusal_in
from sitekeeper.probes.client import ClientLimits, HttpClientBase
from sitekeeper.probes.registry import PROBES
from sitekeeper.probes.tls import (
    CaBundleError,
    CertCache,
    fetch_unverified_cert,
    peer_der,
    utcnow,
    verify_reason,
)

log = logging.getLogger(__name__)

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NOT_VERIFIED = "not verified (verify_tls is off)"
_RESET_ERRNOS = frozenset({errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED})
_DEFAULT_OPTIONS = CheckOptions()


class _Failure(Exception):
    """A classified site failure, raised inside a check and turned into a result."""

    def __init__(self, category: ErrorCategory, detail: str) -> None:
        super().__init__(detail)
        self.category = category
        self.detail = detail


@dataclass(slots=True)
class _Trace:
    """What one check has seen so far; the result is built from it."""

    url: str
    ip: str | None = None
    status: int | None = None
    tls: TlsInfo | None = None
    body: bytes = b""
    truncated: bool = False
    charset: str | None = None


class _Budget:
    """The total deadline, paused while we wait for our own per-IP slot.

    Queueing behind other checks of the same server is our doing, not the
    site's, so it must not turn into a false ``timeout``.
    """

    def __init__(self, seconds: float, timeout: asyncio.Timeout) -> None:
        self._loop = asyncio.get_running_loop()
        self._seconds = seconds
        self._timeout = timeout
        self._spent = 0.0
        self._since: float | None = self._loop.time()
        timeout.reschedule(self._since + seconds)

    def pause(self) -> None:
        self._spent = self.elapsed()
        self._since = None
        self._timeout.reschedule(None)

    def resume(self) -> None:
        self._since = self._loop.time()
        self._timeout.reschedule(self._since + self._seconds - self._spent)

    def remaining(self) -> float:
        return self._seconds - self.elapsed()

    def elapsed(self) -> float:
        running = self._loop.time() - self._since if self._since is not None else 0.0
        return self._spent + running


class _Response(aiohttp.ClientResponse):
    """A response that remembers its peer before aiohttp lets go of the connection.

    aiohttp drops ``resp.connection`` as soon as a small body has arrived (often
    before the first read), so the certificate and IP are taken at start.
    """

    peer_ip: str | None = None
    peer_der: bytes | None = None

    async def start(self, connection: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        transport = connection.transport
        if transport is not None:
            peer = transport.get_extra_info("peername")
            if peer:
                self.peer_ip = str(peer[0])
            self.peer_der = peer_der(transport.get_extra_info("ssl_object"))
        return await super().start(connection)


@PROBES.register("http")
class HttpProbe(HttpClientBase):
    """Checks URLs for uptime, content and certificate; share one per process."""

    kind: ClassVar[str] = "http"
    Config: ClassVar[type[CheckOptions]] = CheckOptions
    response_class = _Response
    default_timeout = 10.0
    default_user_agent = "sitekeeper/0.1 (+uptime check)"

    def __init__(self, **limits: Unpack[ClientLimits]) -> None:
        """``limits``: see ``ClientLimits``; unset ones take this probe's defaults."""
        super().__init__(**limits)
        self._certs = CertCache()

    async def check(self, url: str, options: CheckOptions | None = None) -> CheckResult:
        """Check one URL; a site's failure is reported in the result, never raised."""
        opts = options if options is not None else _DEFAULT_OPTIONS
        checked_at = utcnow()
        trace = _Trace(url=url)
        seconds = opts.timeout if opts.timeout is not None else self._timeout
        response_ms: int | None = None
        try:
            async with asyncio.timeout(None) as timeout:
                budget = _Budget(seconds, timeout)
                category, detail = await self._follow(URL(url), opts, trace, budget)
                response_ms = round(budget.elapsed() * 1000)
        except TimeoutError:
            category, detail = ErrorCategory.TIMEOUT, f"no response within {seconds:g} s"
        except _Failure as failure:
            category, detail = failure.category, failure.detail
        except (aiohttp.ClientError, HttpProcessingError, OSError, ValueError) as exc:
            category, detail = classify_error(exc)
        except Exception as exc:
            # A bug in aiohttp or here must not stop the engine's loop; say what it was.
            log.warning("unexpected error checking %s", url, exc_info=True)
            category, detail = ErrorCategory.INVALID_RESPONSE, f"{type(exc).__name__}: {exc}"
        return CheckResult(
            url=url,
            up=category is None,
            status=trace.status,
            error=category,
            response_ms=response_ms,
            checked_at=checked_at,
            tls=trace.tls,
            detail=detail,
            final_url=trace.url,
            ip=trace.ip,
            extra={"method": opts.method},
        )

    async def _follow(
        self, url: URL, opts: CheckOptions, trace: _Trace, budget: _Budget
    ) -> tuple[ErrorCategory | None, str | None]:
        """Request ``url`` and follow redirects up to the cap; then judge the answer.

        ``max_redirects == 0`` means "do not follow": the 3xx itself is judged.
        """
        limit = opts.max_redirects if opts.max_redirects is not None else self._max_redirects
        method = opts.method
        redirects = 0
        while True:
            trace.url = str(url)
            location = await self._hop(method, url, opts, trace, budget, follow=limit > 0)
            if location is None:
                return self._judge(opts, trace)
            if redirects >= limit:
                return ErrorCategory.TOO_MANY_REDIRECTS, f"more than {limit} redirects"
            redirects += 1
            url = _redirect_target(url, location)
            if trace.status == 303 or (trace.status in (301, 302) and method == "POST"):
                method = "GET"  # what browsers do, so the site sees what visitors see

    async def _hop(
        self,
        method: str,
        url: URL,
        opts: CheckOptions,
        trace: _Trace,
        budget: _Budget,
        *,
        follow: bool,
    ) -> str | None:
        """One request; returns the redirect target, or None after reading the body."""
        host, port = _host_port(url)
        trace.status, trace.tls = None, None  # a failed hop must not report the last one's
        ip = await self._address(host, port)
        trace.ip = ip
        https = url.scheme == "https"
        context = self._ssl_context(opts.verify_tls, opts.ca_bundle) if https else None
        budget.pause()
        async with self._limiter.hold(ip):
            budget.resume()
            try:
                async with self._client().request(
                    method, url, allow_redirects=False, ssl=context if context else True
                ) as resp:
                    self._note_connection(resp, trace, opts, https=https)
                    trace.status = resp.status
                    location = resp.headers.get("Location")
                    if follow and location and resp.status in _REDIRECTS:
                        return location
                    trace.body, trace.truncated = await self._read_capped(resp)
                    trace.charset = resp.charset
                    return None
            except aiohttp.ClientConnectorCertificateError as exc:
                reason = verify_reason(exc.certificate_error)
                trace.tls = await self._broken_cert(ip, port, host, reason, budget)
                raise _Failure(ErrorCategory.TLS, reason) from exc
            except aiohttp.ClientSSLError as exc:
                reason = verify_reason(exc.os_error)
                trace.tls = TlsInfo(valid=False, error=reason)
                raise _Failure(ErrorCategory.TLS, f"TLS handshake failed: {reason}") from exc

    async def _address(self, host: str, port: int) -> str:
        """The IP the request will use (the resolver caches it for aiohttp)."""
        if _is_ip(host):
            return host
        try:
            answers = await self._resolver.resolve(host, port, socket.AF_UNSPEC)
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise _Failure(ErrorCategory.DNS, f"cannot resolve {host}: {reason}") from exc
        if not answers:
            raise _Failure(ErrorCategory.DNS, f"cannot resolve {host}: no address")
        return answers[0]["host"]

    def _note_connection(
        self, resp: aiohttp.ClientResponse, trace: _Trace, opts: CheckOptions, *, https: bool
    ) -> None:
        """Record the peer IP and, for https, the certificate it presented."""
        assert isinstance(resp, _Response)
        if resp.peer_ip:
            trace.ip = resp.peer_ip
        if not https:
            trace.tls = None
            return
        verified = opts.verify_tls
        trace.tls = self._certs.info(
            resp.peer_der, valid=verified, error=None if verified else _NOT_VERIFIED, now=utcnow()
        )

    async def _broken_cert(
        self, ip: str, port: int, host: str, reason: str, budget: _Budget
    ) -> TlsInfo:
        """What a site whose certificate failed verification presents anyway."""
        server_name = "" if _is_ip(host) else host
        try:
            # Give up a moment before the check's deadline, so the result stays
            # "tls" (what we know) rather than becoming "timeout".
            async with asyncio.timeout(max(budget.remaining() - 0.05, 0)):
                der = await fetch_unverified_cert(
                    ip, port, server_name, self._contexts.unverified()
                )
        except (OSError, ssl.SSLError) as exc:
            log.debug("second handshake to %s failed: %s", host, exc)
            der = None
        return self._certs.info(der, valid=False, error=reason, now=utcnow())

    def _judge(self, opts: CheckOptions, trace: _Trace) -> tuple[ErrorCategory | None, str | None]:
        """Whether the final response counts as up, and if not why."""
        status = trace.status
        assert status is not None
        if not opts.accepts(status):
            return ErrorCategory.HTTP_STATUS, f"status {status} not accepted"
        if trace.truncated:
            return ErrorCategory.BODY_TOO_LARGE, f"body larger than {self._max_body_bytes} bytes"
        if opts.keyword is not None:
            if opts.method == "HEAD":
                return ErrorCategory.KEYWORD_MISSING, "HEAD has no body to search for the keyword"
            if _encode(opts.keyword, trace.charset) not in trace.body:
                return ErrorCategory.KEYWORD_MISSING, f"keyword {opts.keyword!r} not found"
        if opts.forbidden:
            # ASCII case folding: cheap on megabytes, and spam words are mostly ASCII.
            lowered = trace.body.lower()
            for word in opts.forbidden:
                if _encode(word, trace.charset).lower() in lowered:
                    return ErrorCategory.FORBIDDEN_CONTENT, f"forbidden word {word!r} found"
        return None, None


def classify_error(exc: BaseException) -> tuple[ErrorCategory, str]:
    """Map a transport error from aiohttp or the OS to a category and a reason."""
    refused = refusal_in(exc)  # the egress policy, whether at DNS or at connect
    if refused is not None:
        return ErrorCategory.REFUSED, str(refused)
    if isinstance(exc, CaBundleError):
        return ErrorCategory.TLS, str(exc)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return ErrorCategory.DNS, f"cannot resolve {exc.host}: {exc.strerror or exc}"
    # Certificate and handshake failures are connector errors too: "tls", not "refused".
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ErrorCategory.TLS, verify_reason(exc.certificate_error)
    if isinstance(exc, aiohttp.ClientSSLError):
        return ErrorCategory.TLS, f"TLS handshake failed: {verify_reason(exc.os_error)}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError):
            return ErrorCategory.REFUSED, "connection refused"
        if isinstance(os_error, TimeoutError):
            return ErrorCategory.TIMEOUT, "connect timed out"
        if _is_reset(os_error):
            return ErrorCategory.RESET, "connection reset while connecting"
        return ErrorCategory.REFUSED, f"cannot connect: {os_error.strerror or os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return ErrorCategory.RESET, "server closed the connection without a complete response"
    if isinstance(exc, aiohttp.ClientPayloadError):
        if isinstance(exc.__cause__, ContentEncodingError):
            return ErrorCategory.INVALID_RESPONSE, "body cannot be decompressed"
        return ErrorCategory.RESET, "connection lost in the middle of the body"
    if _is_reset(exc):
        return ErrorCategory.RESET, "connection reset by the server"
    if isinstance(exc, ssl.SSLError):
        return ErrorCategory.TLS, f"TLS error: {verify_reason(exc)}"
    if isinstance(exc, aiohttp.ClientResponseError | HttpProcessingError):
        return ErrorCategory.INVALID_RESPONSE, f"not a valid HTTP response: {_message(exc)}"
    if isinstance(exc, aiohttp.InvalidURL):
        return ErrorCategory.INVALID_RESPONSE, f"invalid URL: {exc}"
    return ErrorCategory.INVALID_RESPONSE, f"{type(exc).__name__}: {exc}"


def _message(exc: aiohttp.ClientResponseError | HttpProcessingError) -> str:
    """The parser's reason, without aiohttp's multi-line decoration."""
    text = str(exc.message).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _is_reset(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionResetError) or (
        isinstance(exc, OSError) and exc.errno in _RESET_ERRNOS
    )


def _host_port(url: URL) -> tuple[str, int]:
    """Host and port of an http(s) URL; anything else is not checkable."""
    if url.scheme not in ("http", "https") or not url.host:
        raise _Failure(ErrorCategory.INVALID_RESPONSE, f"not an http(s) URL: {url}")
    port = url.port
    assert port is not None  # yarl fills the default port for http and https
    return url.host, port


def _redirect_target(current: URL, location: str) -> URL:
    """Where a Location header points, relative to the current URL."""
    try:
        target = current.join(URL(location))
    except ValueError as exc:
        raise _Failure(
            ErrorCategory.INVALID_RESPONSE, f"invalid redirect location {clean(location, 200)!r}"
        ) from exc
    if target.scheme not in ("http", "https") or not target.host:
        raise _Failure(
            ErrorCategory.INVALID_RESPONSE, f"redirect to non-http URL {clean(location, 200)!r}"
        )
    return target


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _encode(text: str, charset: str | None) -> bytes:
    """``text`` as the page would spell it, so matching needs no decoding."""
    try:
        return text.encode(charset or "utf-8")
    except (LookupError, UnicodeEncodeError):
        return text.encode("utf-8")

"""The outside security probe: the home page, a random path, then every registered check.

Bounded like the other probes: one total deadline per site, a deadline per request, a
request budget, capped bodies, redirects followed only for the home page, one per-IP
slot per request (many client sites share one server). A site that cannot be reached
is a report with ``error``. ``complete`` lists the issue types every applicable check
of which read all its answers: a check that could not (or that raised) leaves its type
out, so the earlier findings of that type stay open rather than resolve by accident; a
check for another CMS does not run and counts for nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import socket
import ssl
from collections import Counter
from dataclasses import replace
from typing import Self, Unpack

from pydantic import BaseModel, ConfigDict, Field
from yarl import URL

from sitekeeper.config import Settings
from sitekeeper.domain.checks import CaBundle, CheckOptions
from sitekeeper.domain.exposure import SecurityReport
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.domain.untrusted import clean
from sitekeeper.egress.policy import site_policy
from sitekeeper.probes.client import ClientLimits, HttpClientBase
from sitekeeper.probes.fingerprint import CMS_SIGNALS
from sitekeeper.probes.security.checks import CHECKS, SecurityCheck, SiteView, applies, finds
from sitekeeper.probes.security.fetch import REDIRECTS, Page, Request, SiteFetcher, Spent
from sitekeeper.probes.security.legacy_tls import legacy_context

HOME_BYTES = 1024 * 1024  # the home page is read further: headers, mixed content, clues
MAX_HEADERS = 100  # kept per response; a hostile server may send thousands
DEFAULT_BUDGET = 40
log = logging.getLogger(__name__)


class SecurityOptions(BaseModel):
    """Per-site settings of the outside security probe."""

    model_config = ConfigDict(extra="forbid")

    timeout: float | None = Field(default=None, gt=0, le=600, description="Total deadline (s).")
    max_requests: int = Field(
        default=DEFAULT_BUDGET, ge=2, le=100, description="Requests per site."
    )
    verify_tls: bool = True
    ca_bundle: CaBundle = None

    @classmethod
    def from_check(cls, check: CheckOptions) -> SecurityOptions:
        """The site is trusted as its uptime check trusts it (``verify_tls``, ``ca_bundle``)."""
        return cls(verify_tls=check.verify_tls, ca_bundle=check.ca_bundle)


class SecurityProbe(HttpClientBase):
    """Probes sites' security from outside; share one per run (connections, DNS, per-IP slots)."""

    force_close = False  # one site is asked some thirty questions in a row
    default_timeout = 60.0
    default_user_agent = "sitekeeper/0.1 (+security)"

    def __init__(
        self, *, request_timeout: float | None = None, **limits: Unpack[ClientLimits]
    ) -> None:
        """``timeout``: the total deadline per site; ``request_timeout``: per request
        (default: a quarter of it), so one stalled path cannot eat the whole site's time."""
        super().__init__(**limits)
        self._request_timeout = request_timeout or self._timeout / 4
        self.requests = 0  # HTTP requests sent over the probe's life (benchmarks, tests)
        self.handshakes = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """A probe with the operator's limits (a site gets six times a check's deadline)."""
        return cls(
            timeout=settings.check_timeout * 6,
            request_timeout=settings.check_timeout,
            max_body_bytes=settings.max_body_bytes,
            max_redirects=settings.max_redirects,
            user_agent=settings.user_agent,
            per_ip_concurrency=settings.per_ip_concurrency,
            dns_servers=settings.dns_servers,
            dns_timeout=settings.dns_timeout,
            egress=site_policy(settings),
        )

    async def probe(
        self, url: str, options: SecurityOptions | None = None, *, cms: str | None = None
    ) -> SecurityReport:
        """Every check on the site at ``url``; ``cms``: what it is known to run (the stored
        fingerprint or inventory), else what its home page says."""
        opts = options or SecurityOptions()
        report = SecurityReport(url=url)
        base = URL(url if url.endswith("/") else url + "/")
        fetcher = SiteFetcher(
            base=base,
            send=lambda request: self._send(request, opts),
            request_timeout=self._request_timeout,
            spent=Spent(opts.max_requests),
        )
        seconds = opts.timeout or self._timeout
        try:
            async with asyncio.timeout(seconds):
                await self._run(report, fetcher, opts, cms)
        except TimeoutError:
            report.notes.append(f"gave up after {seconds:g} s; the checks done by then are kept")
        report.requests = fetcher.spent.requests
        report.notes = [*fetcher.spent.notes, *report.notes][:50]
        return report

    async def _run(
        self, report: SecurityReport, fetcher: SiteFetcher, opts: SecurityOptions, cms: str | None
    ) -> None:
        if fetcher.base.scheme not in ("http", "https") or not fetcher.base.host:
            report.error = f"not an http(s) URL: {clean(str(fetcher.base), 200)}"
            return
        home = await fetcher.get("/", cap=HOME_BYTES, follow=self._max_redirects)
        if home is None or home.status in REDIRECTS:
            why = fetcher.spent.notes[-1] if fetcher.spent.notes else "too many redirects"
            report.error = f"home page not reachable: {why}"
            return
        landed = URL(home.url)
        if not _same_site(landed.host, fetcher.base.host):
            # A hacked or moved site may send visitors elsewhere: that site is not ours to probe.
            report.error = f"home page redirects to another site: {clean(str(landed.host), 200)}"
            return
        # Keep the scheme and host the site moved to (http -> https, www), and its folder.
        fetcher.base = landed.with_path(fetcher.base.path)
        baseline = await fetcher.get(f"/sitekeeper-{secrets.token_hex(8)}")
        clues = _clues(home)
        site = SiteView(
            home=home,
            baseline=baseline,
            clues=clues,
            cms=cms or _cms(clues),
            fetcher=fetcher,
            handshake=lambda version: self._handshake(URL(home.url), version, report),
        )

        # Issue type -> the checks of it that apply here and have not looked at everything
        # yet: the type is complete when none is left (a deadline leaves the rest pending).
        wanted = [(kind, check) for kind, check in CHECKS.items() if applies(check, site.cms)]
        pending: dict[str, set[str]] = {}
        for kind, check in wanted:
            pending.setdefault(finds(kind, check), set()).add(kind)

        async def one(kind: str, check: type[SecurityCheck]) -> None:
            view = replace(site, fetcher=fetcher.scoped())
            try:
                found = await check().run(view)
            except Exception as exc:  # a check's bug, or an answer it did not expect
                log.warning("security check %s failed on %s", kind, fetcher.base, exc_info=True)
                view.fetcher.note(f"{kind}: {type(exc).__name__}: {clean(str(exc), 200)}")
                return  # nothing it saw is kept: its findings stay as they are
            report.issues.extend(found)  # as each ends: a deadline keeps what was done
            if view.fetcher.failed or baseline is None:
                return
            left = pending[finds(kind, check)]
            left.discard(kind)
            if not left:
                report.complete.append(finds(kind, check))

        await asyncio.gather(*(one(kind, check) for kind, check in wanted))

    async def _send(self, request: Request, opts: SecurityOptions) -> Page:
        """One request in the server's per-IP slot; a redirect is returned, not followed."""
        url = request.url
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {url}")
        context = (
            self._ssl_context(opts.verify_tls, opts.ca_bundle) if url.scheme == "https" else True
        )
        ip = await self._address(url.host, url.port or 80)
        async with (
            self._limiter.hold(ip),
            self._client().request(
                request.method,
                url,
                data=request.data,
                headers=dict(request.headers),
                allow_redirects=False,
                ssl=context,
            ) as resp,
        ):
            self.requests += 1
            headers: dict[str, str] = {}
            for name, value in list(resp.headers.items())[:MAX_HEADERS]:
                key = name.lower()
                joined = f"{headers[key]}, {value}" if key in headers else value
                headers[key] = clean(joined, 2000)  # the site's words: one clean line
            location = resp.headers.get("Location")
            if resp.status in REDIRECTS and location:
                return Page(str(url), resp.status, headers, b"", location=clean(location, 2000))
            body, truncated = await self._read_capped(resp, request.cap)
            return Page(str(url), resp.status, headers, body, truncated)

    async def _handshake(self, url: URL, version: str, report: SecurityReport) -> str | None:
        """A TLS handshake offering only ``version``: the version agreed, or None if the
        server refused it. OSError when the server could not be reached at all."""
        assert url.host is not None
        port = url.port or 443
        ip = await self._address(url.host, port)
        self._egress.check(ip)  # as the HTTP requests' socket factory would
        server_name = None if _is_ip(url.host) else url.host
        report.handshakes += 1
        self.handshakes += 1
        async with self._limiter.hold(ip):
            try:
                async with asyncio.timeout(self._request_timeout):
                    _, writer = await asyncio.open_connection(
                        ip, port, ssl=legacy_context(version), server_hostname=server_name
                    )
            except ssl.SSLError:
                return None  # the server would not speak it: what we hope for
            except ConnectionResetError:
                return None  # some servers reset instead of sending an alert
            try:
                ssl_object = writer.get_extra_info("ssl_object")
                return str(ssl_object.version()) if ssl_object is not None else None
            finally:
                writer.transport.abort()

    async def _address(self, host: str, port: int) -> str:
        """The IP a request to ``host`` uses (the resolver caches it for aiohttp)."""
        if _is_ip(host):
            return host
        answers = await self._resolver.resolve(host, port, socket.AF_UNSPEC)
        if not answers:
            raise OSError(f"cannot resolve {host}")
        return str(answers[0]["host"])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _same_site(host: str | None, origin: str | None) -> bool:
    """Whether ``host`` is the site at ``origin`` (the same name, with or without www.)."""
    if host is None or origin is None:
        return False
    bare = (host.lower().removeprefix("www."), origin.lower().removeprefix("www."))
    return bare[0] == bare[1]


def _clues(home: Page) -> list[Fingerprint]:
    """What the fingerprint's CMS readers see on the home page."""
    if home.status != 200:
        return []
    text = home.text
    return [
        clue
        for _, reader in CMS_SIGNALS.items()
        for clue in reader.read_signals(home.url, home.status, home.headers, text)
    ]


def _cms(clues: list[Fingerprint]) -> str | None:
    """The CMS most clues name (None if none or a tie)."""
    votes = Counter(c.cms for c in clues if c.cms is not None)
    ranked = votes.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


async def probe_security(
    url: str,
    *,
    settings: Settings | None = None,
    options: SecurityOptions | None = None,
    cms: str | None = None,
) -> SecurityReport:
    """Probe one site with a temporary probe (from ``settings``, or the defaults)."""
    made = SecurityProbe.from_settings(settings) if settings else SecurityProbe()
    async with made:
        return await made.probe(url, options, cms=cms)

"""Fetching a site's pages past every cache, for the health checks around an update.

A page cache (a caching plugin's static copy, a reverse proxy, a CDN) answers a plain GET
with the page as it was before the update: WPMgr's health probe was fooled exactly so
(mosamlife/wpmgr#294). Every request here carries a random query parameter no cache has
seen (caches key on the query string, and most skip pages that have one) and
``Cache-Control: no-cache`` / ``Pragma: no-cache`` (honoured by proxies). The fetcher is a
probe client (``probes.client``): the same egress policy, body cap, redirect cap, DNS
cache and per-host slots as the uptime check; a site's failure is a ``Page`` with
``error`` set, never an exception.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import time
from dataclasses import dataclass
from typing import ClassVar, Self, Unpack

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from sitekeeper.config import Settings
from sitekeeper.domain.checks import CheckOptions
from sitekeeper.domain.untrusted import clean
from sitekeeper.egress.policy import site_policy
from sitekeeper.probes.client import ClientLimits, HttpClientBase
from sitekeeper.probes.http import classify_error

BUSTER = "sk-health"  # the cache-busting query parameter's name
NO_CACHE = {"Cache-Control": "no-cache", "Pragma": "no-cache"}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TITLE_CHARS = 200


@dataclass(frozen=True, slots=True)
class Page:
    """One page as the health check saw it (after redirects, unless told not to follow)."""

    url: str  # the last URL requested, cache-buster included
    status: int | None  # None: no HTTP answer (see ``error``)
    body: bytes
    charset: str | None
    seconds: float
    location: str | None = None  # a redirect's target when redirects were not followed
    error: str | None = None  # "category: detail" of a transport failure

    @property
    def title(self) -> str:
        """The page's ``<title>``, unescaped, one line, bounded ("" if none)."""
        found = _TITLE.search(self.body)
        if found is None:
            return ""
        text = html.unescape(found.group(1).decode(self.charset or "utf-8", "replace"))
        return clean(" ".join(text.split()), _TITLE_CHARS)

    def contains(self, text: str) -> bool:
        """Whether the body holds ``text``, spelled in the page's charset (as the uptime
        check's keyword is matched: bytes, no decoding of a hostile page)."""
        for charset in dict.fromkeys((self.charset or "utf-8", "utf-8")):
            try:
                if text.encode(charset) in self.body:
                    return True
            except (LookupError, UnicodeEncodeError):
                continue
        return False


def busted(url: URL) -> URL:
    """``url`` with a fresh random cache-busting parameter."""
    return url.update_query({BUSTER: secrets.token_hex(8)})


class PageFetcher(HttpClientBase):
    """GETs pages past caches; share one per update run (use as an async context manager)."""

    default_timeout: ClassVar[float] = 30.0  # a page's first load after an update compiles
    default_user_agent: ClassVar[str] = "sitekeeper/0.1 (+update health check)"

    @classmethod
    def from_settings(cls, settings: Settings, **limits: Unpack[ClientLimits]) -> Self:
        """A fetcher with the operator's limits and the sites' egress policy."""
        values: ClientLimits = {
            "max_body_bytes": settings.max_body_bytes,
            "max_redirects": settings.max_redirects,
            "per_ip_concurrency": settings.per_ip_concurrency,
            "dns_servers": settings.dns_servers,
            "dns_timeout": settings.dns_timeout,
            "egress": site_policy(settings),
        }
        values.update(limits)
        return cls(**values)

    async def get(
        self, url: str, *, follow: bool = True, trust: CheckOptions | None = None
    ) -> Page:
        """One page, cache-busted at every hop; a failure is in ``Page.error``.

        ``trust``: how the site's uptime check trusts its certificate (``verify_tls``,
        ``ca_bundle``; ``domain.checks.web_check_options``), so both see the same site.
        """
        opts = trust if trust is not None else CheckOptions()
        started = time.monotonic()
        target = URL(url)
        status: int | None = None
        try:
            async with asyncio.timeout(self._timeout):
                for _ in range(self._max_redirects + 1):
                    target = busted(target)
                    status, location, body, charset = await self._hop(target, opts)
                    if location is None or status not in _REDIRECTS:
                        return Page(str(target), status, body, charset, _since(started))
                    if not follow:
                        return Page(str(target), status, b"", None, _since(started), location)
                    target = target.join(URL(location))
                    if target.scheme not in ("http", "https") or not target.host:
                        raise ValueError(f"redirect to non-http URL {clean(location, 200)!r}")
                error = f"too_many_redirects: more than {self._max_redirects} redirects"
        except TimeoutError:
            error = f"timeout: no complete answer within {self._timeout:g} s"
        except (aiohttp.ClientError, HttpProcessingError, OSError, ValueError) as exc:
            category, detail = classify_error(exc)
            error = f"{category}: {detail}"
        return Page(str(target), status, b"", None, _since(started), error=error)

    async def _hop(
        self, url: URL, trust: CheckOptions
    ) -> tuple[int, str | None, bytes, str | None]:
        """One request in the host's slot: (status, Location, capped body, charset)."""
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {url}")
        https = url.scheme == "https"
        context = self._ssl_context(trust.verify_tls, trust.ca_bundle) if https else True
        async with (
            self._limiter.hold(url.host),
            self._client().get(url, allow_redirects=False, headers=NO_CACHE, ssl=context) as resp,
        ):
            location = resp.headers.get("Location")
            if resp.status in _REDIRECTS and location:
                return resp.status, location, b"", None
            body, _truncated = await self._read_capped(resp)  # the cap bounds what we search
            return resp.status, None, body, resp.charset


def _since(started: float) -> float:
    return time.monotonic() - started

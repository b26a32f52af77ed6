"""What every HTTP probe shares: one client session, a DNS cache, per-IP slots, limits.

Subclasses say how their connections behave (kept alive or not, which
response class); the lifecycle and the hostile-site limits live here once.
"""

from __future__ import annotations

import socket
from types import TracebackType
from typing import ClassVar, Self

import aiohttp
from aiohttp.abc import AbstractResolver

from sitekeeper.probes.limits import KeyedLimiter
from sitekeeper.probes.resolver import CachingResolver


class HttpClientBase:
    """A probe's HTTP machinery; use as an async context manager or call ``aclose``."""

    # Uptime checks see a site once a minute: a kept-alive socket would be stale.
    force_close: ClassVar[bool] = True
    response_class: ClassVar[type[aiohttp.ClientResponse]] = aiohttp.ClientResponse

    def __init__(
        self,
        *,
        timeout: float,
        max_body_bytes: int,
        max_redirects: int,
        user_agent: str,
        per_ip_concurrency: int,
        resolver: AbstractResolver | None,
    ) -> None:
        """``resolver``: where names are looked up (default: the system's, cached)."""
        self._timeout = timeout
        self._max_body_bytes = max_body_bytes
        self._max_redirects = max_redirects
        self._headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"}
        self._resolver = CachingResolver(resolver)
        self._limiter = KeyedLimiter(per_ip_concurrency)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close connections and the resolver; the probe is unusable afterwards."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._resolver.close()

    def _client(self) -> aiohttp.ClientSession:
        """The one session, made on first use because it needs a running loop."""
        if self._session is None:
            connector = aiohttp.TCPConnector(
                force_close=self.force_close,
                limit=0,  # the engine bounds concurrency; per-IP limits are ours
                use_dns_cache=False,  # our resolver is the one cache
                resolver=self._resolver,
                family=socket.AF_UNSPEC,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                # The probe's own deadline covers everything; no second set of timers.
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=None, sock_read=None, sock_connect=None
                ),
                cookie_jar=aiohttp.DummyCookieJar(),  # sites must not leak cookies to each other
                response_class=self.response_class,
                trust_env=False,
            )
        return self._session

"""Fetching vendor feeds and advisory sources: bounded, conditional, backed off.

Every request has a total deadline and a body cap (a ``Content-Length`` over
the cap is refused before reading); redirects are capped. Validators
(``ETag``/``Last-Modified``) are replayed so an unchanged feed costs a 304, and
a failing URL is retried later and later (exponential backoff), so a vendor
outage neither hammers the vendor nor blocks the other feeds. The validators
and backoff live in a plain dict the engine loads from and saves to the store.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from sitekeeper.egress.aio import connector_options, refusal_in
from sitekeeper.egress.bodies import BodyTooLarge, read_within
from sitekeeper.egress.policy import ALLOW_HINT, EgressPolicy
from sitekeeper.errors import FeedError, InvalidFeed

MiB = 1024 * 1024


if TYPE_CHECKING:
    from sitekeeper.config import Settings


class FeedSettings(BaseModel):
    """Where feeds live and how often to read them; every base URL can point at a mirror."""

    model_config = ConfigDict(extra="forbid")

    vendor: dict[str, Any] = Field(
        default_factory=dict,
        description="The CMS packages' own settings (their feeds' URLs), by setting name; "
        "each reads its part with config.extension_settings.",
    )
    advisory_sources: list[str] = Field(
        default_factory=list, description="URLs, files or directories of advisories to import."
    )
    advisory_tokens: dict[str, str] = Field(
        default_factory=dict,
        repr=False,  # settings get logged; tokens must not be
        description="Bearer token per host (www.wordfence.com).",
    )
    poll_interval: float = Field(default=300.0, ge=30, description="Release feeds (s).")
    advisory_interval: float = Field(default=900.0, ge=30, description="Advisory sources (s).")
    inventory_interval: float = Field(default=86400.0, ge=60, description="SSH inventories (s).")
    fingerprint_interval: float = Field(default=86400.0, ge=60, description="Fingerprints (s).")
    hash_learn_interval: float = Field(
        default=86400.0, ge=0, description="Release hashes for fingerprints (s; 0: never)."
    )
    timeout: float = Field(default=30.0, gt=0, le=300)
    max_bytes: int = Field(default=20 * MiB, ge=1024)
    max_redirects: int = Field(default=3, ge=0, le=10)
    backoff_first: float = Field(default=60.0, gt=0)
    backoff_max: float = Field(default=6 * 3600.0, gt=0)
    concurrency: int = Field(default=8, ge=1, le=64)
    user_agent: str = "sitekeeper/0.1 (+release feeds)"
    egress_allow: list[str] | None = Field(
        default=None,
        description="Public addresses only, plus these networks or kinds "
        "(SITEKEEPER_EGRESS_ALLOW); None: no restriction (library use, tests).",
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedSettings:
        """The feed settings an operator set (``SITEKEEPER_*`` in config.py)."""
        return cls(
            vendor=dict(settings.model_extra or {}),
            advisory_sources=settings.advisory_sources,
            advisory_tokens=settings.advisory_tokens,
            poll_interval=settings.feed_poll_interval,
            advisory_interval=settings.advisory_interval,
            inventory_interval=settings.inventory_interval,
            fingerprint_interval=settings.fingerprint_interval,
            hash_learn_interval=settings.hash_learn_interval,
            egress_allow=list(settings.egress_allow),
        )

    @property
    def egress(self) -> EgressPolicy:
        """Where feeds, advisories and archives may be fetched from (after DNS)."""
        if self.egress_allow is None:
            return EgressPolicy.anywhere()
        return EgressPolicy.public_only(self.egress_allow, ALLOW_HINT)


@dataclass
class FeedCacheEntry:
    """What we remember of one URL between polls."""

    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_attempt_at: float = 0.0  # epoch seconds
    last_error: str | None = None


@dataclass(frozen=True)
class FetchResult:
    """A response: ``body`` None means 304 Not Modified (nothing new to parse)."""

    url: str
    status: int
    body: bytes | None

    @property
    def not_modified(self) -> bool:
        """The vendor says nothing changed since our last successful fetch."""
        return self.body is None


def backoff(failures: int, first: float, maximum: float) -> float:
    """Seconds to wait after ``failures`` consecutive failures: first, 2x, 4x, ... <= maximum."""
    if failures < 1:
        return 0.0
    return float(min(first * (1 << min(failures - 1, 30)), maximum))


@dataclass
class Fetcher:
    """An aiohttp client for feeds; ``cache`` carries validators and backoff per URL."""

    settings: FeedSettings
    cache: dict[str, FeedCacheEntry] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    touched: set[str] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(**connector_options(self.settings.egress)),
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout),
                headers={"User-Agent": self.settings.user_agent},
                auto_decompress=True,
            )
        return self._session

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def due(self, url: str) -> bool:
        """False while the URL is backing off after failures."""
        entry = self.cache.get(url)
        return entry is None or entry.next_attempt_at <= self.clock()

    async def get(
        self,
        url: str,
        *,
        conditional: bool = True,
        max_bytes: int | None = None,
        ok_statuses: tuple[int, ...] = (200,),
        data: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET (or POST form ``data``) ``url``; FeedError if it fails or is backing off.

        ``ok_statuses`` lists statuses whose body the caller wants (e.g. 404 for
        "no such plugin"); anything else is a failure that counts for backoff.
        """
        if conditional and not self.due(url):
            entry = self.cache[url]
            raise FeedError(f"{url}: backing off after {entry.failures} failures")
        entry = self.cache.setdefault(url, FeedCacheEntry())
        self.touched.add(url)
        headers: dict[str, str] = {}
        if conditional and entry.etag:
            headers["If-None-Match"] = entry.etag
        if conditional and entry.last_modified:
            headers["If-Modified-Since"] = entry.last_modified
        cap = max_bytes or self.settings.max_bytes
        try:
            result = await self._request(url, headers, cap, ok_statuses, data)
        except FeedError as exc:
            self.failed(url, str(exc))
            raise
        if result.result.body is not None and conditional:
            entry.etag, entry.last_modified = result.headers
        entry.failures, entry.next_attempt_at, entry.last_error = 0, 0.0, None
        return result.result

    def failed(self, url: str, error: str) -> None:
        """Count a failure (fetch or parse): forget validators so the next try re-reads."""
        entry = self.cache.setdefault(url, FeedCacheEntry())
        self.touched.add(url)
        entry.failures += 1
        entry.etag = entry.last_modified = None
        entry.last_error = error[:2000]
        wait = backoff(entry.failures, self.settings.backoff_first, self.settings.backoff_max)
        entry.next_attempt_at = self.clock() + wait

    async def _request(
        self,
        url: str,
        headers: dict[str, str],
        cap: int,
        ok_statuses: tuple[int, ...],
        data: Mapping[str, str] | None,
    ) -> _Response:
        if not url.startswith(("https://", "http://")):
            raise InvalidFeed(f"{url[:100]}: not an http(s) URL")
        method = "POST" if data is not None else "GET"
        token = bearer_token(url, self.settings.advisory_tokens)
        if token is not None:
            # aiohttp drops Authorization when a redirect leaves the origin
            # (tests/intel/test_fetch_auth.py holds it to that).
            headers = {**headers, "Authorization": f"Bearer {token}"}
        try:
            async with self._client().request(
                method,
                url,
                headers=headers,
                data=dict(data) if data is not None else None,
                max_redirects=self.settings.max_redirects,
            ) as response:
                if response.status == 304:
                    return _Response(FetchResult(url, 304, None), (None, None))
                if response.status in (401, 403) and response.status not in ok_statuses:
                    hint = "token refused" if token else "no token for this host (advisory_tokens)"
                    raise FeedError(f"{url}: HTTP {response.status}, {hint}")
                if response.status not in ok_statuses:
                    raise FeedError(f"{url}: HTTP {response.status}")
                declared = response.content_length
                if declared is not None and declared > cap:
                    raise InvalidFeed(f"{url}: {declared} bytes is over the {cap}-byte limit")
                try:
                    body = await read_within(response, cap)
                except BodyTooLarge as exc:
                    raise InvalidFeed(f"{url}: body is {exc}") from None
                validators = (response.headers.get("ETag"), response.headers.get("Last-Modified"))
                return _Response(FetchResult(url, response.status, body), validators)
        except aiohttp.TooManyRedirects as exc:
            raise FeedError(f"{url}: too many redirects") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise FeedError(f"{url}: {failure_text(exc)}") from exc


def failure_text(exc: BaseException) -> str:
    """What went wrong, in our words: a peer's bytes (a database's greeting answering an
    HTTP request, a parser's quote of a bad header) never reach a message a user sees."""
    refused = refusal_in(exc)
    if refused is not None:
        return str(refused)
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"not a valid HTTP response ({type(exc).__name__})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return f"cannot connect to {exc.host}:{exc.port}: {reason}"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return type(exc).__name__


def bearer_token(url: str, tokens: Mapping[str, str]) -> str | None:
    """The token configured for ``url``'s host, if it may travel there.

    Only an exact host match counts (no subdomains), and only over HTTPS or to
    a loopback address, so a token never crosses the network in clear text.
    """
    if not tokens:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    token = {h.strip().lower(): t for h, t in tokens.items()}.get(host)
    if not token or not (parts.scheme == "https" or _loopback(host)):
        return None
    return token


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class _Response:
    result: FetchResult
    headers: tuple[str | None, str | None]


def cache_from_rows(rows: Mapping[str, Any]) -> dict[str, FeedCacheEntry]:
    """Cache entries from stored rows keyed by URL (anything with the same attributes)."""
    return {
        url: FeedCacheEntry(
            etag=row.etag,
            last_modified=row.last_modified,
            failures=row.failures,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
        )
        for url, row in rows.items()
    }

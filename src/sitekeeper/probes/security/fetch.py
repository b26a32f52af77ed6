"""One site's requests during a security probe: a budget, a deadline per request, notes.

Every check asks through the same :class:`SiteFetcher`, so the probe can say how many
requests a site cost and stop at the budget; a request that fails (reset, garbage,
a header line too long, too slow) is a note and ``None``, never an exception that
would end the other checks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from sitekeeper.domain.untrusted import clean

REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Answers that say "not now", not "not here": what was asked stays unknown.
BUSY = frozenset({429, 502, 503, 504})
SNIFF_BYTES = 32 * 1024  # enough to recognise a file by its first lines or magic bytes


@dataclass(slots=True)
class Page:
    """One response: status, lower-cased headers (cleaned, repeated ones joined), capped body.

    A redirect that was not followed keeps its ``location``.
    """

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    truncated: bool = False
    location: str | None = None

    @property
    def text(self) -> str:
        """The body as text (what the checks look for is ASCII)."""
        return self.body.decode("utf-8", "replace")

    @property
    def is_html(self) -> bool:
        """Whether the body is an HTML page (a site's normal or error page), not a file."""
        head = self.body[:1024].lstrip().lower()
        return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


@dataclass(frozen=True, slots=True)
class Request:
    """What to ask for: a URL, and for the rare POST its body and headers."""

    url: URL
    method: str = "GET"
    data: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cap: int = SNIFF_BYTES


Send = Callable[[Request], Awaitable[Page]]
TRANSPORT_ERRORS = (aiohttp.ClientError, HttpProcessingError, OSError, ValueError, TimeoutError)


@dataclass
class Spent:
    """What a site's requests cost so far, shared by every check's fetcher."""

    budget: int
    requests: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class SiteFetcher:
    """A check's way to ask the site: within the site's shared budget, each request within
    ``request_timeout`` seconds. ``failed`` says a request of this check could not be read,
    so what the check did not see is unknown, not absent."""

    base: URL
    send: Send
    request_timeout: float
    spent: Spent
    failed: bool = False

    def scoped(self) -> SiteFetcher:
        """A fetcher for one check: same site and budget, its own ``failed``."""
        return SiteFetcher(self.base, self.send, self.request_timeout, self.spent)

    def note(self, text: str) -> None:
        """Say something about the probe of this site (kept with the report)."""
        self.spent.notes.append(text)

    def url(self, path: str) -> URL:
        """``path`` (e.g. ``/.git/HEAD``, ``/?author=1``) under the site's base URL (a site in
        a sub-folder keeps its folder)."""
        return self.base.join(URL(path.lstrip("/"), encoded=True))

    async def get(self, path: str, *, cap: int = SNIFF_BYTES, follow: int = 0) -> Page | None:
        """GET ``path``, following up to ``follow`` redirects; None if it could not be read."""
        return await self.fetch(Request(self.url(path), cap=cap), follow=follow)

    async def fetch(self, request: Request, *, follow: int = 0) -> Page | None:
        """Send ``request`` (and redirected GETs); None and a note when it fails."""
        current = request
        for _ in range(follow + 1):
            page = await self._one(current)
            if page is None or page.location is None or page.status not in REDIRECTS:
                return page
            try:
                target = URL(page.url).join(URL(page.location))
            except ValueError:
                return page
            if target.scheme not in ("http", "https") or not target.host:
                return page
            current = Request(target, cap=request.cap)
        return page

    async def _one(self, request: Request) -> Page | None:
        where = clean(request.url.path_qs, 120)
        if self.spent.requests >= self.spent.budget:
            self.failed = True
            self.note(f"{where}: not asked, the budget of {self.spent.budget} requests is spent")
            return None
        self.spent.requests += 1
        try:
            async with asyncio.timeout(self.request_timeout):
                page = await self.send(request)
        except TimeoutError:
            self.note(f"{where}: no answer within {self.request_timeout:g} s")
        except TRANSPORT_ERRORS as exc:
            self.note(f"{where}: {clean(str(exc) or type(exc).__name__, 200)}")
        else:
            if page.status not in BUSY:
                return page
            self.note(f"{where}: HTTP {page.status}, the server is busy")
        self.failed = True
        return None

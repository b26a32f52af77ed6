"""What a security check is and what it gets: the site as the probe saw it.

A check is one module under ``probes.security`` that registers itself in ``CHECKS``
(``@CHECKS.register("headers")``); the probe runs every registered check on each site.
What only one CMS has (its config backups, its user listing) is that CMS package's own
check (``cms/<kind>/outside_checks.py``), found because the registry walks ``cms`` too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from yarl import URL

from sitekeeper.domain.exposure import SecurityIssue
from sitekeeper.domain.fingerprint import Fingerprint
from sitekeeper.plugins import Registry
from sitekeeper.probes.security.fetch import Page, SiteFetcher

# Tries one TLS handshake offering only the given protocol ("TLSv1", "TLSv1.1");
# returns the version the server agreed to, or None if it refused.
Handshake = Callable[[str], Awaitable[str | None]]


@dataclass
class SiteView:
    """One site during a probe: its home page (after redirects), the answer to a random
    path (the soft-404 baseline), what its pages say it runs, and how to ask for more."""

    home: Page
    baseline: Page | None
    clues: list[Fingerprint]
    cms: str | None
    fetcher: SiteFetcher
    handshake: Handshake

    @property
    def url(self) -> URL:
        """Where the home page ended up (the scheme and host the site moved to)."""
        return URL(self.home.url)

    @property
    def https(self) -> bool:
        """Whether the site is served over HTTPS."""
        return self.url.scheme == "https"


class SecurityCheck(Protocol):
    """One kind of outside check."""

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """The issues this check sees on ``site`` (never raises on hostile answers)."""
        ...


CHECKS: Registry[type[SecurityCheck]] = Registry(
    "security-check", builtins=("sitekeeper.probes.security", "sitekeeper.cms")
)

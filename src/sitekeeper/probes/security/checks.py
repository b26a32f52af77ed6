"""What a security check is and what it gets: the site as the probe saw it.

A check is one module under ``probes.security`` that registers itself in ``CHECKS``
(``@CHECKS.register("headers")``); the probe runs every registered check on each site.
What only one CMS has (its config backups, its user listing) is that CMS package's own
check (``cms/<kind>/outside_checks.py``), found because the registry walks ``cms`` too;
its ``cms`` attribute names the CMS, and the probe runs it on sites of that CMS only.

A check files issues of one type (``finds``, its registry kind unless it says otherwise:
a CMS's exposed-files check finds ``exposed-file`` like the core's). The type's open
findings may resolve only when every check of it that applies to the site looked at
everything it asks: one that could not (a request failed, :meth:`SiteView.unknown`)
leaves them open.
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

    def unknown(self, why: str) -> None:
        """This check could not look (an error page, a protocol this OpenSSL cannot offer):
        what it would have seen is unknown, so its open findings stay open."""
        self.fetcher.failed = True
        self.fetcher.note(why)


class SecurityCheck(Protocol):
    """One kind of outside check.

    Optional class attributes: ``cms``, the CMS whose sites it applies to (default: every
    site), and ``finds``, the issue type it files (default: its registry kind).
    """

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """The issues this check sees on ``site`` (never raises on hostile answers)."""
        ...


CHECKS: Registry[type[SecurityCheck]] = Registry(
    "security-check", builtins=("sitekeeper.probes.security", "sitekeeper.cms")
)


def applies(check: type[SecurityCheck], cms: str | None) -> bool:
    """Whether ``check`` applies to a site running ``cms`` (a CMS's own check: that CMS)."""
    wanted: str | None = getattr(check, "cms", None)
    return wanted is None or wanted == cms


def finds(kind: str, check: type[SecurityCheck]) -> str:
    """The issue type ``check`` (registered as ``kind``) files."""
    return str(getattr(check, "finds", kind))

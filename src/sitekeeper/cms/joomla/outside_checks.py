"""Joomla from outside: its own paths that must not be public (configuration.php copies,
the images folder's listing)."""

from __future__ import annotations

from sitekeeper.domain.exposure import SecurityIssue
from sitekeeper.domain.severity import Severity
from sitekeeper.probes.security.checks import CHECKS, SiteView
from sitekeeper.probes.security.exposed_files import (
    CONFIG_FIX,
    LISTING,
    PHP_CONFIG,
    Exposable,
    exposed,
)

CMS = "joomla"  # the check here runs on sites of this kind only

PATHS: tuple[Exposable, ...] = (
    *(
        Exposable(path, PHP_CONFIG, Severity.CRITICAL,
                  f"Copy of configuration.php readable ({path})", CONFIG_FIX)
        for path in ("/configuration.php.bak", "/configuration.php~", "/configuration.php.old")
    ),
    Exposable(
        "/images/",
        LISTING,
        Severity.LOW,
        "Directory listing of the images folder",
        "Turn directory listings off (Options -Indexes).",
    ),
)  # fmt: skip


@CHECKS.register("joomla-exposed-file")
class ExposedFiles:
    """Joomla's own paths that must not be public."""

    async def run(self, site: SiteView) -> list[SecurityIssue]:
        """The exposed Joomla paths of a Joomla site."""
        return await exposed(site, PATHS) if site.cms == CMS else []
